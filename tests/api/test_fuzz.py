"""Fuzzing: whatever apps send, only InvalidAnswers escapes rolefit.predict, and the API answers 4xx."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rolefit

from .helpers import LOCAL

ITEMS = list(rolefit.questionnaire().ids)
scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats() | st.floats(allow_nan=True, allow_infinity=True) | st.text() | st.binary().map(repr)
    | st.sampled_from(["4", " 5 ", "Very much", "strongly agree", "yes", "NaN", "inf", "-0", "1e400", "４"])
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
keys = st.sampled_from([*ITEMS, "respondent_id", "gender"]) | st.text(max_size=30)
answer_sets = st.dictionaries(keys, values, max_size=12)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def check(answers):
    try:
        p = rolefit.predict(answers)
    except rolefit.InvalidAnswers as exc:
        assert exc.problems
        message = str(exc)
        for key in list(exc.problems)[:20]:
            assert key in message
        return
    assert math.isfinite(p.log_odds) and math.isfinite(p.baseline_log_odds)
    assert 0 <= p.probabilities["mle"] <= 1 and math.isclose(sum(p.probabilities.values()), 1.0)
    assert all(math.isfinite(e["effect"]) for e in p.explanations)


@pytest.fixture(autouse=True)
def _model(champion, use_model):
    use_model(champion[1])


@FUZZ
@given(answer_sets)
def test_predict_only_raises_invalid_answers(answers):
    check(answers)


@FUZZ
@given(st.one_of(values, st.lists(values), st.tuples(values)))
def test_non_mapping_inputs_are_invalid(answers):
    if isinstance(answers, dict):
        check(answers)
        return
    with pytest.raises(rolefit.InvalidAnswers):
        rolefit.predict(answers)


def test_ten_thousand_keys():
    answers = {f"junk_{i}": i for i in range(10_000)} | {"interest_math": 5}
    with pytest.raises(rolefit.InvalidAnswers) as info:
        rolefit.predict(answers)
    assert len(info.value.problems) == 10_000
    assert "and 9980 more" in str(info.value)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, 10**400, 1e308, -0.0, "\\u0000", "５", [5], {"v": 5}]
)
def test_awkward_numbers_and_types(value):
    check({"interest_math": value, "years_coding": value, "career_goal": value, "uses_python": value})


@pytest.mark.slow
def test_rest_api_answers_4xx_and_stays_up(champion):
    from fastapi.testclient import TestClient

    from rolefit.apps.web import create_app

    client = TestClient(create_app(str(champion[1])), base_url=LOCAL)

    @FUZZ
    @given(st.one_of(answer_sets, st.lists(answer_sets, max_size=3), values))
    def fuzz(body):
        import json

        try:
            payload = json.dumps(body, allow_nan=True)
        except (ValueError, OverflowError):
            return
        for path in ("/api/predict", "/api/predict/batch"):
            response = client.post(path, content=payload, headers={"Content-Type": "application/json"})
            assert response.status_code < 500, (path, payload[:200], response.text[:200])

    fuzz()
    assert client.get("/healthz").status_code == 200
