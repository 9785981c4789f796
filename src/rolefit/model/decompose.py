"""Decomposing a fitted, calibrated additive candidate into exact per-item lookup tables.

:func:`item_effect_tables` reads an additive pipeline's shape functions off the pipeline itself;
:func:`decompose` turns a calibrated candidate into an :class:`~rolefit.model.tables.AdditiveModel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rolefit.instrument.items import Instrument, Item
from rolefit.model.estimators import MonotoneLogisticRegression
from rolefit.model.features import item_thresholds
from rolefit.model.tables import AdditiveModel, ItemTable


def _tree_thresholds(hgb, column_indices: list[int]) -> list[float]:
    """Every numeric split threshold the trees use on the given columns."""
    wanted = set(column_indices)
    found: set[float] = set()
    for iteration in hgb._predictors:
        for predictor in iteration:
            nodes = predictor.nodes
            for node in nodes[~nodes["is_leaf"].astype(bool)]:
                if int(node["feature_idx"]) in wanted:
                    found.add(float(node["num_threshold"]))
    return sorted(found)


def _item_edges(pipeline, item: Item) -> list[float]:

    model = pipeline.named_steps["model"]
    if isinstance(model, MonotoneLogisticRegression):
        return list(item_thresholds(item))
    columns = pipeline.named_steps["encode"].columns_
    return _tree_thresholds(model, [k for k, c in enumerate(columns) if c.item == item.id])


def item_effect_tables(
    pipeline, instrument: Instrument, items: tuple[str, ...] | None = None
) -> tuple[float, dict[str, ItemTable]]:
    """Read an additive pipeline's shape functions off the pipeline itself.

    Returns the decision function ``d_0`` of the all-skipped row and, per item (of ``items``; None:
    every item of the instrument), the table of ``d(only this item answered) - d_0`` over every
    interval / choice the model distinguishes.
    """

    rows: list[dict[str, Any]] = [{}]
    plan: list[tuple[Item, list[float], list[Any]]] = []
    chosen = [item for item in instrument.items if items is None or item.id in items]
    for item in chosen:
        if item.kind == "choice":
            probes: list[Any] = list(item.choice_ids)
            edges: list[float] = []
        else:
            edges = _item_edges(pipeline, item)
            probes = [*edges, edges[-1] + 1.0] if edges else [item.bounds[0]]
        plan.append((item, edges, probes))
        rows.extend({item.id: probe} for probe in probes)
    frame = pd.DataFrame(rows, columns=[item.id for item in chosen])
    for item in chosen:
        frame[item.id] = frame[item.id].astype(object if item.kind == "choice" else float)
    z = np.asarray(pipeline.decision_function(frame), dtype=float)
    z0 = float(z[0])
    tables: dict[str, ItemTable] = {}
    position = 1
    for item, edges, probes in plan:
        effects = [float(z[position + k] - z0) for k in range(len(probes))]
        position += len(probes)
        if item.kind == "choice":
            tables[item.id] = ItemTable(item=item.id, choices=dict(zip(probes, effects, strict=True)))
        else:
            tables[item.id] = ItemTable(item=item.id, edges=tuple(edges), values=tuple(effects))
    return z0, tables


def decompose(
    calibrated,
    instrument: Instrument,
    *,
    base_rate: float | None = None,
    evidence: dict[str, dict[str, Any]] | None = None,
) -> AdditiveModel:
    """Turn a calibrated additive candidate into exact lookup tables plus its coverage scale.

    The items of the calibrated model's real block take their final effects from that block; like the
    experience items they are ``fixed`` (their tables hold final effects, no coverage scale).
    """
    z0, tables = item_effect_tables(calibrated.estimator, instrument, getattr(calibrated, "items_", None))
    if abs(z0 - calibrated.baseline_decision_) > 1e-12:
        raise RuntimeError("The calibrated model's pipeline changed after calibration.")
    real_items = tuple(getattr(calibrated, "real_items_", ()))
    fixed = frozenset(calibrated.fixed_items_) | frozenset(real_items)
    # the calibration's shift per answered item: its share of the coverage times the shift
    offsets = {
        item: calibrated.shift_ * w + calibrated.shift_fixed_ * wf
        for item, w, wf in zip(
            calibrated.items_, calibrated.coverage_weights_, calibrated.fixed_weights_, strict=True
        )
    }
    real_tables, alone = calibrated.real.tables(instrument) if real_items else ({}, {})
    tables = {
        item: real_tables[item]
        if item in real_tables
        else table.scaled(calibrated.a_fixed_).shifted(offsets[item])
        if item in fixed
        else table
        for item, table in tables.items()
    }
    return AdditiveModel(
        alone=alone,
        blend_items=getattr(calibrated.real, "blend_items", None) if real_items else None,
        base_rate=base_rate,
        evidence=dict(evidence or {}),
        intercept=calibrated.b_,
        tables=tables,
        fixed=fixed,
        offsets={item: float(v) for item, v in offsets.items() if item not in fixed and v != 0.0},
        coverage=dict(zip(calibrated.items_, map(float, calibrated.coverage_weights_), strict=True)),
        a=calibrated.a_,
        kappa=calibrated.kappa_,
        gamma=calibrated.gamma_,
    )
