"""The calibration check tells chance from real miscalibration."""

import numpy as np

from rolefit.evaluation.metrics import calibration_check
from rolefit.model.metrics import expected_calibration_error


def test_calibrated_probabilities_are_within_chance():
    rng = np.random.default_rng(1)
    p = rng.beta(2, 3, 1_000)
    y = (rng.random(p.size) < p).astype(int)
    check = calibration_check(y, p, n_sim=200, seed=0)
    assert check["ece"] == expected_calibration_error(y, p)
    # the noise floor of 1,000 respondents is well above zero, and this model sits inside it
    assert 0.01 < check["ece_if_calibrated"] < check["ece_if_calibrated_95"] < 0.06
    assert check["p_value"] > 0.05


def test_shifted_probabilities_are_flagged():
    rng = np.random.default_rng(2)
    p = rng.beta(2, 3, 1_000)
    y = (rng.random(p.size) < p).astype(int)
    check = calibration_check(y, np.clip(p + 0.08, 0, 1), n_sim=200, seed=0)
    assert check["ece"] > check["ece_if_calibrated_95"]
    assert check["p_value"] < 0.01


def test_same_seed_same_answer_and_empty_input():
    rng = np.random.default_rng(3)
    p = rng.random(300)
    y = (rng.random(300) < p).astype(int)
    assert calibration_check(y, p, seed=4) == calibration_check(y, p, seed=4)
    assert np.isnan(calibration_check([], [])["p_value"])
