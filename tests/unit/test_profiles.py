"""Experience profiles: fitting, tilting to a role's marginals, exact likelihoods of partial answers."""

import itertools

import numpy as np
import pandas as pd
import pytest

from rolefit.data.profiles import Profiles, fit_profiles, format_profiles, read_profiles, tilt

from ..conftest import ROOT


@pytest.fixture(scope="module")
def small():
    """Two profiles over three items (2, 3 and 2 levels)."""
    return Profiles(
        items=("a", "b", "c"),
        levels={"a": ("0", "1"), "b": ("x", "y", "z"), "c": ("0", "1")},
        weights=np.array([0.6, 0.4]),
        shares={
            "a": np.array([[0.8, 0.2], [0.3, 0.7]]),
            "b": np.array([[0.5, 0.3, 0.2], [0.1, 0.3, 0.6]]),
            "c": np.array([[0.9, 0.1], [0.4, 0.6]]),
        },
    )


TARGETS = {
    "mle": {"a": np.array([0.35, 0.65]), "b": np.array([0.2, 0.3, 0.5]), "c": np.array([0.5, 0.5])},
    "swe": {"a": np.array([0.75, 0.25]), "b": np.array([0.45, 0.35, 0.2]), "c": np.array([0.85, 0.15])},
}


def all_answer_sets(profiles):
    return np.array(list(itertools.product(*[range(len(profiles.levels[i])) for i in profiles.items])))


def test_tilted_distribution_has_the_role_marginals_and_samples_follow_it(small):
    rng = np.random.default_rng(0)
    for targets in TARGETS.values():
        answers = tilt(small, targets)
        for j, item in enumerate(small.items):
            exact = answers.weights @ answers.shares[j]
            assert np.abs(exact - targets[item]).max() < 1e-6
            drawn = np.bincount(answers.sample(200_000, rng)[:, j], minlength=len(targets[item])) / 200_000
            assert np.abs(drawn - targets[item]).max() < 0.01


def test_skipped_items_are_summed_out_exactly(small):
    answers = tilt(small, TARGETS["mle"])
    complete = all_answer_sets(small)
    joint = np.exp(answers.log_likelihood(complete))
    assert joint.sum() == pytest.approx(1.0, abs=1e-12)
    for skipped in ([1], [0, 2], [0, 1, 2]):
        kept = [j for j in range(3) if j not in skipped]
        partial = complete.copy()
        partial[:, skipped] = -1
        for row in np.unique(partial, axis=0):
            brute = joint[(complete[:, kept] == row[kept]).all(axis=1)].sum()
            assert np.exp(answers.log_likelihood(row[None, :]))[0] == pytest.approx(brute, rel=1e-10)


def test_evidence_of_a_whole_answer_set_is_additive(small):
    # log P_mle / P_swe changes by the same amount when one item changes, whatever the others are
    mle, swe = tilt(small, TARGETS["mle"]), tilt(small, TARGETS["swe"])
    complete = all_answer_sets(small)
    llr = mle.log_likelihood(complete) - swe.log_likelihood(complete)
    evidence = dict(zip(map(tuple, complete), llr, strict=True))
    steps = {evidence[(1, b, c)] - evidence[(0, b, c)] for b in range(3) for c in range(2)}
    assert max(steps) - min(steps) < 1e-9
    steps = {evidence[(a, 2, c)] - evidence[(a, 0, c)] for a in range(2) for c in range(2)}
    assert max(steps) - min(steps) < 1e-9


def test_fit_is_deterministic_keeps_the_marginals_and_round_trips(small, tmp_path):
    rng = np.random.default_rng(1)
    codes = tilt(small, TARGETS["mle"]).sample(3_000, rng)
    frame = pd.DataFrame(
        {item: np.array(small.levels[item], dtype=object)[codes[:, j]] for j, item in enumerate(small.items)}
    )
    frame.loc[rng.random(len(frame)) < 0.1, "b"] = None
    fitted = fit_profiles(frame, list(small.items), 3, seed=0)
    again = fit_profiles(frame, list(small.items), 3, seed=0)
    assert np.array_equal(fitted.weights, again.weights)
    for item in small.items:
        observed = frame[item].dropna().value_counts(normalize=True).reindex(fitted.levels[item]).to_numpy()
        assert np.abs(fitted.weights @ fitted.shares[item] - observed).max() < 0.01
    path = tmp_path / "p.profiles.csv"
    path.write_text(format_profiles(fitted, {"swe": 1, "mle": 2}), encoding="utf-8")
    back = read_profiles(path)
    assert back.items == fitted.items and back.levels == fitted.levels
    assert np.allclose(back.weights, fitted.weights, atol=1e-5)
    assert "CC BY 2.0" in back.source


def test_impossible_marginals_are_refused(small):
    targets = dict(TARGETS["mle"], a=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="cannot reproduce the marginals"):
        tilt(
            small.__class__(**{**small.__dict__, "shares": dict(small.shares, a=np.array([[1.0, 0.0]] * 2))}),
            targets,
        )


def test_committed_profiles_cover_every_experience_item():
    from rolefit.instrument.items import load_instrument

    profiles = read_profiles(ROOT / "data/reference/survey_marginals.profiles.csv")
    experience = {i.id for i in load_instrument().items if i.group == "experience"}
    assert set(profiles.items) == experience
    assert profiles.weights.sum() == pytest.approx(1.0)
    assert "Kaggle" in profiles.source and "training split" in profiles.source
