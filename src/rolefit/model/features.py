"""Preprocessing built from the questionnaire: answers in, model columns out.

Two encoders, one per candidate family, both scikit-learn transformers whose column layout is fixed by
the instrument (so monotone constraints can be set before fitting):

* :class:`ThermometerEncoder` (linear model): every numeric item becomes step indicators
  ``1[x > t]`` at fixed thresholds, every choice a one-hot block; each column is centred on its
  training mean and a skipped answer encodes as all zeros. A skipped answer therefore contributes
  exactly what an average answer contributes, and a coefficient's sign is the direction of one step up
  the scale, which makes monotonicity a sign constraint.
* :class:`NumericEncoder` (gradient boosting): numeric items as floats with NaN for skipped (the trees
  learn where a skip goes), choices one-hot (``career_goal``, whose options have leans) or as an ordinal
  code (``education``).

The input is a frame of normalised answers: floats for numeric kinds, choice ids for choices, NaN or
None for skipped (see :func:`normalise_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from rolefit.instrument.items import Instrument, Item, load_instrument

_SIGN = {"swe": -1, "none": 0, "mle": 1}

#: Step thresholds of the linear model's encoding, by item kind (years items share one list).
SCALE_THRESHOLDS = (1.5, 2.5, 3.5, 4.5)
BINARY_THRESHOLDS = (0.5,)
YEARS_THRESHOLDS = (0.25, 1.0, 1.75, 2.25, 3.0, 3.75, 4.25, 6.0, 11.0, 20.0)
COUNT_THRESHOLDS = (0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7.0, 10.0)


@dataclass(frozen=True)
class Column:
    """One model column: which item it reads, its name and its monotone sign (+1 mle, -1 swe, 0)."""

    item: str
    name: str
    monotone: int


def item_thresholds(item: Item) -> tuple[float, ...]:
    """The fixed step thresholds of a numeric item in the linear model."""
    if item.kind == "scale":
        return SCALE_THRESHOLDS
    if item.kind == "binary":
        return BINARY_THRESHOLDS
    if item.kind == "count":
        return COUNT_THRESHOLDS
    return YEARS_THRESHOLDS


def numeric_matrix(frame: pd.DataFrame, instrument: Instrument) -> dict[str, np.ndarray]:
    """Pull every item's answers out of ``frame`` (missing columns count as skipped)."""
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    for item in instrument.items:
        if item.id not in frame.columns:
            out[item.id] = np.full(n, None, dtype=object) if item.kind == "choice" else np.full(n, np.nan)
            continue
        column = frame[item.id]
        if item.kind == "choice":
            values = column.astype(object).to_numpy()
            out[item.id] = np.where(pd.isna(values), None, values)
        else:
            out[item.id] = pd.to_numeric(column, errors="raise").to_numpy(dtype=float)
    return out


class _ItemEncoder(TransformerMixin, BaseEstimator):
    """Shared parameters of the encoders: which instrument items they read (None: all), and from which
    instrument (None: the shipped one; :mod:`rolefit.model.item_gains` passes one with candidate items)."""

    def __init__(self, items: tuple[str, ...] | None = None, instrument: Instrument | None = None):
        self.items = items
        self.instrument = instrument

    def _instrument(self) -> Instrument:
        return self.instrument if self.instrument is not None else load_instrument()

    def _instrument_items(self) -> list[Item]:
        instrument = self._instrument()
        ids = self.items if self.items is not None else instrument.ids
        return [instrument[i] for i in ids]

    def _instrument_items_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self._instrument_items())


class ThermometerEncoder(_ItemEncoder):
    """Centred step/one-hot encoding for the linear model (see the module docstring)."""

    def layout(self) -> list[Column]:
        """The output columns, known before fitting."""
        columns: list[Column] = []
        for item in self._instrument_items():
            if item.kind == "choice":
                for choice in item.choices:
                    columns.append(Column(item.id, f"{item.id}={choice.id}", _SIGN[choice.lean]))
            else:
                for t in item_thresholds(item):
                    columns.append(Column(item.id, f"{item.id}>{t:g}", _SIGN[item.lean]))
        return columns

    def _raw(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Uncentred indicators and the mask of observed cells, column by column."""
        answers = numeric_matrix(frame, self._instrument())
        blocks, observed = [], []
        for item in self._instrument_items():
            values = answers[item.id]
            if item.kind == "choice":
                seen = np.array([v is not None for v in values])
                block = np.column_stack([values == c.id for c in item.choices]).astype(float)
            else:
                seen = ~np.isnan(values)
                block = np.column_stack([values > t for t in item_thresholds(item)]).astype(float)
            blocks.append(block)
            observed.append(np.repeat(seen[:, None], block.shape[1], axis=1))
        return np.hstack(blocks), np.hstack(observed)

    def fit(self, X: pd.DataFrame, y=None, sample_weight=None):
        raw, seen = self._raw(X)
        weights = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        w = seen * weights[:, None]
        totals = w.sum(axis=0)
        self.means_ = np.divide((raw * w).sum(axis=0), totals, out=np.zeros(raw.shape[1]), where=totals > 0)
        self.columns_ = self.layout()
        self.n_features_out_ = len(self.columns_)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "means_")
        raw, seen = self._raw(X)
        return np.where(seen, raw - self.means_, 0.0)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "columns_")
        return np.array([c.name for c in self.columns_], dtype=object)


class NumericEncoder(_ItemEncoder):
    """Floats with NaN for skipped answers, for the gradient-boosting model."""

    def layout(self) -> list[Column]:
        columns: list[Column] = []
        for item in self._instrument_items():
            if item.kind == "choice" and any(c.lean != "none" for c in item.choices):
                for choice in item.choices:
                    columns.append(Column(item.id, f"{item.id}={choice.id}", _SIGN[choice.lean]))
            else:
                columns.append(Column(item.id, item.id, _SIGN[item.lean]))
        return columns

    def fit(self, X: pd.DataFrame, y=None, sample_weight=None):
        self.columns_ = self.layout()
        self.n_features_out_ = len(self.columns_)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "columns_")
        answers = numeric_matrix(X, load_instrument())
        blocks = []
        for item in self._instrument_items():
            values = answers[item.id]
            if item.kind != "choice":
                blocks.append(values[:, None])
                continue
            seen = np.array([v is not None for v in values])
            if any(c.lean != "none" for c in item.choices):
                block = np.column_stack([values == c.id for c in item.choices]).astype(float)
                block[~seen] = np.nan
            else:
                codes = {c.id: float(k) for k, c in enumerate(item.choices)}
                block = np.array([codes.get(v, np.nan) for v in values], dtype=float)[:, None]
            blocks.append(block)
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "columns_")
        return np.array([c.name for c in self.columns_], dtype=object)


def normalise_frame(frame: pd.DataFrame, instrument: Instrument | None = None) -> pd.DataFrame:
    """Coerce every item column of ``frame`` through :meth:`Item.coerce` (raises on the first bad cell)."""
    instrument = instrument or load_instrument()
    out = pd.DataFrame(index=frame.index)
    for item in instrument.items:
        if item.id not in frame.columns:
            continue
        coerced = [item.coerce(v) for v in frame[item.id].tolist()]
        if item.kind == "choice":
            out[item.id] = pd.Series(coerced, index=frame.index, dtype=object)
        else:
            out[item.id] = pd.Series(
                [np.nan if v is None else v for v in coerced], index=frame.index, dtype=float
            )
    return out


def answered_mask(X, items: tuple[str, ...]) -> np.ndarray:
    """Boolean matrix: was item ``items[j]`` answered in row ``i`` (not None/NaN)?"""
    answers = numeric_matrix(X, load_instrument())
    columns = []
    for item in items:
        if item not in answers:  # a candidate item (not in the shipped instrument): yes/no, NaN skipped
            values = (
                pd.to_numeric(X[item], errors="raise").to_numpy(dtype=float)
                if item in X
                else np.full(len(X), np.nan)
            )
        else:
            values = answers[item]
        if values.dtype == object:
            columns.append(np.array([v is not None for v in values], dtype=bool))
        else:
            columns.append(~np.isnan(values))
    return np.column_stack(columns) if columns else np.zeros((len(X), 0), bool)
