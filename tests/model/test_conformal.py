"""The champion's prediction sets cover each role at the level it claims, on held-out respondents
(issue #24, item 3): the sets come from the per-role conformal thresholds, fitted on validation data.

The check is :func:`rolefit.model.conformal.coverage_errors` against the level stored in the bundle;
tests/unit/test_conformal.py shows that the same check fails for wrong thresholds (alpha and 1 - alpha
swapped, the roles' thresholds crossed, the old 3-to-1 floor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rolefit
from rolefit.data.dataset import real_sources
from rolefit.model.conformal import RULE_VERSION, coverage_errors, verdict
from rolefit.model.features import answered_mask
from rolefit.model.fit import fit_rows
from rolefit.scoring.loader import load_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def test_split(champion, training_data):
    """The champion's outputs on every test respondent, as predict_many gives them: the fit's columns
    and the all-answers model's (``all_``), each model's own count of answered items."""
    frame = training_data[0]
    test = frame[frame["split"] == "test"]
    items = [item for item in rolefit.questionnaire().ids if item in test.columns]
    fit_items = [item for item in rolefit.questionnaire().fit_ids if item in test.columns]
    scored = rolefit.predict_many(test[items], model=champion[1], top_k=0)
    return pd.DataFrame(
        {
            "source": test["source"].to_numpy(),
            "y": (test["role"].to_numpy() == "mle").astype(int),
            "p_mle": scored["p_mle"].to_numpy(),
            "answered": answered_mask(test[fit_items], tuple(fit_items)).sum(axis=1),
            "prediction_set": scored["prediction_set"].to_numpy(),
            "verdict": scored["verdict"].to_numpy(),
            "all_p_mle": scored["all_answers_p_mle"].to_numpy(),
            "all_answered": answered_mask(test[items], tuple(items)).sum(axis=1),
            "all_prediction_set": scored["all_answers_prediction_set"].to_numpy(),
            "all_verdict": scored["all_answers_verdict"].to_numpy(),
        }
    )


def judged_sources(frame, params) -> list[str]:
    """The sources whose held-out respondents the thresholds speak for: synthetic and every real source
    trained on (an evaluation-only source such as Stack Overflow 2017 is another population)."""
    return ["synthetic", *real_sources(params, frame, "train")]


def test_the_champion_has_thresholds_of_rule_2_at_the_configured_level(champion, champion_params):
    loaded = load_model(champion[1])
    for conformal in (loaded.additive.conformal, loaded.fit.additive.conformal):
        assert conformal.level == champion_params.train.conformal_level
        assert conformal.min_probability is None and conformal.to_dict()["rule_version"] == RULE_VERSION
        assert conformal.min_answers == champion_params.train.clear_min_answers


def test_each_role_is_covered_at_the_level_on_every_source_it_was_fitted_for(
    champion, test_split, training_data, champion_params
):
    """The all-answers model on synthetic and every real training source; the fit on its own held-out
    synthetic respondents (real ones answered no fit item, so its sets cannot be judged there)."""
    loaded = load_model(champion[1])
    sources = judged_sources(training_data[0], champion_params)
    for source in sources:
        rows = test_split[test_split["source"] == source]
        assert len(rows) >= 500, source
        errors = coverage_errors(
            rows["y"], rows["all_p_mle"], loaded.additive.conformal, rows["all_answered"]
        )
        assert errors == [], f"all-answers model, {source}: {errors}"
    # the fit: its own held-out respondents (drawn with the guides' rules of thumb, as it was trained)
    own = fit_rows(training_data[0], champion_params, lambda _: None)
    held_out = own[(own["split"] == "test").to_numpy() & (own["source"] == "synthetic").to_numpy()]
    fit_items = [item for item in rolefit.questionnaire().fit_ids if item in held_out.columns]
    assert len(held_out) >= 5000
    scored = rolefit.predict_many(held_out[fit_items], model=champion[1], top_k=0)
    y = (held_out["role"].to_numpy() == "mle").astype(int)
    answered = answered_mask(held_out[fit_items], tuple(fit_items)).sum(axis=1)
    errors = coverage_errors(y, scored["p_mle"], loaded.fit.additive.conformal, answered)
    assert errors == [], f"fit, its held-out synthetic respondents: {errors}"


@pytest.mark.parametrize("prefix", ["", "all_"], ids=["fit", "all-answers model"])
def test_the_sets_predict_many_returns_are_the_thresholds_sets_and_the_verdict_follows(
    champion, test_split, prefix
):
    loaded = load_model(champion[1])
    conformal = (loaded.fit.additive if prefix == "" else loaded.additive).conformal
    p, n = test_split[f"{prefix}p_mle"].to_numpy(), test_split[f"{prefix}answered"].to_numpy()
    sets, verdicts = test_split[f"{prefix}prediction_set"], test_split[f"{prefix}verdict"]
    for i in range(len(test_split)):
        chosen = conformal.prediction_set(p[i], n[i]) if n[i] else ["swe", "mle"]
        assert sets.iloc[i] == ",".join(chosen)
        assert verdicts.iloc[i] == verdict(chosen, p[i], n[i])
    # a set naming one role is exactly a clear verdict
    one = ~sets.str.contains(",")
    assert ((verdicts == "clear") == one).all()


def test_the_thresholds_never_see_the_test_split(training_data, champion_params):
    """Every test respondent's answers shuffled (within source and role, so no share moves): the
    thresholds stay exactly the same, while the test metrics change."""
    from rolefit.model.train import train

    frame = training_data[0]
    synthetic = np.flatnonzero((frame["source"] == "synthetic").to_numpy())
    keep = np.ones(len(frame), bool)
    keep[synthetic[6000:]] = False  # a smaller run: every real row and 6,000 synthetic ones
    frame = frame.loc[keep].reset_index(drop=True)
    params = champion_params.model_copy(
        update={
            "train": champion_params.train.model_copy(
                update={
                    "candidates": ("logistic",),
                    "calibration_methods": ("coverage",),
                    "real_evidence": champion_params.train.real_evidence.model_copy(update={"bootstrap": 0}),
                    # the fit on these rows too, not on 100,000 of its own drawn afresh for each training
                    "fit": champion_params.train.fit.model_copy(update={"synthetic_respondents": 0}),
                }
            )
        }
    )
    items = [item for item in rolefit.questionnaire().ids if item in frame.columns]
    shuffled = frame.copy()
    rng = np.random.default_rng(0)
    for _, group in frame[frame["split"] == "test"].groupby(["source", "role"]):
        for item in items:
            shuffled.loc[group.index, item] = frame.loc[rng.permutation(group.index), item].to_numpy()
    assert not shuffled[items].equals(frame[items])

    before, after = train(frame, params), train(shuffled, params)
    assert after.additive.conformal == before.additive.conformal
    assert after.fit.model.additive.conformal == before.fit.model.additive.conformal  # the fit's too
    assert after.metrics["test/synthetic"] != before.metrics["test/synthetic"]
