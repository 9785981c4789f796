"""Real processes for end-to-end tests: free loopback ports, servers in their own process group, a
real `rolefit serve` and Debian's headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.environment import child_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra: str) -> dict[str, str]:
    out = child_env()
    # an `mlflow server` started with this environment starts no job runner (eight more Python processes,
    # about 16 s of CPU at each start): rolefit uses the tracking server and the registry, not server jobs
    out.update(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
               MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", **extra)  # fmt: skip
    # mlflow's serving runs `uvicorn` from PATH: use the project's environment, as an activated venv would
    out["PATH"] = f"{BIN}{os.pathsep}{out.get('PATH', '')}"
    return out


class Server:
    """A server process in its own process group, stopped (the whole group) by ``stop``."""

    def __init__(self, args: list[str], *, url: str, cwd: Path, environ: dict[str, str], log: Path):
        self.url = url
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            args, cwd=cwd, env=environ, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.handle.close()


def small_params(path: Path, **overrides: str) -> Path:
    """A params file for quick trainings: few synthetic respondents and no surveys."""
    text = (ROOT / "params.yaml").read_text()
    text = text.replace("n_respondents: 100000", "n_respondents: 20000")
    # nor a fit of its own sample size (these projects judge the release flow, not the fit)
    text = text.replace("synthetic_respondents: 100000", "synthetic_respondents: 0")
    text = text.replace("search_paths: [../shared/data/surveys, data/raw]", "search_paths: [no-surveys-here]")
    for old, new in overrides.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    reference = path.parent / "data" / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    for name in ("survey_marginals.csv", "survey_marginals.profiles.csv"):
        (reference / name).write_text((ROOT / "data/reference" / name).read_text())
    return path


def quick_pipeline_params(repo: Path) -> None:
    """Rewrite ``repo``'s params.yaml for a quicker `dvc repro` (or `make run`) of the whole pipeline.

    20,000 synthetic respondents, the fit trained on those (no draw of its own), 10 bootstrap resamples
    of the real block and 20 in evaluation; the real sources and every stage stay. For tests that judge
    the pipeline, the release flow or reproducibility, not the full-size model's quality (the session
    champion, tests/conftest.py, does that). The caller commits the file when its test needs it so.
    """
    import yaml

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["synthesize"]["n_respondents"] = 20_000
    params["train"]["fit"]["synthetic_respondents"] = 0
    params["train"]["real_evidence"]["bootstrap"] = 10
    params["evaluate"]["bootstrap"] = 20
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def copy_repository(base: Path) -> Path:
    """A git repository at ``base/repo`` holding this checkout's files, with ../shared beside it."""
    copy = base / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    if (ROOT.parent / "shared").exists():
        (base / "shared").symlink_to(ROOT.parent / "shared")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=copy, check=True)
    subprocess.run([*git, "add", "-A"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=copy, check=True)
    return copy


def form_survey_project(
    tmp_path: Path, rows: list[list[str]], source: str, role: str
) -> tuple[Path, Path, Path]:
    """A quick-training project (:func:`small_params`) whose one real source is a form export of ``rows``.

    Returns the project folder, its params file and the export (kept outside the project, as a user's
    exports are). ``role`` is the source's role in ``ingest.sources``.
    """
    import csv

    import yaml

    surveys = tmp_path / "surveys"
    surveys.mkdir()
    form = surveys / f"{source}.csv"
    with form.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    project = tmp_path / "project"
    project.mkdir()
    params_path = small_params(project / "params.yaml")
    params = yaml.safe_load(params_path.read_text())
    params["ingest"]["search_paths"] = [str(surveys)]
    params["ingest"]["sources"] = {source: {"adapter": "instrument", "file": form.name, "role": role}}
    params["build"]["source_weights"][source] = 1.0
    params["train"]["real_evidence"]["bootstrap"] = 5
    params_path.write_text(yaml.safe_dump(params))
    return project, params_path, form


@contextlib.contextmanager
def rolefit_serve(bundle: Path, folder: Path, *args: str):
    """A real `rolefit serve` of ``bundle`` on a free loopback port, ready; stopped on leaving.

    ``args``: more options of `rolefit serve`, such as ``--collect``."""
    port = free_port()
    server = Server(
        [str(BIN / "rolefit"), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        url=f"http://127.0.0.1:{port}", cwd=folder, environ=env(ROLEFIT_MODEL=str(bundle)),
        log=folder / "serve.log",
    )  # fmt: skip
    try:
        server.wait_ready("/healthz")
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium():
    """Debian's headless Chromium, driven by Playwright (``make test`` installs it with apt-get)."""
    import pytest
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it with apt-get)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@contextlib.contextmanager
def rolefit_serve_collecting(bundle: Path, folder: Path, *args: str, db: str | None = None):
    """A real `rolefit serve --collect` of ``bundle`` (the database ``db``, default a SQLite file in
    ``folder``; more options in ``args``) on a free loopback port, ready; stopped on leaving."""
    database = db or str(folder / "contributions.sqlite")
    with rolefit_serve(bundle, folder, "--collect", "--collect-db", database, *args) as server:
        yield server
