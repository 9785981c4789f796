"""``rolefit recalibrate`` end to end: a derived bundle from the session champion, used like any bundle."""

from __future__ import annotations

import hashlib
import json
import math

import pandas as pd
import pytest

from tests.environment import SIGNING_KEY

from .test_cli import run


@pytest.fixture(scope="module")
def sample(tmp_path_factory, training_data):
    """A form export of 500 synthetic held-out respondents, ML engineers far rarer than in the
    reference population (about 8% instead of its share)."""
    frame = training_data[0]
    rows = frame[(frame["source"] == "synthetic") & (frame["split"] == "test")]
    swe = rows[rows["role"] == "swe"].sample(460, random_state=1)
    mle = rows[rows["role"] == "mle"].sample(40, random_state=2)
    chosen = pd.concat([swe, mle]).sample(frac=1.0, random_state=3)
    from rolefit.instrument.items import load_instrument

    columns = [*load_instrument().ids, "role"]
    chosen = chosen[columns].copy()
    for column in columns:  # whole numbers written as a form tool writes them ("1", not "1.0")
        values = chosen[column]
        if values.dtype.kind == "f" and (values.dropna() % 1 == 0).all():
            chosen[column] = values.astype("Int64")
    path = tmp_path_factory.mktemp("labelled") / "alumni.csv"
    chosen.to_csv(path, index=False)
    return path


PERSON = {"interest_math": 5, "skill_dsa": 2, "career_goal": "applied_scientist", "years_coding": 3}


@pytest.mark.slow
def test_the_derived_bundle_names_its_parent_and_sample_and_predicts_through_the_api(
    champion, sample, tmp_path
):
    from rolefit.scoring.loader import clear_cache
    from rolefit.scoring.predictor import predict

    _, parent = champion
    out = tmp_path / "alumni-model"
    done = run(["recalibrate", "--labelled", str(sample), "--out", str(out), "--json"], model=parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    fit = data["recalibration"]
    # 460 + 40 people, 30% held out: 28 ML engineers to fit on, fewer than a slope needs
    assert fit["fitted"] == "intercept" and fit["slope"] == 1.0 and "at least 50" in fit["why"]
    assert fit["n_fit"] == {"swe": 322, "mle": 28} and data["report"]["roles"] == {"swe": 138, "mle": 12}
    assert (
        fit["shift"] < 0
        and data["report"]["starting_point"]["after"] < data["report"]["starting_point"]["before"]
    )
    parent_manifest = json.loads((parent / "manifest.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["parent"]["model_version"] == parent_manifest["model_version"] != manifest["model_version"]
    )
    digest = hashlib.sha256((parent / "manifest.json").read_bytes()).hexdigest()
    assert manifest["parent"]["manifest_sha256"] == digest
    assert manifest["sample"]["sha256"] == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert manifest["sample"]["file"] == "alumni.csv" and manifest["sample"]["roles"] == {
        "swe": 460,
        "mle": 40,
    }
    before, after = (
        manifest["metrics"]["sample_held_out_before"],
        manifest["metrics"]["sample_held_out_after"],
    )
    assert after["log_loss"] < before["log_loss"] and after["roc_auc"] == pytest.approx(before["roc_auc"])
    # signed with the key that checks it (the tests' key is configured)
    assert (out / "signature.json").is_file() and data["signed_by"].startswith("signature (key id")

    clear_cache()
    try:
        old, new = predict(PERSON, model=parent), predict(PERSON, model=out)
    finally:
        clear_cache()
    assert new.model.verified and new.model_version == manifest["model_version"]
    assert new.probabilities == old.probabilities  # the fit (the headline) is the parent's
    moved = new.all_answers.log_odds - old.all_answers.log_odds
    assert math.isclose(moved, fit["shift"], abs_tol=1e-9)
    assert new.all_answers.prediction_set == old.all_answers.prediction_set
    cli = run(["predict", "--answers", "-", "--json", "--model", str(out)], stdin=json.dumps(PERSON))
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["all_answers"]["log_odds"] == pytest.approx(
        new.all_answers.log_odds, abs=1e-12
    )


@pytest.mark.slow
def test_it_says_in_words_what_moved_and_that_an_unsigned_bundle_is_unsigned(
    champion, sample, tmp_path, monkeypatch
):
    _, parent = champion
    out = tmp_path / "alumni-model"
    monkeypatch.delenv(SIGNING_KEY)  # no key: the signed parent loads on checksums, the child is unsigned
    done = run(["recalibrate", "--labelled", str(sample), "--out", str(out), "--model", str(parent)])
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "less often ML engineers than the model's reference population: the starting point moves" in text
    assert "An intercept moves the starting point only: every reason keeps its size." in text
    assert "Checked on 150 people held out of the fit" in text and "calibration check (p)" in text
    assert "Unsigned: no signing key is configured" in text and not (out / "signature.json").exists()
    assert "mle" not in text.replace("ML engineers", "")  # words for people, no ids


@pytest.mark.slow
def test_bad_input_exits_2_naming_the_cause_and_writes_nothing(champion, sample, tmp_path):
    _, parent = champion
    out = tmp_path / "never"
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("interest_math,skill_dsa\n5,2\n", encoding="utf-8")
    cases = [
        (["--labelled", str(unlabelled)], "has no 'role' column"),
        (
            ["--labelled", str(sample), "--rows", "split=calibration"],
            "has no column 'split' to select rows by",
        ),
        (["--labelled", str(sample), "--slope", "maybe"], "slope must be one of never, auto, always"),
        (["--labelled", str(sample), "--holdout", "0.99"], "each role needs about"),
    ]
    for args, said in cases:
        done = run(["recalibrate", *args, "--out", str(out)], model=parent)
        assert done.returncode == 2 and said in done.stderr, (args, done.stderr)
    assert not out.exists()
    itself = run(["recalibrate", "--labelled", str(sample), "--out", str(parent)], model=parent)
    assert itself.returncode == 2 and "would replace its parent" in itself.stderr
    kept = tmp_path / "notes"
    (kept / "todo.txt").parent.mkdir()
    (kept / "todo.txt").write_text("mine", encoding="utf-8")
    other = run(["recalibrate", "--labelled", str(sample), "--out", str(kept)], model=parent)
    assert other.returncode == 2 and "exists and is not a model bundle" in other.stderr
    assert (kept / "todo.txt").read_text(encoding="utf-8") == "mine"
