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

Privacy: ``respondent_id`` values from form exports are replaced by a keyed hash (they may be e-mail
addresses), reasons and rejected values never quote an e-mail address, and free-text columns never
reach any output.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rolefit.questionnaire import DEMOGRAPHIC_FIELDS, ROLES, Instrument, load_instrument

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
KEPT_METADATA = ("respondent_id", "submitted_at")
PROBLEM_SEPARATOR = " | "


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


def _open_text(path: Path, member_suffix: str = ".csv") -> tuple[io.TextIOBase, str]:
    """Open a CSV (optionally inside a zip) as text, detecting a UTF-8 BOM or Latin-1."""
    if path.suffix.lower() == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.lower().endswith(member_suffix)]
        if not names:
            raise ValueError(f"{path} contains no {member_suffix} file.")
        raw = archive.read(sorted(names, key=len)[0])
        label = f"{path.name}:{sorted(names, key=len)[0]}"
    else:
        raw = path.read_bytes()
        label = path.name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return io.StringIO(text, newline=""), label


def read_records(handle: io.TextIOBase, delimiter: str | None = None) -> tuple[list[str], Iterator]:
    """The header and an iterator of ``(row_number, fields)``; delimiter sniffed among , ; and tab."""
    if delimiter is None:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        first = sample.splitlines()[0] if sample else ""
        delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError("The file is empty: it has no header row.") from None
    header = [h.strip() for h in header]

    def records():
        for number, fields in enumerate(reader, start=1):
            if fields:
                yield number, fields

    return header, records()


def _frame_from_records(header: list[str], records: Iterator, *, keep: set[str] | None = None):
    """Build a string frame from well-formed records; malformed ones (wrong field count) are returned."""
    wanted = [i for i, h in enumerate(header) if keep is None or h in keep]
    names = [header[i] for i in wanted]
    good_rows: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, str]] = []
    for number, fields in records:
        if len(fields) != len(header):
            malformed.append(
                (
                    number,
                    f"row has {len(fields)} fields but the header has {len(header)} "
                    "(the line is cut off or has stray delimiters)",
                )
            )
            continue
        good_rows.append([fields[i] for i in wanted])
        numbers.append(number)
    frame = pd.DataFrame(good_rows, columns=names, dtype=object)
    frame.insert(0, "row_number", numbers)
    return frame, malformed


# --------------------------------------------------------------------------------------------------
# adapter: the project's own instrument


def _normalise_header(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def read_instrument_export(path: Path, instrument: Instrument | None = None) -> AdapterOutput:
    """A form-tool export of the rolefit questionnaire (CSV or Excel)."""
    by_header = instrument_headers(instrument)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        frame, malformed = _read_excel(path, by_header)
    else:
        handle, _ = _open_text(path)
        header, records = read_records(handle)
        frame, malformed = _frame_from_records(header, records)
    frame, dropped = map_instrument_frame(frame, by_header, path.name)
    return AdapterOutput(
        rows=frame, malformed=malformed, dropped_columns=dropped, dedupe_on=["respondent_id"]
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


def map_instrument_frame(frame: pd.DataFrame, by_header: dict[str, str], name: str):
    """Rename known columns, flag rows with e-mail addresses in free text, drop free text, pseudonymise."""
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
        raise ValueError(f"{name} has no 'role' column: every survey row needs its label (swe or mle).")
    frame = frame.replace({"": None})
    raw_ids = frame["respondent_id"] if "respondent_id" in frame.columns else None
    if raw_ids is not None:
        frame["respondent_id"] = [
            None if v is None else _pseudonym("instrument", str(v)) for v in raw_ids.tolist()
        ]
    else:
        stem = Path(name).stem
        frame["respondent_id"] = [f"{stem}-row{n:07d}" for n in frame["row_number"]]
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
    whose cells name at least three known columns)."""
    raw = pd.read_excel(path, header=None, dtype=object)
    header_row = None
    for index in range(min(len(raw), 20)):
        cells = [_normalise_header(c) for c in raw.iloc[index].tolist() if isinstance(c, str)]
        if sum(c in by_header for c in cells) >= 3:
            header_row = index
            break
    if header_row is None:
        raise ValueError(f"{path.name}: no header row naming questionnaire items was found.")
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


def _pseudonym(source: str, raw_id: str) -> str:
    digest = hashlib.sha256(f"rolefit:{source}:{raw_id.strip().casefold()}".encode()).hexdigest()
    return f"{source}-{digest[:16]}"


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
    handle, _ = _open_text(path)
    header, records = read_records(handle, delimiter=",")
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
    handle, _ = _open_text(path)
    header, records = read_records(handle, delimiter=",")
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
            "respondent_id": [f"so2017-{r}" for r in kept["Respondent"]],
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
        dedupe_on=["respondent_id"],
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
    """Read, map, validate, quarantine and de-duplicate one survey file (pure: writes nothing)."""
    path = Path(path)
    if adapter not in ADAPTERS:
        raise ValueError(f"Unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}.")
    if not path.is_file():
        raise FileNotFoundError(f"Survey file {path} does not exist.")
    source = source or (adapter if adapter != "instrument" else path.stem)
    instrument = load_instrument()
    output = ADAPTERS[adapter](path)
    rows = output.rows.reset_index(drop=True)

    accepted, bad = validate_rows(rows, instrument)
    # de-duplicate deterministically: keep the first occurrence in file order
    key_columns = output.dedupe_on or ["respondent_id"]
    keys = (
        accepted[key_columns].astype(str).agg("\x1f".join, axis=1)
        if len(accepted)
        else pd.Series([], dtype=object)  # nothing accepted: agg on an empty frame returns a frame
    )
    missing_key = accepted[key_columns].isna().any(axis=1)
    duplicate = keys.duplicated(keep="first") & ~missing_key
    first_seen = dict(zip(keys[~duplicate], accepted.loc[~duplicate, "row_number"], strict=True))
    reject_rows = [
        {
            "row_number": int(number),
            "respondent_id": respondent,
            "status": "duplicate",
            "reason": f"duplicate respondent (the first submission, row {int(first_seen[key])}, is kept)",
        }
        for number, respondent, key in zip(
            accepted.loc[duplicate, "row_number"],
            accepted.loc[duplicate, "respondent_id"],
            keys[duplicate],
            strict=True,
        )
    ]
    helper_columns = [c for c in ("_dedupe", "_personal_data") if c in accepted.columns]
    accepted = accepted.loc[~duplicate].drop(columns=helper_columns)
    accepted.insert(1, "source", source)
    reject_rows += [
        {
            "row_number": int(rows.at[pos, "row_number"]),
            "respondent_id": rows.at[pos, "respondent_id"],
            "status": "quarantined",
            "reason": reason,
        }
        for pos, reason in bad
    ]
    reject_rows += [
        {"row_number": n, "respondent_id": None, "status": "quarantined", "reason": scrub(reason)}
        for n, reason in output.malformed
    ]
    rejects = pd.DataFrame(reject_rows, columns=["row_number", "respondent_id", "status", "reason"])
    rejects = rejects.sort_values("row_number", kind="stable").reset_index(drop=True)
    quarantined = rejects["status"] == "quarantined"

    item_columns = [i for i in instrument.ids if i in accepted.columns]
    text_columns = ["respondent_id", *[c for c in KEPT_METADATA[1:] if c in accepted]]
    demographics = [c for c in DEMOGRAPHIC_FIELDS if c in accepted]
    accepted = accepted[["row_number", *text_columns[:1], "source", *text_columns[1:], *item_columns, "role",
                         *demographics]].reset_index(drop=True)  # fmt: skip
    for column in (*text_columns, "role", *demographics):
        accepted[column] = accepted[column].map(lambda v: None if _blank(v) else scrub(str(v))).astype(object)

    rows_read = len(rows) + len(output.malformed)
    report = {
        "source": source,
        "adapter": adapter,
        "file": path.name,
        "file_sha256": _sha256(path),
        "rows_in_file": rows_read + sum(output.out_of_scope.values()),
        "out_of_scope": sum(output.out_of_scope.values()),
        "out_of_scope_reasons": dict(sorted(output.out_of_scope.items())),
        "rows_read": rows_read,
        "accepted": len(accepted),
        "quarantined": int(quarantined.sum()),
        "duplicates": int(duplicate.sum()),
        "roles": {role: int((accepted["role"] == role).sum()) for role in ROLES},
        "quarantine_reasons": _reason_counts(rejects.loc[quarantined, "reason"]),
        "items_mapped": item_columns,
        "dropped_columns": output.dropped_columns,
        **output.notes,
    }
    if report["rows_read"] != report["accepted"] + report["quarantined"] + report["duplicates"]:
        raise RuntimeError(f"Row accounting failed for {path.name}: {report}")
    return IngestResult(accepted=accepted, rejects=rejects, report=report)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def _reason_counts(reasons: pd.Series) -> dict[str, int]:
    """Count quarantine reasons by their first clause with values removed (for the report)."""
    counts: Counter = Counter()
    for reason in reasons:
        for part in str(reason).split(PROBLEM_SEPARATOR):
            counts[re.sub(r": got .*", ": bad value", part.split(" (")[0])] += 1
    return dict(sorted(counts.items()))


def _sha256(path: Path) -> str:
    from rolefit.bundle import sha256_file

    return sha256_file(path)


def write_ingest(result: IngestResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<source>.parquet``, ``<source>.rejects.csv`` and ``<source>.report.json`` atomically.

    Every file is written under a temporary name first and renamed only when all three are complete,
    so a failure never leaves partial outputs behind. ``rejects.csv`` lists every row that was not
    accepted with its status (``quarantined`` or ``duplicate``) and one reason.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = result.report["source"]
    targets = {
        "accepted": out_dir / f"{source}.parquet",
        "rejects": out_dir / f"{source}.rejects.csv",
        "report": out_dir / f"{source}.report.json",
    }
    writers = {
        "accepted": lambda p: result.accepted.to_parquet(p, index=False),
        "rejects": lambda p: result.rejects.to_csv(p, index=False),
        "report": lambda p: p.write_text(json.dumps(result.report, indent=2, sort_keys=True) + "\n"),
    }
    staged: dict[str, Path] = {}
    try:
        for key, target in targets.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=out_dir)
            os.close(fd)
            staged[key] = Path(tmp)
            writers[key](staged[key])
        for key, target in targets.items():
            staged[key].chmod(0o644)
            os.replace(staged[key], target)
    finally:
        for tmp in staged.values():
            if tmp.exists():
                tmp.unlink()
    return targets


# --------------------------------------------------------------------------------------------------
# survey-derived marginals for the synthetic generator

MARGINAL_ITEMS = (
    "years_coding", "years_ml", "education", "uses_python", "uses_sql", "uses_java", "uses_javascript",
    "uses_cpp", "ml_frameworks_used", "activity_data_analysis", "activity_data_infrastructure",
    "activity_ml_prototypes", "activity_ml_service", "activity_ml_experiments", "activity_ml_research",
)  # fmt: skip


def derive_marginals(frame: pd.DataFrame, instrument: Instrument | None = None) -> pd.DataFrame:
    """Role-conditional shares of every experience level among respondents who answered.

    Binary items give one row (level 1); other items one row per level seen, in order.
    """
    instrument = instrument or load_instrument()
    rows = []
    for item_id in MARGINAL_ITEMS:
        item = instrument[item_id]
        values = frame[item_id]
        if item.kind == "binary":
            levels = ["1"]
        elif item.kind == "choice":
            levels = [c for c in item.choice_ids if (values == c).any()]
        else:
            levels = [f"{v:g}" for v in sorted(values.dropna().unique())]
        for level in levels:
            shares = []
            for role in ("swe", "mle"):
                answered = values[(frame["role"] == role) & values.notna()]
                target = level if item.kind == "choice" else float(level)
                shares.append(round(float((answered == target).mean()), 4))
            rows.append({"item": item_id, "level": level, "swe": shares[0], "mle": shares[1]})
    return pd.DataFrame(rows, columns=["item", "level", "swe", "mle"])


MARGINALS_HEADER = (
    "# Role-conditional marginals of the experience items (share among respondents who answered).\n"
    "# Source: Kaggle Machine Learning & Data Science Survey 2021, training split "
    "(Q5 Software Engineer n={swe} -> swe, Machine Learning Engineer n={mle} -> mle).\n"
    '# Licence: CC BY 2.0; attribution "Kaggle ML & DS Survey 2021". Regenerate with the marginals stage '
    "(dvc repro marginals).\n"
)


def write_marginals(frame: pd.DataFrame, table: pd.DataFrame, path: str | Path) -> Path:
    """Write the marginals CSV with its source and licence header (atomically)."""
    path = Path(path)
    counts = frame["role"].value_counts()
    text = MARGINALS_HEADER.format(swe=int(counts.get("swe", 0)), mle=int(counts.get("mle", 0)))
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return _write_text_atomically(path, text + buffer.getvalue())


def _write_text_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    Path(tmp).chmod(0o644)
    os.replace(tmp, path)
    return path


def reference_rows(frame: pd.DataFrame, params, source: str) -> pd.DataFrame:
    """The rows of ingested ``source`` respondents that the build stage puts in the training split.

    Marginals and profiles are derived from these only, so that nothing the synthetic generator learns
    from a survey comes from that survey's held-out respondents.
    """
    from rolefit.dataset import assign_splits

    labelled = frame.assign(source=source)
    return frame[(assign_splits(labelled, params.build) == "train").to_numpy()]


def write_reference(frame: pd.DataFrame, params) -> dict[str, Path]:
    """Derive and write the survey marginals and experience profiles (stage ``marginals``).

    ``frame`` holds the ingested rows of ``params.marginals.source``; only its training split is used
    (:func:`reference_rows`). Returns the two paths written.
    """
    from rolefit.profiles import fit_profiles, format_profiles, profiles_path

    rows = reference_rows(frame, params, params.marginals.source)
    out = Path(params.marginals.out)
    write_marginals(rows, derive_marginals(rows), out)
    profiles = fit_profiles(rows, list(MARGINAL_ITEMS), params.marginals.profiles, seed=params.marginals.seed)
    counts = {str(k): int(v) for k, v in rows["role"].value_counts().items()}
    text = format_profiles(profiles, counts)
    return {"marginals": out, "profiles": _write_text_atomically(profiles_path(out), text)}


def empty_result(source: str, adapter: str, reason: str) -> IngestResult:
    """The ingest outputs of a source whose file is absent: no rows, and a report that says why."""
    from rolefit.questionnaire import load_instrument

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


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` if the whole file decodes as UTF-8 (BOM or not), else ``latin-1``; reads in blocks."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


def _instrument_chunks(path: Path, chunk_rows: int, by_header: dict[str, str]):
    """Yield ``(mapped frame, malformed rows, dropped columns, bytes read)`` chunk by chunk."""
    import itertools

    with path.open(encoding=detect_encoding(path), newline="") as handle:
        header, records = read_records(handle)
        if not any(_normalise_header(h) in by_header for h in header):
            shown = ", ".join(scrub(h)[:30] for h in header[:5])
            raise ValueError(f"{path.name}: the header names no questionnaire item ({shown} ...).")
        first = True
        while True:
            batch = list(itertools.islice(records, chunk_rows))
            if not batch and not first:
                return
            frame, malformed = _frame_from_records(header, iter(batch))
            mapped, dropped = map_instrument_frame(frame, by_header, path.name)
            yield mapped, malformed, dropped, handle.buffer.tell()
            first = False
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
    :func:`write_ingest` (``rejects.csv`` gains a ``file`` column), written under temporary names and
    renamed only when every file has been read: a failure leaves no partial outputs.
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
            raise ValueError(f"{path.name} is empty: it has no header row.")
    by_header = instrument_headers(instrument)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = list(instrument.ids)
    columns = ["row_number", "respondent_id", "source", "submitted_at", *items, "role", *DEMOGRAPHIC_FIELDS]
    fields = [pa.field(c, pa.float64() if c in items and instrument[c].kind != "choice" else pa.string())
              for c in columns]  # fmt: skip
    fields[0] = pa.field("row_number", pa.int64())
    schema = pa.schema(fields)
    staged = {key: Path(tempfile.mkstemp(prefix=f".{source}.{key}.", dir=out_dir)[1])
              for key in ("accepted", "rejects", "report")}  # fmt: skip
    seen: dict[str, str] = {}
    counts = Counter()
    reasons: Counter = Counter()
    dropped: set[str] = set()
    roles: Counter = Counter()
    writer = pq.ParquetWriter(staged["accepted"], schema)
    total_bytes = sum(p.stat().st_size for p in paths)
    done_bytes = 0
    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), disable=not progress)  # fmt: skip
    try:
        with staged["rejects"].open("w", newline="", encoding="utf-8") as rejects_handle, bar:
            rejects = csv.writer(rejects_handle)
            rejects.writerow(["file", "row_number", "respondent_id", "status", "reason"])
            task = bar.add_task(f"ingesting {source}", total=total_bytes)
            for path in paths:
                for frame, malformed, chunk_dropped, position in _instrument_chunks(
                    path, chunk_rows, by_header
                ):
                    dropped.update(chunk_dropped)
                    counts["rows_read"] += len(frame) + len(malformed)
                    for number, reason in malformed:
                        rejects.writerow([path.name, number, "", "quarantined", scrub(reason)])
                        reasons[reason.split(" (")[0]] += 1
                    frame = frame.reset_index(drop=True)
                    accepted, bad = validate_rows(frame, instrument)
                    for pos, reason in bad:
                        row = [path.name, int(frame.at[pos, "row_number"]), frame.at[pos, "respondent_id"]]
                        rejects.writerow([*row, "quarantined", reason])
                        for part in reason.split(PROBLEM_SEPARATOR):
                            reasons[re.sub(r": got .*", ": bad value", part.split(" (")[0])] += 1
                    counts["quarantined"] += len(malformed) + len(bad)
                    keep = []
                    for index, (number, respondent) in enumerate(
                        zip(accepted["row_number"], accepted["respondent_id"], strict=True)
                    ):
                        if respondent in seen:
                            why = f"duplicate respondent (the first submission, {seen[respondent]}, is kept)"
                            rejects.writerow([path.name, int(number), respondent, "duplicate", why])
                            counts["duplicates"] += 1
                        else:
                            seen[respondent] = f"{path.name} row {int(number)}"
                            keep.append(index)
                    accepted = accepted.iloc[keep]
                    out = pd.DataFrame({c: accepted[c] if c in accepted.columns else None for c in columns})
                    out["source"] = source
                    for column in ("respondent_id", "submitted_at", "role", *DEMOGRAPHIC_FIELDS):
                        out[column] = (
                            out[column].map(lambda v: None if _blank(v) else scrub(str(v))).astype(object)
                        )
                    writer.write_table(pa.Table.from_pandas(out, schema=schema, preserve_index=False))
                    counts["accepted"] += len(out)
                    roles.update(out["role"].tolist())
                    bar.update(task, completed=done_bytes + position)
                done_bytes += path.stat().st_size
        writer.close()
        report = {
            "source": source,
            "adapter": "instrument",
            "files": [p.name for p in paths],
            "file_sha256": {p.name: _sha256(p) for p in paths},
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
        }
        if report["rows_read"] != report["accepted"] + report["quarantined"] + report["duplicates"]:
            raise RuntimeError(f"Row accounting failed for {source}: {report}")
        staged["report"].write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
        targets = {
            "accepted": f"{source}.parquet",
            "rejects": f"{source}.rejects.csv",
            "report": f"{source}.report.json",
        }
        for key, name in targets.items():
            staged[key].chmod(0o644)
            os.replace(staged[key], out_dir / name)
        return report
    finally:
        writer.close()
        for tmp in staged.values():
            if tmp.exists():
                tmp.unlink()
