"""The core both models share: fit the evidence blocks, calibrate, select and decompose an additive model.

:func:`fit_additive` is what the all-answers model (:func:`rolefit.model.train.train`) and the fit
(:func:`rolefit.model.fit.train_fit`) are made of: the real block on the items real training respondents
answered (:mod:`rolefit.model.evidence`), the synthetic block's candidates fitted on the synthetic train
split and calibrated on its calibration split with the real block held fixed, the combination with the
best synthetic validation log loss, decomposed into exact lookup tables. The two models differ only in
the items they read and the base rate they start from (:class:`TrainingRows`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rolefit.config import Params
from rolefit.data.dataset import (
    assign_splits,
    labels,
    mle_shares,
    real_sources,
    sample_weights,
    skip_at_random,
)
from rolefit.instrument.items import load_instrument
from rolefit.model.boosted import BoostedEvidenceBlock, choose_real_block
from rolefit.model.calibration import calibrate
from rolefit.model.decompose import decompose
from rolefit.model.estimators import fit_candidate, make_candidate
from rolefit.model.evidence import RealEvidenceBlock, effect_intervals, evidence_of, measured_items
from rolefit.model.features import normalise_frame
from rolefit.model.metrics import log_loss
from rolefit.model.tables import AdditiveModel

#: Largest tolerated difference between the lookup tables and the full model (probability scale).
EXACTNESS_TOLERANCE = 1e-9


def hash_seed(*parts: object) -> int:
    """A stable seed from labels (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "big")


class TrainingRows:
    """One training run's rows by split, read for a set of items and weighted toward a base rate.

    ``items`` are the item columns the model reads (partial copies skip only among them); every source's
    rows are reweighted so that its weighted MLE share is ``base_rate`` (:func:`sample_weights`).
    """

    def __init__(self, frame: pd.DataFrame, params: Params, items: Sequence[str], base_rate: float):
        # the build stage stores the split; otherwise it is assigned here from the same params
        split = frame["split"] if "split" in frame.columns else assign_splits(frame, params.build)
        self.frame = frame
        self.params = params
        self.split = pd.Series(split.to_numpy(), index=frame.index)
        self.items = list(items)
        self.base_rate = base_rate
        self.build = params.build.model_copy(update={"target_mle_share": base_rate})
        self.shares = mle_shares(frame)
        self.is_synthetic = (frame["source"] == "synthetic").to_numpy()
        if not self.is_synthetic.any():
            raise ValueError(
                "Training needs synthetic respondents (source 'synthetic') for the synthetic block."
            )

    def rows(self, name: str, with_partial: bool, mask=None) -> pd.DataFrame:
        """The synthetic rows (or ``mask``'s) of split ``name``, with partly skipped copies if asked."""
        partial = self.params.train.partial_answers
        chosen = (self.split == name).to_numpy() & (self.is_synthetic if mask is None else mask)
        part = self.frame.loc[chosen]
        if not with_partial or partial.copies == 0:
            return part
        copies = [
            skip_at_random(part, self.items, partial.keep_min, partial.keep_max, seed=hash_seed(name, k))
            for k in range(partial.copies)
        ]
        return pd.concat([part, *copies], ignore_index=True)

    def xyw(self, part: pd.DataFrame):
        """Answers (the items read), labels and training weights of ``part``."""
        return part[self.items], labels(part), self.weights(part)

    def weights(self, part: pd.DataFrame) -> np.ndarray:
        return sample_weights(part, self.build, self.shares)


@dataclass
class Fitted:
    """An additive model fitted, calibrated, selected and decomposed (:func:`fit_additive`)."""

    candidate: str
    calibration: str
    estimator: Any
    additive: AdditiveModel
    selection: list[dict[str, Any]]
    block: RealEvidenceBlock | None
    measured: dict[str, dict[str, int]]
    #: per answer level of the real block's items: effect, interval, sd (:func:`effect_intervals`)
    evidence_effects: list[dict[str, Any]]
    #: the real block's tables refitted on bootstrap resamples ((partial, alone) per resample)
    boot: list[Any]
    training_sources: list[str]
    real_dev: pd.DataFrame
    validation: tuple[Any, Any, Any] = field(repr=False, default=(None, None, None))
    #: the pooled corrections of the other items' effects (None: no real row answered one)
    pooled: Any = None
    #: which real block was chosen (``logistic`` or ``boosting``) and the choice's record
    block_name: str | None = None
    block_choice: dict[str, Any] | None = None


def real_weights(rows: pd.DataFrame, params: Params, base_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Real rows' training weights (``build.source_weights``, not reweighted to one MLE share) and their
    sources' own intercepts beyond ``logit(base_rate)`` (:func:`rolefit.model.pooled.source_offsets`)."""
    from rolefit.model.pooled import source_offsets

    offsets = source_offsets(rows, base_rate)
    weights = rows["source"].map(lambda s: params.build.source_weights.get(s, 1.0)).to_numpy(dtype=float)
    return weights, rows["source"].map(offsets).to_numpy(dtype=float)


def pool_effects(data: TrainingRows, champion, additive: AdditiveModel, instrument, log):
    """The pooled items' effects corrected by real rows (:mod:`rolefit.model.pooled`).

    The rows: every non-test row of the real training sources and of ``train.real_evidence
    .pooled_sources`` that answered a pooled item. Returns the estimator the tables are checked against,
    the corrected tables and the fit (None when no real row answered a pooled item).
    """
    from rolefit.model.pooled import PooledEstimator, fit_pooled, pooled_additive, pooled_items

    params, frame, split = data.params, data.frame, data.split
    widths = params.train.fit.widths.model_dump()
    items = pooled_items(additive, instrument, widths)
    sources = [*real_sources(params, frame, "train"), *params.train.real_evidence.pooled_sources]
    chosen = frame["source"].isin(sources).to_numpy() & (split != "test").to_numpy()
    rows = frame.loc[chosen]
    answered = rows[[i for i in items if i in rows.columns]].notna().any(axis=1) if items else None
    if answered is None or not answered.any():
        return champion, additive, None
    rows = rows.loc[answered]
    weights, offsets = real_weights(rows, params, data.base_rate)
    pooled = fit_pooled(
        additive,
        rows,
        labels(rows),
        offset=offsets,
        instrument=instrument,
        widths=widths,
        sources=rows["source"].astype(str).tolist(),
        sample_weight=weights,
        estimator=champion,
    )
    log(
        f"pooled effects: {len(pooled.sources)} items answered by {len(rows):,} real rows "
        f"({', '.join(sorted(rows['source'].unique()))}); prior widths {widths}"
    )
    for item in sorted(pooled.sources):
        log(f"  {item}: {pooled.item_share(item):.0%} of its precision from real rows")
    corrections = {}
    for item, fix in pooled.corrections().items():
        if item not in pooled.sources:
            continue
        table = additive.tables[item]
        if table.choices:
            corrections[item] = {"choices": {k: float(fix.get(k, 0.0)) for k in table.choices}}
        else:
            values = [float(fix.get(b, 0.0)) for b in range(len(table.values))]
            corrections[item] = {"edges": list(table.edges), "values": values}
    estimator = PooledEstimator(
        estimator=champion, corrections=corrections, fixed=tuple(sorted(additive.fixed)),
        coverage=dict(additive.coverage),
    ).fit()  # fmt: skip
    return estimator, pooled_additive(additive, pooled, additive.evidence), pooled


def fit_additive(
    data: TrainingRows,
    *,
    only: tuple[str, ...] | None = None,
    log: Callable[[str], None] = lambda _: None,
    what: str = "champion",
) -> Fitted:
    """The real block, every candidate with every calibration, the best on validation, decomposed.

    The real block is fitted and cross-fitted on every non-test row of the real training sources, on the
    items of ``data`` that at least ``train.real_evidence.min_respondents`` of them answered; the
    synthetic block's candidates are fitted on the synthetic train split, calibrated on the synthetic
    calibration split (with partly skipped copies) with the real block held fixed and the intercept held
    at ``logit(data.base_rate)``, and selected on the synthetic validation split (with such copies).
    ``only`` restricts the model to those items (the fit's); None reads every item of the instrument.
    """
    from scipy.special import logit

    params, frame, split = data.params, data.frame, data.split
    instrument = load_instrument()
    base_log_odds = float(logit(data.base_rate))

    # the real block: the experience items real training respondents answered, from their non-test rows
    # only (the other items' real answers correct their synthetic effects afterwards: pool_effects)
    training_sources = real_sources(params, frame, "train")
    real_dev = frame.loc[frame["source"].isin(training_sources).to_numpy() & (split != "test").to_numpy()]
    least = params.train.real_evidence.min_respondents
    experience = [i.id for i in instrument.items if i.part == "experience"]
    # the blend counts answers to single questions: a multi-choice question's yes/no items always take
    # their partial effect (one question, however many options; issue #26, measured on Kaggle 2021)
    single = [item for item in experience if instrument[item].question is None]
    block_items = [item for item in data.items if item in experience]
    measured = measured_items(real_dev, training_sources, block_items, least)
    # rows that answered none of the block's items say nothing about its effects
    if measured:
        real_dev = real_dev.loc[real_dev[list(measured)].notna().any(axis=1).to_numpy()]
    block = None
    block_name, block_choice = None, None
    evidence_effects: list[dict[str, Any]] = []
    boot: list[Any] = []
    if measured:
        evidence = params.train.real_evidence
        x_real, y_real = real_dev[data.items], labels(real_dev)
        w_real, off_real = real_weights(real_dev, params, data.base_rate)
        log(
            f"real block: {len(measured)} items answered by real respondents "
            f"({', '.join(training_sources)}; {len(real_dev):,} rows), {evidence.folds}-fold cross-fitting"
        )
        blocks: dict[str, Any] = {}
        for candidate in evidence.candidates:
            if candidate == "logistic":
                blocks[candidate] = RealEvidenceBlock(
                    items=tuple(measured),
                    base_log_odds=base_log_odds,
                    alphas=evidence.alphas,
                    n_folds=evidence.folds,
                    seed=params.train.seed,
                    blend_items=len(single),
                    counted=tuple(item for item in measured if item in single),
                ).fit(x_real, y_real, w_real, offset=off_real)
                for fitted in blocks[candidate].candidates_:
                    loss = fitted["out_of_fold_log_loss"]
                    log(f"  real block, penalty alpha {fitted['alpha']:g}: out-of-fold log loss {loss:.4f}")
            else:
                blocks[candidate] = BoostedEvidenceBlock(
                    items=tuple(measured),
                    base_log_odds=base_log_odds,
                    n_folds=evidence.folds,
                    seed=params.train.seed,
                    blend_items=len(single),
                    counted=tuple(item for item in measured if item in single),
                    **evidence.boosting.model_dump(),
                ).fit(x_real, y_real, w_real, offset=off_real)
        block_name, block, block_choice = choose_real_block(blocks, y_real, w_real, offset=off_real, log=log)
        if evidence.bootstrap:
            boot = block.bootstrap_tables(
                x_real,
                y_real,
                w_real,
                n_boot=evidence.bootstrap,
                seed=params.train.seed,
                instrument=instrument,
                offset=off_real,
            )
            evidence_effects = effect_intervals(block, boot, x_real, instrument)
    else:
        log("real block: no real training respondents; every effect comes from the synthetic prior")

    selection: list[dict[str, Any]] = []
    best: tuple[float, str, str, Any] | None = None
    x_val, y_val, w_val = data.xyw(data.rows("validation", True))
    read = only
    for name in params.train.candidates:
        train_rows = data.rows("train", False)
        log(f"fitting synthetic candidate {name} on {len(train_rows):,} rows")
        fitted = fit_candidate(make_candidate(name, params.train, read), *data.xyw(train_rows))
        for method in params.train.calibration_methods:
            calibrated = calibrate(
                fitted,
                *data.xyw(data.rows("calibration", True)),
                method=method,
                real=block,
                base_log_odds=base_log_odds,
                items=read,
            )
            p_val = calibrated.predict_proba(x_val)[:, 1]
            val_loss = log_loss(y_val, p_val, sample_weight=w_val)
            selection.append({"candidate": name, "calibration": method, "validation_log_loss": val_loss})
            log(f"  {name} + {method} calibration: synthetic validation log loss {val_loss:.4f}")
            if best is None or val_loss < best[0]:
                best = (val_loss, name, method, calibrated)
    assert best is not None
    _, name, method, champion = best
    log(f"{what}: {name} + {method} calibration" + (" with the real block" if block else ""))

    tabled = instrument.ids if read is None else read
    evidence_by_item = {item: evidence_of(item, measured) for item in tabled}
    additive = decompose(champion, instrument, base_rate=data.base_rate, evidence=evidence_by_item)
    pooled = None
    if only is None:
        champion, additive, pooled = pool_effects(data, champion, additive, instrument, log)
    return Fitted(
        pooled=pooled,
        block_name=block_name,
        block_choice=block_choice,
        candidate=name,
        calibration=method,
        estimator=champion,
        additive=additive,
        selection=selection,
        block=block,
        measured=measured,
        evidence_effects=evidence_effects,
        boot=boot,
        training_sources=training_sources,
        real_dev=real_dev,
        validation=(x_val, y_val, w_val),
    )


def held_out_conformal(
    core: Fitted,
    items: Sequence[str],
    p_validation: np.ndarray,
    weigh: Callable[[pd.DataFrame], np.ndarray],
    params: Params,
):
    """Prediction-set thresholds (:func:`rolefit.model.conformal.fit_conformal`) from held-out scores:
    the synthetic validation split, whose whole and partly skipped rows are scored as ``p_validation``
    (the sets are judged on both), and, with a real block, the real rows' cross-fitted (out-of-fold)
    scores weighted by ``weigh``. The all-answers model and the fit both take their thresholds here."""
    from rolefit.data.dataset import labels
    from rolefit.model.conformal import fit_conformal
    from rolefit.model.features import answered_mask

    x_val, y_val, w_val = core.validation
    scores_y, scores_p, scores_w = [y_val], [p_validation], [w_val]
    scores_n = [answered_mask(x_val, tuple(items)).sum(axis=1)]
    if core.block is not None:
        scores_y.append(labels(core.real_dev))
        scores_p.append(1.0 / (1.0 + np.exp(-core.block.out_of_fold_log_odds_)))
        scores_w.append(weigh(core.real_dev))
        scores_n.append(answered_mask(core.real_dev[list(items)], tuple(items)).sum(axis=1))
    return fit_conformal(
        np.concatenate(scores_y),
        np.concatenate(scores_p),
        params.train.conformal_level,
        np.concatenate(scores_w),
        min_answers=params.train.clear_min_answers,
        answered=np.concatenate(scores_n),
    )


def check_tables(calibrated, additive: AdditiveModel, frame: pd.DataFrame, what: str = "champion") -> float:
    """:func:`table_error` of ``frame``, raising when it exceeds :data:`EXACTNESS_TOLERANCE`."""
    max_error = table_error(calibrated, additive, frame)
    if max_error > EXACTNESS_TOLERANCE:
        raise RuntimeError(
            f"The lookup tables differ from the full model by {max_error:.2e} (tolerance "
            f"{EXACTNESS_TOLERANCE:g}); the {what} is not additive as assumed."
        )
    return max_error


def table_error(calibrated, additive: AdditiveModel, frame: pd.DataFrame) -> float:
    """Largest |p(tables) - p(full model)| over the rows of ``frame``."""
    full = calibrated.predict_proba(frame)[:, 1]
    clean = normalise_frame(frame)
    records = clean.to_dict(orient="records")
    z = np.array(
        [
            additive.intercept
            + sum(additive.contributions({k: v for k, v in row.items() if not _skipped(v)}).values())
            for row in records
        ]
    )
    mine = 1.0 / (1.0 + np.exp(-z))
    return float(np.max(np.abs(mine - full))) if len(frame) else 0.0


def _skipped(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
