"""New survey data against the training reference: population stability, label shift, missingness.

The reference (``reference.json`` in the model bundle) holds, for the training split of every source and
for all sources together: per item the share of each answer level among those who answered, the share
who skipped it, and the MLE share. :func:`compare` scores a new (ingested) survey against one of them:

* population stability index per item, over answered rows:
  ``PSI = sum_k (new_k - ref_k) * ln(new_k / ref_k)`` (shares floored at 1e-4);
* label shift: the change in MLE share (when the new survey is labelled);
* missingness shift: the change in the share who skipped each item the new survey asked.

Alarms are raised above the ``drift`` thresholds in ``params.yaml``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit.data.distributions import profile, reference
from rolefit.scoring.champion import resolve

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


def check_sources(
    frame: pd.DataFrame, references: dict[str, Any], thresholds, *, label: str, same_source: bool = True
) -> dict[str, Any]:
    """Drift of every real source in ``frame`` against the training references, before training on it.

    A source is compared with its own earlier training profile when ``references`` has one and
    ``same_source`` (a re-export of a survey), otherwise with ``all`` (everything the reference was
    trained on); references built from ``frame`` itself hold every source's own profile, so pass
    ``same_source=False`` then. ``label`` says
    which model or build the references come from. Alarms are recorded, not raised: a drifted source may
    still be the right data to train on, but a reviewer must see it first.
    """
    sources: dict[str, Any] = {}
    alarms: list[str] = []
    for source in sorted(frame["source"].unique()):
        if source == "synthetic":
            continue
        name = source if same_source and source in references else "all"
        report = compare(frame[frame["source"] == source], references[name], thresholds)
        report["reference"] = name
        sources[str(source)] = report
        alarms += [f"{source}: {alarm}" for alarm in report["alarms"]]
    return {"reference_from": label, "sources": sources, "alarms": alarms, "drifted": bool(alarms)}


def before_training(
    frame: pd.DataFrame, params, root: str | Path = ".", *, against_champion: bool = True
) -> dict[str, Any]:
    """:func:`check_sources` against what the champion in ``export.dir`` was trained on (its bundle's
    reference), or, with no champion yet or ``against_champion`` False, against this build's own
    training split.

    The DVC ``drift`` stage passes False: its report is a DVC output, and the champion folder is not
    one (it depends on the registry's history), so the report must not depend on it either."""
    import json

    champion = resolve(Path(root) / params.export.dir) / "reference.json"
    if against_champion and champion.is_file():
        references = json.loads(champion.read_text())
        return check_sources(frame, references, params.drift, label=f"the champion in {params.export.dir}")
    return check_sources(
        frame,
        reference(frame),
        params.drift,
        label="this build's training split (no champion yet)",
        same_source=False,
    )
