"""Adapter ``kaggle2021``: Kaggle Machine Learning & Data Science Survey 2021 (CC BY 2.0), from the zip."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from rolefit.data.io import AdapterOutput, frame_from_records, open_text, read_records, require_columns

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


#: The chooser-answerable multi-select questions of Kaggle 2021 (issue #26 item 2), each asked by rolefit
#: as one multi-choice question stored as yes/no items: question id -> (column prefix, {item id: the
#: part numbers whose tick means yes}). Q9's "Jupyter Notebook" (part 11) and "Jupyter (JupyterLab,
#: ...)" (part 1) are one item. Only the questions the instrument asks reach the dataset (ingest keeps
#: instrument items); the others are read for :mod:`rolefit.model.item_gains`, which measured them.
KAGGLE_TOOL_QUESTIONS: dict[str, tuple[str, dict[str, tuple[int, ...]]]] = {
    "ml_algorithms": ("Q17", {"algo_linear_models": (1,), "algo_tree_ensembles": (2,),
        "algo_gradient_boosting": (3,), "algo_bayesian": (4,), "algo_evolutionary": (5,),
        "algo_dense_networks": (6,), "algo_cnns": (7,), "algo_gans": (8,), "algo_rnns": (9,),
        "algo_transformers": (10,)}),
    "ml_framework_names": ("Q16", {"fw_scikit_learn": (1,), "fw_tensorflow": (2,), "fw_keras": (3,),
        "fw_pytorch": (4,), "fw_fastai": (5,), "fw_mxnet": (6,), "fw_xgboost": (7,), "fw_lightgbm": (8,),
        "fw_catboost": (9,), "fw_prophet": (10,), "fw_h2o": (11,), "fw_caret": (12,),
        "fw_tidymodels": (13,), "fw_jax": (14,), "fw_pytorch_lightning": (15,), "fw_huggingface": (16,)}),
    "ides": ("Q9", {"ide_jupyter": (1, 11), "ide_rstudio": (2,), "ide_visual_studio": (3,),
        "ide_vscode": (4,), "ide_pycharm": (5,), "ide_spyder": (6,), "ide_notepadpp": (7,),
        "ide_sublime": (8,), "ide_vim_emacs": (9,), "ide_matlab": (10,)}),
    "hosted_notebooks": ("Q10", {"notebook_kaggle": (1,), "notebook_colab": (2,), "notebook_azure": (3,),
        "notebook_paperspace": (4,), "notebook_binder": (5,), "notebook_code_ocean": (6,),
        "notebook_watson": (7,), "notebook_sagemaker": (8,), "notebook_emr": (9,),
        "notebook_google_cloud": (10,), "notebook_datalab": (11,), "notebook_databricks": (12,),
        "notebook_zeppelin": (13,), "notebook_deepnote": (14,), "notebook_observable": (15,)}),
    "nlp_methods": ("Q19", {"nlp_word_embeddings": (1,), "nlp_encoder_decoder": (2,),
        "nlp_contextual_embeddings": (3,), "nlp_transformer_models": (4,)}),
    "course_platforms": ("Q40", {"course_coursera": (1,), "course_edx": (2,), "course_kaggle_learn": (3,),
        "course_datacamp": (4,), "course_fastai": (5,), "course_udacity": (6,), "course_udemy": (7,),
        "course_linkedin": (8,), "course_cloud_certification": (9,), "course_university": (10,)}),
    "cloud_platforms": ("Q27_A", {"cloud_aws": (1,), "cloud_azure": (2,), "cloud_gcp": (3,),
        "cloud_ibm": (4,), "cloud_oracle": (5,), "cloud_sap": (6,), "cloud_salesforce": (7,),
        "cloud_vmware": (8,), "cloud_alibaba": (9,), "cloud_tencent": (10,)}),
}  # fmt: skip


#: Every column the adapter reads (a file without them is not this survey's export).
KAGGLE_COLUMNS = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q15", *KAGGLE_LANGUAGES.values(),
                  *(f"Q16_Part_{i}" for i in range(1, 17)), *KAGGLE_ACTIVITIES.values())  # fmt: skip


def read_kaggle_2021(path: Path, member: str | None = None) -> AdapterOutput:
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
    * Q9 IDEs, Q10 hosted notebooks, Q16 ML frameworks (by name), Q17 ML algorithms, Q19 NLP methods,
      Q27_A cloud platforms, Q40 course platforms -> the yes/no items of :data:`KAGGLE_TOOL_QUESTIONS`
      (each question's own routing, e.g. Q16/Q17 not shown to "no ML", Q19 only to users of recurrent
      or transformer networks, Q27_A only to the employed): an answered block (any option, including
      "None" or "Other" only) -> 0/1 per item; a blank block -> missing. An export without a
      question's columns leaves its items missing.
    * Q1 age, Q2 gender, Q3 country -> ``age_band``, ``gender``, ``country``: demographics for the
      fairness audit only, never model inputs.

    Row 2 of the file (question text) is not a respondent. Answers are stripped of stray spaces.
    """
    with open_text(path, member=member) as (handle, label):
        header, records = read_records(handle, delimiter=",", label=label)
        require_columns(header, KAGGLE_COLUMNS, label, "Kaggle ML & DS Survey 2021")
        frame, malformed = frame_from_records(header, records)
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
    for prefix, tools in KAGGLE_TOOL_QUESTIONS.values():
        parts = [c for c in kept.columns if c.startswith(f"{prefix}_Part_") or c == f"{prefix}_OTHER"]
        if not parts:
            continue
        answered = pd.concat([has(c) for c in parts], axis=1).any(axis=1)
        for item, numbers in tools.items():
            ticks = [has(f"{prefix}_Part_{n}") for n in numbers if f"{prefix}_Part_{n}" in kept.columns]
            ticked = pd.concat(ticks, axis=1).any(axis=1) if ticks else pd.Series(False, index=kept.index)
            out[item] = ticked.astype(float).where(answered).to_numpy()
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
