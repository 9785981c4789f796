"""Metrics for probabilistic binary predictions (``p`` = probability of ``mle``, ``y`` = 1 for mle)."""

from __future__ import annotations

import numpy as np


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)


def log_loss(y, p, sample_weight=None) -> float:
    """Mean negative log-likelihood in nats."""
    y, p = np.asarray(y, dtype=float), _clip(p)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.average(losses, weights=sample_weight))


def brier(y, p, sample_weight=None) -> float:
    return float(np.average((np.asarray(p, float) - np.asarray(y, float)) ** 2, weights=sample_weight))


def expected_calibration_error(y, p, n_bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of (bin share) * |mean p - observed rate|."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def roc_auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def summary(y, p, *, n_bins: int = 10, p_true=None) -> dict[str, float]:
    """The headline metrics; with ``p_true`` also the oracle (Bayes) log loss and the ratio to it."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    out = {
        "n": float(len(y)),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p, n_bins),
        "roc_auc": roc_auc(y, p),
        "accuracy": float(((p >= 0.5) == (y == 1)).mean()) if len(y) else float("nan"),
        "mle_rate": float(y.mean()) if len(y) else float("nan"),
    }
    if p_true is not None:
        bayes = log_loss(y, p_true)
        out["bayes_log_loss"] = bayes
        out["log_loss_ratio_to_bayes"] = out["log_loss"] / bayes
    return out
