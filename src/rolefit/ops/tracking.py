"""MLflow: runs a reviewer can trust, the pyfunc model, the registry and the quality gate.

* Store: ``sqlite:///<repo>/mlflow.db`` unless ``MLFLOW_TRACKING_URI`` says otherwise (an ``http://``
  server included); set explicitly by :func:`configure`, never at import. Experiment ``rolefit``.
* The experiment is marked for model development (``mlflow.experimentKind``) and carries a description
  (:func:`describe_experiment`). MLflow 3.17's own UI picks GenAI or model-training screens with a
  switch of its own (URL ``?workflowType=machine_learning``, which the README's link sets).
* One parent run per training, showing the champion-facing summary (:mod:`rolefit.ops.summary`, at
  most 60 metrics; every metric is in its ``metrics/*.json`` artifacts), and one nested run per
  (candidate, calibration) pair with its parameters and selection score, so the comparison view shows
  why the chosen one won.
* The model is logged as a pyfunc *from code* (``rolefit/ops/pyfunc.py``) around the verified bundle, so
  nothing is pickled; ``rolefit``'s own source travels with it (``code_paths``).
* Registered model ``rolefit``: every trained model becomes a version with alias ``challenger``; alias
  ``champion`` moves only when :func:`rolefit.evaluation.gate.decide` passes and the run is not an experiment
  (:func:`promote`). Versions and runs carry descriptions: what was trained on what, and the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from rolefit.atomic import process_alive
from rolefit.config import dotted
from rolefit.data.dataset import frame_sha256, real_sources
from rolefit.errors import RolefitError
from rolefit.evaluation.gate import GateVerdict
from rolefit.evaluation.results import Evaluation
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, load_instrument
from rolefit.ops import summary
from rolefit.scoring.registry import EXPERIMENT, configure, download_champion, tracking_uri  # noqa: F401

MODEL_NAME = "rolefit"
ALIAS = "champion"
CHALLENGER = "challenger"
#: The package folder: its source travels with the logged pyfunc model (``code_paths``).
PACKAGE_DIR = Path(__file__).resolve().parent.parent


class TrackingError(RolefitError, RuntimeError):
    """The MLflow store could not be reached or refused a write; nothing was registered."""


class GateRefused(RolefitError, RuntimeError):
    """The new model did not pass the quality gate; ``champion`` was not moved."""

    def __init__(self, verdict: GateVerdict):
        self.verdict = verdict
        super().__init__("quality gate refused the model: " + "; ".join(verdict.reasons))


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested params as dotted keys (``train.logistic.alpha``) with string values, as MLflow logs them."""
    return {
        key: (json.dumps(value) if isinstance(value, (list, tuple)) else str(value))[:6000]
        for key, value in dotted(data, prefix).items()
    }


def git_commit(root: str | Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def source_lineage(frame, ingest_reports: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per source, computed from the rows this run actually used: digest, row counts, file sha256.

    ``digest`` is the sha256 of the source's rows (items, role and split) as trained and evaluated on;
    ``file_sha256`` is the hash of the export the ingest read (from its report, computed when the file
    was read), absent for synthetic respondents.
    """

    out: dict[str, dict[str, Any]] = {}
    for source in sorted(frame["source"].unique()):
        part = frame[frame["source"] == source].reset_index(drop=True)
        columns = [c for c in part.columns if c not in ("respondent_id", "source", *DEMOGRAPHIC_FIELDS)]
        split = part["split"] if "split" in part.columns else None
        entry: dict[str, Any] = {
            "digest": frame_sha256(part[columns]),
            "rows": len(part),
            "rows_by_split": {str(k): int(v) for k, v in split.value_counts().sort_index().items()}
            if split is not None
            else {},
        }
        report = (ingest_reports or {}).get(source) or {}
        hashes = report.get("file_sha256")
        if isinstance(hashes, dict):  # a streamed multi-file ingest: one hash per file
            entry["file"] = ", ".join(sorted(hashes))
            entry["file_sha256"] = ", ".join(f"{name}:{digest}" for name, digest in sorted(hashes.items()))
        elif hashes:
            entry["file"], entry["file_sha256"] = report.get("file"), hashes
        out[str(source)] = entry
    return out


def log_inputs(frame, lineage: dict[str, dict[str, Any]], params) -> None:
    """Every source as an MLflow dataset input of the active run (``training`` or ``evaluation``)."""
    import mlflow

    training = {"synthetic", *real_sources(params, frame, "train")}
    for source, entry in lineage.items():
        part = frame[frame["source"] == source]
        keep = [c for c in part.columns if c not in ("respondent_id", *DEMOGRAPHIC_FIELDS)]
        dataset = mlflow.data.from_pandas(
            part[keep].reset_index(drop=True),
            name=source,
            digest=entry["digest"][:16],
            source=entry.get("file") or "rolefit.synthetic",
        )
        tags = {f"rows.{k}": str(v) for k, v in entry["rows_by_split"].items()}
        tags["rows"] = str(entry["rows"])
        if entry.get("file_sha256"):
            tags["file_sha256"] = entry["file_sha256"]
        mlflow.log_input(dataset, context="training" if source in training else "evaluation", tags=tags)


def _metric_key(key: str) -> str:
    return key.replace(" ", "_")


EXPERIMENT_KIND = "custom_model_development"
EXPERIMENT_DESCRIPTION = (
    "rolefit: how well a person fits software engineering (SWE) versus ML engineering (MLE), for career "
    "exploration, not screening. One run per training (rolefit train or dvc repro): its metrics are the "
    "champion-facing summary (test scores per source, the plain baseline beside each real survey, "
    "prediction-set coverage, fairness and behaviour checks); every other metric is in its metrics/ "
    "artifacts. Expand a run to see its candidates: each nested run logs its parameters and the "
    "validation log loss it was selected by (selection/log_loss, lower is better; tag selected=true marks "
    "the winner). Models: registered model 'rolefit', alias champion (deployed) and challenger (latest). "
    "Seeing traces and token counts instead? Choose 'Model training' at the top left."
)


def describe_experiment() -> None:
    """Mark the experiment for model development (``mlflow.experimentKind``: UIs that read it open on
    its runs, not on GenAI traces) and give it a description, unless someone already wrote one."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return
    if experiment.tags.get("mlflow.experimentKind") != EXPERIMENT_KIND:
        client.set_experiment_tag(experiment.experiment_id, "mlflow.experimentKind", EXPERIMENT_KIND)
    if not experiment.tags.get("mlflow.note.content"):
        client.set_experiment_tag(experiment.experiment_id, "mlflow.note.content", EXPERIMENT_DESCRIPTION)


def log_summary(metrics: dict[str, float], artifact: str) -> dict[str, float]:
    """Log the summary names of ``metrics`` (finite values) as the active run's metrics and all of them to
    ``artifact`` (JSON); returns what was logged as metrics."""
    import math
    import numbers

    import mlflow

    finite = {
        _metric_key(k): float(v)
        for k, v in metrics.items()
        if isinstance(v, numbers.Real) and math.isfinite(float(v))
    }
    shown, _ = summary.split(finite)
    mlflow.log_metrics(shown)
    mlflow.log_dict(dict(sorted(finite.items())), artifact)
    return shown


SELECTION_RULE = (
    "the lowest log loss on the synthetic validation split (whole rows and partly skipped copies, "
    "weighted as in training); the real-evidence block is the same in every candidate"
)


def log_candidates(result, params) -> None:
    """One nested run per (candidate, calibration): its parameters, its selection score, how far it was
    from the chosen one, and a description saying so in words."""
    import mlflow

    chosen_key = (result.candidate, result.calibration)
    ranked = sorted(result.selection, key=lambda e: e["validation_log_loss"])
    best = ranked[0]["validation_log_loss"] if ranked else float("nan")
    for entry in result.selection:
        key = (entry["candidate"], entry["calibration"])
        name = f"{entry['candidate']} + {entry['calibration']}"
        loss = float(entry["validation_log_loss"])
        with mlflow.start_run(run_name=name, nested=True):
            mlflow.log_params({"candidate": entry["candidate"], "calibration": entry["calibration"]})
            section = getattr(params.train, entry["candidate"], None)
            if section is not None:
                mlflow.log_params(flatten(section.model_dump(mode="json"), f"{entry['candidate']}."))
            mlflow.log_metrics(
                {
                    "selection/log_loss": loss,
                    "selection/log_loss_above_best": loss - best,
                    "selection/rank": float(ranked.index(entry) + 1),
                }
            )
            selected = key == chosen_key
            if selected:
                why = f"Chosen: the lowest selection log loss ({loss:.4f}) of {len(ranked)} candidates."
            else:
                why = (
                    f"Not chosen: selection log loss {loss:.4f}, {loss - best:+.4f} against the chosen "
                    f"{result.candidate} + {result.calibration} ({best:.4f})."
                )
            mlflow.set_tags(
                {
                    "selected": str(selected).lower(),
                    "selection.rule": SELECTION_RULE,
                    "mlflow.note.content": f"{why} Selection rule: {SELECTION_RULE}.",
                }
            )


def log_training(
    result,
    params,
    bundle_dir: str | Path,
    *,
    root: str | Path = ".",
    ingest_reports: dict[str, Any] | None = None,
    frame=None,
    drift_report: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Log a training run (parent + nested candidates) and its pyfunc model; returns run and model ids.

    With ``frame`` (the rows trained and evaluated on), every source is logged as a dataset input and
    the ``lineage.*`` tags carry hashes computed from what this run read.
    """
    import mlflow

    manifest = json.loads((Path(bundle_dir) / "manifest.json").read_text())
    fail_abandoned_runs()
    with mlflow.start_run(run_name=f"train {manifest['model_version']}") as parent:
        mlflow.set_tags(_owner_tags())
        mlflow.log_params(flatten(params.model_dump(mode="json")))
        describe_experiment()
        tags = {
            "git_commit": git_commit(root),
            "model_version": manifest["model_version"],
            "champion_candidate": result.candidate,
            "champion_calibration": result.calibration,
            "instrument_version": manifest["instrument"]["version"],
            "training_data_sha256": manifest["training_data"]["sha256"],
            "intended_use": "career exploration, not screening",
            "real_training_sources": ", ".join(
                (result.extra.get("real_evidence") or {}).get("training_sources") or []
            )
            or "none",
        }
        lineage = source_lineage(frame, ingest_reports) if frame is not None else {}
        for source, entry in lineage.items():
            tags[f"lineage.{source}.digest"] = entry["digest"]
            if entry.get("file_sha256"):
                tags[f"lineage.{source}.file_sha256"] = entry["file_sha256"]
        mlflow.set_tags(tags)
        if frame is not None:
            log_inputs(frame, lineage, params)
        metrics = {
            _metric_key(f"{group}/{name}"): value
            for group, values in result.metrics.items()
            for name, value in values.items()
        }
        metrics.update({f"rows/{k}": v for k, v in result.data["rows"]["by_source"].items()})
        metrics.update({f"rows_split/{k}": v for k, v in result.data["rows"]["by_split"].items()})
        # what selected the champion, under the name its candidates' nested runs use
        chosen = [e for e in result.selection if (e["candidate"], e["calibration"]) == (result.candidate,
                  result.calibration)]  # fmt: skip
        if chosen:
            metrics["selection/log_loss"] = chosen[0]["validation_log_loss"]
        metrics["max_table_error"] = result.max_table_error
        if drift_report is not None:
            metrics["drift/alarms"] = len(drift_report["alarms"])
        log_summary(metrics, "metrics/training.json")
        mlflow.set_tag("selection.rule", SELECTION_RULE)
        log_candidates(result, params)
        for name, report in (ingest_reports or {}).items():
            mlflow.log_dict(report, f"ingest/{name}.report.json")
        if drift_report is not None:
            # the drift check that ran before this training, linked to it
            mlflow.log_dict(drift_report, "drift.json")
            mlflow.set_tags(
                {
                    "drift.drifted": str(drift_report["drifted"]).lower(),
                    "drift.reference": drift_report["reference_from"],
                }
            )
        mlflow.log_dict(manifest, "bundle/manifest.json")
        info = log_pyfunc(bundle_dir)
        # how a later stage finds this run and its model by the model's version (:func:`training_run`)
        mlflow.set_tag("model_uri", info.model_uri)
        return {"run_id": parent.info.run_id, "model_uri": info.model_uri}


def training_run(model_version: str) -> dict[str, str] | None:
    """The newest training run of ``model_version`` (a content-derived version) and its model, or None.

    The DVC stages pass no run id between them (it would change their outputs on every run); they find
    the run by the model it logged. None when this store never logged that model (e.g. the train stage's
    outputs came from DVC's cache, or the store was reset)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.model_version = '{model_version}' and tags.model_uri != ''",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None
    return {"run_id": runs[0].info.run_id, "model_uri": runs[0].data.tags["model_uri"]}


def evaluation_metrics(evaluated: Evaluation) -> dict[str, float]:
    """The evaluation's MLflow metrics by name (as logged, before ``=`` becomes ``_`` and NaNs are dropped):
    prediction sets, calibration checks, 95% intervals, the plain baseline and every real source under
    its own base rate, champion minus baseline, and the fairness audit's summaries."""
    batch: dict[str, float] = {}
    for group in evaluated.sets.groups if evaluated.sets is not None else ():
        batch.update({f"sets/{group.key}/{k}": v for k, v in group.values.items()})
    for scores in evaluated.scores:
        if scores.calibration_check is not None:
            batch.update(
                {f"calibration_check/{scores.key}/{k}": v for k, v in scores.calibration_check.items()}
            )
    for scores in evaluated.scores:
        for name, (low, high) in (scores.intervals or {}).items():
            batch[f"ci95/{scores.key}/{name}/low"], batch[f"ci95/{scores.key}/{name}/high"] = low, high
    # the plain baseline and every real source under its own base rate, beside the champion
    for scores in evaluated.real.scores:
        batch.update(
            {f"{scores.key}/{k}": scores.metrics[k] for k in ("log_loss", "ece", "roc_auc", "brier")}
        )
    for evidence in evaluated.real.sources:
        for baseline in evidence.baselines:
            group = baseline.scores.label
            batch.update(
                {f"vs_baseline/{group}/{k}": d["difference"] for k, d in baseline.differences.items()}
            )
    fairness = evaluated.fairness
    for attribute in ("gender", "country"):
        if attribute in fairness:
            batch[f"fairness/{attribute}/demographic_parity_ratio"] = fairness[attribute][
                "demographic_parity_ratio"
            ]
            batch[f"fairness/{attribute}/equalized_odds_difference"] = fairness[attribute][
                "equalized_odds_difference"
            ]
    return batch


def log_evaluation(run_id: str, paths: dict[str, Path], evaluated: Evaluation) -> None:
    """Attach the evaluate stage's reports, figures and model card to a training run."""
    import mlflow

    with mlflow.start_run(run_id=run_id):
        for key, path in paths.items():
            folder = "figures" if key.startswith("figure_") else "plots" if key.startswith("plot_") else ""
            if folder == "plots" and "/" in key:  # per-source curves: plots/roc/<source>.csv, ...
                folder = f"plots/{key[len('plot_') :].split('/')[0]}"
            mlflow.log_artifact(str(path), artifact_path=folder or None)
        behaviour, fairness = evaluated.behaviour, evaluated.fairness
        batch = evaluation_metrics(evaluated)
        mlflow.log_dict(evaluated.real.to_dict(), "real_evidence.json")
        for attribute in ("gender", "country"):
            if attribute in fairness:
                mlflow.set_tag(
                    f"fairness.{attribute}.four_fifths_rule", fairness[attribute]["four_fifths_rule"]
                )
        batch["behaviour/cases"] = len(behaviour)
        batch["behaviour/passed"] = sum(b["passed"] for b in behaviour)
        log_summary({k.replace("=", "_"): v for k, v in batch.items()}, "metrics/evaluation.json")
        mlflow.log_dict(fairness, "fairness.json")
        mlflow.log_dict({"cases": behaviour}, "behaviour.json")


def _owner_tags() -> dict[str, str]:
    import socket

    return {"rolefit.host": socket.gethostname(), "rolefit.pid": str(os.getpid())}


def fail_abandoned_runs() -> list[str]:
    """Mark FAILED the RUNNING runs whose training process on this machine no longer exists.

    A training killed while logging (``kill -9``, a power cut) cannot end its run; the next training
    does it, with a note saying why. Runs of live processes and of other machines are left alone.
    Returns the run ids it ended.
    """
    import socket

    from mlflow import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    host = socket.gethostname()
    ended = []
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`rolefit.host` = '{host}'",
        max_results=1000,
    )
    for run in runs:
        try:
            pid = int(run.data.tags.get("rolefit.pid", ""))
        except ValueError:
            continue
        if process_alive(pid):
            continue
        client.set_tag(
            run.info.run_id,
            "mlflow.note.content",
            f"Marked FAILED by a later training: process {pid} on {host} ended without finishing this "
            "run (killed or crashed).",
        )
        for child in client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}' and attributes.status = 'RUNNING'",
        ):
            client.set_terminated(child.info.run_id, status="FAILED")
        client.set_terminated(run.info.run_id, status="FAILED")
        ended.append(run.info.run_id)
    return ended


def fail_run(run: dict[str, str] | None) -> None:
    """Best effort: mark the run FAILED (the store may be the thing that is down)."""
    import mlflow

    try:
        if run is not None:
            mlflow.MlflowClient().set_terminated(run["run_id"], status="FAILED")
        elif mlflow.active_run() is not None:
            mlflow.end_run(status="FAILED")
    except Exception:  # the store is unreachable: the run stays RUNNING there, the caller reports it
        pass


def signature_and_example():
    """Input schema (1-5 and numeric items as float64 so missing answers are allowed; choices as
    strings), output schema, and a 3-row input example."""
    import numpy as np
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    instrument = load_instrument()
    inputs = Schema(
        [
            ColSpec("string" if i.kind == "choice" else "double", i.id, required=False)
            for i in instrument.items
        ]
    )
    outputs = Schema(
        [
            ColSpec("double", "p_swe"),
            ColSpec("double", "p_mle"),
            ColSpec("string", "role"),
            ColSpec("string", "prediction_set"),
            ColSpec("string", "verdict"),
        ]
        + [ColSpec("string", f"reason_{k}", required=False) for k in (1, 2, 3)]
        + [
            ColSpec("double", "all_answers_p_swe"),
            ColSpec("double", "all_answers_p_mle"),
            ColSpec("string", "all_answers_role"),
            ColSpec("string", "all_answers_prediction_set"),
            ColSpec("string", "all_answers_verdict"),
        ]
        + [
            ColSpec("long", "readiness_swe_gaps", required=False),
            ColSpec("string", "readiness_swe_top_gap", required=False),
            ColSpec("long", "readiness_mle_gaps", required=False),
            ColSpec("string", "readiness_mle_top_gap", required=False),
        ]
    )
    rows = [
        {"interest_coding_puzzles": 5.0, "interest_math": 1.0, "pref_fast_job_entry": 5.0,
         "career_goal": "full_stack_developer"},
        {"interest_data_patterns": 5.0, "interest_math": 5.0, "years_ml": 3.5,
         "career_goal": "applied_scientist"},
        {"years_coding": 7.5, "uses_python": 1.0, "activity_ml_service": 1.0, "education": "master"},
    ]  # fmt: skip
    example = pd.DataFrame(rows, columns=list(instrument.ids))
    for item in instrument.items:
        example[item.id] = example[item.id].astype(object if item.kind == "choice" else np.float64)
    example = example[[c for c in example.columns if example[c].notna().any()]]
    return ModelSignature(inputs=inputs, outputs=outputs), example


def log_pyfunc(bundle_dir: str | Path):
    """Log the bundle as a pyfunc model from code (no pickle), with signature and input example."""
    import mlflow

    signature, example = signature_and_example()
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PACKAGE_DIR / "ops" / "pyfunc.py"),
        artifacts={"bundle": str(bundle_dir)},
        code_paths=[str(PACKAGE_DIR)],
        signature=signature,
        input_example=example,
        pip_requirements=["numpy", "pandas", "pyyaml", "scikit-learn", "skops", "pydantic"],
    )


# ---------------------------------------------------------------------------------------------------
# quality gate and registry


def current_champion() -> dict[str, Any] | None:
    """The registered champion's version and validation metrics, or None when there is none."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(MODEL_NAME, ALIAS)
    except MlflowException:
        return None
    metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
    return {"version": version.version, "run_id": version.run_id, "metrics": metrics}


def register_challenger(run: dict[str, str], verdict: GateVerdict, *, experiment: bool = False) -> str:
    """Register the run's model as a new version with alias ``challenger`` and record the gate's verdict.

    The verdict, its reasons and the side-by-side table go into tags, the version's description and the
    run's description (``mlflow.note.content``) and an artifact ``gate.md``; ``champion`` is not moved
    here (see :func:`promote`).
    """
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    version = mlflow.register_model(run["model_uri"], MODEL_NAME)
    verdict = verdict.for_version(str(version.version))
    outcome = "passed" if verdict.passed else "refused"
    tags = {
        "gate.verdict": outcome,
        "gate.reasons": " | ".join(verdict.reasons) if verdict.reasons else "all checks passed",
        "gate.experiment": str(experiment).lower(),
        **{f"gate.{k}": str(v) for k, v in verdict.checks.items()},
    }
    if verdict.notes:
        tags["gate.notes"] = " | ".join(verdict.notes)
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version.version, key, value[:5000])
        client.set_tag(run["run_id"], key, value[:5000])
    client.set_tag(run["run_id"], "registered_version", str(version.version))
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version.version)
    run_tags = client.get_run(run["run_id"]).data.tags
    sources = run_tags.get("real_training_sources", "none")
    # short names a reviewer filters by in the registry (tags.verdict = 'refused', tags.sources LIKE ...)
    short = {
        "sources": sources,
        "verdict": outcome,
        "experiment": str(experiment).lower(),
        "gate.table": gate_table(verdict) or "no comparison (no champion to compare with)",
        "model_version": run_tags.get("model_version", ""),
        "candidate": f"{run_tags.get('champion_candidate', '')} + {run_tags.get('champion_calibration', '')}",
    }
    for key, value in short.items():
        client.set_model_version_tag(MODEL_NAME, version.version, key, value[:5000])
    describe_registered_model()
    if not verdict.passed:
        why = "refused by the quality gate; champion unchanged."
    elif experiment:
        why = "passed the quality gate in an experiment: not promoted (rolefit promote does that)."
    else:
        why = "passed the quality gate."
    text = (
        f"rolefit version {version.version}, trained on real sources: {sources}. Challenger {why}\n\n"
        + verdict.markdown()
    )
    client.update_model_version(MODEL_NAME, version.version, description=text[:5000])
    client.set_tag(run["run_id"], "mlflow.note.content", text[:5000])
    client.log_text(run["run_id"], verdict.markdown(), "gate.md")
    return str(version.version)


MODEL_DESCRIPTION = (
    "rolefit: how well a person fits software engineering (SWE) versus ML engineering (MLE), for career "
    "exploration, not screening. Every trained model is registered as a version with alias 'challenger'; "
    "alias 'champion' is the version that passed the quality gate (rolefit.evaluation.gate) and was "
    "promoted. "
    "Each version's description says what it was trained on and the gate's verdict."
)


MODEL_TAGS = {
    "task": "binary classification: swe vs mle",
    "intended_use": "career exploration, not screening",
    "flavor": "pyfunc from code around a signed rolefit bundle",
}


def gate_table(verdict: GateVerdict) -> str:
    """The gate's challenger-vs-champion table alone (markdown), empty when nothing was compared."""
    lines = verdict.markdown().splitlines()
    return "\n".join(line for line in lines if line.startswith("|"))


def describe_registered_model() -> None:
    """The registered model's description (when it has none yet) and its filterable tags."""
    from mlflow import MlflowClient

    client = MlflowClient()
    model = client.get_registered_model(MODEL_NAME)
    if not model.description:
        client.update_registered_model(MODEL_NAME, description=MODEL_DESCRIPTION)
    for key, value in MODEL_TAGS.items():
        if model.tags.get(key) != value:
            client.set_registered_model_tag(MODEL_NAME, key, value)


def promote(version: str, verdict: GateVerdict | None, *, reason: str = "") -> None:
    """Move ``champion`` to ``version`` and say why in its description and the registered model's.

    ``verdict`` None: a rollback (no gate ran); the version's tags say so (:func:`record_rollback`)."""
    from datetime import UTC, datetime

    from mlflow import MlflowClient

    client = MlflowClient()
    client.set_registered_model_alias(MODEL_NAME, ALIAS, version)
    tags = client.get_model_version(MODEL_NAME, version).tags
    sources = tags.get("sources") or tags.get("gate.real_training_sources", "none")
    client.update_registered_model(
        MODEL_NAME, description=f"{MODEL_DESCRIPTION} Champion now: version {version} ({sources})."
    )
    client.set_registered_model_tag(MODEL_NAME, "champion_version", str(version))
    current = client.get_model_version(MODEL_NAME, version).description or ""
    what = "Promoted to champion" if verdict is not None else "Champion again by a rollback (no gate)"
    note = f"{what}{': ' + reason if reason else ''}."
    if verdict is not None:
        note += f"\n\n{verdict.markdown()}"
    client.update_model_version(MODEL_NAME, version, description=(note + "\n\n" + current)[:5000])
    if verdict is not None:
        client.set_model_version_tag(MODEL_NAME, version, "promoted", "true")
    client.set_model_version_tag(
        MODEL_NAME, version, "promoted_at", datetime.now(UTC).isoformat(timespec="seconds")
    )


def record_rollback(version: str, rollback: dict[str, str]) -> None:
    """Tag ``version`` as made champion again by ``rolefit promote --rollback``: from which version,
    who, when, why (tags ``rollback``, ``rollback_from``, ``rollback_by``, ``rollback_at``,
    ``rollback_reason``; a later rollback to it overwrites them, its description keeps each)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for key, value in rollback.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value[:5000])


def version_history() -> list[dict[str, Any]]:
    """Every registered version of the model, oldest first: when it was registered, its verdict, real
    sources, whether it was promoted, forced or rolled back to, and its aliases (what ``rolefit
    versions`` prints and the model-report notebook shows)."""
    from datetime import UTC, datetime

    from mlflow import MlflowClient

    client = MlflowClient()
    try:
        aliases = client.get_registered_model(MODEL_NAME).aliases or {}
    except Exception:  # no model registered yet
        return []
    by_version: dict[str, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(str(number), []).append(alias)
    out = []
    for version in client.search_model_versions(f"name = '{MODEL_NAME}'"):
        tags = version.tags
        out.append(
            {
                "version": int(version.version),
                "model_version": tags.get("model_version", ""),
                "registered_at": datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(
                    timespec="seconds"
                ),
                "verdict": tags.get("verdict") or tags.get("gate.verdict", ""),
                "sources": tags.get("sources") or tags.get("gate.real_training_sources", ""),
                "experiment": tags.get("experiment") or tags.get("gate.experiment", ""),
                "promoted": tags.get("promoted", "").startswith("true"),
                "promoted_at": tags.get("promoted_at", ""),
                "forced": tags.get("forced") == "true",
                "rollback_from": tags.get("rollback_from", ""),
                "rollback_reason": tags.get("rollback_reason", ""),
                "aliases": sorted(by_version.get(str(version.version), [])),
                "run_id": version.run_id,
            }
        )
    return sorted(out, key=lambda row: row["version"])


def record_forced(version: str, forced: dict[str, str]) -> None:
    """Tag ``version`` as promoted past a refusing gate (``rolefit promote --force``): who, when, why."""
    from mlflow import MlflowClient

    client = MlflowClient()
    for key, value in forced.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value[:5000])


def finish_promotion(version: str) -> None:
    """Move ``champion`` to ``version`` for a promotion that passed the gate but crashed midway."""
    from mlflow import MlflowClient

    client = MlflowClient()
    client.set_registered_model_alias(MODEL_NAME, ALIAS, version)
    client.set_model_version_tag(MODEL_NAME, version, "promoted", "true (finished after an interruption)")


def download_version(
    version: str, destination: str | Path | None = None, *, project: str | Path | None = None
) -> Path:
    """The bundle of registered version ``version`` of the model; ``project``: check it with that
    project's signing key (:func:`rolefit.scoring.registry.download_champion`)."""
    return download_champion(f"models:/{MODEL_NAME}/{version}", destination, project=project)
