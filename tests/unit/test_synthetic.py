import numpy as np
import pandas as pd
import pytest

from rolefit.config import SynthesizeParams
from rolefit.data.synthetic import generate, read_marginals
from rolefit.instrument.items import load_instrument

from ..conftest import ROOT


@pytest.fixture(scope="module")
def marginals():
    return read_marginals(ROOT / "data/reference/survey_marginals.csv")


@pytest.fixture(scope="module")
def sample(marginals):
    return generate(SynthesizeParams(), marginals, n=40_000, seed=11)


def test_same_seed_same_frame(marginals):
    a = generate(SynthesizeParams(), marginals, n=2_000, seed=5)
    b = generate(SynthesizeParams(), marginals, n=2_000, seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = generate(SynthesizeParams(), marginals, n=2_000, seed=6)
    assert not a.equals(c)


def test_columns_and_values_fit_the_instrument(sample):
    instrument = load_instrument()
    assert list(sample.columns) == [
        "respondent_id",
        "source",
        *instrument.ids,
        "role",
        "p_true",
        "p_true_without_experience",
    ]
    assert sample["respondent_id"].is_unique
    assert set(sample["role"]) == {"swe", "mle"}
    assert sample["p_true"].between(0, 1, inclusive="neither").all()
    for item in instrument.items:
        answered = sample[item.id].dropna()
        for value in answered.unique():
            assert item.coerce(value) == value, (item.id, value)


def test_skip_rates_are_realistic(sample):
    instrument = load_instrument()
    rates = sample[[i.id for i in instrument.items if i.group != "tools"]].isna().mean()
    assert rates.between(0.04, 0.16).all(), rates[~rates.between(0.04, 0.16)]
    # the tools questions are real-only: the generator never answers them
    assert sample[[i.id for i in instrument.items if i.group == "tools"]].isna().all().all()


def test_role_is_drawn_from_p_true(sample):
    # the role frequency inside p_true deciles matches p_true (calibrated by construction)
    deciles = pd.qcut(sample["p_true"], 10)
    observed = (sample["role"] == "mle").groupby(deciles, observed=True).mean()
    expected = sample["p_true"].groupby(deciles, observed=True).mean()
    assert np.abs(observed - expected).max() < 0.03


def test_items_follow_their_lean(sample):
    is_mle = sample["role"] == "mle"
    for item in load_instrument().items:
        if item.kind != "scale" or item.lean == "none":
            continue
        gap = sample.loc[is_mle, item.id].mean() - sample.loc[~is_mle, item.id].mean()
        assert (gap > 0) == (item.lean == "mle"), (item.id, gap)


def test_every_goal_choice_is_drawn_and_leans_its_way(sample):
    """Each goal but "undecided" has its own utility (a choice without one would silently behave like
    "undecided"), each is drawn, and a role's own goals are more common among its people: the new
    "machine learning engineer" among MLEs, "software engineer" among SWEs (instrument 1.2)."""
    from rolefit.data.synthetic import GOAL_LOADINGS

    goal = load_instrument()["career_goal"]
    assert set(GOAL_LOADINGS) == {c.id for c in goal.choices if c.id != "undecided"}
    is_mle = sample["role"] == "mle"
    answered = sample["career_goal"].notna()
    mle_share = sample.loc[is_mle & answered, "career_goal"].value_counts(normalize=True)
    swe_share = sample.loc[~is_mle & answered, "career_goal"].value_counts(normalize=True)
    for choice in goal.choices:
        assert mle_share.get(choice.id, 0) > 0.01 and swe_share.get(choice.id, 0) > 0.01, choice.id
        if choice.lean != "none":
            ratio = mle_share[choice.id] / swe_share[choice.id]
            assert (ratio > 1.2) == (choice.lean == "mle") and (ratio < 1 / 1.2) == (choice.lean == "swe"), (
                choice.id,
                ratio,
            )
    assert mle_share["ml_engineer"] > swe_share["ml_engineer"] * 1.2
    assert swe_share["software_engineer"] > mle_share["software_engineer"] * 1.2


def test_experience_items_match_the_survey_marginals(sample, marginals):
    for item_id, levels in marginals.table.items():
        for role in ("swe", "mle"):
            answered = sample.loc[sample["role"] == role, item_id].dropna()
            for level, shares in levels.items():
                if item_id.startswith(("uses_", "activity_")):
                    observed = (answered == 1).mean()
                elif answered.dtype == object:
                    observed = (answered == level).mean()
                else:
                    observed = (answered == float(level)).mean()
                assert abs(observed - shares[role]) <= 0.03, (item_id, level, role, observed, shares[role])


def test_marginals_file_names_its_source_and_licence(marginals):
    assert "Kaggle" in marginals.source and "CC BY 2.0" in marginals.source


def test_without_marginals_the_respondents_answer_no_experience_item():
    """The fit's own respondents (issue #24): the same generator, no experience answers, and the Bayes
    posterior of what they did answer."""
    frame = generate(SynthesizeParams(n_respondents=3000), None, id_prefix="fit")
    instrument = load_instrument()
    experience = [i.id for i in instrument.items if i.group == "experience"]
    assert frame[experience].isna().all().all()
    assert frame["respondent_id"].str.startswith("fit-").all()
    assert np.allclose(frame["p_true"], frame["p_true_without_experience"])
    for item in instrument.fit_ids:
        assert frame[item].notna().mean() > 0.7, item
    assert 0.25 < (frame["role"] == "mle").mean() < 0.45


def test_the_rules_of_thumb_are_the_guides_scenarios_and_point_their_way():
    """The items given ``rule_of_thumb_effect`` are exactly the guides' four scenarios, each leaning to
    the role its scenario points to."""
    import yaml

    from rolefit.data.synthetic import RULES_OF_THUMB

    facts = yaml.safe_load((ROOT / "src/rolefit/guidance/role_facts.yaml").read_text())
    scenarios = {s["if"]: s["points_to"] for s in facts["advice"]["scenarios"]}
    instrument = load_instrument()
    assert sorted(RULES_OF_THUMB.values()) == sorted(scenarios)
    for item, scenario in RULES_OF_THUMB.items():
        assert instrument[item].lean == scenarios[scenario], item
        assert instrument[item].part == "fit", item


def test_a_rule_of_thumb_says_more_about_the_role_and_p_true_counts_it():
    """Reading the drawn role, each rule of thumb tells the roles further apart as its shift grows
    (other items unchanged), and ``p_true`` (without experience) stays calibrated because it adds the
    answers' evidence: without that evidence it would not be."""
    from rolefit.data.synthetic import RULES_OF_THUMB

    def gap(frame, item):
        means = frame.groupby("role")[item].mean()
        return abs(means["mle"] - means["swe"])

    plain = generate(SynthesizeParams(rule_of_thumb_effect=0.0), None, n=100_000, seed=3)
    strong = generate(SynthesizeParams(rule_of_thumb_effect=0.2), None, n=100_000, seed=3)
    for item in RULES_OF_THUMB:
        assert gap(strong, item) > gap(plain, item) + 0.1, item
    assert gap(strong, "interest_math") == gap(plain, "interest_math")

    def worst_decile(p, y):
        order = np.argsort(p)
        return max(abs(p[c].mean() - y[c].mean()) for c in np.array_split(order, 10))

    y = (strong["role"] == "mle").to_numpy()
    p = strong["p_true_without_experience"].to_numpy()
    assert worst_decile(p, y) < 0.01
    without = plain["p_true_without_experience"].to_numpy()  # the same people's traits and goal only
    for item in RULES_OF_THUMB:  # among those who answered a rule at its ends, p_true still agrees
        for answer in (1, 5):
            rows = (strong[item] == answer).to_numpy()
            assert abs(p[rows].mean() - y[rows].mean()) < 0.02, (item, answer)
        rows = (strong[item] == 5).to_numpy()
        assert abs(without[rows].mean() - y[rows].mean()) > 0.02, item  # what missing evidence looks like
