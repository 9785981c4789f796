"""Streaming batch scoring of files: CSV or Parquet of any size, in chunks, with bounded memory.

:func:`score_file` reads ``chunk_rows`` respondents at a time, scores them with
:func:`rolefit.predict_many`, and appends the results to a temporary file beside ``output`` that
replaces it only when every row has been scored (:mod:`rolefit.atomic`), so a failure never leaves a
partial file, and the temporary file of a killed run is removed by the next one. Output columns:
``respondent_id`` (when the input has one), the fit's ``p_swe``, ``p_mle``, ``role``, ``prediction_set``,
``verdict`` (clear, leaning, toss-up or no-information) and, with ``top_k > 0``, ``reason_1`` ...
``reason_k``, then the all-answers model's ``all_answers_p_swe`` ... ``all_answers_verdict``
(:func:`rolefit.predict_many`'s columns). ``base_rate`` (the MLE share of the population scored) applies
to every row. In a CSV output every text cell that a spreadsheet would run as a formula is neutralised
(:mod:`rolefit.data.csvsafe`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from rolefit import atomic
from rolefit.data import csvsafe
from rolefit.scoring.answers import validate_base_rate
from rolefit.scoring.frames import TEXT_COLUMNS, plain_gap_columns, predict_many
from rolefit.scoring.loader import load_model

DEFAULT_CHUNK_ROWS = 50_000


def _chunks(path: Path, chunk_rows: int) -> tuple[Iterator, int | None, Callable[[], int] | None]:
    """Frames of at most ``chunk_rows`` rows, the total row count if known, and a bytes-read probe."""
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)

        def batches():
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()

        return batches(), parquet.metadata.num_rows, None
    handle = path.open("rb")
    reader = pd.read_csv(handle, chunksize=chunk_rows, dtype={"respondent_id": str})

    def frames():
        try:
            yield from reader
        finally:
            handle.close()

    return frames(), None, handle.tell


def score_file(
    source: str | Path,
    output: str | Path,
    *,
    model: str | os.PathLike | None = None,
    top_k: int = 0,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = True,
    base_rate: float | None = None,
) -> int:
    """Score every row of ``source`` into ``output`` (format from the suffix); returns the row count.

    Invalid answers raise :class:`rolefit.InvalidAnswers` naming the rows (numbered from 0 across the
    whole file) and items, or ``base_rate`` when it is not strictly between 0 and 1; ``output`` is then
    left untouched.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    base_rate = validate_base_rate(base_rate)
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise FileNotFoundError(f"Input file {source} does not exist.")
    if output.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"Output {output.name} must end in .csv or .parquet.")
    load_model(model)  # fail early, before reading any data
    chunks, total_rows, bytes_read = _chunks(source, chunk_rows)
    rows = 0
    bar = _progress(progress, total_rows, source.stat().st_size if total_rows is None else None)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(atomic.staged(output))
        stack.enter_context(bar)
        writer = None
        task = bar.add_task(f"scoring {source.name}", total=total_rows or source.stat().st_size)
        for frame in chunks:
            frame.index = range(rows, rows + len(frame))
            scored = predict_many(frame, model=model, top_k=top_k, base_rate=base_rate)
            for column in TEXT_COLUMNS:
                if column in scored:
                    scored[column] = scored[column].astype(str)
            plain_gap_columns(scored)
            if "respondent_id" in frame.columns:
                scored.insert(0, "respondent_id", frame["respondent_id"].astype(str).to_numpy())
            if output.suffix.lower() == ".csv":
                csvsafe.to_csv(scored, tmp, mode="a", header=rows == 0)
            else:
                table = pa.Table.from_pandas(scored, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                    stack.callback(writer.close)  # closed before the file is renamed into place
                writer.write_table(table)
            rows += len(frame)
            bar.update(task, completed=rows if total_rows is not None else bytes_read())
        bar.update(task, completed=total_rows or source.stat().st_size)
        if rows == 0:
            raise ValueError(f"{source.name} has no rows to score.")
    return rows


def _progress(enabled: bool, total_rows: int | None, total_bytes: int | None):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    unit = "rows" if total_rows is not None else "bytes"
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} " + unit),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )
