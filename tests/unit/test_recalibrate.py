"""The recalibration core (rolefit.model.recalibrate) and the labelled-sample reader, on synthetic labels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rolefit.data.labelled import LabelledSampleError, parse_row_filters, read_labelled
from rolefit.model.conformal import Conformal
from rolefit.model.recalibrate import (
    MIN_PER_ROLE_FOR_SLOPE,
    Recalibration,
    RecalibrationError,
    fit_recalibration,
    holdout_split,
    recalibrated_additive,
    recalibrated_conformal,
)
from rolefit.model.tables import AdditiveModel, ItemTable


def labels(n: int, shift: float, slope: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Parent log-odds ``x`` and labels drawn from ``sigmoid(shift + slope * x)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(-0.5, 1.5, n)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(shift + slope * x)))).astype(int)
    return y, x


@pytest.mark.parametrize("shift", [-1.4, 0.8])
def test_a_known_shift_is_recovered_with_an_intercept_only(shift):
    y, x = labels(20_000, shift)
    fit = fit_recalibration(y, x)
    low, high = fit.shift_interval
    assert low < shift < high and high - low < 0.2
    assert fit.slope == 1.0 and fit.fitted == "intercept"
    # enough people for a slope, so the test ran and found none
    assert fit.lr_p_value is not None and fit.lr_p_value >= 0.05 and "better than chance" in fit.why
    assert np.allclose(fit.apply(x), x + fit.shift)


def test_a_slope_is_fitted_when_the_sample_shows_one():
    y, x = labels(20_000, -1.0, slope=0.5)
    fit = fit_recalibration(y, x, slope="auto")
    assert fit.fitted == "intercept and slope" and fit.lr_p_value < 0.05
    assert abs(fit.slope - 0.5) < 0.05 and abs(fit.shift + 1.0) < 0.1
    assert "likelihood-ratio" in fit.why and fit.shift_interval is None
    assert np.allclose(fit.apply(x), fit.shift + fit.slope * x)
    never = fit_recalibration(y, x, slope="never")
    assert never.fitted == "intercept" and never.slope == 1.0 and never.lr_p_value is None
    assert "--slope never" in never.why


def test_a_small_sample_gets_an_intercept_only_whatever_its_slope_and_says_why():
    y, x = labels(4_000, -1.0, slope=0.3, seed=3)
    mle = np.flatnonzero(y == 1)[: MIN_PER_ROLE_FOR_SLOPE - 1]
    keep = np.concatenate([np.flatnonzero(y == 0)[:400], mle])
    auto = fit_recalibration(y[keep], x[keep], slope="auto")
    assert auto.fitted == "intercept" and auto.lr_p_value is None
    assert (
        f"at least {MIN_PER_ROLE_FOR_SLOPE}" in auto.why
        and f"{MIN_PER_ROLE_FOR_SLOPE - 1} ML engineers" in auto.why
    )
    forced = fit_recalibration(y[keep], x[keep], slope="always")
    assert forced.fitted == "intercept and slope" and "--slope always" in forced.why


def test_weights_count_as_repeated_respondents():
    y, x = labels(3_000, -0.7, seed=5)
    twice = fit_recalibration(np.r_[y, y[:500]], np.r_[x, x[:500]], slope="never")
    weights = np.ones(len(y))
    weights[:500] = 2.0
    weighted = fit_recalibration(y, x, weights=weights, slope="never")
    assert math.isclose(weighted.shift, twice.shift, rel_tol=1e-9)


def test_bad_input_names_the_cause():
    y, x = labels(500, 0.0)
    with pytest.raises(RecalibrationError, match=r"labels must be 0 .swe. or 1 .mle.*log-odds are not"):
        fit_recalibration(np.r_[y[:-1], 2], np.r_[x[:-1], np.nan])
    with pytest.raises(RecalibrationError, match="slope must be one of never, auto, always"):
        fit_recalibration(y, x, slope="sometimes")
    with pytest.raises(RecalibrationError, match=r"differ in length \(500, 499"):
        fit_recalibration(y, x[:-1])
    with pytest.raises(RecalibrationError, match="3 mle respondents; a recalibration needs at least 10"):
        keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:3]])
        fit_recalibration(y[keep], x[keep])
    with pytest.raises(RecalibrationError, match="between 0 and 1"):
        holdout_split(y, 1.0, 0)
    with pytest.raises(RecalibrationError, match="each role needs about"):
        holdout_split(np.r_[np.zeros(100), np.ones(12)], 0.3, 0)


def test_the_held_out_rows_are_a_stated_share_of_each_role_chosen_by_the_seed():
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    held = holdout_split(y, 0.3, seed=1)
    assert held[y == 0].sum() == 270 and held[y == 1].sum() == 30
    assert (holdout_split(y, 0.3, seed=1) == held).all()
    assert (holdout_split(y, 0.3, seed=2) != held).any()


def small_model() -> AdditiveModel:
    """Scaled, fixed, answered-alone and choice items, with offsets, a coverage scale and conformal sets."""
    tables = {
        "interest_math": ItemTable("interest_math", edges=(1.0, 3.0), values=(-0.4, 0.1, 0.9)),
        "career_goal": ItemTable("career_goal", choices={"undecided": 0.0, "ai_researcher": 1.2}),
        "years_ml": ItemTable("years_ml", edges=(0.0,), values=(-0.3, 0.7)),
        "uses_python": ItemTable("uses_python", edges=(0.0,), values=(-0.2, 0.5)),
        "skill_dsa": ItemTable("skill_dsa", edges=(2.0,), values=(0.3, -0.6)),
    }
    return AdditiveModel(
        intercept=-0.49,
        tables=tables,
        coverage={
            "interest_math": 0.3,
            "career_goal": 0.2,
            "years_ml": 0.1,
            "uses_python": 0.1,
            "skill_dsa": 0.3,
        },
        a=1.3,
        kappa=0.8,
        gamma=1.5,
        fixed=frozenset({"years_ml"}),
        offsets={"interest_math": 0.05, "skill_dsa": -0.02},
        base_rate=1.0 / (1.0 + math.exp(0.49)),
        alone={"uses_python": ItemTable("uses_python", edges=(0.0,), values=(-0.1, 0.3))},
        conformal=Conformal(level=0.9, q_swe=0.7, q_mle=0.6, bands=((5, 0.8, 0.75),)),
    )


ANSWER_SETS = [
    {},
    {"interest_math": 5},
    {"interest_math": 2, "career_goal": "ai_researcher", "years_ml": 2, "uses_python": 1, "skill_dsa": 1},
    {"career_goal": "undecided", "uses_python": 0, "skill_dsa": 4},
]


@pytest.mark.parametrize("shift, slope", [(-1.42, 1.0), (0.6, 0.55), (-0.3, 1.8)])
def test_the_recalibrated_tables_give_shift_plus_slope_times_the_parents_log_odds(shift, slope):
    parent = small_model()
    fit = Recalibration(shift=shift, slope=slope, fitted="", why="", rule="auto", n_fit={})
    child = recalibrated_additive(parent, fit)
    for answers in ANSWER_SETS:
        before = parent.intercept + sum(parent.contributions(answers).values())
        after = child.intercept + sum(child.contributions(answers).values())
        assert math.isclose(after, shift + slope * before, abs_tol=1e-12)
    assert math.isclose(math.log(child.base_rate / (1 - child.base_rate)), child.intercept, abs_tol=1e-12)
    # the reasons keep their size with an intercept only
    if slope == 1.0:
        assert (
            child.tables == parent.tables and child.offsets == parent.offsets and child.alone == parent.alone
        )


@pytest.mark.parametrize("shift, slope", [(-1.42, 1.0), (0.6, 0.55)])
def test_every_prediction_set_is_the_parents(shift, slope):
    parent = small_model().conformal
    fit = Recalibration(shift=shift, slope=slope, fitted="", why="", rule="auto", n_fit={})
    child = recalibrated_conformal(parent, fit)
    for p in np.linspace(0.001, 0.999, 997):
        moved = 1.0 / (1.0 + math.exp(-(shift + slope * math.log(p / (1 - p)))))
        for answered in (3, 20, None):
            assert child.prediction_set(moved, answered) == parent.prediction_set(p, answered), (p, answered)


# ---------------------------------------------------------------------------------------------------
# the labelled sample


def rows_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "interest_math": [5, 1, 3, 4],
        "career_goal": ["ai_researcher", "undecided", None, "cloud_engineer"],
        "role": ["mle", "swe", "swe", "mle"],
        "source": ["so", "so", "kaggle", "so"],
        "split": ["calibration", "calibration", "calibration", "test"],
    })  # fmt: skip


def test_a_parquet_sample_is_selected_by_column_values(tmp_path):
    path = tmp_path / "dataset.parquet"
    rows_frame().to_parquet(path)
    sample = read_labelled(path, parse_row_filters(["source=so", "split=calibration"]))
    assert list(sample.frame["role"]) == ["mle", "swe"]
    assert sample.description["roles"] == {"swe": 1, "mle": 1} and sample.description["rows"] == 2
    assert sample.description["rows_filter"] == {"source": "so", "split": "calibration"}
    assert len(sample.description["sha256"]) == 64 and sample.description["file"] == "dataset.parquet"
    assert "source" not in sample.frame.columns  # only item columns and the role are scored


def test_a_bad_sample_is_refused_naming_the_cause(tmp_path):
    path = tmp_path / "dataset.parquet"
    rows_frame().to_parquet(path)
    with pytest.raises(
        LabelledSampleError, match=r"no column 'wave' to select rows by; its columns are: .*split"
    ):
        read_labelled(path, {"wave": "1"})
    with pytest.raises(
        LabelledSampleError, match=r"No row of dataset.parquet has split=train .split has calibration, test"
    ):
        read_labelled(path, {"split": "train"})
    with pytest.raises(LabelledSampleError, match=r"COLUMN=VALUE .*'split'"):
        parse_row_filters(["split"])
    rows_frame().drop(columns="role").to_parquet(path)
    with pytest.raises(LabelledSampleError, match="no 'role' column"):
        read_labelled(path)
    bad = rows_frame()
    bad.loc[1, "interest_math"] = 9
    bad.loc[2, "role"] = "manager"
    bad.to_parquet(path)
    with pytest.raises(
        LabelledSampleError, match=r"2 of 4 selected rows .* row 2: interest_math.*row 3: role: got 'manager'"
    ):
        read_labelled(path)
    with pytest.raises(LabelledSampleError, match="does not exist"):
        read_labelled(tmp_path / "missing.csv")


def test_a_form_export_is_read_as_ingest_reads_it_and_selected_first(tmp_path):
    path = tmp_path / "alumni.csv"
    frame = rows_frame().rename(columns={"role": "Role"})
    frame["email"] = ["a@example.org", "", "", ""]  # a row with contact details is quarantined
    frame.to_csv(path, index=False)
    sample = read_labelled(path, {"split": "calibration"})
    assert sample.description["rows_in_file"] == 3 and sample.description["quarantined"] == 1
    assert sorted(sample.frame["role"]) == ["swe", "swe"]
    assert set(sample.frame.columns) == {"interest_math", "career_goal", "role"}


def test_the_words_say_a_slope_rescales_every_reason_when_one_was_fitted():
    from rolefit.apps.recalibrate_command import render
    from rolefit.evaluation.recalibration import before_after

    y, x = labels(6_000, -1.0, slope=0.5, seed=7)
    held = holdout_split(y, 0.3, seed=0)
    fit = fit_recalibration(y[~held], x[~held])
    report = before_after(
        y[held], 1 / (1 + np.exp(-x[held])), 1 / (1 + np.exp(-fit.apply(x[held]))), n_boot=20
    )
    report |= {"starting_point": {"before": 0.38, "after": 0.2}, "holdout": {"fraction": 0.3, "seed": 0}}
    sample = {"file": "alumni.csv", "rows": len(y), "rows_filter": {}, "roles": {"swe": 1, "mle": 1}}
    data = {"sample": sample, "recalibration": fit.to_dict(), "report": report,
            "parent": {"model_version": "v1"}, "bundle": "models/alumni", "model_version": "v2",
            "signed_by": None}  # fmt: skip
    text = render(data)
    assert fit.fitted == "intercept and slope"
    assert f"A slope rescales every reason: each answer's effect is now {fit.slope:.2f} times" in text
    assert "less often ML engineers" in text and "from 38% to 20%" in text and "Unsigned" in text
    assert "starting point only" not in text
