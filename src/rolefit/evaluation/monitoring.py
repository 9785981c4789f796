"""Monitoring: new responses against the champion's training population, and whether to retrain.

:func:`monitor` takes new rows (labelled or not, with a ``source`` column) and the champion's bundle
contents (``reference.json``, the manifest's test figures, its scores of the new rows) and returns, per
source:

* **drift against the source's own earlier profile first** (the source's rows in the champion's training
  data, ``reference.json[source]``): per item the population stability index with a 95% bootstrap
  interval, the direction and size of the move, the change in skipped answers and, when labelled, the
  change in the MLE share. Only this comparison raises alarms: it says the *same* population moved;
* **against the champion's training population** (its real training sources pooled, per role when the
  rows are labelled and the bundle holds per-role profiles): the same per-item numbers, as context. A
  source the model was not trained on may differ a lot and still be scored well;
* **performance on labelled rows**: log loss, ECE and ROC AUC with bootstrap intervals, beside the
  champion's own test figures for that source (its manifest), worse only when the interval clears the
  gate's tolerance;
* a **recommendation** (``retrain``, ``no_retrain`` or ``label_first``) with its reasons in words.

PSI intervals come from a parametric bootstrap: both sides' answer counts are redrawn from their shares
(multinomial), so an item answered by few people gets a wide interval. An item *drifts* when its PSI's
lower 95% bound exceeds ``drift.psi_alarm``; sampling noise alone (a fresh sample of the same people)
keeps PSI near 0.01 and its interval well below the alarm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rolefit.data.distributions import COUNT_ANSWERS, YEARS_ANSWERS, profile
from rolefit.evaluation.drift import pooled
from rolefit.instrument.items import Item, load_instrument

FLOOR = 1e-4
#: Items named per comparison in the report (the largest PSI first).
TOP_ITEMS = 5
RECOMMENDATIONS = ("retrain", "no_retrain", "label_first")


def psi_of(new: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """PSI of share vectors (last axis: levels), shares floored at :data:`FLOOR` as in ``drift.psi``."""
    a, b = np.maximum(new, FLOOR), np.maximum(ref, FLOOR)
    return np.sum((a - b) * np.log(a / b), axis=-1)


def level_value(item: Item, level: str) -> float | None:
    """The number an answer level stands for (None for choices): the scale point, 0/1, or the band's
    representative count or years."""
    if item.kind in ("scale", "binary"):
        return float(level)
    if item.kind == "count":
        return COUNT_ANSWERS.get(level)
    if item.kind == "number":
        return YEARS_ANSWERS.get(level)
    return None


def _mean(item: Item, shares: Mapping[str, float]) -> float | None:
    values = [(level_value(item, k), v) for k, v in shares.items()]
    if not values or any(x is None for x, _ in values):
        return None
    total = sum(v for _, v in values)
    return sum(x * v for x, v in values) / total if total else None


def direction(item: Item, new: Mapping[str, float], ref: Mapping[str, float]) -> dict[str, Any]:
    """How the answers moved: for ordered items the mean answer before and after (and which role's way,
    from the item's lean); for choices the answers that gained and lost the most share."""
    out: dict[str, Any] = {}
    before, after = _mean(item, ref), _mean(item, new)
    if before is not None and after is not None:
        shift = after - before
        out.update(mean_before=round(before, 4), mean_after=round(after, 4), mean_shift=round(shift, 4))
        if item.lean in ("swe", "mle") and abs(shift) > 1e-9:
            up = item.lean if shift > 0 else ("mle" if item.lean == "swe" else "swe")
            out["towards"] = up
    keys = sorted(set(new) | set(ref))
    moves = sorted(((new.get(k, 0.0) - ref.get(k, 0.0), k) for k in keys), key=lambda t: (t[0], t[1]))
    if moves:
        out["gained"] = {"level": moves[-1][1], "share_change": round(moves[-1][0], 4)}
        out["lost"] = {"level": moves[0][1], "share_change": round(moves[0][0], 4)}
    return out


def item_shift(
    item: Item, new: Mapping[str, Any], ref: Mapping[str, Any], *, n_boot: int, rng: np.random.Generator
) -> dict[str, Any]:
    """PSI (with a parametric-bootstrap 95% interval), direction and skip change of one item."""
    keys = sorted(set(new["shares"]) | set(ref["shares"]))
    a = np.array([new["shares"].get(k, 0.0) for k in keys])
    b = np.array([ref["shares"].get(k, 0.0) for k in keys])
    value = float(psi_of(a, b))
    n_new, n_ref = int(new["answered"]), int(ref["answered"])
    if n_boot and n_new and n_ref:
        draws_a = rng.multinomial(n_new, a / a.sum(), size=n_boot) / n_new
        draws_b = rng.multinomial(n_ref, b / b.sum(), size=n_boot) / n_ref
        low, high = np.percentile(psi_of(draws_a, draws_b), [2.5, 97.5])
    else:
        low = high = float("nan")
    out = {
        "psi": round(value, 6),
        "psi_interval": [round(float(low), 6), round(float(high), 6)],
        "answered": n_new,
        "reference_answered": n_ref,
        "missing_shift": round(float(new["missing"]) - float(ref.get("missing", 0.0)), 6),
    }
    out.update(direction(item, new["shares"], ref["shares"]))
    return out


def compare_profiles(
    new: Mapping[str, Any], ref: Mapping[str, Any], *, n_boot: int, seed: int
) -> dict[str, Any]:
    """Every item both profiles hold, largest PSI first, plus the change in the MLE share."""
    instrument = load_instrument()
    rng = np.random.default_rng(seed)
    items = {}
    for item in instrument.items:  # instrument order, so the random draws are the same run to run
        if item.id in new["items"] and item.id in ref.get("items", {}):
            items[item.id] = item_shift(
                item, new["items"][item.id], ref["items"][item.id], n_boot=n_boot, rng=rng
            )
    ranked = sorted(items, key=lambda k: (-items[k]["psi"], k))
    out: dict[str, Any] = {
        "n": new["n"],
        "reference_n": ref.get("n"),
        "items": {k: items[k] for k in ranked},
        "ranking": ranked,  # largest PSI first (JSON written with sorted keys loses the items' order)
        "not_in_reference": sorted(set(new["items"]) - set(ref.get("items", {}))),
    }
    if "mle_share" in new and "mle_share" in ref:
        out["label_shift"] = {
            "new": round(new["mle_share"], 6),
            "reference": round(ref["mle_share"], 6),
            "shift": round(new["mle_share"] - ref["mle_share"], 6),
        }
    return out


def training_sources(manifest: Mapping[str, Any], reference: Mapping[str, Any]) -> list[str]:
    """The real sources the champion learned from: ``role: train`` with a weight above 0, in its params."""
    params = manifest.get("params") or {}
    sources = (params.get("ingest") or {}).get("sources") or {}
    weights = (params.get("build") or {}).get("source_weights") or {}
    out = [
        name
        for name, spec in sorted(sources.items())
        if isinstance(spec, Mapping) and spec.get("role", "train") == "train" and weights.get(name, 1.0) > 0
    ]
    return [name for name in out if name in reference]


def champion_figures(
    manifest: Mapping[str, Any], source: str, trained_on: list[str]
) -> tuple[str, dict] | None:
    """The champion's own test figures for ``source`` (its manifest), else for its largest real training
    source; None when the manifest has neither."""
    metrics = manifest.get("metrics") or {}
    if f"test/{source}" in metrics:
        return source, metrics[f"test/{source}"]
    known = [(metrics[f"test/{s}"].get("n", 0), s) for s in trained_on if f"test/{s}" in metrics]
    if not known:
        return None
    name = max(known)[1]
    return name, metrics[f"test/{name}"]


def performance(
    y: np.ndarray,
    p: np.ndarray,
    figures: tuple[str, dict] | None,
    *,
    tolerances,
    n_bins: int,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    """Log loss, ECE and ROC AUC of the labelled rows with 95% intervals, beside the champion's figures.

    ``worse`` names each metric whose whole interval is worse than the champion's figure by more than the
    gate's tolerance for that source (log loss, ECE; ``tolerances`` is ``export.gate``) or 0.02 (ROC
    AUC). ECE is biased upwards on small samples, so it counts as worse only when the calibration check
    also finds miscalibration beyond chance (p < 0.05)."""
    from rolefit.evaluation.metrics import bootstrap_intervals, calibration_check
    from rolefit.model.metrics import summary

    metrics = summary(y, p, n_bins=n_bins)
    intervals = bootstrap_intervals(y, p, n_bins=n_bins, n_boot=n_boot, seed=seed)
    check = calibration_check(y, p, n_bins=n_bins, n_sim=max(n_boot, 20), seed=seed)
    out: dict[str, Any] = {
        "n": len(y),
        "mle_share": round(float(np.mean(y)), 6) if len(y) else None,
        "metrics": {k: round(float(metrics[k]), 6) for k in ("log_loss", "ece", "roc_auc", "accuracy")},
        "intervals": {k: [round(float(v), 6) for v in vals] for k, vals in intervals.items()},
        "calibration_check_p": round(float(check["p_value"]), 6),
        "worse": [],
    }
    if figures is None:
        out["champion"] = None
        return out
    name, champion = figures
    out["champion"] = {
        "source": name,
        **{k: round(float(champion[k]), 6) for k in ("log_loss", "ece", "roc_auc") if k in champion},
    }
    own = tolerances.per_source.get(name, tolerances)
    limits = {
        "log_loss": (own.log_loss_tolerance, 1),
        "ece": (own.ece_tolerance, 1),
        "roc_auc": (0.02, -1),
    }
    for metric, (tolerance, sign) in limits.items():
        if metric not in out["champion"]:
            continue
        low, high = intervals[metric]
        bound = low if sign > 0 else high
        if metric == "ece" and not check["p_value"] < 0.05:
            continue
        if not math.isnan(bound) and sign * (bound - out["champion"][metric]) > tolerance:
            out["worse"].append(metric)
    return out


def _drifted(comparison: Mapping[str, Any] | None, thresholds) -> list[str]:
    """The reasons one comparison gives to retrain, in words."""
    if comparison is None:
        return []
    reasons = []
    for item_id in comparison.get("ranking", list(comparison["items"])):
        info = comparison["items"][item_id]
        if info["psi_interval"][0] > thresholds.psi_alarm:
            reasons.append(
                f"{item_id} moved (PSI {info['psi']:.2f}, at least {info['psi_interval'][0]:.2f} with 95% "
                f"confidence, above the alarm {thresholds.psi_alarm})"
            )
        if abs(info["missing_shift"]) > thresholds.missingness_alarm:
            reasons.append(f"{item_id} is skipped {abs(info['missing_shift']):.0%} "
                           f"{'more' if info['missing_shift'] > 0 else 'less'} often")  # fmt: skip
    shift = comparison.get("label_shift")
    if shift and abs(shift["shift"]) > thresholds.label_shift_alarm:
        reasons.append(
            f"the share of ML engineers changed from {shift['reference']:.0%} to {shift['new']:.0%}"
        )
    return reasons


def monitor_source(
    rows: pd.DataFrame,
    source: str,
    reference: Mapping[str, Any],
    manifest: Mapping[str, Any],
    p_mle: np.ndarray | None,
    params,
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Monitoring of one source's rows (see the module docstring)."""
    current = profile(rows)
    trained_on = training_sources(manifest, reference)
    out: dict[str, Any] = {"source": source, "n": len(rows)}
    earlier = reference.get(source) if source != "all" else None
    out["against_earlier"] = compare_profiles(current, earlier, n_boot=n_boot, seed=seed) if earlier else None
    population = pooled([reference[s] for s in trained_on])
    out["training_sources"] = trained_on
    out["against_training"] = (
        compare_profiles(current, population, n_boot=n_boot, seed=seed) if population else None
    )
    labelled = "role" in rows.columns and rows["role"].isin(["swe", "mle"]).any()
    by_role: dict[str, Any] = {}
    if labelled:
        for role in ("swe", "mle"):
            mine = rows[rows["role"] == role]
            theirs = pooled([(reference[s].get("roles") or {}).get(role) for s in trained_on])
            if len(mine) and theirs:
                by_role[role] = compare_profiles(profile(mine), theirs, n_boot=n_boot, seed=seed)
    out["by_role"] = by_role or None
    out["by_role_note"] = (
        None if by_role or not labelled
        else "this champion was trained before bundles stored per-role profiles; its successors have them"
    )  # fmt: skip
    if labelled and p_mle is not None:
        keep = rows["role"].isin(["swe", "mle"]).to_numpy()
        y = (rows["role"].to_numpy()[keep] == "mle").astype(int)
        out["performance"] = performance(
            y,
            np.asarray(p_mle)[keep],
            champion_figures(manifest, source, trained_on),
            tolerances=params.export.gate,
            n_bins=params.evaluate.ece_bins,
            n_boot=n_boot,
            seed=seed,
        )
    else:
        out["performance"] = None
    out.update(recommend(out, params.drift))
    return out


def recommend(result: Mapping[str, Any], thresholds) -> dict[str, Any]:
    """``retrain``, ``no_retrain`` or ``label_first``, with its reasons and notes in words.

    Retrain when the labelled rows are scored worse than the champion's own test figures, or when the
    source moved away from its own earlier profile. A population the model never saw (no earlier
    profile) that differs from the training population is not by itself a reason: when labelled, the
    performance decides; when not, label a sample first."""
    reasons: list[str] = []
    notes: list[str] = []
    perf = result.get("performance")
    if perf and perf["worse"]:
        base = perf["champion"]
        words = {"log_loss": "log loss", "ece": "calibration error (ECE)", "roc_auc": "ROC AUC"}
        for metric in perf["worse"]:
            reasons.append(
                f"the model scores these people worse than on its own test rows of {base['source']}: "
                f"{words[metric]} {perf['metrics'][metric]:.3f} (95% interval "
                f"{perf['intervals'][metric][0]:.3f} to {perf['intervals'][metric][1]:.3f}) against "
                f"{base[metric]:.3f}"
            )
    moved = _drifted(result.get("against_earlier"), thresholds)
    reasons += [f"since the champion's training data, {reason}" for reason in moved]
    differs = _drifted(result.get("against_training"), thresholds)
    if result.get("against_earlier") is None and differs:
        notes.append(
            "this source is not in the champion's data and differs from its training population: "
            + "; ".join(differs[:3])
        )
    elif differs and not moved:
        notes.append(
            "it differs from the champion's training population as it did before, a known difference, not "
            "a change: " + "; ".join(differs[:3])
        )
    if reasons:
        verdict = "retrain"
    elif perf is None and result.get("against_earlier") is None and differs:
        verdict = "label_first"
        reasons.append(
            "these people differ from the training population and have no roles to check the model on: "
            "label a sample (a role column) and run monitor again before deciding"
        )
    else:
        verdict = "no_retrain"
    return {"recommendation": verdict, "reasons": reasons, "notes": notes}


def monitor(
    frame: pd.DataFrame,
    reference: Mapping[str, Any],
    manifest: Mapping[str, Any],
    p_mle: np.ndarray | None,
    params,
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Monitoring of every source in ``frame`` (a ``source`` column; rows without one are ``new``).

    ``p_mle``: the champion's all-answers P(MLE) of every row of ``frame`` (None: no performance).
    The overall recommendation is ``retrain`` when any source's is, else ``label_first`` when any
    source's is, else ``no_retrain``."""
    frame = frame.reset_index(drop=True)
    sources = (
        frame["source"].astype(str) if "source" in frame.columns else pd.Series("new", index=frame.index)
    )
    results = {}
    for source in sorted(sources.unique()):
        mask = (sources == source).to_numpy()
        results[source] = monitor_source(
            frame[mask],
            source,
            reference,
            manifest,
            None if p_mle is None else np.asarray(p_mle)[mask],
            params,
            n_boot=n_boot,
            seed=seed,
        )
    verdicts = [r["recommendation"] for r in results.values()]
    overall = next((v for v in ("retrain", "label_first") if v in verdicts), "no_retrain")
    return {
        "model_version": manifest.get("model_version"),
        "n": len(frame),
        "labelled": bool("role" in frame.columns and frame["role"].isin(["swe", "mle"]).any()),
        "recommendation": overall,
        "thresholds": {
            "psi_alarm": params.drift.psi_alarm,
            "label_shift_alarm": params.drift.label_shift_alarm,
            "missingness_alarm": params.drift.missingness_alarm,
            "log_loss_tolerance": params.export.gate.log_loss_tolerance,
            "ece_tolerance": params.export.gate.ece_tolerance,
        },
        "bootstrap": n_boot,
        "sources": results,
    }
