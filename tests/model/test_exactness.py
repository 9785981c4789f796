"""The lookup tables reproduce the full scikit-learn model, for either kind of champion."""

import numpy as np
import pandas as pd
import pytest

from rolefit.instrument.items import load_instrument

pytestmark = pytest.mark.slow


def random_answers(n: int, seed: int) -> pd.DataFrame:
    """Random partial answer sets over the whole instrument, including values between bin edges."""
    rng = np.random.default_rng(seed)
    instrument = load_instrument()
    columns = {}
    for item in instrument.items:
        skip = rng.random(n) < rng.uniform(0.0, 0.9)
        if item.kind == "choice":
            values = rng.choice(np.array(item.choice_ids, dtype=object), n).astype(object)
            values[skip] = None
        else:
            lo, hi = item.bounds
            if item.kind == "number":
                values = np.round(rng.uniform(lo, hi, n) * rng.choice([0.1, 1.0], n), 2)
            else:
                values = rng.integers(int(lo), int(hi) + 1, n).astype(float)
            values[skip] = np.nan
        columns[item.id] = values
    return pd.DataFrame(columns)


@pytest.mark.parametrize("which", ["champion", "boosting_champion"])
def test_tables_equal_full_model_on_10000_random_inputs(which, request, use_model):
    import rolefit

    result, path = request.getfixturevalue(which)
    frame = random_answers(10_000, seed=3)
    full = result.estimator.predict_proba(frame)[:, 1]
    use_model(path)
    fast = rolefit.predict_many(frame, top_k=0)["all_answers_p_mle"].to_numpy()
    assert np.max(np.abs(fast - full)) <= 1e-9
    # explanations included: per-person effects sum to the full model's log-odds
    full_log_odds = result.estimator.decision_function(frame)
    for i in range(0, 10_000, 97):
        answers = {k: v for k, v in frame.iloc[i].items() if v is not None and v == v}
        p = rolefit.predict(answers).all_answers
        total = p.baseline_log_odds + sum(e["effect"] for e in p.explanations)
        assert abs(total - full_log_odds[i]) <= 1e-9
        assert abs(p.probabilities["mle"] - full[i]) <= 1e-9


def test_the_fit_tables_equal_the_fit_model_without_its_uncertainty(champion):
    """The fit's lookup tables reproduce its calibrated scikit-learn model exactly (the uncertainty is
    applied on top of them: k = 1 with every width 0)."""
    from rolefit.model.fit import frame_probabilities
    from rolefit.model.uncertainty import relative_widths

    result, _ = champion
    fit = result.fit
    assert fit.max_table_error <= 1e-9
    frame = random_answers(10_000, seed=4)
    exact = fit.model.with_uncertainty(
        relative_widths(load_instrument(), list(fit.model.uncertainty), dict.fromkeys(fit.model.widths, 0.0))
    )
    full = fit.estimator.predict_proba(frame)[:, 1]
    assert np.max(np.abs(frame_probabilities(exact, frame) - full)) <= 1e-9
    # with the widths, every probability is pulled toward the start, never past it
    wide = frame_probabilities(fit.model, frame)
    assert np.all(np.abs(wide - 0.5) <= np.abs(full - 0.5) + 1e-12)


def test_boosting_champion_is_additive_and_monotone(boosting_champion):
    result, _ = boosting_champion
    assert result.candidate == "boosting"
    assert result.max_table_error <= 1e-9
    hgb = result.estimator.estimator.named_steps["model"]
    assert hgb.interaction_cst == "no_interactions"
    for item in load_instrument().items:
        table = result.additive.tables[item.id]
        if item.kind == "choice" or item.lean == "none":
            continue
        steps = np.diff(table.values)
        assert (steps >= -1e-12).all() if item.lean == "mle" else (steps <= 1e-12).all(), item.id
