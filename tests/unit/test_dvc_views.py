"""What DVC shows a reviewer: the retraining tutorial's `dvc exp show` stays short and holds the gate's
verdict and the registered version; plot data is versioned (committed or cached) so `dvc plots diff` compares
revisions; every panel names its source and metric."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT

DVC = Path(sys.executable).parent / "dvc"
MAX_COLUMNS = 25
#: The docs page that shows a reviewer the curated `dvc exp show` (it was the README's).
RETRAIN_TUTORIAL = ROOT / "docs" / "tutorials" / "retrain.md"


def stage(name: str) -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name]


def entries(section: list) -> dict[str, dict]:
    out = {}
    for entry in section:
        path, spec = next(iter(entry.items())) if isinstance(entry, dict) else (entry, {})
        out[path] = spec or {}
    return out


def ignored(path: str) -> bool:
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, capture_output=True)
    return done.returncode == 0


def readme_exp_show() -> list[str]:
    """The `dvc exp show` command of the retraining tutorial (the curated one), as arguments."""
    import shlex

    commands = re.findall(r"^\s*\.venv/bin/dvc exp show (.+)$", RETRAIN_TUTORIAL.read_text(), re.M)
    curated = [c for c in commands if "--keep" in c]
    assert curated, "the retraining tutorial shows no curated `dvc exp show` command"
    return ["exp", "show", *shlex.split(curated[0])]


def test_every_plot_is_versioned_and_every_panel_named():
    plots = entries(stage("evaluate")["plots"])
    titles = [spec["title"] for spec in plots.values() if "title" in spec]
    assert len(titles) == len(set(titles)), titles
    for path, spec in plots.items():
        cached = spec.get("cache", True)
        # committed (not cached): git must not ignore it; cached: DVC keeps every revision's copy
        assert cached or not ignored(f"{path}/x.csv" if not path.endswith(".csv") else path), path
        if not path.endswith(".csv"):
            # a folder of one file per source: no shared title, so each panel is titled by its file
            # (reports/plots/<metric>/<source>.csv), and its axes say what they are
            assert "title" not in spec and spec.get("x_label") and spec.get("y_label"), path
        else:
            assert "title" in spec, path


def test_the_gate_verdict_and_version_are_dvc_metrics():
    from rolefit.evaluation.gate import GateVerdict
    from rolefit.ops.release import Release, release_metrics

    metrics = entries(stage("export")["metrics"])
    assert "reports/release.json" in metrics and metrics["reports/release.json"]["cache"] is False
    assert not ignored("reports/release.json")
    refused = Release(
        verdict=GateVerdict(passed=False, reasons=["worse"]), version="7", promoted=False, experiment=True
    )
    assert release_metrics(refused, "0123456789ab") == {
        "gate": "refused",
        "model_version": "0123456789ab",
        "promoted": False,
        "experiment": True,
    }


@pytest.mark.skipif(not DVC.is_file(), reason="dvc is not installed in this environment")
def test_the_readme_exp_show_is_short_and_holds_verdict_and_version(tmp_path):
    """The tutorial's command on a copy of this repository's pipeline files with one release recorded."""
    for name in ("dvc.yaml", "params.yaml", "reports/challenger/metrics.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "reports/release.json").write_text(
        json.dumps({"gate": "passed", "model_version": "0123456789ab", "promoted": True, "experiment": False})
    )

    def run(*args, tool="git"):
        done = subprocess.run([str(DVC) if tool == "dvc" else tool, *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("init", "-q")
    run("init", "-q", tool="dvc")
    run("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    full = run("exp", "show", "--md", tool="dvc").splitlines()[0].split("|")[1:-1]
    table = run(*readme_exp_show(), tool="dvc").splitlines()
    header = [c.strip() for c in table[0].split("|")[1:-1]]
    assert len(header) <= MAX_COLUMNS < len(full), header
    assert {"gate", "model_version", "promoted"} <= set(header)
    assert {"kaggle2021.log_loss", "kaggle2021.ece", "all.roc_auc"} <= set(header)
    assert "evaluate.ece_bins" not in header  # an anchored pattern keeps only what it names
    row = [c.strip() for c in table[2].split("|")[1:-1]]
    assert dict(zip(header, row, strict=True))["gate"] == "passed"


@pytest.mark.skipif(not DVC.is_file(), reason="dvc is not installed in this environment")
def test_plots_diff_compares_two_revisions_offline_with_named_panels(tmp_path):
    """Two commits of the committed plot data: `dvc plots diff HEAD~1` draws both revisions in every
    per-source panel, titled by its metric and source, with the project's own (offline) template."""

    def run(*args, tool="git"):
        command = (
            [str(DVC), *args]
            if tool == "dvc"
            else ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        )
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("init", "-q")
    run("init", "-q", tool="dvc")
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copy(ROOT / ".dvc/config", tmp_path / ".dvc/config")
    shutil.copytree(ROOT / ".dvc/plots", tmp_path / ".dvc/plots")
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    plots = tmp_path / "reports/challenger/plots"
    for kind, (x, y) in {"roc": ("fpr", "tpr"), "reliability": ("predicted", "observed")}.items():
        (plots / kind).mkdir(parents=True)
        for source in ("kaggle2021", "spring2027"):
            (plots / kind / f"{source}.csv").write_text(f"{x},{y}\n0,0\n0.5,0.7\n1,1\n")
    run("add", "-A")
    run("commit", "-qm", "main")
    for source in ("kaggle2021", "spring2027"):
        (plots / "roc" / f"{source}.csv").write_text("fpr,tpr\n0,0\n0.5,0.9\n1,1\n")
    assert run("status", "--porcelain", "reports/challenger/plots"), "the plot data is not tracked by git"
    data = json.loads(run("plots", "diff", "HEAD", "--json", tool="dvc"))["data"]
    for source in ("kaggle2021", "spring2027"):
        panel = data[f"reports/challenger/plots/roc/{source}.csv"][0]
        assert set(panel["revisions"]) == {"HEAD", "workspace"}
        title = panel["content"]["title"]["text"]
        assert "roc" in title and source in title, title
        assert panel["content"]["encoding"]["x"]["title"] == "false positive rate (test split)"
    run("plots", "diff", "HEAD", "-o", "page", tool="dvc")
    page = (tmp_path / "page/index.html").read_text()
    # the project's template (Vega inlined), not DVC's default page that loads Vega from a CDN
    assert (ROOT / ".dvc/plots/offline.html").read_text()[:200] in page
    assert not re.search(r"<script[^>]*\bsrc=[\"']?https?:", page)
