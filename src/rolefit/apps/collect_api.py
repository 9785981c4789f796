"""The contribution endpoints (``rolefit serve --collect``), registered only when collecting.

``GET /api/contributions`` (what is kept and what is not), ``POST /api/contributions`` (a person's
answers and current role, with the one-time token their prediction carried), ``POST
/api/contributions/delete`` (by deletion code). The database work runs on worker threads, never on the
event loop, so ``/healthz`` and predictions keep being answered while contributions are written.

All database work, and the validation of a contribution, runs on one thread of its own (writes are
serialised anyway): one thread competing with the event loop for the GIL, not a pool of them.

Each client address may send at most ``per_minute`` contribution and deletion requests a minute (then
429 with ``Retry-After``), besides the guard's limit on requests in progress.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rolefit.apps.bodies import parse_json, problem_response, read_body, refusal, wrong_content_type
from rolefit.apps.people import SUGGESTIONS_PER_REQUEST, answers_schema
from rolefit.collect.statement import description
from rolefit.collect.store import Store, TableFull, TokenRefused
from rolefit.collect.tables import ROLES
from rolefit.instrument.items import load_instrument
from rolefit.scoring.answers import InvalidAnswers, validate_answers

#: Contribution and deletion requests one client address may send per minute.
PER_MINUTE = 10
#: Predictions, contributions and deletions handled at once while collecting; the rest wait their turn
#: before their body is read. With 50 clients contributing at once, on a busy 2-core machine, the event
#: loop's turns grew with the requests in progress: /healthz p99 96 ms with no bound, 57 ms with 16,
#: 20-27 ms with 4 and 14 ms with 2, for about the same contributions a second as 4 (2,800 in 20 s
#: with 2, 3,350-3,500 with 4, 3,600 with none): the database thread and the scoring thread do the
#: work one at a time anyway.
ADMITTED = 4
#: Client addresses whose recent requests are remembered (the oldest are forgotten first).
MAX_CLIENTS = 10_000
WRONG_CODE = "No contribution matches this code."


@dataclass(frozen=True)
class CollectSettings:
    """How the server collects: the database (its SQLAlchemy URL), the table's bound, the per-client
    rate (requests a minute; None: no limit)."""

    url: str
    max_rows: int
    per_minute: int | None = PER_MINUTE


class RateLimit:
    """At most ``limit`` requests per ``window`` seconds per client (a sliding window, in memory)."""

    def __init__(self, limit: int | None, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """0 if ``client`` may go on now (and it is counted), else the seconds until it may."""
        if self.limit is None:
            return 0.0
        now = self.clock()
        with self._lock:
            times = self.seen.pop(client, None) or deque()
            while times and times[0] <= now - self.window:
                times.popleft()
            self.seen[client] = times
            if len(self.seen) > MAX_CLIENTS:
                self.seen.popitem(last=False)
            if len(times) >= self.limit:
                return times[0] + self.window - now
            times.append(now)
            return 0.0


class Writer:
    """The one thread that talks to the database (started on first use)."""

    def __init__(self, store: Store, admitted: int = ADMITTED):
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rolefit-collect")
        self.admitted = admitted
        self._admit: asyncio.Semaphore | None = None

    def admit(self) -> asyncio.Semaphore:
        """Requests that predict or contribute while collecting, at most ``admitted`` at a time; the
        others wait (at no cost to the event loop) before their body is read."""
        if self._admit is None:
            self._admit = asyncio.Semaphore(self.admitted)
        return self._admit

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, work, *args)


def add_collect_routes(
    app: FastAPI, writer: Writer, settings: CollectSettings, *, body_timeout: float
) -> None:
    """Register the contribution endpoints on ``app``; ``writer`` runs the database work."""
    version = load_instrument().version
    about = description(version)
    limit = RateLimit(settings.per_minute)
    store = writer.store
    contribution_schema = {
        "type": "object",
        "required": ["token", "role", "answers", "consent"],
        "additionalProperties": False,
        "properties": {
            "token": {"type": "string", "description": "The contribution_token of the person's result."},
            "role": {"type": "string", "enum": list(ROLES), "description": "The person's role today."},
            "answers": {
                "type": "object",
                "additionalProperties": False,
                "properties": {k: v for k, v in answers_schema()["properties"].items() if k != "base_rate"},
                "description": "The person's answers, as sent to /api/predict (without base_rate).",
            },
            "consent": {"type": "boolean", "enum": [True], "description": "The person said yes."},
        },
    }
    delete_schema = {
        "type": "object",
        "required": ["deletion_code"],
        "properties": {"deletion_code": {"type": "string", "example": "ABCD-EFGH-JKMN-PQRS"}},
    }

    async def body_of(request: Request) -> Any:
        """The parsed JSON body, or the refusal (rate limit, content type, size, time, syntax)."""
        client = request.client.host if request.client else "unknown"
        wait = limit.wait(client)
        if wait:
            seconds = max(1, math.ceil(wait))
            return refusal(
                429,
                f"Too many contribution requests from {client}: at most {settings.per_minute} a minute are "
                f"answered from one client. Try again in {seconds} s.",
                **{"Retry-After": str(seconds)},
            )
        wrong_type = wrong_content_type(request)
        if wrong_type is not None:
            return wrong_type
        body = await read_body(request, body_timeout)
        if isinstance(body, Response):
            return body
        data, problems = parse_json(body)
        if problems:
            return problem_response(problems)
        if not isinstance(data, dict):
            return problem_response({"body": "expected a JSON object"})
        return data

    @app.get("/api/contributions", summary="What contributing keeps, and what it does not")
    def about_contributions() -> Any:
        """This server collects contributed answers: the question asked, what is kept, what is not, and
        the statement a person reads before saying yes."""
        return JSONResponse(about)

    @app.post(
        "/api/contributions",
        summary="Add one person's answers and current role",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": contribution_schema}},
            }
        },
        responses={
            409: {"description": "The token is unknown, expired or already used"},
            422: {"description": "Invalid answers, role, token or consent"},
            429: {"description": "Too many requests from this client; Retry-After says when to try again"},
            507: {"description": "The contributions table is full"},
        },
    )
    async def contribute(request: Request) -> Any:
        """Store a person's answers (validated as /api/predict validates them) with their current role
        (swe or mle), given their consent and the one-time token their prediction carried. Answers that
        cannot all be meant (every scale answer the same; more years of ML than of coding) are kept
        apart with the reason. The reply carries the deletion code, which is stored only as a hash."""
        async with writer.admit():
            data = await body_of(request)
            if isinstance(data, Response):
                return data
            return await writer.run(_contribute, data)

    def _contribute(data: dict[str, Any]) -> Response:
        """Validate and store one contribution (on the writer's thread)."""
        problems: dict[str, str] = {}
        token = data.get("token")
        if not isinstance(token, str) or not token or len(token) > 200:
            problems["token"] = "required: the contribution_token of this person's /api/predict result"
        role = data.get("role")
        if role not in ROLES:
            problems["role"] = "required: swe (software engineer) or mle (ML engineer), the current role"
        if data.get("consent") is not True:
            problems["consent"] = "must be true: the person agreed to add their answers and role"
        unknown = sorted(set(data) - {"token", "role", "answers", "consent"})
        for key in unknown[:20]:
            problems[key[:60]] = "unknown field; the fields are token, role, answers and consent"
        try:
            clean = validate_answers(data.get("answers"), suggestions=SUGGESTIONS_PER_REQUEST)
        except InvalidAnswers as exc:
            problems.update({f"answers.{k}" if k != "answers" else k: v for k, v in exc.problems.items()})
            clean = {}
        if not problems and not clean:
            problems["answers"] = "no answers: a contribution needs at least one answered question"
        if problems:
            return problem_response(problems)
        try:
            outcome = store.contribute(token, role, clean, version)
        except TokenRefused:
            return refusal(
                409,
                "This contribution token is unknown, expired or already used: each result can be added "
                "once. Get a new result (POST /api/predict) to contribute again.",
            )
        except TableFull:
            return refusal(
                507,
                f"The contributions table is full ({settings.max_rows:,} contributions): this server takes "
                "no more. Nothing was stored.",
            )
        content = {"status": outcome.status, "reason": outcome.reason, "deletion_code": outcome.deletion_code}
        return JSONResponse(status_code=201, content=content)

    @app.post(
        "/api/contributions/delete",
        summary="Delete a contribution by its deletion code",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": delete_schema}}}
        },
        responses={404: {"description": WRONG_CODE}, 429: {"description": "Too many requests"}},
    )
    async def delete(request: Request) -> Any:
        """Remove the contribution with this deletion code from the database (and so from every later
        export). A wrong code gets 404, whatever the code."""
        async with writer.admit():
            data = await body_of(request)
            if isinstance(data, Response):
                return data
            code = data.get("deletion_code")
            if not isinstance(code, str) or len(code) > 100:
                return problem_response(
                    {"deletion_code": "required: the code given when the answers were added"}
                )
            if not await writer.run(store.delete, code):
                return refusal(404, WRONG_CODE)
            return JSONResponse({"deleted": True})


async def with_token(response: Response, writer: Writer) -> Response:
    """A successful prediction's response with a one-time ``contribution_token`` added (others as
    they are)."""
    if response.status_code != 200 or not isinstance(response.body, bytes | bytearray):
        return response
    token = await writer.run(writer.store.issue_token)
    body = bytes(response.body)
    if not body.rstrip().endswith(b"}"):
        return response
    extended = body.rstrip()[:-1] + b',"contribution_token":"' + token.encode("ascii") + b'"}'
    return Response(extended, media_type="application/json")
