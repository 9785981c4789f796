"""Which metrics a training run shows in MLflow: the champion-facing summary, at most 60 of them.

A run page with hundreds of metrics hides the few a reviewer compares, so the parent run logs only the
names matched by :data:`SUMMARY` (per test source the four headline scores, prediction-set coverage, the
plain baseline beside each real source, the Bayes ratio, the selection score, row counts, fairness and
behaviour summaries: 46 names on the project's data) and writes every metric, shown or not, to the
artifacts ``metrics/training.json`` and ``metrics/evaluation.json``. The names are the README's ("Review
runs"). Each real source added for training or evaluation adds 12 names, so the summary stays within
:data:`MAX_SUMMARY` for up to three real sources.
"""

from __future__ import annotations

import re

#: The most metrics a parent run should show (the run page and the comparison view stay readable).
MAX_SUMMARY = 60

#: Full-match patterns of the summary's names; ``[^/]+`` is one source (``all``, ``synthetic``, a survey).
SUMMARY = (
    r"test/[^/]+/(roc_auc|log_loss|ece|brier)",  # every source of the test split, and all of it
    r"test/synthetic/log_loss_ratio_to_bayes",  # how far from the best possible on synthetic rows
    r"sets/test/[^/]+/coverage",  # prediction-set coverage at the conformal level
    r"test/[^/]+/own_base_rate/ece",  # a real source under its own base rate
    r"baseline/[^/]+/(log_loss|ece|roc_auc)",  # the plain baseline beside every real source
    r"vs_baseline/[^/]+/(log_loss|ece)",  # champion minus baseline (negative: the champion is better)
    r"validation/all/log_loss",
    r"selection/log_loss",  # the score the candidates were chosen by (their nested runs log the same)
    r"rows/[^/]+",  # rows per source
    r"max_table_error",
    r"drift/alarms",
    r"fairness/[^/]+/(demographic_parity_ratio|equalized_odds_difference)",
    r"behaviour/(cases|passed)",
)
_PATTERN = re.compile("|".join(f"(?:{p})" for p in SUMMARY))


def is_summary(name: str) -> bool:
    """Whether metric ``name`` is one the parent run shows."""
    return _PATTERN.fullmatch(name) is not None


def split(metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """``metrics`` as (the summary the run shows, the rest), each in name order."""
    shown = {k: metrics[k] for k in sorted(metrics) if is_summary(k)}
    rest = {k: metrics[k] for k in sorted(metrics) if not is_summary(k)}
    return shown, rest
