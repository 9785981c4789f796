"""One item's column of a DataFrame, read block by block as effects through numpy lookups.

:func:`rolefit.predict_many` reads a chunk of rows in blocks of :data:`BLOCK_ROWS`: every temporary
array of a block (64 KB of floats) stays in the CPU cache and in memory the allocator reuses, where
arrays the size of the chunk were mapped fresh by the operating system each time (page faults cost
three times the arithmetic on this project's machines). Each cell becomes a *slot* of the item's lookup
arrays: one slot per accepted answer, then one for a skipped cell and one for an invalid cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rolefit.scoring.compiled import SKIP, CompiledItem

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

    def __init__(self, compiled: CompiledItem, column: pd.Series):
        self.compiled = compiled
        item = compiled.item
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

    def fit_block(self, slot):
        """(raw effects, effects alone or None, sd per count of answered real-block fit items or None) in
        the fit's tables of the cells at ``slot`` (the fifth value of :meth:`block`)."""
        alone = None if self.fit_alone is None else self.fit_alone[slot]
        return self.fit_raw[slot], alone, None if self.fit_sd is None else self.fit_sd[slot]

    def _whole_slots(self, x):
        """Slot of each whole-number cell: its value's, the skipped one (NaN) or the invalid one."""
        span = self.span
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


def _answered(level: Any) -> bool:
    return level is not None and level is not SKIP
