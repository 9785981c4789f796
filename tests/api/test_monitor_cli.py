"""``rolefit monitor`` as a command: a form export of the questionnaire (no labels) and its words, the
machine-readable report, the MLflow run, and bad input refused in one sentence with exit 2."""

from __future__ import annotations

import json

import pytest

from ..conftest import ROOT
from .test_cli import run


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory, training_data):
    """A form export of 400 synthetic test respondents without their roles (a new questionnaire source)."""
    from rolefit.instrument.items import load_instrument

    frame = training_data[0]
    rows = frame[(frame["source"] == "synthetic") & (frame["split"] == "test")].head(400)
    rows = rows[list(load_instrument().ids)].copy()
    for column in rows.columns:  # whole numbers written as a form tool writes them ("1", not "1.0")
        if rows[column].dtype.kind == "f" and (rows[column].dropna() % 1 == 0).all():
            rows[column] = rows[column].astype("Int64")
    path = tmp_path_factory.mktemp("export") / "spring2027.csv"
    rows.to_csv(path, index=False)
    return path


def project(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    return tmp_path


def test_an_unlabelled_form_export_is_compared_and_logged(unlabelled, champion, tmp_path):
    done = run(["monitor", str(unlabelled), "--bootstrap", "50", "--out", "out"], model=champion[1],
               cwd=project(tmp_path))  # fmt: skip
    report = json.loads((tmp_path / "out/monitor.json").read_text())
    source = report["sources"]["spring2027"]
    # a new source: no earlier answers of its own, compared with the real training sources, no labels
    assert source["against_earlier"] is None and source["performance"] is None
    assert report["labelled"] is False
    assert done.returncode == (0 if report["recommendation"] == "no_retrain" else 1), done.stderr
    assert "No roles in these rows" in (tmp_path / "out/monitor.md").read_text()
    assert (tmp_path / "mlflow.db").is_file()


def test_json_output_equals_the_written_report(unlabelled, champion, tmp_path):
    done = run(["monitor", str(unlabelled), "--bootstrap", "20", "--out", "out", "--json", "--no-track"],
               model=champion[1], cwd=project(tmp_path))  # fmt: skip
    assert json.loads(done.stdout) == json.loads((tmp_path / "out/monitor.json").read_text())
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--rows", "split"], "COLUMN=VALUE"),
        (["--rows", "nosuch=1"], "no column 'nosuch'"),
        (["--rows", "source=nobody"], "No row of"),
    ],
)
def test_bad_input_is_refused_in_one_sentence(unlabelled, champion, tmp_path, args, said):
    done = run(["monitor", str(unlabelled), "--no-track", "--out", "out", *args], model=champion[1],
               cwd=project(tmp_path))  # fmt: skip
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
