"""Adapter ``instrument``: the project's own instrument exported by a form tool (CSV or Excel).

Headers are item ids or the questions' text; 1-5 answers as numbers or words; choices by id or label;
optional ``respondent_id``, ``submitted_at`` and demographics. Every other column (free text, names,
e-mail addresses) is dropped unread.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit.data.ids import IdKeyring, blank_id, pseudonym
from rolefit.data.io import (
    EMAIL,
    KEPT_METADATA,
    AdapterOutput,
    SurveyError,
    frame_from_records,
    open_text,
    open_zip,
    read_records,
    scrub,
)
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, Instrument, load_instrument


def normalise_header(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def read_instrument_export(
    path: Path, instrument: Instrument | None = None, member: str | None = None
) -> AdapterOutput:
    """A form-tool export of the rolefit questionnaire (CSV, Excel, or a CSV in a zip: ``member``)."""
    by_header = instrument_headers(instrument)
    ids = IdKeyring()
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        if member is not None:
            raise SurveyError(f"{path.name} is an Excel workbook: its first sheet is read, it has no member.")
        frame, malformed = _read_excel(path, by_header)
    else:
        with open_text(path, member=member) as (handle, label):
            header, records = read_records(handle, label=label)
            frame, malformed = frame_from_records(header, records)
    frame, dropped = map_instrument_frame(frame, by_header, path.name, ids)
    return AdapterOutput(
        rows=frame,
        malformed=malformed,
        dropped_columns=dropped,
        dedupe_on=["_id_key"],
        notes={"respondent_ids": ids.note},
    )


def instrument_headers(instrument: Instrument | None = None) -> dict[str, str]:
    """Normalised header text (item id or question text, metadata names) -> column name."""
    instrument = instrument or load_instrument()
    by_header: dict[str, str] = {}
    for item in instrument.items:
        by_header[normalise_header(item.id)] = item.id
        by_header[normalise_header(item.text)] = item.id
    for name in (*KEPT_METADATA, "role", *DEMOGRAPHIC_FIELDS):
        by_header[normalise_header(name)] = name
    return by_header


def map_instrument_frame(frame: pd.DataFrame, by_header: dict[str, str], name: str, ids: IdKeyring):
    """Rename known columns, flag rows with e-mail addresses in free text, drop free text, pseudonymise.

    ``respondent_id`` becomes the keyed pseudonym of the file's id (also in ``_id_key``, the
    de-duplication key); a row without a usable id (blank, or no key to hash it with) is numbered
    ``<file stem>-row<n>`` instead and has no ``_id_key``, so it is never anyone's duplicate.
    """
    rename: dict[str, str] = {}
    dropped: list[str] = []
    for column in frame.columns:
        if column == "row_number":
            continue
        target = by_header.get(normalise_header(column))
        if target is None or target in rename.values():
            dropped.append(scrub(str(column)))
        else:
            rename[column] = target
    free_text = [c for c in frame.columns if c != "row_number" and c not in rename]
    has_email = frame[free_text].map(lambda v: isinstance(v, str) and EMAIL.search(v) is not None)
    frame = frame[["row_number", *rename]].rename(columns=rename)
    # a respondent who wrote contact details into a free-text answer is not ingested at all
    frame["_personal_data"] = has_email.any(axis=1).to_numpy() if free_text else False
    if "role" not in frame.columns:
        raise SurveyError(f"{name} has no 'role' column: every survey row needs its label (swe or mle).")
    frame = frame.replace({"": None})
    raw_ids = frame["respondent_id"].tolist() if "respondent_id" in frame.columns else [None] * len(frame)
    key = ids.key() if "respondent_id" in frame.columns else None
    stem = Path(name).stem
    keys = [None if key is None or blank_id(v) else pseudonym(str(v), key) for v in raw_ids]
    frame["respondent_id"] = [
        k or f"{stem}-row{n:07d}" for k, n in zip(keys, frame["row_number"].tolist(), strict=True)
    ]
    frame["_id_key"] = keys
    frame["role"] = [None if v is None else role_label(v) for v in frame["role"].tolist()]
    return frame, dropped


#: Obvious spellings of the two roles in a form export's ``role`` column (case and spacing ignored).
ROLE_LABELS = {
    "swe": "swe",
    "software engineer": "swe",
    "software engineering": "swe",
    "software developer": "swe",
    "mle": "mle",
    "machine learning engineer": "mle",
    "machine learning engineering": "mle",
    "ml engineer": "mle",
}


def role_label(value: Any) -> str:
    """A form export's role cell as ``swe``/``mle`` when it is one of :data:`ROLE_LABELS` (else as
    written, casefolded, for validation to name)."""
    text = re.sub(r"\s+", " ", str(value)).strip().casefold()
    return ROLE_LABELS.get(text, text)


def _read_excel(path: Path, by_header: dict[str, str]):
    """Read the first sheet; title rows above the header are skipped (the header is the first row
    whose cells name at least three known columns).

    A formula cell reads as the value the spreadsheet last computed, or blank when it was never
    computed (a formula is never evaluated here)."""
    if path.suffix.lower() != ".xls":  # .xlsx and .xlsm are zip archives: refuse a bomb unread
        open_zip(path).close()
    try:
        raw = pd.read_excel(path, header=None, dtype=object)
    except Exception as exc:  # a damaged workbook fails in many ways inside openpyxl or xlrd
        raise SurveyError(
            f"{path.name} cannot be read as an Excel workbook ({type(exc).__name__}: {exc})."
        ) from None
    header_row = None
    for index in range(min(len(raw), 20)):
        cells = [normalise_header(c) for c in raw.iloc[index].tolist() if isinstance(c, str)]
        if sum(c in by_header for c in cells) >= 3:
            header_row = index
            break
    if header_row is None:
        raise SurveyError(f"{path.name}: no header row naming questionnaire items was found.")
    header = [
        str(c) if c is not None and not (isinstance(c, float) and np.isnan(c)) else ""
        for c in raw.iloc[header_row]
    ]
    body = raw.iloc[header_row + 1 :].reset_index(drop=True)
    body = body.loc[~body.isna().all(axis=1)]
    frame = pd.DataFrame(
        {h: [None if pd.isna(v) else v for v in body[i].tolist()] for i, h in enumerate(header) if h},
        dtype=object,
    )
    frame.insert(0, "row_number", (body.index + 1).tolist())
    return frame, []
