"""Readiness (issue #24): counts per (source, item, answer level, role), the shares, gaps and words read
from them, and the checks on readiness.json. Every expectation is worked out by hand in this file."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from rolefit.data.readiness import count_levels, item_levels, level_of, readiness_document, readiness_items
from rolefit.instrument.items import load_instrument
from rolefit.scoring.readiness import ReadinessTables, standing

INSTRUMENT = load_instrument()

# ---------------------------------------------------------------------------------------------------
# answer levels


@pytest.mark.parametrize(
    ("item", "answer", "level"),
    [
        # years of coding in the Kaggle 2021 bands, 0 a level of its own: 0 | (0,1) | [1,3) | [3,5) | ...
        ("years_coding", 0.0, 0),
        ("years_coding", 0.5, 1),
        ("years_coding", 0.99, 1),
        ("years_coding", 1.0, 2),
        ("years_coding", 2.9, 2),
        ("years_coding", 3.0, 3),
        ("years_coding", 7.5, 4),
        ("years_coding", 20.0, 6),
        ("years_coding", 50.0, 6),
        # years of ML: 0 | (0,1) | [1,2) | [2,3) | [3,4) | [4,5) | [5,10) | [10,20) | 20+
        ("years_ml", 0.5, 1),
        ("years_ml", 1.5, 2),
        ("years_ml", 4.5, 5),
        ("years_ml", 15.0, 7),
        ("years_ml", 25.0, 8),
        ("education", "no_degree", 0),
        ("education", "some_college", 1),
        ("education", "doctorate", 4),
        ("uses_python", 0.0, 0),
        ("uses_python", 1.0, 1),
        ("ml_frameworks_used", 0.0, 0),
        ("ml_frameworks_used", 7.0, 7),
        ("ml_frameworks_used", 20.0, 20),
        ("skill_python", 1.0, 0),
        ("skill_python", 5.0, 4),
    ],
)
def test_answer_levels(item, answer, level):
    assert level_of(item_levels(INSTRUMENT[item]), answer) == level


def test_readiness_items_are_experience_and_path_skills():
    items = set(readiness_items(INSTRUMENT))
    experience = {i.id for i in INSTRUMENT.items if i.part == "experience"}  # experience and tools
    assert {i.id for i in INSTRUMENT.items if i.group == "tools"} <= experience
    assert experience <= items
    assert items - experience == {
        "skill_system_design", "skill_web_development", "skill_databases_apis", "skill_devops",
        "skill_python", "skill_ml_algorithms", "skill_data_wrangling", "skill_model_deployment",
    }  # fmt: skip
    assert not items & {"skill_dsa", "skill_clean_code", "skill_statistics", "skill_linear_algebra"}


# ---------------------------------------------------------------------------------------------------
# the GROUP BY and the document


def small_frame():
    nan = float("nan")
    return pd.DataFrame(
        {
            "source": ["a"] * 7 + ["b"] * 2,
            "role": ["swe", "swe", "swe", "mle", "mle", "mle", "mle", "swe", "mle"],
            "years_coding": [0.0, 2.0, nan, 4.0, 4.0, 25.0, 0.5, 3.5, 12.0],
            "education": [
                "bachelor",
                None,
                "master",
                "master",
                "doctorate",
                "some_college",
                None,
                None,
                None,
            ],
            "uses_python": [1.0, 0.0, 1.0, 1.0, 1.0, nan, 1.0, nan, nan],
        }
    )


def test_counts_are_a_group_by_of_source_item_level_and_role():
    counts, respondents = count_levels(
        small_frame(), ["years_coding", "education", "uses_python"], INSTRUMENT
    )
    assert respondents == {("a", "swe"): 3, ("a", "mle"): 4, ("b", "swe"): 1, ("b", "mle"): 1}
    assert sorted(counts) == sorted(
        [
            # years: 0 -> level 0, 2 -> [1,3) = 2, 4 -> [3,5) = 3, 25 -> 20+ = 6, 0.5 -> 1, 3.5 -> 3, 12 -> 5
            ("a", "years_coding", 0, "swe", 1),
            ("a", "years_coding", 2, "swe", 1),
            ("a", "years_coding", 3, "mle", 2),
            ("a", "years_coding", 6, "mle", 1),
            ("a", "years_coding", 1, "mle", 1),
            ("b", "years_coding", 3, "swe", 1),
            ("b", "years_coding", 5, "mle", 1),
            # education: bachelor 2, master 3, doctorate 4, some_college 1
            ("a", "education", 2, "swe", 1),
            ("a", "education", 3, "swe", 1),
            ("a", "education", 3, "mle", 1),
            ("a", "education", 4, "mle", 1),
            ("a", "education", 1, "mle", 1),
            ("a", "uses_python", 1, "swe", 2),
            ("a", "uses_python", 0, "swe", 1),
            ("a", "uses_python", 1, "mle", 3),
        ]
    )


def test_the_document_keeps_counts_per_level_and_reports_missing_answers():
    counts, respondents = count_levels(
        small_frame(), ["years_coding", "education", "uses_python"], INSTRUMENT
    )
    facts = {
        "a": {
            "name": "Survey A 2020",
            "year": 2020,
            "use": "train",
            "titles": {"swe": "devs", "mle": "mles"},
        },
        "b": {"name": "Survey B", "year": None, "use": "evaluate", "titles": {"swe": "x", "mle": "y"}},
    }
    items = ["years_coding", "education", "uses_python", "skill_python"]
    doc = readiness_document(counts, respondents, facts, items, instrument=INSTRUMENT)
    assert doc["schema"] == 1
    assert doc["sources"]["a"]["respondents"] == {"swe": 3, "mle": 4}
    assert doc["sources"]["b"] == {
        "name": "Survey B",
        "year": None,
        "use": "evaluate",
        "titles": {"swe": "x", "mle": "y"},
        "respondents": {"swe": 1, "mle": 1},
    }
    years = doc["items"]["years_coding"]
    assert years["edges"] == [1.0, 3.0, 5.0, 10.0, 20.0] and years["zero"] is True
    assert years["counts"]["a"] == {"swe": [1, 0, 1, 0, 0, 0, 0], "mle": [0, 1, 0, 2, 0, 0, 1]}
    assert years["missing"]["a"] == {"swe": 1, "mle": 0}  # the swe row with no answer
    assert years["counts"]["b"] == {"swe": [0, 0, 0, 1, 0, 0, 0], "mle": [0, 0, 0, 0, 0, 1, 0]}
    education = doc["items"]["education"]
    assert education["order"] == ["no_degree", "some_college", "bachelor", "master", "doctorate"]
    assert education["counts"]["a"] == {"swe": [0, 0, 1, 1, 0], "mle": [0, 1, 0, 1, 1]}
    assert education["missing"]["a"] == {"swe": 1, "mle": 1}
    assert "b" not in education["counts"]  # nobody in b answered it: b did not measure it
    python = doc["items"]["uses_python"]
    assert python["counts"]["a"] == {"swe": [1, 2], "mle": [0, 3]} and python["missing"]["a"] == {
        "swe": 0,
        "mle": 1,
    }
    assert doc["items"]["skill_python"]["counts"] == {}  # asked of nobody
    json.dumps(doc)  # JSON-ready


def test_answers_outside_an_items_levels_are_refused_naming_the_item():
    frame = small_frame().assign(uses_python=[2.0] + [1.0] * 8)
    with pytest.raises(ValueError, match=r"uses_python has answers outside its levels \(2\.0\)"):
        count_levels(frame, ["uses_python"], INSTRUMENT)


# ---------------------------------------------------------------------------------------------------
# shares, gaps and words, from a hand-made readiness.json


def source(name, use, swe, mle, year=2021):
    return {
        "name": name,
        "year": year,
        "use": use,
        "titles": {"swe": "software engineers", "mle": "machine learning engineers"},
        "respondents": {"swe": swe, "mle": mle},
    }


def hand_made():
    """Source t (training): 10 SWE respondents (too few to speak for SWE) and 40 MLE ones. Source e
    (evaluation only): 100 SWE and 1,000 MLE respondents, asked only the years of ML."""
    years_ml = {
        "edges": [1, 2, 3, 4, 5, 10, 20],
        "zero": True,
        # MLE in t: 4 do not use ML, 6 under a year, 30 more -> at 0.5 years: 0.1 less, 0.15 same, 0.75 more
        "counts": {
            "t": {"swe": [2, 2, 2, 2, 0, 0, 0, 0, 0], "mle": [4, 6, 10, 10, 5, 5, 0, 0, 0]},
            "e": {"swe": [10, 20, 30, 40, 0, 0, 0, 0, 0], "mle": [0, 100, 900, 0, 0, 0, 0, 0, 0]},
        },
        "missing": {"t": {"swe": 2, "mle": 0}, "e": {"swe": 0, "mle": 0}},
    }
    return {
        "schema": 1,
        "description": "hand-made",
        "sources": {
            "t": source("Survey T 2021", "train", 10, 40),
            "e": source("Survey E", "evaluate", 100, 1000, None),
        },
        "items": {
            "years_ml": years_ml,
            "education": {
                "order": ["no_degree", "some_college", "bachelor", "master", "doctorate"],
                # bachelor: 2 less, 18 same, 20 more of 40 -> exactly half have more: a gap
                "counts": {"t": {"swe": [0, 0, 5, 5, 0], "mle": [0, 2, 18, 15, 5]}},
                "missing": {"t": {"swe": 0, "mle": 0}},
            },
            "uses_python": {
                "edges": [1],
                "zero": False,
                # MLE: 10 no, 30 yes (of 40): someone who does not -> 0.75 more, ties years_ml
                "counts": {"t": {"swe": [5, 5], "mle": [10, 30]}},
                "missing": {"t": {"swe": 0, "mle": 0}},
            },
            "ml_frameworks_used": {
                "edges": list(range(1, 21)),
                "zero": False,
                # MLE: 0 -> 5, 1 -> 10, 2 -> 20, 3 -> 5 (of 40); someone with 1: 5 less, 10 same, 25 more
                "counts": {"t": {"swe": [10] + [0] * 20, "mle": [5, 10, 20, 5] + [0] * 17}},
                "missing": {"t": {"swe": 0, "mle": 0}},
            },
            "uses_sql": {
                "edges": [1],
                "zero": False,
                # MLE: 22 no, 18 yes -> someone who does not: 18/40 = 0.45 more, not a gap
                "counts": {"t": {"swe": [5, 5], "mle": [22, 18]}},
                "missing": {"t": {"swe": 0, "mle": 0}},
            },
        },
    }


@pytest.fixture(scope="module")
def tables():
    return ReadinessTables.from_dict(hand_made(), INSTRUMENT)


def test_shares_within_a_role_from_the_counts(tables):
    person = {"years_ml": 0.5, "education": "bachelor", "uses_python": 0.0, "ml_frameworks_used": 1.0}
    mle = standing(tables, person).roles["mle"].items
    years = mle["years_ml"]
    assert (years.share_less, years.share_same, years.share_more) == (4 / 40, 6 / 40, 30 / 40)
    assert years.n == 40 and years.missing == 0 and years.source == "t" and years.year == 2021
    education = mle["education"]
    assert (education.share_less, education.share_same, education.share_more) == (2 / 40, 18 / 40, 20 / 40)
    frameworks = mle["ml_frameworks_used"]
    assert (frameworks.share_less, frameworks.share_same, frameworks.share_more) == (5 / 40, 10 / 40, 25 / 40)
    python = mle["uses_python"]
    assert (python.share_less, python.share_same, python.share_more) == (0.0, 10 / 40, 30 / 40)


def test_each_role_is_compared_with_one_source_training_sources_first(tables):
    readiness = standing(tables, {"years_ml": 0.5, "education": "master"})
    # MLE: t (training) has 40 >= 30 answers, so the larger evaluation source e is not used
    assert readiness.roles["mle"].items["years_ml"].source == "t"
    # SWE: t has 8 answers (< 30), so e speaks for SWE: 10 do not use ML, 20 under a year, 70 more
    swe_years = readiness.roles["swe"].items["years_ml"]
    assert swe_years.source == "e" and swe_years.year is None and swe_years.n == 100
    assert (swe_years.share_less, swe_years.share_same, swe_years.share_more) == (0.1, 0.2, 0.7)
    # SWE education: only t, with 10 answers: not measured for SWE, never guessed
    assert "education" not in readiness.roles["swe"].items
    assert readiness.roles["swe"].not_measured == ("education",)
    assert readiness.not_measured == ()  # measured for MLE
    assert readiness.population == "respondents of the Survey E and of the Survey T 2021"


def test_gaps_are_the_items_where_at_least_half_have_more_most_common_first(tables):
    person = {
        "years_ml": 0.5,
        "education": "bachelor",
        "uses_python": 0.0,
        "ml_frameworks_used": 1.0,
        "uses_sql": 0.0,
    }
    gaps = standing(tables, person).roles["mle"].gaps
    # 0.75 years of ML and 0.75 Python (a tie: questionnaire order), 0.625 frameworks, 0.5 education;
    # SQL (0.45) is not a gap
    assert [g.item for g in gaps] == ["years_ml", "uses_python", "ml_frameworks_used", "education"]
    assert [g.share_more for g in gaps] == [0.75, 0.75, 0.625, 0.5]
    assert all(g.source == "t" for g in gaps)


def test_words_name_the_population_and_agree_with_their_numbers(tables):
    readiness = standing(tables, {"years_ml": 0.5, "ml_frameworks_used": 1.0, "uses_python": 0.0})
    mle = readiness.roles["mle"].items
    assert mle["years_ml"].text == (
        "Among respondents of the Survey T 2021 working as machine learning engineers, 75% have more years "
        "of machine learning than you."
    )
    assert mle["ml_frameworks_used"].text.endswith("63% use at least 2 machine learning frameworks.")
    assert mle["uses_python"].text.endswith("75% use Python regularly, and you do not yet.")
    assert mle["years_ml"].level == "less than 1 year"
    none = standing(tables, {"ml_frameworks_used": 0.0}).roles["mle"].items["ml_frameworks_used"]
    assert none.text.endswith("88% use at least 1 machine learning framework.")  # 35 of 40, singular noun
    summary = readiness.roles["mle"].summary
    assert summary.startswith(mle["years_ml"].text)  # the most common gap first
    assert summary.endswith("Most of them are ahead of you on all 3 answers compared.")
    assert readiness.summary.startswith(
        "Among respondents of the Survey E working as software engineers, 70%"
    )
    for text in (readiness.summary, *(s.text for s in mle.values())):
        assert not any(item_id in text for item_id in INSTRUMENT.ids if "_" in item_id), text


def test_no_gap_summary_says_who_is_most_ahead(tables):
    one = standing(tables, {"uses_sql": 0.0}).roles["mle"].summary
    assert one == (
        "Among respondents of the Survey T 2021 working as machine learning engineers, more than half have "
        "no more than you on the 1 answer compared; the most ahead: 45% use SQL regularly, and you do not "
        "yet."
    )


def test_only_interest_answers_leave_nothing_to_compare(tables):
    readiness = standing(tables, {"interest_math": 5.0, "interest_research": 4.0, "career_goal": "undecided"})
    assert readiness.summary.startswith("Nothing to compare yet")
    assert readiness.roles["swe"].items == {} and readiness.roles["mle"].gaps == ()
    assert readiness.not_measured == ()
    assert json.loads(json.dumps(readiness.to_dict()))["summary"] == readiness.summary


def test_path_skills_no_survey_asked_are_listed_as_not_measured(tables):
    readiness = standing(tables, {"skill_python": 3.0, "skill_model_deployment": 1.0})
    assert readiness.not_measured == ("skill_python", "skill_model_deployment")
    assert readiness.roles["mle"].items == {}
    assert readiness.summary.startswith(
        "Nothing to compare yet: your answers about Python and deploying ML models"
    )
    mixed = standing(tables, {"skill_python": 3.0, "uses_python": 1.0})
    assert list(mixed.roles["mle"].items) == ["uses_python"] and mixed.not_measured == ("skill_python",)


def test_other_spellings_give_the_same_standing_and_bad_answers_are_refused(tables):
    usual = standing(tables, {"years_ml": 2.0, "uses_python": 1.0, "education": "master"}).to_dict()
    spelled = standing(
        tables, {"years_ml": "2.4", "uses_python": "yes", "education": "Master's degree"}
    ).to_dict()
    assert spelled == usual  # 2.4 years is in the 2-3 band, like 2
    skipped = standing(tables, {"years_ml": None, "uses_python": float("nan"), "education": ""})
    assert skipped.summary.startswith("Nothing to compare yet")
    with pytest.raises(ValueError, match="years_ml"):
        standing(tables, {"years_ml": 99})
    with pytest.raises(ValueError, match="education"):
        standing(tables, {"education": "kindergarten"})


def test_standing_leaves_the_answers_alone(tables):
    answers = {"years_ml": 0.5, "uses_python": "yes", "interest_math": 5.0}
    before = dict(answers)
    standing(tables, answers).to_dict()
    assert answers == before


def test_to_dict_is_json_with_numbers_for_machines(tables):
    data = standing(tables, {"years_ml": 0.5, "education": "bachelor"}).to_dict()
    assert data["population"] == "respondents of the Survey E and of the Survey T 2021"
    mle = data["roles"]["mle"]
    assert [i["item"] for i in mle["items"]] == ["years_ml", "education"]  # questionnaire order
    assert [g["item"] for g in mle["gaps"]] == ["years_ml", "education"]
    assert mle["gaps"][0]["share_more"] == 0.75 and mle["gaps"][0]["source_name"] == "Survey T 2021"
    assert math.isclose(sum(mle["items"][1][k] for k in ("share_less", "share_same", "share_more")), 1.0)
    assert data["sources"]["t"]["respondents"] == {"swe": 10, "mle": 40}
    json.dumps(data)


# ---------------------------------------------------------------------------------------------------
# a bad readiness.json is refused, naming the problem


def broken(change):
    doc = hand_made()
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (lambda d: d.update(schema=2), "schema 1"),
        (lambda d: d.update(schema=True), "schema 1"),
        (lambda d: d["items"].update(interest_math={}), "items readiness does not compare: interest_math"),
        (lambda d: d["items"]["years_ml"]["counts"]["t"]["mle"].pop(), r"'years_ml'.*mle needs 9 counts"),
        (lambda d: d["items"]["years_ml"]["counts"]["t"]["mle"].__setitem__(0, -4), "whole numbers >= 0"),
        (lambda d: d["items"]["years_ml"]["counts"]["t"]["mle"].__setitem__(0, True), "whole numbers >= 0"),
        (
            lambda d: d["items"]["years_ml"]["counts"]["t"]["mle"].__setitem__(0, 5),
            "must equal the source's 40",
        ),
        (lambda d: d["items"]["years_ml"]["missing"]["t"].pop("swe"), "must equal the source's 10"),
        (lambda d: d["items"]["years_ml"]["counts"].update(z={}), "source 'z': the source is not among"),
        (lambda d: d["items"]["years_ml"].update(edges=[2, 1]), "increasing edges"),
        (lambda d: d["items"]["years_ml"].update(edges=[1, float("nan")]), "not a finite number"),
        (lambda d: d["items"]["uses_python"].update(zero=True), "sets 0 apart"),
        (
            lambda d: d["items"]["ml_frameworks_used"].update(edges=[0.5, *range(1, 21)]),
            "increasing edges|whole",
        ),
        (
            lambda d: d["items"]["education"].update(order=["no_degree", "master"]),
            "exactly the item's choices",
        ),
        (lambda d: d["sources"]["t"].update(year="2021"), "year '2021'"),
        (lambda d: d["sources"]["t"].update(use="both"), "use 'train' or 'evaluate'"),
        (lambda d: d["sources"]["t"].pop("titles"), "titles"),
        (lambda d: d["sources"]["t"].update(name=""), "display name"),
        (lambda d: d.update(sources={f"s{i}": source("S", "train", 0, 0) for i in range(65)}), "at most 64"),
        (lambda d: d.update(items=[]), "no items"),
    ],
)
def test_bad_tables_are_refused_naming_the_problem(change, cause):
    with pytest.raises(ValueError, match=cause):
        ReadinessTables.from_dict(broken(change), INSTRUMENT)
