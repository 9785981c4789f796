import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from rolefit.model.estimators import MonotoneLogisticRegression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 3))
    # feature 1 truly lowers the odds; feature 2 is noise correlated with feature 0
    X[:, 2] = X[:, 0] + rng.normal(scale=0.5, size=4000)
    logits = 1.5 * X[:, 0] - 1.0 * X[:, 1]
    y = (rng.random(4000) < 1 / (1 + np.exp(-logits))).astype(int)
    return X, y


def test_unconstrained_matches_scikit_learn(data):
    X, y = data
    mine = MonotoneLogisticRegression(alpha=1.0).fit(X, y)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(mine.coef_, ref.coef_.ravel(), atol=1e-4)
    np.testing.assert_allclose(mine.intercept_, ref.intercept_[0], atol=1e-4)


def test_sign_constraints_hold(data):
    X, y = data
    model = MonotoneLogisticRegression(alpha=1.0, monotonic_cst=[0, 1, -1]).fit(X, y)
    assert model.coef_[1] >= 0  # would be about -1 unconstrained
    assert model.coef_[2] <= 0
    assert model.converged_


def test_follows_scikit_learn_conventions(data):
    X, y = data
    model = MonotoneLogisticRegression(alpha=2.0)
    assert model.get_params() == {"alpha": 2.0, "monotonic_cst": None, "max_iter": 1000, "tol": 1e-8}
    assert not hasattr(model, "coef_")
    model.fit(X, y)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {0, 1}


def test_errors_name_the_cause(data):
    X, y = data
    with pytest.raises(ValueError, match="labels 0"):
        MonotoneLogisticRegression().fit(X, y + 1)
    with pytest.raises(ValueError, match="monotonic_cst has 2 entries"):
        MonotoneLogisticRegression(monotonic_cst=[1, 1]).fit(X, y)
