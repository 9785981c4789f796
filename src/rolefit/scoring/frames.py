"""Scoring a whole DataFrame of answers at once: the same tables, formula and decisions as predict.

Each item's column becomes effects through numpy lookups (:mod:`rolefit.scoring.columns`), block by
block; the effect formula of :mod:`rolefit.model.tables` is applied to whole columns, the set and verdict
come from the decision table (:mod:`rolefit.scoring.decision`), and the top reasons are picked with one
``argmax`` per reason over a people x items matrix.
"""

from __future__ import annotations

import functools
import os
import threading

from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS, ROLES, load_instrument
from rolefit.model.conformal import THRESHOLD, VERDICTS
from rolefit.model.tables import blended_effect, scaled_effect
from rolefit.scoring.answers import InvalidAnswers, suggestion, validate_base_rate
from rolefit.scoring.decision import SET_NAMES
from rolefit.scoring.loader import LoadedModel, load_model
from rolefit.scoring.readiness import GAP_COLUMNS, GAP_SHARE

#: Columns of rolefit datasets that predict_many accepts and ignores (they are never inputs).
DATASET_FIELDS = ("role", "source", "split", "p_true", "p_true_without_experience", "row_number")
#: Rows scored at once by :func:`predict_many`: large enough for vectorised speed, small enough that
#: the per-item effect columns of a chunk (44 floats a row) stay a fraction of a large input frame.
CHUNK_ROWS = 100_000
#: Threads that score the blocks of a chunk (numpy releases the GIL inside its loops).
THREADS = 2
#: Bad cells named one by one in InvalidAnswers (the rest are counted).
_MAX_NAMED = 1000
#: pi / 8, of the fit's certainty factor k = 1 / sqrt(1 + pi / 8 * variance)
_PI_8 = 3.141592653589793 / 8.0
#: The all-answers model's columns of predict_many (after the fit's and its reasons).
ALL_ANSWERS_COLUMNS = (
    "all_answers_p_swe",
    "all_answers_p_mle",
    "all_answers_role",
    "all_answers_prediction_set",
    "all_answers_verdict",
)
#: predict_many's categorical (text) columns: the fit's, then the all-answers model's
TEXT_COLUMNS = ("role", "prediction_set", "verdict", *ALL_ANSWERS_COLUMNS[2:])


def predict_many(
    frame,
    *,
    model: str | os.PathLike | LoadedModel | None = None,
    top_k: int = 3,
    base_rate: float | None = None,
):
    """Score every row of a DataFrame of answers, vectorised over the whole frame.

    Returns a DataFrame with the input's index and columns ``p_swe``, ``p_mle``, ``role``,
    ``prediction_set`` ("swe", "mle" or "swe,mle") and ``verdict`` of **the fit** (the headline, as
    :func:`rolefit.predict`'s top-level fields), plus ``reason_1`` ... ``reason_k`` (fit item ids,
    largest effect first; None where fewer items moved the fit) when ``top_k > 0``, then the all-answers
    model's ``all_answers_p_swe``, ``all_answers_p_mle``, ``all_answers_role``,
    ``all_answers_prediction_set`` and ``all_answers_verdict`` (:data:`ALL_ANSWERS_COLUMNS`), and
    readiness's ``readiness_swe_gaps``, ``readiness_swe_top_gap``, ``readiness_mle_gaps`` and
    ``readiness_mle_top_gap`` (how many gaps, and the most common one's item id:
    :attr:`rolefit.scoring.readiness.RoleStanding.gaps` one person at a time; without readiness tables,
    a bundle from before readiness, the counts are missing and the top gaps None).
    ``base_rate`` is the MLE share of the population scored, as in :func:`rolefit.predict`.
    Results equal :func:`rolefit.predict` row by row. Bad cells are reported together through
    :class:`InvalidAnswers`, keyed ``row <index>: <item>`` (the first 1,000, then a count).
    Rows are scored :data:`CHUNK_ROWS` at a time, so the working memory stays small beside the frame
    (one float per item and row of a chunk, not of the whole frame). ``model`` may also be a model
    already loaded (e.g. verified afresh, outside the loader's cache).

    Needs ``rolefit[batch]`` (pandas): without it, raises :class:`rolefit.errors.MissingExtra` naming
    the ``pip install`` to run.
    """
    from rolefit.errors import require

    require("batch", "rolefit.predict_many", ("pandas",))
    import pandas as pd

    rate = validate_base_rate(base_rate)
    instrument = load_instrument()
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    problems: dict[str, str] = {}
    allowed = METADATA_FIELDS + DEMOGRAPHIC_FIELDS + DATASET_FIELDS
    for column in frame.columns:
        if column not in instrument and column not in allowed:
            guess = suggestion(str(column), instrument)
            problems[str(column)[:60]] = "unknown item" + (f"; did you mean {guess!r}?" if guess else "")
    parts = []
    bad_cells = 0
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        part, bad = _score_chunk(frame.iloc[start : start + CHUNK_ROWS], loaded, rate, top_k, problems)
        bad_cells += bad
        if not problems:
            parts.append(part)
    if problems:
        if bad_cells > _MAX_NAMED:
            problems["..."] = f"{bad_cells:,} invalid cells in all"
        raise InvalidAnswers(problems)
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def _score_chunk(frame, loaded: LoadedModel, rate: float | None, top_k: int, problems: dict[str, str]):
    """Score one chunk of :func:`predict_many`; bad cells go into ``problems``; returns (frame, count).

    Rows are scored in blocks of :data:`~rolefit.scoring.columns.BLOCK_ROWS` (small arrays the
    allocator reuses); the outputs are filled block by block.
    """
    import numpy as np
    import pandas as pd

    from rolefit.scoring.columns import BLOCK_ROWS, ItemColumn

    additive = loaded.additive
    fit = loaded.fit.additive
    n = len(frame)
    # alphabetical, so that argmax's first maximum breaks ties by item id, as predict() does
    present = sorted(item for item in loaded.compiled if item in frame.columns)
    entries = [loaded.compiled[item] for item in present]
    columns = [ItemColumn(entry, frame[entry.item.id], loaded.readiness) for entry in entries]
    # readiness: the columns with a gap at some answer, in readiness's order (an equal share keeps the
    # earlier item as the most common gap, as RoleStanding.gaps orders them)
    ready = loaded.readiness
    ranks = {item: rank for rank, item in enumerate(ready.by_item)} if ready is not None else {}
    gap_items = sorted((ranks[present[i]], i) for i, c in enumerate(columns) if c.gap_keys is not None)
    gap_names = [present[i] for _, i in gap_items]
    gap_index = [i for _, i in gap_items]
    gap_counts = np.zeros((len(ROLES), n), dtype=np.int64)
    top_gaps = np.full((len(ROLES), n), -1, dtype=np.int64)
    fit_names = [item for item, entry in zip(present, entries, strict=True) if entry.fit is not None]
    fit_entries = [loaded.compiled[item].fit for item in fit_names]
    # the squared relative width of every fit item (0 for a real one, whose sd is looked up): the
    # variances of the assumed effects are then one product of the squared effects with these
    widths = np.array([0.0 if e.uncertainty.kind != "relative" else e.uncertainty.width for e in fit_entries])
    squared_widths = widths * widths
    real_sd = any(e.uncertainty.kind != "relative" for e in fit_entries)
    # equal coverage weights of the scaled items (as the calibration makes them; fixed items have none):
    # the coverage is then the count of answered scaled items times the weight
    weights = {e.coverage for e in fit_entries if e.coverage}
    fit_weight = weights.pop() if len(weights) == 1 else None
    weights = {e.coverage for e in entries if e.coverage}
    weight = weights.pop() if len(weights) == 1 else None  # the same for the all-answers model
    intercept = loaded.intercept_for(rate)
    start_fit = loaded.fit_start(rate)
    k = min(top_k, len(fit_names))
    p_all = np.empty(n)
    p_fit = np.empty(n)
    answered_count = np.empty(n, dtype=np.int64)
    fit_count = np.empty(n, dtype=np.int64)
    reasons = np.empty((k, n), dtype=np.int64)
    moved = np.empty((k, n), dtype=bool)

    def score_blocks(first: int, step: int) -> int:
        """Score blocks ``first``, ``first + step``, ... into the outputs; return the bad cells seen."""
        bad_seen = 0
        # an item per row (each written in one contiguous pass); transposed for the reasons' argmax
        fit_effects = np.empty((len(fit_names), min(n, BLOCK_ROWS)))
        magnitudes = np.empty((min(n, BLOCK_ROWS), len(fit_names)))  # a person per row: argmax along rows
        for start in range(first * BLOCK_ROWS, n, step * BLOCK_ROWS):
            stop = min(n, start + BLOCK_ROWS)
            size = stop - start
            coverage = np.zeros(size)
            scaled = np.zeros(size, dtype=np.int64)
            count = np.zeros(size, dtype=np.int64)
            real = np.zeros(size, dtype=np.int64)
            fit_coverage = np.zeros(size)
            fit_scaled = np.zeros(size, dtype=np.int64)
            fit_answered = np.zeros(size, dtype=np.int64)
            fit_real = np.zeros(size, dtype=np.int64)
            blocks, fit_blocks, slots = [], [], []
            for entry, column in zip(entries, columns, strict=True):
                raw, answered, bad, alone, slot = column.block(start, stop)
                slots.append(slot)
                if bad is not None:
                    with lock:
                        bad_seen += _name_bad_cells(frame, entry.item, start + np.flatnonzero(bad), problems)
                if weight is None:
                    coverage += answered * entry.coverage
                elif entry.coverage:
                    scaled += answered
                count += answered
                if alone is not None:
                    real += answered
                blocks.append((raw, answered, alone))
                if entry.fit is not None:
                    fit_raw, fit_alone, fit_sd = column.fit_block(slot)
                    if fit_weight is None:
                        fit_coverage += answered * entry.fit.coverage
                    elif entry.fit.coverage:
                        fit_scaled += answered
                    fit_answered += answered
                    if fit_alone is not None:
                        fit_real += answered
                    fit_blocks.append((entry.fit, fit_raw, answered, fit_alone, fit_sd))
            if problems:
                continue  # only the remaining bad cells are of interest now
            # the all-answers model: only the sum of its effects is needed (its reasons are not listed),
            # so the scaled items' raw effects and offsets are summed first (the formula is linear in them)
            if weight is not None:
                coverage = scaled * weight
            blend = additive.blend(real)
            total, scaled_raw, offsets = np.zeros(size), np.zeros(size), np.zeros(size)
            for entry, (raw, answered, alone) in zip(entries, blocks, strict=True):
                if alone is not None:
                    total += blended_effect(alone, raw, blend)
                elif entry.offset is None:
                    total += raw
                else:
                    scaled_raw += raw
                    if entry.offset:
                        offsets += entry.offset * answered
            log_odds = intercept + (total + scaled_effect(scaled_raw, additive.scale_at(coverage), offsets))
            p_all[start:stop] = 1.0 / (1.0 + np.exp(-log_odds))
            answered_count[start:stop] = count
            # the fit, integrated over its effects' uncertainty (rolefit.model.uncertainty)
            if fit_weight is not None:
                fit_coverage = fit_scaled * fit_weight
            scale = fit.scale_at(fit_coverage)
            blend = fit.blend(fit_real)
            block = fit_effects[:, :size]
            for j, (entry, raw, answered, alone, _) in enumerate(fit_blocks):
                if alone is not None:
                    block[j] = blended_effect(alone, raw, blend)
                elif entry.offset is None:
                    block[j] = raw
                else:
                    block[j] = scaled_effect(raw, scale, entry.offset, answered)
            # sum of (width * effect)^2 over the assumed effects (0 where skipped: the effect is 0) ...
            variance = squared_widths @ np.square(block)
            if real_sd:  # ... plus the real effects' sd at this count of answered real-block fit items
                rows = np.arange(size)
                for _, _, _, _, sd in fit_blocks:
                    if sd is not None:
                        chosen = sd[rows, fit_real]
                        variance += chosen * chosen
            factor = 1.0 / np.sqrt(1.0 + _PI_8 * variance)
            log_odds = start_fit + factor * block.sum(axis=0)
            p_fit[start:stop] = 1.0 / (1.0 + np.exp(-log_odds))
            fit_count[start:stop] = fit_answered
            if gap_index:
                # readiness: per role, how many gaps and the most common (the largest share; an equal
                # share keeps the earlier item: only a larger one replaces it)
                best = np.full((len(ROLES), size), -1.0)
                gaps, top = gap_counts[:, start:stop], top_gaps[:, start:stop]
                for j, i in enumerate(gap_index):
                    key = columns[i].gap_block(start, stop, slots[i])
                    gaps += key >= GAP_SHARE
                    top[key > best] = j
                    np.maximum(best, key, out=best)
            if k:
                # the factor scales every effect of a person alike: the order of |effect| is the order
                magnitude = np.abs(block.T, out=magnitudes[:size])
                rows = np.arange(size)
                for r in range(k):
                    column = magnitude.argmax(axis=1)
                    reasons[r, start:stop] = column
                    moved[r, start:stop] = magnitude[rows, column] > 0
                    magnitude[rows, column] = -1.0  # taken: the next argmax finds the next largest
        return bad_seen

    lock = threading.Lock()
    workers = min(THREADS, os.cpu_count() or 1, -(-n // BLOCK_ROWS))
    if workers > 1:
        # numpy releases the GIL in its loops: a second thread scores every other block meanwhile
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            bad_cells = sum(pool.map(score_blocks, range(workers), [workers] * workers))
    else:
        bad_cells = score_blocks(0, 1)
    if problems:
        return None, bad_cells
    fit_sets, fit_verdicts = loaded.fit_decisions.many(p_fit, fit_count)
    set_codes, verdict_codes = loaded.decisions.many(p_all, answered_count)
    # categorical columns: cheap to build for millions of rows, and compare equal to plain strings
    roles, sets, verdicts = list(ROLES), list(SET_NAMES), list(VERDICTS)
    out = pd.DataFrame(
        {
            "p_swe": 1.0 - p_fit,
            "p_mle": p_fit,
            "role": pd.Categorical.from_codes((p_fit >= THRESHOLD).astype(np.int8), categories=roles),
            "prediction_set": pd.Categorical.from_codes(fit_sets, categories=sets),
            "verdict": pd.Categorical.from_codes(fit_verdicts, categories=verdicts),
        },
        index=frame.index,
    )
    for r in range(k):
        out[f"reason_{r + 1}"] = _names(fit_names, reasons[r], moved[r])
    out["all_answers_p_swe"] = 1.0 - p_all
    out["all_answers_p_mle"] = p_all
    all_roles = (p_all >= THRESHOLD).astype(np.int8)
    out["all_answers_role"] = pd.Categorical.from_codes(all_roles, categories=roles)
    out["all_answers_prediction_set"] = pd.Categorical.from_codes(set_codes, categories=sets)
    out["all_answers_verdict"] = pd.Categorical.from_codes(verdict_codes, categories=verdicts)
    for r, role in enumerate(ROLES):
        if ready is None:  # a bundle from before readiness: nothing to count
            out[f"readiness_{role}_gaps"] = pd.array([pd.NA] * n, dtype="Int64")
            out[f"readiness_{role}_top_gap"] = pd.Categorical([None] * n, categories=[])
            continue
        out[f"readiness_{role}_gaps"] = gap_counts[r]
        out[f"readiness_{role}_top_gap"] = pd.Categorical.from_codes(top_gaps[r], categories=gap_names)
    return out, bad_cells


def plain_gap_columns(scored) -> None:
    """Make ``scored``'s readiness columns plain for files and Spark, in place: the top gaps text with
    None where there is none (not the text "nan"), the counts whole numbers or missing."""
    for name in GAP_COLUMNS:
        if name not in scored:
            continue
        column = scored[name]
        if name.endswith("_top_gap"):
            scored[name] = column.astype(object).where(column.notna(), None)
        else:
            scored[name] = column.astype("Int64")


def _name_bad_cells(frame, item, rows, problems: dict[str, str]) -> int:
    """Add the first bad cells (at positions ``rows``) of one item's column to ``problems``, with what
    is wrong; return how many there are."""
    for row in rows:
        if len(problems) >= _MAX_NAMED:
            break
        value = frame[item.id].iloc[row]
        try:
            item.coerce(value)
            message = "invalid answer"
        except ValueError as exc:
            message = str(exc).split(": ", 1)[1]
        problems[f"row {frame.index[row]}: {item.id}"] = message
    return len(rows)


def _names(names: list[str], index, keep):
    """``names[index]`` where ``keep``, else missing: a column of the dtype pandas gives text.

    With pandas' Arrow-backed ``str`` dtype the column is built by one Arrow ``take`` (about 25 times
    faster than converting a numpy array of Python strings); otherwise as that object array.
    """
    import numpy as np

    dtype = _text_dtype()
    if getattr(dtype, "storage", None) == "pyarrow":
        import pandas as pd
        import pyarrow as pa

        taken = pa.array(names).take(pa.array(index.astype(np.int32), mask=~keep))
        return pd.array(taken, dtype=dtype)
    return np.where(keep, np.array(names, dtype=object)[index], None)


@functools.cache
def _text_dtype():
    """The dtype pandas infers for a column of strings and missing values (``str`` from pandas 3)."""
    import numpy as np
    import pandas as pd

    return pd.Series(np.array(["text", None], dtype=object)).dtype
