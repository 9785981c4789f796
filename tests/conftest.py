"""Shared fixtures: the default-params champion, trained once per test session."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# One signing key for every bundle the tests export and load in this process, whatever key a developer
# keeps in .rolefit/ (subprocesses in copied projects get their own: tests/e2e/helpers.env drops it).
TEST_SIGNING_KEY = "rolefit-tests-signing-key-0123456789abcdef"
os.environ["ROLEFIT_SIGNING_KEY"] = TEST_SIGNING_KEY
os.environ.pop("ROLEFIT_SIGNING_KEY_FILE", None)
os.environ.pop("ROLEFIT_REQUIRE_SIGNATURE", None)


@pytest.fixture(autouse=True)
def _id_key_outside_the_checkout(monkeypatch, tmp_path):
    """Ingests keep the id key they make on first use in the test's folder, not in the project."""
    monkeypatch.delenv("ROLEFIT_ID_KEY", raising=False)
    monkeypatch.setenv("ROLEFIT_ID_KEY_FILE", str(tmp_path / "key" / "id.key"))


@pytest.fixture(scope="session")
def default_params():
    from rolefit.config import load_params

    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def training_data(default_params):
    """The default training data (synthetic + the surveys found beside the clone) and ingest reports."""
    from rolefit.data.dataset import training_frame

    return training_frame(default_params, ROOT)


@pytest.fixture(scope="session")
def champion(tmp_path_factory, default_params, training_data):
    """Train with the project's default params exactly as `rolefit train` does; return (result, path).

    Uses the real surveys when they are present (as in CI, with ../shared beside the clone)."""
    from rolefit.model.train import train
    from rolefit.scoring.export import export

    frame, reports = training_data
    result = train(frame, default_params)
    result.extra["ingest_reports"] = reports
    with signed():
        path = export(result, tmp_path_factory.mktemp("bundle") / "champion", default_params)
    return result, path


@contextlib.contextmanager
def signed():
    """Sign with the tests' key, even when the test that first asks for a session bundle changed it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROLEFIT_SIGNING_KEY", TEST_SIGNING_KEY)
        patch.delenv("ROLEFIT_SIGNING_KEY_FILE", raising=False)
        patch.delenv("ROLEFIT_REQUIRE_SIGNATURE", raising=False)
        yield


@pytest.fixture(scope="session")
def boosting_champion(tmp_path_factory, default_params):
    """A smaller training run restricted to the gradient-boosting candidate."""
    from rolefit.data.dataset import synthetic_frame
    from rolefit.model.train import train
    from rolefit.scoring.export import export

    params = default_params.model_copy(
        update={
            "synthesize": default_params.synthesize.model_copy(update={"n_respondents": 12_000}),
            "train": default_params.train.model_copy(update={"candidates": ("boosting",)}),
        }
    )
    frame = synthetic_frame(params, ROOT)
    result = train(frame, params)
    with signed():
        path = export(result, tmp_path_factory.mktemp("bundle-boosting") / "champion", params)
    return result, path


@pytest.fixture(scope="session")
def evaluated(champion, training_data, default_params, tmp_path_factory):
    """The evaluate stage run on the champion: (evaluation, report paths)."""
    import json

    from rolefit.evaluation.evaluate import evaluate_bundle
    from rolefit.evaluation.reports import write_reports

    _, path = champion
    evaluation = evaluate_bundle(path, training_data[0], default_params)
    manifest = json.loads((path / "manifest.json").read_text())
    paths = write_reports(evaluation, tmp_path_factory.mktemp("reports"), manifest, default_params)
    return evaluation, paths


@pytest.fixture()
def use_model(monkeypatch):
    """Point rolefit.predict at a bundle for one test (and forget cached models around it)."""
    from rolefit.scoring.loader import clear_cache

    def _use(path):
        clear_cache()
        monkeypatch.setenv("ROLEFIT_MODEL", str(path))

    yield _use
    clear_cache()
