"""CSV files that are safe to open in a spreadsheet (the OWASP rule against CSV injection).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a leading tab
or carriage return can hide such a start; ``=HYPERLINK(...)`` leaks data and ``+cmd|' /C calc'!A0``
starts programs. Every CSV file rolefit writes from data it did not make itself (``scores.csv``,
``rejects.csv``, CSV reports) passes its cells through :func:`neutralise`: a *text* cell that starts
with one of those characters gets a leading single quote ``'``, which spreadsheets show as text. Lines
end in ``\r\n`` (RFC 4180), so that a cell holding a line break is always quoted: text after a break
inside a cell cannot start a row, or a formula, of its own.

Numbers stay numbers: only text (object or string) columns are changed. A negative log-odds written
from a float column (``-1.2``) is a number to the spreadsheet, not a formula, and is left alone; the
same characters in a text column are text and become ``'-1.2``, so a value that must stay a number is
written from a numeric column. Parquet and JSON outputs are data, not spreadsheets: they keep the text
exactly as read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The first characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula, else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """One CSV row (for :func:`csv.writer`) with every text cell neutralised."""
    return [neutralise(v) for v in values]


def safe_frame(frame):
    """A copy of ``frame`` whose text columns are neutralised; numeric and boolean columns unchanged."""
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if is_numeric_dtype(values) or is_bool_dtype(values) or is_datetime64_any_dtype(values):
            continue
        out[column] = values.map(neutralise)
    return out.rename(columns=neutralise)


def to_csv(frame, target, **options) -> None:
    """Write ``frame`` (without its index) as a CSV file that is safe to open in a spreadsheet."""
    safe_frame(frame).to_csv(target, index=False, lineterminator="\r\n", **options)
