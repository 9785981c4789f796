"""Contracts on ingested survey data: adapters, quarantine, de-duplication, accounting, privacy."""

import csv
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from rolefit.data.ingest import ingest, write_ingest
from rolefit.data.reference import reference_rows, write_reference
from rolefit.instrument.items import load_instrument

from ..conftest import ROOT

SURVEYS = ROOT.parent / "shared" / "data" / "surveys"
KAGGLE = SURVEYS / "kaggle-survey-2021.zip"
STACKOVERFLOW = SURVEYS / "stackoverflow-survey-2017-partial.zip"
needs_surveys = pytest.mark.skipif(
    not KAGGLE.exists(), reason="../shared/data/surveys is not beside this clone"
)
INSTRUMENT = load_instrument()


def accounting_holds(report):
    assert report["rows_in_file"] == report["rows_read"] + report["out_of_scope"]
    assert report["rows_read"] == report["accepted"] + report["quarantined"] + report["duplicates"]


def check_contract(frame):
    """Accepted rows obey the questionnaire schema and carry no free text."""
    allowed = {
        "row_number",
        "respondent_id",
        "source",
        "submitted_at",
        "role",
        "gender",
        "age_band",
        "country",
    }
    assert set(frame.columns) <= allowed | set(INSTRUMENT.ids)
    assert frame["role"].isin(["swe", "mle"]).all()
    assert frame["respondent_id"].is_unique
    for item in INSTRUMENT.items:
        if item.id in frame.columns:
            for value in frame[item.id].dropna().unique():
                assert item.coerce(value) == value, (item.id, value)


@pytest.fixture(scope="module")
def kaggle():
    return ingest(KAGGLE, "kaggle2021")


@pytest.fixture(scope="module")
def stackoverflow():
    return ingest(STACKOVERFLOW, "stackoverflow2017")


KAGGLE_ENGINEERS = ("Software Engineer", "Machine Learning Engineer")
NEVER_CODED = "I have never written code"
NO_ML = "I do not use machine learning methods"
LANGUAGES = ("uses_python", "uses_sql", "uses_java", "uses_javascript", "uses_cpp")
ACTIVITIES = tuple(item.id for item in INSTRUMENT.items if item.id.startswith("activity_"))


@pytest.fixture(scope="module")
def kaggle_raw():
    """The real Kaggle export's Software / ML Engineer rows as pandas reads them (not the adapter),
    indexed by ``row_number`` (1 = the first respondent, after the question-text row)."""
    with zipfile.ZipFile(KAGGLE) as archive, archive.open("kaggle_survey_2021_responses.csv") as handle:
        raw = pd.read_csv(handle, dtype=str, keep_default_na=False, skiprows=[1])
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row_number")
    raw = raw[raw["Q5"].str.strip().isin(KAGGLE_ENGINEERS)]
    return raw.apply(lambda column: column.str.strip())


@pytest.fixture(scope="module")
def kaggle_rows(kaggle, kaggle_raw):
    """The adapter's accepted rows aligned with ``kaggle_raw`` (every engineer row is accepted)."""
    rows = kaggle.accepted.set_index("row_number")
    assert sorted(rows.index) == sorted(kaggle_raw.index)
    return rows.loc[kaggle_raw.index]


def answered(raw, question):
    """Whether each raw row ticked any option of a multi-select question (``Q7`` -> Q7_Part_*, Q7_OTHER)."""
    columns = [c for c in raw.columns if c.startswith(f"{question}_Part_") or c == f"{question}_OTHER"]
    assert columns, question
    return (raw[columns] != "").any(axis=1)


@needs_surveys
@pytest.mark.slow
def test_kaggle_2021_yields_its_engineers_with_exact_accounting(kaggle):
    report = kaggle.report
    accounting_holds(report)
    assert report["rows_in_file"] == 25_973
    assert report["rows_read"] == 2_449 + 1_499
    # every Software / ML Engineer row maps cleanly and none is a duplicate: nothing to subtract
    assert report["quarantined"] == 0 and report["duplicates"] == 0
    assert report["roles"] == {"swe": 2_449, "mle": 1_499}
    assert len(kaggle.rejects) == report["quarantined"] + report["duplicates"]
    check_contract(kaggle.accepted)
    # only what the survey asked is mapped: psychometric items stay missing
    assert "interest_math" not in kaggle.accepted.columns
    assert set(kaggle.accepted[["gender", "age_band", "country"]].columns) == {
        "gender",
        "age_band",
        "country",
    }
    assert report["licence"] == "CC BY 2.0"


@needs_surveys
@pytest.mark.slow
def test_kaggle_mapping_spot_checks(kaggle):
    frame = kaggle.accepted
    mle, swe = frame[frame["role"] == "mle"], frame[frame["role"] == "swe"]
    assert mle["activity_ml_service"].mean() > swe["activity_ml_service"].mean() + 0.2
    assert swe["uses_javascript"].mean() > mle["uses_javascript"].mean() + 0.2
    assert set(frame["education"].dropna()) <= set(INSTRUMENT["education"].choice_ids)
    assert set(frame["years_coding"].dropna()) <= {0.0, 0.5, 2.0, 4.0, 7.5, 15.0, 25.0}


@needs_surveys
@pytest.mark.slow
def test_kaggle_never_coded_were_not_asked_languages_or_ml_so_those_are_missing(kaggle_raw, kaggle_rows):
    never = kaggle_raw["Q6"] == NEVER_CODED
    raw, rows = kaggle_raw[never], kaggle_rows[never.to_numpy()]
    assert len(raw) > 0 and len(rows) == len(raw)
    # the routing, from the raw file: no one who never wrote code has a Q7, Q15 or Q16 answer
    assert not answered(raw, "Q7").any()
    assert (raw["Q15"] == "").all()
    assert not answered(raw, "Q16").any()
    # so those items are missing, not 0; their own answer to Q6 is a real 0
    assert (rows["years_coding"] == 0).all()
    for item in ("years_ml", "ml_frameworks_used", *LANGUAGES):
        assert rows[item].isna().all(), item
    # ... but they were shown Q24 (it asks everyone employed) and their answers are kept
    shown_q24 = answered(raw, "Q24")
    assert shown_q24.sum() > 0
    for item in ACTIVITIES:
        assert (rows[item].notna() == shown_q24.to_numpy()).all(), item


@needs_surveys
@pytest.mark.slow
def test_kaggle_no_ml_were_not_asked_frameworks_so_the_count_is_missing(kaggle_raw, kaggle_rows):
    no_ml = kaggle_raw["Q15"] == NO_ML
    raw, rows = kaggle_raw[no_ml], kaggle_rows[no_ml.to_numpy()]
    assert len(raw) > 0
    assert not answered(raw, "Q16").any()  # the routing: Q16 was not shown to them
    assert rows["ml_frameworks_used"].isna().all()
    # they answered Q15 ("I do not use ...") and Q7: those are answers
    assert (rows["years_ml"] == 0).all()
    assert answered(raw, "Q7").all()
    for item in LANGUAGES:
        assert rows[item].notna().all(), item


@needs_surveys
@pytest.mark.slow
def test_kaggle_explicit_none_answers_are_zero(kaggle_raw, kaggle_rows):
    cases = [
        (kaggle_raw["Q7_Part_12"] == "None", LANGUAGES),
        (kaggle_raw["Q16_Part_17"] == "None", ("ml_frameworks_used",)),
        (kaggle_raw["Q24_Part_7"] != "", ACTIVITIES),  # "None of these activities ..."
    ]
    for ticked, items in cases:
        assert ticked.sum() > 0, items
        rows = kaggle_rows[ticked.to_numpy()]
        for item in items:
            assert (rows[item] == 0).all(), item


@needs_surveys
@pytest.mark.slow
def test_kaggle_items_are_missing_exactly_where_the_raw_answer_is_blank(kaggle_raw, kaggle_rows):
    """Every mapped item against the raw file: missing iff not shown or left blank, else the answer."""
    raw, rows = kaggle_raw, kaggle_rows
    for question, items in (("Q7", LANGUAGES), ("Q16", ("ml_frameworks_used",)), ("Q24", ACTIVITIES)):
        shown = answered(raw, question).to_numpy()
        assert shown.sum() > 0 and (~shown).sum() > 0, question
        for item in items:
            assert (rows[item].notna().to_numpy() == shown).all(), item
    # an answered Q16 gives the count of the 16 named frameworks ticked ("None" and "Other" not counted)
    named = (raw[[f"Q16_Part_{i}" for i in range(1, 17)]] != "").sum(axis=1).astype(float)
    counted = answered(raw, "Q16").to_numpy()
    np.testing.assert_array_equal(rows["ml_frameworks_used"].to_numpy()[counted], named.to_numpy()[counted])
    assert (named[counted] > 0).sum() > 0
    # languages: ticked -> 1, not ticked (block answered) -> 0
    ticks = {"uses_python": ("Q7_Part_1", "Python"), "uses_cpp": ("Q7_Part_5", "C++")}
    q7 = answered(raw, "Q7").to_numpy()
    for item, (column, label) in ticks.items():
        expected = (raw[column] == label).astype(float).to_numpy()
        np.testing.assert_array_equal(rows[item].to_numpy()[q7], expected[q7])
    # single-choice questions: blank (and "prefer not to answer") is missing
    np.testing.assert_array_equal(rows["years_ml"].isna().to_numpy(), (raw["Q15"] == "").to_numpy())
    np.testing.assert_array_equal(rows["years_coding"].isna().to_numpy(), (raw["Q6"] == "").to_numpy())
    undisclosed = raw["Q4"].isin(["", "I prefer not to answer"]).to_numpy()
    assert undisclosed.sum() > 0
    np.testing.assert_array_equal(rows["education"].isna().to_numpy(), undisclosed)
    # no experience item of a respondent who never answered its question is 0
    never_shown = {
        "years_ml": raw["Q15"] == "",
        "ml_frameworks_used": ~answered(raw, "Q16"),
        **dict.fromkeys(LANGUAGES, ~answered(raw, "Q7")),
        **dict.fromkeys(ACTIVITIES, ~answered(raw, "Q24")),
    }
    for item, blank in never_shown.items():
        assert not (rows[item].to_numpy()[blank.to_numpy()] == 0).any(), item


@needs_surveys
@pytest.mark.slow
def test_kaggle_tools_questions_are_yes_no_items_missing_where_the_question_is_blank(kaggle, kaggle_raw):
    """Issue #26 item 2: every candidate multi-choice question against the raw file (the adapter's rows,
    before ingest keeps only the questions the instrument asks): missing iff no option of the question
    was ticked (not shown, or left blank); otherwise 1 for an option ticked, 0 for one not ticked."""
    from rolefit.data.adapters.kaggle2021 import KAGGLE_TOOL_QUESTIONS, read_kaggle_2021

    rows = read_kaggle_2021(KAGGLE).rows.set_index("row_number").loc[kaggle_raw.index]
    for prefix, tools in KAGGLE_TOOL_QUESTIONS.values():
        shown = answered(kaggle_raw, prefix).to_numpy()
        assert (~shown).sum() > 0 and shown.sum() > 800, prefix
        for item, parts in tools.items():
            values = rows[item].astype(float).to_numpy()
            np.testing.assert_array_equal(np.isnan(values), ~shown, err_msg=item)
            ticked = (kaggle_raw[[f"{prefix}_Part_{n}" for n in parts]] != "").any(axis=1).to_numpy()
            np.testing.assert_array_equal(values[shown], ticked[shown].astype(float), err_msg=item)
    # the instrument asks the kept questions: ingest keeps exactly their items
    kept = {i for q in INSTRUMENT.questions for i in q.items}
    all_tools = {i for _, tools in KAGGLE_TOOL_QUESTIONS.values() for i in tools}
    accepted = kaggle.accepted
    assert kept and kept <= set(accepted.columns) and not (all_tools - kept) & set(accepted.columns)


@needs_surveys
@pytest.mark.slow
def test_committed_marginals_and_profiles_are_derived_from_kaggle_training_split(kaggle, tmp_path):
    from rolefit.config import load_params

    params = load_params(ROOT / "params.yaml")
    out = str(tmp_path / "survey_marginals.csv")
    params = params.model_copy(update={"marginals": params.marginals.model_copy(update={"out": out})})
    paths = write_reference(kaggle.accepted, params)
    reference = ROOT / "data/reference"
    assert paths["marginals"].read_text() == (reference / "survey_marginals.csv").read_text()
    assert paths["profiles"].read_text() == (reference / "survey_marginals.profiles.csv").read_text()
    # only the training split: no held-out Kaggle respondent shapes what the generator learns
    used = reference_rows(kaggle.accepted, params, "kaggle2021")
    assert 0.5 < len(used) / len(kaggle.accepted) < 0.6
    assert f"n={(used['role'] == 'mle').sum()} -> mle" in paths["profiles"].read_text()


@needs_surveys
@pytest.mark.slow
def test_stackoverflow_cut_off_line_is_quarantined_and_every_row_accounted(stackoverflow):
    result = stackoverflow
    report = result.report
    accounting_holds(report)
    assert report["rows_in_file"] == 19_102  # 19,101 whole rows and the cut-off one
    cut = result.rejects[result.rejects["row_number"] == 19_102]
    assert len(cut) == 1 and "32 fields" in cut["reason"].iloc[0]
    assert report["roles"]["mle"] == 488
    check_contract(result.accepted)
    assert report["licence"] == "ODbL 1.0"


@needs_surveys
@pytest.mark.slow
def test_stackoverflow_na_is_missing_never_zero(stackoverflow):
    """Every "NA" (not shown or not answered) of a mapped column is missing, against the raw file."""
    with zipfile.ZipFile(STACKOVERFLOW) as archive:
        text = archive.read("survey_results_public.csv").decode("utf-8-sig")
    whole = text[: text.rstrip("\n").rfind("\n") + 1]  # the last line is cut off mid-row
    raw = pd.read_csv(io.StringIO(whole), dtype=str, keep_default_na=False)
    raw.index = "so2017-" + raw["Respondent"]
    rows = stackoverflow.accepted.set_index("respondent_id")
    raw = raw.loc[rows.index]
    # DeveloperType (the label) was shown only to professional developers
    assert (raw["Professional"] == "Professional developer").mean() > 0.99
    mapped = {
        "interest_building_products": raw["BuildingThings"] == "NA",
        "interest_debugging": raw["EnjoyDebugging"] == "NA",
        "interest_coding_puzzles": raw["ProblemSolving"] == "NA",
        "pref_immediate_results": raw["ShipIt"] == "NA",
        "years_coding": raw["YearsProgram"] == "NA",
        "education": raw["FormalEducation"].isin(["I prefer not to answer", "Professional degree"]),
        **dict.fromkeys(LANGUAGES, raw["HaveWorkedLanguage"] == "NA"),
    }
    for item, blank in mapped.items():
        assert blank.sum() > 0 and (~blank).sum() > 0, item
        np.testing.assert_array_equal(rows[item].isna().to_numpy(), blank.to_numpy(), err_msg=item)
    # a language is 0 only for someone who ticked other languages
    languages = raw["HaveWorkedLanguage"].map(lambda s: {t.strip() for t in s.split(";")})
    for item, token in (("uses_python", "Python"), ("uses_cpp", "C++"), ("uses_javascript", "JavaScript")):
        answered_block = (raw["HaveWorkedLanguage"] != "NA").to_numpy()
        expected = languages.map(lambda t, token=token: float(token in t)).to_numpy()
        np.testing.assert_array_equal(rows[item].to_numpy()[answered_block], expected[answered_block])
    # what Stack Overflow did not ask is never filled in
    for item in ("years_ml", "ml_frameworks_used", *ACTIVITIES):
        assert item not in rows.columns or rows[item].isna().all(), item


GOOD = [
    # id, interest_math (words or numbers), coding puzzles (header is the question's text), goal (id or
    # label), years of coding, uses Python (header is the question's text), role
    ("r01", "Very much", "2", "Applied scientist", "3", "yes", "mle"),
    ("r02", "Not at all", "5", "Full-stack developer", "10", "no", "swe"),
    ("r03", "4", "Quite a bit", "ai_researcher", "1.5", "1", "MLE"),
    ("r04", "2", "4", "cloud_engineer", "", "0", "swe"),
    ("r05", "", "", "", "", "", "swe"),
]
BROKEN = {
    "b01": (("b01", "7", "3", "undecided", "2", "1", "swe"), "interest_math: got '7'"),
    "b02": (("b02", "3", "3", "astronaut", "2", "1", "swe"), "career_goal: got 'astronaut'"),
    "b03": (("b03", "Very mutch", "3", "undecided", "2", "1", "mle"), "interest_math: got 'Very mutch'"),
    "b04": (("b04", "3", "3", "undecided", "2", "1", ""), "role: missing label"),
    "b05": (("b05", "3", "3", "undecided", "2", "1", "data scientist"), "role: got 'data scientist'"),
    "b06": (("b06", "3", "3", "undecided", "60", "1", "swe"), "years_coding: got '60'"),
    "b07": (("b07", "3", "3", "undecided", "2", "maybe", "swe"), "uses_python: got 'maybe'"),
    "b08": (("b08", "3.5", "3", "undecided", "2", "1", "swe"), "interest_math: got '3.5'"),
    "b09": (("b09", "3", "3", "undecided", "2", "1", "mle"), "personal data: an e-mail address"),
    "r01": (("r01", "1", "1", "undecided", "2", "1", "swe"), "duplicate respondent"),
}
HEADER = [
    "respondent_id", "interest_math",
    "How much do you enjoy solving coding puzzles (LeetCode-style problems)?",
    "career_goal", "years_coding", "Do you use Python regularly?", "role", "comments", "Name",
]  # fmt: skip


def write_export(path):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        rows = [(*g, "great survey", "") for g in GOOD]
        for key, (values, _) in BROKEN.items():
            comment = "reach me at jane.doe@example.com" if key == "b09" else "ok"
            rows.append((*values, comment, "Jane Doe" if key == "b09" else ""))
        for row in rows[:3] + rows[5:9] + rows[3:5] + rows[9:]:
            writer.writerow(row)


def test_own_instrument_export_quarantines_each_broken_row_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLEFIT_ID_KEY", "a test key that is long enough")
    path = tmp_path / "form_export.csv"
    write_export(path)
    result = ingest(path, "instrument")
    report = result.report
    accounting_holds(report)
    assert report["rows_read"] == len(GOOD) + len(BROKEN)
    assert report["accepted"] == len(GOOD) and report["quarantined"] == 9 and report["duplicates"] == 1
    assert {"comments", "Name"} <= set(report["dropped_columns"])
    # every good row accepted with normalised answers
    accepted = result.accepted.set_index("row_number")
    assert len(accepted) == 5
    first = result.accepted.iloc[0]
    assert first["interest_math"] == 5.0 and first["interest_coding_puzzles"] == 2.0
    assert first["career_goal"] == "applied_scientist" and first["uses_python"] == 1.0
    assert (
        result.accepted.iloc[2]["role"] == "mle" and result.accepted.iloc[2]["interest_coding_puzzles"] == 4.0
    )
    # every broken row quarantined (or dropped as a duplicate) with the right reason
    pseudonyms = dict(zip(result.rejects["respondent_id"], result.rejects["reason"], strict=True))
    assert len(result.rejects) == len(BROKEN)
    from rolefit.data.ids import pseudonym

    key = b"a test key that is long enough"
    for raw_id, (_, reason) in BROKEN.items():
        assert reason in pseudonyms[pseudonym(raw_id, key)], raw_id
    # the duplicate keeps the first submission
    kept = result.accepted[result.accepted["respondent_id"] == pseudonym("r01", key)]
    assert kept["interest_math"].iloc[0] == 5.0

    # no e-mail address, name or free text anywhere in the outputs
    paths = write_ingest(result, tmp_path / "interim")
    for output in paths.values():
        data = output.read_bytes()
        for secret in (b"jane.doe", b"example.com", b"Jane Doe", b"great survey", b"r01"):
            assert secret not in data, (output.name, secret)


def test_reingest_changes_nothing(tmp_path):
    path = tmp_path / "form_export.csv"
    write_export(path)
    first = {k: p.read_bytes() for k, p in write_ingest(ingest(path, "instrument"), tmp_path / "a").items()}
    second = {k: p.read_bytes() for k, p in write_ingest(ingest(path, "instrument"), tmp_path / "a").items()}
    assert first == second
    report = json.loads(first["report"])
    assert report["file_sha256"] and report["accepted"] == 5


def test_excel_export_with_title_rows(tmp_path):
    path = tmp_path / "form.xlsx"
    rows = [["rolefit survey export", None, None], ["exported 2026-11-01", None, None]]
    rows += [["respondent_id", "interest_math", "role"]]
    rows += [["x1", "Very much", "mle"], ["x2", 2, "swe"], ["x3", 9, "swe"]]
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    result = ingest(path, "instrument")
    accounting_holds(result.report)
    assert result.report["accepted"] == 2 and result.report["quarantined"] == 1
    assert list(result.accepted["interest_math"]) == [5.0, 2.0]


def test_missing_role_column_is_a_clear_error(tmp_path):
    path = tmp_path / "no_label.csv"
    path.write_text("respondent_id,interest_math\nx,3\n")
    with pytest.raises(ValueError, match="no 'role' column"):
        ingest(path, "instrument")


def test_unknown_adapter_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Unknown adapter 'nope'"):
        ingest(tmp_path / "x.csv", "nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest(tmp_path / "x.csv", "instrument")


def test_own_export_accepts_role_labels_and_survives_when_no_row_is_valid(tmp_path):
    path = tmp_path / "labels.csv"
    rows = [["interest_math", "role"], ["5", "Machine Learning Engineer"], ["2", " software  engineer "],
            ["3", "ML engineer"], ["4", "data scientist"]]  # fmt: skip
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = ingest(path, "instrument")
    assert result.accepted["role"].tolist() == ["mle", "swe", "mle"]
    assert result.report["quarantined"] == 1
    assert "allowed: swe or mle" in result.rejects["reason"].iloc[0]
    # every row invalid: everything is quarantined and accounted for, nothing crashes
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as handle:
        csv.writer(handle).writerows([["interest_math", "role"], ["5", "astronaut"], ["9", "swe"]])
    empty = ingest(bad, "instrument")
    assert len(empty.accepted) == 0 and empty.report["quarantined"] == 2
    assert empty.report["rows_read"] == empty.report["accepted"] + empty.report["quarantined"]
