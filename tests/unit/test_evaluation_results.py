"""The evaluate stage's typed results: group names are fields, and the flat names of evaluation.json,
metrics.json and MLflow are built from them in one place."""

import numpy as np

from rolefit.evaluation.reports import baseline_summary, evaluation_report, metrics_summary, model_card
from rolefit.evaluation.results import (
    BaselineResult,
    Evaluation,
    PredictionSets,
    RealEvidence,
    Scores,
    SetCoverage,
    SourceEvidence,
)
from rolefit.ops.tracking import evaluation_metrics

METRICS = {"n": 10.0, "roc_auc": 0.8, "log_loss": 0.5, "ece": 0.03, "brier": 0.15, "accuracy": 0.7,
           "balanced_accuracy": 0.7, "recall_mle": 0.6, "recall_swe": 0.8}  # fmt: skip
INTERVALS = {"roc_auc": [0.7, 0.9], "log_loss": [0.4, 0.6], "ece": [0.02, 0.05]}
CHECK = {"ece": 0.03, "ece_if_calibrated": 0.02, "ece_if_calibrated_95": 0.04, "p_value": 0.2}
DIFFERENCES = {
    name: {"difference": -0.01, "low": -0.02, "high": 0.0} for name in ("log_loss", "ece", "roc_auc")
}
COVERAGE = {
    "coverage": 0.9,
    "mean_set_size": 1.3,
    "coverage_mle": 0.9,
    "coverage_swe": 0.9,
    "both_share": 0.3,
}


def scores(group, **kwargs):
    return Scores(group, dict(METRICS), **kwargs)


def evaluation(*, baseline=True, sets=True):
    def base(own):
        kind = {"kind": "baseline", "under_own_base_rate": own}
        return (
            BaselineResult(scores("kaggle2021", intervals=INTERVALS, **kind), DIFFERENCES)
            if baseline
            else None
        )

    kaggle = SourceEvidence(
        "kaggle2021",
        0.5,
        scores("kaggle2021", intervals=INTERVALS, calibration_check=CHECK, under_own_base_rate=True),
        baseline=base(False),
        baseline_own=base(True),
    )
    real = RealEvidence(
        training_sources=("kaggle2021",),
        evaluation_sources=(),
        reference_base_rate=0.38,
        baseline={"model": "plain", "items": ["years_coding"], "rows": 100} if baseline else None,
        sources=(kaggle,),
    )
    tested = {"intervals": INTERVALS, "calibration_check": CHECK}
    return Evaluation(
        overall=scores("all", **tested),
        by_source=(scores("kaggle2021", **tested), scores("synthetic", **tested)),
        slices=(scores("role=mle", kind="slice"),),
        sets=PredictionSets(0.9, SetCoverage("all", COVERAGE), (SetCoverage("kaggle2021", COVERAGE),))
        if sets
        else None,
        real=real,
        fairness={"respondents": 0},
        behaviour=[{"kind": "directional", "name": "case", "passed": True, "detail": ""}],
        importance={},
        y=np.array([0, 1]),
        p=np.array([0.2, 0.7]),
        sources=np.array(["synthetic", "kaggle2021"]),
    )


def test_flat_names_come_from_the_typed_groups():
    result = evaluation()
    assert list(result.to_metrics()) == [
        "test/all",
        "test/kaggle2021",
        "test/synthetic",
        "test/slice/role=mle",
        "test/kaggle2021/own_base_rate",
        "baseline/kaggle2021",
        "baseline/kaggle2021/own_base_rate",
    ]
    flat = result.to_dict()
    assert list(flat["calibration_checks"]) == [
        "test/all", "test/kaggle2021", "test/synthetic", "test/kaggle2021/own_base_rate"
    ]  # fmt: skip
    assert "test/slice/role=mle" not in flat["intervals_95"] and "baseline/kaggle2021" in flat["intervals_95"]
    assert flat["prediction_sets"] == {"test/all": COVERAGE, "test/kaggle2021": COVERAGE, "level": 0.9}
    assert flat["real_evidence"]["own_base_rates"] == {"kaggle2021": 0.5}
    assert list(flat["real_evidence"]["differences"]) == ["kaggle2021", "kaggle2021/own_base_rate"]
    assert flat["behaviour"] == {"cases": 1, "passed": 1}
    assert evaluation(sets=False).to_dict()["prediction_sets"] == {}


def test_metrics_summary_and_mlflow_names():
    summary = metrics_summary(evaluation())
    assert set(summary) == {"all", "kaggle2021", "synthetic"}
    assert {"coverage", "baseline_log_loss", "own_base_rate_ece"} <= set(summary["kaggle2021"])
    assert "coverage" not in summary["synthetic"] and "baseline_log_loss" not in summary["synthetic"]
    names = evaluation_metrics(evaluation())
    assert {
        "sets/test/all/coverage",
        "calibration_check/test/kaggle2021/own_base_rate/p_value",
        "ci95/baseline/kaggle2021/own_base_rate/ece/low",
        "baseline/kaggle2021/log_loss",
        "test/kaggle2021/own_base_rate/brier",
        "vs_baseline/kaggle2021/own_base_rate/roc_auc",
    } <= set(names)
    assert not any(name.startswith("sets/") for name in evaluation_metrics(evaluation(sets=False)))


def test_reports_name_groups_without_their_prefixes():
    result = evaluation()
    manifest = {"model_version": "v1"}
    report = evaluation_report(result, manifest)
    assert "| kaggle2021/own_base_rate | 10 |" in report and "| role=mle | 10 |" in report
    assert "| kaggle2021 | 0.900 |" in report  # prediction sets
    assert "| kaggle2021 | 0.500 | baseline | 10 |" in report  # under its own base rate
    assert len(baseline_summary(result)) == 3
    plain = evaluation(baseline=False, sets=False)
    report = evaluation_report(plain, manifest)
    assert "no baseline to compare with" in report and "## Prediction sets" not in report
    card_manifest = {
        "model_version": "v1",
        "candidate": "c",
        "calibration": "k",
        "instrument": {"version": 1},
        "training_data": {"sha256": "0" * 64, "rows": {"total": 2, "by_source": {}}},
    }
    assert "no baseline to compare with" in model_card({}, card_manifest, plain)
