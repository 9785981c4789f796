"""A gradient-boosted real block, additive by construction, and the choice between real blocks.

:class:`BoostedEvidenceBlock` has the public interface of
:class:`rolefit.model.evidence.RealEvidenceBlock` (the same attributes and methods, so either can be the
all-answers model's real part) but learns every item's shape function by *cyclic gradient boosting*:
round after round, each item in turn gets one shallow tree on its own answer levels, so no tree ever
reads two items and the model is a sum of one function per item. A shape function is therefore a
table over the item's answer levels - the same levels the logistic block distinguishes (the step
thresholds of :func:`rolefit.model.features.item_thresholds` for numeric items, one level per choice)
- and the lookup tables are exact by construction, not an approximation of a tree ensemble.

One round of one item (the "tree"):

* the gradient ``g`` and hessian ``h`` of the weighted log loss at the current log-odds (the row's
  ``offset`` included) are summed per answer level, over the rows that answered the item;
* the levels are split into at most ``max_leaves`` contiguous groups (numeric items in their order;
  choices ordered by their Newton value, as LightGBM orders categories), each holding at least
  ``min_leaf`` respondents, by the largest gain ``G^2 / (H + l2)``;
* each group moves by the shrunk Newton step ``-learning_rate * G / (H + l2)``; where the item states a
  lean the steps are projected onto the monotone shapes (numeric items: pool-adjacent-violators over
  the groups; choices: an MLE-leaning choice never moves down, an SWE-leaning one never up - the sign
  bounds of the logistic block's ``monotonic_cst``);
* the step is centred on the item's answered rows, so a skipped answer (which contributes 0) counts as
  an average answer, as in the logistic block's centred encoding; an intercept, refitted after every
  round, absorbs the rest.

As in the logistic block, every item has two shapes: ``V_j`` (partial) from the boosting of all the
block's items together and ``U_j`` (marginal) from a boosting of that item alone, blended by how many
of the block's items were answered (``c = (m - 1) / (n - 1)``), and the block is calibrated by
cross-fitting: every row is scored by models that did not see it, a Platt slope ``a`` and a shift per
answered share are fitted on those scores, and the learning rate and number of rounds with the lowest
out-of-fold log loss are chosen (early stopping by cross-fitting). The calibrated log-odds are
``base_log_odds + a * sum_j effect_j + shift * m / n``, the logistic block's formula, so
:meth:`BoostedEvidenceBlock.tables` gives (full, alone) tables that reproduce
:meth:`~BoostedEvidenceBlock.decision_function` to rounding.

On Kaggle 2021's 2,961 non-test respondents (``benchmarks/real_block.py``, 5 folds shared with the
logistic block) the boosted block's out-of-fold log loss is 0.4724 against the logistic block's
0.4720 (difference +0.0004, paired 95% interval -0.0014 to +0.0022): the additive shapes of these 15
items are saturated. Pairwise interaction terms are therefore *not* part of the block: boosted pair
tables on the top 1-10 pairs on top of it gain at most 0.0010 (interval -0.0037 to +0.0020), and
scikit-learn's depth-2 trees over every pair gain 0.0017 over its own additive model, also within
the interval - no pair pays more than its noise.

:func:`choose_real_block` picks, among fitted real blocks fitted on the same rows with the same folds,
the one with the lowest out-of-fold log loss and says by how much, with a paired interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from rolefit.instrument.items import Instrument, load_instrument
from rolefit.model.evidence import _platt_with_base as platt  # the logistic block's calibration, shared
from rolefit.model.features import item_thresholds, numeric_matrix
from rolefit.model.tables import ItemTable

_SIGN = {"swe": -1, "none": 0, "mle": 1}


# -- an item's answer levels ---------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    """The answer levels of one item: ``edges`` (numeric) or ``choices``, and the monotone signs.

    Numeric level ``k`` holds the answers in ``(edges[k-1], edges[k]]`` (the convention of
    :class:`~rolefit.model.tables.ItemTable`); ``monotone`` is +1 (the shape rises with the answer: the
    item leans MLE), -1 (leans SWE) or 0. A choice item has one level per choice, with each choice's
    lean sign in ``signs``.
    """

    item: str
    edges: tuple[float, ...] = ()
    choices: tuple[str, ...] = ()
    monotone: int = 0
    signs: tuple[int, ...] = ()

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    @property
    def size(self) -> int:
        return len(self.choices) if self.choices else len(self.edges) + 1

    def codes(self, values: np.ndarray) -> np.ndarray:
        """The level of every answer (-1: skipped); an answer that is no choice raises ValueError."""
        if self.is_choice:
            index = {c: k for k, c in enumerate(self.choices)}
            out = np.array([-1 if v is None else index.get(v, -2) for v in values], dtype=np.int64)
            if (out == -2).any():
                bad = sorted({str(v) for v, o in zip(values, out, strict=True) if o == -2})
                raise ValueError(
                    f"{self.item}: got {', '.join(bad[:5])}; allowed: one of {', '.join(self.choices)}"
                )
            return out
        values = np.asarray(values, dtype=float)
        out = np.searchsorted(np.asarray(self.edges, dtype=float), values, side="left").astype(np.int64)
        out[np.isnan(values)] = -1
        return out

    def table(self, values: np.ndarray) -> ItemTable:
        """The lookup table of a shape (one value per level)."""
        if self.is_choice:
            return ItemTable(
                item=self.item, choices={c: float(v) for c, v in zip(self.choices, values, strict=True)}
            )
        return ItemTable(item=self.item, edges=self.edges, values=tuple(float(v) for v in values))


def item_levels(items: Sequence[str], instrument: Instrument | None = None) -> list[Levels]:
    """The answer levels of ``items``, from the instrument (the logistic block's thresholds and leans)."""
    instrument = instrument or load_instrument()
    unknown = [item for item in items if item not in instrument]
    if unknown:
        raise ValueError(f"These items are not in the instrument: {', '.join(unknown)}.")
    out = []
    for item_id in items:
        item = instrument[item_id]
        if item.kind == "choice":
            out.append(
                Levels(item.id, choices=item.choice_ids, signs=tuple(_SIGN[c.lean] for c in item.choices))
            )
        else:
            out.append(Levels(item.id, edges=tuple(item_thresholds(item)), monotone=_SIGN[item.lean]))
    return out


def answer_codes(X: pd.DataFrame, levels: Sequence[Levels]) -> np.ndarray:
    """Matrix of answer levels (rows x items, -1 for skipped); a column ``X`` lacks counts as skipped."""
    answers = numeric_matrix(X, load_instrument())
    if not levels:
        return np.zeros((len(X), 0), dtype=np.int64)
    return np.column_stack([lv.codes(answers[lv.item]) for lv in levels])


# -- one round of one item -----------------------------------------------------------------------


def _pava(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-decreasing fit to ``values`` (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights, strict=True):
        blocks.append([float(v), float(w), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            total = w1 + w2
            blocks.append([(v1 * w1 + v2 * w2) / total, total, n1 + n2])
    return np.concatenate([np.full(int(n), v) for v, _, n in blocks])


def level_step(
    G: np.ndarray,
    H: np.ndarray,
    N: np.ndarray,
    levels: Levels,
    *,
    max_leaves: int,
    min_leaf: int,
    l2: float,
) -> np.ndarray:
    """The Newton step of one shallow tree on one item's levels (before shrinkage), one value per level.

    ``G``, ``H`` and ``N`` are the gradient, hessian and respondent count per level. The tree groups
    contiguous levels (choices in order of their Newton value) into at most ``max_leaves`` leaves of at
    least ``min_leaf`` respondents each, splitting where the gain is largest, and the leaf values are
    made monotone where ``levels`` states a lean.
    """
    size = len(G)
    if N.sum() < min_leaf:
        return np.zeros(size)
    order = np.argsort(-G / (H + l2), kind="stable") if levels.is_choice else np.arange(size)
    g, h, n = G[order], H[order], N[order]
    cg, ch, cn = (np.concatenate([[0.0], np.cumsum(a)]) for a in (g, h, n))

    def score(lo: int, hi: int) -> float:
        return (cg[hi] - cg[lo]) ** 2 / (ch[hi] - ch[lo] + l2)

    segments = [(0, size)]
    while len(segments) < max_leaves:
        best = None
        for s, (lo, hi) in enumerate(segments):
            parent = score(lo, hi)
            for cut in range(lo + 1, hi):
                if cn[cut] - cn[lo] < min_leaf or cn[hi] - cn[cut] < min_leaf:
                    continue
                gain = score(lo, cut) + score(cut, hi) - parent
                if gain > 1e-12 and (best is None or gain > best[0]):
                    best = (gain, s, cut)
        if best is None:
            break
        _, s, cut = best
        lo, hi = segments[s]
        segments[s : s + 1] = [(lo, cut), (cut, hi)]
    value = np.array([-(cg[hi] - cg[lo]) / (ch[hi] - ch[lo] + l2) for lo, hi in segments])
    if levels.monotone and not levels.is_choice:
        weight = np.array([ch[hi] - ch[lo] + l2 for lo, hi in segments])
        value = levels.monotone * _pava(levels.monotone * value, weight)
    step = np.empty(size)
    for (lo, hi), v in zip(segments, value, strict=True):
        step[order[lo:hi]] = v
    if levels.is_choice and any(levels.signs):
        signs = np.asarray(levels.signs)
        step = np.where(signs > 0, np.maximum(step, 0.0), np.where(signs < 0, np.minimum(step, 0.0), step))
    return step


# -- cyclic boosting -----------------------------------------------------------------------------


@dataclass
class Boosted:
    """Shapes (one array per item, over its levels) and intercept of a cyclic boosting, with the shapes
    at every checkpoint round (``history[r]``)."""

    shapes: list[np.ndarray]
    intercept: float
    history: dict[int, list[np.ndarray]]


def cyclic_boost(
    codes: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    offset: np.ndarray,
    levels: Sequence[Levels],
    *,
    learning_rate: float,
    rounds: int,
    max_leaves: int,
    min_leaf: int,
    l2: float,
    checkpoints: Sequence[int] = (),
) -> Boosted:
    """Boost one shape per item, round-robin: every round gives each item (in order) one shallow tree.

    The model is ``offset + intercept + sum_j shape_j[codes_j]`` (a skipped item adds 0); the
    intercept takes a full Newton step after every round. Every shape is centred on the weighted
    answers of the rows that answered its item. Rows with the same answers and offset are boosted as
    one group (:func:`compress`): the gradients are the same, the work is less.
    """
    codes, y, w, offset, multiplicity = compress(codes, y, w, offset)
    d = codes.shape[1]
    answered = [np.flatnonzero(codes[:, j] >= 0) for j in range(d)]
    code = [codes[rows, j] for j, rows in enumerate(answered)]
    share = []
    for j, lv in enumerate(levels):
        weights = np.bincount(code[j], w[answered[j]], minlength=lv.size)
        share.append(weights / weights.sum() if weights.sum() > 0 else weights)
    counts = [
        np.bincount(code[j], multiplicity[rows], minlength=lv.size)
        for j, (lv, rows) in enumerate(zip(levels, answered, strict=True))
    ]
    shapes = [np.zeros(lv.size) for lv in levels]
    F = np.asarray(offset, dtype=float).copy()
    intercept = 0.0

    def newton_intercept(steps: int = 1) -> None:
        nonlocal intercept, F
        for _ in range(steps):
            p = expit(F)
            step = -float(w @ (p - y)) / max(float(w @ (p * (1.0 - p))), 1e-12)
            intercept += step
            F += step

    newton_intercept(3)
    wanted = set(checkpoints)
    history: dict[int, list[np.ndarray]] = {}
    for r in range(1, rounds + 1):
        for j, lv in enumerate(levels):
            rows = answered[j]
            if not len(rows):
                continue
            p = expit(F[rows])
            g = w[rows] * (p - y[rows])
            h = w[rows] * p * (1.0 - p)
            G = np.bincount(code[j], g, minlength=lv.size)
            H = np.bincount(code[j], h, minlength=lv.size)
            step = learning_rate * level_step(
                G, H, counts[j], lv, max_leaves=max_leaves, min_leaf=min_leaf, l2=l2
            )
            step -= share[j] @ step
            shapes[j] += step
            F[rows] += step[code[j]]
        newton_intercept()
        if r in wanted:
            history[r] = [s.copy() for s in shapes]
    return Boosted(shapes=shapes, intercept=intercept, history=history)


def compress(codes: np.ndarray, y: np.ndarray, w: np.ndarray, offset: np.ndarray):
    """Rows grouped by their answers and offset: ``(codes, y, w, offset, respondents)`` per group.

    A group's ``w`` is the sum of its rows' weights and its ``y`` their weighted MLE share, so its
    gradient ``w * (p - y)`` and hessian ``w * p * (1 - p)`` are the sums of its rows' (exactly); its
    respondent count keeps ``min_leaf`` counting people.
    """
    key = np.column_stack([codes.astype(float), np.asarray(offset, dtype=float)])
    unique, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    size = len(unique)
    weight = np.bincount(inverse, w, minlength=size)
    mle = np.bincount(inverse, w * y, minlength=size)
    share = np.divide(mle, weight, out=np.zeros(size), where=weight > 0)
    respondents = np.bincount(inverse, minlength=size).astype(float)
    return unique[:, :-1].astype(np.int64), share, weight, unique[:, -1].copy(), respondents


def shape_sum(codes: np.ndarray, shapes: Sequence[np.ndarray]) -> np.ndarray:
    """``sum_j shape_j[codes_j]`` over the answered items of every row."""
    total = np.zeros(codes.shape[0])
    for j, shape in enumerate(shapes):
        answered = codes[:, j] >= 0
        total[answered] += shape[codes[answered, j]]
    return total


def answered_blend(codes: np.ndarray, blend_items: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weight ``c`` of the partial shapes and the answered share, per row (the logistic block's rule:
    the count is over ``blend_items``, the instrument's experience items; None: the block's own)."""
    answered = codes >= 0
    m = answered.sum(axis=1)
    n = blend_items or codes.shape[1]
    c = np.clip((m - 1) / max(1, n - 1), 0.0, 1.0)
    return c, answered.mean(axis=1)


# -- the block -----------------------------------------------------------------------------------


class BoostedEvidenceBlock(ClassifierMixin, BaseEstimator):
    """Effects of the items real respondents answered, by additive cyclic boosting (see the module).

    The interface of :class:`rolefit.model.evidence.RealEvidenceBlock`: ``fit``, ``effects_sum``,
    ``decision_function``, ``predict_proba``, ``predict``, ``tables``, ``bootstrap_tables`` and the
    fitted ``candidates_``, ``out_of_fold_log_loss_``, ``out_of_fold_log_odds_``, ``a_``, ``shift_``
    and ``alpha_`` (here the L2 penalty of the leaves, which is fixed), plus ``learning_rate_`` and
    ``rounds_``, the boosting chosen by cross-fitting.

    Parameters
    ----------
    items : tuple of str
        The instrument items of the block.
    base_log_odds : float
        Log-odds of the reference population's MLE share.
    learning_rates : tuple of float
        Shrinkages tried.
    max_rounds : int
        Most rounds tried; the number of rounds is chosen among every ``round_step``-th.
    round_step : int
        Spacing of the round counts tried.
    max_leaves : int
        Leaves of every one-item tree (groups of contiguous answer levels).
    min_leaf : int
        Fewest respondents in a leaf.
    l2 : float
        L2 penalty of the leaf values (the hessian's pseudo-count).
    n_folds : int
        Folds of the cross-fitting.
    seed : int
        Seed of the fold assignment (the logistic block's folds with the same ``n_folds`` and ``seed``).
    """

    def __init__(
        self,
        items=(),
        base_log_odds=0.0,
        learning_rates=(0.1, 0.3),
        max_rounds=300,
        round_step=10,
        max_leaves=3,
        min_leaf=30,
        l2=10.0,
        n_folds=5,
        seed=0,
        blend_items=None,
        counted=None,
    ):
        self.blend_items = blend_items
        self.counted = counted
        self.items = items
        self.base_log_odds = base_log_odds
        self.learning_rates = learning_rates
        self.max_rounds = max_rounds
        self.round_step = round_step
        self.max_leaves = max_leaves
        self.min_leaf = min_leaf
        self.l2 = l2
        self.n_folds = n_folds
        self.seed = seed

    # -- checks and models ------------------------------------------------------------------------

    def _check_params(self) -> None:
        problems = []
        if not len(self.items):
            problems.append("items is empty (it needs at least one item that real respondents answered)")
        if not len(self.learning_rates) or not all(0 < float(r) <= 1 for r in self.learning_rates):
            problems.append(f"learning_rates is {tuple(self.learning_rates)!r} (each must be in (0, 1])")
        for name, low in (
            ("max_rounds", 1),
            ("round_step", 1),
            ("max_leaves", 2),
            ("min_leaf", 1),
            ("n_folds", 2),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                problems.append(f"{name} is {value!r} (a whole number of at least {low} is allowed)")
        if not (isinstance(self.l2, (int, float)) and 0 <= self.l2 < np.inf):
            problems.append(f"l2 is {self.l2!r} (a finite number of at least 0 is allowed)")
        if problems:
            raise ValueError("BoostedEvidenceBlock cannot be fitted: " + "; ".join(problems) + ".")

    def _boost(self, codes, y, w, offset, learning_rate, rounds, checkpoints=()):
        """The joint boosting and one boosting per item: ``(joint, [single_j])``."""
        settings = {
            "learning_rate": learning_rate,
            "rounds": rounds,
            "max_leaves": self.max_leaves,
            "min_leaf": self.min_leaf,
            "l2": float(self.l2),
            "checkpoints": checkpoints,
        }
        joint = cyclic_boost(codes, y, w, offset, self.levels_, **settings)
        singles = [
            cyclic_boost(codes[:, [j]], y, w, offset, [lv], **settings) for j, lv in enumerate(self.levels_)
        ]
        return joint, singles

    def _counted(self) -> np.ndarray:
        """Which items count in the blend and have an *alone* shape (as the logistic block's)."""
        return np.array([self.counted is None or item in self.counted for item in self.items])

    def _raw_from(self, codes, partial_shapes, marginal_shapes) -> tuple[np.ndarray, np.ndarray]:
        counted = self._counted()
        c, _ = answered_blend(codes[:, counted], self.blend_items)
        coverage = (codes >= 0).mean(axis=1)
        keep = np.flatnonzero(counted)
        rest = np.flatnonzero(~counted)
        partial = shape_sum(codes[:, keep], [partial_shapes[j] for j in keep])
        always = shape_sum(codes[:, rest], [partial_shapes[j] for j in rest]) if len(rest) else 0.0
        marginal = shape_sum(codes[:, keep], [marginal_shapes[j] for j in keep])
        return c * partial + (1.0 - c) * marginal + always, coverage

    def _inputs(self, X, y, sample_weight, offset):
        if not isinstance(X, pd.DataFrame):
            raise ValueError("BoostedEvidenceBlock needs a DataFrame of answers with one column per item.")
        y = np.asarray(y, dtype=int)
        n = len(X)
        problems = []
        if len(y) != n:
            problems.append(f"y has {len(y)} labels for {n} rows")
        elif set(np.unique(y)) != {0, 1}:
            problems.append("y needs real respondents of both roles (labels 0 and 1, nothing else)")
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if w.shape != (n,):
            problems.append(f"sample_weight has {w.size} values for {n} rows")
        elif not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
            problems.append("sample_weight must be finite, at least 0 and not all 0")
        o = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
        if o.shape != (n,):
            problems.append(f"offset has {o.size} values for {n} rows")
        elif not np.all(np.isfinite(o)):
            problems.append("offset must be finite log-odds")
        if problems:
            raise ValueError("BoostedEvidenceBlock cannot be fitted: " + "; ".join(problems) + ".")
        return y, w, o

    # -- fitting ------------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, offset=None):
        """Cross-fit, choose the learning rate and rounds, calibrate, refit on every row.

        ``offset`` is a per-row log-odds term added to the model while fitting (e.g. the intercept of
        the row's source relative to ``base_log_odds``): the boosting and the calibration include it;
        ``out_of_fold_log_odds_`` (each row's cross-fitted log-odds, as the model predicts: as
        :class:`rolefit.model.evidence.RealEvidenceBlock` keeps them), :meth:`decision_function` and the
        tables never do.
        """
        self._check_params()
        y, w, offset = self._inputs(X, y, sample_weight, offset)
        self.levels_ = item_levels(tuple(self.items))
        codes = answer_codes(X.reset_index(drop=True), self.levels_)
        self.classes_ = np.array([0, 1])
        coverage = (codes >= 0).mean(axis=1)
        base = self.base_log_odds + offset
        folds = list(StratifiedKFold(self.n_folds, shuffle=True, random_state=self.seed).split(codes, y))
        checkpoints = list(range(self.round_step, self.max_rounds + 1, self.round_step))
        if not checkpoints or checkpoints[-1] != self.max_rounds:
            checkpoints.append(self.max_rounds)
        self.candidates_: list[dict[str, Any]] = []
        self.curves_: dict[str, list[tuple[int, float]]] = {}
        best = None
        for rate in self.learning_rates:
            z = {r: np.zeros(len(y)) for r in checkpoints}
            for train, held in folds:
                joint, singles = self._boost(
                    codes[train], y[train], w[train], offset[train], float(rate), self.max_rounds, checkpoints
                )
                for r in checkpoints:
                    z[r][held] = self._raw_from(
                        codes[held], joint.history[r], [s.history[r][0] for s in singles]
                    )[0]
            curve = []
            chosen = None
            for r in checkpoints:
                a, shift = platt(z[r], coverage, y, w, base)
                t = base + a * z[r] + shift * coverage
                loss = float(np.average(np.logaddexp(0.0, t) - y * t, weights=w))
                curve.append((r, loss))
                if chosen is None or loss < chosen[0]:
                    chosen = (loss, r, a, shift, t)
            assert chosen is not None
            self.curves_[f"{float(rate):g}"] = curve  # a str key: the model file stores no float keys
            loss, r, a, shift, t = chosen
            self.candidates_.append(
                {
                    "alpha": float(self.l2),
                    "learning_rate": float(rate),
                    "rounds": int(r),
                    "out_of_fold_log_loss": loss,
                    "a": a,
                    "shift": shift,
                }
            )
            if best is None or loss < best[0]:
                best = (loss, float(rate), int(r), a, shift, t)
        assert best is not None
        (
            self.out_of_fold_log_loss_,
            self.learning_rate_,
            self.rounds_,
            self.a_,
            self.shift_,
            self.out_of_fold_log_odds_,
        ) = best
        self.alpha_ = float(self.l2)
        self.out_of_fold_log_odds_ = self.out_of_fold_log_odds_ - offset
        joint, singles = self._boost(codes, y, w, offset, self.learning_rate_, self.rounds_)
        self.partial_ = joint.shapes
        self.marginal_ = [s.shapes[0] for s in singles]
        return self

    # -- prediction ---------------------------------------------------------------------------------

    def effects_sum(self, X) -> np.ndarray:
        """Sum of the block's effects (log-odds beyond ``base_log_odds``) for every row."""
        check_is_fitted(self, "partial_")
        codes = answer_codes(X, self.levels_)
        raw, coverage = self._raw_from(codes, self.partial_, self.marginal_)
        return self.a_ * raw + self.shift_ * coverage

    def decision_function(self, X):
        return self.base_log_odds + self.effects_sum(X)

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    # -- tables and their uncertainty ---------------------------------------------------------------

    def _tables(self, partial, marginal) -> tuple[dict[str, ItemTable], dict[str, ItemTable]]:
        share = self.shift_ / len(self.levels_)
        full = {lv.item: lv.table(self.a_ * s + share) for lv, s in zip(self.levels_, partial, strict=True)}
        counted = self._counted()
        alone = {
            lv.item: lv.table(self.a_ * s + share)
            for lv, s, k in zip(self.levels_, marginal, counted, strict=True)
            if k
        }
        return full, alone

    def tables(self, instrument=None) -> tuple[dict[str, ItemTable], dict[str, ItemTable]]:
        """Final per-item lookup tables: (partial effects ``V``, marginal effects ``U``), calibrated.

        An answered item's effect is ``alone + w * (full - alone)`` with ``w`` from
        :func:`rolefit.model.tables.blend_weight`; with the intercept ``base_log_odds`` they sum to
        :meth:`decision_function` exactly. ``instrument`` is accepted for the interface of
        :meth:`rolefit.model.evidence.RealEvidenceBlock.tables`; the levels are read from the
        instrument at fit time.
        """
        check_is_fitted(self, "partial_")
        return self._tables(self.partial_, self.marginal_)

    def bootstrap_tables(
        self, X, y, sample_weight=None, *, n_boot: int = 100, seed: int = 0, instrument=None, offset=None
    ):
        """Tables refitted (at the chosen learning rate and rounds) on ``n_boot`` resamples of the
        respondents; the calibration (``a_``, ``shift_``) is held."""
        check_is_fitted(self, "partial_")
        y, w, offset = self._inputs(X, y, sample_weight, offset)
        codes = answer_codes(X.reset_index(drop=True), self.levels_)
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n_boot):
            index = rng.integers(0, len(y), len(y))
            joint, singles = self._boost(
                codes[index], y[index], w[index], offset[index], self.learning_rate_, self.rounds_
            )
            out.append(self._tables(joint.shapes, [s.shapes[0] for s in singles]))
        return out


# -- choosing the real block -----------------------------------------------------------------------


def paired_log_loss_difference(
    y, log_odds_a, log_odds_b, sample_weight=None, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Weighted log loss of ``a`` minus that of ``b`` on the same rows, with a paired bootstrap 95%
    interval over respondents (negative favours ``a``)."""
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    ta, tb = np.asarray(log_odds_a, dtype=float), np.asarray(log_odds_b, dtype=float)
    diff = (np.logaddexp(0.0, ta) - y * ta) - (np.logaddexp(0.0, tb) - y * tb)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        index = rng.integers(0, len(y), len(y))
        draws.append(np.average(diff[index], weights=w[index]))
    low, high = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    return {"difference": float(np.average(diff, weights=w)), "low": float(low), "high": float(high)}


def choose_real_block(
    candidates: Mapping[str, Any],
    y=None,
    sample_weight=None,
    *,
    offset=None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[str, Any, dict[str, Any]]:
    """The fitted real block chosen by cross-validated (out-of-fold) log loss.

    ``candidates`` maps a name (``logistic``, ``boosting``) to a fitted block; all must have been
    fitted on the same rows with the same folds (``n_folds`` and ``seed``), so their out-of-fold
    scores are paired. With ``y`` (and ``sample_weight``, ``offset``: the rows' own intercepts) the
    first candidate is kept unless another's paired difference from it (a 95% bootstrap interval over
    respondents) lies wholly below 0: then the best such one wins. Without ``y``, the lowest loss wins.
    Every loss and difference is logged. Returns ``(name, block, report)``.
    """
    if not candidates:
        raise ValueError("choose_real_block needs at least one fitted real block to choose from.")
    problems = [
        f"{name} is not fitted (it has no out_of_fold_log_loss_)"
        for name, block in candidates.items()
        if not hasattr(block, "out_of_fold_log_loss_")
    ]
    if not problems:
        rows = {name: len(block.out_of_fold_log_odds_) for name, block in candidates.items()}
        folds = {name: (block.n_folds, block.seed) for name, block in candidates.items()}
        if len(set(rows.values())) > 1:
            problems.append(
                "the candidates were fitted on different rows ("
                + ", ".join(f"{k}: {v}" for k, v in rows.items())
                + ")"
            )
        if len(set(folds.values())) > 1:
            problems.append(
                "the candidates used different folds (n_folds, seed: "
                + ", ".join(f"{k}: {v}" for k, v in folds.items())
                + ")"
            )
    if problems:
        raise ValueError("The real blocks cannot be compared: " + "; ".join(problems) + ".")
    losses = {name: float(block.out_of_fold_log_loss_) for name, block in candidates.items()}
    for name, loss in losses.items():
        log(f"  real block candidate {name}: out-of-fold log loss {loss:.4f}")
    shift = 0.0 if offset is None else np.asarray(offset, dtype=float)  # the rows' own intercepts
    if y is None:
        name = min(losses, key=lambda k: losses[k])
        report: dict[str, Any] = {"chosen": name, "out_of_fold_log_loss": losses, "differences": {}}
        log(f"  chosen real block: {name}")
        return name, candidates[name], report
    # the first candidate stays unless another is better beyond chance: a tie must not flip the
    # champion's calibration from run to run
    default = next(iter(candidates))
    report = {"chosen": default, "default": default, "out_of_fold_log_loss": losses, "differences": {}}
    better = []
    for other, block in candidates.items():
        if other == default:
            continue
        d = paired_log_loss_difference(
            y,
            block.out_of_fold_log_odds_ + shift,
            candidates[default].out_of_fold_log_odds_ + shift,
            sample_weight,
        )
        report["differences"][other] = d
        interval = f"95% interval {d['low']:+.4f} to {d['high']:+.4f}"
        log(f"  {other} minus {default}: {d['difference']:+.4f} ({interval})")
        if d["high"] < 0:
            better.append(other)
    name = min(better, key=lambda k: losses[k]) if better else default
    report["chosen"] = name
    log(f"  chosen real block: {name}")
    return name, candidates[name], report
