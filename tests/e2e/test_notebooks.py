"""Both notebooks execute top to bottom against small pipeline outputs, so they never rot."""

import subprocess

import nbformat
import pytest
from nbclient import NotebookClient

from rolefit.config import SynthesizeParams
from rolefit.data.synthetic import generate, read_marginals

from .helpers import BIN, ROOT, env, small_params

pytestmark = pytest.mark.slow
KAGGLE = ROOT.parent / "shared" / "data" / "surveys" / "kaggle-survey-2021.zip"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebook-project")
    params = small_params(folder / "params.yaml")
    out = subprocess.run([str(BIN / "rolefit"), "train", "--params", str(params), "--no-track"], cwd=folder,
                         env=env(), capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    interim = folder / "data" / "interim"
    interim.mkdir(parents=True, exist_ok=True)
    marginals = read_marginals(ROOT / "data/reference/survey_marginals.csv")
    generate(SynthesizeParams(), marginals, n=3000, seed=1).to_parquet(interim / "synthetic.parquet")
    if KAGGLE.exists():
        args = [str(BIN / "rolefit"), "ingest", str(KAGGLE), "--adapter", "kaggle2021", "--out", str(interim)]
        ingest = subprocess.run(args, env=env(), capture_output=True, text=True, timeout=600)
        assert ingest.returncode == 0, ingest.stderr[-2000:]
    return folder


@pytest.mark.parametrize("name", ["01-explore-surveys.ipynb", "02-model-report.ipynb"])
def test_notebook_executes(name, project, monkeypatch):
    monkeypatch.setenv("ROLEFIT_PROJECT_DIR", str(project))
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(project)}}).execute()  # fmt: skip
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the notebook should draw its plots"
