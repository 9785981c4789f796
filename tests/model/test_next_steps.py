"""Next steps from the readiness gaps and the guides' path (issue #25, item 1), on the session champion.

The hard rules are checked for every persona of the tests and for 200 random answer sets: a step is about
an answered item, asks for more than the answer, is never an interest, a preference, the goal or
education, and names its share (a gap) or its guide; nothing depends on what moves the model's numbers.
"""

import json
import re
import shutil

import pytest

import rolefit
from rolefit.guidance.facts import load_role_facts
from rolefit.guidance.steps import MAX_STEPS, SOLID, next_steps, what_if
from rolefit.instrument.items import load_instrument

from .test_exactness import random_answers
from .test_fit_acceptance import BOOTCAMP, EXPERIENCE, MATHS_GRADUATE, SCENARIOS, STUDENT, THREES
from .test_guidance import PERSONAS as GUIDANCE_PERSONAS

pytestmark = pytest.mark.slow
INSTRUMENT = load_instrument()

#: the bootcamp graduate of issue #25, answering honestly: half a year of coding, JavaScript, web
#: development 4, enjoys building products 5, wants a job fast 5, low maths and ML ratings, no ML
BOOTCAMP_HONEST = {
    **BOOTCAMP, "skill_statistics": 1, "skill_linear_algebra": 2, "skill_ml_algorithms": 1,
    "interest_math": 2, "years_ml": 0,
}  # fmt: skip
SENIOR_SWE = {
    "years_coding": 12, "years_ml": 0, "education": "bachelor", "skill_dsa": 5, "skill_clean_code": 5,
    "skill_system_design": 4, "skill_web_development": 4, "skill_databases_apis": 5, "skill_statistics": 2,
    "uses_java": 1, "uses_javascript": 1, "uses_sql": 1, "uses_python": 0, "ml_frameworks_used": 0,
    "interest_system_design": 5, "interest_debugging": 4, "career_goal": "software_architect",
}  # fmt: skip
ML_RESEARCHER = {
    "years_coding": 10, "years_ml": 8, "education": "doctorate", "skill_statistics": 5,
    "skill_linear_algebra": 5, "skill_ml_algorithms": 5, "skill_python": 5, "skill_dsa": 3, "uses_python": 1,
    "ml_frameworks_used": 5, "activity_ml_research": 1, "activity_ml_experiments": 1,
    "activity_ml_prototypes": 1, "interest_research": 5, "interest_math": 5, "career_goal": "ai_researcher",
}  # fmt: skip
NOTHING: dict = {}
ONLY_INTERESTS = {item.id: 1 + n % 5 for n, item in enumerate(INSTRUMENT.items) if item.group == "interests"}
PERSONAS = {
    "student": STUDENT,
    "bootcamp graduate": BOOTCAMP,
    "bootcamp graduate, honest": BOOTCAMP_HONEST,
    "maths graduate": MATHS_GRADUATE,
    "experience only": EXPERIENCE,
    "every fit item 3": THREES,
    "senior software engineer": SENIOR_SWE,
    "ML researcher": ML_RESEARCHER,
    "answered nothing": NOTHING,
    "answered only interests": ONLY_INTERESTS,
    **{f"scenario: {name}": answers for name, (answers, _) in SCENARIOS.items()},
    **{f"guidance: {name}": answers for name, (answers, _, _) in GUIDANCE_PERSONAS.items()},
}
STEP_KEYS = {"role", "order", "kind", "item", "action", "why", "share", "source"}


@pytest.fixture(autouse=True)
def _shipped(champion, use_model):
    use_model(champion[1])


@pytest.fixture(scope="module")
def random_sets():
    frame = random_answers(200, seed=25)
    return [{k: v for k, v in row.items() if v is not None and v == v} for _, row in frame.iterrows()]


def guide_names() -> list[str]:
    return [s.title or s.kind for s in load_role_facts().advice_sources]


def check_rules(answers: dict, name: str = "") -> rolefit.Prediction:
    """Every hard rule of next steps for one person (see the module's docstring); returns the prediction."""
    p = rolefit.predict(answers)
    found = next_steps(answers, prediction=p)
    assert found == next_steps(answers), name  # the same without a prediction passed: deterministic
    assert found.first == p.role and set(found.roles) == {"swe", "mle"}, name
    shown = json.loads(json.dumps(found.to_dict()))
    assert list(shown["roles"]) == [p.role, *(r for r in ("swe", "mle") if r != p.role)]
    for role, steps in found.roles.items():
        assert len(steps) <= MAX_STEPS and [s.order for s in steps] == list(range(1, len(steps) + 1))
        assert len({s.item for s in steps}) == len(steps), (name, steps)  # one step per item
        gaps = {} if p.readiness is None else {g.item: g for g in p.readiness.roles[role].gaps}
        for step, said in zip(steps, shown["roles"][role], strict=True):
            where = (name, role, step)
            assert set(said) == STEP_KEYS and said["item"] == step.item and step.role == role, where
            item = INSTRUMENT[step.item]
            # never an item the person was not asked, never an interest, a preference, the goal, a degree
            assert step.item in p.answers, where
            assert item.group in ("skills", "experience", "tools") and step.item != "education", where
            answer = p.answers[step.item]
            # never asks for what the person already has at that level
            assert step.to_answer > answer, where
            if item.kind == "binary":
                assert answer == 0 and step.to_answer == 1, where
            numbers = [float(n) for n in re.findall(r"at least (\d+(?:\.\d+)?) years?", step.action)]
            numbers += [float(n) for n in re.findall(r"\((\d+) frameworks? in all\)", step.action)]
            assert all(n > answer for n in numbers), where
            # the share or the guide behind it, in words
            assert step.why and step.action and step.source["name"], where
            if step.kind == "gap":
                gap = gaps[step.item]  # a gap of this role: at least half of its people have more
                assert step.share == gap.share_more >= 0.5, where
                assert step.source == {"name": gap.source_name, "year": gap.year, "url": None}, where
                assert re.match(r"^(\d+%|more than 99%) of people working as ", step.why), where
                assert gap.source_name in step.why, where
            else:
                assert step.kind == "guide" and step.share is None, where
                assert step.why.startswith("Career guides: "), where
                assert all(n in step.source["name"] for n in guide_names()) and step.source["year"], where
                if item.kind == "scale":
                    assert answer < SOLID, where  # a guide asks for a skill only below a solid level
            # words for people: no ids, counts agreeing with their nouns
            for text in (step.action, step.why):
                assert "_" not in text and step.item not in text, (where, text)
                assert not re.search(r"\b1 (years|frameworks)\b", text), (where, text)
                assert not re.search(r"(?<![\d.])(0|[2-9]|\d{2,}) (year|framework)\b", text), (where, text)
    assert "6–12 months" in found.plan and found.plan_source["name"] and "url" in found.plan_source
    return p


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_no_persona_is_asked_for_what_they_have_or_were_never_asked(persona):
    check_rules(PERSONAS[persona], persona)


def test_the_rules_hold_for_random_answer_sets(random_sets):
    for answers in random_sets:
        check_rules(answers, str(answers))


@pytest.mark.parametrize("persona", ["answered nothing", "answered only interests"])
def test_someone_who_answered_nothing_to_build_on_gets_no_steps(persona):
    found = next_steps(PERSONAS[persona])
    assert found.roles == {"swe": (), "mle": ()} and found.plan


def test_the_bootcamp_graduate_starts_from_a_gap_toward_swe():
    p = rolefit.predict(BOOTCAMP_HONEST)
    found = next_steps(BOOTCAMP_HONEST)
    assert p.role == found.first == "swe"
    first = found["swe"][0]
    assert first.kind == "gap" and first.share >= 0.5, found["swe"]
    # his low maths ratings make the guides' fundamentals the first steps toward MLE, in the guides' order
    assert [s.item for s in found["mle"][:2]] == ["skill_statistics", "skill_linear_algebra"]
    assert all(s.kind == "guide" for s in found["mle"][:2])
    # he uses JavaScript daily and rates web development 4: neither is ever a step
    items = {s.item for steps in found.roles.values() for s in steps}
    assert not {"uses_javascript", "skill_web_development"} & items


def test_the_student_gets_mle_steps_first():
    found = next_steps(STUDENT)
    assert found.first == "mle" and found["mle"], found
    assert found.to_dict()["roles"]["mle"][0]["order"] == 1
    # she rates statistics and linear algebra 4 (solid): no fundamentals step asks for more
    assert not {"skill_statistics", "skill_linear_algebra"} & {s.item for s in found["mle"]}


def test_fundamentals_come_before_projects_and_experience():
    person = {**BOOTCAMP_HONEST, "skill_dsa": 2, "activity_ml_prototypes": 0, "ml_frameworks_used": 0}
    for role, steps in next_steps(person).roles.items():
        phases = [_phase(s) for s in steps]
        assert phases == sorted(phases), (role, steps)
    assert next_steps(person)["swe"][0].item == "skill_dsa"  # the guides' fundamentals lead SWE


def _phase(step) -> int:
    from rolefit.guidance.steps import PHASES, _phase

    return PHASES.index(_phase(step))


def test_a_solid_skill_gets_no_guide_step_and_a_weaker_one_does():
    weak = next_steps({"skill_statistics": SOLID - 1, "interest_math": 5})
    assert [s.item for s in weak["mle"]] == ["skill_statistics"]
    assert "to a solid level" in weak["mle"][0].action and "Advanced (4)" in weak["mle"][0].action
    assert next_steps({"skill_statistics": SOLID, "interest_math": 5})["mle"] == ()


def test_steps_do_not_depend_on_what_moves_the_model(champion, tmp_path, monkeypatch):
    """The same answers scored by a model with every effect turned around (the fit's role flips, and so
    does every score change) get the same steps per role: nothing is chosen or ranked by a number the
    model gives."""
    from rolefit.scoring.loader import clear_cache
    from tests.bundles import negate_effects

    turned = tmp_path / "turned"
    shutil.copytree(champion[1], turned)
    (turned / "signature.json").unlink(missing_ok=True)
    negate_effects(turned)
    monkeypatch.delenv("ROLEFIT_SIGNING_KEY", raising=False)  # checked by its checksums, as without a key
    for answers in (STUDENT, BOOTCAMP_HONEST, SENIOR_SWE, ML_RESEARCHER):
        clear_cache()
        mine = next_steps(answers, model=str(champion[1]))
        theirs = next_steps(answers, model=str(turned))
        assert mine.roles == theirs.roles
        assert theirs.first != mine.first or rolefit.predict(answers, model=str(turned)).verdict == "toss-up"


def test_a_bundle_without_readiness_gives_the_guides_steps_only(old_bundle):
    bundle = old_bundle
    p = rolefit.predict(BOOTCAMP_HONEST, model=str(bundle))
    assert p.readiness is None
    found = next_steps(BOOTCAMP_HONEST, model=str(bundle))
    assert found["mle"] and all(s.kind == "guide" for r in found.roles.values() for s in r)


def test_what_if_explores_a_step_without_choosing_it():
    found = next_steps(STUDENT)
    step = found["mle"][0]
    explored = what_if(STUDENT, step.change)
    assert explored.after.answers[step.item] == step.to_answer
    assert "exploration" in what_if.__doc__.lower() or "explore" in what_if.__doc__.lower()


def test_k_limits_the_steps_and_is_checked():
    few, every = next_steps(BOOTCAMP_HONEST, k=2), next_steps(BOOTCAMP_HONEST)
    assert all(len(s) <= 2 for s in few.roles.values()) and len(every["mle"]) > 2
    for role in ("swe", "mle"):  # the same choice, cut shorter
        assert {s.item for s in few[role]} <= {s.item for s in every[role]}
    assert next_steps(BOOTCAMP_HONEST, k=0).roles == {"swe": (), "mle": ()}
    with pytest.raises(ValueError, match="k must be"):
        next_steps(BOOTCAMP_HONEST, k=-1)
