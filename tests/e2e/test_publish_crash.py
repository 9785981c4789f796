"""Promotion is crash-safe end to end: a real MLflow SQLite store, real processes stopped dead at each step.

After a crash at any step the champion folder is whole; the next run (:func:`rolefit.release.reconcile`)
brings the folder and the registry's ``champion`` alias back to one version and says what it did. A
training killed while logging leaves a RUNNING run that the next training marks FAILED.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rolefit.scoring import champion as published
from rolefit.scoring.bundle import MANIFEST, load_additive
from tests.bundles import make_variants

from .helpers import env

pytestmark = pytest.mark.slow

PRELUDE = """
import sys
from pathlib import Path
from rolefit.ops import release
from rolefit.ops import tracking
from rolefit.evaluation.gate import GateVerdict
root = Path(sys.argv[1])
tracking.configure(root)
"""
REGISTER = (
    PRELUDE
    + """
import mlflow
with mlflow.start_run():
    info = tracking.log_pyfunc(sys.argv[2])
print(mlflow.register_model(info.model_uri, tracking.MODEL_NAME).version)
"""
)
PUBLISH = (
    PRELUDE
    + """
release.publish(Path(sys.argv[2]), root / "champion", sys.argv[3], GateVerdict(True, []), reason="test")
"""
)
RECONCILE = PRELUDE + 'release.reconcile(root / "champion", print)'


def python(root, script, *args, **extra):
    done = subprocess.run(
        [sys.executable, "-c", script, str(root), *map(str, args)],
        cwd=root,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done


def ok(done):
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def project(champion, tmp_path_factory):
    """A store with two registered versions of two real bundles; version 1 published as champion."""
    root = tmp_path_factory.mktemp("publish")
    folders, _ = make_variants(champion[1], root / "bundles", 2)
    versions = [ok(python(root, REGISTER, folder)).strip().splitlines()[-1] for folder in folders]
    assert versions == ["1", "2"]
    return root, folders


def client(root):
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def alias(root) -> str:
    return str(client(root).get_model_version_by_alias("rolefit", "champion").version)


def bundle_version(folder) -> str:
    return json.loads((folder / MANIFEST).read_text())["model_version"]


@pytest.mark.parametrize(
    "step",
    ["publish.copied", "publish.staged", "publish.journaled", "publish.alias", "publish.switched"],
    ids=lambda s: s.split(".")[1],
)
def test_a_crash_at_each_publish_step_leaves_a_whole_champion_that_agrees_with_mlflow(project, step):
    root, folders = project
    target = root / "champion"
    ok(python(root, PUBLISH, folders[0], "1"))
    assert alias(root) == "1" and published.state(target).mlflow_version == "1"

    crashed = python(root, PUBLISH, folders[1], "2", ROLEFIT_FAILPOINT=step)
    assert crashed.returncode == published.FAILPOINT_EXIT, crashed.stderr[-3000:]
    # whole: the folder names one verified bundle, whatever the step
    _, manifest = load_additive(published.resolve(target))
    state = published.state(target)
    assert manifest["model_version"] == state.bundle
    if step != "publish.alias":  # every other step leaves alias and folder on the same version
        assert alias(root) == state.mlflow_version

    # the next run finishes or repairs, and says so when it changed something
    said = ok(python(root, RECONCILE))
    state = published.state(target)
    assert alias(root) == state.mlflow_version, said
    assert state.pending is None
    expected = "2" if step in ("publish.journaled", "publish.alias", "publish.switched") else "1"
    assert state.mlflow_version == expected
    assert bundle_version(published.resolve(target)) == bundle_version(folders[int(expected) - 1])
    if step in ("publish.journaled", "publish.alias"):
        assert "finished an interrupted promotion" in said and "version 2" in said
    else:
        assert said.strip() == ""
    assert not [p for p in target.rglob("*") if ".rolefit-tmp-" in p.name], "a crash left temporaries"


def test_an_alias_moved_elsewhere_is_followed_by_the_folder_on_the_next_run(project):
    root, folders = project
    target = root / "champion"
    ok(python(root, PUBLISH, folders[0], "1"))
    client(root).set_registered_model_alias("rolefit", "champion", "2")  # e.g. moved in the MLflow UI
    said = ok(python(root, RECONCILE))
    assert "repaired" in said and "registry's champion is version 2" in said
    assert published.state(target).mlflow_version == "2"
    assert bundle_version(published.resolve(target)) == bundle_version(folders[1])


KILLED_TRAINING = (
    PRELUDE
    + """
import os, mlflow
run = mlflow.start_run(run_name="killed")
mlflow.set_tags(tracking._owner_tags())
print(run.info.run_id, flush=True)
os.kill(os.getpid(), 9)
"""
)
NEXT_TRAINING = PRELUDE + "print(' '.join(tracking.fail_abandoned_runs()))"


def test_runs_of_a_killed_training_are_marked_failed_by_the_next_one(project):
    root, _ = project
    killed = python(root, KILLED_TRAINING)
    assert killed.returncode == -9
    run_id = killed.stdout.split()[0]
    assert client(root).get_run(run_id).info.status == "RUNNING"
    assert run_id in ok(python(root, NEXT_TRAINING)).split()
    run = client(root).get_run(run_id)
    assert run.info.status == "FAILED"
    assert "ended without finishing" in run.data.tags["mlflow.note.content"]
