import dataclasses
import math

import pytest

from rolefit.instrument.items import load_instrument, parse_instrument, questionnaire

DESIGN_ITEMS = {
    "interest_building_products": "swe",
    "interest_system_design": "swe",
    "interest_coding_puzzles": "swe",
    "interest_debugging": "swe",
    "interest_data_patterns": "mle",
    "interest_model_training": "mle",
    "interest_research": "mle",
    "interest_math": "mle",
    "interest_ai_products": "mle",
    "skill_dsa": "swe",
    "skill_system_design": "swe",
    "skill_clean_code": "swe",
    "skill_web_development": "swe",
    "skill_databases_apis": "swe",
    "skill_devops": "none",
    "skill_python": "mle",
    "skill_statistics": "mle",
    "skill_linear_algebra": "mle",
    "skill_ml_algorithms": "mle",
    "skill_data_wrangling": "mle",
    "skill_model_deployment": "mle",
    "pref_predictable_work": "swe",
    "pref_immediate_results": "swe",
    "pref_fast_job_entry": "swe",
    "pref_career_flexibility": "swe",
    "pref_experimentation": "mle",
    "pref_long_learning": "mle",
    "pref_niche_specialization": "mle",
}
EXPERIENCE = [
    "career_goal",
    "years_coding",
    "years_ml",
    "education",
    "uses_python",
    "uses_sql",
    "uses_java",
    "uses_javascript",
    "uses_cpp",
    "ml_frameworks_used",
    "activity_data_analysis",
    "activity_data_infrastructure",
    "activity_ml_prototypes",
    "activity_ml_service",
    "activity_ml_experiments",
    "activity_ml_research",
]


def test_every_design_item_is_present_with_its_lean():
    instrument = questionnaire()
    for item_id, lean in DESIGN_ITEMS.items():
        assert instrument[item_id].lean == lean, item_id
    assert set(instrument.ids) == set(DESIGN_ITEMS) | set(EXPERIENCE)


def test_choices_match_the_design():
    instrument = load_instrument()
    goal = instrument["career_goal"]
    assert {c.id: c.lean for c in goal.choices} == {
        "software_architect": "swe",
        "engineering_manager": "swe",
        "full_stack_developer": "swe",
        "cloud_engineer": "swe",
        "ai_researcher": "mle",
        "applied_scientist": "mle",
        "ml_platform_engineer": "mle",
        "undecided": "none",
    }
    assert instrument["education"].choice_ids == (
        "no_degree",
        "some_college",
        "bachelor",
        "master",
        "doctorate",
    )
    assert instrument["years_coding"].bounds == (0.0, 50.0)
    assert instrument["ml_frameworks_used"].bounds == (0.0, 20.0)


def test_items_are_frozen():
    item = load_instrument()["interest_math"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.lean = "swe"


@pytest.mark.parametrize(
    ("item", "raw", "expected"),
    [
        ("interest_math", 4, 4.0),
        ("interest_math", "4", 4.0),
        ("interest_math", 4.0, 4.0),
        ("interest_math", " Very much ", 5.0),
        ("pref_fast_job_entry", "strongly agree", 5.0),
        ("interest_math", None, None),
        ("interest_math", "", None),
        ("interest_math", math.nan, None),
        ("career_goal", "applied_scientist", "applied_scientist"),
        ("career_goal", "Applied scientist", "applied_scientist"),
        ("uses_python", True, 1.0),
        ("uses_python", "no", 0.0),
        ("uses_python", 1, 1.0),
        ("years_coding", 2.5, 2.5),
        ("years_coding", "12", 12.0),
        ("ml_frameworks_used", 3, 3.0),
    ],
)
def test_coerce_accepts_equivalent_forms(item, raw, expected):
    assert load_instrument()[item].coerce(raw) == expected


@pytest.mark.parametrize(
    ("item", "raw"),
    [
        ("interest_math", 0),
        ("interest_math", 6),
        ("interest_math", 3.5),
        ("interest_math", True),
        ("interest_math", "lots"),
        ("interest_math", [4]),
        ("interest_math", math.inf),
        ("career_goal", "astronaut"),
        ("career_goal", 3),
        ("uses_python", 2),
        ("uses_python", "maybe"),
        ("years_coding", -1),
        ("years_coding", 51),
        ("ml_frameworks_used", 2.5),
        ("years_ml", 1e400),
    ],
)
def test_coerce_rejects_with_what_is_allowed(item, raw):
    with pytest.raises(ValueError) as info:
        load_instrument()[item].coerce(raw)
    assert item in str(info.value) and "allowed" in str(info.value)


def test_invalid_definition_names_the_item():
    text = """
version: "x"
scales: {}
groups: [{id: g, title: G, prompt: P}]
items:
  - {id: a, group: g, kind: wrong, text: t, topic: t}
  - {id: a, group: nope, kind: binary, text: t, topic: t, lean: sideways}
"""
    with pytest.raises(ValueError) as info:
        parse_instrument(text)
    message = str(info.value)
    assert "a: kind must be" in message and "a: duplicate id" in message and "lean must be" in message


def test_hash_tracks_content():
    instrument = load_instrument()
    assert len(instrument.sha256) == 64
    assert instrument.to_dict()["sha256"] == instrument.sha256
