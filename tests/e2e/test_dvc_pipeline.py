"""`dvc repro` for real, on a temporary copy of the repository (with ../shared beside it)."""

import json
import subprocess

import pytest
import yaml

from rolefit.scoring.champion import resolve

from .helpers import BIN, copy_repository, env, quick_pipeline_params

pytestmark = pytest.mark.slow
STAGES = ("ingest@kaggle2021", "ingest@stackoverflow2017", "marginals", "synthesize", "build", "train",
          "evaluate", "export")  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A copy of the repository with quicker params, committed (`dvc metrics diff HEAD` reads HEAD's).

    What is checked here is DVC's bookkeeping (which stages run, what they leave, what shows), not the
    full-size model: the session champion (tests/conftest.py) is trained with params.yaml itself."""
    copy = copy_repository(tmp_path_factory.mktemp("dvc"))
    quick_pipeline_params(copy)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "commit", "-qam", "quicker params"], cwd=copy, check=True)
    return copy


def dvc(repo, *args, timeout=600):
    return subprocess.run([str(BIN / "dvc"), *args], cwd=repo, env=env(), capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def ran(output: str) -> set[str]:
    return {stage for stage in STAGES if f"Running stage '{stage}'" in output}


def test_repro_runs_everything_then_nothing_then_only_what_changed(repo):
    first = dvc(repo, "repro")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    # every stage whose outputs are absent runs; marginals' output is committed and up to date with dvc.lock
    assert ran(first.stdout) >= set(STAGES) - {"marginals"}
    assert (resolve(repo / "models/champion") / "manifest.json").is_file()
    assert (repo / "mlflow.db").is_file()

    status = dvc(repo, "status")  # what `make run` leaves behind: nothing to redo
    assert status.returncode == 0 and "Data and pipelines are up to date" in status.stdout, status.stdout
    second = dvc(repo, "repro")
    assert second.returncode == 0 and ran(second.stdout) == set(), second.stdout[-2000:]
    assert "Data and pipelines are up to date" in second.stdout

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["logistic"]["alpha"] = 2.0
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = dvc(repo, "repro")
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert ran(third.stdout) == {"train", "evaluate", "export"}, third.stdout[-2000:]


def test_metrics_and_plots_show(repo):
    if not (repo / "reports/metrics.json").exists():
        pytest.skip("the pipeline did not run")
    metrics = dvc(repo, "metrics", "show", "--json")
    assert metrics.returncode == 0, metrics.stderr
    data = json.loads(metrics.stdout)
    values = next(iter(data.values()))["data"]["reports/challenger/metrics.json"]["data"]
    # reports/ follows the champion: after a promotion it holds the same summary
    champion = json.loads((repo / "reports/metrics.json").read_text())
    assert champion == json.loads((repo / "reports/challenger/metrics.json").read_text())
    assert values["synthetic"]["roc_auc"] > 0.8
    # metrics.json is committed: a diff against HEAD and the experiments table show real numbers
    diff = dvc(repo, "metrics", "diff", "HEAD", "--all", "--md")  # every metric, changed or not
    assert diff.returncode == 0 and "synthetic.roc_auc" in diff.stdout, diff.stdout + diff.stderr
    table = dvc(repo, "exp", "show", "--md")
    assert table.returncode == 0 and "synthetic.roc_auc" in table.stdout, table.stderr
    assert "!" not in table.stdout, table.stdout[:2000]
    header = [c.strip() for c in table.stdout.splitlines()[0].split("|")]
    metric_columns = [c for c in header if c.split(".")[0] in values]
    assert 10 < len(metric_columns) < 60, metric_columns  # a per-source summary, not hundreds of keys
    plots = dvc(repo, "plots", "show", "-o", "plots-out")
    assert plots.returncode == 0, plots.stderr
    html = (repo / "plots-out/index.html").read_text()
    for name in ("roc", "precision_recall", "reliability", "confusion"):
        assert f"{name}_csv" in html, name
    # one ROC and one calibration plot per source, and the page draws them with no network at all
    sources = {p.stem for p in (repo / "reports/challenger/plots/roc").glob("*.csv")}
    assert "synthetic" in sources
    drawn = draw_offline(repo / "plots-out/index.html")
    for source in sources:
        for kind in ("roc", "reliability"):
            assert drawn.get(f"reports_challenger_plots_{kind}_{source}_csv"), (kind, source, drawn)
    assert drawn["reports_challenger_plots_confusion_csv"]


def draw_offline(page_path) -> dict[str, bool]:
    """Open a `dvc plots show` page in headless Chromium with every request but the file itself refused;
    returns, per plot div, whether Vega drew into it. Fails on any attempt to reach the network."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    flags = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        try:
            page = browser.new_page()

            def refuse(route):
                if route.request.url.startswith("file://"):
                    return route.continue_()
                external.append(route.request.url)
                return route.abort()

            page.route("**/*", refuse)
            page.goto(page_path.as_uri())
            page.wait_for_timeout(1500)
            drawn = page.evaluate(
                """() => Object.fromEntries([...document.querySelectorAll('div[id]')].map(
                       d => [d.id, d.querySelector('svg, canvas') !== null]))"""
            )
        finally:
            browser.close()
    assert not external, f"the plots page tried to reach the network: {external[:5]}"
    return drawn


def test_stage_params_are_declared(repo):
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    assert set(spec) == {
        "ingest",
        "marginals",
        "item_gains",
        "synthesize",
        "build",
        "drift",
        "train",
        "evaluate",
        "export",
    }
    for name, stage in spec.items():
        stage = stage.get("do", stage)
        assert stage["cmd"].startswith("${python} pipelines/"), name
        assert any(str(d).startswith("pipelines/") for d in stage["deps"]), name
        assert stage["params"], name
