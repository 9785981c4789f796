"""Answer-level distributions of a frame of respondents: the reference stored in every model bundle.

For the training split of every source and for all sources together: per item the share of each answer
level among those who answered, the share who skipped it, and the MLE share
(:mod:`rolefit.evaluation.drift` compares new surveys against it).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rolefit.instrument.items import Item, load_instrument

COUNT_EDGES = (
    (0, 1, "0"),
    (1, 2, "1"),
    (2, 3, "2"),
    (3, 4, "3"),
    (4, 6, "4-5"),
    (6, 10, "6-9"),
    (10, 21, "10+"),
)
YEARS_BANDS = (
    (0, 1, "<1"),
    (1, 3, "1-3"),
    (3, 5, "3-5"),
    (5, 10, "5-10"),
    (10, 20, "10-20"),
    (20, 51, "20+"),
)


def levels(item: Item, values: pd.Series) -> pd.Series:
    """Answers mapped to the discrete levels PSI is computed over (None for skipped)."""
    if item.kind == "choice":
        return values.astype(object).where(values.notna(), None)
    numbers = pd.to_numeric(values, errors="coerce")
    if item.kind in ("scale", "binary"):
        return numbers.map(lambda v: None if pd.isna(v) else f"{v:g}")
    edges = COUNT_EDGES if item.kind == "count" else YEARS_BANDS
    return numbers.map(lambda v: None if pd.isna(v) else next(lab for lo, hi, lab in edges if lo <= v < hi))


def profile(frame: pd.DataFrame) -> dict[str, Any]:
    """Answer-level shares, skip shares and MLE share of a frame of respondents."""
    instrument = load_instrument()
    items: dict[str, Any] = {}
    for item in instrument.items:
        if item.id not in frame.columns:
            continue
        mapped = levels(item, frame[item.id])
        answered = mapped.dropna()
        if answered.empty:
            continue
        items[item.id] = {
            "missing": float(mapped.isna().mean()),
            "shares": {
                str(k): float(v) for k, v in answered.value_counts(normalize=True).sort_index().items()
            },
            "answered": len(answered),
        }
    out: dict[str, Any] = {"n": len(frame), "items": items}
    if "role" in frame.columns and frame["role"].notna().any():
        out["mle_share"] = float((frame["role"].dropna() == "mle").mean())
    return out


def reference(frame: pd.DataFrame) -> dict[str, Any]:
    """The reference profiles of the training split: one per source and ``all``."""
    train = frame[frame["split"] == "train"] if "split" in frame.columns else frame
    out = {"all": profile(train)}
    for source, rows in train.groupby("source"):
        out[str(source)] = profile(rows)
    return out
