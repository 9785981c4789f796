"""Pooled effects (:mod:`rolefit.model.pooled`): a Gaussian prior on synthetic effects, moved by real rows."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from rolefit.instrument.items import load_instrument
from rolefit.model.features import SCALE_THRESHOLDS
from rolefit.model.pooled import PooledEstimator, fit_pooled, pooled_additive, source_offsets
from rolefit.model.tables import AdditiveModel, ItemTable

INSTRUMENT = load_instrument()
WIDTHS = {"interests": 0.9, "skills": 1.0, "preferences": 1.15, "goal": 0.95}
PRIOR = (-0.4, -0.2, 0.05, 0.2, 0.4)  # interest_math (lean mle) by answer 1-5
TRUTH = (-1.0, -0.5, 0.0, 0.5, 1.0)


def _model() -> AdditiveModel:
    tables = {
        "interest_math": ItemTable("interest_math", edges=SCALE_THRESHOLDS, values=PRIOR),
        "interest_debugging": ItemTable(
            "interest_debugging", edges=SCALE_THRESHOLDS, values=(0.3, 0.1, 0, -0.1, -0.3)
        ),
    }
    return AdditiveModel(
        intercept=float(logit(0.38)), tables=tables, coverage={k: 0.5 for k in tables}, a=1.0
    )


def _rows(n: int, seed: int, truth=TRUTH, share_mle: float = 0.38):
    rng = np.random.default_rng(seed)
    answers = rng.integers(1, 6, n).astype(float)
    t = logit(share_mle) + np.array(truth)[answers.astype(int) - 1]
    y = (rng.random(n) < expit(t)).astype(int)
    X = pd.DataFrame({"interest_math": answers, "interest_debugging": np.nan})
    return X, y


def _moved(n: int, seed: int = 0) -> tuple[float, float]:
    """How far the pooled interest_math effects moved from the prior toward the truth (0: not at all,
    1: all the way), and the share of their precision from real rows."""
    model = _model()
    X, y = _rows(n, seed)
    pooled = fit_pooled(model, X, y, offset=np.zeros(n), instrument=INSTRUMENT, widths=WIDTHS)
    after = np.array(pooled.table("interest_math", model.tables["interest_math"]).values)
    gap = np.array(TRUTH) - np.array(PRIOR)
    return float((after - np.array(PRIOR)) @ gap / (gap @ gap)), pooled.item_share("interest_math")


def test_more_respondents_move_an_effect_further_from_the_prior():
    few, few_share = _moved(260)
    many, many_share = _moved(26_000)
    assert 0.0 < few < many <= 1.05
    assert many > 0.8  # 26,000 people: nearly all the way to what they show
    assert few_share < many_share and many_share > 0.9


def test_an_item_nobody_answered_keeps_its_prior_and_gets_no_record():
    model = _model()
    X, y = _rows(500, 1)
    pooled = fit_pooled(model, X, y, offset=np.zeros(500), instrument=INSTRUMENT, widths=WIDTHS)
    assert (
        pooled.table("interest_debugging", model.tables["interest_debugging"])
        == model.tables["interest_debugging"]
    )
    after = pooled_additive(model, pooled, {})
    assert "interest_debugging" not in after.evidence
    record = after.evidence["interest_math"]
    assert record["respondents"] == 500 and record["sources"] == {"?": 500}
    assert set(pooled.intercepts) == {"?"}
    assert 0 < record["real_share"] < 1


def test_the_stated_lean_is_kept_even_when_the_rows_say_otherwise():
    model = _model()
    reversed_truth = tuple(-v for v in TRUTH)
    X, y = _rows(5_000, 2, reversed_truth)
    pooled = fit_pooled(model, X, y, offset=np.zeros(5_000), instrument=INSTRUMENT, widths=WIDTHS)
    values = np.array(pooled.table("interest_math", model.tables["interest_math"]).values)
    assert np.all(np.diff(values) >= -1e-9)  # lean mle: never falls with more interest
    assert values[-1] - values[0] < PRIOR[-1] - PRIOR[0]  # but the rows flattened it


def test_a_sources_own_intercept_absorbs_its_mix_of_roles():
    """A source with 5% ML engineers whose answers relate to the role as the prior says: its own intercept
    takes up the mix, the effects stay near the prior. Its prior centre (the mix's log-odds) is not
    needed when the source is large: started from 0, the intercept still finds the mix."""
    model = _model()
    X, y = _rows(20_000, 3, PRIOR, share_mle=0.05)
    frame = pd.DataFrame({"source": "s", "role": np.where(y == 1, "mle", "swe")})
    offset = np.full(len(y), source_offsets(frame, 0.38)["s"])
    expected = float(logit(0.05) - logit(0.38))
    for centre in (offset, np.zeros(len(y))):
        pooled = fit_pooled(
            model, X, y, offset=centre, instrument=INSTRUMENT, widths=WIDTHS, sources=["s"] * len(y)
        )
        assert pooled.intercepts["s"] == pytest.approx(expected, abs=0.25)
        assert abs(float(np.mean(list(pooled.corrections()["interest_math"].values())))) < 0.1


def test_a_source_of_one_role_gets_a_finite_intercept():
    frame = pd.DataFrame({"source": ["a"] * 20 + ["b"] * 10, "role": ["mle"] * 20 + ["swe", "mle"] * 5})
    offsets = source_offsets(frame, 0.38)
    assert np.isfinite(offsets["a"]) and offsets["a"] > 2.0
    assert offsets["b"] == pytest.approx(float(logit(0.5) - logit(0.38)))


def test_the_estimator_adds_the_scaled_corrections_as_the_tables_do():
    from sklearn.base import BaseEstimator

    class Base(BaseEstimator):
        a_ = 1.0

        def fit(self, X=None, y=None):
            return self

        def decision_function(self, X):
            return np.zeros(len(X))

        def scale(self, coverage):
            return 2.0 - np.asarray(coverage)

    estimator = PooledEstimator(
        estimator=Base(),
        corrections={"interest_math": {"edges": list(SCALE_THRESHOLDS), "values": [0, 0, 0, 0, 0.5]}},
        coverage={"interest_math": 0.5, "interest_debugging": 0.5},
    ).fit()
    X = pd.DataFrame({"interest_math": [5.0, 5.0, 1.0], "interest_debugging": [np.nan, 3.0, 3.0]})
    # coverage 0.5 -> scale 1.5; coverage 1 -> scale 1; answer 1 has no correction
    assert estimator.decision_function(X) == pytest.approx([0.75, 0.5, 0.0])


def test_the_badge_says_how_much_of_a_pooled_effect_is_real():
    from rolefit.apps.text import evidence_words
    from rolefit.scoring.loader import evidence_entry

    pooled = {"basis": "real", "respondents": 2911, "sources": {"own2027": 2911}, "real_share": 0.7}
    entry = evidence_entry(pooled)
    assert entry["real_share"] == 0.7 and entry["summary"].startswith("70% from 2,911 real respondents")
    assert evidence_words(entry).startswith("70% based on 2,911 people")
    mostly_assumed = {**pooled, "basis": "assumed", "respondents": 40, "real_share": 0.12}
    assert "12% from 40 real respondents" in evidence_entry(mostly_assumed)["summary"]
    assert evidence_words(evidence_entry(mostly_assumed)).startswith("12% based on 40 people")
    measured = {"basis": "real", "respondents": 2911, "sources": {"kaggle2021": 2911}}
    assert "real_share" not in evidence_entry(measured)
    assert evidence_entry(measured)["summary"].startswith("learned from 2,911 real respondents")
    assert evidence_words(evidence_entry({"basis": "assumed", "respondents": 0, "sources": {}})).startswith(
        "what career guides say"
    )


def test_corrections_leave_the_level_to_the_source_intercept_that_scoring_drops():
    """A prior whose levels all sit 0.5 above the truth's, its shape too flat: the rows want a steeper
    item. An uncentred strength would lift every level with the slope, offset in the fit by a lower
    source intercept that scoring never adds; centred, the corrections keep the rows' mean log-odds and
    the intercept alone holds the level (here the prior's 0.5 too many)."""
    prior = tuple(v + 0.5 for v in PRIOR)
    model = _model()
    model.tables["interest_math"] = ItemTable("interest_math", edges=SCALE_THRESHOLDS, values=prior)
    X, y = _rows(26_000, 5)
    pooled = fit_pooled(model, X, y, offset=np.zeros(len(y)), instrument=INSTRUMENT, widths=WIDTHS)
    fix = pooled.corrections()["interest_math"]
    bins = np.searchsorted(SCALE_THRESHOLDS, X["interest_math"].to_numpy(), "left")
    assert abs(float(np.mean([fix[int(b)] for b in bins]))) < 1e-6
    assert pooled.intercepts["?"] == pytest.approx(-0.5, abs=0.1)
    table = pooled.table("interest_math", model.tables["interest_math"])
    slope = np.polyfit(np.arange(5), np.array(table.values), 1)[0]
    assert slope > 1.5 * np.polyfit(np.arange(5), np.array(prior), 1)[0]  # steeper: the rows were heard
