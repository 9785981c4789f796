"""Reproducible by construction, on a fresh clone: `make run` leaves git and DVC clean, twice; a refusal
leaves reports/ describing the champion and exits 4 from `make run` and `rolefit train` alike.

Quick: 20,000 synthetic respondents and the real surveys (as tests/e2e/test_release.py), two full
pipelines (the committing machine's and the fresh clone's), a refused one and one `rolefit train`.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from .helpers import BIN, copy_repository, env, quick_pipeline_params

pytestmark = pytest.mark.slow
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def make_run(repo: Path, environ: dict[str, str]) -> subprocess.CompletedProcess:
    # the clone's .venv is a link to this checkout's environment: never reinstall it from the clone
    return subprocess.run(
        ["make", "-o", ".venv/.installed-stamp", "run"], cwd=repo, env=environ, capture_output=True,
        text=True, timeout=1800,
    )  # fmt: skip


def clean(repo: Path, environ: dict[str, str]) -> tuple[str, str]:
    porcelain = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True)
    status = subprocess.run(
        [str(BIN / "dvc"), "status"], cwd=repo, env=environ, capture_output=True, text=True
    )
    return porcelain.stdout, status.stdout


def latest_training_run(repo: Path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{repo / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("rolefit")
    runs = client.search_runs(
        [experiment.experiment_id], "tags.model_uri != ''", order_by=["attributes.start_time DESC"]
    )
    return runs[0]


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """The committing machine: a quick-params repository whose `make run` outputs are committed."""
    origin = copy_repository(tmp_path_factory.mktemp("origin"))
    if not (origin.parent / "shared" / "data" / "surveys" / "kaggle-survey-2021.zip").exists():
        pytest.skip("../shared/data/surveys is not beside this clone: the scenario needs real respondents")
    quick_pipeline_params(origin)
    first = make_run(origin, env())
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    subprocess.run([*GIT, "add", "-A"], cwd=origin, check=True)
    subprocess.run([*GIT, "commit", "-qm", "make run: dvc.lock and metrics"], cwd=origin, check=True)
    return origin


@pytest.fixture(scope="module")
def fresh(committed, tmp_path_factory):
    """A fresh clone of it with ../shared beside it, as .ci/run has; its own signing key, no MLflow store."""
    base = tmp_path_factory.mktemp("fresh")
    clone = base / "repo"
    subprocess.run(["git", "clone", "-q", str(committed), str(clone)], check=True)
    (clone / ".venv").symlink_to(os.readlink(committed / ".venv"))
    (base / "shared").symlink_to(os.readlink(committed.parent / "shared"))
    return clone


def own_key() -> dict[str, str]:
    """The fresh clone's environment: no tests' signing key, so it signs with a key of its own."""
    return {k: v for k, v in env().items() if k != "ROLEFIT_SIGNING_KEY"}


def test_a_fresh_clone_runs_clean_twice(fresh):
    environ = own_key()
    first = make_run(fresh, environ)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    porcelain, status = clean(fresh, environ)
    assert porcelain == "", porcelain
    assert "Data and pipelines are up to date" in status, status
    assert (fresh / ".rolefit" / "signing.key").is_file()  # signed with another key than the committer's
    tag = latest_training_run(fresh).data.tags["git_commit"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=fresh, capture_output=True, text=True).stdout
    assert tag == head.strip(), tag  # no "-dirty": the training saw the committed tree

    second = make_run(fresh, environ)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    porcelain, status = clean(fresh, environ)
    assert porcelain == "" and "Data and pipelines are up to date" in status, porcelain + status


def test_a_refusal_leaves_the_champions_reports_and_exits_4(fresh):
    environ = own_key()
    champion_metrics = (fresh / "reports/metrics.json").read_bytes()
    params = yaml.safe_load((fresh / "params.yaml").read_text())
    for source in ("kaggle2021", "stackoverflow2017"):  # no real respondents in training: refused
        params["build"]["source_weights"][source] = 0.0
    (fresh / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    refused = make_run(fresh, environ)
    # the recipe ends with 4, as `rolefit train` does; make itself exits 2 for any failed recipe
    output = refused.stdout[-3000:] + refused.stderr[-3000:]
    assert refused.returncode == 2 and "run] Error 4" in refused.stderr, output
    assert "REFUSED by the quality gate" in refused.stdout  # the export stage's log names the refusal
    assert (fresh / "reports/metrics.json").read_bytes() == champion_metrics
    challenger = fresh / "reports/challenger"
    assert (challenger / "metrics.json").read_bytes() != champion_metrics
    assert (challenger / "model_card.md").is_file() and (challenger / "evaluation.md").is_file()
    explained = json.loads((challenger / "refusal.json").read_text())
    assert any("no real respondents in training" in r for r in explained["reasons"])
    assert explained["changed"]["weights"]["kaggle2021"] == {"champion": 1.0, "challenger": 0.0}
    settings = {s["setting"] for s in explained["suggestions"]}
    assert "build.source_weights.kaggle2021" in settings or any("source_weights" in s for s in settings)
    text = (challenger / "refusal.md").read_text()
    assert "What changed since the champion" in text and "kaggle2021 weight: 1.0 → 0.0" in text

    trained = subprocess.run(
        [str(BIN / "rolefit"), "train"], cwd=fresh, env=environ, capture_output=True, text=True, timeout=1800
    )
    assert trained.returncode == 4, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert (fresh / "reports/metrics.json").read_bytes() == champion_metrics
    assert (challenger / "refusal.md").is_file()
