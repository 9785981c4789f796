"""One item's column of a DataFrame, read block by block as effects through numpy lookups.

:func:`rolefit.predict_many` reads a chunk of rows in blocks of :data:`BLOCK_ROWS`: every temporary
array of a block (64 KB of floats) stays in the CPU cache and in memory the allocator reuses, where
arrays the size of the chunk were mapped fresh by the operating system each time (page faults cost
three times the arithmetic on this project's machines). Each cell becomes a *slot* of the item's lookup
arrays: one slot per accepted answer, then one for a skipped cell and one for an invalid cell.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from rolefit.scoring.compiled import SKIP, CompiledItem
from rolefit.scoring.readiness import GAP_SHARE

#: Rows scored together by predict_many (see the module's docstring).
BLOCK_ROWS = 8192


class ItemColumn:
    """One item's cells in a chunk: :meth:`block` gives their raw effects, answered and invalid masks,
    and (for a real-block item) their effects when answered alone; for a fit item, :meth:`fit_block`
    gives the same from the fit's tables (the same cells, looked up in the fit's own arrays).

    Whole-number items (scales, counts, yes/no) in a numeric column index a lookup of one slot per
    value; years (steps between edges) are looked up with ``searchsorted``; any other column (text,
    categories, booleans, mixed objects) resolves each distinct value once, like :func:`rolefit.predict`.
    """

    def __init__(self, compiled: CompiledItem, column: pd.Series, readiness=None):
        self.compiled = compiled
        item = compiled.item
        #: readiness's gap keys (:meth:`gap_block`): None when readiness has no gap at any answer
        self.gap_keys = self.gap_edges = None
        self.readiness = readiness
        self.numeric = (
            item.kind != "choice"
            and pd.api.types.is_numeric_dtype(column)
            and not pd.api.types.is_bool_dtype(column)
        )
        self.has_alone = compiled.alone is not None
        self.fit = compiled.fit  # the item in the fit (None: not a fit item)
        self.fit_raw = self.fit_alone = self.fit_sd = None
        if self.numeric:
            self.x = column.to_numpy(dtype=float, na_value=np.nan)
            self.lo, self.hi = item.bounds
            if item.kind == "number":
                self.edges, self.values = np.asarray(compiled.table.edges), np.asarray(compiled.table.values)
                if self.has_alone:
                    self.alone_edges = np.asarray(compiled.alone.edges)
                    self.alone_values = np.asarray(compiled.alone.values)
                self._years_gap_keys()
            else:
                values = [float(v) for v in range(int(self.lo), int(self.hi) + 1)]
                self.span = len(values) - 1
                self._lookups([compiled.level(v) for v in values])
            return
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        levels: list[Any] = []
        for value in uniques:
            try:
                answer = compiled.normalise(value)
            except ValueError:
                levels.append(None)  # invalid
                continue
            levels.append(SKIP if answer is SKIP else compiled.level(answer))
        self._lookups(levels)
        self.some_invalid = None in levels
        # a missing cell (code -1) is the skipped slot; each distinct value its own slot
        skipped = len(levels)
        self.codes = np.where(codes < 0, skipped, codes)

    def _lookups(self, levels: list[Any]) -> None:
        """Lookup arrays over ``levels`` (a Level, SKIP or None for invalid), then a skipped and an
        invalid slot."""
        slots = [*levels, SKIP, None]
        self.raw = np.array([level.raw if _answered(level) else 0.0 for level in slots])
        self.answered = np.array([_answered(level) for level in slots])
        self.invalid = np.array([level is None for level in slots])
        self.alone = None
        if self.has_alone:
            self.alone = np.array([level.alone if _answered(level) else 0.0 for level in slots])
        if self.readiness is not None:
            # per role (rows), each slot's key: the share of people in the role with more where that is a
            # gap, else -1 (skipped and invalid cells too)
            keys = np.array([
                [-1.0, -1.0] if not _answered(level) else
                [_gap_key(found) for found in self.readiness.entry(self.compiled.item.id, level.answer)[1:]]
                or [-1.0, -1.0]
                for level in slots
            ]).T  # fmt: skip
            self.gap_keys = np.ascontiguousarray(keys) if (keys >= 0).any() else None
        if self.fit is not None:
            fits = [level.fit if _answered(level) else None for level in slots]
            self.fit_raw = np.array([0.0 if level is None else level.raw for level in fits])
            if self.fit.alone is not None:
                self.fit_alone = np.array([0.0 if level is None else level.alone for level in fits])
            if self.fit.uncertainty.kind != "relative":
                # a real effect's sd per count of answered real-block fit items: (slots, counts)
                none = (0.0,) * len(self.fit.weights)
                self.fit_sd = np.array([none if level is None else level.final_sd for level in fits])

    def block(self, start: int, stop: int):
        """(raw effects, answered mask, invalid mask or None when every cell is valid, effects alone or
        None, the cells' slots or None for a years item) of rows ``start:stop``."""
        if not self.numeric:
            slot = self.codes[start:stop]
            invalid = self.invalid[slot] if self.some_invalid else None
        elif self.compiled.item.kind != "number":
            slot = self._whole_slots(self.x[start:stop])
            # the invalid slot is the last one: one max() tells whether any cell is invalid
            invalid = self.invalid[slot] if len(slot) and slot.max() == len(self.invalid) - 1 else None
        else:
            return (*self._steps(self.x[start:stop]), None)
        alone = None if self.alone is None else self.alone[slot]
        return self.raw[slot], self.answered[slot], invalid, alone, slot

    def gap_block(self, start: int, stop: int, slot):
        """Readiness's gap keys (roles x cells) of rows ``start:stop`` (``slot``: the fifth value of
        :meth:`block`): the share of people in each role with more than the cell's answer where at least
        :data:`~rolefit.scoring.readiness.GAP_SHARE` do, else -1. Call only when ``gap_keys`` is set."""
        if slot is not None:
            return self.gap_keys[:, slot]
        # years: readiness's own levels (how many edges are at or below, +1 above 0), as level_of counts
        x = self.x[start:stop]
        skipped = np.isnan(x)
        codes = np.searchsorted(self.gap_edges, x, "right")
        if self.gap_zero:
            with np.errstate(invalid="ignore"):
                codes += x > 0
        codes[skipped] = self.gap_keys.shape[1] - 1
        return self.gap_keys[:, codes]

    def _years_gap_keys(self) -> None:
        """A years item's gap keys per readiness level (the last: a skipped cell) and their edges."""
        found = None if self.readiness is None else self.readiness.by_item.get(self.compiled.item.id)
        if found is None:
            return
        _, _, levels, by_level = found
        keys = np.array([[_gap_key(s) for s in entry[1:]] for entry in by_level] + [[-1.0, -1.0]]).T
        if (keys >= 0).any():
            self.gap_keys = np.ascontiguousarray(keys)
            self.gap_edges = np.asarray(levels["edges"], dtype=float)
            self.gap_zero = bool(levels.get("zero"))

    def fit_block(self, slot):
        """(raw effects, effects alone or None, sd per count of answered real-block fit items or None) in
        the fit's tables of the cells at ``slot`` (the fifth value of :meth:`block`)."""
        alone = None if self.fit_alone is None else self.fit_alone[slot]
        return self.fit_raw[slot], alone, None if self.fit_sd is None else self.fit_sd[slot]

    def _whole_slots(self, x):
        """Slot of each whole-number cell: its value's, the skipped one (NaN) or the invalid one."""
        span = self.span
        table = _slot_table(self.lo, span)
        if table is not None:
            # the top 16 bits of a float64 (sign, exponent, 4 bits of mantissa) name each whole value of
            # the item and NaN; any other value has one of them, or set lower bits (a fraction)
            bits = x.view(np.uint64)
            slots = table[bits >> _TOP]
            fraction = (bits & _LOW) != 0
            if fraction.any():
                slots[fraction] = np.where(np.isnan(x[fraction]), span + 1, span + 2)
            return slots
        with np.errstate(invalid="ignore"):
            offset = x - self.lo
            whole = offset.astype(np.int64)  # NaN, inf and huge values become garbage caught below
            valid = (whole == offset) & (whole.view(np.uint64) <= span)
        return np.where(valid, whole, np.where(np.isnan(x), span + 1, span + 2))

    def _steps(self, x):
        """A years item: the step between edges of every valid cell (the ``alone`` table's own edges)."""
        skipped = np.isnan(x)
        with np.errstate(invalid="ignore"):
            invalid = ~skipped & ~((x >= self.lo) & (x <= self.hi))
        valid = ~skipped & ~invalid
        where = np.where(valid, x, self.lo)
        raw = self.values[np.searchsorted(self.edges, where, side="left")] * valid
        alone = None
        if self.has_alone:
            alone = self.alone_values[np.searchsorted(self.alone_edges, where, side="left")] * valid
        return raw, valid, invalid if invalid.any() else None, alone


_TOP, _LOW = np.uint64(48), np.uint64((1 << 48) - 1)


@functools.cache
def _slot_table(lo: float, span: int):
    """Slot by the top 16 bits of a float64, for the whole numbers ``lo`` ... ``lo + span``: each
    value's own slot, NaN's the skipped one (``span + 1``), every other pattern the invalid one; None
    when some of those values need more than the top 16 bits (then :meth:`ItemColumn._whole_slots`
    checks the values arithmetically)."""
    values = np.arange(lo, lo + span + 1, dtype=float)
    bits = values.view(np.uint64)
    if ((bits & _LOW) != 0).any():
        return None
    table = np.full(1 << 16, span + 2, dtype=np.intp)
    table[bits >> _TOP] = np.arange(span + 1)
    if lo <= 0.0 <= lo + span:  # -0.0 is 0
        table[np.array([-0.0]).view(np.uint64) >> _TOP] = int(-lo)
    for nan in (np.nan, -np.nan):  # either sign; other NaN payloads set lower bits and are checked
        table[np.array([nan]).view(np.uint64) >> _TOP] = span + 1
    return table


def _gap_key(standing: Any) -> float:
    """A standing's gap key: its share of people with more when that makes a gap, else -1."""
    return standing.share_more if standing is not None and standing.share_more >= GAP_SHARE else -1.0


def _answered(level: Any) -> bool:
    return level is not None and level is not SKIP
