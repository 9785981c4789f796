"""Behaviour of the shipped (default-params) champion: the seeds' scenarios and property tests."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rolefit
from rolefit.instrument.items import load_instrument

INSTRUMENT = load_instrument()


@pytest.fixture(autouse=True)
def _shipped(champion, use_model):
    use_model(champion[1])


def answer_strategy(item):
    if item.kind == "choice":
        return st.sampled_from(item.choice_ids)
    if item.kind == "number":
        return st.floats(min_value=item.min, max_value=item.max, allow_nan=False)
    lo, hi = item.bounds
    return st.integers(min_value=int(lo), max_value=int(hi))


partial_answers = st.fixed_dictionaries(
    {}, optional={item.id: answer_strategy(item) for item in INSTRUMENT.items}
)
settings.register_profile(
    "rolefit", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("rolefit")


def test_puzzle_loving_builder_who_wants_a_job_fast_is_swe():
    p = rolefit.predict(
        {
            "interest_coding_puzzles": 5,
            "interest_building_products": 5,
            "interest_math": 1,
            "pref_fast_job_entry": 5,
        }
    )
    assert p.role == "swe" and p.probabilities["swe"] >= 0.8


def test_data_pattern_math_research_niche_person_is_mle():
    p = rolefit.predict(
        {
            "interest_data_patterns": 5,
            "interest_math": 5,
            "interest_research": 5,
            "pref_niche_specialization": 5,
        }
    )
    assert p.role == "mle" and p.probabilities["mle"] >= 0.8


@given(partial_answers)
def test_probabilities_are_valid_and_explanations_exact(answers):
    p = rolefit.predict(answers)
    assert 0.0 <= p.probabilities["mle"] <= 1.0 and 0.0 <= p.probabilities["swe"] <= 1.0
    assert math.isclose(p.probabilities["swe"] + p.probabilities["mle"], 1.0, abs_tol=1e-12)
    total = p.baseline_log_odds + math.fsum(e["effect"] for e in p.explanations)
    assert abs(total - p.log_odds) <= 1e-9
    assert abs(1 / (1 + math.exp(-p.log_odds)) - p.probabilities["mle"]) <= 1e-12
    effects = [abs(e["effect"]) for e in p.explanations]
    assert effects == sorted(effects, reverse=True)
    # the fit explains the fit items answered; the all-answers model every answered item, as exactly
    assert {e["item"] for e in p.explanations} == {i for i in answers if INSTRUMENT[i].part == "fit"}
    a = p.all_answers
    assert math.isclose(a.probabilities["swe"] + a.probabilities["mle"], 1.0, abs_tol=1e-12)
    assert abs(a.baseline_log_odds + math.fsum(e["effect"] for e in a.explanations) - a.log_odds) <= 1e-9
    assert abs(1 / (1 + math.exp(-a.log_odds)) - a.probabilities["mle"]) <= 1e-12
    effects = [abs(e["effect"]) for e in a.explanations]
    assert effects == sorted(effects, reverse=True)
    assert {e["item"] for e in a.explanations} == set(answers)


def test_empty_answers_return_the_baseline():
    p = rolefit.predict({})
    assert p.explanations == []
    assert p.log_odds == p.baseline_log_odds
    assert p.probabilities["mle"] == pytest.approx(1 / (1 + math.exp(-p.baseline_log_odds)))


lean_items = [item for item in INSTRUMENT.items if item.lean != "none" and item.kind != "choice"]


@given(partial_answers, st.sampled_from(lean_items), st.data())
def test_raising_a_lean_item_moves_p_mle_its_way(answers, item, data):
    lo, hi = item.bounds
    if item.kind == "number":
        low = data.draw(st.floats(min_value=lo, max_value=hi))
        high = data.draw(st.floats(min_value=low, max_value=hi))
    else:
        low = data.draw(st.integers(min_value=int(lo), max_value=int(hi)))
        high = data.draw(st.integers(min_value=low, max_value=int(hi)))
    below, above = rolefit.predict({**answers, item.id: low}), rolefit.predict({**answers, item.id: high})
    # the fit (the headline) and the all-answers model alike
    pairs = [(below.probabilities, above.probabilities)]
    pairs.append((below.all_answers.probabilities, above.all_answers.probabilities))
    for before, after in ((b["mle"], a["mle"]) for b, a in pairs):
        if item.lean == "mle":
            assert after >= before - 1e-12
        else:
            assert after <= before + 1e-12


@given(partial_answers)
def test_goal_choices_order_by_their_lean(answers):
    goal = INSTRUMENT["career_goal"]
    results = {c.id: rolefit.predict({**answers, "career_goal": c.id}) for c in goal.choices}
    mle_goals = [c.id for c in goal.choices if c.lean == "mle"]
    swe_goals = [c.id for c in goal.choices if c.lean == "swe"]
    for p in (
        {goal: r.probabilities["mle"] for goal, r in results.items()},
        {goal: r.all_answers.probabilities["mle"] for goal, r in results.items()},
    ):
        assert min(p[g] for g in mle_goals) >= max(p[g] for g in swe_goals) - 1e-12
