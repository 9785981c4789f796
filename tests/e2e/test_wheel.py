"""rolefit as an app developer meets it: build the wheel and sdist, install the wheel alone into a fresh
virtual environment, and predict from an empty folder with the packaged model; then add [serve] and get
a prediction over HTTP (issue #28).

Sizes are printed (run with -s to see them) and recorded in the README and in the docs' "Install in an
app" (docs/how-to/install.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .helpers import ROOT, Server, free_port

pytestmark = pytest.mark.slow

#: What the core install must not pull (the issue's list), by distribution name as pip lists it.
HEAVY = ("mlflow", "dvc", "scikit-learn", "pandas", "fastapi", "matplotlib", "scipy", "pyarrow", "uvicorn")
PREDICT = "import rolefit; print(json.dumps(rolefit.predict({'interest_math': 5}).to_dict()))"


def clean_env(venv: Path) -> dict[str, str]:
    """A user's shell with the venv activated: no PYTHONPATH (it would import the checkout), no rolefit
    or MLflow settings; pip's own settings (its cache and local indexes) are kept."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    out = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PIP_")}
    out["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/local/bin:/usr/bin:/bin"
    out["VIRTUAL_ENV"] = str(venv)
    return out


def run(args: list[str], cwd: Path, environ: dict[str, str], timeout: int = 900) -> str:
    out = subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """The wheel and sdist, built by `python -m build` from a copy of the checkout's packaging inputs (so
    the checkout gets no build folders)."""
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*.tmp*")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    dist = base / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], base, {**os.environ})
    (wheel,) = dist.glob("rolefit-*.whl")
    (sdist,) = dist.glob("rolefit-*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with only the wheel installed (no extras)."""
    wheel, _ = built
    folder = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    environ = clean_env(folder)
    run([str(folder / "bin/python"), "-m", "pip", "install", "--quiet", str(wheel)], folder, environ)
    return folder, environ


def test_the_wheel_and_sdist_carry_the_packaged_model_and_its_notes(built):
    import tarfile
    import zipfile

    wheel, sdist = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("manifest.json", "scoring.json", "fit.json", "answers.json", "DATA_SOURCES.md"):
        assert f"rolefit/packaged_model/{name}" in names
    assert "rolefit/packaged_model/model.skops" not in names and "rolefit/py.typed" in names
    with tarfile.open(sdist) as archive:
        assert any(n.endswith("packaged_model/manifest.json") for n in archive.getnames())
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size / 1024:.0f} KB")


def test_a_core_install_predicts_from_an_empty_folder_with_the_packaged_model(venv, tmp_path):
    folder, environ = venv
    python = str(folder / "bin/python")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = json.loads(run([python, "-c", "import json; " + PREDICT], empty, environ))
    assert result["role"] in ("swe", "mle") and 0 < result["probabilities"]["mle"] < 1
    model = result["model"]
    assert model["chosen_by"] == "packaged" and model["verified"] is True
    assert model["verified_by"].startswith("package (installed rolefit ")  # its installed-file record
    assert "kaggle2021" in model["training_sources"] and (model["trained_at"] or model["published_at"])
    # the command line, with a person's answers in a file
    (empty / "person.json").write_text((ROOT / "examples/person.json").read_text())
    text = run([str(folder / "bin/rolefit"), "predict", "--answers", "person.json"], empty, environ)
    assert "Answered by the model packaged with rolefit" in text
    as_json = json.loads(run([str(folder / "bin/rolefit"), "predict", "--answers", "person.json", "--json"],
                             empty, environ))  # fmt: skip
    assert as_json["model"]["chosen_by"] == "packaged" and "guidance" in as_json
    version = run([str(folder / "bin/rolefit"), "--version"], empty, environ)
    assert version.startswith("rolefit ") and model["version"] in version
    items = run([python, "-c", "import rolefit; print(len(rolefit.questionnaire()))"], empty, environ)
    assert int(items) > 20
    # a feature whose extra is missing names the pip install to run
    code = "import rolefit; rolefit.predict_many([])"
    out = subprocess.run([python, "-c", code], cwd=empty, env=environ, capture_output=True, text=True)
    assert out.returncode != 0 and 'pip install "rolefit[batch]"' in out.stderr, out.stderr[-2000:]
    out = subprocess.run([str(folder / "bin/rolefit"), "serve"], cwd=empty, env=environ, capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 4 and 'pip install "rolefit[serve]"' in out.stderr, out.stderr[-2000:]
    out = subprocess.run([str(folder / "bin/rolefit"), "train"], cwd=empty, env=environ, capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 4 and 'pip install "rolefit[train]"' in out.stderr, out.stderr[-2000:]


def test_the_core_install_pulls_no_heavy_dependency(venv):
    folder, environ = venv
    listed = json.loads(
        run([str(folder / "bin/python"), "-m", "pip", "list", "--format=json"], folder, environ)
    )
    installed = sorted(entry["name"].lower() for entry in listed)
    print(f"\ncore install: {', '.join(installed)}")
    assert "rolefit" in installed
    assert not [name for name in HEAVY if name in installed], installed
    site = next((folder / "lib").glob("python3*/site-packages"))
    tools = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")
    total = size(site) - sum(size(p) if p.is_dir() else p.stat().st_size
                             for p in site.iterdir() if p.name.split("-")[0] in tools)  # fmt: skip
    numpy = sum(size(p) for p in site.iterdir() if p.name.split("-")[0] in ("numpy", "numpy.libs"))
    print(f"core install: {total / 2**20:.0f} MB in site-packages (numpy {numpy / 2**20:.0f} MB of it)")


def test_with_serve_the_packaged_model_answers_over_http(venv, built, tmp_path):
    folder, environ = venv
    wheel, _ = built
    run([str(folder / "bin/python"), "-m", "pip", "install", "--quiet", f"{wheel}[serve]"], folder, environ)
    port = free_port()
    server = Server([str(folder / "bin/rolefit"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                    url=f"http://127.0.0.1:{port}", cwd=tmp_path, environ=environ,
                    log=tmp_path / "serve.log")  # fmt: skip
    try:
        server.wait_ready("/healthz")
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            health = json.loads(response.read())
        assert health["model"]["chosen_by"] == "packaged" and health["model"]["verified"] is True
        request = urllib.request.Request(
            server.url + "/api/predict",
            data=json.dumps({"interest_math": 5}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            result = json.loads(response.read())
        assert result["role"] in ("swe", "mle") and result["model"]["chosen_by"] == "packaged"
        assert result["model_version"] == health["model_version"]
    finally:
        server.stop()
