"""Calibration of a fitted candidate (:class:`CoverageCalibratedClassifier`).

It is fitted on a split the candidate never saw, with a map that is affine in log-odds for any given set
of answered items (``sigmoid``: Platt scaling; ``coverage``: Platt scaling whose slope for the interest,
skill and preference items grows as fewer of them are answered, so partial answer sets are calibrated
too, and with a slope of its own for the experience items and the career goal). Isotonic calibration is
deliberately not offered: it is not affine, so the calibrated log-odds would no longer be a sum of
per-item effects and explanations could not be exact.

Labels are integers throughout: 1 = ``mle``, 0 = ``swe``; column 1 of ``predict_proba`` is ``p_mle``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from rolefit.instrument.items import load_instrument
from rolefit.model.decompose import item_effect_tables
from rolefit.model.features import answered_mask, normalise_frame


def calibrate(
    pipeline: Pipeline,
    X,
    y,
    sample_weight=None,
    *,
    method: str = "coverage",
    real=None,
    base_log_odds: float | None = None,
    items: tuple[str, ...] | None = None,
) -> CoverageCalibratedClassifier:
    """Calibrate a fitted pipeline on data it was not fitted on (the pipeline is not refitted).

    ``real`` (a fitted :class:`rolefit.model.evidence.RealEvidenceBlock`) supplies the effects of the items
    real respondents answered, held fixed; ``base_log_odds`` holds the intercept; ``items`` are the items
    the model reads (None: every item of the instrument; the fit reads only its own).
    """
    return CoverageCalibratedClassifier(
        pipeline, method=method, real=real, base_log_odds=base_log_odds, items=items
    ).fit(X, y, sample_weight=sample_weight)


class CoverageCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """Calibration in log-odds that knows how much of the questionnaire was answered.

    With ``d(x)`` the wrapped additive pipeline's decision function and ``d_0`` its value when every
    item is skipped, the calibrated log-odds are

    ``B + s(c) * z_scaled(x) + A_fixed * z_fixed(x) + shift * c + shift_fixed * c_fixed + z_real(x)``,
    ``s(c) = A * (1 + kappa * (1 - c) ** gamma)``

    where ``z_real`` is the sum of the effects of the items real respondents answered, taken as they are
    from the fitted ``real`` block (:class:`rolefit.model.evidence.RealEvidenceBlock`; the wrapped pipeline's
    own effects for those items are not used), ``z_fixed`` sums the raw effects of the other items whose
    evidence stands on its own (experience and career goal, ``fixed_items_``, :func:`has_own_evidence`),
    and ``z_scaled`` those of all remaining items; ``c`` in [0, 1] is the *coverage*, the share of the
    scaled items the person answered (``coverage_weights_``), and ``c_fixed`` the share of the fixed
    items answered. Interests, skills and preferences are redundant readings of the same traits: when
    fewer of them are answered, each answered one must speak for the skipped ones, so their effects grow
    as ``c`` falls. Skipping some facts does not make the others say more, so fixed items get a constant
    slope. The shifts correct for an answered item's average effect not being exactly zero in the
    calibration data. With ``base_log_odds`` given, ``B`` is held at it, so an empty answer set gives
    exactly the reference population's base rate.

    Fitting is in two stages: ``A`` by Platt scaling on the nearly complete answer sets (``c >= 0.8``,
    what the candidate was fitted on), then everything else on all rows with ``A`` held.
    ``method="sigmoid"`` is plain Platt scaling (``kappa = 0``, ``A_fixed = A``, no shifts). Either way
    the map is affine in the raw effects for a given set of answered items, so per-item effects stay
    exactly additive and monotone (``A, A_fixed > 0``).

    Parameters
    ----------
    estimator : fitted Pipeline
        An additive candidate from :func:`make_candidate`; it is used as is, never refitted.
    method : {"sigmoid", "coverage"}
    real : fitted RealEvidenceBlock or None
        The effects learned from real respondents, held fixed (None: every item is calibrated here).
    base_log_odds : float or None
        Hold the intercept ``B`` at this value (None: fit it).
    items : tuple of str or None
        The items the model reads (None: every item of the instrument); coverage counts only these.
    """

    def __init__(self, estimator, method="coverage", real=None, base_log_odds=None, items=None):
        self.estimator = estimator
        self.method = method
        self.real = real
        self.base_log_odds = base_log_odds
        self.items = items

    def _real_effects(self, X) -> np.ndarray:
        if self.real is None:
            return np.zeros(len(X))
        return self.real.effects_sum(X)

    def _without(self, X, items):
        """``X`` with ``items`` skipped."""
        out = X.copy()
        for item in items:
            if item in out.columns:
                out[item] = None if out[item].dtype == object else np.nan
        return out

    def fit(self, X, y, sample_weight=None):
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(
                f"Unknown calibration method {self.method!r}; choose one of {', '.join(CALIBRATION_METHODS)}."
            )
        y = np.asarray(y)
        self.classes_ = np.array([0, 1])
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        instrument = load_instrument()
        self.items_ = tuple(i for i in instrument.ids if self.items is None or i in self.items)
        self.real_items_ = tuple(self.real.items) if self.real is not None else ()
        self.fixed_items_ = tuple(
            item
            for item in self.items_
            if has_own_evidence(instrument[item]) and item not in self.real_items_
        )
        fixed = np.array([item in self.fixed_items_ for item in self.items_])
        real = np.array([item in self.real_items_ for item in self.items_])
        scaled = ~fixed & ~real
        self.baseline_decision_, tables = item_effect_tables(self.estimator, instrument, self.items_)
        effects = np.zeros((len(y), len(self.items_)))
        answered = answered_mask(X, self.items_)
        clean = normalise_frame(X[[c for c in self.items_ if c in X.columns]])
        for j, item in enumerate(self.items_):
            if item not in clean.columns or real[j]:
                continue
            column = clean[item].tolist()
            effects[:, j] = [tables[item].effect(v) if answered[i, j] else 0.0 for i, v in enumerate(column)]
        # every interest, skill, preference and goal item counts the same: each is one more reading of
        # the traits (weighting by effect size made a few strong answers look like a full questionnaire)
        self.coverage_weights_ = scaled.astype(float) / max(1, int(scaled.sum()))
        z_scaled = effects[:, scaled].sum(axis=1)
        z_fixed = effects[:, fixed].sum(axis=1)
        z_real = self._real_effects(X)
        coverage = answered @ self.coverage_weights_
        self.fixed_weights_ = fixed.astype(float) / max(1, int(fixed.sum()))
        coverage_fixed = answered @ self.fixed_weights_
        target = y.astype(float)
        free = self.method == "coverage"

        # Stage 1: the slope of nearly complete answer sets, by Platt scaling on them alone (they are
        # what the candidate was fitted on). Stage 2: how effects grow as items are skipped, and the
        # experience items' own slope, on everything, with that slope held.
        nearly_complete = coverage >= 0.8
        if not free or nearly_complete.sum() < 50:
            nearly_complete = np.ones(len(target), bool)

        def platt(theta):
            t = theta[1] + np.exp(theta[0]) * (z_scaled + z_fixed) + z_real
            w = weights * nearly_complete
            return float(np.sum(w * (np.logaddexp(0.0, t) - target * t)))

        prior = np.clip(np.average(target, weights=weights), 1e-6, 1 - 1e-6)
        first = minimize(
            platt, np.array([0.0, np.log(prior / (1 - prior))]), method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
        )  # fmt: skip
        a = float(np.exp(first.x[0]))
        held = self.base_log_odds

        def objective(theta):
            b, log_kappa, log_gamma, log_a_fixed, shift, shift_fixed = theta
            if held is not None:
                b = held
            factor = 1 + np.exp(log_kappa) * (1 - np.minimum(coverage, 1.0)) ** np.exp(log_gamma)
            t = a * factor * z_scaled + np.exp(log_a_fixed) * z_fixed + z_real
            t = t + b + shift * coverage + shift_fixed * coverage_fixed
            return float(np.sum(weights * (np.logaddexp(0.0, t) - target * t)))

        def sigmoid_objective(theta):
            shift, shift_fixed = theta
            t = a * (z_scaled + z_fixed) + z_real + held + shift * coverage + shift_fixed * coverage_fixed
            return float(np.sum(weights * (np.logaddexp(0.0, t) - target * t)))

        self.a_ = a
        if free:
            start = np.array([first.x[1], np.log(0.5), 0.0, 0.0, 0.0, 0.0])
            result = minimize(
                objective, start, method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 12000},
            )  # fmt: skip
            b, log_kappa, log_gamma, log_a_fixed, shift, shift_fixed = result.x
            self.b_ = float(b if held is None else held)
            self.kappa_, self.gamma_ = float(np.exp(log_kappa)), float(np.exp(log_gamma))
            self.a_fixed_, self.shift_, self.shift_fixed_ = (
                float(np.exp(log_a_fixed)),
                float(shift),
                float(shift_fixed),
            )
        elif held is not None:
            # plain Platt scaling with the intercept held: the shifts take up what the intercept would
            result = minimize(sigmoid_objective, np.zeros(2), method="Nelder-Mead",
                              options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})  # fmt: skip
            self.b_, self.kappa_, self.gamma_ = float(held), 0.0, 1.0
            self.a_fixed_, self.shift_, self.shift_fixed_ = a, float(result.x[0]), float(result.x[1])
        else:
            self.b_, self.kappa_, self.gamma_ = float(first.x[1]), 0.0, 1.0
            self.a_fixed_, self.shift_, self.shift_fixed_ = a, 0.0, 0.0
        return self

    def scale(self, coverage):
        """The multiplier ``s(c)`` of the raw effects at coverage ``c``."""
        check_is_fitted(self, "a_")
        c = np.minimum(np.asarray(coverage, dtype=float), 1.0)
        return self.a_ * (1 + self.kappa_ * (1 - c) ** self.gamma_)

    def decision_function(self, X):
        check_is_fitted(self, "a_")
        # the wrapped candidate's raw effects without the items the real block speaks for, then of the
        # fixed items alone (the other items skipped)
        synthetic = self._without(X, self.real_items_)
        raw = np.asarray(self.estimator.decision_function(synthetic), dtype=float) - self.baseline_decision_
        only_fixed = self._without(synthetic, [i for i in self.items_ if i not in self.fixed_items_])
        z_fixed = (
            np.asarray(self.estimator.decision_function(only_fixed), dtype=float) - self.baseline_decision_
        )
        answered = answered_mask(X, self.items_)
        coverage = answered @ self.coverage_weights_
        shift = self.shift_ * coverage + self.shift_fixed_ * (answered @ self.fixed_weights_)
        return (
            self.b_
            + shift
            + self.scale(coverage) * (raw - z_fixed)
            + self.a_fixed_ * z_fixed
            + self._real_effects(X)
        )

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


CALIBRATION_METHODS = ("sigmoid", "coverage")


def has_own_evidence(item) -> bool:
    """Whether an item's evidence stands on its own rather than re-reading the traits.

    Experience answers (facts) and the career goal (an aim) say something about the role that the
    interest, skill and preference ratings do not; skipping some of those ratings does not make these
    items say more, so calibration gives them a constant slope instead of the coverage scale.
    """
    return item.part == "experience" or item.id == "career_goal"
