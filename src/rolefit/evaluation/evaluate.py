"""The evaluate stage: a bundle scored on the test split, beside the plain baseline on real sources."""

from __future__ import annotations

from typing import Any

import numpy as np

from rolefit.data.dataset import labels, real_sources
from rolefit.evaluation.behaviour import run_behaviour
from rolefit.evaluation.fairness import fairness_audit
from rolefit.evaluation.metrics import (
    bootstrap_intervals,
    calibration_check,
    logit,
    paired_differences,
    shifted,
)
from rolefit.instrument.items import load_instrument
from rolefit.model.evidence import PlainBaseline
from rolefit.model.metrics import summary
from rolefit.scoring.predictor import load_model, predict, predict_many


def evaluate_bundle(bundle_dir, frame, params) -> dict[str, Any]:
    """Score the test split with the exported bundle (as apps do) and compute every report.

    Returns ``{"metrics": {group: summary}, "y": ..., "p": ..., "importance": {...}, "behaviour": [...]}``.
    """

    instrument = load_instrument()
    test = frame[frame["split"] == "test"] if "split" in frame.columns else frame
    items = [c for c in instrument.ids if c in test.columns]
    scored = predict_many(test[items], model=bundle_dir, top_k=0)
    y = (test["role"].to_numpy() == "mle").astype(int)
    p = scored["p_mle"].to_numpy()
    n_bins = params.evaluate.ece_bins
    metrics = {"test/all": summary(y, p, n_bins=n_bins)}
    for source in sorted(test["source"].unique()):
        mask = (test["source"] == source).to_numpy()
        p_true = test["p_true"].to_numpy()[mask] if source == "synthetic" and "p_true" in test else None
        metrics[f"test/{source}"] = summary(y[mask], p[mask], n_bins=n_bins, p_true=p_true)

    additive = load_model(bundle_dir).additive
    importance = {}
    for item in items:
        answered = test[item].dropna()
        if len(answered):
            table = additive.tables[item]
            importance[item] = float(
                abs(pd_series_effects(answered, table, instrument[item])).mean()
                * (1.0 if item in additive.fixed else additive.a)
            )
    behaviour = run_behaviour(lambda answers: predict(answers, model=bundle_dir))
    for name, mask in slices(test).items():
        metrics[f"test/slice/{name}"] = summary(y[mask], p[mask], n_bins=n_bins)
    groups = [("test/all", np.ones(len(y), bool))] + [
        (f"test/{s}", (test["source"] == s).to_numpy()) for s in sorted(test["source"].unique())
    ]
    intervals = {
        group: bootstrap_intervals(
            y[mask], p[mask], n_bins=n_bins, n_boot=params.evaluate.bootstrap, seed=params.evaluate.seed
        )
        for group, mask in groups
    }
    calibration_checks = {
        group: calibration_check(
            y[mask], p[mask], n_bins=n_bins, n_sim=params.evaluate.bootstrap, seed=params.evaluate.seed
        )
        for group, mask in groups
    }
    uncertainty = {}
    if additive.conformal is not None:
        from rolefit.model.conformal import coverage
        from rolefit.model.features import answered_mask

        answered = answered_mask(test[items], tuple(items)).sum(axis=1)
        uncertainty["test/all"] = coverage(y, p, additive.conformal, answered)
        for source in sorted(test["source"].unique()):
            mask = (test["source"] == source).to_numpy()
            uncertainty[f"test/{source}"] = coverage(y[mask], p[mask], additive.conformal, answered[mask])
        uncertainty["level"] = additive.conformal.level
    fairness = fairness_audit(test, y, p, params)
    real = real_evidence_report(frame, test, y, p, additive, params, bundle_dir)
    metrics.update(real.pop("metrics"))
    intervals.update(real.pop("intervals"))
    calibration_checks.update(real.pop("calibration_checks"))
    return {
        "real": real,
        "metrics": metrics,
        "intervals": intervals,
        "calibration_checks": calibration_checks,
        "uncertainty": uncertainty,
        "fairness": fairness,
        "y": y,
        "p": p,
        "sources": test["source"].astype(str).to_numpy(),
        "importance": importance,
        "behaviour": behaviour,
    }


def real_evidence_report(frame, test, y, p, additive, params, bundle_dir) -> dict[str, Any]:
    """The champion beside the plain baseline on every real source, under both base rates.

    The baseline (:class:`rolefit.model.evidence.PlainBaseline`) is fitted on the non-test rows of the real
    training sources with the items the champion learned from real data. Every real source is scored
    under the model's reference base rate and under its *own* base rate (the MLE share of its non-test
    rows), which moves the log-odds of both models by the same amount.
    """

    n_bins, n_boot, seed = params.evaluate.ece_bins, params.evaluate.bootstrap, params.evaluate.seed
    split = frame["split"] if "split" in frame.columns else None
    real_items = [item for item, e in additive.evidence.items() if e.get("basis") == "real"]
    training = real_sources(params, frame, "train")
    evaluated = real_sources(params, frame, "evaluate")
    reference_rate = (
        additive.base_rate if additive.base_rate is not None else 1 / (1 + np.exp(-additive.intercept))
    )
    out: dict[str, Any] = {
        "training_sources": training,
        "evaluation_sources": evaluated,
        "reference_base_rate": float(reference_rate),
        "baseline": None,
        "own_base_rates": {},
        "differences": {},
        "metrics": {},
        "intervals": {},
        "calibration_checks": {},
    }
    baseline = None
    if real_items and training and split is not None:
        fit_rows = frame[frame["source"].isin(training).to_numpy() & (split != "test").to_numpy()]
        from rolefit.data.dataset import mle_shares, sample_weights

        weights = sample_weights(fit_rows, params.build, mle_shares(frame))
        baseline = PlainBaseline(items=tuple(real_items), seed=seed).fit(fit_rows, labels(fit_rows), weights)
        out["baseline"] = {
            "model": "one-hot logistic regression + sigmoid calibration (5-fold)",
            "items": real_items,
            "rows": len(fit_rows),
        }
    for source in [*training, *evaluated]:
        mask = (test["source"] == source).to_numpy()
        if not mask.any():
            continue
        ys, ps = y[mask], p[mask]
        source_rows = frame[frame["source"] == source]
        if split is not None:
            source_rows = source_rows[source_rows["split"] != "test"]
        own = float(np.clip((source_rows["role"] == "mle").mean(), 1e-3, 1 - 1e-3))
        delta = logit(own) - logit(reference_rate)
        out["own_base_rates"][source] = own
        p_own = shifted(ps, delta)
        group = f"test/{source}/own_base_rate"
        out["metrics"][group] = summary(ys, p_own, n_bins=n_bins)
        out["intervals"][group] = bootstrap_intervals(ys, p_own, n_bins=n_bins, n_boot=n_boot, seed=seed)
        out["calibration_checks"][group] = calibration_check(
            ys, p_own, n_bins=n_bins, n_sim=n_boot, seed=seed
        )
        if baseline is None:
            continue
        pb = baseline.predict_proba(test.loc[mask])[:, 1]
        for suffix, champion, base in (("", ps, pb), ("/own_base_rate", p_own, shifted(pb, delta))):
            key = f"baseline/{source}{suffix}"
            out["metrics"][key] = summary(ys, base, n_bins=n_bins)
            out["intervals"][key] = bootstrap_intervals(ys, base, n_bins=n_bins, n_boot=n_boot, seed=seed)
            out["differences"][f"{source}{suffix}"] = paired_differences(
                ys, champion, base, n_bins=n_bins, n_boot=n_boot, seed=seed
            )
    return out


def slices(test) -> dict[str, np.ndarray]:
    """Masks of the evaluation slices: education level, years-of-coding band and true role."""
    out: dict[str, np.ndarray] = {}
    if "education" in test.columns:
        education = test["education"].astype(object).to_numpy()
        for level in ("no_degree", "some_college", "bachelor", "master", "doctorate"):
            mask = education == level
            if mask.sum() >= 30:
                out[f"education={level}"] = mask
    if "years_coding" in test.columns:
        from rolefit.data.distributions import YEARS_BANDS

        years = test["years_coding"].to_numpy(dtype=float)
        for low, high, label in YEARS_BANDS:
            mask = (years >= low) & (years < high)
            if mask.sum() >= 30:
                out[f"years_coding={label}"] = mask
    for role in ("swe", "mle"):
        out[f"role={role}"] = test["role"].to_numpy() == role
    return out


def pd_series_effects(values, table, item) -> np.ndarray:
    """Raw table effects of a column of answers (choices by id, numbers as floats)."""
    return np.array([table.effect(item.coerce(v)) for v in values.tolist()], dtype=float)
