"""The candidate estimators, both *additive in log-odds* - one shape function per item, no interactions
- and monotone in each item's lean:

* ``logistic``: :class:`MonotoneLogisticRegression` on the centred step encoding
  (:class:`~rolefit.model.features.ThermometerEncoder`); monotonicity is a sign bound on every step
  coefficient, solved exactly with L-BFGS-B.
* ``boosting``: scikit-learn's ``HistGradientBoostingClassifier`` with
  ``interaction_cst="no_interactions"`` and ``monotonic_cst`` from the leans, on
  :class:`~rolefit.model.features.NumericEncoder` columns.

Their calibration is in :mod:`rolefit.model.calibration`.

Labels are integers throughout: 1 = ``mle``, 0 = ``swe``; column 1 of ``predict_proba`` is ``p_mle``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from rolefit.config import TrainParams
from rolefit.model.features import NumericEncoder, ThermometerEncoder

CANDIDATES = ("logistic", "boosting")


class MonotoneLogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-penalised binary logistic regression with a sign constraint per coefficient.

    Minimises ``sum_i w_i log(1 + exp(-s_i z_i)) + alpha / 2 * ||coef||^2`` (the intercept is not
    penalised) with L-BFGS-B, where ``monotonic_cst[j]`` = +1 bounds ``coef[j] >= 0``, -1 bounds it
    ``<= 0`` and 0 leaves it free.

    Parameters
    ----------
    alpha : float
        L2 penalty strength.
    monotonic_cst : sequence of {-1, 0, 1} or None
        One entry per feature; None means unconstrained.
    max_iter : int
        Iteration limit of the optimiser.
    tol : float
        Projected-gradient tolerance of the optimiser.
    """

    def __init__(self, alpha=1.0, monotonic_cst=None, max_iter=1000, tol=1e-8):
        self.alpha = alpha
        self.monotonic_cst = monotonic_cst
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit; ``offset`` (one log-odds per row, e.g. its source's own intercept) is added to every
        row's linear predictor and not learned."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_ = np.unique(y)
        if not np.array_equal(self.classes_, [0, 1]):
            raise ValueError(
                f"MonotoneLogisticRegression needs labels 0 (swe) and 1 (mle); got {self.classes_!r}."
            )
        n, d = X.shape
        cst = np.zeros(d, int) if self.monotonic_cst is None else np.asarray(self.monotonic_cst)
        if cst.shape != (d,):
            raise ValueError(f"monotonic_cst has {cst.shape[0]} entries but X has {d} features.")
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        target = y.astype(float)
        shift = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)

        def objective(theta):
            coef, intercept = theta[:-1], theta[-1]
            z = X @ coef + intercept + shift
            # log(1 + exp(z)) - y z, written stably
            loss = np.sum(w * (np.logaddexp(0.0, z) - target * z)) + 0.5 * self.alpha * coef @ coef
            residual = w * (expit(z) - target)
            grad = np.empty_like(theta)
            grad[:-1] = X.T @ residual + self.alpha * coef
            grad[-1] = residual.sum()
            return loss, grad

        bounds = [(0.0, None) if c > 0 else (None, 0.0) if c < 0 else (None, None) for c in cst]
        bounds.append((None, None))
        prior = np.clip(np.average(target, weights=w), 1e-6, 1 - 1e-6)
        start = np.zeros(d + 1)
        start[-1] = np.log(prior / (1 - prior))
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-12},
        )
        self.coef_ = result.x[:-1]
        self.intercept_ = float(result.x[-1])
        self.n_iter_ = int(result.nit)
        self.converged_ = bool(result.success)
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def make_candidate(name: str, params: TrainParams, items: tuple[str, ...] | None = None) -> Pipeline:
    """An unfitted candidate pipeline (encoder -> estimator) for ``name`` in :data:`CANDIDATES`, reading
    ``items`` (None: every item of the instrument)."""
    if name == "logistic":
        encoder = ThermometerEncoder(items=items)
        model = MonotoneLogisticRegression(
            alpha=params.logistic.alpha,
            monotonic_cst=[c.monotone for c in encoder.layout()],
            max_iter=params.logistic.max_iter,
        )
    elif name == "boosting":
        encoder = NumericEncoder(items=items)
        b = params.boosting
        model = HistGradientBoostingClassifier(
            learning_rate=b.learning_rate,
            max_iter=b.max_iter,
            max_leaf_nodes=b.max_leaf_nodes,
            min_samples_leaf=b.min_samples_leaf,
            l2_regularization=b.l2_regularization,
            early_stopping=b.early_stopping,
            monotonic_cst=[c.monotone for c in encoder.layout()],
            interaction_cst="no_interactions",
            random_state=params.seed,
        )
    else:
        raise ValueError(f"Unknown candidate {name!r}; choose one of {', '.join(CANDIDATES)}.")
    return Pipeline([("encode", encoder), ("model", model)])


def fit_candidate(pipeline: Pipeline, X, y, sample_weight=None) -> Pipeline:
    """Fit a candidate pipeline, passing sample weights to both steps.

    Items nobody answered in ``X`` are left out of the gradient-boosting encoder (its binning cannot
    handle an all-missing column); such items then have no effect, as for the linear model.
    """
    if isinstance(pipeline.named_steps["model"], HistGradientBoostingClassifier):
        encoder = pipeline.named_steps["encode"]
        answered = [c for c in X.columns if X[c].notna().any()]
        if set(answered) != set(encoder._instrument_items_ids()):
            encoder = NumericEncoder(items=tuple(i for i in encoder._instrument_items_ids() if i in answered))
            pipeline.set_params(encode=encoder, model__monotonic_cst=[c.monotone for c in encoder.layout()])
    return pipeline.fit(X, y, encode__sample_weight=sample_weight, model__sample_weight=sample_weight)
