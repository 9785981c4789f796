"""No behaviour change across refactors: the new code scores an old bundle exactly as the old code did.

``tests/fixtures/bundle-before-restructure`` holds the tables, manifest and drift reference of a bundle
exported by the code before the subpackage restructure (commit c125c2a); its ``model.skops`` is left
out (the predict path never reads it), so the test writes an empty one and re-hashes it.
``predictions-before-restructure.json`` holds what that code's ``rolefit.predict`` returned for 102
answer sets (empty, the example person, all 44 answered, and random subsets of 1 to 44 items), each
under the default base rate and under 0.04.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rolefit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_every_prediction_of_the_old_code_is_reproduced(old_bundle):
    """The all-answers model (today's champion) of an old bundle answers exactly as the old code did."""
    expected = json.loads((FIXTURES / "predictions-before-restructure.json").read_text())
    assert len(expected) == 204
    for case in expected:
        result = rolefit.predict(case["answers"], model=str(old_bundle), base_rate=case["base_rate"])
        got = result.to_dict()["all_answers"]
        want = case["result"]
        where = f"answers {case['answers']} at base rate {case['base_rate']}"
        assert got["probabilities"]["mle"] == pytest.approx(want["probabilities"]["mle"], abs=1e-12), where
        assert got["log_odds"] == pytest.approx(want["log_odds"], abs=1e-9), where
        assert got["baseline_log_odds"] == pytest.approx(want["baseline_log_odds"], abs=1e-12), where
        assert (got["verdict"], got["prediction_set"], got["role"]) == (
            want["verdict"],
            want["prediction_set"],
            want["role"],
        ), where
        effects = [[e["item"], e["effect"]] for e in got["explanations"]]
        assert [item for item, _ in effects] == [item for item, _ in want["effects"]], where
        for (_, mine), (_, theirs) in zip(effects, want["effects"], strict=True):
            assert mine == pytest.approx(theirs, abs=1e-12), where


def test_predict_many_reproduces_them_too(old_bundle):
    import pandas as pd

    expected = json.loads((FIXTURES / "predictions-before-restructure.json").read_text())
    for rate in (None, 0.04):
        cases = [c for c in expected if c["base_rate"] == rate]
        frame = pd.DataFrame([c["answers"] for c in cases])
        out = rolefit.predict_many(frame, model=str(old_bundle), base_rate=rate, top_k=3)
        for row, case in zip(out.itertuples(), cases, strict=True):
            want = case["result"]
            assert row.all_answers_p_mle == pytest.approx(want["probabilities"]["mle"], abs=1e-12)
            assert (row.all_answers_verdict, row.all_answers_prediction_set) == (
                want["verdict"],
                ",".join(want["prediction_set"]),
            )
            assert row.all_answers_role == want["role"]


@pytest.mark.parametrize("goal", ["ml_engineer", "software_engineer", "Machine learning engineer"])
def test_an_old_bundle_asked_about_a_new_goal_learns_nothing_from_it(old_bundle, goal):
    """Instrument 1.2 added two career goals; a bundle built for 1.0 never saw them, so that answer tells
    it nothing: the same probabilities as with the goal skipped, in the all-answers model and in the fit,
    and the goal's effect is 0 (documented in questionnaire.yaml and rolefit.scoring.bundle)."""
    person = {"interest_math": 4, "skill_dsa": 2, "years_coding": 3, "uses_python": 1}
    without = rolefit.predict(person, model=str(old_bundle))
    with_goal = rolefit.predict({**person, "career_goal": goal}, model=str(old_bundle))
    assert with_goal.answers["career_goal"] in ("ml_engineer", "software_engineer")
    for mine, skipped in ((with_goal, without), (with_goal.all_answers, without.all_answers)):
        assert mine.probabilities == skipped.probabilities and mine.log_odds == skipped.log_odds
        effects = {e["item"]: e["effect"] for e in mine.explanations}
        assert effects.get("career_goal", 0.0) == 0.0
    # an old choice still has the old effect
    old_goal = rolefit.predict({**person, "career_goal": "ml_platform_engineer"}, model=str(old_bundle))
    assert old_goal.all_answers.probabilities["mle"] > without.all_answers.probabilities["mle"]
    import pandas as pd

    frame = pd.DataFrame([{**person, "career_goal": goal}, person])
    many = rolefit.predict_many(frame, model=str(old_bundle), top_k=0)
    assert many["all_answers_p_mle"].iloc[0] == many["all_answers_p_mle"].iloc[1]
    assert many["p_mle"].iloc[0] == many["p_mle"].iloc[1]
