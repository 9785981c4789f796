"""Training end to end: data -> candidates -> calibration -> selection -> decomposition -> export.

:func:`train` is the pure core behind ``rolefit train`` and the ``train`` pipeline stage: it fits every
candidate on the train split, calibrates each with every allowed method on the calibration split,
keeps the combination with the best validation log loss, decomposes it into exact lookup tables,
checks the tables against the full model, and evaluates on the test split.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit import evaluation
from rolefit.dataset import assign_splits, frame_sha256, mle_shares, sample_weights, skip_at_random
from rolefit.explain import AdditiveModel, decompose
from rolefit.models import calibrate, fit_candidate, make_candidate
from rolefit.params import Params
from rolefit.questionnaire import load_instrument
from rolefit.uncertainty import fit_conformal

#: Largest tolerated difference between the lookup tables and the full model (probability scale).
EXACTNESS_TOLERANCE = 1e-9


@dataclass
class TrainResult:
    """What a training run produced."""

    candidate: str
    calibration: str
    estimator: Any
    additive: AdditiveModel
    selection: list[dict[str, Any]]
    metrics: dict[str, dict[str, float]]
    data: dict[str, Any]
    max_table_error: float
    extra: dict[str, Any] = field(default_factory=dict)


def hash_seed(*parts: object) -> int:
    """A stable seed from labels (Python's hash() is salted per process)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "big")


def labels(frame: pd.DataFrame) -> np.ndarray:
    return (frame["role"].to_numpy() == "mle").astype(int)


def train(frame: pd.DataFrame, params: Params, *, log: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Train, calibrate and select the champion on ``frame`` (items, ``role``, ``source``, ids).

    ``frame`` may carry ``p_true`` (synthetic rows); it is only used for evaluation. Calibration and
    validation data are extended with copies whose answers are partly skipped
    (``train.partial_answers``), so the champion is calibrated for partial answer sets too; the test
    metrics report whole rows per source and, separately, such partial copies.
    """
    instrument = load_instrument()
    # the build stage stores the split; otherwise it is assigned here from the same params
    split = frame["split"] if "split" in frame.columns else assign_splits(frame, params.build)
    parts = {name: frame.index[split.to_numpy() == name] for name in split.unique()}
    item_columns = [c for c in instrument.ids if c in frame.columns]
    partial = params.train.partial_answers

    def rows(name: str, with_partial: bool) -> pd.DataFrame:
        part = frame.loc[parts[name]]
        if not with_partial or partial.copies == 0:
            return part
        copies = [
            skip_at_random(part, item_columns, partial.keep_min, partial.keep_max, seed=hash_seed(name, k))
            for k in range(partial.copies)
        ]
        return pd.concat([part, *copies], ignore_index=True)

    shares = mle_shares(frame)

    def xyw(name: str, with_partial: bool = True):
        part = rows(name, with_partial)
        return part[item_columns], labels(part), sample_weights(part, params.build, shares)

    selection: list[dict[str, Any]] = []
    best: tuple[float, str, str, Any] | None = None
    for name in params.train.candidates:
        log(f"fitting candidate {name} on {len(parts['train']):,} rows")
        fitted = fit_candidate(make_candidate(name, params.train), *xyw("train", with_partial=False))
        for method in params.train.calibration_methods:
            calibrated = calibrate(fitted, *xyw("calibration"), method=method)
            x_val, y_val, w_val = xyw("validation")
            p_val = calibrated.predict_proba(x_val)[:, 1]
            val_loss = evaluation.log_loss(y_val, p_val, sample_weight=w_val)
            selection.append({"candidate": name, "calibration": method, "validation_log_loss": val_loss})
            log(f"  {name} + {method} calibration: validation log loss {val_loss:.4f}")
            if best is None or val_loss < best[0]:
                best = (val_loss, name, method, calibrated)
    assert best is not None
    _, name, method, champion = best
    log(f"champion: {name} + {method} calibration")

    additive = decompose(champion, instrument)
    x_val, y_val, w_val = xyw("validation")
    conformal = fit_conformal(y_val, champion.predict_proba(x_val)[:, 1], params.train.conformal_level, w_val)
    additive = dataclasses.replace(additive, conformal=conformal)
    log(f"prediction sets at {conformal.level:.0%}: q_swe {conformal.q_swe:.3f}, q_mle {conformal.q_mle:.3f}")
    max_error = table_error(champion, additive, rows("test", with_partial=True)[item_columns])
    if max_error > EXACTNESS_TOLERANCE:
        raise RuntimeError(
            f"The lookup tables differ from the full model by {max_error:.2e} (tolerance "
            f"{EXACTNESS_TOLERANCE:g}); the champion is not additive as assumed."
        )

    metrics: dict[str, dict[str, float]] = {}
    for part in ("validation", "test"):
        whole = rows(part, with_partial=False)
        p = champion.predict_proba(whole[item_columns])[:, 1]
        y_part = labels(whole)
        for source in sorted(whole["source"].unique()):
            mask = (whole["source"] == source).to_numpy()
            p_true = whole["p_true"].to_numpy()[mask] if "p_true" in whole and source == "synthetic" else None
            metrics[f"{part}/{source}"] = evaluation.summary(
                y_part[mask], p[mask], n_bins=params.evaluate.ece_bins, p_true=p_true
            )
        metrics[f"{part}/all"] = evaluation.summary(y_part, p, n_bins=params.evaluate.ece_bins)
        if partial.copies:
            skipped = skip_at_random(
                whole, item_columns, partial.keep_min, partial.keep_max, seed=hash_seed(part, "metrics")
            )
            p_skipped = champion.predict_proba(skipped[item_columns])[:, 1]
            for source in sorted(whole["source"].unique()):
                mask = (whole["source"] == source).to_numpy()
                metrics[f"{part}/{source}/partial_answers"] = evaluation.summary(
                    y_part[mask], p_skipped[mask], n_bins=params.evaluate.ece_bins
                )

    data = {
        "sha256": frame_sha256(frame),
        "rows": {
            "total": len(frame),
            "by_split": {k: len(v) for k, v in sorted(parts.items())},
            "by_source": {str(k): int(v) for k, v in frame["source"].value_counts().sort_index().items()},
        },
    }
    from rolefit.drift import reference

    return TrainResult(
        extra={"reference": reference(frame.assign(split=split.to_numpy()))},
        candidate=name,
        calibration=method,
        estimator=champion,
        additive=additive,
        selection=selection,
        metrics=metrics,
        data=data,
        max_table_error=max_error,
    )


def table_error(calibrated, additive: AdditiveModel, frame: pd.DataFrame) -> float:
    """Largest |p(tables) - p(full model)| over the rows of ``frame``."""
    from rolefit.features import normalise_frame

    full = calibrated.predict_proba(frame)[:, 1]
    clean = normalise_frame(frame)
    records = clean.to_dict(orient="records")
    z = np.array(
        [
            additive.intercept
            + sum(additive.contributions({k: v for k, v in row.items() if not _skipped(v)}).values())
            for row in records
        ]
    )
    mine = 1.0 / (1.0 + np.exp(-z))
    return float(np.max(np.abs(mine - full))) if len(frame) else 0.0


def _skipped(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def export(result: TrainResult, directory: str | Path, params: Params) -> Path:
    """Write the champion bundle with its manifest."""
    from rolefit.bundle import save_bundle

    manifest = {
        "candidate": result.candidate,
        "calibration": result.calibration,
        "selection": result.selection,
        "metrics": result.metrics,
        "training_data": result.data,
        "max_table_error": result.max_table_error,
        "params": params.model_dump(mode="json"),
        **{k: v for k, v in result.extra.items() if k != "reference"},
    }
    return save_bundle(
        directory,
        additive=result.additive,
        estimator=result.estimator,
        manifest=manifest,
        reference=result.extra.get("reference"),
    )


@dataclass
class Published:
    """Outcome of :func:`train_and_publish`."""

    result: TrainResult
    verdict: Any
    bundle: Path
    reports: dict[str, Any]
    run: dict[str, str] | None = None
    version: str | None = None


def train_and_publish(
    params: Params,
    root: str | Path = ".",
    *,
    out: str | Path | None = None,
    track: bool = True,
    frame: pd.DataFrame | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Published:
    """Everything ``rolefit train`` does, in one process.

    Build the data (synthetic + surveys found), train and select, export the candidate bundle to
    ``models/trained``, evaluate it into ``reports/``, log the run and model to MLflow (``track``), run
    the quality gate, register the version, and copy the bundle to ``out`` (``export.dir``) only if the
    gate passed. Raises :class:`rolefit.tracking.GateRefused` otherwise (``champion`` and ``out`` stay
    as they were). ``frame`` replaces the default data (it needs a ``split`` column or gets one).
    """
    from rolefit import evaluation, tracking
    from rolefit.bundle import publish_bundle
    from rolefit.dataset import training_frame

    root = Path(root)
    if frame is None:
        frame, ingest_reports = training_frame(params, root, log=log)
    else:
        ingest_reports = {}
    sources = ", ".join(f"{name} ({count:,})" for name, count in frame["source"].value_counts().items())
    log(f"training on sources: {sources}")
    result = train(frame, params, log=log)
    result.extra["ingest_reports"] = ingest_reports
    trained = export(result, root / "models" / "trained", params)
    evaluated = evaluation.evaluate_bundle(trained, frame, params)
    manifest = json.loads((trained / "manifest.json").read_text())
    paths = evaluation.write_reports(evaluated, root / "reports", manifest, params)
    run = version = None
    champion = None
    if track:
        try:
            tracking.configure(root)
            run = tracking.log_training(result, params, trained, root=root, ingest_reports=ingest_reports)
            tracking.log_evaluation(run["run_id"], paths, evaluated)
            champion = tracking.current_champion()
        except Exception as exc:
            tracking.fail_run(run)
            raise tracking.TrackingError(
                f"MLflow tracking at {tracking.tracking_uri(root)} failed ({type(exc).__name__}: "
                f"{str(exc)[:300]}); nothing was registered and {params.export.dir} is unchanged. "
                "Re-run when the tracking server is back."
            ) from exc
    verdict = tracking.quality_gate(result.metrics, trained, params.export.gate, champion)
    if track:
        try:
            version = tracking.register(run, verdict)
        except Exception as exc:
            tracking.fail_run(run)
            raise tracking.TrackingError(
                f"registering the model in MLflow at {tracking.tracking_uri(root)} failed "
                f"({type(exc).__name__}); champion and {params.export.dir} are unchanged."
            ) from exc
    if not verdict.passed:
        raise tracking.GateRefused(verdict)
    bundle = publish_bundle(trained, Path(out) if out else root / params.export.dir)
    return Published(result=result, verdict=verdict, bundle=bundle, reports=paths, run=run, version=version)
