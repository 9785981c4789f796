"""The boosted real block on Kaggle 2021's real rows (issue #26 item 4): as good as the logistic block
within noise on the same folds, exact tables on held-out respondents, and the choice between them."""

import numpy as np
import pytest
from scipy.special import logit

from rolefit.data.dataset import labels, mle_shares, real_sources, sample_weights
from rolefit.instrument.items import load_instrument
from rolefit.model.boosted import BoostedEvidenceBlock, choose_real_block
from rolefit.model.evidence import RealEvidenceBlock, measured_items
from rolefit.model.tables import blend_weight, blended_effect

from ..data.test_surveys import needs_surveys

pytestmark = [pytest.mark.slow, needs_surveys]


@pytest.fixture(scope="module")
def blocks(training_data, champion_params):
    """Both real blocks fitted as ``fit_additive`` fits the real block: the real training sources'
    non-test rows, weighted toward the target share, the params' folds and seed."""
    frame, _ = training_data
    params = champion_params
    sources = real_sources(params, frame, "train")
    if "kaggle2021" not in sources:
        pytest.skip("Kaggle 2021 is not a real training source here")
    dev = frame[frame["source"].isin(sources).to_numpy() & (frame["split"] != "test").to_numpy()]
    evidence = params.train.real_evidence
    items = tuple(measured_items(dev, sources, load_instrument().ids, evidence.min_respondents))
    shares = mle_shares(frame)

    def rows(part):
        return part[list(items)], labels(part), sample_weights(part, params.build, shares)

    X, y, w = rows(dev)
    base = float(logit(params.build.target_mle_share))
    common = {"items": items, "base_log_odds": base, "n_folds": evidence.folds, "seed": params.train.seed}
    logistic = RealEvidenceBlock(alphas=evidence.alphas, **common).fit(X, y, w)
    boosted = BoostedEvidenceBlock(**common).fit(X, y, w)
    test = frame[(frame["source"] == "kaggle2021").to_numpy() & (frame["split"] == "test").to_numpy()]
    return logistic, boosted, (X, y, w), rows(test)


def test_the_boosted_block_is_as_good_as_the_logistic_one_on_the_same_folds(blocks):
    """Additive per-level shapes are saturated on these 15 items: the boosted block is never much worse
    than the logistic one (measured: +0.0004, interval -0.0014 to +0.0022), and it replaces the logistic
    one only when better beyond chance."""
    logistic, boosted, (_, y, w), _ = blocks
    lines: list[str] = []
    name, chosen, report = choose_real_block(
        {"logistic": logistic, "boosting": boosted}, y, w, log=lines.append
    )
    # the logistic block stays unless the boosted one is better beyond chance
    difference = report["differences"]["boosting"]
    assert difference["low"] <= difference["difference"] <= difference["high"]
    assert (name == "boosting") == (difference["high"] < 0)
    assert chosen is (boosted if name == "boosting" else logistic)
    assert boosted.out_of_fold_log_loss_ <= logistic.out_of_fold_log_loss_ + 0.003
    assert len(lines) == 4


def test_the_boosted_block_holds_on_held_out_kaggle_respondents_and_its_tables_are_exact(blocks):
    logistic, boosted, _, (X, y, w) = blocks

    def loss(t):
        return float(np.average(np.logaddexp(0.0, t) - y * t, weights=w))

    assert loss(boosted.decision_function(X)) <= loss(logistic.decision_function(X)) + 0.005
    full, alone = boosted.tables(load_instrument())
    n = len(boosted.items)
    for i in range(0, len(X), 37):
        answers = {k: v for k, v in X.iloc[i].items() if v is not None and v == v}
        weight = blend_weight(len(answers), n)
        total = boosted.base_log_odds + sum(
            blended_effect(alone[k].effect(v), full[k].effect(v), weight) for k, v in answers.items()
        )
        assert abs(total - boosted.decision_function(X.iloc[[i]])[0]) <= 1e-9
