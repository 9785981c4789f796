"""The REST API (FastAPI) in-process with httpx, and a schemathesis run against its OpenAPI spec."""

import json

import pytest
from fastapi.testclient import TestClient

import rolefit

from .helpers import LOCAL, check_evidence


@pytest.fixture(scope="module")
def client(champion):
    from rolefit.apps.web import create_app

    with TestClient(create_app(str(champion[1])), base_url=LOCAL) as c:
        yield c


def test_healthz_reports_the_model_version(client, champion):
    body = client.get("/healthz").json()
    manifest = json.loads((champion[1] / "manifest.json").read_text())
    assert body["status"] == "ok" and body["model_version"] == manifest["model_version"]
    # which model answers, as every prediction says it
    assert body["model"] == client.post("/api/predict", json={"interest_math": 5}).json()["model"]
    assert body["model"]["chosen_by"] == "argument" and body["model"]["version"] == manifest["model_version"]


def test_questionnaire_endpoint(client):
    body = client.get("/api/questionnaire").json()
    assert len(body["items"]) == len(rolefit.questionnaire())
    assert [g["id"] for g in body["groups"]] == [
        "interests",
        "skills",
        "preferences",
        "goal",
        "experience",
        "tools",
    ]


def test_predict_matches_the_library(client, champion, use_model):
    use_model(champion[1])
    answers = {"interest_math": 5, "skill_dsa": "2", "career_goal": "applied_scientist"}
    response = client.post("/api/predict", json=answers)
    assert response.status_code == 200
    # the server was given the bundle as its model (chosen_by "argument"): so is the library here
    library = rolefit.predict(answers, model=str(champion[1]))
    assert response.json() == json.loads(json.dumps(library.to_dict()))


def test_invalid_answers_get_422_naming_every_item(client):
    response = client.post(
        "/api/predict", json={"interest_mth": 5, "skill_dsa": 9, "career_goal": "astronaut"}
    )
    assert response.status_code == 422
    problems = {p["item"]: p["problem"] for p in response.json()["problems"]}
    assert set(problems) == {"interest_mth", "skill_dsa", "career_goal"}
    assert "did you mean 'interest_math'" in problems["interest_mth"]
    assert "integer from 1 to 5" in problems["skill_dsa"]
    assert "applied_scientist" in problems["career_goal"]
    assert (
        client.post(
            "/api/predict", content=b"{nope", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post("/api/predict", json=[1, 2]).status_code == 422


def test_body_over_64_kb_gets_413(client):
    big = {"respondent_id": "x" * 70_000}
    assert client.post("/api/predict", json=big).status_code == 413
    assert client.post("/api/predict/batch", json=[big]).status_code == 413


def test_batch(client):
    people = [{"interest_math": 5}, {"interest_coding_puzzles": 5}, {}]
    response = client.post("/api/predict/batch", json=people)
    assert response.status_code == 200
    roles = [r["role"] for r in response.json()]
    assert roles[:2] == ["mle", "swe"] and len(roles) == 3
    bad = client.post("/api/predict/batch", json=[{"interest_math": 5}, {"interest_math": 7}])
    assert bad.status_code == 422 and bad.json()["problems"][0]["item"] == "[1].interest_math"
    too_many = client.post("/api/predict/batch", json=[{}] * 1001)
    assert too_many.status_code == 422 and "at most 1000" in too_many.json()["problems"][0]["problem"]


def test_page_and_docs_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "rolefit" in page.text and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no external requests
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/predict/batch", "/api/questionnaire", "/healthz"} <= set(spec["paths"])


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors(champion):
    from rolefit.apps.web import create_app

    from .helpers import server_errors

    # schemathesis's in-process client sends Host: testserver, which the app answers only when told to
    app = create_app(str(champion[1]), hosts=["testserver"])
    paths, failures = server_errors(app)
    assert paths >= {"/api/predict", "/api/predict/batch"}
    assert not failures, failures


ANSWERS = {"interest_math": 5, "skill_dsa": "2", "years_coding": 3, "career_goal": "applied_scientist"}


def test_base_rate_as_query_or_body_field(client, champion, use_model):
    use_model(champion[1])
    default = client.post("/api/predict", json=ANSWERS).json()
    by_query = client.post("/api/predict", params={"base_rate": 0.04}, json=ANSWERS)
    by_body = client.post("/api/predict", json={**ANSWERS, "base_rate": 0.04})
    assert by_query.status_code == by_body.status_code == 200
    assert by_query.json() == by_body.json()
    result = by_query.json()
    library = rolefit.predict(ANSWERS, base_rate=0.04, model=str(champion[1]))
    assert result == json.loads(json.dumps(library.to_dict()))
    assert result["base_rate"] == 0.04 and default["base_rate"] != 0.04
    assert result["probabilities"]["mle"] < default["probabilities"]["mle"]
    assert result["explanations"] == default["explanations"]  # base_rate is not an item
    both = client.post("/api/predict", params={"base_rate": "0.04"}, json={**ANSWERS, "base_rate": 0.04})
    assert both.status_code == 200 and both.json() == result
    as_text = client.post("/api/predict", json={**ANSWERS, "base_rate": "0.04"})
    assert as_text.status_code == 200 and as_text.json() == result


@pytest.mark.parametrize("value", [0, 1, -0.1, "x", 10**400])
def test_invalid_base_rate_gets_422_naming_it(client, value):
    for response in (
        client.post("/api/predict", params={"base_rate": value}, json=ANSWERS),
        client.post("/api/predict", json={**ANSWERS, "base_rate": value}),
        client.post("/api/predict/batch", params={"base_rate": value}, json=[ANSWERS]),
    ):
        assert response.status_code == 422
        problems = {p["item"]: p["problem"] for p in response.json()["problems"]}
        assert set(problems) == {"base_rate"}
        assert "strictly between 0 and 1" in problems["base_rate"]


def test_base_rate_given_twice_must_agree(client):
    response = client.post("/api/predict", params={"base_rate": 0.1}, json={**ANSWERS, "base_rate": 0.2})
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["item"] == "base_rate" and "different values" in problem["problem"]
    # with a bad base_rate, the answers' problems are named too
    response = client.post("/api/predict", params={"base_rate": 2}, json={"interest_math": 9})
    assert {p["item"] for p in response.json()["problems"]} == {"base_rate", "interest_math"}


def test_batch_base_rate_applies_to_everyone(client, champion, use_model):
    use_model(champion[1])
    people = [ANSWERS, {"interest_coding_puzzles": 5}, {}]
    response = client.post("/api/predict/batch", params={"base_rate": 0.04}, json=people)
    assert response.status_code == 200
    bundle = str(champion[1])
    expected = [
        json.loads(json.dumps(rolefit.predict(p, base_rate=0.04, model=bundle).to_dict())) for p in people
    ]
    assert response.json() == expected
    one_each = client.post("/api/predict/batch", json=[{**p, "base_rate": 0.04} for p in people])
    assert one_each.status_code == 200 and one_each.json() == expected
    conflict = client.post("/api/predict/batch", params={"base_rate": 0.04}, json=[{}, {"base_rate": 0.5}])
    assert conflict.status_code == 422 and conflict.json()["problems"][0]["item"] == "[1].base_rate"


def test_explanations_carry_their_evidence(client):
    body = client.post("/api/predict", json=ANSWERS).json()
    # the fit explains the fit items answered, the all-answers model every answered item
    fit = {item for item in ANSWERS if rolefit.questionnaire()[item].part == "fit"}
    assert {e["item"] for e in body["explanations"]} == fit
    assert {e["item"] for e in body["all_answers"]["explanations"]} == set(ANSWERS)
    for entry in (*body["explanations"], *body["all_answers"]["explanations"]):
        check_evidence(entry["evidence"])
    assert all("uncertainty" in e["evidence"] for e in body["explanations"])


def test_no_answers_give_no_information(client):
    for body in ({}, {"respondent_id": "r1"}, {"interest_math": None, "base_rate": 0.2}):
        result = client.post("/api/predict", json=body).json()
        assert result["verdict"] == "no-information"
        assert result["explanations"] == [] and result["prediction_set"] == ["swe", "mle"]
        assert result["probabilities"]["mle"] == pytest.approx(result["base_rate"], abs=1e-12)
    assert client.post("/api/predict", json={"base_rate": 0.2}).json()["base_rate"] == 0.2


def test_openapi_describes_base_rate(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/predict", "/api/predict/batch"):
        operation = spec["paths"][path]["post"]
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "base_rate"]
        assert parameter["in"] == "query" and not parameter["required"]
        assert parameter["schema"] == {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "example": 0.04,
        }
        assert "MLE share" in parameter["description"]
    body = spec["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["base_rate"]["exclusiveMaximum"] == 1
    assert "Not an item" in body["properties"]["base_rate"]["description"]
