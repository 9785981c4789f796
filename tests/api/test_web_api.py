"""The REST API (FastAPI) in-process with httpx, and a schemathesis run against its OpenAPI spec."""

import json

import pytest
from fastapi.testclient import TestClient

import rolefit


@pytest.fixture(scope="module")
def client(champion):
    from rolefit.web import create_app

    with TestClient(create_app(str(champion[1]))) as c:
        yield c


def test_healthz_reports_the_model_version(client, champion):
    body = client.get("/healthz").json()
    manifest = json.loads((champion[1] / "manifest.json").read_text())
    assert body == {"status": "ok", "model_version": manifest["model_version"]}


def test_questionnaire_endpoint(client):
    body = client.get("/api/questionnaire").json()
    assert len(body["items"]) == len(rolefit.questionnaire())
    assert [g["id"] for g in body["groups"]] == ["interests", "skills", "preferences", "goal", "experience"]


def test_predict_matches_the_library(client, champion, use_model):
    use_model(champion[1])
    answers = {"interest_math": 5, "skill_dsa": "2", "career_goal": "applied_scientist"}
    response = client.post("/api/predict", json=answers)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(rolefit.predict(answers).to_dict()))


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
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from rolefit.web import create_app

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(str(champion[1])))
    failures = []

    def check(op):
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            response = case.call()
            if response.status_code >= 500:
                failures.append((op.path, response.status_code, response.text[:200]))

        run()

    operations = [operation.ok() for operation in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/predict", "/api/predict/batch"}
    for op in operations:
        check(op)
    assert not failures, failures
