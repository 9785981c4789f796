"""Reading a labelled sample of respondents: the input of ``rolefit recalibrate``.

Two kinds of file, told apart by their suffix:

* ``.parquet``: rows rolefit already wrote (``data/interim/<source>.parquet`` from ingest, or the
  pipeline's ``data/processed/dataset.parquet``, which adds ``source`` and ``split``): item-id columns and
  a ``role`` column. Every row is checked again (:func:`rolefit.data.ingest.validate_rows`).
* anything else (``.csv``, ``.xlsx``, a zip holding one CSV): a form export of the questionnaire with a
  ``role`` column, read exactly as ``rolefit ingest --adapter instrument`` reads it (headers are item ids
  or question texts; free text is dropped; bad rows are quarantined, and counted here).

``rows`` selects rows before anything else by exact column values, e.g. ``{"source":
"stackoverflow2017", "split": "calibration"}`` for Stack Overflow 2017's calibration split in the
processed dataset. A bad file, an unknown column, a filter that matches nothing or rows that do not fit
the questionnaire raise :class:`LabelledSampleError` naming every cause.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rolefit.atomic import sha256_file
from rolefit.errors import RolefitError
from rolefit.instrument.items import ROLES, load_instrument

#: Rows named in an error about rows that do not fit the questionnaire (then a count).
SHOWN_PROBLEMS = 5


class LabelledSampleError(RolefitError, ValueError):
    """The labelled sample cannot be read or does not fit the questionnaire."""


@dataclass(frozen=True)
class LabelledSample:
    """The sample's accepted rows (item columns and ``role``) and what it is, for a manifest.

    ``description``: file name, sha256, the row filter, rows in the file (after the filter), rows used,
    per-role counts and, for a form export, how many rows ingest quarantined.
    """

    frame: pd.DataFrame
    description: dict[str, Any]


def parse_row_filters(specs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["split=calibration", "source=stackoverflow2017"]`` -> a dict; names every malformed one."""
    filters: dict[str, str] = {}
    bad = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip() or not value.strip():
            bad.append(repr(spec))
            continue
        filters[name.strip()] = value.strip()
    if bad:
        raise LabelledSampleError(
            f"Row filters must be written COLUMN=VALUE (e.g. split=calibration); got {', '.join(bad)}."
        )
    return filters


def _select(frame: pd.DataFrame, rows: dict[str, str], name: str) -> pd.DataFrame:
    missing = [column for column in rows if column not in frame.columns]
    if missing:
        shown = ", ".join(sorted(map(str, frame.columns))[:40])
        raise LabelledSampleError(
            f"{name} has no column {', '.join(map(repr, missing))} to select rows by; "
            f"its columns are: {shown}."
        )
    keep = pd.Series(True, index=frame.index)
    for column, value in rows.items():
        keep &= frame[column].astype(str) == value
    if not keep.any():
        said = ", ".join(f"{c}={v}" for c, v in rows.items())
        seen = {c: sorted(frame[c].dropna().astype(str).unique())[:10] for c in rows}
        values = "; ".join(f"{c} has {', '.join(v) or 'no values'}" for c, v in seen.items())
        raise LabelledSampleError(f"No row of {name} has {said} ({values}).")
    return frame.loc[keep]


def read_labelled(path: str | Path, rows: dict[str, str] | None = None) -> LabelledSample:
    """The labelled respondents of ``path`` (a rolefit parquet or a form export), selected by ``rows``."""
    path = Path(path)
    rows = dict(rows or {})
    if not path.is_file():
        raise LabelledSampleError(f"The labelled sample {path} does not exist (or is not a file).")
    description: dict[str, Any] = {"file": path.name, "sha256": sha256_file(path), "rows_filter": rows}
    if path.suffix.lower() == ".parquet":
        frame = _read_parquet(path, rows, description)
    else:
        frame = _read_export(path, rows, description)
    counts = {role: int((frame["role"] == role).sum()) for role in ROLES}
    description.update({"rows": len(frame), "roles": counts})
    return LabelledSample(frame=frame.reset_index(drop=True), description=description)


def _read_parquet(path: Path, rows: dict[str, str], description: dict[str, Any]) -> pd.DataFrame:
    from rolefit.data.ingest import validate_rows

    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not parquet
        raise LabelledSampleError(
            f"{path.name} cannot be read as Parquet ({type(exc).__name__}: {exc})."
        ) from None
    if "role" not in frame.columns:
        raise LabelledSampleError(
            f"{path.name} has no 'role' column: every respondent of a labelled sample needs a role "
            "(swe or mle)."
        )
    frame = _select(frame, rows, path.name) if rows else frame
    instrument = load_instrument()
    if not any(item.id in frame.columns for item in instrument.items):
        raise LabelledSampleError(
            f"{path.name} has no column named by a questionnaire item id (e.g. interest_math); it is not "
            "a rolefit file of answers."
        )
    description["rows_in_file"] = len(frame)
    accepted, bad = validate_rows(frame.reset_index(drop=True), instrument)
    if bad:
        shown = "; ".join(f"row {position + 1}: {reason}" for position, reason in bad[:SHOWN_PROBLEMS])
        more = f" (and {len(bad) - SHOWN_PROBLEMS} more rows)" if len(bad) > SHOWN_PROBLEMS else ""
        raise LabelledSampleError(
            f"{len(bad)} of {len(frame)} selected rows of {path.name} do not fit the questionnaire: "
            f"{shown}{more}."
        )
    return accepted[[*(i for i in instrument.ids if i in accepted.columns), "role"]]


def _read_export(path: Path, rows: dict[str, str], description: dict[str, Any]) -> pd.DataFrame:
    from rolefit.data.ingest import ingest
    from rolefit.data.io import SurveyError

    with tempfile.TemporaryDirectory(prefix="rolefit-labelled-") as scratch:
        source = path
        if rows:  # select first, on the file's own columns, then read the selection as the export
            try:
                if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
                    raw = pd.read_excel(path, dtype=str, keep_default_na=False)
                else:
                    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
            except Exception as exc:
                raise LabelledSampleError(
                    f"{path.name} cannot be read ({type(exc).__name__}: {exc})."
                ) from None
            source = Path(scratch) / f"{path.stem}.csv"
            _select(raw, rows, path.name).to_csv(source, index=False)
        try:
            result = ingest(source, "instrument", source=path.stem)
        except (SurveyError, ValueError) as exc:
            raise LabelledSampleError(
                f"{path.name} cannot be read as a questionnaire export: {exc}"
            ) from None
    report = result.report
    description["rows_in_file"] = int(report["rows_read"])
    description["quarantined"] = int(report["quarantined"])
    description["duplicates"] = int(report["duplicates"])
    if not len(result.accepted):
        reasons = "; ".join(
            f"{k}: {v}" for k, v in list(report["quarantine_reasons"].items())[:SHOWN_PROBLEMS]
        )
        raise LabelledSampleError(f"No row of {path.name} fits the questionnaire ({reasons or 'no rows'}).")
    frame = result.accepted
    instrument = load_instrument()
    return frame[[*(i for i in instrument.ids if i in frame.columns), "role"]]
