"""Issue #26's acceptance for pooled effects: a survey of rolefit's own questions trains and is promoted,
and a tiny one changes nothing it has no evidence about.

Three trainings share small params (20,000 synthetic respondents, the fit on those same respondents, no
bootstrap): the champion on the default data, a challenger with an export of every item added, and one
with a 20-row source of interest items only. Same params, so any difference is the added source's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rolefit.data import synthetic
from rolefit.data.dataset import assign_splits, labels
from rolefit.instrument.items import load_instrument

from ..conftest import signed
from ..data.test_surveys import needs_surveys

pytestmark = [pytest.mark.slow, needs_surveys]

#: How the own survey's generator differs from the synthetic prior's: the trait loadings of every interest
#: item that leans toward ML engineering times this, so in these people those interests lean a little
#: toward software engineering (the guides' lean is wrong for them). The pooled effects keep an item's
#: lean (they can flatten it, never reverse it), so "the generator's effects" are what the same fit makes
#: of a million of its respondents. Smaller changes cannot be seen on a few hundred respondents (the 1-5
#: answers saturate): with the loadings times 1.5 the best correction of the champion, fitted on 100,000
#: of the generator's respondents, gained 0.0024 in log loss on fresh ones, times 0 (the interests read no
#: trait) 0.0066, and a 200-row test split moves by about 0.004 between draws (2026-12-07).
INTEREST_LOADING_FACTOR = -0.5
OWN = "rolefit_own"


@pytest.fixture(scope="module")
def small(default_params):
    p = default_params
    return p.model_copy(
        update={
            "synthesize": p.synthesize.model_copy(update={"n_respondents": 20_000}),
            "evaluate": p.evaluate.model_copy(update={"bootstrap": 50}),
            "train": p.train.model_copy(
                update={
                    "real_evidence": p.train.real_evidence.model_copy(update={"bootstrap": 0}),
                    "fit": p.train.fit.model_copy(update={"synthetic_respondents": 0}),
                }
            ),
        }
    )


@pytest.fixture(scope="module")
def base_frame(small):
    from rolefit.data.dataset import training_frame

    from ..conftest import ROOT

    frame, _ = training_frame(small, ROOT)
    if "split" not in frame.columns:
        frame = frame.assign(split=assign_splits(frame, small.build).to_numpy())
    return frame


def _changed_generator(params, n: int, seed: int) -> pd.DataFrame:
    """Respondents of rolefit's generator with the interest loadings changed (experience answers drawn
    as the Kaggle-fitted generator draws them)."""
    from ..conftest import ROOT

    marginals = synthetic.read_marginals(ROOT / params.synthesize.marginals)
    original = dict(synthetic.LOADINGS)
    try:
        for item, loadings in original.items():
            if item.startswith("interest_") and load_instrument()[item].lean == "mle":
                synthetic.LOADINGS[item] = tuple(INTEREST_LOADING_FACTOR * v for v in loadings)
        return synthetic.generate(params.synthesize, marginals, n=n, seed=seed, id_prefix="own")
    finally:
        synthetic.LOADINGS.clear()
        synthetic.LOADINGS.update(original)


@pytest.fixture(scope="module")
def own_survey(small):
    rows = _changed_generator(small, 800, seed=2026)
    rows = rows.drop(columns=[c for c in rows.columns if c.startswith("p_true")]).assign(source=OWN)
    return rows.assign(split=assign_splits(rows, small.build).to_numpy())


def _train(frame, params, tmp_path_factory, name):
    from rolefit.model.train import train
    from rolefit.scoring.export import export

    result = train(frame, params)
    with signed():
        path = export(result, tmp_path_factory.mktemp(name) / "bundle", params)
    return result, path


@pytest.fixture(scope="module")
def small_champion(base_frame, small, tmp_path_factory):
    return _train(base_frame, small, tmp_path_factory, "champion")


@pytest.fixture(scope="module")
def with_own(base_frame, own_survey, small, tmp_path_factory):
    frame = pd.concat([base_frame, own_survey], ignore_index=True)
    return (*_train(frame, small, tmp_path_factory, "own"), frame)


def _interest_levels(result) -> pd.DataFrame:
    levels = pd.DataFrame(result.extra["real_evidence"]["pooled"]["levels"])
    return levels[levels["item"].str.startswith("interest_")].reset_index(drop=True)


def test_pooled_interest_effects_lie_between_the_prior_and_the_generator(with_own, small):
    """The generator's effects: the same correction fitted on a million of its respondents with a prior
    a hundred times wider (so the rows alone decide)."""
    from scipy.special import logit

    from rolefit.instrument.items import load_instrument
    from rolefit.model.decompose import decompose
    from rolefit.model.pooled import fit_pooled, source_offsets

    result, _, _ = with_own
    instrument = load_instrument()
    calibrated = result.estimator.estimator  # the model before the pooled corrections
    prior_model = decompose(calibrated, instrument, base_rate=result.additive.base_rate)
    million = _changed_generator(small, 1_000_000, seed=7)
    wide = {group: 100.0 * w for group, w in small.train.fit.widths.model_dump().items()}
    offsets = source_offsets(million, result.additive.base_rate)
    generator = fit_pooled(
        prior_model, million, labels(million), offset=np.full(len(million), offsets["synthetic"]),
        instrument=instrument, widths=wide, estimator=calibrated,
    )  # fmt: skip
    truth = pd.DataFrame(generator.records())
    levels = _interest_levels(result).merge(truth[["item", "level", "pooled"]], on=["item", "level"],
                                            suffixes=("", "_generator"))  # fmt: skip
    answered = levels[levels["respondents"] > 0]
    gap = (answered["pooled_generator"] - answered["prior"]).to_numpy()
    moved = (answered["pooled"] - answered["prior"]).to_numpy()
    assert np.abs(gap).max() > 0.1, "the changed loadings should change the interest effects"
    fraction = float(moved @ gap / (gap @ gap))
    assert 0.1 <= fraction <= 0.9, fraction
    assert np.isfinite(logit(result.additive.base_rate))


@pytest.fixture(scope="module")
def verdict(with_own, small_champion, small):
    from rolefit.evaluation.gate import decide

    _, challenger, frame = with_own
    return decide(challenger, small_champion[1], frame, small)


def _log_loss_rows(verdict) -> dict[str, dict]:
    return {row["source"]: row for row in verdict.table if row["metric"] == "log_loss"}


def test_the_own_survey_changes_kaggle_within_the_gates_tolerance(verdict, small):
    kaggle = _log_loss_rows(verdict)["kaggle2021"]
    assert abs(kaggle["challenger"] - kaggle["champion"]) <= small.export.gate.log_loss_tolerance, kaggle


def test_the_own_survey_is_better_on_its_people_and_is_promoted(verdict):
    """Measured through the gate as here (train, export, decide; small params; 800 respondents; 5 draws,
    seeds 2026 and 1-4, each with its own split; 2026-12-07): own test rows' log loss, challenger minus
    champion, -0.0045 on average (sd 0.0034; -0.0043 at seed 2026), better in 4 of 5, promoted in 4 of 5
    (the fifth refused by a behaviour check: its interest-only ML archetype at P(MLE) 0.67 < 0.8);
    Kaggle 2021 moved by +0.0001 to +0.0032, Stack Overflow 2017 by -0.0040 to +0.0042 (tolerance
    0.005). Before the gate counted only differences its interval shows, two of those four were refused
    on the own source's ECE (+0.023, 95% CI -0.028 to +0.050; +0.021, -0.016 to +0.049) on about 200
    test respondents."""
    own = _log_loss_rows(verdict)[OWN]
    assert own["challenger"] < own["champion"], own
    assert verdict.passed, verdict.reasons


def test_a_twenty_row_source_of_interest_items_trains_and_moves_no_kaggle_respondent(
    base_frame, small_champion, small, tmp_path_factory
):
    """20 respondents, all ML engineers, who answered interest items only."""
    import rolefit

    rng = np.random.default_rng(0)
    interests = [c for c in base_frame.columns if c.startswith("interest_")]
    tiny = pd.DataFrame(rng.integers(1, 6, (20, len(interests))).astype(float), columns=interests)
    tiny = tiny.assign(source="tiny", role="mle", respondent_id=[f"tiny-{i}" for i in range(20)],
                       split=["train"] * 16 + ["test"] * 4)  # fmt: skip
    frame = pd.concat([base_frame, tiny], ignore_index=True)
    result, path = _train(frame, small, tmp_path_factory, "tiny")
    assert "tiny" in result.extra["real_evidence"]["pooled"]["sources"]
    kaggle = base_frame[(base_frame["source"] == "kaggle2021") & (base_frame["split"] == "test")]
    items = [c for c in load_instrument().ids if c in kaggle.columns]
    before = rolefit.predict_many(kaggle[items], model=small_champion[1], top_k=0)["all_answers_p_mle"]
    after = rolefit.predict_many(kaggle[items], model=path, top_k=0)["all_answers_p_mle"]
    assert float(np.max(np.abs(after.to_numpy() - before.to_numpy()))) <= 0.01
