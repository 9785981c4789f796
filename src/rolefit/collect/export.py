"""Contributions as a form export of the questionnaire (the ``instrument`` adapter reads it as any).

One row per accepted contribution: ``role``, ``submitted_at`` (the month, ``YYYY-MM``, or blank) and one
column per item of the current questionnaire (blank when not answered; answers of items no longer in
it are left out). Kept-apart contributions are not exported. The month is blanked for every (role,
month, instrument version) group with fewer than ``min_group`` contributions, so that a month with only
a few people of one role does not single them out; no row carries anything finer than the month.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rolefit.atomic import write_text
from rolefit.instrument.items import Instrument, load_instrument

#: Contributions a (role, month, instrument version) group needs for its rows to keep their month.
MIN_GROUP = 10


def export_rows(
    rows: Iterable[Mapping[str, Any]], *, min_group: int = MIN_GROUP, instrument: Instrument | None = None
) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of the export of ``rows`` (dicts as :meth:`Store.rows` yields them)."""
    instrument = instrument or load_instrument()
    accepted = [r for r in rows if r["status"] == "accepted"]
    sizes = Counter((r["role"], r["month"], r["instrument_version"]) for r in accepted)
    header = ["role", "submitted_at", *instrument.ids]
    out = []
    for r in accepted:
        month = r["month"] if sizes[(r["role"], r["month"], r["instrument_version"])] >= min_group else ""
        answers = r["answers"]
        out.append([r["role"], month, *(_cell(answers.get(item)) for item in instrument.ids)])
    return header, out


def write_export(
    rows: Iterable[Mapping[str, Any]], target: str | Path, *, min_group: int = MIN_GROUP
) -> tuple[int, int]:
    """Write the export of ``rows`` to ``target`` (CSV, atomically); (rows written, months blanked)."""
    header, body = export_rows(rows, min_group=min_group)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)  # roles, months, numbers and choice ids: nothing a spreadsheet would run
    write_text(target, text.getvalue())
    return len(body), sum(1 for row in body if not row[1])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
