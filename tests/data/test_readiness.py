"""The readiness contract on the real Kaggle ML & DS Survey 2021 rows: the shares the bundle's
readiness.json gives equal the shares computed directly from the respondents (outside the test split),
missing answers are left out of the denominators, and every real source is counted on its own."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rolefit.scoring.readiness import load_readiness, standing

from .test_surveys import needs_surveys

pytestmark = needs_surveys

#: (item, the person's answer, and which raw Kaggle 2021 answers are less / the same / more), written
#: from the survey's bands (years are its band midpoints: 0 never, 0.5 under a year, 2 for 1-3, 4 for
#: 3-5, ...; ML years 1.5 for 1-2, 2.5 for 2-3, ...)
CASES = [
    ("years_coding", 3.0, lambda v: v < 3, lambda v: v == 4.0, lambda v: v > 4),
    ("years_coding", 0.0, lambda v: v < 0, lambda v: v == 0.0, lambda v: v > 0),
    ("years_ml", 0.5, lambda v: v == 0.0, lambda v: v == 0.5, lambda v: v >= 1.5),
    ("years_ml", 4.0, lambda v: v <= 3.5, lambda v: v == 4.5, lambda v: v >= 7.5),
    (
        "education",
        "some_college",
        lambda v: v == "no_degree",
        lambda v: v == "some_college",
        lambda v: v.isin(["bachelor", "master", "doctorate"]),
    ),
    ("ml_frameworks_used", 1.0, lambda v: v == 0, lambda v: v == 1, lambda v: v >= 2),
    ("ml_frameworks_used", 5.0, lambda v: v <= 4, lambda v: v == 5, lambda v: v >= 6),
    ("uses_python", 0.0, lambda v: v < 0, lambda v: v == 0, lambda v: v == 1),
    ("uses_java", 1.0, lambda v: v == 0, lambda v: v == 1, lambda v: v > 1),
    ("activity_ml_prototypes", 0.0, lambda v: v < 0, lambda v: v == 0, lambda v: v == 1),
    ("activity_ml_research", 1.0, lambda v: v == 0, lambda v: v == 1, lambda v: v > 1),
]


@pytest.fixture(scope="module")
def kaggle_rows(training_data):
    frame = training_data[0]
    return frame[(frame["source"] == "kaggle2021") & (frame["split"] != "test")]


@pytest.fixture(scope="module")
def tables(champion):
    return load_readiness(champion[1])


@pytest.mark.parametrize(("item", "answer", "less", "same", "more"), CASES, ids=lambda v: str(v)[:20])
def test_shares_match_the_kaggle_rows(tables, kaggle_rows, item, answer, less, same, more):
    readiness = standing(tables, {item: answer})
    for role in ("swe", "mle"):
        rows = kaggle_rows.loc[kaggle_rows["role"] == role, item]
        answered = rows.dropna()
        if rows.dtype == object:
            answered = answered.astype(str)
        got = readiness.roles[role].items[item]
        assert (
            got.source == "kaggle2021"
            and got.year == 2021
            and got.source_name == "Kaggle ML & DS Survey 2021"
        )
        assert got.n == len(answered) and got.missing == len(rows) - len(answered)
        assert got.share_less == pytest.approx(less(answered).mean(), abs=1e-12)
        assert got.share_same == pytest.approx(same(answered).mean(), abs=1e-12)
        assert got.share_more == pytest.approx(more(answered).mean(), abs=1e-12)


def test_every_real_source_is_counted_outside_its_test_split(champion, training_data):
    frame = training_data[0]
    data = json.loads((champion[1] / "readiness.json").read_text())
    real = frame[frame["source"] != "synthetic"]
    assert set(data["sources"]) == set(real["source"].unique()) == {"kaggle2021", "stackoverflow2017"}
    assert data["sources"]["kaggle2021"]["use"] == "train"
    assert data["sources"]["stackoverflow2017"]["use"] == "evaluate"
    assert (
        data["sources"]["kaggle2021"]["year"] == 2021 and data["sources"]["stackoverflow2017"]["year"] == 2017
    )
    for source, facts in data["sources"].items():
        rows = real[(real["source"] == source) & (real["split"] != "test")]
        assert facts["respondents"] == {role: int((rows["role"] == role).sum()) for role in ("swe", "mle")}
        everyone = real[real["source"] == source]
        assert sum(facts["respondents"].values()) < len(everyone)  # the test split is left out
    # missing answers are reported and left out: the activity block is asked only of the employed
    activity = data["items"]["activity_ml_prototypes"]
    kaggle = real[(real["source"] == "kaggle2021") & (real["split"] != "test")]
    for role in ("swe", "mle"):
        rows = kaggle.loc[kaggle["role"] == role, "activity_ml_prototypes"]
        assert activity["missing"]["kaggle2021"][role] == int(rows.isna().sum()) > 0
        assert sum(activity["counts"]["kaggle2021"][role]) == int(rows.notna().sum())
    # Stack Overflow 2017 asked no activities: it does not appear under them
    assert "stackoverflow2017" not in activity["counts"]
    assert "stackoverflow2017" in data["items"]["years_coding"]["counts"]


def test_the_path_skills_were_measured_by_no_real_source(tables):
    readiness = standing(tables, {"skill_python": 3.0, "skill_ml_algorithms": 2.0, "years_ml": 0.5})
    assert readiness.not_measured == ("skill_python", "skill_ml_algorithms")
    assert list(readiness.roles["mle"].items) == ["years_ml"]


def test_counts_are_respondents_not_weights(tables, kaggle_rows):
    """Shares within a role do not depend on the prior correction: respondents are counted once each."""
    mle = kaggle_rows[kaggle_rows["role"] == "mle"]
    counts = pd.Series(mle["uses_python"]).value_counts()
    got = standing(tables, {"uses_python": 0.0}).roles["mle"].items["uses_python"]
    assert got.n == int(counts.sum()) and round(got.share_more * got.n) == int(counts[1.0])
