"""The tracking server dies mid-training; a survey full of personal data leaves no trace."""

import subprocess
import time

import pytest
from mlflow import MlflowClient

from rolefit.scoring.champion import resolve

from .helpers import BIN, Server, env, form_survey_project, free_port, small_params

pytestmark = pytest.mark.slow


def start_server(base, port):
    return Server(
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
         "--artifacts-destination", str(base / "artifacts"), "--workers", "1"],
        url=f"http://127.0.0.1:{port}", cwd=base, environ=env(), log=base / f"server-{time.time_ns()}.log",
    )  # fmt: skip


def test_server_stopping_mid_training_fails_cleanly_and_a_rerun_succeeds(tmp_path):
    base, project = tmp_path / "server", tmp_path / "project"
    base.mkdir()
    project.mkdir()
    params = small_params(project / "params.yaml")
    port = free_port()
    server = start_server(base, port)
    server.wait_ready("/health")
    quick = env(MLFLOW_TRACKING_URI=server.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
                MLFLOW_HTTP_REQUEST_TIMEOUT="10")  # fmt: skip
    command = [str(BIN / "rolefit"), "train", "--params", str(params)]
    pipe = subprocess.PIPE
    training = subprocess.Popen(command, cwd=project, env=quick, stdout=pipe, stderr=pipe, text=True)
    try:
        for line in training.stdout:  # stop the server while the training is under way
            if line.startswith("champion:"):
                server.stop()
                break
        stdout, stderr = training.communicate(timeout=300)
    finally:
        server.stop()
        if training.poll() is None:
            training.kill()
    assert training.returncode == 5, stdout[-1500:] + stderr[-1500:]
    assert "MLflow tracking at http://127.0.0.1" in stderr and "nothing was registered" in stderr
    assert "Traceback" not in stderr
    assert not (project / "models/champion").exists(), "no champion is exported without its registry entry"
    assert (project / "models/trained/manifest.json").is_file()  # the local candidate stays consistent

    server = start_server(base, port)
    try:
        server.wait_ready("/health")
        rerun = subprocess.run(command, cwd=project, env=quick, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        client = MlflowClient(server.url, server.url)
        version = client.get_model_version_by_alias("rolefit", "champion")
        assert client.get_run(version.run_id).info.status == "FINISHED"
    finally:
        server.stop()
    assert (resolve(project / "models/champion") / "manifest.json").is_file()


SECRETS = ["jane.doe@example.com", "Jane Doe", "bob.smith@mail.example", "my secret career plans",
           "Robert Smith"]  # fmt: skip


def test_no_personal_data_reaches_logs_mlflow_or_reports(tmp_path):
    rows = [["respondent_id", "interest_math", "interest_coding_puzzles", "role", "Full name", "comments"]]
    for i in range(400):
        rows.append([f"user{i}@example.org", str(1 + i % 5), str(5 - i % 5), "mle" if i % 3 else "swe",
                     "Jane Doe" if i % 2 else "Robert Smith", "my secret career plans"])  # fmt: skip
    rows.append(["jane.doe@example.com", "4", "2", "mle", "Jane Doe", "write to bob.smith@mail.example"])
    # evaluated, not trained on: its made-up answers carry no signal, and a training source's answers
    # would decide those items' effects (and fail the behaviour checks)
    project, params_path, form = form_survey_project(tmp_path, rows, "form", "evaluate")
    train = [str(BIN / "rolefit"), "train", "--params", str(params_path)]
    out = subprocess.run(train, cwd=project, env=env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "survey form: 400 respondents" in out.stdout  # 401 read, the one with an e-mail quarantined
    command = [str(BIN / "rolefit"), "ingest", str(form), "--adapter", "instrument",
               "--out", str(project / "data/interim"), "--no-progress"]  # fmt: skip
    ingest = subprocess.run(command, cwd=project, env=env(), capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    haystacks = {"stdout": out.stdout + ingest.stdout, "stderr": out.stderr + ingest.stderr}
    for path in project.rglob("*"):
        if path.is_file():
            haystacks[str(path.relative_to(project))] = path.read_bytes().decode("utf-8", errors="replace")
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    for run in client.search_runs([e.experiment_id for e in client.search_experiments()]):
        haystacks[f"run {run.info.run_id}"] = repr(run.data.params) + repr(run.data.tags)
    assert "mlflow.db" in haystacks and any(k.startswith("run ") for k in haystacks)
    for where, text in haystacks.items():
        for secret in [*SECRETS, "user7@example.org", "@example.org"]:
            assert secret not in text, f"{secret!r} found in {where}"
