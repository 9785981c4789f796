"""Guidance on the session champion (issue #16): plain words, reasons grouped the way people think, next
steps (tests/model/test_next_steps.py checks them in full), what-ifs, and kind words about common
mistakes."""

import json
import math
import os
import subprocess
import sys

import pytest

import rolefit
from rolefit.guidance.advice import guide
from rolefit.guidance.facts import common_mistakes
from rolefit.guidance.groups import MIN_EFFECT, group_subtotals
from rolefit.guidance.steps import next_steps, what_if
from rolefit.guidance.words import GROUP_NAMES, ROLE_SHORT, answers_needed, certainty, starting_point
from rolefit.instrument.items import load_instrument
from rolefit.scoring.predictor import sigmoid

from .test_exactness import random_answers

pytestmark = pytest.mark.slow
INSTRUMENT = load_instrument()
GROUP_OF = {item.id: item.group for item in INSTRUMENT.items}
VERDICT_WORDS = ("clear fit", "leaning", "both fit you")

#: the seeds' scenarios as people: (answers, the role they point to, the group that should lead)
PERSONAS = {
    "loves coding puzzles": (
        {"interest_coding_puzzles": 5, "interest_debugging": 5, "interest_building_products": 4,
         "interest_math": 2},
        "swe", "interests",
    ),
    "loves data patterns and maths": (
        {"interest_data_patterns": 5, "interest_math": 5, "interest_research": 4, "interest_debugging": 2},
        "mle", "interests",
    ),
    "wants a job fast": (
        {"pref_fast_job_entry": 5, "pref_immediate_results": 5, "pref_predictable_work": 4},
        "swe", "preferences",
    ),
    "wants a highly paid niche": (
        {"pref_niche_specialization": 5, "pref_long_learning": 5, "pref_experimentation": 4},
        "mle", "preferences",
    ),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _shipped(champion, use_model):
    use_model(champion[1])


@pytest.fixture(scope="module")
def answer_sets():
    """Random partial answer sets (as people send them: no skipped keys), the empty one included."""
    frame = random_answers(200, seed=16)
    sets = [{k: v for k, v in row.items() if v is not None and v == v} for _, row in frame.iterrows()]
    return [{}, *sets]


def min_answers(champion) -> int:
    conformal = champion[0].additive.conformal
    return 1 if conformal is None else conformal.min_answers


def texts(value):
    """Every string inside a JSON-ready value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from texts(v)


# -- the starting point and the groups -------------------------------------------------------------


@pytest.mark.parametrize("base_rate", [None, 0.2])
def test_starting_point_and_group_subtotals_add_up_exactly_to_the_log_odds(answer_sets, base_rate):
    for answers in answer_sets:
        p = rolefit.predict(answers, base_rate=base_rate)
        groups = group_subtotals(p)
        assert sorted(g.group for g in groups) == sorted(GROUP_NAMES)
        total = p.baseline_log_odds + math.fsum(g.subtotal for g in groups)
        assert abs(total - p.log_odds) <= 1e-9, (answers, total, p.log_odds)
        # every answered fit item (the groups are the fit's reasons) in exactly one group: its own
        fit_answers = [item for item in p.answers if INSTRUMENT[item].part == "fit"]
        assert sum(g.answered for g in groups) == len(p.explanations) == len(fit_answers)
        for g in groups:
            assert all(GROUP_OF[r["item"]] == g.group for r in g.reasons)
            assert len(g.reasons) + g.other_count == g.answered
            assert all(abs(r["effect"]) >= MIN_EFFECT for r in g.reasons)
            assert abs(math.fsum(r["effect"] for r in g.reasons) + g.other - g.subtotal) <= 1e-12
            assert abs(g.other) <= g.other_count * MIN_EFFECT
            assert bool(g.sentence) == bool(g.answered)
        answered = [g for g in groups if g.answered]
        assert [abs(g.subtotal) for g in answered] == sorted(
            (abs(g.subtotal) for g in answered), reverse=True
        )
        assert groups[: len(answered)] == answered  # groups nobody answered come last


def test_near_zero_reasons_are_folded_into_other_answers():
    p = rolefit.predict({"career_goal": "undecided", "interest_math": 5, "skill_dsa": 2})
    goal = next(g for g in group_subtotals(p) if g.group == "goal")
    effect = next(e["effect"] for e in p.explanations if e["item"] == "career_goal")
    if abs(effect) < MIN_EFFECT:  # "undecided about your career goal" is near zero in the champion
        assert goal.reasons == () and goal.other_count == 1 and goal.other == effect
        assert goal.toward == "none" and "does not tip it either way" in goal.sentence


def test_the_starting_point_in_words():
    p = rolefit.predict({})
    start = sigmoid(p.baseline_log_odds)
    share = round(100 * (start if p.role == "mle" else 1 - start))  # in the frame of the role it names
    assert starting_point(p) == f"before your answers: {share}% {ROLE_SHORT[p.role]}, an even start"
    mine = rolefit.predict({"interest_math": 5}, base_rate=0.3)
    assert mine.role == "mle"  # one frame: the starting point is the named role's share too
    assert (
        starting_point(mine, own_population=True)
        == "before your answers: 30% MLE, the mix in your population"
    )
    assert guide({"interest_math": 5}, base_rate=0.3).starting_point.endswith("the mix in your population")


# -- certainty in words ----------------------------------------------------------------------------


def test_certainty_follows_the_verdict_and_says_honestly_how_many_answers_are_missing(answer_sets, champion):
    least = min_answers(champion)
    few = [dict(list(answer_sets[1].items())[:n]) for n in range(1, least + 2)]  # random sets answer more
    for answers in [*few, *answer_sets]:
        p = rolefit.predict(answers)
        words = certainty(p)
        n = len(p.answers)
        if n < least:
            assert words == f"not enough answers yet — answer {least - n} more to sharpen this"
            assert answers_needed(p) == least - n
            assert len(p.prediction_set) == 2  # the rule cannot name one role before min_answers
        else:
            assert answers_needed(p) == 0
            expected = {"clear": "clear fit", "leaning": f"leaning {ROLE_SHORT[p.role]}",
                        "toss-up": "both fit you"}[p.verdict]  # fmt: skip
            assert words == expected


def test_a_person_who_answers_nothing_gets_no_verdict_words(champion):
    g = guide({})
    assert g.certainty == f"not enough answers yet — answer {min_answers(champion)} more to sharpen this"
    shown = json.loads(json.dumps(g.to_dict()))
    said = [t for t in texts({k: v for k, v in shown.items() if k != "facts"})]
    assert not any(word in t for t in said for word in VERDICT_WORDS), said
    assert g.summary == "" and all(not grp.sentence and grp.answered == 0 for grp in g.groups)
    assert g.next_steps.roles == {"swe": (), "mle": ()} and "goal_steps" not in g.to_dict()
    assert g.mistakes == ()
    assert [f.role for f in g.facts] == ["swe", "mle"]  # no fitting role yet: both, in questionnaire order


# -- the seeds' personas ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_personas_top_group_points_the_expected_way_and_interests_are_no_steps(persona):
    answers, role, group = PERSONAS[persona]
    p = rolefit.predict(answers)
    start = sigmoid(p.baseline_log_odds)
    moved = p.probabilities["mle"] - start
    assert (moved > 0) == (role == "mle"), (persona, p.probabilities, start)
    top = group_subtotals(p)[0]
    assert top.group == group and top.toward == role, (persona, top)
    assert top.sentence.startswith(GROUP_NAMES[group].capitalize()) and top.sentence.endswith(
        ROLE_SHORT[role]
    )
    steps = next_steps(answers)
    # these people answered only interests or preferences: nothing to build a step on
    assert steps.first == p.role and steps.roles == {"swe": (), "mle": ()}, (persona, steps)
    g = guide(answers)
    assert g.groups[0].group == group and g.summary.startswith(top.sentence)


# -- next steps and what-ifs -----------------------------------------------------------------------


def test_what_if_changes_removes_and_refuses_like_predict():
    answers = {"interest_math": 5, "skill_statistics": 2, "uses_python": "yes"}
    same = what_if(answers, {})
    assert same.delta_p_mle == 0.0 and same.after.probabilities == same.before.probabilities
    up = what_if(answers, {"skill_statistics": "Intermediate"})
    assert up.changes == {"skill_statistics": 3.0}
    assert up.after.probabilities == rolefit.predict({**answers, "skill_statistics": 3}).probabilities
    gone = what_if(answers, {"uses_python": None})
    assert gone.changes == {"uses_python": None} and "uses_python" not in gone.after.answers
    assert (
        gone.after.probabilities == rolefit.predict({"interest_math": 5, "skill_statistics": 2}).probabilities
    )
    with pytest.raises(rolefit.InvalidAnswers, match="skill_statistics"):
        what_if(answers, {"skill_statistics": 9})
    with pytest.raises(rolefit.InvalidAnswers, match="changes"):
        what_if(answers, ["skill_statistics"])
    assert json.loads(json.dumps(up.to_dict()))["delta_p_mle"] == up.delta_p_mle


def test_next_steps_do_not_change_with_the_base_rate():
    """Steps come from readiness and the guides, not from the model's numbers: a caller's population moves
    the probabilities, never the steps."""
    answers = {"interest_data_patterns": 4, "skill_dsa": 2, "years_coding": 2, "uses_python": 0}
    mine = next_steps(answers, base_rate=0.2)
    assert mine.roles == next_steps(answers).roles and any(mine.roles.values())
    assert mine.first == rolefit.predict(answers, base_rate=0.2).role


# -- the whole guidance ----------------------------------------------------------------------------


def test_guide_bundles_everything_json_ready_with_the_fitting_role_first():
    answers, role, _ = PERSONAS["loves data patterns and maths"]
    answers = {**answers, "skill_statistics": 2, "career_goal": "applied_scientist", "uses_python": 1}
    p = rolefit.predict(answers)
    g = guide(answers)
    assert g.role == p.role == role and g.probabilities == p.probabilities
    assert g.certainty in ("clear fit", f"leaning {ROLE_SHORT[role]}", "both fit you")
    assert [f.role for f in g.facts] == [role, "swe"]
    assert all(s.year for facts in g.facts for fact in facts.facts for s in fact.sources)
    assert g.next_steps == next_steps(answers, prediction=p)
    assert guide(answers, prediction=p) == g
    shown = json.loads(json.dumps(g.to_dict()))
    assert set(shown) >= {"certainty", "starting_point", "groups", "summary", "next_steps", "facts",
                          "mistakes"}  # fmt: skip
    assert "goal_steps" not in shown  # goal changes are not steps
    assert shown["next_steps"] == g.next_steps.to_dict() and shown["next_steps"]["first"] == role
    assert shown["groups"][0]["sentence"] == g.groups[0].sentence


def test_predict_computes_no_guidance(champion):
    """Guidance is computed on request: predicting imports none of it (in a fresh interpreter)."""
    code = (
        "import json, sys, rolefit; p = rolefit.predict({'interest_math': 5, 'skill_dsa': 2}); "
        "print(json.dumps([sorted(m for m in sys.modules if m.startswith('rolefit.guidance')), "
        "sorted(p.to_dict())]))"
    )
    env = {**os.environ, "ROLEFIT_MODEL": str(champion[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    guidance, keys = json.loads(out.stdout)
    assert guidance == []
    assert not {"groups", "next_steps", "mistakes"} & set(keys)


# -- common mistakes -------------------------------------------------------------------------------


def test_choosing_mle_for_the_pay_while_maths_and_data_point_away_is_said_kindly():
    pay = {"career_goal": "applied_scientist", "pref_niche_specialization": 5, "interest_math": 1,
           "interest_data_patterns": 2, "interest_coding_puzzles": 5}  # fmt: skip
    found = {m.id: m for m in common_mistakes(rolefit.predict(pay))}
    assert "salary_only" in found
    said = found["salary_only"]
    assert "applied scientist" in said.text and "point to MLE" in said.text
    assert said.advice.startswith("choosing MLE for the pay alone") and said.sources[0].year == 2026
    # the same goal from someone who loves maths and data is no mistake
    loves = {**pay, "interest_math": 5, "interest_data_patterns": 5}
    assert "salary_only" not in {m.id for m in common_mistakes(loves)}
    assert common_mistakes({}) == []


def test_theory_without_projects_and_weak_fundamentals_are_said_kindly():
    theory = {"skill_ml_algorithms": 4, "activity_ml_prototypes": 0, "activity_ml_service": 0}
    assert "no_projects" in {m.id for m in common_mistakes(theory)}
    assert "no_projects" not in {m.id for m in common_mistakes({**theory, "activity_ml_service": 1})}
    weak = {"career_goal": "software_architect", "skill_dsa": 1, "interest_system_design": 5}
    said = {m.id: m.text for m in common_mistakes(weak)}
    assert "data structures and algorithms as Beginner (1)" in said["skip_fundamentals"]
    assert "skip_fundamentals" not in {m.id for m in common_mistakes({**weak, "skill_dsa": 4})}
