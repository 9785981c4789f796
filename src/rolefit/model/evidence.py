"""Real evidence first: which items real respondents answered, the effects learned from them, the baseline.

The champion's log-odds are a sum of two *evidence blocks* that share one starting point, the log-odds
of the reference population's MLE share (``build.target_mle_share``)::

    log_odds = logit(base_rate) + real block (items real respondents answered)
                                + synthetic block (items no real source measures)

* **The real block** (:class:`RealEvidenceBlock`) holds every item that at least
  ``train.real_evidence.min_respondents`` respondents of the real *training* sources answered (with
  Kaggle 2021: years of coding and of ML, education, languages, ML frameworks, work activities). It is
  fitted on real rows only: a monotone logistic regression on the centred step encoding whose L2
  penalty is chosen by cross-validation (the penalty on the steps of an ordinal item smooths its
  shape, so a sparse level cannot carry a large effect of its own), with an item's effect moving from
  its marginal to its partial value as more of the block is answered. It is calibrated by
  *cross-fitting*: every real row is scored by a model that did not see it, the calibration map is
  fitted on those out-of-fold scores, and the final block is refitted on every real row - so every real
  row serves both fitting and calibration.
* **The synthetic block** holds what no real source measures (most interests, skills, preferences,
  the career goal). It is fitted on synthetic respondents and calibrated on them with the real block's
  effects held fixed (:class:`rolefit.model.calibration.CoverageCalibratedClassifier` with ``real=``).

The two blocks add up because the synthetic generator draws experience answers from the role alone
(given the role they are independent of the traits the other items read): the log-odds given all
answers are then exactly the log-odds given the trait items plus the log-likelihood ratio of the
experience answers. Whether that independence holds for real people is an assumption no real source
can test yet (none asked both kinds of question); it is stated in the model card.

Every item's effect records its evidence (:func:`evidence_of`): the real sources and respondent
counts behind it, or ``assumed`` (the synthetic prior, not yet measured on real people).

:class:`PlainBaseline` is what a careful data scientist would build first: one-hot logistic regression
with sigmoid calibration on the same real training rows and items. Every run reports it beside the
champion, per real source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from rolefit.model.decompose import item_effect_tables
from rolefit.model.estimators import MonotoneLogisticRegression
from rolefit.model.features import ThermometerEncoder, answered_mask

REAL = "real"
ASSUMED = "assumed"


def measured_items(
    frame: pd.DataFrame, sources: Sequence[str], items: Sequence[str], min_respondents: int
) -> dict[str, dict[str, int]]:
    """Items that real respondents of ``sources`` answered: ``{item: {source: respondents}}``.

    An item counts as measured when at least ``min_respondents`` rows of those sources answered it;
    below that a handful of stray answers would decide an effect on their own.
    """
    real = frame[frame["source"].isin(list(sources))]
    out: dict[str, dict[str, int]] = {}
    for item in items:
        if item not in real.columns:
            continue
        answered = real[item].notna()
        if int(answered.sum()) < min_respondents:
            continue
        counts = answered.groupby(real["source"]).sum()
        out[item] = {str(s): int(n) for s, n in counts.items() if n > 0}
    return out


def evidence_of(item: str, measured: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The evidence record of one item's effect (stored in the bundle, shown with every reason)."""
    sources = measured.get(item)
    if not sources:
        return {"basis": ASSUMED, "respondents": 0, "sources": {}}
    return {
        "basis": REAL,
        "respondents": int(sum(sources.values())),
        "sources": dict(sorted(sources.items())),
    }


def _platt_with_base(z, coverage, y, w, base) -> tuple[float, float]:
    """Slope ``a`` and shift of ``base + a * z + shift * coverage`` by weighted maximum likelihood
    (``base``: a number, or one per row when rows carry their source's own intercept)."""

    def loss(theta):
        a, shift = np.exp(theta[0]), theta[1]
        t = base + a * z + shift * coverage
        p = expit(t)
        residual = w * (p - y)
        value = float(np.sum(w * (np.logaddexp(0.0, t) - y * t)))
        return value, np.array([float(residual @ (a * z)), float(residual @ coverage)])

    result = minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B")
    return float(np.exp(result.x[0])), float(result.x[1])


class RealEvidenceBlock(ClassifierMixin, BaseEstimator):
    """Effects of the items real respondents answered, fitted on real rows and calibrated by cross-fitting.

    Two shape functions per item, both monotone in the item's lean and smoothed by the same L2 penalty
    on the steps of the centred step encoding:

    * ``V_j``, the item's *partial* effect, from one logistic regression on all the block's items: right
      for someone who answered every item of the block (as Kaggle's respondents did);
    * ``U_j``, its *marginal* effect, from a logistic regression on that item alone: right for someone
      who answered only this item.

    They differ when items are correlated: given years of ML, fewer years of coding point to ML
    engineering (+1.4 log-odds at half a year), while on its own half a year of coding says much less
    (+0.6), and half a year of coding *with* JavaScript points toward software engineering. So an
    answered item's effect is ``(1 - c) U_j + c V_j`` with ``c = (m - 1) / (n - 1)``, where ``m`` of the
    block's ``n`` items were answered: the partial effect when all were, the marginal one when only this
    one was. For a given answer set the effects are still exactly additive.

    The calibrated log-odds of a row are ``base_log_odds + a * sum_j effect_j + shift * m / n``; every
    row is scored by models fitted on the other ``n_folds - 1`` folds, ``a`` and ``shift`` are fitted on
    those out-of-fold scores, the penalty with the lowest out-of-fold log loss wins, and the models are
    refitted on every row. An empty answer set gives exactly ``base_log_odds``.

    :class:`rolefit.model.boosted.BoostedEvidenceBlock` (additive cyclic boosting) is the other
    candidate; the lower out-of-fold log loss wins (on Kaggle 2021's 2,961 non-test respondents,
    2026-12-07: boosting 0.4724, this block 0.4720, difference +0.0004, 95% interval -0.0014 to +0.0022).

    Parameters
    ----------
    items : tuple of str
        The instrument items of the block.
    base_log_odds : float
        Log-odds of the reference population's MLE share.
    alphas : tuple of float
        L2 penalties tried (one is chosen for every model of the block).
    n_folds : int
        Folds of the cross-fitting.
    seed : int
        Seed of the fold assignment.
    instrument : Instrument or None
        The instrument the items belong to (None: the shipped one; candidate items are measured with
        one that holds them, :mod:`rolefit.model.item_gains`).
    """

    def __init__(
        self,
        items=(),
        base_log_odds=0.0,
        alphas=(0.3, 1.0, 3.0, 10.0, 30.0),
        n_folds=5,
        seed=0,
        blend_items=None,
        instrument=None,
        counted=None,
    ):
        self.items = items
        self.base_log_odds = base_log_odds
        self.alphas = alphas
        self.n_folds = n_folds
        self.seed = seed
        self.blend_items = blend_items
        self.counted = counted
        self.instrument = instrument

    # -- the models ------------------------------------------------------------------------------

    def _make(self, items, alpha: float) -> Pipeline:
        encoder = ThermometerEncoder(items=tuple(items), instrument=self.instrument)
        model = MonotoneLogisticRegression(alpha=alpha, monotonic_cst=[c.monotone for c in encoder.layout()])
        return Pipeline([("encode", encoder), ("model", model)])

    def _fit_models(
        self, X, y, w, alpha: float, offset=None
    ) -> tuple[Pipeline, float, list[tuple[Pipeline, float]]]:
        """The joint model and one model per item, each with its decision value for no answers."""

        def fit(items):
            pipeline = self._make(items, alpha).fit(
                X[list(items)], y, encode__sample_weight=w, model__sample_weight=w, model__offset=offset
            )
            return pipeline, float(pipeline.decision_function(_empty(X[list(items)]))[0])

        joint, d0 = fit(self.items)
        return joint, d0, [fit((item,)) for item in self.items]

    def _items_of(self, X) -> pd.DataFrame:
        """The block's columns of ``X``; a column ``X`` lacks counts as skipped by everyone."""
        missing = [item for item in self.items if item not in X.columns]
        if not missing:
            return X[list(self.items)]
        return X.assign(**{item: np.nan for item in missing})[list(self.items)]

    def _counted(self) -> np.ndarray:
        """Which items count in the blend and have an *alone* shape (the others, the yes/no items of a
        multi-choice question, always take their partial effect: a question is one answer, not ten)."""
        return np.array([self.counted is None or item in self.counted for item in self.items])

    def _raw(self, models, X) -> tuple[np.ndarray, np.ndarray]:
        """Sum of the blended effects before calibration, and the share of the block answered."""
        joint, d0, singles = models
        X = self._items_of(X)
        answered = answered_mask(X, tuple(self.items))
        counted = self._counted()
        m = answered[:, counted].sum(axis=1)
        n = self.blend_items or int(counted.sum())
        c = np.clip((m - 1) / max(1, n - 1), 0.0, 1.0)
        partial = np.asarray(joint.decision_function(X[list(self.items)]), dtype=float) - d0
        always = np.zeros(len(X))
        if not counted.all():
            blank = [item for item, k in zip(self.items, counted, strict=True) if k]
            only = X[list(self.items)].assign(**{i: None if X[i].dtype == object else np.nan for i in blank})
            always = np.asarray(joint.decision_function(only), dtype=float) - d0
        marginal = np.zeros(len(X))
        for j, (single, s0) in enumerate(singles):
            if not counted[j]:
                continue
            effect = np.asarray(single.decision_function(X[[self.items[j]]]), dtype=float) - s0
            marginal += np.where(answered[:, j], effect, 0.0)
        return c * (partial - always) + (1.0 - c) * marginal + always, answered.mean(axis=1)

    # -- fitting ---------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit and cross-fit; ``offset`` is each row's own intercept beyond ``base_log_odds`` (its
        source's, :func:`rolefit.model.pooled.source_offsets`), held in every fit and in the calibration."""
        if not len(self.items):
            raise ValueError("RealEvidenceBlock needs at least one item that real respondents answered.")
        X = X[list(self.items)].reset_index(drop=True)
        y = np.asarray(y, dtype=int)
        if set(np.unique(y)) != {0, 1}:
            raise ValueError("RealEvidenceBlock needs real respondents of both roles (labels 0 and 1).")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
        self.classes_ = np.array([0, 1])
        coverage = answered_mask(X, tuple(self.items)).mean(axis=1)
        folds = list(StratifiedKFold(self.n_folds, shuffle=True, random_state=self.seed).split(X, y))
        self.candidates_: list[dict[str, Any]] = []
        best = None
        for alpha in self.alphas:
            z = np.zeros(len(y))
            for train, held in folds:
                models = self._fit_models(X.iloc[train], y[train], w[train], float(alpha), off[train])
                z[held] = self._raw(models, X.iloc[held])[0]
            a, shift = _platt_with_base(z, coverage, y, w, self.base_log_odds + off)
            t = self.base_log_odds + off + a * z + shift * coverage
            loss = float(np.average(np.logaddexp(0.0, t) - y * t, weights=w))
            self.candidates_.append(
                {"alpha": float(alpha), "out_of_fold_log_loss": loss, "a": a, "shift": shift}
            )
            if best is None or loss < best[0]:
                best = (loss, float(alpha), a, shift, t)
        assert best is not None
        self.out_of_fold_log_loss_, self.alpha_, self.a_, self.shift_, self.out_of_fold_log_odds_ = best
        # the out-of-fold log-odds as the model predicts (without the rows' source intercepts)
        self.out_of_fold_log_odds_ = self.out_of_fold_log_odds_ - off
        self.joint_, self.d0_, self.singles_ = self._fit_models(X, y, w, self.alpha_, off)
        return self

    def effects_sum(self, X) -> np.ndarray:
        """Sum of the block's effects (log-odds beyond ``base_log_odds``) for every row."""
        check_is_fitted(self, "joint_")
        raw, coverage = self._raw((self.joint_, self.d0_, self.singles_), X)
        return self.a_ * raw + self.shift_ * coverage

    def decision_function(self, X):
        return self.base_log_odds + self.effects_sum(X)

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    # -- tables and their uncertainty --------------------------------------------------------------

    def tables(self, instrument) -> tuple[dict[str, Any], dict[str, Any]]:
        """Final per-item lookup tables: (partial effects ``V``, marginal effects ``U``), calibrated."""
        check_is_fitted(self, "joint_")
        return _final_tables(
            (self.joint_, self.d0_, self.singles_),
            instrument,
            self.items,
            self.a_,
            self.shift_,
            self._counted(),
        )

    def bootstrap_tables(
        self, X, y, sample_weight=None, *, n_boot: int = 100, seed: int = 0, instrument=None, offset=None
    ):
        """Tables refitted (at the chosen penalty) on ``n_boot`` resamples of the respondents.

        The calibration (``a_``, ``shift_``) is held: the resamples measure how much each answer
        level's effect depends on which respondents happened to be in the data.
        """
        check_is_fitted(self, "joint_")
        X = X[list(self.items)].reset_index(drop=True)
        y = np.asarray(y, dtype=int)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n_boot):
            index = rng.integers(0, len(y), len(y))
            models = self._fit_models(
                X.iloc[index].reset_index(drop=True), y[index], w[index], self.alpha_, off[index]
            )
            out.append(_final_tables(models, instrument, self.items, self.a_, self.shift_, self._counted()))
        return out


def _empty(X) -> pd.DataFrame:
    """One row with every column of ``X`` skipped."""
    row = {c: [None if X[c].dtype == object else np.nan] for c in X.columns}
    return pd.DataFrame(row).astype({c: X[c].dtype for c in X.columns})


def _final_tables(
    models, instrument, items, a: float, shift: float, counted=None
) -> tuple[dict[str, Any], dict[str, Any]]:
    joint, _, singles = models
    _, partial = item_effect_tables(joint, instrument)
    share = shift / len(items)
    full = {item: partial[item].scaled(a).shifted(share) for item in items}
    alone = {}
    for k, (item, (single, _)) in enumerate(zip(items, singles, strict=True)):
        if counted is not None and not counted[k]:
            continue
        _, tables = item_effect_tables(single, instrument)
        alone[item] = tables[item].scaled(a).shifted(share)
    return full, alone


def effect_intervals(
    block: RealEvidenceBlock,
    boot: list[dict[str, Any]],
    X: pd.DataFrame,
    instrument,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """Every answer level real respondents gave: its effect with all the block's items answered and
    answered alone, a bootstrap interval of each, and the respondents who gave it."""
    full, alone = block.tables(instrument)
    rows = []
    for item in block.items:
        column = X[item].dropna()
        levels = sorted(column.unique().tolist(), key=lambda v: (isinstance(v, str), v))
        if instrument[item].kind == "choice":
            levels = [c for c in instrument[item].choice_ids if c in set(levels)]
        for answer in levels:
            row: dict[str, Any] = {
                "item": item,
                "answer": answer,
                "respondents": int((column == answer).sum()),
            }
            for key, tables, position in (("effect", full, 0), ("effect_alone", alone, 1)):
                draws = (
                    np.array([b[position].get(item, b[0][item]).effect(answer) for b in boot])
                    if boot
                    else np.array([np.nan])
                )
                low, high = np.nanpercentile(draws, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
                suffix = key[len("effect") :]
                row[key] = float(tables.get(item, full[item]).effect(answer))
                row[f"low{suffix}"], row[f"high{suffix}"] = float(low), float(high)
                row[f"sd{suffix}"] = float(np.nanstd(draws))
            rows.append(row)
    return rows


class PlainBaseline(ClassifierMixin, BaseEstimator):
    """One-hot logistic regression with sigmoid calibration: the simplest careful model of real rows.

    Every item becomes one-hot columns of its answers, with "skipped" as an answer of its own (what a
    data scientist would do; rolefit itself never lets a skipped answer move a prediction). The
    logistic regression has scikit-learn's default penalty (``C=1``) and is calibrated by
    ``CalibratedClassifierCV(method="sigmoid", cv=5)``.
    """

    def __init__(self, items=(), seed=0):
        self.items = items
        self.seed = seed

    def _strings(self, X) -> pd.DataFrame:
        frame = X[list(self.items)].astype(object)
        return frame.where(frame.notna(), "skipped").astype(str)

    def fit(self, X, y, sample_weight=None):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import OneHotEncoder

        # encoded up front so the sample weights reach the logistic regression in every fold
        self.onehot_ = OneHotEncoder(handle_unknown="ignore").fit(self._strings(X))
        cv = StratifiedKFold(5, shuffle=True, random_state=self.seed)
        self.model_ = CalibratedClassifierCV(LogisticRegression(max_iter=5000), method="sigmoid", cv=cv)
        self.model_.fit(
            self.onehot_.transform(self._strings(X)), np.asarray(y, dtype=int), sample_weight=sample_weight
        )
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(self.onehot_.transform(self._strings(X)))

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
