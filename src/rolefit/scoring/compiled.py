"""Each item's answers resolved ahead of time, for one person (dictionaries) and for columns (arrays).

A :class:`CompiledItem` maps every answer a finite item accepts, in its common spellings, to a
:class:`Level`: its effect in the bundle's tables, its texts, and a ready-made explanation. Anything
else (and every years value) goes through :meth:`Item.coerce` and the table, so results are identical.
For :func:`rolefit.predict_many` the same tables become numpy lookup arrays (:func:`column_effects`).
"""

from __future__ import annotations

from typing import Any

from rolefit.model.tables import ItemTable
from rolefit.scoring.reasons import reason

#: What :meth:`CompiledItem.normalise` returns for a skipped answer (None, "", NaN).
SKIP = object()
#: Distinct years values per item whose levels are kept after first use (a bound on the memory).
KEPT_VALUES = 1000


def _toward(effect: float) -> str:
    return "mle" if effect > 0 else "swe" if effect < 0 else "none"


class Level:
    """One answer of one item: its raw effect, texts, and the start of its explanation.

    ``raw`` is the effect in the item's table (for a scaled item, before the scale and offset of
    :func:`rolefit.model.tables.scaled_effect`); ``alone`` is a real-block item's effect when answered
    alone (None for other items); ``to_swe`` / ``to_mle`` are the reason texts for a final effect
    pointing either way (the offset can tip a near-zero raw effect).
    """

    __slots__ = ("alone", "answer", "explanation", "raw", "reason", "to_mle", "to_swe", "toward")

    def __init__(self, compiled: CompiledItem, answer: Any):
        item = compiled.item
        raw = compiled.table.effect(answer)
        self.answer = answer
        self.raw = raw
        self.alone = None if compiled.alone is None else compiled.alone.effect(answer)
        self.toward = _toward(raw)
        self.reason = text = reason(item, answer, raw)
        self.to_swe = text if raw < 0 else reason(item, answer, -1.0)
        self.to_mle = text if raw > 0 else reason(item, answer, 1.0)
        #: the explanation without its effect and evidence (copied per call: callers may change theirs)
        self.explanation = {
            "item": item.id,
            "question": item.text,
            "answer": answer,
            "answer_label": item.answer_label(answer),
            "effect": 0.0,
            "toward": self.toward,
            "reason": text,
        }


class CompiledItem:
    """One item's answers resolved ahead of time: raw value -> normalised answer -> :class:`Level`.

    ``offset`` is None for a fixed item, whose table already holds its final effect (no scale, no
    offset); ``alone`` is the table of a real-block item answered alone.
    """

    __slots__ = ("alone", "answers", "arrays", "by_value", "coverage", "evidence", "item", "levels", "offset",
                 "table")  # fmt: skip

    def __init__(
        self,
        item,
        table: ItemTable,
        coverage: float,
        offset: float | None = 0.0,
        alone: ItemTable | None = None,
        evidence: dict[str, Any] | None = None,
    ):
        self.item, self.table, self.coverage, self.offset, self.alone = item, table, coverage, offset, alone
        self.evidence = evidence or {}
        self.arrays: ColumnArrays | None = None  # built on first batch use
        self.answers: dict[Any, Any] = {None: SKIP, "": SKIP}
        self.levels: dict[Any, Level] = {}
        if item.kind == "choice":
            for choice in item.choices:
                self.answers[choice.id] = self.answers[choice.label] = choice.id
                self.levels[choice.id] = Level(self, choice.id)
        elif item.kind != "number":
            lo, hi = item.bounds
            for value in range(int(lo), int(hi) + 1):
                self.answers[value] = self.answers[str(value)] = float(value)
                self.levels[float(value)] = Level(self, float(value))
            if item.kind == "scale":
                for position, word in enumerate(item.scale.labels, start=item.scale.min):
                    self.answers[word] = float(position)
            if item.kind == "binary":
                for word in ("yes", "no", "true", "false"):
                    self.answers[word] = 1.0 if word in ("yes", "true") else 0.0
        #: the level of every accepted spelling, for values whose type is exactly int, float or str
        #: (booleans and numpy scalars hash like numbers: they take :meth:`normalise`)
        self.by_value = {
            value: self.levels[answer] for value, answer in self.answers.items() if answer is not SKIP
        }

    def normalise(self, value: Any) -> Any:
        """The normalised answer, :data:`SKIP` for a skipped one; raises ValueError when invalid."""
        # booleans (Python's or numpy's) hash like 0/1: only the slow path may accept them (binary items)
        if type(value).__name__ not in ("bool", "bool_"):
            try:
                found = self.answers.get(value)
            except TypeError:  # unhashable (list, dict, ...)
                found = None
            if found is not None:
                return found
        answer = self.item.coerce(value)
        return SKIP if answer is None else answer

    def level(self, answer) -> Level:
        """Precomputed for every finite answer; computed on first use for years values (and kept, up
        to :data:`KEPT_VALUES` of them, since people give the same few: 1, 2, 5, 10 years)."""
        entry = self.levels.get(answer)
        if entry is None:
            entry = Level(self, answer)
            if len(self.levels) < KEPT_VALUES:
                self.levels[answer] = entry
        return entry


def explain(entry: CompiledItem, level: Level, effect: float) -> dict[str, Any]:
    """The explanation of one answer whose final effect is ``effect`` (a new dict the caller owns)."""
    explanation = level.explanation.copy()
    explanation["effect"] = effect
    raw = level.raw
    if effect * raw <= 0.0 and ((effect > 0) != (raw > 0) or (effect < 0) != (raw < 0)):
        # the calibration's offset per answered item tipped a near-zero effect to the other side
        explanation["toward"] = _toward(effect)
        explanation["reason"] = level.to_mle if effect > 0 else level.to_swe if effect < 0 else level.reason
    explanation["evidence"] = entry.evidence.copy()
    return explanation


class ColumnArrays:
    """A numeric item's table as numpy arrays: step edges and values, and for whole-number items one
    slot per value (then a 0.0 slot for skipped or invalid cells); the same for its ``alone`` table."""

    __slots__ = ("alone_lut", "alone_values", "edges", "lut", "same_edges", "values")

    def __init__(self, compiled: CompiledItem):
        import numpy as np

        item, table, alone = compiled.item, compiled.table, compiled.alone
        self.edges = np.asarray(table.edges, dtype=float)
        self.values = np.asarray(table.values, dtype=float)
        self.alone_values = None if alone is None else np.asarray(alone.values, dtype=float)
        self.same_edges = alone is None or tuple(alone.edges) == tuple(table.edges)
        self.lut = self.alone_lut = None
        if item.kind != "number":
            lo, hi = item.bounds
            whole = [float(v) for v in range(int(lo), int(hi) + 1)]
            self.lut = np.array([table.effect(v) for v in whole] + [0.0])
            if alone is not None:
                self.alone_lut = np.array([alone.effect(v) for v in whole] + [0.0])


def column_effects(compiled: CompiledItem, column):
    """One item's column, vectorised: (raw effects, answered mask, invalid mask, effects alone).

    The effects alone are those of the real block's table for the same answers (None for other items);
    skipped and invalid cells have effect 0.
    """
    import numpy as np
    import pandas as pd

    item = compiled.item
    n = len(column)
    has_alone = compiled.alone is not None
    if (
        item.kind != "choice"
        and pd.api.types.is_numeric_dtype(column)
        and not pd.api.types.is_bool_dtype(column)
    ):
        if compiled.arrays is None:
            compiled.arrays = ColumnArrays(compiled)
        arrays = compiled.arrays
        x = column.to_numpy(dtype=float, na_value=np.nan)
        answered = ~np.isnan(x)
        lo, hi = item.bounds
        with np.errstate(invalid="ignore"):
            if arrays.lut is not None:
                # whole-number items: index a per-value table; NaN, fractions, inf and out-of-range
                # values fail `whole == offset`, and negatives wrap to huge unsigned values
                span = int(hi - lo)
                offset = x - lo
                whole = offset.astype(np.int64)
                valid = (whole == offset) & (whole.view(np.uint64) <= span)
                slot = np.where(valid, whole, span + 1)
                single = arrays.alone_lut[slot] if has_alone else None
                return arrays.lut[slot], valid, answered & ~valid, single
            bad = answered & ((x < lo) | (x > hi) | ~np.isfinite(x))
        valid = answered & ~bad
        where = np.where(valid, x, lo)
        index = np.searchsorted(arrays.edges, where, side="left")
        single = None
        if has_alone:
            alone_index = (
                index if arrays.same_edges else np.searchsorted(compiled.alone.edges, where, side="left")
            )
            single = arrays.alone_values[alone_index] * valid
        return arrays.values[index] * valid, valid, bad, single
    # any other column: resolve each distinct value once
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    unique_raw = np.zeros(len(uniques) + 1)
    unique_alone = np.zeros(len(uniques) + 1)
    unique_answered = np.zeros(len(uniques) + 1, dtype=bool)
    unique_bad = np.zeros(len(uniques) + 1, dtype=bool)
    for position, value in enumerate(uniques):
        try:
            answer = compiled.normalise(value)
        except ValueError:
            unique_bad[position] = True
            continue
        if answer is not SKIP:
            level = compiled.level(answer)
            unique_raw[position] = level.raw
            unique_answered[position] = True
            if has_alone:
                unique_alone[position] = level.alone
    codes = np.where(codes < 0, len(uniques), codes)  # missing -> the last slot (skipped)
    bad = unique_bad[codes] if n else np.zeros(0, bool)
    return unique_raw[codes], unique_answered[codes], bad, unique_alone[codes] if has_alone else None
