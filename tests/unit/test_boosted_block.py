"""The boosted real block: additive and exact by construction, monotone where the lean says, skipped = 0,
offsets respected, a known additive truth recovered, bad input refused; the choice between blocks."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from rolefit.instrument.items import load_instrument
from rolefit.model.boosted import (
    BoostedEvidenceBlock,
    Levels,
    choose_real_block,
    item_levels,
    level_step,
)
from rolefit.model.tables import blend_weight, blended_effect

ITEMS = ("years_coding", "years_ml", "education", "uses_java", "activity_ml_research")
YEARS = np.array([0.0, 0.5, 2.0, 4.0, 7.5, 15.0, 25.0])
EDUCATION = np.array(["no_degree", "some_college", "bachelor", "master", "doctorate"], dtype=object)
FAST = {"learning_rates": (0.3,), "max_rounds": 60, "round_step": 10, "n_folds": 3}

#: the truth of the simulated respondents, per item and answer (log-odds toward MLE)
TRUTH = {
    # not monotone (lean none): people in mid career lean MLE, beginners and veterans SWE
    "years_coding": dict(zip(YEARS, [-0.6, -0.3, 0.3, 0.6, 0.3, -0.3, -0.8], strict=True)),
    "years_ml": dict(zip(YEARS, [-1.2, -0.5, 0.3, 0.8, 1.0, 1.1, 1.1], strict=True)),
    "education": dict(zip(EDUCATION, [-0.5, -0.3, -0.2, 0.2, 0.9], strict=True)),
    "uses_java": {0.0: 0.3, 1.0: -0.6},
    "activity_ml_research": {0.0: -0.3, 1.0: 0.7},
}


def simulate(n: int, seed: int, skip: float = 0.1, offset=None) -> tuple[pd.DataFrame, np.ndarray]:
    """Answers and roles drawn from the additive :data:`TRUTH` (each answer skipped with ``skip``)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "years_coding": rng.choice(YEARS, n),
            "years_ml": rng.choice(YEARS, n),
            "education": pd.Series(rng.choice(EDUCATION, n), dtype=object),
            "uses_java": rng.integers(0, 2, n).astype(float),
            "activity_ml_research": rng.integers(0, 2, n).astype(float),
        }
    )
    t = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    for item, effects in TRUTH.items():
        t = t + frame[item].map(effects).to_numpy(dtype=float)
    y = (rng.random(n) < expit(t)).astype(int)
    for item in ITEMS:
        gone = rng.random(n) < skip
        frame[item] = (
            frame[item].astype(object).where(~gone, None) if item == "education" else frame[item].where(~gone)
        )
    return frame, y


@pytest.fixture(scope="module")
def fitted():
    X, y = simulate(3000, seed=1)
    return BoostedEvidenceBlock(items=ITEMS, base_log_odds=-0.5, **FAST).fit(X, y), X, y


def table_log_odds(block, X: pd.DataFrame) -> np.ndarray:
    """What the bundle's lookup tables give: base + each answered item's blended effect."""
    full, alone = block.tables(load_instrument())
    out = []
    for _, row in X.iterrows():
        answers = {k: v for k, v in row.items() if v is not None and v == v}
        weight = blend_weight(len(answers), len(block.items))
        effects = [blended_effect(alone[k].effect(v), full[k].effect(v), weight) for k, v in answers.items()]
        out.append(block.base_log_odds + sum(effects))
    return np.array(out)


def test_tables_reproduce_the_block_exactly_on_partial_answers_and_between_levels(fitted):
    block, _, _ = fitted
    X, _ = simulate(400, seed=2, skip=0.5)
    # answers between and beyond the levels seen in training fall into the same steps in both
    X["years_coding"] = X["years_coding"] + np.random.default_rng(3).choice([0.0, 0.3, 1.1], len(X))
    assert np.max(np.abs(table_log_odds(block, X) - block.decision_function(X))) <= 1e-9
    p = block.predict_proba(X)
    assert np.allclose(p.sum(axis=1), 1.0) and np.all((p >= 0) & (p <= 1))


def test_shapes_are_monotone_where_the_item_states_a_lean_and_free_where_it_does_not(fitted):
    block, _, _ = fitted
    full, alone = block.tables()
    for tables in (full, alone):
        assert np.all(np.diff(tables["years_ml"].values) >= -1e-12)  # leans MLE
        assert np.all(np.diff(tables["uses_java"].values) <= 1e-12)  # leans SWE
        assert np.all(np.diff(tables["activity_ml_research"].values) >= -1e-12)
    # years of coding leans nowhere: the hump of the truth is learned, not flattened
    coding = full["years_coding"]
    assert coding.effect(4.0) - coding.effect(0.0) > 0.5
    assert coding.effect(4.0) - coding.effect(25.0) > 0.5


def test_a_lean_is_kept_even_when_the_data_point_the_other_way():
    """Respondents whose MLE share falls with years of ML (against the item's lean) give a flat shape."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"years_ml": rng.choice(YEARS, 2000)})
    y = (rng.random(2000) < expit(-0.3 * X["years_ml"].to_numpy())).astype(int)
    block = BoostedEvidenceBlock(items=("years_ml",), **FAST).fit(X, y)
    values = np.array(block.tables()[0]["years_ml"].values)
    assert np.all(np.diff(values) >= -1e-12)
    assert np.ptp(values) < 0.05


def test_skipped_answers_contribute_nothing(fitted):
    block, X, _ = fitted
    nothing = X.iloc[:3].copy()
    for item in ITEMS:
        nothing[item] = None if item == "education" else np.nan
    assert np.allclose(block.decision_function(nothing), block.base_log_odds, atol=0, rtol=0)
    # an item absent from the frame counts as skipped by everyone
    some = X.iloc[:50]
    skipped = some.assign(uses_java=np.nan)
    assert np.array_equal(
        block.decision_function(some.drop(columns="uses_java")), block.decision_function(skipped)
    )


def test_a_skipped_answer_counts_as_an_average_one_while_fitting(fitted):
    """Every shape is centred on the answers of the rows that gave one (the logistic block's centred
    encoding): over them an item's effect averages the calibration's share of the shift, ``shift / n``."""
    block, X, _ = fitted
    share = block.shift_ / len(block.items)
    for tables in block.tables():
        for item in ITEMS:
            answers = X[item].dropna()
            mean = np.mean([tables[item].effect(v) for v in answers])
            assert abs(mean - share) <= 1e-9


def test_the_offset_is_part_of_the_model_while_fitting_and_left_out_of_predictions():
    """Two sources with their own intercepts (+-1.5) and more Java users in one: fitted with the offset,
    Java keeps its true effect; without it, Java also absorbs the difference between the sources."""
    rng = np.random.default_rng(7)
    n = 4000
    source = rng.integers(0, 2, n)
    offset = np.where(source == 1, 1.5, -1.5)
    X, _ = simulate(n, seed=8, skip=0.0)
    X["uses_java"] = (rng.random(n) < np.where(source == 1, 0.15, 0.85)).astype(float)
    t = offset + sum(X[item].map(TRUTH[item]).to_numpy(dtype=float) for item in ITEMS)
    y = (rng.random(n) < expit(t)).astype(int)
    truth = TRUTH["uses_java"][1.0] - TRUTH["uses_java"][0.0]
    with_offset = BoostedEvidenceBlock(items=ITEMS, **FAST).fit(X, y, offset=offset)
    without = BoostedEvidenceBlock(items=ITEMS, **FAST).fit(X, y)

    def java(block):
        table = block.tables()[0]["uses_java"]
        return table.effect(1.0) - table.effect(0.0)

    assert abs(java(with_offset) - truth) < 0.3
    assert java(without) < truth - 1.0
    # the out-of-fold log odds are as the model predicts (without the offset), like its predictions
    assert abs(np.corrcoef(with_offset.out_of_fold_log_odds_, offset)[0, 1]) < 0.5
    assert abs(np.corrcoef(with_offset.decision_function(X) - with_offset.base_log_odds, offset)[0, 1]) < 0.5


def test_recovers_an_additive_truth_better_than_a_linear_model(fitted):
    """On fresh respondents the block's log loss is close to the truth's and below a linear-in-answers
    logistic regression's (which cannot bend years of coding), and its shapes follow the truth."""
    from sklearn.linear_model import LogisticRegression

    block, X, y = fitted
    X_new, y_new = simulate(5000, seed=11, skip=0.0)
    t_true = sum(X_new[item].map(TRUTH[item]).to_numpy(dtype=float) for item in ITEMS)

    def loss(t):
        return float(np.mean(np.logaddexp(0.0, t) - y_new * t))

    def linear_columns(frame):
        out = frame.drop(columns="education").astype(float).fillna(0.0)
        out["education"] = (
            frame["education"].map({e: k for k, e in enumerate(EDUCATION)}).astype(float).fillna(2)
        )
        return out.to_numpy()

    linear = LogisticRegression(max_iter=1000).fit(linear_columns(X), y)
    boosted = loss(block.decision_function(X_new))
    assert boosted < loss(linear.decision_function(linear_columns(X_new))) - 0.005
    assert boosted < loss(t_true) + 0.01
    full = block.tables()[0]["years_coding"]
    learned = np.array([full.effect(v) for v in YEARS])
    assert np.corrcoef(learned, [TRUTH["years_coding"][v] for v in YEARS])[0, 1] > 0.9


def test_cross_fitting_chooses_among_the_candidates_and_refits(fitted):
    block, _, y = fitted
    assert len(block.candidates_) == len(FAST["learning_rates"])
    best = min(c["out_of_fold_log_loss"] for c in block.candidates_)
    assert block.out_of_fold_log_loss_ == best
    assert block.rounds_ in range(10, 61, 10) and block.alpha_ == block.l2
    assert block.out_of_fold_log_odds_.shape == y.shape


def test_bootstrap_tables_resample_at_the_chosen_settings(fitted):
    block, X, y = fitted
    boot = block.bootstrap_tables(X, y, n_boot=2, seed=1)
    assert len(boot) == 2
    full, alone = boot[0]
    assert set(full) == set(alone) == set(ITEMS)
    assert full["years_ml"].values != block.tables()[0]["years_ml"].values


def test_a_leaf_holds_at_least_min_leaf_respondents():
    levels = Levels("years_ml", edges=(1.0, 2.0, 3.0))
    G = np.array([-10.0, 10.0, -10.0, 10.0])
    H = np.ones(4) * 5
    split = level_step(G, H, np.array([50.0, 50.0, 50.0, 50.0]), levels, max_leaves=4, min_leaf=40, l2=1.0)
    assert len(set(np.round(split, 9))) == 2  # free: alternating steps (+, -, +, -)
    kept = level_step(G, H, np.array([50.0, 5.0, 50.0, 50.0]), levels, max_leaves=4, min_leaf=40, l2=1.0)
    assert kept[1] in (kept[0], kept[2])  # the level of 5 respondents cannot be a leaf of its own
    assert len(set(np.round(kept, 9))) == 3  # the others still are
    assert np.all(level_step(G, H, np.full(4, 5.0), levels, max_leaves=4, min_leaf=40, l2=1.0) == 0)


def test_choice_levels_move_only_with_their_lean():
    goal = item_levels(("career_goal",))[0]
    G = np.linspace(-5, 5, goal.size)  # every choice pushed a different way
    step = level_step(
        G, np.ones(goal.size), np.full(goal.size, 100.0), goal, max_leaves=10, min_leaf=1, l2=1.0
    )
    signs = np.array(goal.signs)
    assert np.all(step[signs > 0] >= 0) and np.all(step[signs < 0] <= 0)


@pytest.mark.parametrize(
    ("kwargs", "fit_args", "message"),
    [
        ({"items": ()}, {}, "items is empty"),
        ({"learning_rates": (0.0, 2.0)}, {}, "learning_rates"),
        ({"max_rounds": 0, "min_leaf": 2.5}, {}, "max_rounds is 0.*min_leaf is 2.5"),
        ({"l2": -1.0}, {}, "l2 is -1.0"),
        ({}, {"y": "one role"}, "both roles"),
        ({}, {"sample_weight": np.ones(3)}, "sample_weight has 3 values"),
        ({}, {"offset": np.full(20, np.inf)}, "offset must be finite"),
        ({"items": ("years_ml", "favourite_colour")}, {}, "not in the instrument: favourite_colour"),
    ],
)
def test_bad_input_is_refused_with_a_sentence_naming_it(kwargs, fit_args, message):
    X, y = simulate(20, seed=3)
    y = np.resize([0, 1], 20)
    if fit_args.pop("y", None):
        y = np.zeros(20, dtype=int)
    params = {"items": ITEMS, **FAST, **kwargs}
    with pytest.raises(ValueError, match=message):
        BoostedEvidenceBlock(**params).fit(X, y, **fit_args)


def test_an_answer_that_is_no_choice_is_refused(fitted):
    block, X, _ = fitted
    with pytest.raises(ValueError, match="education: got astronaut; allowed: one of no_degree"):
        block.decision_function(X.iloc[:2].assign(education="astronaut"))


class _Fitted:
    def __init__(self, loss, log_odds, n_folds=5, seed=0):
        self.out_of_fold_log_loss_ = loss
        self.out_of_fold_log_odds_ = np.asarray(log_odds, dtype=float)
        self.n_folds, self.seed = n_folds, seed


def test_choose_real_block_takes_another_block_only_when_it_is_better_beyond_chance():
    y = np.resize([0, 1], 200)
    good = _Fitted(0.40, np.where(y == 1, 1.0, -1.0))
    bad = _Fitted(0.60, np.zeros(200))
    lines: list[str] = []
    name, block, report = choose_real_block({"logistic": bad, "boosting": good}, y, log=lines.append)
    assert (name, block) == ("boosting", good)
    assert any("logistic" in line and "0.6000" in line for line in lines)
    assert any("boosting" in line and "0.4000" in line for line in lines)
    d = report["differences"]["boosting"]
    assert d["low"] <= d["difference"] <= d["high"] < 0
    # a hair better, within chance: the first candidate stays
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, 200)
    first = _Fitted(0.5001, np.where(y == 1, 0.3, -0.3) + noise)
    hair = _Fitted(0.5000, np.where(y == 1, 0.3, -0.3) + noise + rng.normal(0, 0.01, 200))
    name, _, report = choose_real_block({"logistic": first, "boosting": hair}, y)
    assert name == "logistic" and report["differences"]["boosting"]["high"] > 0


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ({}, "at least one fitted real block"),
        ({"a": _Fitted(0.5, np.zeros(10)), "b": _Fitted(0.4, np.zeros(11))}, "different rows"),
        ({"a": _Fitted(0.5, np.zeros(10)), "b": _Fitted(0.4, np.zeros(10), seed=1)}, "different folds"),
        ({"a": BoostedEvidenceBlock(items=ITEMS)}, "a is not fitted"),
    ],
)
def test_choose_real_block_refuses_blocks_it_cannot_compare(candidates, message):
    with pytest.raises(ValueError, match=message):
        choose_real_block(candidates)


def test_repeated_rows_weigh_as_their_count():
    """Grouping rows with the same answers changes nothing: two copies of every row give the shapes of
    one copy at weight 2 (``min_leaf`` 1, so counting people does not enter)."""
    from rolefit.model.boosted import answer_codes, cyclic_boost

    X, y = simulate(300, seed=12)
    levels = item_levels(ITEMS)
    codes = answer_codes(X, levels)
    settings = {"learning_rate": 0.3, "rounds": 20, "max_leaves": 3, "min_leaf": 1, "l2": 1.0}
    twice = cyclic_boost(
        np.vstack([codes, codes]), np.tile(y, 2), np.ones(600), np.zeros(600), levels, **settings
    )
    double = cyclic_boost(codes, y, np.full(300, 2.0), np.zeros(300), levels, **settings)
    for a, b in zip(twice.shapes, double.shapes, strict=True):
        assert np.allclose(a, b, atol=1e-10)
    assert abs(twice.intercept - double.intercept) < 1e-10


def test_the_params_section_and_the_logistic_blocks_helpers_fit_the_boosted_block(fitted):
    """``train.real_evidence.boosting`` holds exactly the block's settings, and the logistic block's
    ``effect_intervals`` reads the boosted block's tables and bootstrap as they are."""
    from rolefit.config import RealBoostingParams
    from rolefit.model.evidence import effect_intervals

    settings = RealBoostingParams().model_dump()
    assert BoostedEvidenceBlock(**settings).get_params().items() >= settings.items()
    block, X, y = fitted
    rows = effect_intervals(block, block.bootstrap_tables(X, y, n_boot=3), X, load_instrument())
    assert {row["item"] for row in rows} == set(ITEMS)
    assert all(row["low"] <= row["high"] and row["respondents"] > 0 for row in rows)


def test_a_fitted_block_passes_the_bundles_type_audit_and_loads_back_the_same():
    """When the boosted block wins, the champion's model file holds it: every type in it must be one
    rolefit trusts (rolefit.scoring.trusted), and it must load back to the same predictions."""
    import skops.io

    from rolefit.scoring.trusted import ESTIMATOR_TYPES, _skops_schema, skops_types

    X, y = simulate(600, seed=1)
    block = BoostedEvidenceBlock(items=ITEMS, **FAST).fit(X, y)
    data = skops.io.dumps(block)
    found = skops_types(_skops_schema(data, "a test"))
    assert {k: v for k, v in found.items() if not v <= ESTIMATOR_TYPES.get(k, frozenset())} == {}
    assert [n for n in skops.io.get_untrusted_types(data=data) if n not in ESTIMATOR_TYPES] == []
    back = skops.io.loads(data, trusted=sorted(found))
    assert np.allclose(back.decision_function(X), block.decision_function(X))
