"""Ingest of real survey exports: adapters map what each survey really asked onto instrument items.

Every adapter turns a file into *candidate rows* (``respondent_id``, ``source``, item columns as raw
strings or numbers, ``role``, demographics) plus the rows it could not read (malformed) or that are
outside its scope (e.g. Kaggle respondents who are neither software nor ML engineers). :func:`ingest`
then validates every candidate row against the schema built from the questionnaire, quarantines the bad
ones with one reason each, drops duplicate respondents deterministically, strips personal data, and
accounts for every row::

    rows_in_file == rows_read + out_of_scope
    rows_read    == accepted + quarantined + duplicates

Adapters (``ADAPTERS``):

* ``instrument`` - the project's own instrument exported by a form tool (CSV or Excel). Headers are
  item ids or the questions' text; 1-5 answers as numbers or words; choices by id or label; optional
  ``respondent_id``, ``submitted_at`` and demographics. Every other column (free text, names, e-mail
  addresses) is dropped unread.
* ``kaggle2021`` - Kaggle Machine Learning & Data Science Survey 2021 (CC BY 2.0), read from the zip.
* ``stackoverflow2017`` - Stack Overflow Developer Survey 2017 (ODbL 1.0), partial export, read from
  the zip; its last line is cut off mid-row and is quarantined.

Reading is defensive (see :func:`read_records`): a row is never allowed to swallow the lines after it.
An unclosed quote quarantines only the line it is on; a cell longer than ``MAX_FIELD_CHARS``, a line
longer than ``MAX_ROW_CHARS`` (skipped unread) and a row with the wrong number of fields are
quarantined with their reason; every data row of the file is counted. A zip (or Excel workbook, which
is a zip) whose members would expand past ``MAX_UNZIPPED_BYTES`` or more than ``MAX_ZIP_RATIO`` times
is refused unread. A file that cannot be ingested raises :class:`SurveyError` naming it and the cause.

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
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit import atomic
from rolefit.data import csvsafe
from rolefit.errors import RolefitError
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, ROLES, Instrument, load_instrument

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
KEPT_METADATA = ("respondent_id", "submitted_at")
PROBLEM_SEPARATOR = " | "

#: Reading limits. The real exports' longest line has 57,872 characters (Kaggle's row of question
#: texts) and their members expand 9-17 times; far beyond that is a broken quote or an attack.
MAX_FIELD_CHARS = 100_000  # a longer cell quarantines its row
MAX_ROW_CHARS = 1_000_000  # a longer line (skipped unread) or row is quarantined: memory stays bounded
MAX_ROW_LINES = 100  # a quoted cell may hold line breaks, but a row never spans more lines than this
MAX_UNZIPPED_BYTES = 1 << 30  # a zip member that would expand past 1 GiB is refused unread ...
MAX_ZIP_RATIO = 100  # ... and so is one that expands more than 100 times its compressed size


class SurveyError(RolefitError, ValueError):
    """A survey file that cannot be ingested at all; the message names the file and the cause."""


def scrub(text: str) -> str:
    """Remove e-mail addresses from text that goes into a report or reason."""
    return EMAIL.sub("<e-mail removed>", text)


@dataclass
class AdapterOutput:
    """What an adapter read from a file.

    ``rows`` holds one row per in-scope record with columns ``row_number`` (1-based data row in the
    file), ``respondent_id``, ``role`` and whichever item / demographic / metadata columns it could map.
    ``malformed`` lists ``(row_number, reason)`` for records that could not be parsed at all;
    ``out_of_scope`` counts records by why they are not used (e.g. another job title).
    """

    rows: pd.DataFrame
    malformed: list[tuple[int, str]] = field(default_factory=list)
    out_of_scope: Counter = field(default_factory=Counter)
    dropped_columns: list[str] = field(default_factory=list)
    dedupe_on: list[str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# reading


def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a zip archive (a survey's zip or an Excel workbook), refusing a zip bomb unread."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SurveyError(f"{path.name} is not a readable zip archive ({exc}).") from None
    for info in archive.infolist():
        # zipfile never inflates a member past its declared size (it stops there and fails the CRC
        # check), so checking the declared sizes bounds what reading can ever allocate
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_UNZIPPED_BYTES or ratio > MAX_ZIP_RATIO:
            archive.close()
            raise SurveyError(
                f"{path.name} is refused as a likely zip bomb: its member {scrub(info.filename)[:80]} would "
                f"expand to {info.file_size:,} bytes, {ratio:,.0f} times its compressed size (the limits "
                f"are {MAX_UNZIPPED_BYTES:,} bytes and {MAX_ZIP_RATIO} times)."
            )
    return archive


def detect_encoding(binary: io.BufferedIOBase) -> str:
    """``utf-8-sig`` if the whole stream decodes as UTF-8 (BOM or not), else ``latin-1``; reads in blocks
    and closes the stream."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with binary:
        try:
            for block in iter(lambda: binary.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


@contextlib.contextmanager
def open_text(path: Path, member_suffix: str = ".csv") -> Iterator[tuple[io.TextIOBase, str]]:
    """Open a CSV, or the CSV inside a zip, as streamed text; yields the handle and a label for messages.

    A zip member is checked by :func:`open_zip` and decompressed as it is read, never whole.
    """
    if path.suffix.lower() != ".zip":
        with path.open(encoding=detect_encoding(path.open("rb")), newline="") as handle:
            yield handle, path.name
        return
    with open_zip(path) as archive:
        names = sorted((n for n in archive.namelist() if n.lower().endswith(member_suffix)), key=len)
        if not names:
            raise SurveyError(f"{path.name} contains no {member_suffix} file.")
        label = f"{path.name}:{names[0]}"
        try:
            encoding = detect_encoding(archive.open(names[0]))
            with archive.open(names[0]) as raw:
                yield io.TextIOWrapper(raw, encoding=encoding, newline=""), label
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # what a damaged member raises
            raise SurveyError(f"{label} is damaged and cannot be read ({exc}).") from None


class _Broken(Exception):
    """The row being read cannot be a row; its message is the reason."""


class _Lines:
    """The physical lines of a text handle, fed to :func:`csv.reader` one row at a time.

    It enforces the reading limits, and it can take lines back: when a row breaks after running on past
    its first line (an unclosed quote swallowing the rows below it), only that first line is quarantined
    and the lines after it are read again as rows of their own.
    """

    def __init__(self, handle: io.TextIOBase, delimiter: str):
        self.handle = handle
        self.delimiter = delimiter
        self.count = 0  # physical lines read
        self.back: list[tuple[int, str | None]] = []  # lines to read again, the next one last
        self.taken: list[tuple[int, str | None]] = []  # (line number, text) of the row being read
        self.chars = 0
        self.width: int | None = None  # fields per row, once the header is read

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.back:
            number, line = self.back.pop()
        else:
            line = self.handle.readline(MAX_ROW_CHARS + 1)
            if not line:
                raise StopIteration
            self.count += 1
            number = self.count
            if len(line) > MAX_ROW_CHARS:
                while line and not line.endswith(("\n", "\r")):  # skip the rest of the line unread
                    line = self.handle.readline(1 << 20)
                line = None
        self.taken.append((number, line))
        if line is None:
            raise _Broken(f"a line longer than {MAX_ROW_CHARS:,} characters (line {number}, not read)")
        self.chars += len(line)
        if len(self.taken) > 1 and (
            len(self.taken) > MAX_ROW_LINES or self.chars > MAX_ROW_CHARS or self._whole_row(line)
        ):
            raise _Broken("a quoted cell runs on into the following rows")
        return line

    def _whole_row(self, line: str) -> bool:
        """Whether a line that continues a quoted cell is itself a complete row (so the quote is broken).

        A well-formed line has an even number of quotes; the line that closes a multi-line cell has an
        odd number and is not a row of its own.
        """
        if self.width is None or line.count('"') % 2:
            return False
        try:
            return len(next(csv.reader([line], delimiter=self.delimiter, strict=True))) == self.width
        except (csv.Error, StopIteration):
            return False


UNCLOSED_QUOTE = "an unclosed quote: a quoted cell runs on past the end of its line"


def read_records(
    handle: io.TextIOBase, delimiter: str | None = None, label: str = "the file"
) -> tuple[list[str], Iterator[tuple[int, list[str] | None, str | None]]]:
    """The header and an iterator of ``(row_number, fields, None)``, or ``(row_number, None, reason)`` for
    a row that is quarantined before mapping; the delimiter is sniffed among , ; and tab.

    Every data line of the file ends up in exactly one row (blank lines are not rows). Parsing is
    strict: a quote closed in the middle of a cell, a cell longer than ``MAX_FIELD_CHARS``, a line
    longer than ``MAX_ROW_CHARS`` and a row whose field count differs from the header's are reasons. A
    quoted cell may span lines, but when such a row breaks (its quote never closes, or a following line
    is a complete row by itself) only its first line is quarantined and the rest is read again.
    """
    first = handle.readline(MAX_ROW_CHARS + 1)
    if len(first) > MAX_ROW_CHARS:
        raise SurveyError(f"{label}: the header row is longer than {MAX_ROW_CHARS:,} characters.")
    if delimiter is None:
        delimiter = max([",", ";", "\t"], key=first.count)
    lines = _Lines(handle, delimiter)
    if first:
        lines.back.append((1, first))
        lines.count = 1
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise SurveyError(f"{label} is empty: it has no header row.") from None
    except (_Broken, csv.Error) as exc:
        raise SurveyError(f"{label}: the header row cannot be read ({exc}).") from None
    if any(len(h) > MAX_FIELD_CHARS for h in header):
        raise SurveyError(f"{label}: a header cell is longer than {MAX_FIELD_CHARS:,} characters.")
    header = [h.strip() for h in header]
    lines.width = len(header)
    return header, _rows(lines, reader)


def _rows(lines: _Lines, reader) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """The data rows of :func:`read_records`, numbered from 1, each parsed or with its reason."""
    number = 0
    while True:
        lines.taken, lines.chars = [], 0
        try:
            fields, problem = next(reader), None
        except StopIteration:
            return
        except (_Broken, csv.Error) as exc:
            fields, problem = None, exc
        first_line = lines.taken[0][0]
        if len(lines.taken) > 1 and (problem is not None or len(fields) != lines.width):
            # the row ran on past its first line and is not one row: that line has the broken quote
            lines.back.extend(reversed(lines.taken[1:]))
            problem = f"{UNCLOSED_QUOTE} (line {first_line}; the lines after it are read as rows)"
        elif isinstance(problem, _Broken):
            problem = str(problem)
        elif problem is not None:
            text = str(problem)
            if "field larger than field limit" in text:
                problem = f"a cell longer than {MAX_FIELD_CHARS:,} characters (line {first_line})"
            elif text == "unexpected end of data":
                problem = f"{UNCLOSED_QUOTE} (line {first_line}, the last line)"
            else:
                problem = f"not valid CSV: {text} (line {first_line})"
        elif not fields:
            continue  # a blank line is not a row
        elif len(fields) != lines.width:
            problem = (
                f"row has {len(fields)} fields but the header has {lines.width} "
                "(the line is cut off or has stray delimiters)"
            )
        elif lines.chars > MAX_FIELD_CHARS and max(map(len, fields)) > MAX_FIELD_CHARS:
            problem = f"a cell longer than {MAX_FIELD_CHARS:,} characters (line {first_line})"
        number += 1
        yield (number, None, problem) if problem else (number, fields, None)


def _frame_from_records(header: list[str], records) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Build a string frame from the well-formed records; the others are returned as malformed."""
    good_rows: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, str]] = []
    for number, fields, problem in records:
        if fields is None:
            malformed.append((number, problem))
        else:
            good_rows.append(fields)
            numbers.append(number)
    frame = pd.DataFrame(good_rows, columns=header, dtype=object)
    frame.insert(0, "row_number", numbers)
    return frame, malformed


def _require_columns(header: list[str], columns, label: str, survey: str) -> None:
    """Refuse a file given to the wrong adapter, naming the columns it lacks."""
    missing = [c for c in columns if c not in header]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise SurveyError(
            f"{label} is not the {survey} export: its header lacks the column(s) {', '.join(missing[:5])}"
            f"{more} (is it the right file for this adapter?)."
        )


# --------------------------------------------------------------------------------------------------
# adapter: the project's own instrument


def _normalise_header(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def read_instrument_export(path: Path, instrument: Instrument | None = None) -> AdapterOutput:
    """A form-tool export of the rolefit questionnaire (CSV or Excel)."""
    by_header = instrument_headers(instrument)
    ids = IdKeyring()
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        frame, malformed = _read_excel(path, by_header)
    else:
        with open_text(path) as (handle, label):
            header, records = read_records(handle, label=label)
            frame, malformed = _frame_from_records(header, records)
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
        by_header[_normalise_header(item.id)] = item.id
        by_header[_normalise_header(item.text)] = item.id
    for name in (*KEPT_METADATA, "role", *DEMOGRAPHIC_FIELDS):
        by_header[_normalise_header(name)] = name
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
        target = by_header.get(_normalise_header(column))
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
    keys = [None if key is None or _blank_id(v) else pseudonym(str(v), key) for v in raw_ids]
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
        cells = [_normalise_header(c) for c in raw.iloc[index].tolist() if isinstance(c, str)]
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


# --------------------------------------------------------------------------------------------------
# keyed pseudonyms of respondent ids

ID_KEY_ENV = "ROLEFIT_ID_KEY"
ID_KEY_FILE_ENV = "ROLEFIT_ID_KEY_FILE"
DEFAULT_ID_KEY_FILE = ".rolefit/id.key"
MIN_KEY_CHARS = 16


def id_key() -> tuple[bytes | None, str]:
    """The secret key for respondent pseudonyms and a sentence saying where it came from.

    ``ROLEFIT_ID_KEY`` when set (at least 16 characters); else the key file (``ROLEFIT_ID_KEY_FILE``,
    default ``.rolefit/id.key`` in the folder rolefit runs from, the project root), created with 32
    random bytes and mode 0600 on first use. Returns ``(None, why)`` when neither can be had: the ids
    are then dropped, never hashed without a secret.
    """
    value = os.environ.get(ID_KEY_ENV, "")
    if value:
        if len(value) < MIN_KEY_CHARS:
            raise SurveyError(
                f"{ID_KEY_ENV} is too short to keep respondent ids secret: give at least {MIN_KEY_CHARS} "
                "random characters (e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        return value.encode(), f"keyed: HMAC-SHA256 with the key in {ID_KEY_ENV}"
    path = Path(os.environ.get(ID_KEY_FILE_ENV) or DEFAULT_ID_KEY_FILE)
    try:
        if not path.exists():
            _create_key_file(path)
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, (
            f"dropped: no key ({ID_KEY_ENV} is not set and the key file {path} cannot be used: {why}); "
            "rows are numbered instead and duplicate respondents cannot be found"
        )
    if len(key) < MIN_KEY_CHARS:
        raise SurveyError(
            f"The id key file {path} holds no usable key; restore it from a backup (deleting it makes a "
            "new key, and every pseudonym changes)."
        )
    return key.encode(), f"keyed: HMAC-SHA256 with the project key in {path}"


def _create_key_file(path: Path) -> None:
    """Write a fresh random key to ``path`` (mode 0600) unless another process just did."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = atomic.temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # a concurrent first run made one: use theirs
            os.link(tmp, path)  # never replaces an existing key, unlike a rename
    finally:
        tmp.unlink(missing_ok=True)


class IdKeyring:
    """The id key of one ingest, looked up once and only when a file has ids (see :func:`id_key`)."""

    def __init__(self):
        self._key: tuple[bytes | None, str] | None = None

    def key(self) -> bytes | None:
        """The key, or None when there is none (the ids are then dropped)."""
        if self._key is None:
            self._key = id_key()
        return self._key[0]

    @property
    def note(self) -> str:
        """How respondent ids were handled, for the report."""
        return self._key[1] if self._key else "none in the file: rows are numbered"


def pseudonym(raw_id: str, key: bytes, source: str = "instrument") -> str:
    """The keyed pseudonym of a respondent id: ``<source>-`` + 16 hex digits of HMAC-SHA256.

    Case and surrounding spaces are ignored, so the same person gets the same pseudonym in every file
    ingested with the same key (duplicates are found across files and chunks).
    """
    message = f"{source}:{raw_id.strip().casefold()}".encode()
    return f"{source}-{hmac.new(key, message, hashlib.sha256).hexdigest()[:16]}"


def _blank_id(value: Any) -> bool:
    return _blank(value) or not str(value).strip()


# --------------------------------------------------------------------------------------------------
# adapter: Kaggle ML & DS Survey 2021

KAGGLE_ROLES = {"Software Engineer": "swe", "Machine Learning Engineer": "mle"}
KAGGLE_YEARS_CODING = {
    "I have never written code": 0.0, "< 1 years": 0.5, "1-3 years": 2.0, "3-5 years": 4.0,
    "5-10 years": 7.5, "10-20 years": 15.0, "20+ years": 25.0,
}  # fmt: skip
KAGGLE_YEARS_ML = {
    "I do not use machine learning methods": 0.0, "Under 1 year": 0.5, "1-2 years": 1.5,
    "2-3 years": 2.5, "3-4 years": 3.5, "4-5 years": 4.5, "5-10 years": 7.5, "10-20 years": 15.0,
    "20 or more years": 25.0,
}  # fmt: skip
KAGGLE_EDUCATION = {
    "No formal education past high school": "no_degree",
    "Some college/university study without earning a bachelor’s degree": "some_college",
    "Bachelor’s degree": "bachelor",
    "Master’s degree": "master",
    "Doctoral degree": "doctorate",
    "Professional doctorate": "doctorate",  # judgment: MD/JD-type doctorates (50 rows)
    "I prefer not to answer": None,
}
KAGGLE_LANGUAGES = {"uses_python": "Q7_Part_1", "uses_sql": "Q7_Part_3", "uses_java": "Q7_Part_6",
                    "uses_javascript": "Q7_Part_7", "uses_cpp": "Q7_Part_5"}  # fmt: skip
KAGGLE_ACTIVITIES = {
    "activity_data_analysis": "Q24_Part_1", "activity_data_infrastructure": "Q24_Part_2",
    "activity_ml_prototypes": "Q24_Part_3", "activity_ml_service": "Q24_Part_4",
    "activity_ml_experiments": "Q24_Part_5", "activity_ml_research": "Q24_Part_6",
}  # fmt: skip


#: Every column the adapter reads (a file without them is not this survey's export).
KAGGLE_COLUMNS = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q15", *KAGGLE_LANGUAGES.values(),
                  *(f"Q16_Part_{i}" for i in range(1, 17)), *KAGGLE_ACTIVITIES.values())  # fmt: skip


def read_kaggle_2021(path: Path) -> AdapterOutput:
    """Kaggle ML & DS Survey 2021.

    Unasked is missing, not zero: a question Kaggle routed a respondent past, or one they left blank,
    maps to missing; only an explicit answer (including "None" or "I do not use ...") maps to a value.
    Routing, as the methodology PDF states it ("respondents that do not write code were not asked
    questions about writing code"; "students and unemployed persons were not asked questions about
    their employer") and as the export shows it among the 3,948 Software / ML Engineer rows (every
    blank below is either routed past or a break-off: nobody who left a mapped question blank answered
    any later question):

    * Q5 current title -> ``role``: Software Engineer -> swe, Machine Learning Engineer -> mle; other
      titles are out of scope. Shown to everyone.
    * Q4 highest education -> ``education`` ("Professional doctorate" -> doctorate). Shown to everyone
      (all 3,948 answered); "I prefer not to answer" -> missing.
    * Q6 years writing code -> ``years_coding`` (band midpoints, "20+" -> 25). Shown to everyone;
      "I have never written code" (63 rows) is an answer -> 0.
    * Q7 languages used regularly -> ``uses_python/sql/java/javascript/cpp`` (C++ is its own option; C
      is not counted). Not shown to Q6 "never written code" (none of the 63 has a Q7 answer) ->
      missing. Shown to every coder (all 3,885 answered). An answered block (any option, including
      "None" or "Other" only) -> 0/1 per language; a blank block -> missing.
    * Q15 years using ML -> ``years_ml`` (band midpoints, "20 or more" -> 25). Not shown to Q6 "never
      written code" (none of the 63 has a Q15 answer) -> missing. Shown to every coder: "I do not use
      machine learning methods" (492 rows) is an answer -> 0; blank (157 coders, who all stopped the
      survey there) -> missing.
    * Q16 ML frameworks used regularly -> ``ml_frameworks_used``: count of the 16 named frameworks
      ("None" -> 0; "Other" is not counted, so "Other" only -> 0). Not shown to Q6 "never written
      code" nor to Q15 "I do not use machine learning methods" (none of those 63 + 492 has a Q16
      answer) -> missing, never 0. Shown to the other coders: a blank block (29 who gave a Q15 band
      and stopped at Q16, and the 157 who stopped at Q15) -> missing.
    * Q24 activities important in the role -> ``activity_*``: shown to everyone employed (no Student or
      "Currently not employed" respondent has a Q24 answer), whatever their coding or ML answers: all 63
      never-coded and 427 of the 492 "no ML" engineers answered it. An answered block -> 0/1 per
      activity ("None of these activities" or "Other" only -> all 0); a blank block (452 rows, who all
      stopped the survey before Q24) -> missing.
    * Q1 age, Q2 gender, Q3 country -> ``age_band``, ``gender``, ``country``: demographics for the
      fairness audit only, never model inputs.

    Row 2 of the file (question text) is not a respondent. Answers are stripped of stray spaces.
    """
    with open_text(path) as (handle, label):
        header, records = read_records(handle, delimiter=",", label=label)
        _require_columns(header, KAGGLE_COLUMNS, label, "Kaggle ML & DS Survey 2021")
        frame, malformed = _frame_from_records(header, records)
    question_row = frame["row_number"] == 1
    frame = frame.loc[~question_row].copy()
    frame["row_number"] -= 1  # data rows numbered after the question-text row
    malformed = [(n - 1, reason) for n, reason in malformed]
    frame = frame.map(lambda v: v.strip() if isinstance(v, str) else v)
    title = frame["Q5"].fillna("")
    in_scope = title.isin(KAGGLE_ROLES)
    out_of_scope = Counter(f"Q5 title {t!r} is not used" for t in title[~in_scope])
    kept = frame.loc[in_scope]

    def has(column: str) -> pd.Series:
        return kept[column].fillna("") != ""

    def block(prefix: str, parts: int) -> pd.Series:
        cols = [f"{prefix}_Part_{i}" for i in range(1, parts + 1)] + [f"{prefix}_OTHER"]
        return pd.concat([has(c) for c in cols if c in kept.columns], axis=1).any(axis=1)

    out = pd.DataFrame(
        {
            "row_number": kept["row_number"].to_numpy(),
            "respondent_id": [f"kaggle2021-row{n:06d}" for n in kept["row_number"]],
            "role": kept["Q5"].map(KAGGLE_ROLES).to_numpy(),
        }
    )
    # a blank (unmapped) band maps to NaN: Q15 for the never-coded, who were not shown it, is missing
    out["years_coding"] = kept["Q6"].map(KAGGLE_YEARS_CODING).to_numpy()
    out["years_ml"] = kept["Q15"].map(KAGGLE_YEARS_ML).to_numpy()
    out["education"] = kept["Q4"].map(KAGGLE_EDUCATION).astype(object).to_numpy()
    # multi-select blocks: an answered block gives 0/1 (or a count); a block the respondent was not
    # shown (Q7/Q16 for the never-coded, Q16 for "no ML") or left blank is missing, never 0
    answered_q7 = block("Q7", 12)
    for item, column in KAGGLE_LANGUAGES.items():
        out[item] = has(column).astype(float).where(answered_q7).to_numpy()
    answered_q16 = block("Q16", 17)
    count = pd.concat([has(f"Q16_Part_{i}") for i in range(1, 17)], axis=1).sum(axis=1).astype(float)
    out["ml_frameworks_used"] = count.where(answered_q16).to_numpy()
    answered_q24 = block("Q24", 7)
    for item, column in KAGGLE_ACTIVITIES.items():
        out[item] = has(column).astype(float).where(answered_q24).to_numpy()
    out["age_band"] = kept["Q1"].to_numpy()
    out["gender"] = kept["Q2"].to_numpy()
    out["country"] = kept["Q3"].to_numpy()
    raw_columns = [c for c in header if c != "Time from Start to Finish (seconds)"]
    # identical answers to every question (timing aside) = the same submission twice
    out["_dedupe"] = [
        hashlib.sha256("\x1f".join("" if v is None else str(v) for v in row).encode()).hexdigest()
        for row in kept[raw_columns].itertuples(index=False)
    ]
    return AdapterOutput(
        rows=out.replace({np.nan: None}).astype(object),
        malformed=malformed,
        out_of_scope=out_of_scope,
        dedupe_on=["_dedupe"],
        notes={"licence": "CC BY 2.0", "attribution": "Kaggle ML & DS Survey 2021"},
    )


# --------------------------------------------------------------------------------------------------
# adapter: Stack Overflow Developer Survey 2017 (partial)

SO_AGREE = {
    "Strongly disagree": 1.0,
    "Disagree": 2.0,
    "Somewhat agree": 3.0,
    "Agree": 4.0,
    "Strongly agree": 5.0,
}
#: Judgment calls, one per mapped item (the rest of the instrument stays missing):
SO_ITEMS = {
    # "Building things is very rewarding" - enjoyment of building things ~ building products
    "interest_building_products": "BuildingThings",
    # "I enjoy debugging code" - the same question
    "interest_debugging": "EnjoyDebugging",
    # "I love solving problems" - broader than coding puzzles; moderate match
    "interest_coding_puzzles": "ProblemSolving",
    # "It's better to ship now and optimize later" - favours quick visible results
    "pref_immediate_results": "ShipIt",
}
# Not mapped: LearningNewTech ("learning new technologies is fun" is not "years of learning before
# being productive"), BoringDetails, UnderstandComputers, ChallengeMyself, ChangeWorld, InTheZone, ...
SO_LANGUAGES = {"uses_python": "Python", "uses_sql": "SQL", "uses_java": "Java",
                "uses_javascript": "JavaScript", "uses_cpp": "C++"}  # fmt: skip
SO_EDUCATION = {
    "I never completed any formal education": "no_degree",
    "Primary/elementary school": "no_degree",
    "Secondary school": "no_degree",
    "Some college/university study without earning a bachelor's degree": "some_college",
    "Bachelor's degree": "bachelor",
    "Master's degree": "master",
    "Doctoral degree": "doctorate",
    "Professional degree": None,  # judgment: JD/MD-type degrees are neither a master's nor a PhD
    "I prefer not to answer": None,
}
SO_SWE_TYPES = {"Web developer", "Mobile developer", "Desktop applications developer",
                "Embedded applications/devices developer"}  # fmt: skip
SO_ML_TYPES = {"Machine learning specialist", "Data scientist"}


#: Every column the adapter reads (a file without them is not this survey's export).
SO_COLUMNS = ("Respondent", "DeveloperType", *SO_ITEMS.values(), "HaveWorkedLanguage", "YearsProgram",
              "FormalEducation", "Gender", "Country")  # fmt: skip


def _so_years(text: str | None) -> float | None:
    if text in (None, "", "NA"):
        return None
    if text == "Less than a year":
        return 0.5
    if text == "20 or more years":
        return 25.0
    match = re.fullmatch(r"(\d+) to (\d+) years", text)
    return float(match.group(1)) + 0.5 if match else None


def read_stackoverflow_2017(path: Path) -> AdapterOutput:
    """Stack Overflow Developer Survey 2017 (partial export).

    Unasked is missing, not zero: the export writes "NA" for a question not shown or not answered, and
    every "NA" (or empty field) maps to missing, never to 0 or a neutral 3. Routing, as the export shows
    it among the 19,101 whole rows (in scope: 12,066, all but 2 of them professional developers):

    * ``DeveloperType`` (multi-select, "; "-separated) -> ``role``: any "Machine learning specialist"
      -> mle; a web, mobile, desktop or embedded developer with neither ML specialist nor data scientist
      -> swe; everyone else (including "NA") is out of scope. Shown only to ``Professional`` ==
      "Professional developer" (13,769 of 13,773 answered; 2 students and no other group have one),
      so every in-scope row is a professional developer.
    * Agree/disagree items -> 1-5 (Strongly disagree 1, Disagree 2, Somewhat agree 3, Agree 4, Strongly
      agree 5; the survey has no neutral point, so its 3 means "somewhat agree"): see ``SO_ITEMS``.
      Asked in blocks that are mostly answered or "NA" as a whole: in scope, ProblemSolving /
      BuildingThings are "NA" for 4,061 / 4,066 rows and ShipIt / EnjoyDebugging for 4,599 / 4,582.
      About half of those (~2,100 each) reached the end of the survey, a quarter of everyone who did,
      so the blocks were apparently shown to a random part of respondents; either way "NA" -> missing.
    * ``HaveWorkedLanguage`` (multi-select) -> ``uses_*`` (whole tokens: "C++" is not "C"). Shown to
      everyone; it has no "none" option, so a listed language not ticked -> 0 only when some language
      was ticked; "NA" (2,930 in-scope rows, only 64 of whom reached the end of the survey) -> missing
      for every language.
    * ``YearsProgram`` ("Less than a year" -> 0.5, "N to N+1 years" -> N + 0.5, "20 or more" -> 25) ->
      ``years_coding`` (time since first learning to program: the closest question asked). Shown to
      everyone; "NA" (49 in-scope rows) -> missing.
    * ``FormalEducation`` -> ``education`` (primary / secondary / none -> no_degree). Shown to everyone
      (no "NA"); "I prefer not to answer" and "Professional degree" (a judgment: JD/MD-type degrees are
      neither a master's nor a PhD) -> missing.
    * ``Gender``, ``Country`` kept aside as demographics ("NA" -> missing); never model inputs.
    * Every other instrument item (years of ML, frameworks, activities, ...) was not asked: missing.

    The file is truncated: its last line is cut off mid-row and is quarantined by the field count.
    """
    with open_text(path) as (handle, label):
        header, records = read_records(handle, delimiter=",", label=label)
        _require_columns(header, SO_COLUMNS, label, "Stack Overflow Developer Survey 2017")
        frame, malformed = _frame_from_records(header, records)
    frame = frame.replace({"NA": None, "": None})
    types = frame["DeveloperType"].fillna("").map(lambda s: {t.strip() for t in s.split(";") if t.strip()})
    is_mle = types.map(lambda t: "Machine learning specialist" in t)
    is_swe = types.map(lambda t: bool(t & SO_SWE_TYPES) and not (t & SO_ML_TYPES))
    in_scope = is_mle | is_swe
    out_of_scope = Counter(
        "DeveloperType is missing" if not t else "DeveloperType is neither ML specialist nor app developer"
        for t in types[~in_scope]
    )
    kept = frame.loc[in_scope]
    out = pd.DataFrame(
        {
            "row_number": kept["row_number"].to_numpy(),
            "respondent_id": [
                f"so2017-{r}" if r is not None else f"so2017-row{n:06d}"
                for r, n in zip(kept["Respondent"], kept["row_number"], strict=True)
            ],
            # the de-duplication key: a row without a Respondent number is no one's duplicate
            "_id_key": kept["Respondent"].to_numpy(),
            "role": np.where(is_mle[in_scope], "mle", "swe"),
        }
    )
    for item, column in SO_ITEMS.items():
        out[item] = kept[column].map(lambda v: None if v is None else SO_AGREE.get(v, v)).to_numpy()
    languages = kept["HaveWorkedLanguage"].map(
        lambda s: None if s is None else {t.strip() for t in s.split(";")}
    )
    for item, token in SO_LANGUAGES.items():
        out[item] = languages.map(lambda t, token=token: None if t is None else float(token in t)).to_numpy()
    out["years_coding"] = kept["YearsProgram"].map(_so_years).to_numpy()
    out["education"] = kept["FormalEducation"].map(lambda v: SO_EDUCATION.get(v, v)).to_numpy()
    out["gender"] = kept["Gender"].to_numpy()
    out["country"] = kept["Country"].to_numpy()
    return AdapterOutput(
        rows=out.astype(object),
        malformed=malformed,
        out_of_scope=out_of_scope,
        dedupe_on=["_id_key"],
        notes={"licence": "ODbL 1.0", "attribution": "Stack Overflow Developer Survey 2017"},
    )


ADAPTERS: dict[str, Callable[[Path], AdapterOutput]] = {
    "instrument": read_instrument_export,
    "kaggle2021": read_kaggle_2021,
    "stackoverflow2017": read_stackoverflow_2017,
}


# --------------------------------------------------------------------------------------------------
# validation, de-duplication, accounting


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


def ingest(path: str | Path, adapter: str, source: str | None = None) -> IngestResult:
    """Read, map, validate, quarantine and de-duplicate one survey file.

    Writes nothing, except the project's id key the first time a form export with ids needs one.
    """
    path = Path(path)
    if adapter not in ADAPTERS:
        raise ValueError(f"Unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}.")
    if not path.is_file():
        raise FileNotFoundError(f"Survey file {path} does not exist.")
    source = source or (adapter if adapter != "instrument" else path.stem)
    instrument = load_instrument()
    output = ADAPTERS[adapter](path)
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
        None if any(_blank(v) for v in values) else "\x1f".join(map(str, values))
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
        accepted[column] = accepted[column].map(lambda v: None if _blank(v) else scrub(str(v))).astype(object)
    rejects.sort(key=lambda r: r["row_number"])
    return accepted, rejects, len(keys) - len(keep)


def _check_accounting(report: dict[str, Any]) -> None:
    if report["rows_read"] != report["accepted"] + report["quarantined"] + report["duplicates"]:
        raise RuntimeError(f"Row accounting failed for {report['source']}: {report}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


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
        result.accepted.to_parquet(staged["accepted"], index=False)
        csvsafe.to_csv(result.rejects, staged["rejects"])
        staged["report"].write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n")
    return targets


def empty_result(source: str, adapter: str, reason: str) -> IngestResult:
    """The ingest outputs of a source whose file is absent: no rows, and a report that says why."""
    from rolefit.instrument.items import load_instrument

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
        if not any(_normalise_header(h) in by_header for h in header):
            shown = ", ".join(scrub(h)[:30] for h in header[:5])
            raise SurveyError(f"{label}: the header names no questionnaire item ({shown} ...).")
        while True:
            batch = list(itertools.islice(records, chunk_rows))
            frame, malformed = _frame_from_records(header, batch)
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
