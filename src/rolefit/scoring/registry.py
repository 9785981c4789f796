"""Reading models from the MLflow registry: the store's URI and ``models:/rolefit@champion``-style URIs.

The scoring layer needs this to load ``ROLEFIT_MODEL=models:/...``; writing runs and versions is
:mod:`rolefit.ops.tracking`. MLflow is imported only inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path

EXPERIMENT = "rolefit"


def tracking_uri(root: str | Path = ".") -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the SQLite store ``mlflow.db`` at ``root``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(Path(root) / 'mlflow.db').resolve()}"


def configure(root: str | Path = ".") -> str:
    """Point MLflow at the store and experiment (call from entry points only)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    mlflow.set_experiment(EXPERIMENT)
    return uri


def download_champion(
    uri: str, destination: str | Path | None = None, *, project: str | Path | None = None
) -> Path:
    """Fetch the bundle behind a ``models:/rolefit@champion``-style URI; returns the bundle folder.

    ``project``: the root of the project whose registry it came from; the bundle is then checked with
    that project's signing key wherever it was downloaded to (:func:`rolefit.scoring.signing.assign_project`).
    Without it, only a key configured for the deployment (``ROLEFIT_SIGNING_KEY[_FILE]``) checks it: a
    temporary folder belongs to no project, and the working directory is never taken for one.
    """
    import tempfile

    import mlflow

    destination = Path(destination or tempfile.mkdtemp(prefix="rolefit-model-"))
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(destination)))
    # the logged model carries rolefit's own code (code/rolefit/), and with it the model packaged with
    # rolefit (packaged_model/): that one is not this version's bundle
    found = [
        p.parent
        for p in sorted(local.rglob("manifest.json"))
        if (p.parent / "scoring.json").exists() and (local / "code") not in p.parents
    ]
    if not found:
        raise FileNotFoundError(f"The MLflow model at {uri} holds no rolefit bundle.")
    if project is not None:
        from rolefit.scoring.signing import assign_project

        assign_project(found[0], project)
    return found[0]
