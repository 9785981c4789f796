"""`rolefit drift`: a shifted batch must alarm, a fresh batch from the same distribution must not."""

import json
import subprocess
import sys

import pytest

from rolefit.config import DriftParams, SynthesizeParams
from rolefit.data.distributions import profile
from rolefit.data.synthetic import generate, read_marginals
from rolefit.evaluation.drift import compare, psi
from tests.environment import child_env

from ..conftest import ROOT


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drift")
    marginals = read_marginals(ROOT / "data/reference/survey_marginals.csv")
    same = generate(SynthesizeParams(), marginals, n=5000, seed=4242, id_prefix="new")
    shifted_params = SynthesizeParams(
        fit_intercept=0.8, role_effect=1.2, skip_rate_min=0.3, skip_rate_max=0.4
    )
    shifted = generate(shifted_params, marginals, n=5000, seed=4343, id_prefix="shift")
    same.to_parquet(folder / "same.parquet")
    shifted.to_parquet(folder / "shifted.parquet")
    return folder


def drift(path, champion, out):
    env = child_env()
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "rolefit.apps.cli", "drift", str(path), "--reference", "synthetic", "--model",
         str(champion[1]), "--params", str(out.parent / "params.yaml"), "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=out.parent, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_same_distribution_stays_quiet_and_shift_alarms(batches, champion, tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    quiet = drift(batches / "same.parquet", champion, tmp_path / "same.json")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    report = json.loads((tmp_path / "same.json").read_text())
    assert report["drifted"] is False and report["max_psi"] < 0.05
    loud = drift(batches / "shifted.parquet", champion, tmp_path / "shifted.json")
    assert loud.returncode == 1, loud.stdout + loud.stderr
    report = json.loads((tmp_path / "shifted.json").read_text())
    assert report["drifted"] and any("PSI" in a for a in report["alarms"])
    assert any("MLE share changed" in a for a in report["alarms"])
    assert any("skipped share" in a for a in report["alarms"])
    assert "ALARM" in loud.stdout
    # the report was logged to MLflow too
    assert (tmp_path / "mlflow.db").is_file()


def test_psi_is_zero_for_identical_and_grows_with_shift():
    assert psi({"1": 0.5, "2": 0.5}, {"1": 0.5, "2": 0.5}) == 0
    assert (
        psi({"1": 0.9, "2": 0.1}, {"1": 0.5, "2": 0.5}) > psi({"1": 0.6, "2": 0.4}, {"1": 0.5, "2": 0.5}) > 0
    )


def test_label_shift_is_reported(batches):
    import pandas as pd

    same = pd.read_parquet(batches / "same.parquet")
    report = compare(same.assign(role="mle"), profile(same), DriftParams())
    assert report["label_shift"]["new"] == 1.0 and report["drifted"]
