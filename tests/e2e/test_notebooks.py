"""Both notebooks execute top to bottom against small pipeline outputs, so they never rot; they run
with the tool the docs name (`jupyter-execute`, from nbclient; docs/how-to/notebooks.md), as a reader
would run them."""

import subprocess

import nbformat
import pytest

from rolefit.config import SynthesizeParams
from rolefit.data.synthetic import generate, read_marginals

from .helpers import BIN, ROOT, env, small_params

pytestmark = pytest.mark.slow
KAGGLE = ROOT.parent / "shared" / "data" / "surveys" / "kaggle-survey-2021.zip"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with a champion (version 1) and a refused challenger (version 2) in its MLflow store."""
    folder = tmp_path_factory.mktemp("notebook-project")
    params = small_params(folder / "params.yaml")
    out = subprocess.run([str(BIN / "rolefit"), "train", "--params", str(params)], cwd=folder,
                         env=env(), capture_output=True, text=True, timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    worse = small_params(folder / "worse.yaml", **{
        "candidates: [logistic, boosting]": "candidates: [logistic]",
        "logistic: {alpha: 1.0, max_iter: 1000}": "logistic: {alpha: 100000000.0, max_iter: 1000}",
    })  # fmt: skip
    out = subprocess.run([str(BIN / "rolefit"), "train", "--params", str(worse)], cwd=folder,
                         env=env(), capture_output=True, text=True, timeout=900)  # fmt: skip
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr[-2000:]  # refused: the challenger
    interim = folder / "data" / "interim"
    interim.mkdir(parents=True, exist_ok=True)
    marginals = read_marginals(ROOT / "data/reference/survey_marginals.csv")
    generate(SynthesizeParams(), marginals, n=3000, seed=1).to_parquet(interim / "synthetic.parquet")
    if KAGGLE.exists():
        args = [str(BIN / "rolefit"), "ingest", str(KAGGLE), "--adapter", "kaggle2021", "--out", str(interim)]
        ingest = subprocess.run(args, env=env(), capture_output=True, text=True, timeout=600)
        assert ingest.returncode == 0, ingest.stderr[-2000:]
    return folder


@pytest.fixture(scope="module")
def executed(project, tmp_path_factory):
    """Each notebook's executed cells, by name (each runs once per module)."""
    done = {}

    def cells(name):
        if name not in done:
            done[name] = execute(name, project, tmp_path_factory.mktemp("executed"))
        return done[name]

    return cells


def execute(name: str, project, tmp_path):
    """Run ``notebooks/<name>`` as the docs say (``jupyter-execute``) on ``project``; its cells."""
    copy = tmp_path / name
    copy.write_text((ROOT / "notebooks" / name).read_text())
    out = subprocess.run(
        [str(BIN / "jupyter-execute"), "--inplace", "--timeout=300", "--kernel_name=python3", str(copy)],
        cwd=project, env=env(ROLEFIT_PROJECT_DIR=str(project)), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return nbformat.read(copy, as_version=4).cells


def outputs_of(cells):
    return [o for cell in cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def text_of(outputs) -> str:
    parts = []
    for output in outputs:
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/html", ""), data.get("text/markdown", "")]
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["01-explore-surveys.ipynb", "02-model-report.ipynb"])
def test_notebook_executes(name, executed):
    outputs = outputs_of(executed(name))
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the notebook should draw its plots"


def test_model_report_shows_challenger_against_champion_and_the_version_history(executed):
    cells = executed("02-model-report.ipynb")
    sections = {}
    current = None
    for cell in cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            current = cell.source.splitlines()[0][3:]
        elif cell.cell_type == "code" and current:
            sections.setdefault(current, []).extend(cell.get("outputs", []))
    versus = text_of(sections["Challenger vs champion"])
    assert "champion v1" in versus and "challenger v2" in versus and "challenger - champion" in versus
    assert "refused by the quality gate" in versus  # the challenger's description, verdict and table
    assert "| source | n | metric | challenger | champion |" in versus
    assert any("image/png" in o.get("data", {}) for o in sections["Challenger vs champion"])
    history = text_of(sections["Version history"])
    assert "registered_at" in history and "passed" in history and "refused" in history
    assert "[champion]" in history and "[challenger]" in history  # version 1 and version 2
    assert any("image/png" in o.get("data", {}) for o in sections["Version history"])
