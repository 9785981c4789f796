"""Issue #26's acceptance for ``rolefit recalibrate``: Stack Overflow 2017's own calibration.

Issue #12 could not bring the all-answers model's calibration check on Stack Overflow 2017 respondents to
p >= 0.05 (its people are far less often ML specialists than Kaggle's). Recalibrating on that source's
calibration split, with an intercept only, must: checked on the split's held-out rows.
"""

from __future__ import annotations

import pytest

from rolefit.data.labelled import read_labelled
from rolefit.evaluation.recalibration import recalibrate

SOURCE = {"source": "stackoverflow2017", "split": "calibration"}


@pytest.mark.slow
def test_stack_overflow_2017_is_calibrated_by_an_intercept_only(champion, training_data, tmp_path):
    frame = training_data[0]
    if not (frame["source"] == SOURCE["source"]).any():
        pytest.skip("no Stack Overflow 2017 respondents (../shared/data/surveys is absent)")
    path = tmp_path / "dataset.parquet"
    frame.to_parquet(path)
    sample = read_labelled(path, SOURCE)
    _, parent = champion
    result = recalibrate(sample, tmp_path / "stackoverflow2017", model=parent, holdout=0.3, seed=0)
    fit, report = result.fit, result.report
    assert fit.fitted == "intercept" and fit.slope == 1.0  # --slope auto chose an intercept alone
    after, before = report["after"], report["before"]
    assert after["calibration_check"]["p_value"] >= 0.05, report
    assert after["ece"] < before["ece"] and after["log_loss"] < before["log_loss"]
    assert after["roc_auc"] == pytest.approx(before["roc_auc"])  # an intercept does not reorder people
    # the population is less often ML: the starting point moves down, inside the fit's interval
    low, high = fit.shift_interval
    assert high < 0 and low < fit.shift < high
    assert result.derived.manifest["sample"]["rows_filter"] == SOURCE
