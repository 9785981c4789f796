"""Pooled effects: real respondents move each fit item's synthetic effect, as much as their numbers allow.

The interest, skill, preference and goal items (the *pooled* items: the groups with a prior width,
``train.fit.widths``; the experience part has its own block) have a synthetic effect per answer level:
the calibrated synthetic block's table value ``s_jk`` (for a scaled item, before its coverage scale).
Real training rows that answered any of them correct it by a maximum a posteriori (MAP) logistic regression::

    log_odds_i = o_i + b_source(i) + sum_j m_ij * (d_j(x_ij) - dbar_j)
    d_jk = k_j * s_jk + e_jk     k_j ~ Normal(0, width_group(j)^2)     e_jk ~ Normal(0, (RESIDUAL * sd_jk)^2)
    sd_jk = width_group(j) * max(|s_jk|, FLOOR)

* ``o_i`` is the model without correction (the synthetic block's effects at the row's coverage, the
  experience block's real effects, the base rate's log-odds), held fixed;
* ``b_source`` is the source's own intercept, fitted with a Normal(``logit(share_s) - logit(base_rate)``,
  ``SOURCE_SD`` ^ 2) prior, ``share_s`` the source's smoothed MLE share ``(mle + 1) / (n + 2)`` of its
  non-test rows: sources differ in their mix of roles (the prior's centre is the exact correction for
  that) and in who they call an ML engineer (the fitted part), so no source is reweighted to one share
  and a small source with one role only trains like any other (its intercept stays finite);
* ``dbar_j`` is item ``j``'s mean correction over the fitting rows that answered it (weighted, with
  their multipliers: :func:`_centring`): a correction says how answers differ, never where the fitting
  rows' mean log-odds lies. That level is the source intercept's, and scoring never adds a source
  intercept (a respondent has no source); uncentred, a correction that raised every level was offset
  by a lower intercept in the fit, and scoring kept the one without the other (on 100,000 respondents
  of a generator whose ML-leaning interests read no trait, the corrections gained 0.0050 in log loss
  on fresh respondents uncentred and 0.0066 centred);
* ``m_ij`` is the coverage scale ``s(c_i)`` of the row for a scaled item, 1 for the career goal (whose
  effect does not grow as items are skipped): a correction is scaled like the effect it corrects;
* the prior's width is the fit's (issue #24, ``train.fit.widths``: the relative width per group within
  which the synthetic effects are assumed right): each level's effect has about that sd relative to
  itself, but mostly through the item's *strength* ``k_j`` shared by its levels (a few hundred people
  learn how much an interest says far better than how each of its five levels does; per-level freedom
  alone, 150 numbers, cost more than it taught on 264 respondents); ``e_jk`` lets levels differ from the
  synthetic shape, ``FLOOR`` lets a level whose synthetic effect is zero still move.

Per level, with the lean kept: an item's strength never reverses it (``1 + k_j >= 0``), and for an item
whose lean the instrument states the corrected levels are made monotone in that direction (weighted pool
adjacent violators), so real rows can flatten a step but never reverse it.

260 respondents move an effect a little, 26,000 a lot, item by item: the posterior precision of ``d_jk``
is the prior's plus the rows' Fisher information, and
the share from real rows, ``information / (prior + information)`` with the prior's marginal precision
per level, is each item's badge ("70% from
2,911 real respondents"; averaged over its answer levels by respondents).

Correlated answers: each row's corrections are fitted jointly, so they are partial effects for the row's
answer set; nothing depends on which items a source happened to ask (a source of interest items only
corrects interest items and no other).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from rolefit.model.features import answered_mask, normalise_frame
from rolefit.model.tables import AdditiveModel, ItemTable

#: The prior sd of a source's own intercept around its mix-of-roles value (:func:`source_offsets`): a
#: source whose people differ from the reference in more than their mix of roles (Stack Overflow 2017's
#: "ML specialists" among developers) takes its own level from its rows, not from the effects.
SOURCE_SD = 1.0
#: The residual per answer level, relative to the level's prior sd: most of what real rows teach is how
#: strong an item is (one number per item), the rest how its levels differ from the synthetic shape
RESIDUAL = 0.3
#: The smallest |synthetic effect| (table units, about log-odds) the prior's width is relative to.
FLOOR = 0.05


def pooled_items(additive: AdditiveModel, instrument, widths: Mapping[str, float]) -> list[str]:
    """The items whose effects are pooled: those of a group with a width, in the model's tables."""
    return [
        item.id
        for item in instrument.items
        if item.group in widths and item.id in additive.tables and item.id not in additive.alone
    ]


def source_offsets(frame: pd.DataFrame, base_rate: float) -> dict[str, float]:
    """Each source's own intercept beyond the base rate: ``logit(share) - logit(base_rate)``.

    ``share`` is the source's smoothed MLE share ``(mle + 1) / (n + 2)`` over the rows given (a source of
    one role gets a finite intercept, so it cannot break the build).
    """
    is_mle = (frame["role"] == "mle").groupby(frame["source"])
    out = {}
    for source, mle in is_mle:
        share = (float(mle.sum()) + 1.0) / (len(mle) + 2.0)
        out[str(source)] = float(logit(share) - logit(base_rate))
    return out


@dataclass
class _Cell:
    """One answer level (a table bin or a choice) of one pooled item: a parameter of the fit."""

    item: str
    key: Any  # bin index (numeric items) or choice id
    prior: float
    sd: float


def _cells_of(item, table: ItemTable, width: float) -> list[_Cell]:
    """The item's parameters in the order of its answers (lowest level first)."""
    if table.choices:
        keys = list(item.choice_ids)
        return [_Cell(item.id, k, table.choices[k], width * max(abs(table.choices[k]), FLOOR)) for k in keys]
    low, high = item.bounds
    bins: list[int] = []
    for level in np.arange(low, high + 1):
        b = bisect_left(table.edges, float(level))
        if b not in bins:
            bins.append(b)
    return [_Cell(item.id, b, table.values[b], width * max(abs(table.values[b]), FLOOR)) for b in bins]


def _direction(item, cells: list[_Cell]) -> int:
    """+1 (effects grow with the answer), -1 (they fall) or 0: kept monotone only where the instrument
    states a lean and the synthetic table already follows it."""
    if item.kind == "choice" or item.lean not in ("mle", "swe") or len(cells) < 2:
        return 0
    sign = 1 if item.lean == "mle" else -1
    steps = np.diff([c.prior for c in cells])
    return sign if np.all(sign * steps >= -1e-12) else 0


class PooledFit:
    """The MAP corrections of the pooled items (see the module docstring) and their precision shares."""

    def __init__(self, cells, deltas, shares, respondents, sources, objective, rows=0, intercepts=None):
        self.rows = int(rows)
        #: each source's fitted intercept beyond the base rate's log-odds
        self.intercepts: dict[str, float] = dict(intercepts or {})
        self.cells: list[_Cell] = cells
        self.deltas = np.asarray(deltas, dtype=float)
        self.shares = np.asarray(shares, dtype=float)
        self.respondents = np.asarray(respondents, dtype=int)
        self.sources: dict[str, dict[str, int]] = sources
        self.objective = float(objective)

    def corrections(self) -> dict[str, dict[Any, float]]:
        out: dict[str, dict[Any, float]] = {}
        for cell, delta in zip(self.cells, self.deltas, strict=True):
            out.setdefault(cell.item, {})[cell.key] = float(delta)
        return out

    def item_share(self, item: str) -> float:
        """The share of the item's posterior precision from real rows (levels weighted by respondents)."""
        mine = np.array([c.item == item for c in self.cells])
        n = self.respondents[mine]
        if n.sum() == 0:
            return 0.0
        return float(np.average(self.shares[mine], weights=n))

    def table(self, item: str, table: ItemTable) -> ItemTable:
        """``table`` with the item's corrections added."""
        fix = self.corrections().get(item, {})
        if table.choices:
            return ItemTable(item=item, choices={k: v + fix.get(k, 0.0) for k, v in table.choices.items()})
        return ItemTable(
            item=item,
            edges=table.edges,
            values=tuple(v + fix.get(b, 0.0) for b, v in enumerate(table.values)),
        )

    def records(self) -> list[dict[str, Any]]:
        """Every answer level: prior, correction, posterior, sd of the prior, respondents, real share."""
        return [
            {
                "item": c.item,
                "level": c.key if isinstance(c.key, str) else int(c.key),
                "prior": c.prior,
                "prior_sd": c.sd,
                "correction": float(d),
                "pooled": c.prior + float(d),
                "respondents": int(n),
                "real_share": float(s),
            }
            for c, d, n, s in zip(self.cells, self.deltas, self.respondents, self.shares, strict=True)
        ]


def fit_pooled(
    additive: AdditiveModel,
    X: pd.DataFrame,
    y,
    *,
    offset,
    instrument,
    widths: Mapping[str, float],
    sources: Sequence[str] | None = None,
    sample_weight=None,
    estimator=None,
) -> PooledFit:
    """MAP corrections of the pooled items' effects from real rows ``X`` (labels ``y``; 1 = mle).

    ``offset`` is the centre of the prior of each row's source intercept (:func:`source_offsets`); the
    intercepts are fitted with the corrections, one per source named in ``sources`` (one for all rows
    when None), each with a Normal(offset, :data:`SOURCE_SD` ^ 2) prior.
    ``estimator``, the calibrated model ``additive`` was decomposed from, scores the rows faster than
    the tables (the two agree to 1e-9: :func:`rolefit.model.fitting.check_tables`).
    """
    items = pooled_items(additive, instrument, widths)
    cells: list[_Cell] = []
    spans: list[tuple[int, int, int]] = []  # (start, stop, direction) per item
    for item_id in items:
        item = instrument[item_id]
        mine = _cells_of(item, additive.tables[item_id], float(widths[item.group]))
        spans.append((len(cells), len(cells) + len(mine), _direction(item, mine)))
        cells.extend(mine)
    n_cells = len(cells)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    offset = np.asarray(offset, dtype=float)
    x = normalise_frame(X.reindex(columns=list(dict.fromkeys([*additive.tables, *items]))))
    answered = answered_mask(x, tuple(items))
    rows = np.flatnonzero(answered.any(axis=1)) if items else np.array([], dtype=int)
    sources_of = pd.Series(["?"] * len(y) if sources is None else list(sources))
    if not len(rows) or not n_cells:
        return PooledFit(cells, np.zeros(n_cells), np.zeros(n_cells), np.zeros(n_cells, int), {}, 0.0)

    if estimator is not None:
        o = np.asarray(estimator.decision_function(X.iloc[rows]), dtype=float)
    else:
        o = _log_odds(additive, x.iloc[rows])
    names, of_row = np.unique(sources_of.to_numpy()[rows].astype(str), return_inverse=True)
    centre = np.array([offset[rows][of_row == s].mean() for s in range(len(names))])
    scale = additive.scale_at(_coverage(additive, x.iloc[rows]))
    # design: row r, cell k -> multiplier (the scale, or 1 for a fixed item) where r answered k (sparse:
    # a row answers one level per item)
    entries_r: list[np.ndarray] = []
    entries_k: list[np.ndarray] = []
    entries_v: list[np.ndarray] = []
    index = {(c.item, c.key): k for k, c in enumerate(cells)}
    for j, item_id in enumerate(items):
        item = instrument[item_id]
        multiplier = 1.0 if item_id in additive.fixed else scale
        column = x[item_id].to_numpy()[rows]
        has = np.flatnonzero(answered[rows, j])
        if item.kind == "choice":
            keys = [index.get((item_id, v), -1) for v in column[has]]
        else:
            bins = np.searchsorted(
                np.asarray(additive.tables[item_id].edges), column[has].astype(float), "left"
            )
            keys = [index.get((item_id, int(b)), -1) for b in bins]
        keys = np.asarray(keys, dtype=int)
        ok = keys >= 0
        entries_r.append(has[ok])
        entries_k.append(keys[ok])
        entries_v.append(np.full(ok.sum(), multiplier) if np.ndim(multiplier) == 0 else multiplier[has[ok]])
    design = sparse.csr_matrix(
        (np.concatenate(entries_v), (np.concatenate(entries_r), np.concatenate(entries_k))),
        shape=(len(rows), n_cells),
    )
    yr, wr = y[rows], w[rows]
    centre_of = _centring(design, wr, spans)
    # the prior: d_jk = k_j * s_jk + e_jk, an item's strength k_j ~ Normal(0, width^2) shared by its
    # levels and a residual per level e_jk ~ Normal(0, (RESIDUAL * sd_jk)^2); each level's marginal sd is
    # about width * |s_jk| (issue #24's width), but a few hundred people mostly learn how strong an item is
    item_of = np.array([items.index(c.item) for c in cells])
    width_of = np.array([float(widths[instrument[i].group]) for i in items])
    prior = np.array([c.prior for c in cells])
    residual_precision = np.array([1.0 / (RESIDUAL * c.sd) ** 2 for c in cells])
    n_items, n_src = len(items), len(names)

    def split(theta):
        return theta[:n_cells], theta[n_cells : n_cells + n_items], theta[n_cells + n_items :]

    def objective(theta):
        e, k, b = split(theta)
        d = k[item_of] * prior + e
        t = o + b[of_row] + design @ (centre_of @ d)
        residual = wr * (expit(t) - yr)
        loss = float(np.sum(wr * (np.logaddexp(0.0, t) - yr * t)))
        loss += 0.5 * float(np.sum(residual_precision * e * e) + np.sum((k / width_of) ** 2))
        loss += 0.5 * float(np.sum((b - centre) ** 2)) / SOURCE_SD**2
        g_d = centre_of.T @ (design.T @ residual)
        g_e = g_d + residual_precision * e
        g_k = np.bincount(item_of, weights=g_d * prior, minlength=n_items) + k / width_of**2
        g_b = np.bincount(of_row, weights=residual, minlength=n_src) + (b - centre) / SOURCE_SD**2
        return loss, np.concatenate([g_e, g_k, g_b])

    # an item's strength never reverses it (1 + k >= 0)
    bounds = [(None, None)] * n_cells + [(-1.0, None)] * n_items + [(None, None)] * n_src
    start = np.concatenate([np.zeros(n_cells + n_items), centre])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 5000, "ftol": 1e-13, "gtol": 1e-9})  # fmt: skip
    e, k, b = split(result.x)
    deltas = centre_of @ (k[item_of] * prior + e)
    intercepts = {str(name): float(v) for name, v in zip(names, b, strict=True)}
    respondents = np.asarray((design != 0).sum(axis=0)).ravel()
    # a lean the instrument states is kept: the corrected levels are made monotone (weighted by
    # respondents) where the residuals bent them against it
    for start_, stop, direction in spans:
        if direction:
            values = prior[start_:stop] + deltas[start_:stop]
            kept = direction * _isotonic(direction * values, respondents[start_:stop] + 1.0)
            deltas[start_:stop] = kept - prior[start_:stop]
    deltas = centre_of @ deltas  # centred again: a constant shift keeps the lean
    p = expit(o + b[of_row] + design @ deltas)
    information = design.multiply(design).T @ (wr * p * (1.0 - p))
    prior_variance = (width_of[item_of] * prior) ** 2 + 1.0 / residual_precision
    shares = information / (information + 1.0 / prior_variance)
    by_source: dict[str, dict[str, int]] = {}
    src = sources_of.to_numpy()[rows]
    for j, item_id in enumerate(items):
        counts = pd.Series(src[answered[rows, j]]).value_counts()
        if len(counts):
            by_source[item_id] = {str(s): int(n) for s, n in sorted(counts.items())}
    return PooledFit(
        cells, deltas, shares, respondents, by_source, result.fun, rows=len(rows), intercepts=intercepts
    )


def _centring(design, weights: np.ndarray, spans) -> sparse.csr_matrix:
    """The matrix ``P`` that takes each item's corrections to their differences from their mean over
    the fitting rows' answers.

    ``P d`` subtracts from every level of item ``j`` the weighted mean correction ``pi_j . d_j`` of the
    rows that answered it (``pi_jk``: their share at level ``k``, weighted by the row's weight and
    multiplier), so a correction never moves those rows' mean log-odds: that stays the source intercept's,
    which scoring does not use.
    """
    mass = np.asarray(design.T @ weights).ravel()
    blocks = []
    for start, stop, _ in spans:
        total = mass[start:stop].sum()
        pi = mass[start:stop] / total if total > 0 else np.zeros(stop - start)
        blocks.append(np.eye(stop - start) - np.outer(np.ones(stop - start), pi))
    return sparse.block_diag(blocks, format="csr") if blocks else sparse.csr_matrix((0, 0))


def _isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in weighted least squares (pool adjacent
    violators)."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for v, w in zip(values, weights, strict=True):
        blocks.append([float(v), float(w), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(n, m) for m, _, n in blocks])


def _coverage(additive: AdditiveModel, x: pd.DataFrame) -> np.ndarray:
    items = list(additive.coverage)
    answered = answered_mask(x.reindex(columns=items), tuple(items))
    return answered @ np.array([additive.coverage[i] for i in items])


def _log_odds(additive: AdditiveModel, x: pd.DataFrame) -> np.ndarray:
    """The additive model's log-odds of every row (the tables' own formula)."""
    items = list(additive.tables)
    records = x.reindex(columns=items).to_dict(orient="records")
    out = np.empty(len(records))
    for r, row in enumerate(records):
        answers = {k: v for k, v in row.items() if not _skipped(v)}
        out[r] = additive.intercept + sum(additive.contributions(answers).values())
    return out


def _skipped(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def pooled_additive(
    additive: AdditiveModel, pooled: PooledFit, evidence: dict[str, dict[str, Any]]
) -> AdditiveModel:
    """``additive`` with the pooled corrections in its tables and each pooled item's evidence record."""
    corrected = {item for item in pooled.corrections() if item in pooled.sources}
    tables = {item: pooled.table(item, t) if item in corrected else t for item, t in additive.tables.items()}
    records = dict(evidence)
    for item in corrected:
        share = pooled.item_share(item)
        sources = pooled.sources[item]
        records[item] = {
            "basis": "real" if share >= 0.5 else "assumed",
            "respondents": int(sum(sources.values())),
            "sources": dict(sources),
            "real_share": round(share, 4),
        }
    return replace(additive, tables=tables, evidence=records)


class PooledEstimator(ClassifierMixin, BaseEstimator):
    """A calibrated model plus pooled corrections: what the pooled lookup tables are checked against.

    ``corrections`` maps a pooled item to its correction table (``ItemTable.to_dict()`` form, added to
    the item's raw effect); a scaled item's correction is multiplied by the coverage scale of the
    row, a fixed item's (``fixed``) is not.
    """

    def __init__(self, estimator=None, corrections=None, fixed=(), coverage=None):
        self.estimator = estimator
        self.corrections = corrections
        self.fixed = fixed
        self.coverage = coverage

    def fit(self, X=None, y=None):
        """Nothing is learned here (the corrections come from :func:`fit_pooled`); checks them."""
        check_is_fitted(self.estimator, "a_")
        self._tables()
        self.classes_ = np.array([0, 1])
        return self

    def _tables(self) -> dict[str, ItemTable]:
        return {item: ItemTable.from_dict(item, t) for item, t in (self.corrections or {}).items()}

    def decision_function(self, X):
        check_is_fitted(self, "classes_")
        base = np.asarray(self.estimator.decision_function(X), dtype=float)
        tables = self._tables()
        if not tables:
            return base
        x = normalise_frame(X.reindex(columns=list(dict.fromkeys([*X.columns, *self.coverage]))))
        items = list(self.coverage)
        answered = answered_mask(x[items], tuple(items))
        scale = self.estimator.scale(answered @ np.array([self.coverage[i] for i in items]))
        out = base.copy()
        for item, table in tables.items():
            column = x[item].to_numpy()
            has = answered[:, items.index(item)]
            effect = np.array([table.effect(v) if h else 0.0 for v, h in zip(column, has, strict=True)])
            out += effect if item in self.fixed else scale * effect
        return out

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    @property
    def real(self):
        """The experience block of the wrapped model (read like CoverageCalibratedClassifier's)."""
        return self.estimator.real
