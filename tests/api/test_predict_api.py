"""The public Python API: rolefit.predict, predict_many, questionnaire, InvalidAnswers."""

import importlib
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rolefit
from rolefit.scoring.bundle import BundleError


@pytest.fixture(autouse=True)
def _shipped(champion, use_model):
    use_model(champion[1])


def test_prediction_has_the_documented_shape():
    p = rolefit.predict({"interest_math": 5, "skill_dsa": 2, "career_goal": "applied_scientist"})
    assert p.role in {"swe", "mle"}
    assert set(p.probabilities) == {"swe", "mle"}
    entry = p.explanations[0]
    assert {"item", "question", "answer", "answer_label", "effect", "toward", "reason", "evidence"} <= set(
        entry
    )
    assert entry["question"] == rolefit.questionnaire()[entry["item"]].text
    assert {"basis", "respondents", "sources", "summary"} <= set(entry["evidence"])
    assert "not screening" in p.notice
    assert p.model_version
    assert p.verdict in {"clear", "leaning", "toss-up", "no-information"}
    assert 0 < p.base_rate < 1
    data = json.loads(json.dumps(p.to_dict()))
    assert data["probabilities"] == p.probabilities and data["notice"] == p.notice
    assert data["base_rate"] == p.base_rate and data["explanations"][0]["evidence"] == entry["evidence"]


def test_reasons_are_plain_language():
    p = rolefit.predict(
        {"interest_math": 5, "pref_fast_job_entry": 5, "uses_java": 1, "career_goal": "ai_researcher"}
    )
    reasons = {e["item"]: e["reason"] for e in p.explanations}
    assert reasons["interest_math"].startswith("You enjoy mathematics very much")
    assert "machine learning engineering" in reasons["interest_math"]
    assert reasons["pref_fast_job_entry"].startswith("You strongly agree that you want a job quickly")
    assert "software engineering" in reasons["pref_fast_job_entry"]
    assert (
        reasons["career_goal"]
        == "Your goal is to become: ai researcher, which points toward machine learning engineering (MLE)."
    )


def test_direction_and_reason_follow_the_sign_of_every_effect():
    # a middle answer has a near-zero raw effect; after calibration its direction must still match
    instrument = rolefit.questionnaire()
    full = {i.id: 3 for i in instrument.items if i.kind == "scale"}
    sets = [full, *({item: value} for item in full for value in (1, 2, 3, 4, 5))]
    names = {"mle": "machine learning engineering", "swe": "software engineering"}
    for answers in sets:
        for entry in rolefit.predict(answers).explanations:
            effect = entry["effect"]
            assert entry["toward"] == ("mle" if effect > 0 else "swe" if effect < 0 else "none"), entry
            if effect:
                assert names[entry["toward"]] in entry["reason"], entry


def test_string_and_number_answers_are_the_same():
    a = rolefit.predict({"interest_math": 4, "uses_python": 1, "years_ml": 2})
    b = rolefit.predict({"interest_math": "4", "uses_python": "yes", "years_ml": "2"})
    assert a.to_dict() == b.to_dict()


def test_metadata_is_ignored_and_key_order_does_not_matter():
    answers = {"interest_math": 4, "skill_dsa": 5, "career_goal": "cloud_engineer"}
    base = rolefit.predict(answers).to_dict()
    assert rolefit.predict(dict(reversed(list(answers.items())))).to_dict() == base
    assert rolefit.predict({**answers, "respondent_id": "x1", "country": "Peru"}).to_dict() == base


def test_skipped_answers_do_not_move_the_prediction():
    base = rolefit.predict({"interest_math": 4}).to_dict()
    assert rolefit.predict({"interest_math": 4, "skill_dsa": None, "career_goal": ""}).to_dict() == base


def test_invalid_answers_name_every_offending_item():
    with pytest.raises(rolefit.InvalidAnswers) as info:
        rolefit.predict(
            {
                "interest_mth": 5,
                "skill_dsa": 7,
                "career_goal": "astronaut",
                "uses_python": "maybe",
                "years_ml": -1,
            }
        )
    problems = info.value.problems
    assert set(problems) == {"interest_mth", "skill_dsa", "career_goal", "uses_python", "years_ml"}
    assert "did you mean 'interest_math'" in problems["interest_mth"]
    assert "integer from 1 to 5" in problems["skill_dsa"]
    assert "applied_scientist" in problems["career_goal"]
    message = str(info.value)
    assert all(key in message for key in problems)
    assert isinstance(info.value, ValueError)


def test_non_mapping_input_is_invalid():
    with pytest.raises(rolefit.InvalidAnswers, match="expected a mapping"):
        rolefit.predict([("interest_math", 5)])


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*rolefit.questionnaire().ids, "bogus", "respondent_id"]), junk, max_size=8
    )
)
def test_only_invalid_answers_escape(answers):
    try:
        p = rolefit.predict(answers)
    except rolefit.InvalidAnswers as exc:
        assert exc.problems and all(key in str(exc) for key in list(exc.problems)[:20])
        return
    assert math.isfinite(p.log_odds)
    assert math.isclose(sum(p.probabilities.values()), 1.0)


def test_predict_many_matches_predict():
    frame = pd.DataFrame(
        [
            {"interest_math": 5, "skill_dsa": 1, "career_goal": "applied_scientist"},
            {"interest_coding_puzzles": 5, "years_coding": 12, "uses_java": 1},
            {},
        ],
        index=["a", "b", "c"],
    )
    out = rolefit.predict_many(frame)
    assert list(out.index) == ["a", "b", "c"]
    for key, row in frame.iterrows():
        single = rolefit.predict({k: v for k, v in row.items() if pd.notna(v)})
        assert out.loc[key, "p_mle"] == pytest.approx(single.probabilities["mle"], abs=1e-12)
        assert out.loc[key, "role"] == single.role
        if single.explanations:
            assert out.loc[key, "reason_1"] == single.explanations[0]["item"]
    np.testing.assert_allclose(out["p_swe"] + out["p_mle"], 1.0)


def test_predict_many_with_base_rate_matches_predict():
    frame = pd.DataFrame(
        [
            {"interest_math": 5, "skill_dsa": 1, "career_goal": "applied_scientist", "years_coding": 2},
            {"interest_coding_puzzles": 5, "years_coding": 12, "uses_java": 1},
            {"interest_math": 3},
            {},
        ]
    )
    default = rolefit.predict_many(frame)
    out = rolefit.predict_many(frame, base_rate=0.04)
    assert (out["p_mle"] < default["p_mle"]).all()
    for key, row in frame.iterrows():
        answers = {k: v for k, v in row.items() if pd.notna(v)}
        single = rolefit.predict(answers, base_rate=0.04)
        assert out.loc[key, "p_mle"] == pytest.approx(single.probabilities["mle"], abs=1e-12)
        assert out.loc[key, "verdict"] == single.verdict
        assert out.loc[key, "prediction_set"] == ",".join(single.prediction_set)
        assert out.loc[key, "role"] == single.role
    assert out.loc[3, "verdict"] == "no-information" and out.loc[3, "p_mle"] == pytest.approx(0.04)
    for bad in (0, 1, 1.5, -0.1, "x"):
        with pytest.raises(rolefit.InvalidAnswers) as info:
            rolefit.predict_many(frame, base_rate=bad)
        assert set(info.value.problems) == {"base_rate"}


def test_predict_many_reports_every_bad_cell():
    frame = pd.DataFrame({"interest_math": [5, 9, "x"], "skil_dsa": [1, 2, 3]})
    with pytest.raises(rolefit.InvalidAnswers) as info:
        rolefit.predict_many(frame)
    assert set(info.value.problems) == {"row 1: interest_math", "row 2: interest_math", "skil_dsa"}


def test_predict_many_in_chunks_equals_one_pass_and_reports_bad_cells_of_every_chunk(monkeypatch):
    # where predict_many reads CHUNK_ROWS (imported here: run alone, nothing has imported it yet)
    module = importlib.import_module("rolefit.scoring.frames")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "interest_math": rng.integers(1, 6, 50),
            "skill_dsa": rng.integers(1, 6, 50),
            "years_coding": rng.choice([0.5, 2.0, 12.0, np.nan], 50),
            "career_goal": rng.choice(["applied_scientist", "cloud_engineer", None], 50),
        },
        index=[f"r{i}" for i in range(50)],
    )
    whole = rolefit.predict_many(frame, top_k=5)
    monkeypatch.setattr(module, "CHUNK_ROWS", 7)
    chunked = rolefit.predict_many(frame, top_k=5)
    pd.testing.assert_frame_equal(chunked, whole)
    frame.loc["r3", "interest_math"] = 9
    frame.loc["r48", "skill_dsa"] = 0
    with pytest.raises(rolefit.InvalidAnswers) as info:
        rolefit.predict_many(frame)
    assert set(info.value.problems) == {"row r3: interest_math", "row r48: skill_dsa"}


@pytest.mark.slow
def test_predict_many_with_reasons_needs_less_memory_than_its_input():
    """One million rows with top-3 reasons: memory beyond the input frame stays below the frame's size."""
    import tracemalloc

    rng = np.random.default_rng(0)
    instrument = rolefit.questionnaire()
    n = 1_000_000
    columns = {}
    for item in instrument.items:
        if item.kind == "choice":
            columns[item.id] = pd.Categorical.from_codes(
                rng.integers(0, len(item.choice_ids), n), categories=list(item.choice_ids)
            )
        else:
            low, high = item.bounds
            columns[item.id] = rng.integers(int(low), int(high) + 1, n).astype(float)
    frame = pd.DataFrame(columns)
    size = frame.memory_usage(deep=True).sum()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        out = rolefit.predict_many(frame, top_k=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(out) == n and out["reason_3"].notna().any()
    extra = peak - before
    print(f"input {size / 1e6:.0f} MB, extra peak {extra / 1e6:.0f} MB")
    assert extra < size, f"scoring needed {extra / 1e6:.0f} MB beside a {size / 1e6:.0f} MB frame"


def test_unprintable_answers_are_invalid_answers_not_crashes():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(rolefit.InvalidAnswers) as info:
        rolefit.predict({"interest_math": deep})
    assert "unprintable list" in info.value.problems["interest_math"]
    frame = pd.DataFrame({"interest_math": pd.Series([3, 10**5000], dtype=object)})
    with pytest.raises(rolefit.InvalidAnswers) as info:
        rolefit.predict_many(frame)
    assert "more than 20 digits" in info.value.problems["row 1: interest_math"]


def test_rolefit_model_env_points_to_another_bundle(use_model, tmp_path):
    use_model(tmp_path / "missing")
    with pytest.raises(BundleError, match="rolefit train"):
        rolefit.predict({"interest_math": 5})


def test_questionnaire_is_exposed():
    q = rolefit.questionnaire()
    assert len(q) == 44 + 10 and q.to_dict()["items"][0]["id"] == "interest_building_products"


def test_import_is_light():
    import subprocess
    import sys

    heavy = ("sklearn", "pandas", "mlflow", "dvc", "matplotlib", "scipy")
    code = f"import sys, rolefit; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_boolean_columns_score_in_frames():
    frame = pd.DataFrame({"uses_python": [True, False], "interest_math": [5, 1]})
    out = rolefit.predict_many(frame)
    singles = [rolefit.predict({"uses_python": b, "interest_math": m}) for b, m in ((True, 5), (False, 1))]
    assert list(out["p_mle"]) == pytest.approx([s.probabilities["mle"] for s in singles], abs=1e-12)
    with pytest.raises(rolefit.InvalidAnswers):
        rolefit.predict_many(pd.DataFrame({"interest_math": [True, False]}))
