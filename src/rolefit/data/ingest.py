"""Ingest of real survey exports: adapters map what each survey really asked onto instrument items.

Every adapter turns a file into *candidate rows* (``respondent_id``, ``source``, item columns as raw
strings or numbers, ``role``, demographics) plus the rows it could not read (malformed) or that are
outside its scope (e.g. Kaggle respondents who are neither software nor ML engineers). :func:`ingest`
then validates every candidate row against the schema built from the questionnaire, quarantines the bad
ones with one reason each, drops duplicate respondents deterministically, strips personal data, and
accounts for every row (whole files and :func:`ingest_stream` share one core, :func:`_settle`)::

    rows_in_file == rows_read + out_of_scope
    rows_read    == accepted + quarantined + duplicates

Adapters (``ADAPTERS``, :mod:`rolefit.data.adapters`, one module per survey):

* ``instrument`` - the project's own instrument exported by a form tool (CSV or Excel). Headers are
  item ids or the questions' text; 1-5 answers as numbers or words; choices by id or label; optional
  ``respondent_id``, ``submitted_at`` and demographics. Every other column (free text, names, e-mail
  addresses) is dropped unread.
* ``kaggle2021`` - Kaggle Machine Learning & Data Science Survey 2021 (CC BY 2.0), read from the zip.
* ``stackoverflow2017`` - Stack Overflow Developer Survey 2017 (ODbL 1.0), partial export, read from
  the zip; its last line is cut off mid-row and is quarantined.

Files are read by :mod:`rolefit.data.io`, whose docstring says how a row is never allowed to swallow
the lines after it and which limits apply; a file that cannot be ingested raises :class:`SurveyError`
naming it and the cause.

Privacy: ``respondent_id`` values from form exports may be e-mail addresses, so they are replaced by a
keyed pseudonym, ``HMAC-SHA256(key, id)`` (:func:`id_key`: the ``ROLEFIT_ID_KEY`` environment
variable, else a random per-project key kept in ``.rolefit/id.key``, created on first use and never
committed). Without a key the ids are dropped, never weakly hashed: rows are numbered instead and
duplicates cannot be found, which the report says. A blank id is "no id", never a duplicate. Reasons and
rejected values never quote an e-mail address, and free-text columns never reach any output.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit import atomic
from rolefit.data import csvsafe
from rolefit.data.adapters import ADAPTERS
from rolefit.data.adapters.instrument import instrument_headers, map_instrument_frame, normalise_header
from rolefit.data.ids import IdKeyring
from rolefit.data.io import (
    KEPT_METADATA,
    PROBLEM_SEPARATOR,
    SurveyError,
    blank,
    frame_from_records,
    open_text,
    read_records,
    scrub,
)
from rolefit.data.parquet import write_parquet
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, ROLES, Instrument, load_instrument


@dataclass
class IngestResult:
    """Accepted rows, quarantined rows and the report of one ingest."""

    accepted: pd.DataFrame
    rejects: pd.DataFrame
    report: dict[str, Any]


def validate_rows(rows: pd.DataFrame, instrument: Instrument | None = None):
    """Check every row against the questionnaire schema.

    Returns the normalised rows that pass and a list of ``(position, reason)`` for those that do not;
    a reason lists every offending column of the row.
    """
    instrument = instrument or load_instrument()
    items = [item for item in instrument.items if item.id in rows.columns]
    clean: dict[str, list[Any]] = {item.id: [] for item in items}
    good: list[int] = []
    bad: list[tuple[int, str]] = []
    records = rows.to_dict(orient="records")
    for position, record in enumerate(records):
        problems: list[str] = []
        values: dict[str, Any] = {}
        if record.get("_personal_data"):
            problems.append("personal data: an e-mail address in a free-text column (not ingested)")
        role = record.get("role")
        if role is None or (isinstance(role, float) and np.isnan(role)):
            problems.append("role: missing label (allowed: swe or mle)")
        elif role not in ROLES:
            problems.append(
                f"role: got {scrub(repr(role))[:40]}; allowed: swe or mle (also written as Software Engineer "
                "or Machine Learning Engineer)"
            )
        for item in items:
            try:
                values[item.id] = item.coerce(record[item.id])
            except ValueError as exc:
                problems.append(scrub(str(exc)))
        if problems:
            bad.append((position, PROBLEM_SEPARATOR.join(problems)))
            continue
        good.append(position)
        for item in items:
            clean[item.id].append(values[item.id])
    accepted = rows.iloc[good].reset_index(drop=True).copy()
    for item in items:
        column = clean[item.id]
        if item.kind == "choice":
            accepted[item.id] = pd.Series(column, dtype=object)
        else:
            accepted[item.id] = pd.Series([np.nan if v is None else v for v in column], dtype=float)
    return accepted, bad


def ingest(
    path: str | Path, adapter: str, source: str | None = None, member: str | None = None
) -> IngestResult:
    """Read, map, validate, quarantine and de-duplicate one survey file.

    ``member`` names the CSV file to read inside a zip; a zip holding several is refused naming them
    (:func:`rolefit.data.io.choose_member`). Writes nothing, except the project's id key the first
    time a form export with ids needs one.
    """
    path = Path(path)
    if adapter not in ADAPTERS:
        raise ValueError(f"Unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}.")
    if not path.is_file():
        raise FileNotFoundError(f"Survey file {path} does not exist.")
    source = source or (adapter if adapter != "instrument" else path.stem)
    instrument = load_instrument()
    output = ADAPTERS[adapter](path, member=member)
    accepted, reject_rows, duplicates = _settle(
        output.rows, output.malformed, instrument, {}, source, output.dedupe_on or ["respondent_id"]
    )
    rejects = pd.DataFrame(reject_rows, columns=["row_number", "respondent_id", "status", "reason"])
    quarantined = rejects["status"] == "quarantined"
    rows_read = len(output.rows) + len(output.malformed)
    report = {
        "source": source,
        "adapter": adapter,
        "file": path.name,
        **({"member": member} if member is not None else {}),
        "file_sha256": atomic.sha256_file(path),
        "rows_in_file": rows_read + sum(output.out_of_scope.values()),
        "out_of_scope": sum(output.out_of_scope.values()),
        "out_of_scope_reasons": dict(sorted(output.out_of_scope.items())),
        "rows_read": rows_read,
        "accepted": len(accepted),
        "quarantined": int(quarantined.sum()),
        "duplicates": duplicates,
        "roles": {role: int((accepted["role"] == role).sum()) for role in ROLES},
        "quarantine_reasons": dict(sorted(_reason_counts(rejects.loc[quarantined, "reason"]).items())),
        "items_mapped": [i for i in instrument.ids if i in accepted.columns],
        "dropped_columns": output.dropped_columns,
        **output.notes,
    }
    _check_accounting(report)
    return IngestResult(accepted=accepted, rejects=rejects, report=report)


def _settle(
    rows: pd.DataFrame,
    malformed: list[tuple[int, str]],
    instrument: Instrument,
    seen: dict[str, str],
    source: str,
    dedupe_on: list[str],
    where: str = "",
) -> tuple[pd.DataFrame, list[dict[str, Any]], int]:
    """Validate candidate rows and drop respondents already in ``seen`` (which is updated).

    The one core of :func:`ingest` (one call) and :func:`ingest_stream` (one call per chunk). Returns
    the accepted rows (output columns, text scrubbed), one reject record per other row in row order
    (``row_number``, ``respondent_id``, ``status``, ``reason``) and the number of duplicates. A row
    whose ``dedupe_on`` key is missing has no identity and is never a duplicate; ``where`` (a file name
    and a space when several files are read) prefixes the row named in a duplicate's reason.
    """
    rows = rows.reset_index(drop=True)
    accepted, bad = validate_rows(rows, instrument)
    rejects = [
        {"row_number": int(n), "respondent_id": None, "status": "quarantined", "reason": scrub(reason)}
        for n, reason in malformed
    ]
    rejects += [
        {"row_number": int(rows.at[pos, "row_number"]), "respondent_id": rows.at[pos, "respondent_id"],
         "status": "quarantined", "reason": reason}
        for pos, reason in bad
    ]  # fmt: skip
    # de-duplicate deterministically: keep the first occurrence in file order
    columns = [accepted[c].tolist() for c in dedupe_on]
    keys = [
        None if any(blank(v) for v in values) else "\x1f".join(map(str, values))
        for values in zip(*columns, strict=True)
    ]
    keep = []
    for position, (number, key) in enumerate(zip(accepted["row_number"].tolist(), keys, strict=True)):
        if key is not None and key in seen:
            rejects.append({
                "row_number": int(number), "respondent_id": accepted.at[position, "respondent_id"],
                "status": "duplicate",
                "reason": f"duplicate respondent (the first submission, {seen[key]}, is kept)",
            })  # fmt: skip
            continue
        if key is not None:
            seen[key] = f"{where}row {int(number)}"
        keep.append(position)
    accepted = accepted.iloc[keep]
    accepted = accepted.drop(columns=[c for c in accepted.columns if c.startswith("_")])
    accepted.insert(1, "source", source)
    item_columns = [i for i in instrument.ids if i in accepted.columns]
    text_columns = ["respondent_id", *[c for c in KEPT_METADATA[1:] if c in accepted]]
    demographics = [c for c in DEMOGRAPHIC_FIELDS if c in accepted]
    accepted = accepted[["row_number", *text_columns[:1], "source", *text_columns[1:], *item_columns, "role",
                         *demographics]].reset_index(drop=True)  # fmt: skip
    for column in (*text_columns, "role", *demographics):
        accepted[column] = accepted[column].map(lambda v: None if blank(v) else scrub(str(v))).astype(object)
    rejects.sort(key=lambda r: r["row_number"])
    return accepted, rejects, len(keys) - len(keep)


def _check_accounting(report: dict[str, Any]) -> None:
    if report["rows_read"] != report["accepted"] + report["quarantined"] + report["duplicates"]:
        raise RuntimeError(f"Row accounting failed for {report['source']}: {report}")


def _reason_counts(reasons) -> Counter:
    """Count quarantine reasons by their first clause with values removed (for the report)."""
    counts: Counter = Counter()
    for reason in reasons:
        for part in str(reason).split(PROBLEM_SEPARATOR):
            counts[re.sub(r": got .*", ": bad value", part.split(" (")[0])] += 1
    return counts


def _staged_outputs(stack: contextlib.ExitStack, out_dir: Path, source: str) -> tuple[dict, dict]:
    """The three output paths of a source and their staged temporary files (see :mod:`rolefit.atomic`).

    All three replace their targets only when the ``stack`` closes without an error, the report last;
    temporary files of a run that was killed are removed by the next run.
    """
    targets = {
        "accepted": out_dir / f"{source}.parquet",
        "rejects": out_dir / f"{source}.rejects.csv",
        "report": out_dir / f"{source}.report.json",
    }
    # entered in reverse, so that on success the report is renamed into place after the data
    staged = {key: stack.enter_context(atomic.staged(targets[key])) for key in reversed(targets)}
    return targets, staged


def write_ingest(result: IngestResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<source>.parquet``, ``<source>.rejects.csv`` and ``<source>.report.json`` atomically.

    Every file is written beside its target under a temporary name and renamed only when all three
    are complete, so a failure never leaves partial outputs behind. ``rejects.csv`` lists every row
    that was not accepted with its status (``quarantined`` or ``duplicate``) and one reason; its text
    cells are safe to open in a spreadsheet (:mod:`rolefit.data.csvsafe`).
    """
    with contextlib.ExitStack() as stack:
        targets, staged = _staged_outputs(stack, Path(out_dir), result.report["source"])
        write_parquet(result.accepted, staged["accepted"])
        csvsafe.to_csv(result.rejects, staged["rejects"])
        staged["report"].write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n")
    return targets


def empty_result(source: str, adapter: str, reason: str) -> IngestResult:
    """The ingest outputs of a source whose file is absent: no rows, and a report that says why."""

    columns = ["row_number", "respondent_id", "source", *load_instrument().ids, "role"]
    accepted = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    rejects = pd.DataFrame(columns=["row_number", "respondent_id", "status", "reason"])
    counts = ("rows_in_file", "out_of_scope", "rows_read", "accepted", "quarantined", "duplicates")
    report = {
        "source": source,
        "adapter": adapter,
        "found": False,
        "reason": reason,
        **dict.fromkeys(counts, 0),
    }
    return IngestResult(accepted=accepted, rejects=rejects, report=report)


# --------------------------------------------------------------------------------------------------
# streaming ingest of form exports: files of any size, several files as one source


def _instrument_chunks(path: Path, chunk_rows: int, by_header: dict[str, str], ids: IdKeyring):
    """Yield ``(mapped frame, malformed rows, dropped columns, bytes read)`` chunk by chunk."""
    import itertools

    with open_text(path) as (handle, label):
        header, records = read_records(handle, label=label)
        if not any(normalise_header(h) in by_header for h in header):
            shown = ", ".join(scrub(h)[:30] for h in header[:5])
            raise SurveyError(f"{label}: the header names no questionnaire item ({shown} ...).")
        while True:
            batch = list(itertools.islice(records, chunk_rows))
            frame, malformed = frame_from_records(header, batch)
            mapped, dropped = map_instrument_frame(frame, by_header, path.name, ids)
            yield mapped, malformed, dropped, handle.buffer.tell()
            if len(batch) < chunk_rows:
                return


def ingest_stream(
    paths: list[str | Path],
    source: str,
    out_dir: str | Path,
    *,
    chunk_rows: int = 50_000,
    progress: bool = True,
) -> dict[str, Any]:
    """Ingest one or more CSV form exports as one source, ``chunk_rows`` rows at a time.

    Memory stays bounded whatever the file size; respondents already seen in an earlier chunk or file
    are duplicates (the first submission is kept). Outputs are the same three files as
    :func:`write_ingest` (``rejects.csv`` gains a ``file`` column), streamed into temporary files
    beside them and renamed only when every file has been read: a failure leaves no partial outputs.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    instrument = load_instrument()
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"Survey file {path} does not exist.")
        if path.stat().st_size == 0:
            raise SurveyError(f"{path.name} is empty: it has no header row.")
    by_header = instrument_headers(instrument)
    items = list(instrument.ids)
    columns = ["row_number", "respondent_id", "source", "submitted_at", *items, "role", *DEMOGRAPHIC_FIELDS]
    fields = [pa.field(c, pa.float64() if c in items and instrument[c].kind != "choice" else pa.string())
              for c in columns]  # fmt: skip
    fields[0] = pa.field("row_number", pa.int64())
    schema = pa.schema(fields)
    seen: dict[str, str] = {}
    counts: Counter = Counter()
    reasons: Counter = Counter()
    dropped: set[str] = set()
    roles: Counter = Counter()
    ids = IdKeyring()
    total_bytes = sum(p.stat().st_size for p in paths)
    done_bytes = 0
    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), disable=not progress)  # fmt: skip
    with contextlib.ExitStack() as stack:
        _, staged = _staged_outputs(stack, Path(out_dir), source)
        writer = pq.ParquetWriter(staged["accepted"], schema)
        stack.callback(writer.close)
        rejects = csv.writer(stack.enter_context(staged["rejects"].open("w", newline="", encoding="utf-8")))
        rejects.writerow(["file", "row_number", "respondent_id", "status", "reason"])
        stack.enter_context(bar)
        task = bar.add_task(f"ingesting {source}", total=total_bytes)
        for path in paths:
            for frame, malformed, chunk_dropped, position in _instrument_chunks(
                path, chunk_rows, by_header, ids
            ):
                dropped.update(chunk_dropped)
                accepted, reject_rows, duplicates = _settle(
                    frame, malformed, instrument, seen, source, ["_id_key"], where=f"{path.name} "
                )
                for r in reject_rows:
                    row = [path.name, r["row_number"], r["respondent_id"] or "", r["status"], r["reason"]]
                    rejects.writerow(csvsafe.safe_row(row))  # csv.writer ends lines in \r\n
                quarantined = [r["reason"] for r in reject_rows if r["status"] == "quarantined"]
                reasons.update(_reason_counts(quarantined))
                out = pd.DataFrame({c: accepted[c] if c in accepted.columns else None for c in columns})
                writer.write_table(pa.Table.from_pandas(out, schema=schema, preserve_index=False))
                counts.update(rows_read=len(frame) + len(malformed), accepted=len(out),
                              quarantined=len(quarantined), duplicates=duplicates)  # fmt: skip
                roles.update(out["role"].tolist())
                bar.update(task, completed=done_bytes + position)
            done_bytes += path.stat().st_size
        report = {
            "source": source,
            "adapter": "instrument",
            "files": [p.name for p in paths],
            "file_sha256": {p.name: atomic.sha256_file(p) for p in paths},
            "rows_in_file": counts["rows_read"],
            "out_of_scope": 0,
            "out_of_scope_reasons": {},
            "rows_read": counts["rows_read"],
            "accepted": counts["accepted"],
            "quarantined": counts["quarantined"],
            "duplicates": counts["duplicates"],
            "roles": {role: roles.get(role, 0) for role in ROLES},
            "quarantine_reasons": dict(sorted(reasons.items())),
            "dropped_columns": sorted(dropped),
            "respondent_ids": ids.note,
        }
        _check_accounting(report)
        staged["report"].write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
