"""The rolefit command line, run as a real subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT

RF = [sys.executable, "-m", "rolefit.cli"]


def run(args, *, model=None, stdin=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ROLEFIT_"))}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if model is not None:
        env["ROLEFIT_MODEL"] = str(model)
    return subprocess.run(
        [*RF, *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_questionnaire_lists_every_item():
    out = run(["questionnaire"])
    assert out.returncode == 0
    from rolefit.questionnaire import load_instrument

    for item in load_instrument().items:
        assert item.id in out.stdout
    data = json.loads(run(["questionnaire", "--json"]).stdout)
    assert len(data["items"]) == len(load_instrument())


def test_predict_from_file_and_stdin(champion):
    _, path = champion
    human = run(["predict", "--answers", str(ROOT / "examples/person.json")], model=path)
    assert human.returncode == 0, human.stderr
    assert "Best fit: software engineering" in human.stdout and "Top reasons:" in human.stdout
    assert "not screening" in human.stdout
    machine = run(
        ["predict", "--answers", "-", "--json"],
        model=path,
        stdin='{"interest_math": 5, "interest_research": "5"}',
    )
    assert machine.returncode == 0, machine.stderr
    data = json.loads(machine.stdout)
    assert data["role"] == "mle" and abs(sum(data["probabilities"].values()) - 1) < 1e-12


def test_predict_bad_input_exits_2_naming_items(champion):
    _, path = champion
    out = run(["predict", "--answers", "-"], model=path, stdin='{"interest_math": 9, "skil_dsa": 1}')
    assert out.returncode == 2
    assert "interest_math" in out.stderr and "did you mean 'skill_dsa'" in out.stderr
    assert "Traceback" not in out.stderr
    out = run(["predict", "--answers", "-"], model=path, stdin="{not json")
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_predict_without_model_says_how_to_train(tmp_path):
    out = run(["predict", "--answers", "-"], model=tmp_path / "none", stdin="{}")
    assert out.returncode == 3 and "rolefit train" in out.stderr


@pytest.mark.slow
def test_train_exports_a_bundle_that_predicts(tmp_path):
    from ..e2e.helpers import small_params

    params = small_params(tmp_path / "params.yaml")
    out = run(["train", "--params", str(params)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Bayes log loss" in out.stdout and "champion:" in out.stdout
    assert "registered rolefit version 1" in out.stdout
    bundle = tmp_path / "models/champion"
    assert (bundle / "manifest.json").is_file() and (tmp_path / "mlflow.db").is_file()
    assert (tmp_path / "reports/model_card.md").is_file()
    pred = run(["predict", "--answers", "-", "--json"], model=bundle, stdin='{"interest_math": 5}')
    assert (
        json.loads(pred.stdout)["model_version"]
        == json.loads((bundle / "manifest.json").read_text())["model_version"]
    )
    assert Path(bundle).stat().st_mode & 0o777 == 0o755
