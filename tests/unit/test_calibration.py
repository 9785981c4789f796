"""The coverage calibration stays finite and bounded, even on perfectly separable calibration rows."""

import numpy as np
import pytest

from rolefit.config import load_params
from rolefit.data.dataset import synthetic_frame
from rolefit.instrument.items import load_instrument
from rolefit.model import calibration
from rolefit.model.calibration import calibrate
from rolefit.model.estimators import make_candidate

from ..conftest import ROOT


@pytest.fixture(scope="module")
def fitted():
    """A logistic candidate fitted on 4,000 synthetic people, and 4,000 more to calibrate on."""
    params = load_params(ROOT / "params.yaml")
    params = params.model_copy(
        update={"synthesize": params.synthesize.model_copy(update={"n_respondents": 8000})}
    )
    frame = synthetic_frame(params, ROOT)
    X = frame[list(load_instrument().ids)]
    y = (frame["role"] == "mle").to_numpy().astype(int)
    candidate = make_candidate("logistic", params.train).fit(X.iloc[:4000], y[:4000])
    return candidate, X.iloc[4000:], y[4000:]


@pytest.mark.parametrize("method", ["coverage", "sigmoid"])
def test_separable_rows_give_bounded_finite_parameters(fitted, method):
    """Labels that the candidate's own score separates perfectly make the likelihood improve without
    end as the slope grows; the fitted slope stops at its bound and every probability stays finite."""
    candidate, X, _ = fitted
    score = candidate.decision_function(X)
    y = (score > np.median(score)).astype(int)
    model = calibrate(candidate, X, y, method=method)
    low, high = calibration.LOG_SLOPE_BOUNDS
    for value in (model.a_, model.a_fixed_):
        assert np.isfinite(value) and np.exp(low) - 1e-12 <= value <= np.exp(high) + 1e-9
    assert np.isfinite([model.b_, model.kappa_, model.gamma_, model.shift_, model.shift_fixed_]).all()
    p = model.predict_proba(X)[:, 1]
    assert np.isfinite(p).all()
    assert ((p > 0.5) == y.astype(bool)).mean() > 0.99  # it still separates them


def test_ordinary_rows_stay_inside_the_bounds(fitted):
    """On ordinary data no bound is reached, so the bounds change nothing there."""
    candidate, X, y = fitted
    model = calibrate(candidate, X, y, method="coverage")
    inside = [
        (np.log(model.a_), calibration.LOG_SLOPE_BOUNDS),
        (np.log(model.a_fixed_), calibration.LOG_SLOPE_BOUNDS),
        (np.log(model.kappa_), calibration.LOG_KAPPA_BOUNDS),
        (np.log(model.gamma_), calibration.LOG_GAMMA_BOUNDS),
        (model.b_, calibration.SHIFT_BOUNDS),
        (model.shift_, calibration.SHIFT_BOUNDS),
        (model.shift_fixed_, calibration.SHIFT_BOUNDS),
    ]
    for value, (low, high) in inside:
        assert low + 1 < value < high - 1, (value, low, high)
