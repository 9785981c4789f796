"""Prediction sets come from the per-role conformal thresholds, and a coverage check catches wrong ones.

The scores here are drawn from a calibrated model of known form (``y ~ Bernoulli(p)``), so split
conformal must cover each role at the level on fresh draws; every threshold is checked against the
definition, computed here in exact fractions, never against the function under test.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

from rolefit.model.conformal import (
    RULE_VERSION,
    TOLERANCE,
    Conformal,
    band_groups,
    coverage,
    coverage_errors,
    fit_conformal,
    verdict,
    weighted_quantile,
)
from rolefit.scoring.decision import decide

LEVEL = 0.9


def respondents(n: int, seed: int):
    """``n`` respondents of a calibrated model: 38% MLE overall, sharper the more they answered."""
    rng = np.random.default_rng(seed)
    answered = rng.integers(1, 45, n)
    # log-odds spread grows with the answers given; the prior puts 38% on MLE
    z = math.log(0.38 / 0.62) + rng.normal(0.0, 0.4 + answered / 20.0)
    p = 1.0 / (1.0 + np.exp(-z))
    y = (rng.random(n) < p).astype(int)
    return y, p, answered


@pytest.fixture(scope="module")
def held_out():
    """Thresholds fitted on one sample (the validation split) and fresh respondents (the test split)."""
    y, p, answered = respondents(40_000, seed=1)
    conformal = fit_conformal(y, p, LEVEL, min_answers=3, answered=answered)
    return conformal, respondents(40_000, seed=2)


# ---------------------------------------------------------------------------------------------------
# the thresholds


@pytest.mark.parametrize(
    ("n", "k"),
    # k = ceil((n + 1) * 9 / 10), worked out by hand: the k-th smallest score is the threshold
    [(9, 9), (10, 10), (19, 18), (20, 19), (99, 90), (100, 91)],
)
def test_equal_weights_give_the_finite_sample_quantile(n, k):
    scores = np.random.default_rng(n).permutation(np.arange(1, n + 1) / (n + 1))  # distinct, shuffled
    assert weighted_quantile(scores, np.ones(n), LEVEL) == pytest.approx(k / (n + 1), abs=0.0)


def test_too_few_respondents_never_rule_a_role_out():
    # (8 + 1) * 0.9 = 8.1: the 9th smallest of 8 scores does not exist, so every score is within
    assert weighted_quantile(np.linspace(0.1, 0.8, 8), np.ones(8), LEVEL) == 1.0
    assert weighted_quantile([], [], LEVEL) == 1.0


def test_weights_follow_the_weighted_definition_exactly():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 30))
        scores = rng.integers(0, 12, n) / 12  # ties on purpose
        weights = rng.integers(1, 5, n)
        level = Fraction(int(rng.integers(50, 99)), 100)
        total = sum(Fraction(int(w)) for w in weights)
        need = level * (total + total / n)  # the new person weighs the mean weight
        expected = 1.0
        for s in sorted(set(scores.tolist())):
            if sum(Fraction(int(w)) for x, w in zip(scores, weights, strict=True) if x <= s) >= need:
                expected = s
                break
        assert weighted_quantile(scores, weights.astype(float), float(level)) == expected, trial


def test_sparse_bands_are_pooled_with_their_neighbours():
    assert band_groups([(300, 300), (10, 500), (400, 400), (50, 50)], least=200) == [[0], [1, 2, 3]]
    assert band_groups([(300, 300), (300, 300)], least=200) == [[0], [1]]
    assert band_groups([(10, 10), (10, 10)], least=200) == [[0, 1]]


def test_each_band_has_the_thresholds_of_its_own_respondents():
    y, p, answered = respondents(20_000, seed=3)
    conformal = fit_conformal(y, p, LEVEL, min_answers=3, answered=answered, bands=(12, 25))
    for most, (low, high) in ((12, (3, 12)), (25, (13, 25)), (None, (26, 99))):
        band = (answered >= low) & (answered <= high)
        swe, mle = band & (y == 0), band & (y == 1)
        q_swe = sorted(p[swe])[math.ceil(Fraction(9, 10) * (swe.sum() + 1)) - 1]
        q_mle = sorted(1.0 - p[mle])[math.ceil(Fraction(9, 10) * (mle.sum() + 1)) - 1]
        assert conformal.thresholds(most) == (q_swe, q_mle), most
    assert conformal.thresholds(None) == (conformal.q_swe, conformal.q_mle) == conformal.thresholds(44)


def test_respondents_below_the_minimum_answers_do_not_move_the_thresholds():
    y, p, answered = respondents(20_000, seed=4)
    moved = np.where(answered < 3, 1.0 - p, p)  # their scores turned upside down
    assert fit_conformal(y, p, LEVEL, min_answers=3, answered=answered) == fit_conformal(
        y, moved, LEVEL, min_answers=3, answered=answered
    )


# ---------------------------------------------------------------------------------------------------
# the coverage check: passes on the right thresholds, fails on wrong ones


def test_each_role_is_covered_at_the_level_on_fresh_respondents(held_out):
    conformal, (y, p, answered) = held_out
    assert coverage_errors(y, p, conformal, answered) == []
    judged = answered >= 3
    for low, high in ((3, 5), (6, 12), (13, 25), (26, 44)):  # and in each band of answer counts
        band = (answered >= low) & (answered <= high)
        assert coverage_errors(y[band], p[band], conformal, answered[band]) == [], (low, high)
    found = coverage(y[judged], p[judged], conformal, answered[judged])
    assert abs(found["coverage_swe"] - LEVEL) <= TOLERANCE and abs(found["coverage_mle"] - LEVEL) <= TOLERANCE


def test_thresholds_of_the_swapped_level_fail_the_check(held_out):
    """alpha and 1 - alpha swapped: thresholds fitted at 0.1 while the model claims 0.9."""
    conformal, (y, p, answered) = held_out
    fit_y, fit_p, fit_answered = respondents(40_000, seed=1)
    swapped = dataclasses.replace(
        fit_conformal(fit_y, fit_p, 1 - LEVEL, min_answers=3, answered=fit_answered), level=LEVEL
    )
    errors = coverage_errors(y, p, swapped, answered)
    assert len(errors) == 2 and "swe" in errors[0] and "mle" in errors[1]
    # and the other way round: 0.9 thresholds claiming 0.1
    assert len(coverage_errors(y, p, dataclasses.replace(conformal, level=1 - LEVEL), answered)) == 2


def test_thresholds_of_the_wrong_role_fail_the_check(held_out):
    conformal, (y, p, answered) = held_out
    crossed = dataclasses.replace(
        conformal,
        q_swe=conformal.q_mle,
        q_mle=conformal.q_swe,
        bands=tuple((most, q_mle, q_swe) for most, q_swe, q_mle in conformal.bands),
    )
    assert coverage_errors(y, p, crossed, answered)


def test_the_old_three_to_one_floor_over_covers_swe_and_fails_the_check(held_out):
    """The rule before: a set named one role only at 3-to-1 odds, whatever the thresholds."""
    conformal, (y, p, answered) = held_out
    floored = dataclasses.replace(conformal, min_probability=0.75)
    errors = coverage_errors(y, p, floored, answered)
    assert errors and all("swe" in e for e in errors)


def test_the_check_needs_respondents_of_both_roles():
    conformal = Conformal(level=LEVEL, q_swe=0.5, q_mle=0.5, min_answers=3)
    y, p = np.array([0] * 10 + [1]), np.array([0.2] * 9 + [0.9, 0.9])  # 9 of 10 swe within 0.5
    errors = coverage_errors(y, p, conformal, np.array([5] * 10 + [2]))
    assert errors == ["No held-out mle respondent has 3 or more answers."]


# ---------------------------------------------------------------------------------------------------
# the set and the verdict


def test_the_set_is_the_roles_within_their_thresholds_and_the_verdict_follows_from_it():
    conformal = Conformal(level=LEVEL, q_swe=0.56, q_mle=0.76, min_answers=3, bands=((5, 0.6, 0.7),))
    for answered in (0, 1, 2, 3, 5, 6, 44):
        q_swe, q_mle = (0.6, 0.7) if answered <= 5 else (0.56, 0.76)
        for p in np.linspace(0.0, 1.0, 401):
            chosen, said = decide(conformal, float(p), answered)
            if answered < 3:
                assert chosen == ["swe", "mle"]
            else:
                assert chosen == [r for r, ok in (("swe", p <= q_swe), ("mle", 1 - p <= q_mle)) if ok]
            if answered == 0:
                assert said == "no-information"
            elif len(chosen) == 1:
                assert said == "clear"
            else:
                assert said == ("leaning" if max(p, 1 - p) >= 0.6 else "toss-up")
            assert said == verdict(chosen, float(p), answered)


def test_an_empty_set_holds_both_roles_and_is_never_clear():
    """Thresholds under 0.5 leave probabilities no role reaches: such a person is not placed."""
    gap = Conformal(level=LEVEL, q_swe=0.42, q_mle=0.37, min_answers=3)
    assert decide(gap, 0.5, 10) == (["swe", "mle"], "toss-up")
    assert decide(gap, 0.62, 10) == (["swe", "mle"], "leaning")
    assert decide(gap, 0.4, 10) == (["swe"], "clear") and decide(gap, 0.7, 10) == (["mle"], "clear")
    # a bundle of rule 1 named the more likely role, and still does
    old = dataclasses.replace(gap, min_probability=0.5)
    assert decide(old, 0.55, 10) == (["mle"], "clear")


def test_the_rule_version_is_written_and_old_bundles_keep_their_floor():
    new = Conformal(level=LEVEL, q_swe=0.56, q_mle=0.76, min_answers=3, bands=((5, 0.6, 0.7),))
    written = new.to_dict()
    assert written["rule_version"] == RULE_VERSION == 2 and "min_probability" not in written
    assert Conformal.from_dict(written) == new
    old = {"level": 0.9, "q_swe": 0.56, "q_mle": 0.76, "min_answers": 3, "min_probability": 0.75}
    assert Conformal.from_dict(old).min_probability == 0.75
    assert Conformal.from_dict(old).prediction_set(0.7, 10) == ["swe", "mle"]  # 3 to 1 not reached
    assert new.prediction_set(0.7, 10) == ["mle"]
    # before the floor existed it was 0.5, which never widens a set
    oldest = {"level": 0.9, "q_swe": 0.56, "q_mle": 0.76}
    assert Conformal.from_dict(oldest).min_probability == 0.5
    with pytest.raises(ValueError, match="rule version 3 is unknown"):
        Conformal.from_dict({**written, "rule_version": 3})
