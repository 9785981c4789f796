"""What the release tests (test_release.py, test_champion_changes.py) share: running a command in a
project, its MLflow SQLite registry and the digest of its published champion."""

from __future__ import annotations

import hashlib
import subprocess

from rolefit.scoring.champion import resolve

from .helpers import env


def run(repo, *args, timeout=900):
    return subprocess.run(args, cwd=repo, env=env(), capture_output=True, text=True, timeout=timeout)


def client(repo):
    from mlflow import MlflowClient

    uri = f"sqlite:///{repo / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion_digest(repo) -> str:
    return hashlib.sha256((resolve(repo / "models/champion") / "manifest.json").read_bytes()).hexdigest()
