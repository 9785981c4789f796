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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit.config import Params
from rolefit.data.dataset import frame_sha256, labels, real_sources, sample_weights, skip_at_random
from rolefit.data.distributions import answer_distributions, reference
from rolefit.data.readiness import readiness_from_frame
from rolefit.instrument.items import load_instrument
from rolefit.model.fit import FitResult, train_fit
from rolefit.model.fitting import (
    EXACTNESS_TOLERANCE,
    TrainingRows,
    check_tables,
    fit_additive,
    hash_seed,
    held_out_conformal,
)
from rolefit.model.item_gains import read_item_gains
from rolefit.model.metrics import summary
from rolefit.model.tables import AdditiveModel

__all__ = ["EXACTNESS_TOLERANCE", "TrainResult", "hash_seed", "table_steps", "train"]


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
    #: the fit (:func:`rolefit.model.fit.train_fit`); None for results made before the fit existed
    fit: FitResult | None = None


def train(frame: pd.DataFrame, params: Params, *, log: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Train the two evidence blocks, calibrate, select and decompose the champion
    (:mod:`rolefit.model.evidence`), then the fit (:func:`rolefit.model.fit.train_fit`).

    ``frame`` holds items, ``role``, ``source`` and ids, and may carry ``p_true`` (synthetic rows; used
    only for evaluation). The real block is fitted and cross-fitted on every non-test row of the real
    training sources. The synthetic block's candidates are fitted on the synthetic train split,
    calibrated on the synthetic calibration split with the real block held fixed, and selected on the
    synthetic validation split; calibration and validation data are extended with copies whose answers
    are partly skipped (``train.partial_answers``), so the champion is calibrated for partial answer
    sets too (:func:`rolefit.model.fitting.fit_additive`). Test metrics report whole rows per source and,
    separately, such partial copies. The champion is the all-answers model; the fit is trained the same
    way on the fit items alone, from an even start (``TrainResult.fit``).
    """
    instrument = load_instrument()
    item_columns = [c for c in instrument.ids if c in frame.columns]
    partial = params.train.partial_answers
    base_rate = params.build.target_mle_share
    data = TrainingRows(frame, params, item_columns, base_rate)
    split, shares = data.split, data.shares
    rows = data.rows
    core = fit_additive(data, log=log)
    name, method, champion, additive = core.candidate, core.calibration, core.estimator, core.additive
    selection, block, measured = core.selection, core.block, core.measured
    evidence_effects, training_sources, real_dev = core.evidence_effects, core.training_sources, core.real_dev
    # conformal thresholds from held-out scores (the real rows weighted by the build's own target share)
    p_val = champion.predict_proba(core.validation[0])[:, 1]
    conformal = held_out_conformal(
        core, item_columns, p_val, lambda part: sample_weights(part, params.build, shares), params
    )
    additive = dataclasses.replace(additive, conformal=conformal)
    log(f"prediction sets at {conformal.level:.0%}: q_swe {conformal.q_swe:.3f}, q_mle {conformal.q_mle:.3f}")
    for most, q_swe, q_mle in conformal.bands:
        log(f"  up to {most} answers: q_swe {q_swe:.3f}, q_mle {q_mle:.3f}")
    everyone = np.ones(len(frame), bool)
    max_error = check_tables(champion, additive, rows("test", True, everyone)[item_columns])

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
            experience = [i.id for i in instrument.items if i.part == "experience" and i.id in item_columns]
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
        # the tools questions' cross-validated gains that decided which ones the instrument asks
        # (stage item_gains; None without its report), for the model card
        "item_gains": read_item_gains(Path(params.item_gains.out).with_suffix(".json")),
    }
    if core.pooled is not None:
        pooled = core.pooled
        real_summary["pooled"] = {
            "rows": int(pooled.rows),
            "sources": sorted({s for counts in pooled.sources.values() for s in counts}),
            "widths": params.train.fit.widths.model_dump(),
            "source_intercepts": pooled.intercepts,
            "items": {
                item: {"respondents": int(sum(counts.values())), "sources": counts,
                       "real_share": pooled.item_share(item)}
                for item, counts in pooled.sources.items()
            },
            "levels": pooled.records(),
        }  # fmt: skip
    if block is not None:
        real_summary.update(
            {
                "rows": len(real_dev),
                "candidate": core.block_name or "logistic",
                "choice": core.block_choice,
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
    fit = train_fit(frame, params, log=log)
    # readiness: counts of real respondents per answer level and role, of every real source outside its
    # test split (never weighted, never synthetic); it describes people in the roles and fits nothing
    readiness = readiness_from_frame(frame, params, split)
    log(f"readiness: {readiness['description']}")
    return TrainResult(
        fit=fit,
        extra={
            "reference": reference(frame.assign(split=split.to_numpy())),
            "answers": answers,
            "readiness": readiness,
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
