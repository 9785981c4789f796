"""Readiness on the session champion (issue #24): personas, the bundle file, and the fit left alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import rolefit
from rolefit.atomic import sha256_file
from rolefit.scoring.answers import validate_answers
from rolefit.scoring.bundle import MANIFEST, READINESS, BundleError, sign_bundle, verify_bundle
from rolefit.scoring.loader import clear_cache
from rolefit.scoring.readiness import clear_cache as clear_readiness
from rolefit.scoring.readiness import load_readiness, standing

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PERSON = json.loads((Path(__file__).resolve().parents[2] / "examples" / "person.json").read_text())
#: The issue's student: a final-year student with 3 years of coding, half a year of ML and one framework.
STUDENT = {
    "interest_math": 5, "interest_research": 4, "interest_data_patterns": 4,
    "skill_statistics": 4, "skill_linear_algebra": 4, "skill_python": 3, "skill_ml_algorithms": 2,
    "skill_model_deployment": 1, "career_goal": "undecided",
    "years_coding": 3, "years_ml": 0.5, "education": "some_college",
    "uses_python": "yes", "uses_sql": "yes", "uses_java": "yes", "ml_frameworks_used": 1,
    "activity_data_analysis": "yes", "activity_data_infrastructure": "no", "activity_ml_prototypes": "no",
    "activity_ml_service": "no", "activity_ml_experiments": "no", "activity_ml_research": "no",
}  # fmt: skip
INSTRUMENT = rolefit.questionnaire()


@pytest.fixture()
def tables(champion):
    clear_readiness()
    yield load_readiness(champion[1])
    clear_readiness()


def test_the_student_has_at_least_three_mle_gaps_each_with_its_share_and_source(tables):
    readiness = standing(tables, validate_answers(STUDENT))
    gaps = readiness.roles["mle"].gaps
    assert len(gaps) >= 3, [g.text for g in gaps]
    for gap in gaps:
        assert 0.5 <= gap.share_more <= 1.0 and gap.n >= 30
        assert gap.source == "kaggle2021" and gap.year == 2021
        assert gap.text.startswith("Among respondents of the Kaggle ML & DS Survey 2021 working as machine")
        assert "%" in gap.text
    assert [g.share_more for g in gaps] == sorted((g.share_more for g in gaps), reverse=True)
    # half a year of ML and one framework are what most ML engineers have more of
    assert {"years_ml", "ml_frameworks_used"} <= {g.item for g in gaps}
    # the path skills she rated were never asked of real people: listed, never guessed
    assert readiness.not_measured == ("skill_python", "skill_ml_algorithms", "skill_model_deployment")
    assert readiness.population == "respondents of the Kaggle ML & DS Survey 2021"
    for text in (readiness.summary, *(g.text for g in gaps)):
        assert not any(item_id in text for item_id in INSTRUMENT.ids if "_" in item_id), text
    data = json.loads(json.dumps(readiness.to_dict()))
    assert [g["item"] for g in data["roles"]["mle"]["gaps"]] == [g.item for g in gaps]
    assert data["sources"]["kaggle2021"]["name"] == "Kaggle ML & DS Survey 2021"


def test_only_interest_answers_give_nothing_to_compare_yet(tables):
    answers = {item.id: 3 for item in INSTRUMENT.items if item.group == "interests"}
    readiness = standing(tables, validate_answers(answers))
    assert readiness.summary.startswith("Nothing to compare yet")
    assert all(not readiness.roles[role].items and not readiness.roles[role].gaps for role in ("swe", "mle"))


def test_someone_with_years_of_ml_work_has_few_mle_gaps(tables):
    senior = {
        "years_coding": 12, "years_ml": 7, "education": "master", "uses_python": 1, "uses_sql": 1,
        "ml_frameworks_used": 6, "activity_ml_prototypes": 1, "activity_ml_experiments": 1,
        "activity_ml_service": 1, "activity_data_analysis": 1,
    }  # fmt: skip
    readiness = standing(tables, validate_answers(senior))
    assert readiness.roles["mle"].gaps == ()
    assert "more than half have no more than you" in readiness.roles["mle"].summary


def test_readiness_never_changes_the_fit(champion, tmp_path, monkeypatch):
    """The same predictions from the bundle and from a copy without readiness.json."""
    copy = tmp_path / "without"
    shutil.copytree(champion[1], copy)
    (copy / READINESS).unlink()
    manifest = json.loads((copy / MANIFEST).read_text())
    del manifest["files"][READINESS]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    sign_bundle(copy)
    assert load_readiness(copy) is None  # a bundle from before readiness: no readiness, no error
    clear_cache()
    try:
        for answers in (PERSON, STUDENT, {}):
            with_it = rolefit.predict(answers, model=str(champion[1])).to_dict()
            without = rolefit.predict(answers, model=str(copy)).to_dict()
            with_it.pop("model_version"), without.pop("model_version")
            assert with_it.pop("readiness") is not None and without.pop("readiness") is None
            assert with_it == without
    finally:
        clear_cache()


def test_readiness_file_is_listed_checksummed_and_changed_bytes_are_refused(champion, tmp_path):
    manifest = verify_bundle(champion[1])
    assert manifest["files"][READINESS] == sha256_file(champion[1] / READINESS)
    copy = tmp_path / "bundle"
    shutil.copytree(champion[1], copy)
    data = bytearray((copy / READINESS).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / READINESS).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"readiness\.json .*does not match its checksum"):
        load_readiness(copy)


def test_a_malformed_readiness_file_is_refused_naming_it(champion, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(champion[1], copy)
    data = json.loads((copy / READINESS).read_text())
    data["items"]["years_ml"]["counts"]["kaggle2021"]["mle"][0] += 1  # no longer adds up
    (copy / READINESS).write_text(json.dumps(data))
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["files"][READINESS] = sha256_file(copy / READINESS)
    (copy / MANIFEST).write_text(json.dumps(manifest))
    sign_bundle(copy)  # edited by someone holding the key: only the content check is left
    clear_readiness()
    with pytest.raises(BundleError, match=r"readiness\.json in the model bundle at .*years_ml.*must equal"):
        load_readiness(copy)
    clear_readiness()


def test_an_old_bundle_has_no_readiness(old_bundle):
    """The tables-only bundle from before the restructure: verified, and None."""
    manifest = json.loads((old_bundle / MANIFEST).read_text())
    assert READINESS not in manifest["files"]
    assert load_readiness(old_bundle) is None
    try:  # predict_many's readiness columns say so: counts missing, no top gap
        scored = rolefit.predict_many(pd.DataFrame([STUDENT, PERSON]), model=str(old_bundle))
        assert scored["readiness_mle_gaps"].isna().all() and scored["readiness_swe_top_gap"].isna().all()
    finally:
        clear_cache()


def test_predict_manys_readiness_columns_are_predicts_gaps_row_by_row(champion, training_data):
    """How many gaps, and the most common, per role: the same as Prediction.readiness for the personas,
    for real Kaggle respondents (experience answered, in the survey's own spellings and years) and for
    synthetic ones; odd spellings too (text years, a choice label, "yes")."""
    frame = training_data[0]
    items = [item for item in INSTRUMENT.ids if item in frame.columns]
    test = frame[frame["split"] == "test"]
    rows = pd.concat(
        [
            pd.DataFrame([STUDENT, PERSON, {}, {"years_ml": 2.3, "education": "Master's degree"}]),
            test[test["source"] == "kaggle2021"][items].head(150),
            test[test["source"] == "synthetic"][items].head(50),
        ],
        ignore_index=True,
    )
    scored = rolefit.predict_many(rows, model=str(champion[1]))
    seen = 0
    for i, answers in enumerate(rows.to_dict(orient="records")):
        readiness = rolefit.predict(answers, model=str(champion[1])).readiness
        for role in ("swe", "mle"):
            gaps = readiness.roles[role].gaps
            assert scored[f"readiness_{role}_gaps"].iloc[i] == len(gaps), (i, role)
            top = scored[f"readiness_{role}_top_gap"].iloc[i]
            assert (None if pd.isna(top) else top) == (gaps[0].item if gaps else None), (i, role)
            seen += bool(gaps)
    assert seen > 50  # gaps were there to compare
