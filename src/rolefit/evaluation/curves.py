"""Curves and plots: reliability, ROC and precision-recall curves, confusion counts, PNG figures."""

from __future__ import annotations

from typing import Any

import numpy as np


def reliability_curve(y, p, n_bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin: mean predicted probability, observed MLE rate and count."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            rows.append({"bin": b, "predicted": float(p[mask].mean()), "observed": float(y[mask].mean()),
                         "count": int(mask.sum())})  # fmt: skip
    return rows


def curves(y, p) -> dict[str, list[dict[str, float]]]:
    """ROC and precision-recall points (thinned to at most ~200 each) for plots."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)

    def thin(xs, ys, xname, yname):
        step = max(1, len(xs) // 200)
        idx = sorted(set(range(0, len(xs), step)) | {len(xs) - 1})
        return [{xname: float(xs[i]), yname: float(ys[i])} for i in idx]

    return {
        "roc": thin(fpr, tpr, "fpr", "tpr"),
        "precision_recall": thin(recall, precision, "recall", "precision"),
    }


def confusion(y, p) -> list[dict[str, Any]]:
    """Actual vs predicted role pairs (one row per respondent) for DVC's confusion template."""
    actual = np.where(np.asarray(y) == 1, "mle", "swe")
    predicted = np.where(np.asarray(p) >= 0.5, "mle", "swe")
    return [{"actual": a, "predicted": b} for a, b in zip(actual, predicted, strict=True)]


def save_figures(y, p, importance: dict[str, float], out_dir, n_bins: int = 10) -> dict[str, Any]:
    """Reliability diagram, ROC, precision-recall, confusion matrix and global importance as PNG."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    reliability = reliability_curve(y, p, n_bins)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.plot([r["predicted"] for r in reliability], [r["observed"] for r in reliability], marker="o")
    ax.set(xlabel="predicted P(MLE)", ylabel="observed MLE share", title="Reliability (test split)")
    paths["reliability"] = out_dir / "reliability.png"
    fig.savefig(paths["reliability"], dpi=110, bbox_inches="tight")
    plt.close(fig)
    c = curves(y, p)
    axes = {"roc": ("fpr", "tpr", "ROC"), "precision_recall": ("recall", "precision", "Precision-recall")}
    for key, (xname, yname, title) in axes.items():
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([r[xname] for r in c[key]], [r[yname] for r in c[key]])
        ax.set(xlabel=xname, ylabel=yname, title=f"{title} (test split)")
        paths[key] = out_dir / f"{key}.png"
        fig.savefig(paths[key], dpi=110, bbox_inches="tight")
        plt.close(fig)
    actual = np.asarray(y) == 1
    predicted = np.asarray(p) >= 0.5
    matrix = np.array([[np.sum(~actual & ~predicted), np.sum(~actual & predicted)],
                       [np.sum(actual & ~predicted), np.sum(actual & predicted)]])  # fmt: skip
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["swe", "mle"], yticklabels=["swe", "mle"],
           xlabel="predicted", ylabel="actual", title="Confusion matrix (test split)")  # fmt: skip
    paths["confusion_matrix"] = out_dir / "confusion_matrix.png"
    fig.savefig(paths["confusion_matrix"], dpi=110, bbox_inches="tight")
    plt.close(fig)
    top = sorted(importance.items(), key=lambda kv: kv[1])[-20:]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh([k for k, _ in top], [v for _, v in top])
    ax.set(xlabel="mean |effect| (log-odds)", title="Global importance (test split)")
    paths["importance"] = out_dir / "importance.png"
    fig.savefig(paths["importance"], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths
