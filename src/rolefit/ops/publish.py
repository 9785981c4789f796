"""The one release flow in one process: data -> train -> export -> evaluate -> track -> gate -> promote."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rolefit.config import Params
from rolefit.data.dataset import training_frame
from rolefit.evaluation.drift import before_training
from rolefit.evaluation.evaluate import evaluate_bundle
from rolefit.evaluation.reports import baseline_summary, write_reports
from rolefit.model.train import TrainResult, train
from rolefit.ops import tracking
from rolefit.ops.lock import champion_lock
from rolefit.ops.release import CHALLENGER_REPORTS, REPORTS, TRAINED, gate_and_register, write_train_report
from rolefit.scoring.export import export


@dataclass
class Published:
    """Outcome of :func:`train_and_publish`."""

    result: TrainResult
    verdict: Any
    bundle: Path
    reports: dict[str, Any]
    run: dict[str, str] | None = None
    version: str | None = None
    promoted: bool = True


def train_and_publish(
    params: Params,
    root: str | Path = ".",
    *,
    out: str | Path | None = None,
    track: bool = True,
    frame: pd.DataFrame | None = None,
    log: Callable[[str], None] = lambda _: None,
    wait: float = 0.0,
) -> Published:
    """Everything ``rolefit train`` does, in one process, holding the project's champion lock.

    Build the data (synthetic + surveys found), train and select, export the candidate bundle to
    ``models/trained``, evaluate it into ``reports/challenger/`` (copied to ``reports/`` when promoted),
    log the run and model to MLflow (``track``), run the quality gate and register the version as
    challenger, and promote it (alias ``champion``, bundle copied to ``out`` / ``export.dir``) only if
    the gate passed (:mod:`rolefit.ops.release`). Raises
    :class:`rolefit.ops.tracking.GateRefused` otherwise (``champion`` and ``out`` stay as they were).
    ``frame`` replaces the default data (it needs a ``split`` column or gets one).

    The lock (:mod:`rolefit.ops.lock`) is taken before anything else and held until the champion is
    published, so a second training started meanwhile stops at once naming this one
    (:class:`rolefit.ops.lock.ChampionBusy`), or, given ``wait`` seconds, waits and is then trained and
    gated against whatever this one promoted.
    """
    with champion_lock(root, wait=wait, command="rolefit train", log=log):
        return _train_and_publish(params, Path(root), out=out, track=track, frame=frame, log=log)


def _train_and_publish(params, root: Path, *, out, track, frame, log) -> Published:
    if frame is None:
        n = params.synthesize.n_respondents
        log(f"building data: {n:,} synthetic respondents (survey-calibrated)")
        frame, ingest_reports = training_frame(params, root, log=log)
    else:
        ingest_reports = {}
    sources = ", ".join(f"{name} ({count:,})" for name, count in frame["source"].value_counts().items())
    log(f"training on sources: {sources}")
    drift_report = before_training(frame, params, root)
    log(f"drift against {drift_report['reference_from']}: {len(drift_report['alarms'])} alarm(s)")
    for alarm in drift_report["alarms"][:10]:
        log(f"  ALARM {alarm}")
    result = train(frame, params, log=log)
    result.extra["ingest_reports"] = ingest_reports
    trained = export(result, root / TRAINED, params, project=root)
    evaluated = evaluate_bundle(trained, frame, params)
    for line in baseline_summary(evaluated):
        log(line)
    manifest = json.loads((trained / "manifest.json").read_text())
    # the challenger's reports; reports/ itself follows the champion (copied up when promoted)
    paths = write_reports(evaluated, root / CHALLENGER_REPORTS, manifest, params)
    (root / REPORTS).mkdir(parents=True, exist_ok=True)
    (root / REPORTS / "drift.json").write_text(
        json.dumps(drift_report, indent=2, sort_keys=True, default=float)
    )
    run = None
    if track:
        try:
            tracking.configure(root)
            run = tracking.log_training(
                result,
                params,
                trained,
                root=root,
                ingest_reports=ingest_reports,
                frame=frame,
                drift_report=drift_report,
            )
            tracking.log_evaluation(run["run_id"], paths, evaluated)
        except Exception as exc:
            tracking.fail_run(run)
            raise tracking.TrackingError(
                f"MLflow tracking at {tracking.tracking_uri(root)} failed ({type(exc).__name__}: "
                f"{str(exc)[:300]}); nothing was registered and {params.export.dir} is unchanged. "
                "Re-run when the tracking server is back."
            ) from exc
    if run is not None:
        write_train_report(root, manifest["model_version"], result.metrics)
    release = gate_and_register(trained, frame, params, root, run, out=out, log=log)
    verdict, version = release.verdict, release.version
    if not verdict.passed and not release.experiment:
        raise tracking.GateRefused(verdict)
    bundle = Path(out) if out else root / params.export.dir
    return Published(
        result=result,
        verdict=verdict,
        bundle=bundle,
        reports=paths,
        run=run,
        version=version,
        promoted=release.promoted,
    )
