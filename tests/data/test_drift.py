"""`rolefit drift`: a shifted batch must alarm, a fresh batch from the same distribution must not."""

import json
import os
import subprocess
import sys

import pytest

from rolefit.config import DriftParams, SynthesizeParams, load_params
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


def _two_sources(batches):
    import pandas as pd

    same = pd.read_parquet(batches / "same.parquet")
    shifted = pd.read_parquet(batches / "shifted.parquet")
    return same, shifted


def test_each_source_is_compared_with_its_own_earlier_profile_first(batches):
    """A survey unlike the synthetic respondents raises no alarm against its own earlier profile (a fresh
    clone: 0 alarms, not 9), and alarms when it moved from it."""
    import pandas as pd

    from rolefit.evaluation.drift import check_sources, record

    same, shifted = _two_sources(batches)
    synthetic = same.assign(source="synthetic")
    survey, other = shifted.assign(source="survey"), same.assign(source="other")
    earlier = record(pd.concat([synthetic, survey, other]))["sources"]
    assert set(earlier) == {"survey", "other"} and set(earlier["survey"]["roles"]) == {"swe", "mle"}
    quiet = check_sources(pd.concat([synthetic, survey, other]), earlier, DriftParams(), label="test")
    assert quiet["alarms"] == []
    assert {k: v["reference"] for k, v in quiet["sources"].items()} == {"survey": "survey", "other": "other"}
    # the same survey later, moved towards the synthetic population: alarms against its own profile
    moved = check_sources(same.assign(source="survey"), earlier, DriftParams(), label="test")
    assert moved["drifted"] and all(a.startswith("survey: ") for a in moved["alarms"])


def test_a_new_source_is_compared_with_the_real_sources_not_synthetic(batches):
    import pandas as pd

    from rolefit.evaluation.drift import check_sources, record

    same, shifted = _two_sources(batches)
    earlier = record(pd.concat([same.assign(source="synthetic"), shifted.assign(source="old")]))["sources"]
    report = check_sources(shifted.assign(source="new"), earlier, DriftParams(), label="test")
    assert report["sources"]["new"]["reference"] == "old" and report["alarms"] == []


def test_recorded_profiles_do_not_depend_on_splits_or_row_order(batches):
    from rolefit.evaluation.drift import record

    same, _ = _two_sources(batches)
    frame = same.assign(source="survey", split="train")
    shuffled = frame.sample(frac=1.0, random_state=1).assign(split="test")
    assert record(frame) == record(shuffled)


def test_the_drift_stage_reads_only_what_dvc_yaml_declares(batches, tmp_path):
    """Run pipelines/drift.py in a bare project (no models/, no champion) under an audit hook that
    records every file it opens inside the project: each must be a declared dependency (or its output)."""
    import yaml

    from rolefit.data.dataset import build
    from rolefit.evaluation.drift import record

    same, shifted = _two_sources(batches)
    frame = build({"synthetic": same, "survey": shifted}, load_params(ROOT / "params.yaml"))
    (tmp_path / "data/processed").mkdir(parents=True)
    (tmp_path / "data/reference").mkdir(parents=True)
    frame.to_parquet(tmp_path / "data/processed/dataset.parquet")
    (tmp_path / "data/reference/source_profiles.json").write_text(json.dumps(record(frame)))
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines/drift.py").write_text((ROOT / "pipelines/drift.py").read_text())
    hook = (
        "import sys, os, runpy\n"
        "opened = set()\n"
        "def hook(event, args):\n"
        "    if event == 'open' and isinstance(args[0], (str, bytes, os.PathLike)):\n"
        "        opened.add(os.path.abspath(os.fsdecode(args[0])))\n"
        "sys.addaudithook(hook)\n"
        "runpy.run_path('pipelines/drift.py', run_name='__main__')\n"
        "open('opened.txt', 'w').write('\\n'.join(sorted(opened)))\n"
    )
    env = child_env()
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run([sys.executable, "-c", hook], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["drift"]
    declared = set(stage["deps"]) | {"params.yaml"} | {next(iter(o)) if isinstance(o, dict) else o
                                                        for o in stage["outs"]}  # fmt: skip
    inside = [
        os.path.relpath(path, tmp_path)
        for path in (tmp_path / "opened.txt").read_text().split()
        if path.startswith(str(tmp_path)) and not path.endswith("opened.txt")
    ]
    assert "data/reference/source_profiles.json" in inside  # (Parquet is opened by Arrow, unseen here)
    assert sorted(set(inside) - declared) == []
    assert json.loads((tmp_path / "reports/drift.json").read_text())["alarms"] == []


def test_record_writes_the_earlier_profiles_the_stage_reads(batches, tmp_path):
    from rolefit.data.dataset import build, read_dataset
    from rolefit.evaluation.drift import record

    same, shifted = _two_sources(batches)
    frame = build({"synthetic": same, "survey": shifted}, load_params(ROOT / "params.yaml"))
    frame.to_parquet(tmp_path / "dataset.parquet")
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    done = subprocess.run(
        [sys.executable, "-m", "rolefit.apps.cli", "drift", str(tmp_path / "dataset.parquet"), "--record",
         "--params", str(tmp_path / "params.yaml")],
        capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0 and "survey (5,000)" in done.stdout, done.stdout + done.stderr
    written = json.loads((tmp_path / "data/reference/source_profiles.json").read_text())
    assert written == json.loads(json.dumps(record(read_dataset(tmp_path / "dataset.parquet"))))
