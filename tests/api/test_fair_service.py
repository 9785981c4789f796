"""Fair service (issue #23): who is answered, and in which order, when clients compete; the Host
allow-list; the security headers on every response.

The app runs in-process; each client is an ``httpx`` client with an address of its own (the server's
per-client limit counts by address). No test asserts a duration: one person's ``/api/guide`` p99 while
20 clients post maximal batches, and the batches' throughput beside it, are measured by ``make bench``
(``benchmarks/fair.py``). The same on a real ``rolefit serve``: ``tests/api/test_web_hardening.py``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from itertools import groupby

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

import rolefit
from rolefit.apps import guard, web
from rolefit.apps.lanes import Lanes
from tests.environment import child_env

from .helpers import LOCAL

JSON = {"Content-Type": "application/json"}
PERSON = {"interest_math": 5, "skill_dsa": 2, "career_goal": "applied_scientist", "years_coding": 3}


@pytest.fixture(scope="module")
def app(champion):
    return web.create_app(str(champion[1]), hosts=["rolefit.example.org"])


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as c:
        yield c


def from_address(app, address: str, port: int = 50_000) -> httpx.AsyncClient:
    """A client of ``app`` (in this process) whose requests come from ``address`` and ``port``."""
    transport = httpx.ASGITransport(app=app, client=(address, port))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=300)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (on the event loop) until ``condition()`` holds; fail naming ``what`` if it never does."""
    for _ in range(6_000):  # a minute: far longer than it takes
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{what} never happened")


# --- single-person requests are not queued behind batches -------------------------------------------


def test_one_person_is_answered_while_the_batches_queued_before_them_are_still_being_scored(app, champion):
    """Six clients post maximal batches (1,000 people each); once all six are waiting for the scoring
    thread, one person asks for their guidance. The person is answered while the batches are still
    being scored (when all work went through one queue, the person came after every batch), and every
    batch is answered in full, each person as rolefit.predict scores them."""
    from benchmarks.stall import valid_batch

    body = valid_batch()
    people = json.loads(body)
    lanes = app.state.lanes

    async def scenario():
        clients = [from_address(app, f"127.0.0.{2 + n}") for n in range(6)]
        batches = [
            asyncio.create_task(c.post("/api/predict/batch", content=body, headers=JSON)) for c in clients
        ]
        await until(lambda: lanes.batches_in_flight == len(batches), "six batches waiting to be scored")
        async with from_address(app, "127.0.0.1") as person:
            guided = await person.post("/api/guide", json=PERSON)
        unfinished = sum(not batch.done() for batch in batches)
        replies = await asyncio.gather(*batches)
        for c in clients:
            await c.aclose()
        return guided, unfinished, replies

    guided, unfinished, replies = asyncio.run(scenario())
    assert guided.status_code == 200 and guided.json()["guidance"]
    print(f"batches still being scored when the person was answered: {unfinished} of {len(replies)}")
    assert unfinished > len(replies) // 2
    expected = [rolefit.predict(p, model=champion[1]).to_dict() for p in people]
    for reply in replies:
        assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
        assert reply.json() == json.loads(json.dumps(expected))


def test_the_scoring_thread_runs_people_first_and_batches_in_turns():
    """With the thread busy, two batches of three chunks and seven people queue up: the people go
    first, but never more than ``streak`` in a row while a batch chunk waits; the batches take turns
    chunk by chunk; each caller gets its own result."""
    order: list[str] = []
    busy, release = threading.Event(), threading.Event()

    def occupy() -> str:
        busy.set()
        release.wait(60)
        return "occupied"

    def person(n: int) -> int:
        order.append("p")
        return n

    def batch(name: str):
        for step in range(3):
            order.append(f"{name}{step}")
            yield
        return name

    async def scenario():
        lanes = Lanes(streak=3)
        first = asyncio.ensure_future(lanes.person(occupy))
        await asyncio.to_thread(busy.wait, 60)
        batches = [asyncio.ensure_future(lanes.batch(batch(name))) for name in "ab"]
        people = [asyncio.ensure_future(lanes.person(person, n)) for n in range(7)]
        await asyncio.sleep(0)  # each task above has now queued its job (tasks start in order)
        release.set()
        return await first, await asyncio.gather(*batches), await asyncio.gather(*people)

    first, batch_results, people_results = asyncio.run(scenario())
    assert first == "occupied" and batch_results == ["a", "b"] and people_results == list(range(7))
    runs = [len(list(group)) for kind, group in groupby(order) if kind == "p"]
    assert max(runs) <= 3, order  # the streak (the occupying job counts as the first of a run)
    assert order.index("p") < order.index("a0")  # people first
    assert [step for step in order if step != "p"] == ["a0", "b0", "a1", "b1", "a2", "b2"], order
    assert order.index("a1") > max(i for i, step in enumerate(order) if step == "p")


# --- per-client limit ---------------------------------------------------------------------------------


def test_a_client_over_its_limit_gets_429_while_another_client_is_served(app):
    """One client holds PER_CLIENT requests open (their bodies still arriving), each on a connection
    of its own (another port): its next request gets 429 with Retry-After and a sentence saying why,
    while another client is served; once its requests are answered, it is served again."""
    address = "127.0.0.99"
    release = asyncio.Event()

    async def slow_body():
        yield b'{"interest_math": '
        await release.wait()
        yield b"5}"

    async def scenario():
        connections = [from_address(app, address, 40_000 + n) for n in range(guard.PER_CLIENT + 2)]
        *holding, one, again_from = connections
        held = [
            asyncio.create_task(c.post("/api/predict", content=slow_body(), headers=JSON)) for c in holding
        ]
        await until(lambda: app.state.in_progress[address] == guard.PER_CLIENT, "the requests held open")
        over = await one.post("/api/guide", json=PERSON)
        async with from_address(app, "127.0.0.98") as other:
            served = await other.post("/api/guide", json=PERSON)
        release.set()
        answered = await asyncio.gather(*held)
        again = await again_from.post("/api/predict/batch", json=[PERSON])
        for c in connections:
            await c.aclose()
        return over, served, answered, again

    over, served, answered, again = asyncio.run(scenario())
    assert over.status_code == 429, over.text
    assert over.headers["retry-after"] == "1"
    detail = over.json()["detail"]
    assert address in detail and f"at most {guard.PER_CLIENT} scoring requests" in detail
    assert "Wait for an answer" in detail
    assert served.status_code == 200
    assert [r.status_code for r in answered] == [200] * guard.PER_CLIENT
    assert again.status_code == 200
    assert not app.state.in_progress  # every slot was given back


# --- the Host allow-list ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "LocalHost:1", "127.0.0.1", "127.0.0.1:49152", "[::1]:8000",
             "rolefit.example.org", "rolefit.example.org:443"],
)  # fmt: skip
def test_loopback_names_and_configured_names_are_answered(client, host):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8000", "localhost.attacker.example", "127.0.0.1.nip.io",
             "0.0.0.0:8000", "192.168.1.20", "", "localhost:80x", "[::1", "localhost:8000@attacker.example"],
)  # fmt: skip
def test_other_host_names_get_400_naming_the_host_and_how_to_allow_it(client, host):
    """DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1 sends
    ``Host: attacker.example``. Every route refuses it, a POST with a body included."""
    for method, path, body in (("GET", "/", None), ("GET", "/healthz", None), ("POST", "/api/guide", PERSON)):
        reply = client.request(method, path, json=body, headers={"Host": host})
        assert reply.status_code == 400, (host, path)
        detail = reply.json()["detail"]
        assert "DNS rebinding" in detail and "--allowed-host" in detail and guard.ALLOWED_HOSTS_ENV in detail
        assert repr(host) in detail


def test_allowed_hosts_come_from_the_option_and_the_environment(champion, monkeypatch):
    assert guard.allowed_hosts(["Rolefit.Example.ORG", "::1", "192.0.2.7"], environ={}) == (
        "127.0.0.1", "localhost", "[::1]", "rolefit.example.org", "192.0.2.7",
    )  # fmt: skip
    assert guard.allowed_hosts([], environ={guard.ALLOWED_HOSTS_ENV: " a.example , b.example,"}) == (
        "127.0.0.1", "localhost", "[::1]", "a.example", "b.example",
    )  # fmt: skip
    for bad in ("a.example:8000", "http://a.example", "a example", "a.example/x"):
        with pytest.raises(ValueError, match="is not a host name or address"):
            guard.allowed_hosts([bad], environ={})
    monkeypatch.setenv(guard.ALLOWED_HOSTS_ENV, "from-the-env.example")
    with TestClient(web.create_app(str(champion[1])), base_url="http://from-the-env.example") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "other.example"}).status_code == 400
    monkeypatch.setenv(guard.ALLOWED_HOSTS_ENV, "*")
    with TestClient(web.create_app(str(champion[1])), base_url="http://anything.example") as c:
        assert c.get("/healthz").status_code == 200


def test_serve_answers_the_address_it_is_bound_to():
    from rolefit.apps.server import bound_names

    assert bound_names("192.0.2.7") == ("192.0.2.7",)
    assert bound_names("::1") == ("::1",) and bound_names("rolefit.example.org") == ("rolefit.example.org",)
    assert bound_names("0.0.0.0") == () and bound_names("::") == ()  # every interface: names unknown


def test_serve_on_every_interface_says_which_names_it_answers():
    from rolefit.apps.server import names_note

    loopback = guard.allowed_hosts([], environ={})
    note = names_note("0.0.0.0", loopback)
    assert note and "only requests for 127.0.0.1, localhost, [::1] are answered" in note
    assert "--allowed-host" in note and names_note("::", loopback)
    assert names_note("0.0.0.0", (*loopback, "rolefit.example.org")) is None  # names were given
    assert names_note("0.0.0.0", (*loopback, "*")) is None
    assert names_note("127.0.0.1", loopback) is None and names_note("192.0.2.7", loopback) is None


def test_serve_refuses_an_allowed_host_that_is_not_a_name_in_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "rolefit.apps.cli", "serve", "--allowed-host", "rolefit.example.org:8000"],
        capture_output=True, text=True, env=child_env(), timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: allowed host 'rolefit.example.org:8000' is not a host name")
    assert len(out.stderr.strip().splitlines()) == 1


# --- security headers on every response ---------------------------------------------------------------

#: The page's policy, written out here rather than read from the code: its own origin only, no inline
#: scripts or styles, never framed.
PAGE_POLICY = {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
    "img-src": ["'self'", "data:"], "connect-src": ["'self'"], "font-src": ["'self'"],
    "object-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}  # fmt: skip


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def check_headers(reply, what: str) -> None:
    headers = reply.headers
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert headers.get("x-frame-options") == "DENY", what
    policy = directives(headers.get("content-security-policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], what
    if "worker-src" in policy:  # the API documentation pages keep their own policy
        assert policy["default-src"] == ["'self'"] and "'unsafe-inline'" not in policy["script-src"], what
    else:
        assert policy == PAGE_POLICY, what


def test_every_route_and_every_error_carries_the_security_headers(app, client, champion):
    """Every route of the app (found by walking its routes, so a new one is covered too), a file of
    each static folder, and the refusals: 400, 404, 405, 408, 413, 415, 422, 429 and a 500."""
    seen = []
    for route in app.routes:
        if isinstance(route, Mount):
            name = "app.js" if route.path == "/static" else "favicon.png"
            reply = client.get(f"{route.path}/{name}")
            assert reply.status_code == 200, route.path
            seen.append((route.path, reply))
            continue
        for method in sorted(route.methods - {"HEAD"}):
            bodies = {"/api/what-if": {"answers": PERSON, "changes": {}}, "/api/predict/batch": [PERSON]}
            body = bodies.get(route.path, PERSON)
            reply = client.request(method, route.path, json=body if method == "POST" else None)
            assert reply.status_code == 200, (method, route.path, reply.text[:200])
            seen.append((f"{method} {route.path}", reply))
    assert {"GET /", "GET /healthz", "POST /api/guide", "/static", "GET /docs"} <= {what for what, _ in seen}
    refusals = {
        400: client.get("/healthz", headers={"Host": "attacker.example"}),
        404: client.get("/no-such-page"),
        405: client.get("/api/predict"),
        413: client.post("/api/predict", content=b" " * 70_000, headers=JSON),
        415: client.post("/api/predict", content=b"{}", headers={"Content-Type": "text/plain"}),
        422: client.post("/api/predict", json={"interest_math": 9}),
    }
    for status, reply in refusals.items():
        assert reply.status_code == status
        seen.append((str(status), reply))
    for what, reply in seen:
        check_headers(reply, what)


def test_a_429_a_408_and_a_500_carry_the_security_headers_too(champion):
    app = web.create_app(str(champion[1]), body_timeout=0.2, per_client=0)

    def broken():
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as c:
        too_many = c.post("/api/predict", json=PERSON)
        failed = c.get("/broken")
    assert too_many.status_code == 429 and failed.status_code == 500
    check_headers(too_many, "429")
    check_headers(failed, "500")

    slow = web.create_app(str(champion[1]), body_timeout=0.2)

    async def late():
        yield b"{"
        await asyncio.sleep(2)
        yield b"}"

    async def send_late():
        async with from_address(slow, "127.0.0.1") as c:
            return await c.post("/api/predict", content=late(), headers=JSON)

    timed_out = asyncio.run(send_late())
    assert timed_out.status_code == 408
    check_headers(timed_out, "408")
