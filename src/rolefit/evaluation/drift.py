"""New survey data against earlier profiles: population stability, label shift, missingness.

A profile holds per item the share of each answer level among those who answered, the share who skipped
it, and the MLE share. Two kinds are compared against: ``reference.json`` in a model bundle (the training
split of every source and of all sources together: ``rolefit drift``, ``rolefit monitor``) and the
committed earlier profile of every real source (``drift.profiles`` in params.yaml, all of a source's
rows, recorded by :func:`record`: the ``drift`` stage). :func:`compare` scores a new (ingested) survey
against one of them:

* population stability index per item, over answered rows:
  ``PSI = sum_k (new_k - ref_k) * ln(new_k / ref_k)`` (shares floored at 1e-4);
* label shift: the change in MLE share (when the new survey is labelled);
* missingness shift: the change in the share who skipped each item the new survey asked.

Alarms are raised above the ``drift`` thresholds in ``params.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit.data.distributions import profile

FLOOR = 1e-4


def psi(new: dict[str, float], ref: dict[str, float]) -> float:
    total = 0.0
    # in a fixed order: a set's order changes with each process's string hashing, and so would the
    # last digit of the sum (reports/drift.json is a DVC output)
    for level in sorted(set(new) | set(ref)):
        a, b = max(new.get(level, 0.0), FLOOR), max(ref.get(level, 0.0), FLOOR)
        total += (a - b) * math.log(a / b)
    return total


def compare(new: pd.DataFrame, ref: dict[str, Any], thresholds) -> dict[str, Any]:
    """Drift of ``new`` against one reference profile; ``alarms`` lists every threshold crossed."""
    current = profile(new)
    items: dict[str, Any] = {}
    alarms: list[str] = []
    for item_id, info in current["items"].items():
        base = ref["items"].get(item_id)
        if base is None:
            items[item_id] = {"note": "not in the training reference"}
            continue
        value = psi(info["shares"], base["shares"])
        missing_shift = info["missing"] - base["missing"]
        items[item_id] = {"psi": value, "missing_shift": missing_shift, "answered": info["answered"]}
        if value > thresholds.psi_alarm:
            alarms.append(f"{item_id}: PSI {value:.3f} > {thresholds.psi_alarm}")
        if abs(missing_shift) > thresholds.missingness_alarm:
            alarms.append(f"{item_id}: skipped share changed by {missing_shift:+.3f}")
    report: dict[str, Any] = {"n": current["n"], "items": items}
    if "mle_share" in current and "mle_share" in ref:
        shift = current["mle_share"] - ref["mle_share"]
        report["label_shift"] = {"new": current["mle_share"], "reference": ref["mle_share"], "shift": shift}
        if abs(shift) > thresholds.label_shift_alarm:
            alarms.append(
                f"MLE share changed by {shift:+.3f} ({ref['mle_share']:.3f} -> {current['mle_share']:.3f})"
            )
    finite = [v["psi"] for v in items.values() if "psi" in v]
    report["max_psi"] = max(finite) if finite else 0.0
    report["mean_psi"] = float(np.mean(finite)) if finite else 0.0
    report["alarms"] = alarms
    report["drifted"] = bool(alarms)
    return report


def pooled(profiles: list[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """Several profiles as one population: shares weighted by who answered, skips and MLE share by rows
    (rows of a source that never asked an item count as skipped)."""
    profiles = [p for p in profiles if p and p.get("n")]
    if not profiles:
        return None
    n = sum(p["n"] for p in profiles)
    items: dict[str, Any] = {}
    for item_id in sorted({k for p in profiles for k in p["items"]}):
        entries = [(p["n"], p["items"][item_id]) for p in profiles if item_id in p["items"]]
        answered = sum(e["answered"] for _, e in entries)
        if not answered:
            continue
        shares: dict[str, float] = {}
        for _, e in entries:
            for level, share in sorted(e["shares"].items()):
                shares[level] = shares.get(level, 0.0) + share * e["answered"] / answered
        skipped = sum(rows * e["missing"] for rows, e in entries) + (n - sum(rows for rows, _ in entries))
        items[item_id] = {
            "answered": answered,
            "missing": skipped / n,
            "shares": dict(sorted(shares.items())),
        }
    out: dict[str, Any] = {"n": n, "items": items}
    labelled = [p for p in profiles if "mle_share" in p]
    if labelled:
        out["mle_share"] = sum(p["n"] * p["mle_share"] for p in labelled) / sum(p["n"] for p in labelled)
    return out


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def record(frame: pd.DataFrame) -> dict[str, Any]:
    """The earlier profiles the drift stage compares with: every real source's rows (all splits, so the
    profile does not depend on the id key that assigns splits), overall and per role, rounded to 6
    decimals so the committed file changes only when the data does."""
    sources: dict[str, Any] = {}
    for source in sorted(frame["source"].astype(str).unique()):
        if source == "synthetic":
            continue
        rows = frame[frame["source"] == source]
        entry = profile(rows)
        if "role" in rows.columns:
            entry["roles"] = {
                str(role): profile(part)
                for role, part in sorted(rows.groupby("role"))
                if role in ("swe", "mle")
            }
        sources[source] = _rounded(entry)
    return {"schema": 1, "sources": sources}


def check_sources(
    frame: pd.DataFrame, references: Mapping[str, Any], thresholds, *, label: str
) -> dict[str, Any]:
    """Drift of every real source in ``frame``, each against its own earlier profile first.

    A source ``references`` has no profile for (a new survey) is compared with the other real sources'
    profiles pooled, never with synthetic respondents. ``label`` says where the references come from.
    Alarms are recorded, not raised: a drifted source may still be the right data to train on, but a
    reviewer must see it first. Values are rounded to 6 decimals (the report is a DVC output).
    """
    sources: dict[str, Any] = {}
    alarms: list[str] = []
    real = {k: v for k, v in references.items() if k not in ("synthetic", "all")}
    for source in sorted(frame["source"].astype(str).unique()):
        if source == "synthetic":
            continue
        if source in real:
            name, ref = source, real[source]
        else:
            name, ref = "+".join(sorted(real)), pooled([real[k] for k in sorted(real)])
            if ref is None:
                sources[source] = {"note": "no earlier profile of any real source to compare with"}
                continue
        report = compare(frame[frame["source"] == source], ref, thresholds)
        report["reference"] = name
        sources[source] = _rounded(report)
        alarms += [f"{source}: {alarm}" for alarm in report["alarms"]]
    return {"reference_from": label, "sources": sources, "alarms": alarms, "drifted": bool(alarms)}


def before_training(frame: pd.DataFrame, params, root: str | Path = ".") -> dict[str, Any]:
    """:func:`check_sources` against the committed earlier profiles (``drift.profiles``), or, when that
    file does not exist, against each source's rows in this build (then nothing can have moved)."""
    import json

    path = Path(root) / params.drift.profiles
    if path.is_file():
        references = json.loads(path.read_text())["sources"]
        label = f"the earlier profiles in {params.drift.profiles}"
    else:
        references = record(frame)["sources"]
        label = f"this build ({params.drift.profiles} does not exist: record it with rolefit drift --record)"
    return check_sources(frame, references, params.drift, label=label)
