"""The guidance endpoints of the REST API: /api/guide, /api/next-questions, /api/what-if, /api/role-facts."""

import json

import pytest
from fastapi.testclient import TestClient

import rolefit
from rolefit.apps import schemas
from rolefit.guidance.questions import expected_questions
from rolefit.guidance.quick import READINESS_BLOCK
from rolefit.instrument.items import load_instrument

from .helpers import LOCAL

ANSWERS = {"interest_math": 5, "skill_dsa": "2", "years_coding": 3, "career_goal": "applied_scientist"}
VERDICT_WORDS = ("clear fit", "leaning", "both fit you", "points to", "points clearly")


@pytest.fixture(scope="module")
def client(champion):
    from rolefit.apps.web import create_app

    with TestClient(create_app(str(champion[1])), base_url=LOCAL) as c:
        yield c


def plain(value):
    return json.loads(json.dumps(value))


def everything() -> dict:
    """An answer to every item of the questionnaire."""
    out = {}
    for item in load_instrument().items:
        low = item.bounds[0] if item.kind != "choice" else None
        out[item.id] = item.choice_ids[0] if item.kind == "choice" else low + (item.kind == "scale")
    return out


def test_guide_is_the_prediction_with_the_guidance(client, champion):
    path = champion[1]
    response = client.post("/api/guide", json=ANSWERS)
    assert response.status_code == 200
    body = response.json()
    schemas.GuideResponse.model_validate(body)
    prediction = client.post("/api/predict", json=ANSWERS).json()
    assert {k: v for k, v in body.items() if k != "guidance"} == prediction
    assert body["guidance"] == plain(rolefit.guide(ANSWERS, model=path).to_dict())
    guidance = body["guidance"]
    assert guidance["certainty"] in ("clear fit", "leaning SWE", "leaning MLE", "both fit you")
    assert guidance["facts"][0]["role"] == body["role"]
    for role in guidance["facts"]:
        for fact in role["facts"]:
            assert fact["sources"] and all(s["year"] >= 2000 and s["label"] for s in fact["sources"])
    rare = client.post("/api/guide", params={"base_rate": 0.04}, json=ANSWERS).json()
    assert rare["base_rate"] == 0.04 and "your population" in rare["guidance"]["starting_point"]


def test_guide_with_no_answers_gives_no_verdict(client):
    body = client.post("/api/guide", json={}).json()
    guidance = body["guidance"]
    assert body["verdict"] == "no-information"
    assert guidance["certainty"].startswith("not enough answers yet — answer ")
    said = [guidance["summary"], *(g["sentence"] for g in guidance["groups"])]
    assert not any(word in text for text in said for word in VERDICT_WORDS), said
    assert guidance["next_steps"]["roles"] == {"swe": [], "mle": []} and guidance["mistakes"] == []
    assert guidance["next_steps"]["first"] == body["role"] and guidance["next_steps"]["plan"]
    assert [f["role"] for f in guidance["facts"]] == ["swe", "mle"]


def test_next_questions_for_someone_who_answered_nothing(client, champion):
    path = champion[1]
    response = client.post("/api/next-questions", json={})
    assert response.status_code == 200
    body = response.json()
    schemas.NextQuestionsResponse.model_validate(body)
    (first,) = rolefit.next_questions({}, model=path, of="fit")  # Quick mode asks about the fit first
    assert body["phase"] == "fit"
    assert [q["item"] for q in body["questions"]] == [first.item]
    assert body["questions"][0]["gain_bits"] > 0
    assert body["settled"]["settled"] is False and body["settled"]["answered"] == 0
    # the stopping rule's estimate of the fit's questions left, plus the readiness block
    expected = expected_questions({}, model=path)
    assert body["expected_left"] == round(expected) + len(READINESS_BLOCK) and expected >= 1
    three = client.post("/api/next-questions", params={"k": 3}, json={}).json()["questions"]
    assert [q["item"] for q in three] == [q.item for q in rolefit.next_questions({}, 3, model=path, of="fit")]
    skipped = [q["item"] for q in three[:2]]
    rest = client.post(f"/api/next-questions?k=3&skipped={skipped[0]}&skipped={skipped[1]}", json={}).json()
    assert not set(skipped) & {q["item"] for q in rest["questions"]}
    assert rest["questions"][0]["item"] == three[2]["item"]
    assert rest["settled"]["remaining"] == len(load_instrument().fit_ids) - 2
    as_list = client.post(f"/api/next-questions?skipped={','.join(skipped)}", json={}).json()
    assert as_list["questions"][0]["item"] == three[2]["item"]


def test_next_questions_go_from_the_fit_to_the_readiness_block_to_done(client, champion):
    path = champion[1]
    answers, skipped, phases, lefts = {}, [], [], []
    while True:
        body = client.post(f"/api/next-questions?skipped={','.join(skipped)}" if skipped else
                           "/api/next-questions", json=answers).json()  # fmt: skip
        schemas.NextQuestionsResponse.model_validate(body)
        phases.append(body["phase"])
        lefts.append(body["expected_left"])
        if body["phase"] == "done":
            assert body["questions"] == [] and body["expected_left"] == 0
            break
        item = body["questions"][0]["item"]
        if body["phase"] == "fit":
            assert body["settled"]["settled"] is False and item in load_instrument().fit_ids
            answers[item] = 5 if load_instrument()[item].lean == "mle" else 1  # a clear MLE person
            if load_instrument()[item].kind == "choice":
                answers[item] = "ai_researcher"
        else:
            assert body["settled"]["settled"] is True and body["questions"][0]["gain_bits"] == 0
            skipped.append(item)  # skipping the block's questions moves on too
    fit = phases.count("fit")
    assert phases == ["fit"] * fit + ["readiness"] * len(READINESS_BLOCK) + ["done"]
    assert lefts[fit:-1] == list(range(len(READINESS_BLOCK), 0, -1))
    assert rolefit.settled(answers, model=path).settled
    assert fit < len(load_instrument().fit_ids)


def test_next_questions_when_everything_is_answered(client):
    body = client.post("/api/next-questions", json=everything()).json()
    assert body["questions"] == [] and body["phase"] == "done" and body["expected_left"] == 0
    assert body["settled"]["settled"] is True and body["settled"]["remaining"] == 0


def test_what_if_matches_the_library(client, champion):
    path = champion[1]
    response = client.post("/api/what-if", json={"answers": ANSWERS, "changes": {"skill_statistics": 4}})
    assert response.status_code == 200
    body = response.json()
    schemas.WhatIfResponse.model_validate(body)
    expected = rolefit.what_if(ANSWERS, {"skill_statistics": 4}, model=path)
    assert body == plain(expected.to_dict())
    assert body["after"]["probabilities"]["mle"] - body["before"]["mle"] == body["delta_p_mle"] != 0
    removal = {"answers": ANSWERS, "changes": {"interest_math": None}}
    removed = client.post("/api/what-if", json=removal).json()
    assert removed["changes"] == {"interest_math": None}
    without = rolefit.predict({k: v for k, v in ANSWERS.items() if k != "interest_math"}, model=path)
    assert removed["after"]["probabilities"] == without.probabilities
    rare = client.post("/api/what-if", json={"answers": ANSWERS, "changes": {}, "base_rate": 0.04}).json()
    assert rare["after"]["base_rate"] == 0.04 and rare["delta_p_mle"] == 0


def test_role_facts(client):
    body = client.get("/api/role-facts").json()
    schemas.RoleFactsResponse.model_validate(body)
    assert [r["role"] for r in body["roles"]] == ["swe", "mle"]
    assert body == plain({"roles": [r.to_dict() for r in rolefit.role_facts()]})
    (mle,) = client.get("/api/role-facts", params={"role": "mle"}).json()["roles"]
    assert mle["role"] == "mle" and mle["facts"]


@pytest.mark.parametrize(
    ("method", "url", "body", "fields"),
    [
        ("post", "/api/guide", {"interest_mth": 5, "skill_dsa": 9}, {"interest_mth", "skill_dsa"}),
        ("post", "/api/guide?base_rate=2", {"interest_math": 5}, {"base_rate"}),
        ("post", "/api/guide", [1, 2], {"answers"}),
        ("post", "/api/next-questions?k=0&skipped=nope", {"interest_math": 9},
         {"k", "skipped", "interest_math"}),
        ("post", f"/api/next-questions?k={len(load_instrument()) + 1}", {}, {"k"}),  # one more than the items
        ("post", "/api/what-if", {"answers": {"interest_mth": 5}}, {"answers.interest_mth", "changes"}),
        ("post", "/api/what-if", {"changes": {"skill_dsa": 9}, "extra": 1}, {"changes.skill_dsa", "extra"}),
        ("post", "/api/what-if", {"answers": [], "changes": 3, "base_rate": 0},
         {"answers", "changes", "base_rate"}),
        ("post", "/api/what-if", [], {"body"}),
        ("get", "/api/role-facts?role=astronaut", None, {"role"}),
    ],
)  # fmt: skip
def test_invalid_input_gets_422_naming_every_field(client, method, url, body, fields):
    response = client.get(url) if method == "get" else client.post(url, json=body)
    assert response.status_code == 422, response.text
    problems = {p["item"]: p["problem"] for p in response.json()["problems"]}
    assert set(problems) == fields, problems


@pytest.mark.parametrize("path", ["/api/guide", "/api/next-questions", "/api/what-if"])
def test_bodies_are_read_like_predicts(client, path):
    assert client.post(path, json={"respondent_id": "x" * 70_000}).status_code == 413
    assert client.post(path, content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    broken = client.post(path, content=b"{nope", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["problems"][0]["item"] == "body"


def test_openapi_documents_every_response(client):
    spec = client.get("/openapi.json").json()
    models = {
        ("/api/predict", "post"): "PredictionOut",
        ("/api/guide", "post"): "GuideResponse",
        ("/api/next-questions", "post"): "NextQuestionsResponse",
        ("/api/what-if", "post"): "WhatIfResponse",
        ("/api/role-facts", "get"): "RoleFactsResponse",
    }
    for (path, method), model in models.items():
        operation = spec["paths"][path][method]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, path
    components = spec["components"]["schemas"]
    assert {"certainty", "starting_point", "groups", "next_steps", "facts", "mistakes"} <= set(
        components["GuidanceOut"]["properties"]
    )
    assert "goal_steps" not in components["GuidanceOut"]["properties"]  # goal changes are not steps
    assert set(components["NextStepsOut"]["properties"]) == {"first", "roles", "plan", "plan_source"}
    assert set(components["StepOut"]["properties"]) == {
        "role", "order", "kind", "item", "action", "why", "share", "source"
    }  # fmt: skip
    assert "guidance" in components["GuideResponse"]["properties"]
    assert {"phase", "questions", "settled", "expected_left"} == set(
        components["NextQuestionsResponse"]["properties"]
    )
    batch = spec["paths"]["/api/predict/batch"]["post"]["responses"]["200"]["content"]["application/json"]
    assert batch["schema"]["items"] == {"$ref": "#/components/schemas/PredictionOut"}
    parameters = {p["name"] for p in spec["paths"]["/api/next-questions"]["post"]["parameters"]}
    assert parameters == {"base_rate", "k", "skipped"}
    body = spec["paths"]["/api/what-if"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["changes"]
    assert "skill_statistics" in body["properties"]["changes"]["properties"]
