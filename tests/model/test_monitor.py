"""`rolefit monitor` on real people (issue #27's acceptance): the Kaggle 2021 test split the champion was
judged on says no retraining is needed; the Stack Overflow 2017 export gets a report naming the top
drifting items with their direction, the performance on its labelled rows and a recommendation; the
same Kaggle split with its people changed says retrain."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.environment import child_env

from ..conftest import ROOT

SURVEYS = ROOT.parent / "shared/data/surveys"
SO2017 = SURVEYS / "stackoverflow-survey-2017-partial.zip"


def monitor(tmp_path, export, champion, *args):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "rolefit.apps.cli", "monitor", str(export), "--model", str(champion[1]),
         "--out", str(out), "--bootstrap", "100", "--no-track", *args],
        capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=600,
    )  # fmt: skip
    report = json.loads((out / "monitor.json").read_text()) if (out / "monitor.json").is_file() else None
    text = (out / "monitor.md").read_text() if (out / "monitor.md").is_file() else ""
    return done, report, text


@pytest.fixture(scope="module")
def kaggle_test(training_data):
    frame = training_data[0]
    rows = frame[(frame["source"] == "kaggle2021") & (frame["split"] == "test")]
    if rows.empty:
        pytest.skip("the Kaggle 2021 survey is not beside the clone (../shared/data/surveys)")
    return rows.reset_index(drop=True)


def test_the_unchanged_kaggle_test_split_needs_no_retraining(kaggle_test, champion, tmp_path):
    path = tmp_path / "kaggle-test.parquet"
    kaggle_test.to_parquet(path)
    done, report, text = monitor(tmp_path, path, champion)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["recommendation"] == "no_retrain" and "No retraining needed." in done.stdout
    source = report["sources"]["kaggle2021"]
    assert source["against_earlier"] is not None and source["reasons"] == []
    # the champion's own test figures, on the very rows it was judged on
    perf = source["performance"]
    manifest = json.loads((champion[1] / "manifest.json").read_text())
    assert perf["n"] == len(kaggle_test) and perf["champion"]["source"] == "kaggle2021"
    assert perf["metrics"]["log_loss"] == pytest.approx(
        manifest["metrics"]["test/kaggle2021"]["log_loss"], abs=0.01
    )
    assert set(source["by_role"]) == {"swe", "mle"}
    assert "How well the model predicts these people" in text and (tmp_path / "report/monitor.html").is_file()


def test_the_kaggle_split_with_changed_people_says_retrain(kaggle_test, champion, tmp_path):
    """A third of the software engineers relabelled as ML engineers and answering Python: the MLE share
    and an item move, and the model scores them worse than its own test figures."""
    changed = kaggle_test.copy()
    rng = np.random.default_rng(0)
    swe = np.flatnonzero(changed["role"].to_numpy() == "swe")
    flipped = rng.choice(swe, size=len(swe) // 3, replace=False)
    changed.loc[flipped, "role"] = "mle"
    changed.loc[rng.random(len(changed)) < 0.5, "uses_python"] = 0.0
    path = tmp_path / "kaggle-changed.parquet"
    changed.to_parquet(path)
    done, report, text = monitor(tmp_path, path, champion)
    assert done.returncode == 1, done.stdout + done.stderr
    source = report["sources"]["kaggle2021"]
    assert report["recommendation"] == "retrain" and "Retrain" in done.stdout
    assert any("share of ML engineers" in r for r in source["reasons"])
    assert any("uses_python" in r for r in source["reasons"])
    assert "log_loss" in source["performance"]["worse"]
    assert source["against_earlier"]["ranking"][0] == "uses_python"
    assert "fewer say yes" in text


@pytest.mark.skipif(not SO2017.is_file(), reason="the Stack Overflow 2017 export is not beside the clone")
def test_the_stack_overflow_export_gets_items_direction_performance_and_advice(champion, tmp_path):
    done, report, text = monitor(tmp_path, SO2017, champion)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    source = report["sources"]["stackoverflow2017"]
    assert source["recommendation"] in ("retrain", "no_retrain")
    # against the training population (Kaggle 2021): the top items and which way they moved
    training = source["against_training"]
    top = [(k, training["items"][k]) for k in training["ranking"][:5]]
    assert top[0][1]["psi"] > 0.25
    for item_id, info in top:
        assert f"`{item_id}`" in text
        assert "mean_shift" in info or "gained" in info
    assert "uses_python" in dict(top) and training["items"]["uses_python"]["mean_shift"] < 0
    # the labelled rows, beside the champion's own figures for this source
    perf = source["performance"]
    assert perf["n"] > 10_000 and perf["champion"]["source"] == "stackoverflow2017"
    assert "champion's own test rows (stackoverflow2017)" in text
    assert ("Retrain" in text) or ("No retraining needed." in text)
