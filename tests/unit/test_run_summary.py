"""The parent run's MLflow metrics: the champion-facing summary, at most 60, named as the docs name
them (docs/tutorials/mlflow.md); everything else goes to the run's metrics/*.json artifacts."""

from rolefit.ops import summary

#: What a training logs per group (rolefit.model.metrics.summary) and the groups it logs them for.
PER_GROUP = ("roc_auc", "log_loss", "brier", "ece", "accuracy", "balanced_accuracy", "precision_mle",
             "recall_mle", "f1_mle", "precision_swe", "recall_swe", "f1_swe", "n")  # fmt: skip


def run_metrics(real: list[str]) -> dict[str, float]:
    """Every metric name a training and its evaluation produce for ``real`` sources (as in mlflow.db)."""
    names: list[str] = []
    for part in ("validation", "test"):
        for group in ("all", "synthetic", *real):
            names += [f"{part}/{group}/{m}" for m in PER_GROUP]
            names += [f"{part}/{group}/partial_answers/{m}" for m in PER_GROUP]
        names += [f"{part}/synthetic/{m}" for m in ("bayes_log_loss", "log_loss_ratio_to_bayes")]
        names += [f"{part}/synthetic/without_experience/{m}" for m in PER_GROUP]
    names += [f"rows/{s}" for s in ("synthetic", *real)] + [f"rows_split/{s}" for s in ("train", "test")]
    names += ["selection/log_loss", "max_table_error", "drift/alarms", "behaviour/cases", "behaviour/passed"]
    for group in ("all", "synthetic", *real):
        names += [f"sets/test/{group}/{k}" for k in ("coverage", "mean_set_size", "both_share")]
        names += [f"calibration_check/test/{group}/{k}" for k in ("ece", "p_value")]
        names += [
            f"ci95/test/{group}/{m}/{end}" for m in ("roc_auc", "log_loss", "ece") for end in ("low", "high")
        ]
    for source in real:
        for key in (f"test/{source}/own_base_rate", f"baseline/{source}", f"baseline/{source}/own_base_rate"):
            names += [f"{key}/{m}" for m in ("log_loss", "ece", "roc_auc", "brier")]
        for key in (f"vs_baseline/{source}", f"vs_baseline/{source}/own_base_rate"):
            names += [f"{key}/{m}" for m in ("log_loss", "ece", "roc_auc")]
    for attribute in ("gender", "country"):
        names += [
            f"fairness/{attribute}/{k}" for k in ("demographic_parity_ratio", "equalized_odds_difference")
        ]
    return {name: 0.5 for name in names}


def test_the_summary_holds_the_headline_metrics_and_leaves_out_the_rest():
    shown, rest = summary.split(run_metrics(["kaggle2021", "stackoverflow2017"]))
    assert {
        "test/all/log_loss", "test/kaggle2021/roc_auc", "test/stackoverflow2017/ece", "test/synthetic/brier",
        "test/synthetic/log_loss_ratio_to_bayes", "sets/test/kaggle2021/coverage",
        "test/kaggle2021/own_base_rate/ece", "baseline/kaggle2021/log_loss",
        "vs_baseline/kaggle2021/log_loss",
        "selection/log_loss", "validation/all/log_loss", "rows/kaggle2021", "behaviour/passed",
        "fairness/gender/demographic_parity_ratio", "drift/alarms",
    } <= set(shown)  # fmt: skip
    hidden = ("test/all/f1_mle", "test/kaggle2021/partial_answers/log_loss", "validation/synthetic/ece",
              "ci95/test/all/log_loss/low", "calibration_check/test/all/p_value", "rows_split/train",
              "baseline/kaggle2021/own_base_rate/ece",
              "test/synthetic/without_experience/log_loss")  # fmt: skip
    for name in hidden:
        assert name in rest and name not in shown
    assert set(shown) | set(rest) == set(run_metrics(["kaggle2021", "stackoverflow2017"]))


def test_the_summary_stays_within_sixty_metrics_for_up_to_three_real_sources():
    counts = [len(summary.split(run_metrics(real))[0]) for real in ([], ["a"], ["a", "b"], ["a", "b", "c"])]
    assert counts[2] == 46  # the project's data: Kaggle 2021 and Stack Overflow 2017
    assert counts[3] <= summary.MAX_SUMMARY < len(run_metrics(["a", "b"]))
    assert counts[3] - counts[2] == counts[2] - counts[1] == 12  # each real source adds the same 12
