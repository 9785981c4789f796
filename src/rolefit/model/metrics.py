"""Metrics for probabilistic binary predictions (``p`` = probability of ``mle``, ``y`` = 1 for mle).

The proper scoring rules that training selects on and evaluation reports (:mod:`rolefit.evaluation.metrics`
adds intervals and checks).
"""

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
    predicted = p >= 0.5
    actual = y == 1
    out = {
        "n": float(len(y)),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p, n_bins),
        "roc_auc": roc_auc(y, p),
        "accuracy": float((predicted == actual).mean()) if len(y) else float("nan"),
        "mle_rate": float(y.mean()) if len(y) else float("nan"),
    }
    for role, positive, guess in (("mle", actual, predicted), ("swe", ~actual, ~predicted)):
        tp = float(np.sum(positive & guess))
        precision = tp / guess.sum() if guess.sum() else float("nan")
        recall = tp / positive.sum() if positive.sum() else float("nan")
        out[f"precision_{role}"] = precision
        out[f"recall_{role}"] = recall
        both = precision + recall
        out[f"f1_{role}"] = 2 * precision * recall / both if both and both == both else float("nan")
    recalls = [out["recall_mle"], out["recall_swe"]]
    out["balanced_accuracy"] = (
        float(np.nanmean(recalls)) if not all(r != r for r in recalls) else float("nan")
    )
    if p_true is not None:
        bayes = log_loss(y, p_true)
        out["bayes_log_loss"] = bayes
        out["log_loss_ratio_to_bayes"] = out["log_loss"] / bayes
    return out
