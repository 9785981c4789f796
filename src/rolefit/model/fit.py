"""Training the fit: the additive model over the fit items alone, from an even start, with its uncertainty.

:func:`train_fit` fits the fit exactly as the all-answers model is fitted
(:func:`rolefit.model.fitting.fit_additive`), on the items with ``part: fit`` only and with every source's
rows reweighted to an even MLE share, so that its intercept (the start) is 0: before any answer neither
role is favoured. Real training sources measure no fit item today, so its effects come from the
synthetic respondents; an item a real source does measure takes its effect from real rows, as in the
all-answers model. Every effect then gets its uncertainty (:mod:`rolefit.model.uncertainty`): the
bootstrap sd of a real one, the relative width of its group (``train.fit.widths``) for an assumed one.
Its prediction sets come from conformal thresholds on held-out synthetic respondents, scored with the
uncertainty (the verdicts follow from those probabilities); it is judged on held-out synthetic
respondents (it cannot be judged on real ones, who answered no fit item).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rolefit.config import Params
from rolefit.data.dataset import labels, skip_at_random
from rolefit.instrument.items import load_instrument
from rolefit.model.features import normalise_frame
from rolefit.model.fitting import TrainingRows, check_tables, fit_additive, hash_seed, held_out_conformal
from rolefit.model.metrics import log_loss, summary
from rolefit.model.uncertainty import (
    FIT_BASE_RATE,
    FIT_START,
    SD,
    FitModel,
    ItemUncertainty,
    level_sd,
    relative_widths,
)

#: Widths tried for each group in the record of what a width costs on held-out synthetic respondents.
WIDTH_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5)


@dataclass
class FitResult:
    """What training the fit produced: the model, how it was chosen and how it scores."""

    model: FitModel
    candidate: str
    calibration: str
    estimator: Any
    selection: list[dict[str, Any]]
    metrics: dict[str, dict[str, float]]
    max_table_error: float
    #: synthetic validation log loss with each group's width varied alone, the others as chosen
    width_curve: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    #: how many synthetic respondents it was trained, calibrated and judged on (all splits)
    synthetic_respondents: int = 0
    #: the shift of the guides' rules of thumb in those respondents (``train.fit.rule_of_thumb_effect``,
    #: or the data's ``synthesize.rule_of_thumb_effect`` when it was trained on the data's)
    rule_of_thumb_effect: float = 0.0

    def record(self) -> dict[str, Any]:
        """The manifest's ``fit`` entry: how the fit was chosen, its widths and its metrics."""
        return {
            "synthetic_respondents": self.synthetic_respondents,
            "rule_of_thumb_effect": self.rule_of_thumb_effect,
            "candidate": self.candidate,
            "calibration": self.calibration,
            "selection": self.selection,
            "start": self.model.start,
            "widths": dict(self.model.widths),
            "metrics": self.metrics,
            "width_curve": self.width_curve,
            "max_table_error": self.max_table_error,
        }


def frame_effects(fit: FitModel, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's final effect and its variance per fit item (columns in ``fit``'s table order), and
    the answered mask: the vectorised form of :meth:`FitModel.effects`."""
    additive = fit.additive
    items = list(additive.tables)
    present = [item for item in items if item in X.columns]
    clean = normalise_frame(X[present])
    n = len(X)
    raw = np.zeros((n, len(items)))
    alone = np.zeros((n, len(items)))
    sd_full = np.zeros((n, len(items)))
    sd_alone = np.zeros((n, len(items)))
    answered = np.zeros((n, len(items)), dtype=bool)
    for j, item in enumerate(items):
        if item not in clean.columns:
            continue
        column = clean[item]
        seen = column.notna().to_numpy()
        answered[:, j] = seen
        table, single, u = additive.tables[item], additive.alone.get(item), fit.uncertainty[item]
        values = column.to_numpy(dtype=object)[seen]
        raw[seen, j] = [table.effect(v) for v in values]
        if single is not None:
            alone[seen, j] = [single.effect(v) for v in values]
        if u.kind == SD:
            sd_full[seen, j] = [level_sd(u.sd, table, v) for v in values]
            if single is not None and u.sd_alone:
                sd_alone[seen, j] = [level_sd(u.sd_alone, single, v) for v in values]
            else:
                sd_alone[seen, j] = sd_full[seen, j]
    coverage = answered @ np.array([additive.coverage.get(item, 0.0) for item in items])
    scale = additive.scale_at(coverage)
    weight = additive.blend(answered[:, [item in additive.alone for item in items]].sum(axis=1))
    effects = np.zeros((n, len(items)))
    variances = np.zeros((n, len(items)))
    for j, item in enumerate(items):
        u = fit.uncertainty[item]
        if item in additive.alone:
            effects[:, j] = alone[:, j] + weight * (raw[:, j] - alone[:, j])
        elif item in additive.fixed:
            effects[:, j] = raw[:, j]
        else:
            effects[:, j] = (scale * raw[:, j] + additive.offsets.get(item, 0.0)) * answered[:, j]
        if u.kind == SD:
            sd = (
                sd_alone[:, j] + weight * (sd_full[:, j] - sd_alone[:, j])
                if item in additive.alone
                else sd_full[:, j]
            )
        else:
            sd = u.width * np.abs(effects[:, j])
        variances[:, j] = sd * sd * answered[:, j]
    return effects, variances, answered


def frame_probabilities(fit: FitModel, X: pd.DataFrame, base_rate: float | None = None) -> np.ndarray:
    """The fit's ``p_mle`` of every row of ``X``, integrated over the effects' uncertainty."""
    effects, variances, _ = frame_effects(fit, X)
    k = 1.0 / np.sqrt(1.0 + np.pi * variances.sum(axis=1) / 8.0)
    z = fit.starting_log_odds(base_rate) + k * effects.sum(axis=1)
    return 1.0 / (1.0 + np.exp(-z))


def fit_rows(frame: pd.DataFrame, params: Params, log: Callable[[str], None]) -> pd.DataFrame:
    """The rows the fit is trained on: ``frame``, or its real rows and ``train.fit.synthetic_respondents``
    synthetic respondents of the fit's own (the generator of ``synthesize`` with the fit's
    ``rule_of_thumb_effect``, without experience answers, which the fit never reads) when ``frame``
    holds fewer synthetic respondents or was drawn with another ``rule_of_thumb_effect``; 0 respondents
    keeps ``frame``'s."""
    from rolefit.data.dataset import assign_splits
    from rolefit.data.synthetic import generate

    fit = params.train.fit
    wanted = fit.synthetic_respondents
    have = int((frame["source"] == "synthetic").sum())
    same = fit.rule_of_thumb_effect == params.synthesize.rule_of_thumb_effect
    if wanted == 0 or (wanted <= have and same):
        return frame
    log(
        f"fit: drawing {wanted:,} synthetic respondents of its own (fit items only; the guides' rules of "
        f"thumb at {fit.rule_of_thumb_effect:g}; the data hold {have:,})"
    )
    generator = params.synthesize.model_copy(update={"rule_of_thumb_effect": fit.rule_of_thumb_effect})
    own = generate(generator, None, n=wanted, id_prefix="fit")
    if "split" in frame.columns:
        own["split"] = assign_splits(own, params.build).to_numpy()
    return pd.concat([frame.loc[(frame["source"] != "synthetic").to_numpy()], own], ignore_index=True)


def train_fit(
    frame: pd.DataFrame, params: Params, *, log: Callable[[str], None] = lambda _: None
) -> FitResult:
    """Train the fit on ``frame`` (the same splits as the all-answers model; more synthetic respondents
    when it holds fewer than ``train.fit.synthetic_respondents``: :func:`fit_rows`; see the module)."""
    instrument = load_instrument()
    fit_ids = instrument.fit_ids
    rows = fit_rows(frame, params, log)
    rules = (
        params.train.fit.rule_of_thumb_effect if rows is not frame else params.synthesize.rule_of_thumb_effect
    )
    frame = rows
    items = [item for item in fit_ids if item in frame.columns]
    data = TrainingRows(frame, params, items, FIT_BASE_RATE)
    core = fit_additive(data, only=fit_ids, log=lambda m: log(f"fit: {m}"), what="the fit")
    widths = params.train.fit.widths.model_dump()
    uncertainty = relative_widths(instrument, fit_ids, widths)
    uncertainty.update(_real_uncertainty(core))
    model = FitModel(additive=core.additive, uncertainty=uncertainty, start=FIT_START, widths=widths)

    # prediction sets from held-out scores with the uncertainty (the verdict follows from them): the
    # synthetic validation split with its partly skipped copies, and the real rows' cross-fitted scores
    # when a real block exists
    x_val, y_val, w_val = core.validation
    conformal = held_out_conformal(core, items, frame_probabilities(model, x_val), data.weights, params)
    model = dataclasses.replace(model, additive=dataclasses.replace(model.additive, conformal=conformal))
    q_swe, q_mle = conformal.q_swe, conformal.q_mle
    log(f"fit: prediction sets at {conformal.level:.0%}: q_swe {q_swe:.3f}, q_mle {q_mle:.3f}")

    everyone = np.ones(len(frame), bool)
    max_error = check_tables(core.estimator, model.additive, data.rows("test", True, everyone)[items], "fit")
    metrics = _metrics(model, core, data, items, params)
    curve = width_curve(model, x_val, y_val, w_val)
    for group, points in curve.items():
        chosen = next(p for p in points if p["width"] == widths[group])
        log(f"fit: width {widths[group]:g} for {group}: validation log loss {chosen['log_loss']:.4f} "
            f"(width 0: {points[0]['log_loss']:.4f})")  # fmt: skip
    return FitResult(
        model=model,
        candidate=core.candidate,
        calibration=core.calibration,
        estimator=core.estimator,
        selection=core.selection,
        metrics=metrics,
        max_table_error=max_error,
        width_curve=curve,
        synthetic_respondents=int((frame["source"] == "synthetic").sum()),
        rule_of_thumb_effect=rules,
    )


def _real_uncertainty(core) -> dict[str, ItemUncertainty]:
    """The bootstrap sd per table level of every fit item real respondents answered."""
    out: dict[str, ItemUncertainty] = {}
    if core.block is None or not core.boot:
        return out  # no resamples: the real items keep their group's width
    for item in core.block.items:
        full, alone = core.additive.tables[item], core.additive.alone.get(item)
        out[item] = ItemUncertainty(
            kind=SD,
            sd=_table_sd([b[0][item] for b in core.boot], full),
            sd_alone=_table_sd([b[1][item] for b in core.boot], alone) if alone is not None else (),
        )
    return out


def _table_sd(tables, like):
    """The sd across resampled tables of every level of ``like`` (the same edges or choices)."""
    if like.choices:
        return {choice: float(np.std([t.choices[choice] for t in tables])) for choice in like.choices}
    return tuple(float(np.std([t.values[k] for t in tables])) for k in range(len(like.values)))


def _metrics(
    model: FitModel, core, data: TrainingRows, items: list[str], params: Params
) -> dict[str, dict[str, float]]:
    """Synthetic validation and test metrics of the fit, with its uncertainty and without (``no_width``),
    beside the Bayes posterior of the same respondents without their experience answers
    (``p_true_without_experience``: it also reads the path skills, a bound the fit need not reach)."""
    n_bins = params.evaluate.ece_bins
    exact = relative_widths(load_instrument(), list(model.uncertainty), dict.fromkeys(model.widths, 0.0))
    versions = {"": model, "/no_width": model.with_uncertainty(exact)}
    partial = params.train.partial_answers
    out: dict[str, dict[str, float]] = {}
    for part in ("validation", "test"):
        whole = data.rows(part, False)
        y, w = labels(whole), data.weights(whole)
        p_true = whole.get("p_true_without_experience")
        p_true = None if p_true is None else p_true.to_numpy()
        for suffix, version in versions.items():
            p = frame_probabilities(version, whole[items])
            scores = summary(y, p, n_bins=n_bins, p_true=p_true)
            scores["weighted_log_loss"] = log_loss(y, p, sample_weight=w)
            out[f"{part}/synthetic{suffix}"] = scores
        if partial.copies:
            seed = hash_seed(part, "fit metrics")
            skipped = skip_at_random(whole, items, partial.keep_min, partial.keep_max, seed=seed)
            p = frame_probabilities(model, skipped[items])
            out[f"{part}/synthetic/partial_answers"] = summary(y, p, n_bins=n_bins)
    return out


def width_curve(model: FitModel, X, y, w) -> dict[str, list[dict[str, float]]]:
    """Weighted log loss on ``X`` with each group's width varied over :data:`WIDTH_GRID`, the others as
    ``model`` has them: what a width costs if the synthetic prior were exactly right."""
    instrument = load_instrument()
    items = list(model.uncertainty)
    effects, _, answered = frame_effects(model, X)
    groups = np.array([instrument[item].group for item in items])
    real = np.array([model.uncertainty[item].kind == SD for item in items])
    _, variances, _ = frame_effects(model, X)
    out: dict[str, list[dict[str, float]]] = {}
    for group in sorted(set(groups)):
        mine = (groups == group) & ~real
        if not mine.any():
            continue
        rest = variances[:, ~mine].sum(axis=1)
        points = []
        for width in sorted({*WIDTH_GRID, model.widths.get(group, 0.0)}):
            s2 = rest + ((width * effects[:, mine]) ** 2 * answered[:, mine]).sum(axis=1)
            z = model.start + effects.sum(axis=1) / np.sqrt(1.0 + np.pi * s2 / 8.0)
            points.append(
                {"width": float(width), "log_loss": log_loss(y, 1.0 / (1.0 + np.exp(-z)), sample_weight=w)}
            )
        out[str(group)] = points
    return out
