"""The contribution endpoints (rolefit serve --collect) in-process: off means 404 and no token; on,
the whole flow with its refusals (409 double submission, 422, 429, 507, 404 for any wrong code)."""

import sqlite3

import pytest
from fastapi.testclient import TestClient

from rolefit.collect import checks

from .helpers import LOCAL

ROUTES = [("get", "/api/contributions"), ("post", "/api/contributions"),
          ("post", "/api/contributions/delete")]  # fmt: skip
PERSON = {"interest_math": 4, "interest_debugging": 2, "skill_python": 5, "years_coding": 6, "years_ml": 2}


def collecting_app(champion, path, **settings):
    from rolefit.apps.collect_api import CollectSettings
    from rolefit.apps.web import create_app

    options = {"max_rows": 1000, "per_minute": None, **settings}
    return create_app(str(champion[1]), collect=CollectSettings(f"sqlite:///{path}", **options))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "contributions.sqlite"


@pytest.fixture
def client(champion, db):
    with TestClient(collecting_app(champion, db), base_url=LOCAL) as c:
        yield c


def token(client, answers=PERSON):
    response = client.post("/api/predict", json=answers)
    assert response.status_code == 200
    return response.json()["contribution_token"]


def rows(db):
    with sqlite3.connect(db) as connection:
        return connection.execute("select role, status, reason, month from contributions").fetchall()


def test_without_collect_the_routes_are_404_and_predictions_carry_no_token(champion):
    from rolefit.apps.web import create_app

    with TestClient(create_app(str(champion[1])), base_url=LOCAL) as off:
        for method, path in ROUTES:
            reply = off.get(path) if method == "get" else off.post(path, json={"deletion_code": "A"})
            assert reply.status_code == 404, path
        result = off.post("/api/predict", json=PERSON)
        assert result.status_code == 200 and "contribution_token" not in result.json()
        assert not any(p.startswith("/api/contributions") for p in off.get("/openapi.json").json()["paths"])
        assert off.app.state.collect_store is None


def test_contribute_then_delete(client, db):
    about = client.get("/api/contributions").json()
    assert about["enabled"] is True and about["instrument_version"]
    assert any("IP address" in line for line in about["not_kept"]) and about["kept"] and about["statement"]
    one = token(client)
    assert len(one) >= 20 and one != token(client)  # one per result
    reply = client.post("/api/contributions", json={"token": one, "role": "mle", "answers": PERSON,
                                                     "consent": True})  # fmt: skip
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["status"] == "accepted" and body["reason"] is None
    assert rows(db) == [("mle", "accepted", None, rows(db)[0][3])]
    again = client.post("/api/contributions", json={"token": one, "role": "mle", "answers": PERSON,
                                                     "consent": True})  # fmt: skip
    assert again.status_code == 409 and "already used" in again.json()["detail"]
    assert len(rows(db)) == 1  # a double submission stores nothing
    wrong = [client.post("/api/contributions/delete", json={"deletion_code": code})
             for code in ("AAAA-BBBB-CCCC-DDDD", "nonsense", body["deletion_code"][:-1] + "Z")]  # fmt: skip
    assert {(r.status_code, r.text) for r in wrong} == {
        (404, '{"detail":"No contribution matches this code."}')
    }
    assert len(rows(db)) == 1
    deleted = client.post("/api/contributions/delete", json={"deletion_code": body["deletion_code"]})
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True}
    assert rows(db) == []


def test_invalid_contributions_get_422_naming_every_problem_and_keep_the_token(client, db):
    one = token(client)
    answers = {"interest_math": 9, "intrest_research": 3}
    bad = client.post("/api/contributions", json={"token": one, "role": "manager", "answers": answers})
    assert bad.status_code == 422
    problems = {p["item"]: p["problem"] for p in bad.json()["problems"]}
    assert set(problems) == {"role", "consent", "answers.interest_math", "answers.intrest_research"}
    assert "did you mean 'interest_research'" in problems["answers.intrest_research"]
    for body in ({"token": one, "role": "swe", "answers": PERSON, "consent": "yes"},
                 {"token": one, "role": "swe", "answers": {}, "consent": True},
                 {"token": one, "role": "swe", "answers": PERSON, "consent": True, "email": "a@b.c"},
                 {"role": "swe", "answers": PERSON, "consent": True}):  # fmt: skip
        assert client.post("/api/contributions", json=body).status_code == 422, body
    assert rows(db) == []
    fine = {"token": one, "role": "swe", "answers": PERSON, "consent": True}
    assert client.post("/api/contributions", json=fine).status_code == 201  # the token was not used up


def test_straight_lined_and_inconsistent_answers_are_kept_apart_with_the_reason(client, db):
    from rolefit.instrument.items import load_instrument

    flat = {item.id: 5 for item in load_instrument().items if item.kind == "scale"}
    replies = []
    for answers in (flat, {**PERSON, "years_coding": 1, "years_ml": 4}):
        body = {"token": token(client, answers), "role": "swe", "answers": answers, "consent": True}
        replies.append(client.post("/api/contributions", json=body).json())
    assert [(r["status"], r["reason"]) for r in replies] == [
        ("kept_apart", checks.STRAIGHT_LINED), ("kept_apart", checks.MORE_ML_THAN_CODING)]  # fmt: skip
    assert sorted(r[2] for r in rows(db)) == sorted([checks.STRAIGHT_LINED, checks.MORE_ML_THAN_CODING])


def test_a_full_table_refuses_with_507_and_stores_nothing(champion, db):
    with TestClient(collecting_app(champion, db, max_rows=2), base_url=LOCAL) as small:
        codes = []
        for _ in range(3):
            reply = small.post("/api/contributions", json={"token": token(small), "role": "swe",
                                                           "answers": PERSON, "consent": True})  # fmt: skip
            codes.append(reply)
        assert [r.status_code for r in codes] == [201, 201, 507]
        assert "full" in codes[2].json()["detail"] and "2 contributions" in codes[2].json()["detail"]
        assert len(rows(db)) == 2


def test_each_client_has_a_rate_limit_with_retry_after(champion, db):
    with TestClient(collecting_app(champion, db, per_minute=2), base_url=LOCAL) as limited:
        replies = [
            limited.post("/api/contributions/delete", json={"deletion_code": "AAAA"}) for _ in range(3)
        ]
        assert [r.status_code for r in replies] == [404, 404, 429]
        assert 1 <= int(replies[2].headers["retry-after"]) <= 60
        assert "at most 2 a minute" in replies[2].json()["detail"]
        assert limited.get("/api/contributions").status_code == 200  # reading what is kept is not limited


def test_a_refused_prediction_gets_no_token_and_stores_nothing(client, db):
    refused = client.post("/api/predict", json={"interest_math": 9})
    assert refused.status_code == 422 and "contribution_token" not in refused.json()
    with sqlite3.connect(db) as connection:
        assert connection.execute("select count(*) from tokens").fetchone() == (0,)
    token(client)
    with sqlite3.connect(db) as connection:
        (expires, used), = connection.execute("select expires_at, used from tokens").fetchall()  # fmt: skip
    assert used == 0 and expires > 0


def test_the_openapi_document_describes_the_contribution_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/contributions"]) == {"get", "post"}
    assert "409" in paths["/api/contributions"]["post"]["responses"]
    assert "/api/contributions/delete" in paths


def test_schemathesis_finds_no_server_errors_in_the_contribution_routes(champion, db):
    from rolefit.apps.collect_api import CollectSettings
    from rolefit.apps.web import create_app

    from .helpers import server_errors

    collect = CollectSettings(f"sqlite:///{db}", max_rows=100_000, per_minute=None)
    app = create_app(str(champion[1]), hosts=["testserver"], collect=collect)
    paths, failures = server_errors(
        app, lambda path: path.startswith("/api/contributions") or path == "/api/predict"
    )
    assert paths == {
        "/api/contributions",
        "/api/contributions/delete",
        "/api/predict",
    }
    assert not failures, failures
