"""Reading survey files defensively: zips, encodings, records that never swallow the lines after them.

Reading is defensive (see :func:`read_records`): a row is never allowed to swallow the lines after it.
An unclosed quote quarantines only the line it is on; a cell longer than ``MAX_FIELD_CHARS``, a line
longer than ``MAX_ROW_CHARS`` (skipped unread) and a row with the wrong number of fields are
quarantined with their reason; every data row of the file is counted. A zip (or Excel workbook, which
is a zip) whose members would expand past ``MAX_UNZIPPED_BYTES`` or more than ``MAX_ZIP_RATIO`` times
is refused unread. A zip must hold exactly one CSV file, or the member to read must be named: a zip
with several is refused naming them (:func:`choose_member`), never read in part without a word. A file
that cannot be ingested raises :class:`SurveyError` naming it and the cause.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit.errors import RolefitError

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


#: Members listed by name when a zip holds several CSV files (the rest are counted).
MAX_LISTED_MEMBERS = 20


def data_members(archive: zipfile.ZipFile, suffix: str = ".csv") -> list[str]:
    """The ``suffix`` files of a zip, in archive order; folders and the metadata macOS adds
    (``__MACOSX/``, ``._name``) are not data."""
    return [
        name
        for name in archive.namelist()
        if name.lower().endswith(suffix)
        and not name.endswith("/")
        and not name.startswith("__MACOSX/")
        and not name.rsplit("/", 1)[-1].startswith("._")
    ]


def _listed(names: list[str]) -> str:
    shown = ", ".join(scrub(n)[:80] for n in names[:MAX_LISTED_MEMBERS])
    more = len(names) - MAX_LISTED_MEMBERS
    return shown + (f" and {more:,} more" if more > 0 else "")


def choose_member(archive: zipfile.ZipFile, name: str, member: str | None, suffix: str = ".csv") -> str:
    """The zip member to read: ``member`` when given (it must exist), else the one ``suffix`` file.

    A zip holding several such files is refused naming each of them: reading one and dropping the
    others without a word would lose data, and reading them all as one source would mix exports that
    need not share a header. The caller picks one (``member:`` in the source's entry of params.yaml,
    ``rolefit ingest --member``) or unpacks them and ingests each as a source of its own.
    """
    names = data_members(archive, suffix)
    if member is not None:
        if member not in archive.namelist():
            found = f"its {suffix} files are {_listed(names)}" if names else f"it holds no {suffix} file"
            raise SurveyError(f"{name} has no member {scrub(member)[:80]!r}; {found}.")
        return member
    if not names:
        raise SurveyError(f"{name} contains no {suffix} file.")
    if len(names) > 1:
        raise SurveyError(
            f"{name} holds {len(names)} {suffix} files ({_listed(names)}), and rolefit reads one file per "
            "source rather than guess: name the one to read with `member: <name>` in the source's entry "
            "of params.yaml (ingest.sources) or `rolefit ingest --member <name>`, or unpack them and "
            "ingest each as a source of its own."
        )
    return names[0]


@contextlib.contextmanager
def open_text(
    path: Path, member_suffix: str = ".csv", member: str | None = None
) -> Iterator[tuple[io.TextIOBase, str]]:
    """Open a CSV, or the CSV inside a zip, as streamed text; yields the handle and a label for messages.

    A zip member is checked by :func:`open_zip` and decompressed as it is read, never whole. A zip must
    hold exactly one CSV file unless ``member`` names the one to read (:func:`choose_member`);
    ``member`` is refused for a file that is not a zip.
    """
    if path.suffix.lower() != ".zip":
        if member is not None:
            raise SurveyError(f"{path.name} is not a zip archive: it has no member {scrub(member)[:80]!r}.")
        with path.open(encoding=detect_encoding(path.open("rb")), newline="") as handle:
            yield handle, path.name
        return
    with open_zip(path) as archive:
        chosen = choose_member(archive, path.name, member, member_suffix)
        label = f"{path.name}:{chosen}"
        try:
            encoding = detect_encoding(archive.open(chosen))
            with archive.open(chosen) as raw:
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


def frame_from_records(header: list[str], records) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
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


def require_columns(header: list[str], columns, label: str, survey: str) -> None:
    """Refuse a file given to the wrong adapter, naming the columns it lacks."""
    missing = [c for c in columns if c not in header]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise SurveyError(
            f"{label} is not the {survey} export: its header lacks the column(s) {', '.join(missing[:5])}"
            f"{more} (is it the right file for this adapter?)."
        )


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""
