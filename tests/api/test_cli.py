"""The rolefit command line, run as a real subprocess."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rolefit.guidance.words import MIN_EFFECT
from rolefit.scoring.champion import resolve
from tests.environment import child_env

from ..conftest import ROOT
from .helpers import check_evidence

RF = [sys.executable, "-m", "rolefit.apps.cli"]


def run(args, *, model=None, stdin=None, cwd=None):
    env = child_env()
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if model is not None:
        env["ROLEFIT_MODEL"] = str(model)
    return subprocess.run(
        [*RF, *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_questionnaire_lists_every_item():
    out = run(["questionnaire"])
    assert out.returncode == 0
    from rolefit.instrument.items import load_instrument

    for item in load_instrument().items:
        assert item.id in out.stdout
    data = json.loads(run(["questionnaire", "--json"]).stdout)
    assert len(data["items"]) == len(load_instrument())


def test_predict_from_file_and_stdin(champion):
    _, path = champion
    human = run(["predict", "--answers", str(ROOT / "examples/person.json")], model=path)
    assert human.returncode == 0, human.stderr
    assert "Best fit: software engineering" in human.stdout and "Top reasons (" in human.stdout
    assert "not screening" in human.stdout
    machine = run(
        ["predict", "--answers", "-", "--json"],
        model=path,
        stdin='{"interest_math": 5, "interest_research": "5"}',
    )
    assert machine.returncode == 0, machine.stderr
    data = json.loads(machine.stdout)
    assert data["role"] == "mle" and abs(sum(data["probabilities"].values()) - 1) < 1e-12


def test_predict_bad_input_exits_2_naming_items(champion):
    _, path = champion
    out = run(["predict", "--answers", "-"], model=path, stdin='{"interest_math": 9, "skil_dsa": 1}')
    assert out.returncode == 2
    assert "interest_math" in out.stderr and "did you mean 'skill_dsa'" in out.stderr
    assert "Traceback" not in out.stderr
    out = run(["predict", "--answers", "-"], model=path, stdin="{not json")
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def one_error_line(out) -> str:
    """The one ``error:`` line a refused command prints (and nothing else on stderr)."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr[-2000:]
    return lines[0]


ANSWER_COMMANDS = (["predict"], ["next"], ["what-if", "--set", "skill_dsa=3"])


@pytest.mark.parametrize("command", ANSWER_COMMANDS, ids=lambda c: c[0])
def test_answers_that_are_not_a_small_json_object_exit_2_with_one_line(command, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.json").write_text(deep)
    (tmp_path / "10-levels.json").write_text('{"interest_math": ' + "[" * 9 + "]" * 9 + "}")
    (tmp_path / "11-levels.json").write_text('{"interest_math": ' + "[" * 10 + "]" * 10 + "}")
    (tmp_path / "big.json").write_text('{"interest_math": 5' + " " * (1 << 20) + "}")
    os.mkfifo(tmp_path / "fifo")
    # no model is needed: the answers are refused before any model is loaded
    model = tmp_path / "no-model"
    cases = {
        "deep file": (["--answers", str(tmp_path / "deep.json")], None, "nested deeper than 10 levels"),
        "deep stdin": (["--answers", "-"], deep, "nested deeper than 10 levels"),
        "11 levels": (["--answers", str(tmp_path / "11-levels.json")], None, "deeper than 10"),
        "big file": (["--answers", str(tmp_path / "big.json")], None, "more than 1,048,576 bytes (1 MiB)"),
        "big stdin": (["--answers", "-"], "{}" + " " * (1 << 20), "stdin: it holds more than 1,048,576"),
        "fifo": (["--answers", str(tmp_path / "fifo")], None, "it is a pipe, not a regular file"),
        "folder": (["--answers", str(tmp_path)], None, "it is a folder, not a regular file"),
        "device": (["--answers", "/dev/zero"], None, "it is a device, not a regular file"),
        "not UTF-8": (["--answers", "-"], None, "not UTF-8 text"),
    }
    for case, (args, stdin, problem) in cases.items():
        given = b"\xff\xfe{}" if case == "not UTF-8" else (stdin or "").encode()
        env = child_env()
        env["ROLEFIT_MODEL"] = str(model)
        # a FIFO with no writer would block an open() for ever: the timeout turns that into a failure
        out = subprocess.run([*RF, *command, *args], input=given, capture_output=True, env=env, timeout=60)
        out.stderr = out.stderr.decode()
        assert out.returncode == 2, (case, out.stderr[-2000:])
        assert problem in one_error_line(out), case
    # 10 levels are read (the nested value is then refused by validation, naming the item): here the
    # command gets as far as looking for the model
    env = child_env()
    env["ROLEFIT_MODEL"] = str(model)
    read = subprocess.run([*RF, *command, "--answers", str(tmp_path / "10-levels.json")], capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip
    assert read.returncode == 3 and "No trained model" in read.stderr, read.stderr[-2000:]


def test_a_5000_digit_answer_is_refused_naming_its_item(champion):
    _, path = champion
    out = run(["predict", "--answers", "-"], model=path, stdin='{"years_coding": ' + "9" * 5000 + "}")
    assert out.returncode == 2
    assert "years_coding" in one_error_line(out) and "more than 20 digits" in out.stderr


def test_predict_without_model_says_how_to_train(tmp_path):
    out = run(["predict", "--answers", "-"], model=tmp_path / "none", stdin="{}")
    assert out.returncode == 3 and "rolefit train" in out.stderr


@pytest.mark.slow
def test_train_exports_a_bundle_that_predicts(tmp_path):
    from ..e2e.helpers import small_params

    params = small_params(tmp_path / "params.yaml")
    out = run(["train", "--params", str(params)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Bayes log loss" in out.stdout and "champion:" in out.stdout
    assert "registered rolefit version 1" in out.stdout
    bundle = tmp_path / "models/champion"
    assert (resolve(bundle) / "manifest.json").is_file() and (tmp_path / "mlflow.db").is_file()
    assert (tmp_path / "reports/model_card.md").is_file()
    pred = run(["predict", "--answers", "-", "--json"], model=bundle, stdin='{"interest_math": 5}')
    assert (
        json.loads(pred.stdout)["model_version"]
        == json.loads((resolve(bundle) / "manifest.json").read_text())["model_version"]
    )
    assert Path(bundle).stat().st_mode & 0o777 == 0o755


def _predict_json(path, answers_file, *extra):
    out = run(["predict", "--answers", str(answers_file), "--json", *extra], model=path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_base_rate_moves_the_starting_point_not_the_reasons(champion):
    _, path = champion
    person = ROOT / "examples/person.json"
    default = _predict_json(path, person)
    rare = _predict_json(path, person, "--base-rate", "0.04")
    assert 0 < default["base_rate"] < 1 and default["base_rate"] != 0.04
    assert rare["base_rate"] == 0.04
    assert rare["probabilities"]["mle"] < default["probabilities"]["mle"]
    # the log-odds move by exactly the change in the starting point's log-odds
    shift = math.log(0.04 / 0.96) - math.log(default["base_rate"] / (1 - default["base_rate"]))
    assert rare["baseline_log_odds"] - default["baseline_log_odds"] == pytest.approx(shift, abs=1e-9)
    assert rare["log_odds"] - default["log_odds"] == pytest.approx(shift, abs=1e-9)
    assert rare["explanations"] == default["explanations"]  # same reasons, effects and evidence
    human = run(["predict", "--answers", str(person), "--base-rate", "0.04"], model=path)
    assert human.returncode == 0, human.stderr
    start = "4% MLE" if rare["role"] == "mle" else "96% SWE"  # the frame of the role the result names
    assert f"Before your answers: {start} (the mix of the two roles in your population" in human.stdout


@pytest.mark.parametrize("value", ["1.5", "abc", "0", "1", "-0.1", "nan"])
def test_invalid_base_rate_exits_2_naming_it(champion, value):
    _, path = champion
    out = run(["predict", "--answers", "-", f"--base-rate={value}"], model=path, stdin='{"interest_math": 5}')
    assert out.returncode == 2, out.stdout
    assert "base_rate" in out.stderr and "strictly between 0 and 1" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_reasons_show_their_evidence(champion):
    _, path = champion
    person = ROOT / "examples/person.json"
    data = _predict_json(path, person)
    assert data["explanations"]
    for entry in data["explanations"]:
        check_evidence(entry["evidence"])
    count = len(data["explanations"])
    human = run(["predict", "--answers", str(person), "--top", str(count)], model=path)
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    # reasons too small to matter are folded into one "other answers" line (rolefit.guidance.words)
    listed = [e for e in data["explanations"] if abs(e["effect"]) >= MIN_EFFECT]
    folded = len(data["explanations"]) - len(listed)
    assert (f"  - {folded} other answer" in human.stdout) == (folded > 0)
    for entry in listed:  # each in words: how much it weighs, and what backs it
        evidence = entry["evidence"]
        backing = (
            f"(based on {evidence['respondents']:,} people in "
            if evidence["basis"] == "real"
            else "(what career guides say — not yet measured on people)."
        )
        (line,) = [line for line in lines if entry["reason"].rstrip(".") in line]
        assert re.search(r": a (strong |small )?reason \(", line), line
        assert backing in line, line
    share = data["base_rate"] if data["role"] == "mle" else 1 - data["base_rate"]  # the named role's frame
    start = f"{share * 100:.4g}% {data['role'].upper()}"
    assert f"Before your answers: {start} (an even start" in human.stdout


def test_no_answers_say_there_is_no_information(champion):
    _, path = champion
    human = run(["predict", "--answers", "-"], model=path, stdin="{}")
    assert human.returncode == 0, human.stderr
    assert "No answers yet: no information about either role" in human.stdout
    assert "Best fit" not in human.stdout and "Before your answers:" in human.stdout
    data = json.loads(run(["predict", "--answers", "-", "--json"], model=path, stdin="{}").stdout)
    assert data["verdict"] == "no-information" and data["explanations"] == []
    assert data["prediction_set"] == ["swe", "mle"]
    assert data["probabilities"]["mle"] == pytest.approx(data["base_rate"], abs=1e-12)


def test_score_applies_the_base_rate_to_every_row(champion, tmp_path):
    import pandas as pd

    _, path = champion
    answers = tmp_path / "answers.csv"
    pd.DataFrame(
        {"respondent_id": ["a", "b", "c"], "interest_math": [5, 1, None], "years_coding": [2, 10, None]}
    ).to_csv(answers, index=False)
    default, rare = tmp_path / "default.csv", tmp_path / "rare.csv"
    for target, extra in ((default, []), (rare, ["--base-rate", "0.04"])):
        out = run(["score", str(answers), str(target), "--no-progress", *extra], model=path)
        assert out.returncode == 0, out.stderr
    default, rare = pd.read_csv(default), pd.read_csv(rare)
    assert (rare["p_mle"] < default["p_mle"]).all()
    assert rare.loc[2, "verdict"] == "no-information" and rare.loc[2, "p_mle"] == pytest.approx(0.04)
    bad = run(["score", str(answers), str(tmp_path / "bad.csv"), "--base-rate", "2"], model=path)
    assert bad.returncode == 2 and "base_rate" in bad.stderr and "between 0 and 1" in bad.stderr
    assert not (tmp_path / "bad.csv").exists()
