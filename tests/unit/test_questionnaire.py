import dataclasses
import math
from pathlib import Path

import pytest

from rolefit.instrument.items import load_instrument, parse_instrument, questionnaire

FIXTURES = Path(__file__).parents[1] / "fixtures"
ITEM_GAINS = Path(__file__).parents[2] / "reports" / "item_gains.json"


def kept_tools() -> dict[str, list[str]]:
    """The tools questions the gains report kept, with their items (reports/item_gains.json)."""
    import json

    questions = json.loads(ITEM_GAINS.read_text())["questions"]
    return {q: g["items"] for q, g in questions.items() if g["kept"]}


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
    tools = {item for items in kept_tools().values() for item in items}
    assert set(instrument.ids) == set(DESIGN_ITEMS) | set(EXPERIENCE) | tools


def test_the_tools_questions_are_the_kept_ones_each_asked_once_as_yes_no_items():
    """Issue #26 item 2: a multi-choice question is asked once and stored as yes/no items; only the
    questions whose cross-validated gain is above 0 (the item_gains stage) are asked."""
    instrument = questionnaire()
    kept = kept_tools()
    assert kept, "no tools question was kept"
    assert {q.id: list(q.items) for q in instrument.questions} == kept
    for question in instrument.questions:
        assert question.group == "tools" and question.text.endswith("?")
        for item_id in question.items:
            item = instrument[item_id]
            assert (item.kind, item.part, item.lean, item.question) == (
                "binary",
                "experience",
                "none",
                question.id,
            )
    described = instrument.to_dict()
    assert [q["id"] for q in described["questions"]] == list(kept)
    assert {i["id"]: i.get("question") for i in described["items"] if i["group"] == "tools"} == {
        item: q for q, items in kept.items() for item in items
    }


def test_choices_match_the_design():
    instrument = load_instrument()
    goal = instrument["career_goal"]
    assert {c.id: c.lean for c in goal.choices} == {
        "software_engineer": "swe",
        "software_architect": "swe",
        "engineering_manager": "swe",
        "full_stack_developer": "swe",
        "cloud_engineer": "swe",
        "ai_researcher": "mle",
        "applied_scientist": "mle",
        "ml_platform_engineer": "mle",
        "ml_engineer": "mle",
        "undecided": "none",
    }
    labels = {c.id: c.label for c in goal.choices}
    assert labels["ml_engineer"] == "Machine learning engineer"
    assert labels["software_engineer"] == "Software engineer (back end, front end or full stack)"
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


# issue #24: which answer every item feeds. The fit decides on strength + interest (the career guides'
# step 8); the skills one learns on the way to a role and the experience facts are readiness.
FIT_SKILLS = ("skill_dsa", "skill_clean_code", "skill_statistics", "skill_linear_algebra")
PATH_SKILLS = (
    "skill_system_design",
    "skill_web_development",
    "skill_databases_apis",
    "skill_devops",
    "skill_python",
    "skill_ml_algorithms",
    "skill_data_wrangling",
    "skill_model_deployment",
)


def test_every_item_has_its_decided_part():
    instrument = load_instrument()
    by_group = {group: [i.id for i in instrument.items if i.group == group] for group in
                ("interests", "skills", "preferences", "goal", "experience", "tools")}  # fmt: skip
    assert set(instrument.fit_ids) == {
        *by_group["interests"],
        *by_group["preferences"],
        *by_group["goal"],
        *FIT_SKILLS,
    }
    assert instrument.path_ids == PATH_SKILLS
    assert set(by_group["skills"]) == {*FIT_SKILLS, *PATH_SKILLS}
    assert instrument.readiness_ids == (*PATH_SKILLS, *by_group["experience"], *by_group["tools"])
    assert not set(instrument.fit_ids) & set(instrument.readiness_ids)
    assert {instrument[i].part for i in (*by_group["experience"], *by_group["tools"])} == {"experience"}
    assert [item["part"] for item in instrument.to_dict()["items"]] == [i.part for i in instrument.items]


def test_every_skill_says_why_it_is_fit_or_path():
    """The reason per skill is a comment right above it in questionnaire.yaml."""
    from pathlib import Path

    import rolefit.instrument.items as items

    lines = (Path(items.__file__).parent / "questionnaire.yaml").read_text().splitlines()
    for skill in (*FIT_SKILLS, *PATH_SKILLS):
        at = next(k for k, line in enumerate(lines) if line.startswith(f"  - {{id: {skill},"))
        part = load_instrument()[skill].part
        assert lines[at - 1].startswith(f"  # {part}: "), skill


def test_a_part_is_required_and_experience_is_the_experience_group():
    text = """
version: "x"
scales: {}
groups: [{id: g, title: G, prompt: P}, {id: experience, title: E, prompt: P}]
items:
  - {id: a, group: g, kind: binary, text: t, topic: t}
  - {id: b, group: g, part: experience, kind: binary, text: t, topic: t}
  - {id: c, group: experience, part: fit, kind: binary, text: t, topic: t}
"""
    with pytest.raises(ValueError) as info:
        parse_instrument(text)
    message = str(info.value)
    assert "a: part must be one of" in message
    assert "b: part experience" in message and "c: part experience" in message


def test_versions_1_0_to_1_2_read_the_same_items_but_the_new_goals_and_tools_and_are_accepted():
    """1.1 only added ``part``, 1.2 the goals ``ml_engineer`` and ``software_engineer``, 1.3 the tools
    questions: a model built for 1.0, 1.1 or 1.2 reads the same items with the same choices but those,
    so it still loads (the new choices and items tell it nothing: tests/model/test_same_predictions.py)
    and the gate still compares it. The 1.0 text is the fixture, hashed as bundles recorded it."""
    import hashlib

    import yaml

    import rolefit.instrument.items as items

    old_text = (FIXTURES / "questionnaire-1.0.yaml").read_text()
    new_text = (Path(items.__file__).parent / "questionnaire.yaml").read_text()
    old, new = yaml.safe_load(old_text), yaml.safe_load(new_text)
    assert old["version"] == "1.0" and new["version"] == load_instrument().version == "1.3"
    added = {"ml_engineer", "software_engineer"}

    def as_in_1_0(item):
        item = {k: v for k, v in item.items() if k != "part"}
        if "choices" in item:
            item["choices"] = [c for c in item["choices"] if c["id"] not in added]
        return item

    assert [as_in_1_0(item) for item in new["items"] if item["group"] != "tools"] == old["items"]
    assert (old["scales"], old["groups"]) == (new["scales"], [g for g in new["groups"] if g["id"] != "tools"])
    digest = hashlib.sha256(old_text.encode()).hexdigest()
    instrument = load_instrument()
    assert instrument.accepts("1.0", digest)
    assert instrument.accepts(instrument.version, instrument.sha256)
    assert not instrument.accepts("1.0", "0" * 64) and not instrument.accepts("0.9", digest)
    assert {version for version, _ in instrument.compatible} == {"1.0", "1.1", "1.2"}
    for version in ("1.0", "1.1"):
        assert instrument.new_choices(version) == {"career_goal": ("ml_engineer", "software_engineer")}
    assert instrument.new_choices("1.2") == {}
    # 1.2 as it was released (main before issue #26): the sha256 recorded is that text's
    assert (
        "1.2",
        "e60fd3f759a1ac19b09b0752be61f6236c869522aa802632782b07b2be4c1b6b",
    ) in instrument.compatible
    assert instrument.new_choices(instrument.version) == {}


def test_new_choices_of_a_compatible_version_must_be_choices_of_the_item():
    import rolefit.instrument.items as items

    text = (Path(items.__file__).parent / "questionnaire.yaml").read_text()
    older = '\n  - {version: "0.9", sha256: abc, new_choices: {career_goal: [astronaut]}}\n'
    text = text.replace("compatible:\n", "compatible:" + older, 1)
    with pytest.raises(ValueError) as info:
        parse_instrument(text)
    assert "0.9 lists new choices of 'career_goal' that are not its choices: astronaut" in str(info.value)
