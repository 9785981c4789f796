"""Adapter ``stackoverflow2017``: Stack Overflow Developer Survey 2017 (ODbL 1.0), partial export, read from
the zip; its last line is cut off mid-row and is quarantined."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from rolefit.data.io import AdapterOutput, frame_from_records, open_text, read_records, require_columns

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


def read_stackoverflow_2017(path: Path, member: str | None = None) -> AdapterOutput:
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
    with open_text(path, member=member) as (handle, label):
        header, records = read_records(handle, delimiter=",", label=label)
        require_columns(header, SO_COLUMNS, label, "Stack Overflow Developer Survey 2017")
        frame, malformed = frame_from_records(header, records)
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
