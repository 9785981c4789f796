"""A trained result written as a model bundle, with its manifest."""

from __future__ import annotations

from pathlib import Path

from rolefit.config import Params
from rolefit.model.train import TrainResult
from rolefit.scoring.bundle import save_bundle


def export(
    result: TrainResult, directory: str | Path, params: Params, *, project: str | Path | None = None
) -> Path:
    """Write the champion bundle with its manifest (and ``answers.json`` when the result has an answer
    model: :func:`rolefit.data.distributions.answer_distributions`, computed by training; ``fit.json``
    when it has a fit, whose record goes into the manifest under ``fit``; ``readiness.json`` when it has
    readiness counts: :func:`rolefit.data.readiness.readiness_from_frame`, computed by training).

    ``project``: the project's root, whose signing key signs it (created by its first export); by
    default the project found above ``directory`` (:func:`rolefit.scoring.signing.key_for_export`)."""
    manifest = {
        "candidate": result.candidate,
        "calibration": result.calibration,
        "selection": result.selection,
        "metrics": result.metrics,
        "training_data": result.data,
        "max_table_error": result.max_table_error,
        "params": params.model_dump(mode="json"),
        **{k: v for k, v in result.extra.items() if k not in ("reference", "answers", "readiness")},
    }
    fit = getattr(result, "fit", None)
    if fit is not None:
        manifest["fit"] = fit.record()
    return save_bundle(
        directory,
        additive=result.additive,
        estimator=result.estimator,
        manifest=manifest,
        reference=result.extra.get("reference"),
        answers=result.extra.get("answers"),
        project=project,
        fit=None if fit is None else fit.model,
        readiness=result.extra.get("readiness"),
    )
