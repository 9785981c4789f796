"""Metrics with intervals: bootstrap intervals, paired differences, calibration beyond chance."""

from __future__ import annotations

import numpy as np

from rolefit.model.metrics import expected_calibration_error, log_loss, roc_auc


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def shifted(p: np.ndarray, delta: float) -> np.ndarray:
    """Probabilities with their log-odds moved by ``delta``."""
    p = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + delta)))


def paired_differences(
    y, p_a, p_b, *, n_bins: int = 10, n_boot: int = 200, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Champion minus baseline on the same respondents, with paired bootstrap 95% intervals.

    For log loss and ECE a negative difference favours ``p_a``; for ROC AUC a positive one.
    """
    rng = np.random.default_rng(seed)
    y, p_a, p_b = np.asarray(y), np.asarray(p_a, float), np.asarray(p_b, float)
    metrics = {
        "log_loss": lambda yy, pp: log_loss(yy, pp),
        "ece": lambda yy, pp: expected_calibration_error(yy, pp, n_bins),
        "roc_auc": roc_auc,
    }
    out = {}
    for name, metric in metrics.items():
        observed = metric(y, p_a) - metric(y, p_b)
        draws = []
        for _ in range(n_boot if len(y) > 1 else 0):
            index = rng.integers(0, len(y), len(y))
            draws.append(metric(y[index], p_a[index]) - metric(y[index], p_b[index]))
        low, high = np.nanpercentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
        out[name] = {"difference": float(observed), "low": float(low), "high": float(high)}
    return out


def calibration_check(y, p, *, n_bins: int = 10, n_sim: int = 200, seed: int = 0) -> dict[str, float]:
    """How the observed ECE compares with the ECE a perfectly calibrated model would show by chance.

    ECE is biased upwards on small samples: even labels drawn from the predicted probabilities
    themselves give a positive ECE. Labels are drawn ``n_sim`` times from ``p`` and scored like the real
    ones. Returns the observed ``ece``, the median (``ece_if_calibrated``) and 95th percentile
    (``ece_if_calibrated_95``) of those draws, and ``p_value``: the share of draws with an ECE at least
    the observed one (small values mean miscalibration beyond chance).
    """
    rng = np.random.default_rng(seed)
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    observed = expected_calibration_error(y, p, n_bins)
    if len(y) == 0:
        nan = float("nan")
        return {"ece": nan, "ece_if_calibrated": nan, "ece_if_calibrated_95": nan, "p_value": nan}
    draws = np.array(
        [expected_calibration_error((rng.random(len(p)) < p).astype(float), p, n_bins) for _ in range(n_sim)]
    )
    return {
        "ece": observed,
        "ece_if_calibrated": float(np.median(draws)),
        "ece_if_calibrated_95": float(np.percentile(draws, 95)),
        "p_value": float((1 + np.sum(draws >= observed)) / (1 + n_sim)),
    }


def bootstrap_intervals(
    y, p, *, n_bins: int = 10, n_boot: int = 200, seed: int = 0
) -> dict[str, list[float]]:
    """Percentile 95% intervals of ROC AUC, log loss and ECE over ``n_boot`` resamples of respondents."""
    rng = np.random.default_rng(seed)
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    draws: dict[str, list[float]] = {"roc_auc": [], "log_loss": [], "ece": []}
    if len(y) < 2:
        return {k: [float("nan"), float("nan")] for k in draws}
    for _ in range(n_boot):
        index = rng.integers(0, len(y), len(y))
        yb, pb = y[index], p[index]
        draws["roc_auc"].append(roc_auc(yb, pb))
        draws["log_loss"].append(log_loss(yb, pb))
        draws["ece"].append(expected_calibration_error(yb, pb, n_bins))
    return {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] for k, v in draws.items()}
