"""The negated-tables bundle through real processes started in different folders (issue #23).

Every effect of a real champion bundle is turned around and its checksum rewritten (what anyone who can
edit the files can do). With a key configured (the project's, found from the model's folder, or the
deployment's ``ROLEFIT_SIGNING_KEY_FILE``) it is refused whichever folder the process starts in; with no
key it loads, says "UNVERIFIED" on stderr and in the prediction's model information, and ``rolefit
serve`` refuses it unless ``--allow-unsigned``.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from rolefit.scoring import signing
from rolefit.scoring.bundle import sign_bundle
from tests.bundles import negate_effects
from tests.environment import child_env

from ..conftest import ROOT

PERSON = ROOT / "examples" / "person.json"  # a clear software engineer
PREDICT = (
    "import json, sys, rolefit; "
    "p = rolefit.predict(json.load(open(sys.argv[1])), model=sys.argv[2]); "
    "print(json.dumps(p.to_dict()))"
)
MISMATCH = "does not match its manifest.json"


def environment(**extra: str) -> dict[str, str]:
    """A child's environment with no signing key at all (not even the tests' own), importing this
    checkout's rolefit from any folder."""
    env = {k: v for k, v in child_env().items() if not k.startswith("ROLEFIT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env.update(extra)
    return env


def python(
    code_args: list[str], cwd: Path, timeout: float = 300, **extra: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *code_args], cwd=cwd, env=environment(**extra), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def predict_code(bundle: Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    return python(["-c", PREDICT, str(PERSON), str(bundle)], cwd, **extra)


def predict_cli(bundle: Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    args = ["-m", "rolefit.apps.cli", "predict", "--answers", str(PERSON), "--json", "--model", str(bundle)]
    return python(args, cwd, **extra)


@pytest.fixture(scope="module")
def bundles(champion, tmp_path_factory):
    """The negated bundle in a project with its key, one outside any project signed with a deployment
    key file, one with no key anywhere, and an intact signed one in the project (the control)."""
    base = tmp_path_factory.mktemp("keys")
    project = base / "project"
    project.mkdir()
    (project / "params.yaml").write_text("{}\n")
    signing.create_key(project / signing.PROJECT_KEY_FILE)
    key_file = base / "deploy" / "signing.key"
    out = {"project": project, "key_file": key_file, "temp": base / "some-folder"}
    out["temp"].mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name in (signing.KEY_ENV, signing.KEY_FILE_ENV, signing.REQUIRE_ENV):
            patch.delenv(name, raising=False)
        for name in ("intact", "in_project"):
            folder = project / "models" / name
            shutil.copytree(champion[1], folder)
            sign_bundle(folder)  # with the project's key
            out[name] = folder
        negate_effects(out["in_project"])
        patch.setenv(signing.KEY_FILE_ENV, str(key_file))
        out["deployed"] = base / "loose" / "bundle"
        shutil.copytree(champion[1], out["deployed"])
        sign_bundle(out["deployed"])  # creates the deployment's key file and signs with it
        negate_effects(out["deployed"])
    out["no_key"] = negate_effects(shutil.copytree(champion[1], base / "unkeyed" / "bundle"))
    return out


FOLDERS = ["project root", "/", "a temp folder"]


def folder(bundles, name: str) -> Path:
    return {"project root": bundles["project"], "/": Path("/"), "a temp folder": bundles["temp"]}[name]


@pytest.mark.parametrize("where", FOLDERS)
def test_the_intact_bundle_is_verified_by_the_projects_key_from_every_folder(bundles, where):
    out = predict_code(bundles["intact"], folder(bundles, where))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["role"] == "swe" and result["model"]["verified"] is True
    assert result["model"]["verified_by"].startswith("signature (key id ")
    assert "UNVERIFIED" not in out.stderr


@pytest.mark.parametrize("where", FOLDERS)
def test_the_negated_bundle_is_refused_with_the_projects_key_from_every_folder(bundles, where):
    out = predict_code(bundles["in_project"], folder(bundles, where))
    assert out.returncode != 0 and MISMATCH in out.stderr, out.stderr[-2000:]
    cli = predict_cli(bundles["in_project"], folder(bundles, where))
    assert cli.returncode == 3 and MISMATCH in cli.stderr and cli.stdout == "", cli.stderr[-2000:]


@pytest.mark.parametrize("where", FOLDERS)
def test_the_negated_bundle_is_refused_with_the_deployments_key_file_from_every_folder(bundles, where):
    key = {signing.KEY_FILE_ENV: str(bundles["key_file"])}
    out = predict_code(bundles["deployed"], folder(bundles, where), **key)
    assert out.returncode != 0 and MISMATCH in out.stderr, out.stderr[-2000:]
    cli = predict_cli(bundles["deployed"], folder(bundles, where), **key)
    assert cli.returncode == 3 and MISMATCH in cli.stderr, cli.stderr[-2000:]


def test_a_key_file_planted_in_the_working_directory_is_never_used(bundles, tmp_path):
    planted = tmp_path / "planted"
    (planted / ".rolefit").mkdir(parents=True)
    (planted / "params.yaml").write_text("{}\n")
    shutil.copy(bundles["project"] / signing.PROJECT_KEY_FILE, planted / signing.PROJECT_KEY_FILE)
    shutil.copytree(bundles["intact"], tmp_path / "copy")  # signed with that very key, outside the project
    out = predict_code(tmp_path / "copy", planted, ROLEFIT_REQUIRE_SIGNATURE="1")
    assert out.returncode != 0 and "ROLEFIT_REQUIRE_SIGNATURE is set, but no signing key" in out.stderr


def test_with_no_key_the_negated_bundle_loads_unverified_and_says_so(bundles):
    out = predict_code(bundles["no_key"], Path("/"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["role"] == "mle"  # the clear software engineer, turned around unseen by checksums
    assert {key: result["model"][key] for key in ("version", "verified", "verified_by")} == {
        "version": result["model_version"],
        "verified": False,
        "verified_by": "checksums only: no signing key configured",
    }
    (line,) = [line for line in out.stderr.splitlines() if "UNVERIFIED" in line]
    assert f"The model bundle at {bundles['no_key']} is loaded UNVERIFIED" in line
    cli = predict_cli(bundles["no_key"], bundles["temp"])
    assert cli.returncode == 0 and json.loads(cli.stdout)["model"]["verified"] is False
    assert "UNVERIFIED" in cli.stderr


def test_serve_refuses_an_unverified_bundle_unless_allowed(bundles, tmp_path):
    from tests.e2e.helpers import Server, free_port

    port = free_port()
    serve = ["-m", "rolefit.apps.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # 60 s only bounds a server that wrongly started (it would serve until killed)
    refused = python([*serve, "--model", str(bundles["no_key"])], bundles["temp"], timeout=60)
    assert refused.returncode == 3
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "refusing to serve the unverified model" in line
    assert "ROLEFIT_SIGNING_KEY_FILE" in line and "--allow-unsigned" in line
    server = Server(
        [sys.executable, *serve, "--model", str(bundles["no_key"]), "--allow-unsigned"],
        url=f"http://127.0.0.1:{port}", cwd=bundles["temp"], environ=environment(),
        log=tmp_path / "serve.log",
    )  # fmt: skip
    try:
        server.wait_ready("/healthz")
        headers = {"content-type": "application/json"}
        body = PERSON.read_bytes()
        request = urllib.request.Request(server.url + "/api/predict", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            result = json.loads(response.read())
        assert result["model"]["verified"] is False and result["role"] == "mle"
    finally:
        server.stop()
    assert "UNVERIFIED" in (tmp_path / "serve.log").read_text()
