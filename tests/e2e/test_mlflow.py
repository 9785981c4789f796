"""MLflow for real: a tracking server on 127.0.0.1, the registry's quality gate, and model serving."""

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient

from rolefit.scoring.champion import resolve

from .helpers import BIN, Server, env, free_port, small_params

pytestmark = pytest.mark.slow
#: MLflow 3's UI starts on its GenAI screens whatever the experiment's kind; the docs' link (the MLflow
#: tutorial) adds this
ML = "?workflowType=machine_learning"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    srv = Server(
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
         "--artifacts-destination", str(base / "artifacts"), "--workers", "1"],
        url=f"http://127.0.0.1:{port}", cwd=base, environ=env(), log=base / "server.log",
    )  # fmt: skip
    try:
        srv.wait_ready("/health")
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return tmp_path_factory.mktemp("project")


def rolefit(args, cwd, tracking_uri):
    return subprocess.run(
        [str(BIN / "rolefit"), *args], cwd=cwd, env=env(MLFLOW_TRACKING_URI=tracking_uri),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def good_run(server, project):
    params = small_params(project / "params.yaml")
    out = rolefit(["train", "--params", str(params)], project, server.url)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def client(server):
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


def test_training_over_http_logs_a_reviewable_run(server, good_run):
    c = client(server)
    version = c.get_model_version_by_alias("rolefit", "champion")
    assert version.version == "1"
    run = c.get_run(version.run_id)
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["train.logistic.alpha"] == "1.0" and params["synthesize.n_respondents"] == "20000"
    for key in (
        "validation/all/log_loss",
        "test/synthetic/roc_auc",
        "test/synthetic/ece",
        "test/all/log_loss",
        "test/synthetic/log_loss_ratio_to_bayes",
        "sets/test/all/coverage",
        "selection/log_loss",
        "behaviour/passed",
        "rows/synthetic",
    ):
        assert key in metrics, key
    # the champion-facing summary; every other metric is in the run's metrics/*.json artifacts
    assert len(metrics) <= 60 and "test/all/f1_mle" not in metrics
    logged = json.loads(Path(c.download_artifacts(run.info.run_id, "metrics/training.json")).read_text())
    assert logged["test/all/f1_mle"] > 0 and logged["test/all/balanced_accuracy"] > 0
    assert logged["test/all/log_loss"] == pytest.approx(metrics["test/all/log_loss"])
    evaluated = json.loads(Path(c.download_artifacts(run.info.run_id, "metrics/evaluation.json")).read_text())
    assert "calibration_check/test/all/p_value" in evaluated and "sets/test/all/coverage" in evaluated
    assert metrics["rows/synthetic"] == 20000
    if "test/kaggle2021/log_loss" in metrics:  # the real surveys were beside the clone
        # the plain baseline beside the champion, and the paired difference, for a reviewer
        assert metrics["baseline/kaggle2021/log_loss"] > 0
        difference = metrics["test/kaggle2021/log_loss"] - metrics["baseline/kaggle2021/log_loss"]
        assert metrics["vs_baseline/kaggle2021/log_loss"] == pytest.approx(difference, abs=1e-9)
        assert 0 < metrics["test/stackoverflow2017/own_base_rate/ece"] < metrics["test/stackoverflow2017/ece"]
    assert tags["intended_use"] == "career exploration, not screening"
    assert len(tags["git_commit"]) >= 7 and len(tags["training_data_sha256"]) == 64
    assert tags["gate.verdict"] == "passed"
    artifacts = {a.path for a in c.list_artifacts(run.info.run_id)}
    assert {
        "model_card.md",
        "metrics.json",
        "evaluation.json",
        "figures",
        "plots",
        "behaviour.json",
    } <= artifacts
    figures = {a.path for a in c.list_artifacts(run.info.run_id, "figures")}
    assert {"figures/reliability.png", "figures/roc.png", "figures/precision_recall.png",
            "figures/confusion_matrix.png", "figures/importance.png"} <= figures  # fmt: skip
    card = Path(c.download_artifacts(run.info.run_id, "model_card.md"))
    assert "not for screening" in card.read_text().lower()
    children = c.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert {(r.data.params["candidate"], r.data.params["calibration"]) for r in children} == {
        (c_, m) for c_ in ("logistic", "boosting") for m in ("sigmoid", "coverage")
    }
    # why the winner won: every candidate's selection score, the winner's the lowest and the parent's
    [chosen] = [r for r in children if r.data.tags["selected"] == "true"]
    assert chosen.data.metrics["selection/log_loss"] == metrics["selection/log_loss"]
    assert chosen.data.metrics["selection/log_loss"] == min(
        r.data.metrics["selection/log_loss"] for r in children
    )
    assert sorted(r.data.metrics["selection/rank"] for r in children) == [1, 2, 3, 4]
    assert (
        chosen.data.metrics["selection/rank"] == 1
        and chosen.data.metrics["selection/log_loss_above_best"] == 0
    )
    assert tags["champion_candidate"] == chosen.data.params["candidate"]
    assert all(r.data.tags["mlflow.note.content"].startswith(("Chosen:", "Not chosen:")) for r in children)
    # the experiment is for model development, described; the registered model and version are filterable
    experiment = c.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "not screening" in experiment.tags["mlflow.note.content"]
    model = c.get_registered_model("rolefit")
    assert model.tags["intended_use"] == "career exploration, not screening" and model.description
    assert model.tags["champion_version"] == "1"
    assert version.tags["verdict"] == "passed" and version.tags["sources"] == "none"  # no survey here
    assert version.tags["gate.table"].startswith("| source | n | metric | challenger | champion |")
    assert [v.version for v in c.search_model_versions("name = 'rolefit' and tags.verdict = 'passed'")] == [
        "1"
    ]


def test_pyfunc_model_predicts_probabilities_and_reasons(server, good_run, monkeypatch):
    import mlflow
    import pandas as pd

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    model = mlflow.pyfunc.load_model("models:/rolefit@champion")
    frame = pd.DataFrame([{"interest_math": 5.0, "interest_research": 5.0}, {"interest_coding_puzzles": 5.0}])
    out = model.predict(frame)
    assert list(out.columns[:3]) == ["p_swe", "p_mle", "role"]  # the fit: the headline
    assert out["role"].tolist() == ["mle", "swe"]
    # the all-answers model, by name (issue #24)
    assert list(out.columns[-9:-4]) == ["all_answers_p_swe", "all_answers_p_mle", "all_answers_role",
                                        "all_answers_prediction_set", "all_answers_verdict"]  # fmt: skip
    # and readiness, per role: how many gaps and the most common (none here: no experience answered)
    assert list(out.columns[-4:]) == ["readiness_swe_gaps", "readiness_swe_top_gap", "readiness_mle_gaps",
                                      "readiness_mle_top_gap"]  # fmt: skip
    assert out["readiness_mle_gaps"].tolist() == [0, 0]
    assert ((out["all_answers_p_swe"] + out["all_answers_p_mle"] - 1).abs() < 1e-9).all()
    assert out.loc[0, "reason_1"] in {"interest_math", "interest_research"}
    assert model.metadata.signature.inputs.input_dict()["interest_math"].type.name == "double"


def test_worse_model_is_refused_and_champion_stays(server, project, good_run):
    worse = small_params(project / "worse.yaml", **{
        "candidates: [logistic, boosting]": "candidates: [logistic]",
        "logistic: {alpha: 1.0, max_iter: 1000}": "logistic: {alpha: 100000000.0, max_iter: 1000}",
    })  # fmt: skip
    bundle = resolve(project / "models/champion") / "manifest.json"
    before = bundle.read_text()
    out = rolefit(["train", "--params", str(worse)], project, server.url)
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr[-2000:]
    assert "quality gate refused" in out.stderr and "champion was not changed" in out.stderr
    c = client(server)
    assert c.get_model_version_by_alias("rolefit", "champion").version == "1"
    refused = c.get_model_version("rolefit", "2")
    assert refused.tags["gate.verdict"] == "refused"
    assert "synthetic is worse than the champion v1" in refused.tags["gate.reasons"]  # no real source here
    assert str(c.get_model_version_by_alias("rolefit", "challenger").version) == "2"
    assert "refused" in refused.description
    assert bundle.read_text() == before


def test_mlflow_serving_returns_probabilities(server, good_run, tmp_path):
    port = free_port()
    srv = Server(
        [str(BIN / "mlflow"), "models", "serve", "-m", "models:/rolefit@champion", "--env-manager", "local",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        url=f"http://127.0.0.1:{port}", cwd=tmp_path, environ=env(MLFLOW_TRACKING_URI=server.url),
        log=tmp_path / "serve.log",
    )  # fmt: skip
    try:
        srv.wait_ready("/ping", timeout=120)
        rows = [[5.0, "applied_scientist"], [1.0, "full_stack_developer"]]
        body = {"dataframe_split": {"columns": ["interest_math", "career_goal"], "data": rows}}
        request = urllib.request.Request(
            srv.url + "/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            predictions = json.loads(response.read())["predictions"]
    finally:
        srv.stop()
    assert len(predictions) == 2
    assert predictions[0]["role"] == "mle" and predictions[1]["role"] == "swe"
    for row in predictions:
        assert abs(row["p_swe"] + row["p_mle"] - 1) < 1e-9


def test_the_ui_opens_the_experiment_on_its_runs_table_and_candidates_show_their_selection_score(
    server, good_run
):
    """Headless Chromium on the real MLflow UI, at the docs' link: the runs table (not the GenAI
    overview), the training with its candidates beneath it, the parent run's few metrics, and a
    candidate's page showing the score it was selected by. Screenshots: reports/screenshots/mlflow-*.png."""
    import re

    from .helpers import ROOT, chromium

    shots = ROOT / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    c = client(server)
    experiment = c.get_experiment_by_name("rolefit")
    parent = c.get_run(c.get_model_version_by_alias("rolefit", "champion").run_id)
    children = c.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    [chosen] = [r for r in children if r.data.tags["selected"] == "true"]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{server.url}/#/experiments/{experiment.experiment_id}{ML}")
        page.get_by_text("matching runs").wait_for(timeout=90_000)
        assert re.search(rf"#/experiments/{experiment.experiment_id}/runs\b", page.url), page.url
        body = page.inner_text("body")
        assert "Token Usage" not in body and "Cost Breakdown" not in body  # not the GenAI overview
        names = page.locator('[role=gridcell][col-id="attributes.`Run Name`"]')
        names.first.wait_for(timeout=60_000)  # the table's rows render after its footer
        trainings = {names.nth(i).inner_text().splitlines()[-1] for i in range(names.count())}
        assert parent.info.run_name in trainings, trainings  # the champion's training among the runs
        row = page.locator("[role=row]").filter(has=page.get_by_text(parent.info.run_name, exact=True))
        row.locator('button[data-component-id*="runnamecellrenderer"]').click()  # expand the training
        page.get_by_text(chosen.info.run_name, exact=True).first.wait_for(timeout=30_000)
        shown = {names.nth(i).inner_text().splitlines()[-1] for i in range(names.count())}
        assert {r.info.run_name for r in children} <= shown
        page.screenshot(path=str(shots / "mlflow-runs.png"))

        page.goto(f"{server.url}/#/experiments/{experiment.experiment_id}/runs/{parent.info.run_id}{ML}")
        heading = page.get_by_text(re.compile(r"^Metrics \(\d+\)$"))
        heading.wait_for(timeout=60_000)
        count = int(re.search(r"\d+", heading.inner_text()).group())
        assert count == len(parent.data.metrics) and count <= 60
        page.screenshot(path=str(shots / "mlflow-parent-run.png"), full_page=True)

        page.goto(f"{server.url}/#/experiments/{experiment.experiment_id}/runs/{chosen.info.run_id}{ML}")
        page.get_by_text("selection/log_loss", exact=True).wait_for(timeout=60_000)
        body = page.inner_text("body")
        assert str(chosen.data.metrics["selection/log_loss"])[:6] in body
        assert "Chosen: the lowest selection log loss" in body
        page.screenshot(path=str(shots / "mlflow-candidate.png"), full_page=True)
