"""Training end to end: data -> candidates -> calibration -> selection -> decomposition -> export.

:func:`train` is the pure core behind ``rolefit train`` and the ``train`` pipeline stage: it fits every
candidate on the train split, calibrates each with every allowed method on the calibration split,
keeps the combination with the best validation log loss, decomposes it into exact lookup tables,
checks the tables against the full model, and evaluates on the test split. Writing the result as a
bundle is :func:`rolefit.scoring.export.export`; the whole release flow is :mod:`rolefit.ops.publish`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rolefit.config import Params
from rolefit.data.dataset import (
    assign_splits,
    frame_sha256,
    labels,
    mle_shares,
    real_sources,
    sample_weights,
    skip_at_random,
)
from rolefit.data.distributions import answer_distributions, reference
from rolefit.instrument.items import load_instrument
from rolefit.model.calibration import calibrate
from rolefit.model.conformal import fit_conformal
from rolefit.model.decompose import decompose
from rolefit.model.estimators import fit_candidate, make_candidate
from rolefit.model.evidence import RealEvidenceBlock, effect_intervals, evidence_of, measured_items
from rolefit.model.features import answered_mask, normalise_frame
from rolefit.model.metrics import log_loss, summary
from rolefit.model.tables import AdditiveModel

#: Largest tolerated difference between the lookup tables and the full model (probability scale).
EXACTNESS_TOLERANCE = 1e-9


@dataclass
class TrainResult:
    """What a training run produced."""

    candidate: str
    calibration: str
    estimator: Any
    additive: AdditiveModel
    selection: list[dict[str, Any]]
    metrics: dict[str, dict[str, float]]
    data: dict[str, Any]
    max_table_error: float
    extra: dict[str, Any] = field(default_factory=dict)


def hash_seed(*parts: object) -> int:
    """A stable seed from labels (Python's hash() is salted per process)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "big")


def train(frame: pd.DataFrame, params: Params, *, log: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Train the two evidence blocks, calibrate, select and decompose the champion
    (:mod:`rolefit.model.evidence`).

    ``frame`` holds items, ``role``, ``source`` and ids, and may carry ``p_true`` (synthetic rows; used
    only for evaluation). The real block is fitted and cross-fitted on every non-test row of the real
    training sources. The synthetic block's candidates are fitted on the synthetic train split,
    calibrated on the synthetic calibration split with the real block held fixed, and selected on the
    synthetic validation split; calibration and validation data are extended with copies whose answers
    are partly skipped (``train.partial_answers``), so the champion is calibrated for partial answer
    sets too. Test metrics report whole rows per source and, separately, such partial copies.
    """
    from scipy.special import logit

    instrument = load_instrument()
    # the build stage stores the split; otherwise it is assigned here from the same params
    split = frame["split"] if "split" in frame.columns else assign_splits(frame, params.build)
    split = pd.Series(split.to_numpy(), index=frame.index)
    item_columns = [c for c in instrument.ids if c in frame.columns]
    partial = params.train.partial_answers
    base_rate = params.build.target_mle_share
    base_log_odds = float(logit(base_rate))
    shares = mle_shares(frame)
    is_synthetic = (frame["source"] == "synthetic").to_numpy()
    if not is_synthetic.any():
        raise ValueError("Training needs synthetic respondents (source 'synthetic') for the synthetic block.")

    def rows(name: str, with_partial: bool, mask=None) -> pd.DataFrame:
        chosen = (split == name).to_numpy() & (is_synthetic if mask is None else mask)
        part = frame.loc[chosen]
        if not with_partial or partial.copies == 0:
            return part
        copies = [
            skip_at_random(part, item_columns, partial.keep_min, partial.keep_max, seed=hash_seed(name, k))
            for k in range(partial.copies)
        ]
        return pd.concat([part, *copies], ignore_index=True)

    def xyw(part: pd.DataFrame):
        return part[item_columns], labels(part), sample_weights(part, params.build, shares)

    # the real block: items real training respondents answered, from their non-test rows only
    training_sources = real_sources(params, frame, "train")
    real_dev = frame.loc[frame["source"].isin(training_sources).to_numpy() & (split != "test").to_numpy()]
    measured = measured_items(
        real_dev, training_sources, item_columns, params.train.real_evidence.min_respondents
    )
    block = None
    evidence_effects: list[dict[str, Any]] = []
    if measured:
        evidence = params.train.real_evidence
        x_real, y_real, w_real = xyw(real_dev)
        log(
            f"real block: {len(measured)} items answered by real respondents "
            f"({', '.join(training_sources)}; {len(real_dev):,} rows), {evidence.folds}-fold cross-fitting"
        )
        block = RealEvidenceBlock(
            items=tuple(measured),
            base_log_odds=base_log_odds,
            alphas=evidence.alphas,
            n_folds=evidence.folds,
            seed=params.train.seed,
        ).fit(x_real, y_real, w_real)
        for candidate in block.candidates_:
            loss = candidate["out_of_fold_log_loss"]
            log(f"  real block, penalty alpha {candidate['alpha']:g}: out-of-fold log loss {loss:.4f}")
        log(f"  chosen: alpha {block.alpha_:g}")
        if evidence.bootstrap:
            boot = block.bootstrap_tables(
                x_real,
                y_real,
                w_real,
                n_boot=evidence.bootstrap,
                seed=params.train.seed,
                instrument=instrument,
            )
            evidence_effects = effect_intervals(block, boot, x_real, instrument)
    else:
        log("real block: no real training respondents; every effect comes from the synthetic prior")

    selection: list[dict[str, Any]] = []
    best: tuple[float, str, str, Any] | None = None
    x_val, y_val, w_val = xyw(rows("validation", True))
    for name in params.train.candidates:
        train_rows = rows("train", False)
        log(f"fitting synthetic candidate {name} on {len(train_rows):,} rows")
        fitted = fit_candidate(make_candidate(name, params.train), *xyw(train_rows))
        for method in params.train.calibration_methods:
            calibrated = calibrate(
                fitted,
                *xyw(rows("calibration", True)),
                method=method,
                real=block,
                base_log_odds=base_log_odds,
            )
            p_val = calibrated.predict_proba(x_val)[:, 1]
            val_loss = log_loss(y_val, p_val, sample_weight=w_val)
            selection.append({"candidate": name, "calibration": method, "validation_log_loss": val_loss})
            log(f"  {name} + {method} calibration: synthetic validation log loss {val_loss:.4f}")
            if best is None or val_loss < best[0]:
                best = (val_loss, name, method, calibrated)
    assert best is not None
    _, name, method, champion = best
    log(f"champion: {name} + {method} calibration" + (" with the real block" if block else ""))

    evidence_by_item = {item: evidence_of(item, measured) for item in instrument.ids}
    additive = decompose(champion, instrument, base_rate=base_rate, evidence=evidence_by_item)
    # conformal thresholds from held-out scores: the synthetic validation split (whole and partly skipped
    # rows, as the sets are judged on both) and the real rows' cross-fitted (out-of-fold) scores
    scores_y, scores_p, scores_w = [y_val], [champion.predict_proba(x_val)[:, 1]], [w_val]
    scores_n = [answered_mask(x_val, tuple(item_columns)).sum(axis=1)]
    if block is not None:
        scores_y.append(labels(real_dev))
        scores_p.append(1.0 / (1.0 + np.exp(-block.out_of_fold_log_odds_)))
        scores_w.append(sample_weights(real_dev, params.build, shares))
        scores_n.append(answered_mask(real_dev[item_columns], tuple(item_columns)).sum(axis=1))
    conformal = fit_conformal(
        np.concatenate(scores_y),
        np.concatenate(scores_p),
        params.train.conformal_level,
        np.concatenate(scores_w),
        min_answers=params.train.clear_min_answers,
        answered=np.concatenate(scores_n),
    )
    additive = dataclasses.replace(additive, conformal=conformal)
    log(f"prediction sets at {conformal.level:.0%}: q_swe {conformal.q_swe:.3f}, q_mle {conformal.q_mle:.3f}")
    for most, q_swe, q_mle in conformal.bands:
        log(f"  up to {most} answers: q_swe {q_swe:.3f}, q_mle {q_mle:.3f}")
    everyone = np.ones(len(frame), bool)
    max_error = table_error(champion, additive, rows("test", True, everyone)[item_columns])
    if max_error > EXACTNESS_TOLERANCE:
        raise RuntimeError(
            f"The lookup tables differ from the full model by {max_error:.2e} (tolerance "
            f"{EXACTNESS_TOLERANCE:g}); the champion is not additive as assumed."
        )

    out_of_fold = (
        pd.Series(block.out_of_fold_log_odds_, index=real_dev.index)
        if block is not None
        else pd.Series(dtype=float)
    )
    metrics: dict[str, dict[str, float]] = {}
    for part in ("validation", "test"):
        whole = rows(part, False, everyone)
        p = champion.predict_proba(whole[item_columns])[:, 1]
        if part == "validation" and len(out_of_fold):
            # real training rows were fitted on: their honest scores are the cross-fitted ones
            cross = whole.index.isin(out_of_fold.index)
            p[cross] = 1.0 / (1.0 + np.exp(-out_of_fold.loc[whole.index[cross]].to_numpy()))
        y_part = labels(whole)
        for source in sorted(whole["source"].unique()):
            mask = (whole["source"] == source).to_numpy()
            p_true = whole["p_true"].to_numpy()[mask] if "p_true" in whole and source == "synthetic" else None
            metrics[f"{part}/{source}"] = summary(
                y_part[mask], p[mask], n_bins=params.evaluate.ece_bins, p_true=p_true
            )
        metrics[f"{part}/all"] = summary(y_part, p, n_bins=params.evaluate.ece_bins)
        synthetic = (whole["source"] == "synthetic").to_numpy()
        if "p_true_without_experience" in whole and synthetic.any():
            # the synthetic block on its own: experience skipped, against the Bayes posterior of the same
            # answers (the experience effects are real respondents', not the generator's)
            experience = [i.id for i in instrument.items if i.group == "experience" and i.id in item_columns]
            blank = whole.loc[synthetic, item_columns].copy()
            for item in experience:
                blank[item] = None if blank[item].dtype == object else np.nan
            metrics[f"{part}/synthetic/without_experience"] = summary(
                y_part[synthetic],
                champion.predict_proba(blank)[:, 1],
                n_bins=params.evaluate.ece_bins,
                p_true=whole.loc[synthetic, "p_true_without_experience"].to_numpy(),
            )
        if partial.copies:
            skipped = skip_at_random(
                whole, item_columns, partial.keep_min, partial.keep_max, seed=hash_seed(part, "metrics")
            )
            p_skipped = champion.predict_proba(skipped[item_columns])[:, 1]
            for source in sorted(whole["source"].unique()):
                mask = (whole["source"] == source).to_numpy()
                metrics[f"{part}/{source}/partial_answers"] = summary(
                    y_part[mask], p_skipped[mask], n_bins=params.evaluate.ece_bins
                )

    data = {
        "sha256": frame_sha256(frame),
        "rows": {
            "total": len(frame),
            "by_split": {str(k): int(v) for k, v in split.value_counts().sort_index().items()},
            "by_source": {str(k): int(v) for k, v in frame["source"].value_counts().sort_index().items()},
        },
    }
    real_summary = {
        "training_sources": training_sources,
        "evaluation_sources": real_sources(params, frame, "evaluate"),
        "base_rate": base_rate,
        "measured_items": measured,
        "effects": evidence_effects,
    }
    if block is not None:
        real_summary.update(
            {
                "rows": len(real_dev),
                "candidate": "logistic",
                "alpha": block.alpha_,
                "a": block.a_,
                "shift": block.shift_,
                "out_of_fold_log_loss": block.out_of_fold_log_loss_,
                "candidates": block.candidates_,
            }
        )
    # the answer model of adaptive questioning: P(answer level | role) on the training rows (synthetic and
    # real training sources' train split), weighted like training, one level per step of the tables
    answer_rows = frame.loc[
        (split == "train").to_numpy() & frame["source"].isin(["synthetic", *training_sources]).to_numpy()
    ]
    answers = answer_distributions(
        answer_rows,
        sample_weights(answer_rows, params.build, shares),
        table_steps(additive),
        description=(
            "P(answer level | role) of the train split of "
            + ", ".join(["synthetic", *training_sources])
            + f" ({len(answer_rows):,} rows), weighted like training"
        ),
        instrument=instrument,
    )
    return TrainResult(
        extra={
            "reference": reference(frame.assign(split=split.to_numpy())),
            "answers": answers,
            "real_evidence": real_summary,
        },
        candidate=name,
        calibration=method,
        estimator=champion,
        additive=additive,
        selection=selection,
        metrics=metrics,
        data=data,
        max_table_error=max_error,
    )


def table_steps(additive: AdditiveModel) -> dict[str, tuple[float, ...]]:
    """The step edges of every numeric item's lookup tables (its table's and its answered-alone
    table's): within a step every answer has the same effect."""
    out = {}
    for item, table in additive.tables.items():
        if not table.choices:
            alone = additive.alone.get(item)
            out[item] = tuple(sorted({*table.edges, *(alone.edges if alone is not None else ())}))
    return out


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
