"""A population's own calibration of the all-answers model: a new intercept, and a slope only when shown.

A caller with labelled respondents of its own (a career centre's alumni, a company's engineers) can move
the all-answers model's log-odds ``x`` to its population:

    new log-odds = shift + slope * x        (slope 1 unless the slope rule below fits one)

**An intercept moves the starting point only**: every reason keeps its size, and only the share of ML
engineers the model starts from changes (as ``base_rate`` does, but measured on the caller's people). **A
slope rescales every reason**: each answer's effect is multiplied by it, so it is fitted only when the
sample is large enough to show one.

The slope rule (``slope="auto"``, the default): a slope is fitted only when the fitting part of the
sample holds at least :data:`MIN_PER_ROLE_FOR_SLOPE` respondents of each role **and** a likelihood-ratio
test of intercept-and-slope against intercept-only is significant at :data:`SLOPE_ALPHA` (chi-squared,
one degree of freedom). ``"never"`` fits the intercept alone; ``"always"`` fits both whatever the test
says (the reason is stated as the caller's choice). Every fit says which was fitted and why
(:attr:`Recalibration.why`).

Both are (weighted) maximum-likelihood fits of a logistic regression of the labels on ``x`` with ``x``'s
coefficient fixed at 1 (intercept only) or free, by Newton's method. A sample is split once, stratified
by role and seeded (:func:`holdout_split`): the fit uses one part, the before/after report the other.

Pure: numpy (and scipy for the chi-squared tail) on arrays of labels and log-odds; nothing here reads a
file or a bundle. :func:`recalibrated_additive` and :func:`recalibrated_conformal` apply a fit to the
lookup tables and the prediction-set thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rolefit.errors import RolefitError
from rolefit.model.conformal import Conformal
from rolefit.model.tables import AdditiveModel

SLOPE_CHOICES = ("never", "auto", "always")
#: Respondents of each role the fitting part needs before ``auto`` considers a slope.
MIN_PER_ROLE_FOR_SLOPE = 50
#: Significance level of the likelihood-ratio test for the slope.
SLOPE_ALPHA = 0.05
#: Respondents of each role the fitting part needs for any fit (an intercept from fewer is mostly noise,
#: and with none of a role it runs off to infinity).
MIN_PER_ROLE_TO_FIT = 10
#: Respondents of each role the held-out part needs for a before/after report worth reading.
MIN_PER_ROLE_HELD_OUT = 5


class RecalibrationError(RolefitError, ValueError):
    """The labelled sample cannot be recalibrated on (too few respondents, one role, bad values)."""


@dataclass(frozen=True)
class Recalibration:
    """A fitted ``shift + slope * x``, what was fitted and why, and the evidence behind it.

    ``shift_interval`` is a 95% Wald interval of ``shift`` (intercept-only fits; None with a slope, whose
    intercept and slope are correlated). ``lr_statistic`` / ``lr_p_value`` are the likelihood-ratio test
    of a slope (None when it was not run: too few respondents, or ``slope="never"``). ``fitted`` is
    ``"intercept"`` or ``"intercept and slope"``; ``why`` says why in words.
    """

    shift: float
    slope: float
    fitted: str
    why: str
    rule: str
    n_fit: dict[str, int]
    shift_interval: tuple[float, float] | None = None
    lr_statistic: float | None = None
    lr_p_value: float | None = None
    intercept_only_shift: float | None = None

    def apply(self, log_odds) -> np.ndarray:
        """The recalibrated log-odds of parent log-odds ``log_odds``."""
        return self.shift + self.slope * np.asarray(log_odds, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shift": self.shift,
            "slope": self.slope,
            "fitted": self.fitted,
            "why": self.why,
            "rule": self.rule,
            "min_per_role_for_slope": MIN_PER_ROLE_FOR_SLOPE,
            "slope_alpha": SLOPE_ALPHA,
            "n_fit": dict(self.n_fit),
            "shift_interval": None if self.shift_interval is None else list(self.shift_interval),
            "lr_statistic": self.lr_statistic,
            "lr_p_value": self.lr_p_value,
            "intercept_only_shift": self.intercept_only_shift,
        }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def _log_likelihood(y: np.ndarray, z: np.ndarray, w: np.ndarray) -> float:
    # log sigmoid(z) = -log(1 + e^-z), computed stably
    return float(np.sum(w * (y * -np.logaddexp(0.0, -z) + (1.0 - y) * -np.logaddexp(0.0, z))))


def _fit_shift(y, x, w) -> tuple[float, float]:
    """The maximum-likelihood ``shift`` of ``sigmoid(shift + x)`` and its standard error."""
    shift = 0.0
    for _ in range(100):
        p = _sigmoid(x + shift)
        gradient = float(np.sum(w * (y - p)))
        information = float(np.sum(w * p * (1.0 - p)))
        step = gradient / information
        shift += step
        if abs(step) < 1e-12:
            break
    information = float(np.sum(w * _sigmoid(x + shift) * (1.0 - _sigmoid(x + shift))))
    return shift, 1.0 / math.sqrt(information)


def _fit_line(y, x, w, start: float) -> tuple[float, float]:
    """The maximum-likelihood ``(shift, slope)`` of ``sigmoid(shift + slope * x)`` (Newton / IRLS)."""
    beta = np.array([start, 1.0])
    design = np.column_stack([np.ones_like(x), x])
    for _ in range(100):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (w * (y - p))
        hessian = (design * (w * p * (1.0 - p))[:, None]).T @ design
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-12:
            break
    return float(beta[0]), float(beta[1])


def _check(y, x, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    if not len(y) == len(x) == len(w):
        raise RecalibrationError(
            f"Labels, log-odds and weights differ in length ({len(y)}, {len(x)}, {len(w)})."
        )
    problems = []
    if not np.isin(y, (0.0, 1.0)).all():
        problems.append("labels must be 0 (swe) or 1 (mle)")
    if not np.isfinite(x).all():
        problems.append(f"{int((~np.isfinite(x)).sum())} log-odds are not finite numbers")
    if not (np.isfinite(w).all() and (w > 0).all()):
        problems.append("weights must be finite and greater than 0")
    if problems:
        raise RecalibrationError("Cannot recalibrate: " + "; ".join(problems) + ".")
    return y, x, w


def role_counts(y) -> dict[str, int]:
    y = np.asarray(y)
    return {"swe": int((y == 0).sum()), "mle": int((y == 1).sum())}


def fit_recalibration(y, log_odds, *, weights=None, slope: str = "auto") -> Recalibration:
    """Fit the population's intercept (and a slope per the rule in the module docstring).

    ``y``: 1 for mle, 0 for swe; ``log_odds``: the parent all-answers model's log-odds of the same
    respondents; ``weights``: optional respondent weights (default 1 each). Raises
    :class:`RecalibrationError` naming the cause for bad values or fewer than :data:`MIN_PER_ROLE_TO_FIT`
    respondents of a role.
    """
    if slope not in SLOPE_CHOICES:
        raise RecalibrationError(f"slope must be one of {', '.join(SLOPE_CHOICES)}; got {slope!r}.")
    y, x, w = _check(y, log_odds, weights)
    counts = role_counts(y)
    short = [f"{n} {role}" for role, n in counts.items() if n < MIN_PER_ROLE_TO_FIT]
    if short:
        raise RecalibrationError(
            f"The fitting part of the sample has {' and '.join(short)} respondents; a recalibration needs "
            f"at least {MIN_PER_ROLE_TO_FIT} of each role (swe and mle). Add labelled respondents, or "
            "lower --holdout."
        )
    shift, se = _fit_shift(y, x, w)
    interval = (shift - 1.959964 * se, shift + 1.959964 * se)
    only = Recalibration(shift=shift, slope=1.0, fitted="intercept", why="", rule=slope, n_fit=counts,
                         shift_interval=interval, intercept_only_shift=shift)  # fmt: skip
    if slope == "never":
        return replace(only, why="an intercept only, as asked (--slope never)")
    enough = min(counts.values()) >= MIN_PER_ROLE_FOR_SLOPE
    if slope == "auto" and not enough:
        return replace(
            only,
            why=(
                f"an intercept only: a slope needs at least {MIN_PER_ROLE_FOR_SLOPE} respondents of each "
                f"role in the fitting part, and it has {counts['swe']:,} software engineers and "
                f"{counts['mle']:,} ML engineers"
            ),
        )
    a, b = _fit_line(y, x, w, shift)
    statistic = max(0.0, 2.0 * (_log_likelihood(y, a + b * x, w) - _log_likelihood(y, shift + x, w)))
    from scipy.stats import chi2

    p_value = float(chi2.sf(statistic, 1))
    tested = replace(only, lr_statistic=statistic, lr_p_value=p_value)
    if slope == "auto" and p_value >= SLOPE_ALPHA:
        return replace(
            tested,
            why=(
                f"an intercept only: a slope did not fit the sample better than chance "
                f"(likelihood-ratio test p = {p_value:.2f}; a slope needs p < {SLOPE_ALPHA})"
            ),
        )
    if b <= 0:
        raise RecalibrationError(
            f"The fitted slope is {b:.3f}: in this sample the model's ranking of people runs the wrong way "
            "or not at all, so rescaling its reasons cannot fix it. Check the role labels, or use "
            "--slope never."
        )
    if slope == "always":
        why = f"an intercept and a slope, as asked (--slope always; likelihood-ratio test p = {p_value:.3g})"
    else:
        why = (
            f"an intercept and a slope: the fitting part has at least {MIN_PER_ROLE_FOR_SLOPE} respondents "
            f"of each role and a slope fits it better (likelihood-ratio test p = {p_value:.3g} < "
            f"{SLOPE_ALPHA})"
        )
    return replace(tested, shift=a, slope=b, fitted="intercept and slope", why=why, shift_interval=None)


def holdout_split(y, fraction: float, seed: int) -> np.ndarray:
    """A boolean mask of the held-out rows: ``fraction`` of each role (rounded), chosen with ``seed``.

    Raises :class:`RecalibrationError` when ``fraction`` is not in (0, 1) or a part would be too small
    (:data:`MIN_PER_ROLE_HELD_OUT` of each role held out, :data:`MIN_PER_ROLE_TO_FIT` left to fit).
    """
    if not 0.0 < fraction < 1.0:
        raise RecalibrationError(
            f"The held-out fraction must be between 0 and 1 (exclusive); got {fraction}."
        )
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    problems = []
    for label, role in ((0, "swe"), (1, "mle")):
        rows = np.flatnonzero(y == label)
        k = round(fraction * len(rows))
        if k < MIN_PER_ROLE_HELD_OUT or len(rows) - k < MIN_PER_ROLE_TO_FIT:
            problems.append(f"{len(rows)} {role}")
        held[rng.permutation(rows)[:k]] = True
    if problems:
        least = math.ceil(max(MIN_PER_ROLE_HELD_OUT / fraction, MIN_PER_ROLE_TO_FIT / (1 - fraction)))
        raise RecalibrationError(
            f"The sample has {' and '.join(problems)} respondents: with {fraction:.0%} held out, each role "
            f"needs about {least} (at least {MIN_PER_ROLE_TO_FIT} to fit and {MIN_PER_ROLE_HELD_OUT} held "
            "out to check the result)."
        )
    return held


def _moved(value: float, fit: Recalibration) -> float:
    return fit.shift + fit.slope * value


def recalibrated_additive(additive: AdditiveModel, fit: Recalibration) -> AdditiveModel:
    """The lookup tables with ``fit`` applied: every answer set's log-odds ``x`` become ``shift + slope *
    x`` exactly.

    The intercept becomes ``shift + slope * intercept`` and the reference population's base rate moves
    with it; with a slope, every effect is multiplied by it (each table, answered-alone table and offset:
    the coverage scale and the blend are linear in them). The conformal thresholds follow
    (:func:`recalibrated_conformal`).
    """
    base_rate = additive.base_rate
    if base_rate is not None:
        base_rate = 1.0 / (1.0 + math.exp(-_moved(math.log(base_rate / (1.0 - base_rate)), fit)))
    changes: dict[str, Any] = {
        "intercept": _moved(additive.intercept, fit),
        "base_rate": base_rate,
        "conformal": None if additive.conformal is None else recalibrated_conformal(additive.conformal, fit),
    }
    if fit.slope != 1.0:
        changes["tables"] = {item: t.scaled(fit.slope) for item, t in additive.tables.items()}
        changes["alone"] = {item: t.scaled(fit.slope) for item, t in additive.alone.items()}
        changes["offsets"] = {item: fit.slope * v for item, v in additive.offsets.items()}
    return replace(additive, **changes)


def _moved_probability(p: float, fit: Recalibration) -> float:
    if p <= 0.0 or p >= 1.0:
        return p
    return 1.0 / (1.0 + math.exp(-_moved(math.log(p / (1.0 - p)), fit)))


def recalibrated_conformal(conformal: Conformal, fit: Recalibration) -> Conformal:
    """The prediction-set thresholds moved with the probabilities, so that every person's set is the one
    the parent gave.

    Why keep the sets: they are class-conditional (per role), and a role's members are covered at the
    level whatever the population's mix of roles, which is what an intercept corrects; the thresholds
    therefore still hold after the shift, expressed on the new probabilities. ``swe`` is in a set when
    ``p_mle <= q_swe`` and ``mle`` when ``p_mle >= 1 - q_mle``: both bounds move through the same
    increasing map as every probability. (Bundles of prediction-set rule 1 keep their
    ``min_probability`` floor as it was.)
    """

    def swe(q: float) -> float:
        return _moved_probability(q, fit)

    def mle(q: float) -> float:
        return 1.0 - _moved_probability(1.0 - q, fit)

    return replace(
        conformal,
        q_swe=swe(conformal.q_swe),
        q_mle=mle(conformal.q_mle),
        bands=tuple((most, swe(q_s), mle(q_m)) for most, q_s, q_m in conformal.bands),
    )
