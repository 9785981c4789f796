"""The retraining loop a reviewer can trust: real `dvc repro` and `dvc exp run`, a real MLflow SQLite
store. Every model becomes a challenger; experiments never deploy; the gate compares challenger and
champion on the same rows and refuses a model trained on no real respondents. (The gate failing closed
and one change to the champion at a time, on quick projects: test_champion_changes.py.)"""

import hashlib
import json
import subprocess

import pytest

from rolefit.scoring.champion import resolve

from .helpers import BIN, copy_repository, form_survey_project, quick_pipeline_params
from .release_helpers import champion_digest, client, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    copy = copy_repository(tmp_path_factory.mktemp("release"))
    if not (copy.parent / "shared" / "data" / "surveys" / "kaggle-survey-2021.zip").exists():
        pytest.skip("../shared/data/surveys is not beside this clone: the scenario needs real respondents")
    # a quicker pipeline, the real sources stay; the gate's verdicts read the paired differences, not
    # the number of bootstrap resamples behind their intervals
    quick_pipeline_params(copy)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "commit", "-qam", "quicker params"], cwd=copy, check=True)
    return copy


def dvc(repo, *args):
    return run(repo, str(BIN / "dvc"), *args)


def test_experiments_never_deploy_and_a_model_without_real_respondents_is_refused(repo):
    first = dvc(repo, "repro")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    registry = client(repo)
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"
    before = champion_digest(repo)
    # with both real surveys the parent run shows its summary (46 names), not hundreds of metrics
    metrics = registry.get_run(registry.get_model_version("rolefit", "1").run_id).data.metrics
    assert len(metrics) <= 60 and "test/all/f1_mle" not in metrics, sorted(metrics)
    expected = (
        "test/kaggle2021/log_loss",
        "baseline/kaggle2021/log_loss",
        "sets/test/stackoverflow2017/coverage",
        "test/stackoverflow2017/own_base_rate/ece",
        "fairness/gender/demographic_parity_ratio",
    )
    assert set(expected) <= set(metrics), sorted(metrics)

    # the scenario of the issue: every real source's weight at 0
    refused = dvc(
        repo, "exp", "run", "-n", "no-real",
        "-S", "build.source_weights.kaggle2021=0.0", "-S", "build.source_weights.stackoverflow2017=0.0",
    )  # fmt: skip
    assert refused.returncode == 0, refused.stdout[-3000:] + refused.stderr[-3000:]
    assert json.loads((repo / "reports/drift.json").read_text())["sources"]  # drift ran before training
    gate = json.loads((repo / "reports/gate.json").read_text())
    assert gate["experiment"] and not gate["passed"] and not gate["promoted"]
    reasons = " | ".join(gate["reasons"])
    assert "no real respondents in training" in reasons
    assert "kaggle2021 is worse than the champion v1" in reasons
    assert "kaggle2021" in gate["checks"]["sources_worse"]
    # nothing deployed: the champion alias and folder are as they were; the refusal is on record
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"
    challenger = registry.get_model_version_by_alias("rolefit", "challenger")
    assert str(challenger.version) == gate["version"] == "2"
    assert challenger.tags["gate.verdict"] == "refused" and challenger.tags["gate.experiment"] == "true"
    assert "refused" in challenger.description and "no real respondents in training" in challenger.description
    assert champion_digest(repo) == before
    # the experiment is saved and can be compared
    shown = dvc(repo, "exp", "show", "--md")
    assert shown.returncode == 0 and "no-real" in shown.stdout, shown.stdout[-2000:] + shown.stderr[-2000:]

    # an experiment the gate passes is still not deployed ...
    subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=repo, check=True)
    passing = dvc(repo, "exp", "run", "-n", "alpha", "-S", "train.logistic.alpha=1.5")
    assert passing.returncode == 0, passing.stdout[-3000:] + passing.stderr[-3000:]
    gate = json.loads((repo / "reports/gate.json").read_text())
    assert gate["experiment"] and gate["passed"] and not gate["promoted"], gate["reasons"]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"
    assert str(registry.get_model_version_by_alias("rolefit", "challenger").version) == gate["version"] == "3"
    assert champion_digest(repo) == before

    # ... until `rolefit promote` makes it the champion, gated the same way, and says why
    promoted = run(repo, str(BIN / "rolefit"), "promote", "3")
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-3000:]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "3"
    version = registry.get_model_version("rolefit", "3")
    assert "Promoted to champion" in version.description and "rolefit promote" in version.description
    assert "Champion now: version 3 (kaggle2021)" in registry.get_registered_model("rolefit").description
    assert champion_digest(repo) != before
    manifest = json.loads((resolve(repo / "models/champion") / "manifest.json").read_text())
    assert manifest["params"]["train"]["logistic"]["alpha"] == 1.5
    # the refused version cannot be promoted either
    again = run(repo, str(BIN / "rolefit"), "promote", "2")
    assert again.returncode == 4 and "no real respondents in training" in again.stderr, again.stderr[-2000:]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "3"


def test_a_retraining_with_a_new_survey_records_what_it_was_trained_on(tmp_path):
    """Lineage a reviewer can trust: every source is a dataset input with its digest and row counts, the
    lineage tags are the hashes of the files this run read, and the version says what and why."""
    rows = [["respondent_id", "interest_math", "interest_coding_puzzles", "years_ml", "role"]]
    for i in range(300):
        mle = i % 3 != 0
        label = "Machine Learning Engineer" if mle else "Software Engineer"  # labels, not ids: mapped
        math, puzzles = (5 - i % 2, 1 + i % 2) if mle else (1 + i % 2, 5 - i % 2)
        rows.append([f"p{i}", str(math), str(puzzles), str(3 if mle else 0), label])
    project, params_path, form = form_survey_project(tmp_path, rows, "spring2027", "train")
    trained = run(project, str(BIN / "rolefit"), "train", "--params", str(params_path))
    assert trained.returncode in (0, 4), trained.stdout[-2000:] + trained.stderr[-2000:]

    registry = client(project)
    runs = registry.search_runs(
        [registry.get_experiment_by_name("rolefit").experiment_id], "tags.registered_version = '1'"
    )
    assert len(runs) == 1
    parent = runs[0]
    inputs = {d.dataset.name: d for d in parent.inputs.dataset_inputs}
    assert set(inputs) == {"synthetic", "spring2027"}
    survey = inputs["spring2027"]
    tags = {t.key: t.value for t in survey.tags}
    assert tags["mlflow.data.context"] == "training" and tags["rows"] == "300"
    assert sum(int(v) for k, v in tags.items() if k.startswith("rows.")) == 300
    file_hash = hashlib.sha256(form.read_bytes()).hexdigest()
    assert tags["file_sha256"] == file_hash == parent.data.tags["lineage.spring2027.file_sha256"]
    assert survey.dataset.digest == parent.data.tags["lineage.spring2027.digest"][:16]
    assert "lineage.data.data/interim/kaggle2021.parquet" not in parent.data.tags  # nothing from dvc.lock
    version = registry.get_model_version("rolefit", "1")
    assert "spring2027" in version.description and "Quality gate:" in version.description
    assert parent.data.tags["real_training_sources"] == "spring2027"
    # the drift check ran before training and is linked; with no earlier profile recorded in this project
    # (drift.profiles), the survey is compared with its own rows, never with the synthetic respondents
    drift = json.loads((project / "reports/drift.json").read_text())
    assert (
        set(drift["sources"]) == {"spring2027"}
        and drift["sources"]["spring2027"]["reference"] == "spring2027"
    )
    assert drift["alarms"] == [] and "rolefit drift --record" in drift["reference_from"]
    assert parent.data.tags["drift.drifted"] == str(drift["drifted"]).lower()
    assert "drift.json" in {a.path for a in registry.list_artifacts(parent.info.run_id)}
