"""The FastAPI app: the REST API and the questionnaire page (``rolefit serve``).

Endpoints: ``GET /`` (the questionnaire page), ``GET /api/questionnaire``, ``POST /api/predict`` (one
person's answers, the same schema as :func:`rolefit.predict`; returns ``Prediction.to_dict()``),
``POST /api/predict/batch`` (a list of up to 1,000 people), ``GET /healthz`` (model version), the
guidance endpoints of :mod:`rolefit.apps.guidance_api` (``/api/guide``, ``/api/next-questions``,
``/api/what-if``, ``/api/role-facts``), with ``--collect`` only the contribution endpoints of
:mod:`rolefit.apps.collect_api` (``/api/contributions``, ``/api/contributions/delete``), the OpenAPI
document at ``/openapi.json`` with every request's and response's schema (:mod:`rolefit.apps.schemas`),
and its pages at ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), which load nothing from other hosts
(:mod:`rolefit.apps.api_docs`). Invalid answers get 422 listing every offending item and what is allowed
(the first 1,000 problems, then a count); request bodies over 64 KB get 413. Answers are never logged,
and never stored unless the person contributes them (``--collect``).

Both predict endpoints take the MLE share of the caller's population, ``base_rate`` (strictly between 0
and 1; default: the reference survey's mix), as a query parameter (``?base_rate=0.04``; for a batch it
applies to everyone) or as a ``"base_rate"`` field of a person's JSON object (not an item: it is removed
before predicting). Given both ways with different values, or outside (0, 1), it gets 422 naming
``base_rate``.

Every request first passes :mod:`rolefit.apps.guard`: a ``Host`` outside the allow-list gets 400 (DNS
rebinding), a client with 4 scoring requests in progress gets 429 for the next, and every response
carries a Content-Security-Policy, ``nosniff``, ``Referrer-Policy`` and ``X-Frame-Options``.

Service is fair (:mod:`rolefit.apps.lanes`): one scoring thread runs single-person requests first and
batches a chunk (about 4 ms of work) at a time, so one person's request waits for at most a chunk, not
for the batches queued before it, and batches still get the thread whenever no person is waiting.

Hostile or broken clients cannot stall the server or make it answer 500:

- only the body is read on the event loop; decoding, validating and scoring run on the scoring thread,
  so ``/healthz`` and other clients' I/O keep being served;
- bodies must be ``Content-Type: application/json`` in UTF-8 (else 415), at most 64 KB (413) and arrive
  within 10 s (408); before parsing, the text must be valid UTF-8 and nest at most 10 levels deep,
  integers longer than 20 digits are replaced by a marker that validation refuses naming the item, and
  lone UTF-16 surrogates (``"\\ud800"``, which no reply could encode) are refused (all 422);
- a "did you mean" is computed for at most 20 unknown keys per request (difflib is the costly part);
- ``serve`` gives uvicorn a deadline for request headers, bounded headers, connections and backlog, and
  rate-limits its error log (see :func:`rolefit.apps.server.serve`); request bodies are read by
  :mod:`rolefit.apps.bodies`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rolefit.apps.api_docs import add_offline_docs
from rolefit.apps.bodies import (
    BODY_TIMEOUT,
    parse_json,
    problem_response,
    read_body,
    wrong_content_type,
)
from rolefit.apps.guard import PER_CLIENT, Guard, allowed_hosts
from rolefit.apps.guidance_api import add_guidance_routes
from rolefit.apps.lanes import CHUNK_COST, PERSON_COST, Lanes, Steps, run_steps
from rolefit.apps.people import (
    SUGGESTIONS_PER_REQUEST,
    answers_schema,
    base_rate_parameter,
    has_unknown_keys,
    person,
    query_base_rate,
)
from rolefit.apps.schemas import HealthOut, PredictionOut, ProblemsOut, QuestionnaireOut, RefusalOut
from rolefit.instrument.items import load_instrument
from rolefit.scoring.answers import InvalidAnswers, validate_answers
from rolefit.scoring.loader import load_model
from rolefit.scoring.predictor import predict

if TYPE_CHECKING:
    from rolefit.apps.collect_api import CollectSettings

MAX_BATCH = 1000
#: Bodies of POST /api/predict up to this size are answered on the event loop when every key is
#: known (a whole questionnaire is about 1.3 KB); anything larger or with unknown keys goes to a thread.
INLINE_BYTES = 8 * 1024


def _answer_one(
    body: bytes, query_rate: float | None, problems: dict[str, str], model: Any, inline: bool = False
) -> Response | None:
    """POST /api/predict after the body has arrived (on a scoring thread, or ``inline`` on the event
    loop for a small body, when it returns None if the answers need the costly "did you mean")."""
    data, found = parse_json(body)
    if found:
        return problem_response(found)
    answers, rate, found = person(data, query_rate)
    problems = {**problems, **found}
    if inline and has_unknown_keys(answers):
        return None
    try:
        if problems or has_unknown_keys(answers):
            validate_answers(answers, suggestions=SUGGESTIONS_PER_REQUEST)  # names the answers' problems too
            return problem_response(problems)
        return JSONResponse(predict(answers, model=model, base_rate=rate).to_dict())
    except InvalidAnswers as exc:
        return problem_response({**problems, **exc.problems})


def _batch_steps(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any) -> Steps:
    """POST /api/predict/batch after the body has arrived: a generator that validates, scores and
    encodes a chunk of people (at most :data:`~rolefit.apps.lanes.CHUNK_COST`) per step and returns
    the response (run by the scoring thread's batch lane, :mod:`rolefit.apps.lanes`)."""
    data, found = parse_json(body)
    if found:
        return problem_response(found)
    if not isinstance(data, list):
        return problem_response({**problems, "body": "expected a JSON array of answer objects"})
    if len(data) > MAX_BATCH:
        return problem_response({**problems, "body": f"{len(data)} people; at most {MAX_BATCH} per request"})
    yield  # parsing 64 KB is a chunk's work already
    encoded: list[bytes] = []  # each chunk's results as JSON, encoded chunk by chunk (not in one long call)
    chunk: list[dict[str, Any]] = []
    cost = 0
    suggestions = SUGGESTIONS_PER_REQUEST
    for position, entry in enumerate(data):
        answers, rate, found = person(entry, query_rate)
        try:
            if found or problems or has_unknown_keys(answers):
                validate_answers(answers, suggestions=suggestions)  # name every person's problems
            else:
                chunk.append(predict(answers, model=model, base_rate=rate).to_dict())
        except InvalidAnswers as exc:
            found = {**found, **exc.problems}
            suggestions = max(0, suggestions - len(exc.problems))  # at least what this person used
        problems.update({f"[{position}].{k}": v for k, v in found.items()})
        cost += PERSON_COST + (len(entry) if isinstance(entry, dict) else 0)
        if cost >= CHUNK_COST:
            if chunk and not problems:
                encoded.append(_json_items(chunk))
            chunk, cost = [], 0
            yield  # the scoring thread's turn for waiting single-person requests and other batches
    if problems:
        return problem_response(problems)
    if chunk:
        encoded.append(_json_items(chunk))
    return Response(b"[" + b",".join(encoded) + b"]", media_type="application/json")


def _json_items(results: list[dict[str, Any]]) -> bytes:
    """The items of a JSON array of ``results`` (without the brackets), encoded as JSONResponse does."""
    text = json.dumps(results, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
    return text[1:-1].encode("utf-8")


def _answer_batch(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any) -> Response:
    """POST /api/predict/batch after the body has arrived, all at once (as the server does in turns)."""
    return run_steps(_batch_steps(body, query_rate, problems, model))


#: The page's own statement of whether the server collects contributions (issue #29): the page asks
#: GET /api/contributions only when it says "on", so a server that does not collect sees no request
#: that would answer 404.
COLLECT_META = '<meta name="rolefit-collect" content="off">'


def collecting(app: FastAPI) -> bool:
    """Whether ``app`` takes contributed answers: it has the ``GET /api/contributions`` route, which
    ``rolefit serve --collect`` adds and a server without it has not."""
    routes = ((getattr(r, "path", None), getattr(r, "methods", None) or ()) for r in app.routes)
    return any(path == "/api/contributions" and "GET" in methods for path, methods in routes)


def page_html(page: str, collect: bool) -> str:
    """The questionnaire page, saying in its ``rolefit-collect`` meta tag whether contributions are taken."""
    return page.replace(COLLECT_META, COLLECT_META.replace('"off"', '"on"')) if collect else page


class _GuardedApp(FastAPI):
    """The FastAPI app with :class:`~rolefit.apps.guard.Guard` outside everything else, its own
    error handling included (``add_middleware`` would put it inside, and a 500 would miss the headers)."""

    guard_settings: dict[str, Any]  # set by create_app: Guard's keyword arguments

    def build_middleware_stack(self):
        return Guard(super().build_middleware_stack(), **self.guard_settings)


def create_app(
    model: str | None = None,
    *,
    body_timeout: float = BODY_TIMEOUT,
    hosts: Iterable[str] = (),
    per_client: int | None = PER_CLIENT,
    collect: CollectSettings | None = None,
) -> FastAPI:
    """Build the app; the model is loaded (and verified) now, so a bad bundle fails at start-up.

    ``body_timeout``: seconds a client has to send a request body (then 408). ``hosts``: host names
    answered besides the loopback names and ``ROLEFIT_ALLOWED_HOSTS``'s (see :mod:`rolefit.apps.guard`;
    ValueError for one that is not a name). ``per_client``: scoring requests one client address may
    have in progress at once (then 429; None: no limit). ``collect``: collect contributed answers
    (:mod:`rolefit.apps.collect_api`; the database is opened and migrated now); None: the contribution
    endpoints do not exist (404) and predictions carry no token."""
    allowed = allowed_hosts(hosts)
    loaded = load_model(model)
    app = _GuardedApp(
        title="rolefit",
        version=loaded.version,
        description="How well you fit software engineering (SWE) versus ML engineering (MLE). "
        "For career exploration, not screening.",
        docs_url=None,  # FastAPI's own pages load their scripts from CDNs: add_offline_docs serves ours
        redoc_url=None,
    )
    # what the guard and the lanes are doing, for tests and monitoring: scoring requests in progress
    # per client address, and the lanes (batches_in_flight)
    app.state.in_progress = Counter()
    app.guard_settings = {"hosts": allowed, "per_client": per_client, "in_progress": app.state.in_progress}
    add_offline_docs(app)
    static = resources.files("rolefit.apps").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    page = static.joinpath("index.html").read_text(encoding="utf-8")
    # one scoring thread (started on first use, ended when idle): single-person work first, batches
    # a chunk at a time (rolefit.apps.lanes)
    lanes = app.state.lanes = Lanes()
    writer = app.state.collect_store = None
    if collect is not None:
        # here, not at the top: without --collect nothing of rolefit.collect (nor SQLAlchemy) is imported
        from rolefit.apps.collect_api import Writer, add_collect_routes, with_token
        from rolefit.collect.store import Store

        app.state.collect_store = Store(collect.url, max_rows=collect.max_rows)
        writer = Writer(app.state.collect_store)

    async def receive(request: Request) -> tuple[bytes, float | None, dict[str, str]] | Response:
        """Content type, query base rate and the bounded body of a predict request, or the refusal."""
        wrong_type = wrong_content_type(request)
        if wrong_type is not None:
            return wrong_type
        query_rate, problems = query_base_rate(request)
        body = await read_body(request, body_timeout)
        if isinstance(body, Response):
            return body
        return body, query_rate, problems

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page_html(page, collecting(app))

    info = loaded.info.to_dict()

    @app.get("/healthz", response_model=HealthOut, summary="Is the server up, and which model")
    async def healthz() -> Any:
        """The server is up, and the version of the model it serves."""
        # async: answered on the event loop itself, never queued behind a busy thread pool
        return JSONResponse({"status": "ok", "model_version": loaded.version, "model": info})

    @app.get("/api/questionnaire", response_model=QuestionnaireOut, summary="The questionnaire")
    def questionnaire() -> Any:
        """The questionnaire: its version, the groups and every item (id, question, kind and the
        answers allowed), in display order, for apps that render the form."""
        return JSONResponse(load_instrument().to_dict())

    person_schema = answers_schema()

    invalid = {"description": "Invalid answers or base_rate", "model": ProblemsOut}
    refused = {
        408: {"description": "Body not received within 10 s", "model": RefusalOut},
        413: {"description": "Body over 64 KB", "model": RefusalOut},
        415: {
            "description": "Body not declared as JSON (Content-Type: application/json) in UTF-8",
            "model": RefusalOut,
        },
        422: invalid,
        429: {
            "description": "This client (address) already has as many scoring requests in progress as "
            "it may (4 by default); Retry-After says when to send it again",
            "model": RefusalOut,
        },
    }

    @app.post(
        "/api/predict",
        summary="One person's result",
        openapi_extra={
            "parameters": [base_rate_parameter("this person")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": person_schema}}},
        },
        responses=refused,
        response_model=PredictionOut,
    )
    async def predict_one(request: Request) -> Any:
        """One person's result: probabilities, prediction set, verdict (clear, leaning, toss-up or
        no-information), the starting point base_rate, and every answer's effect with its evidence.
        When the server collects contributions (``rolefit serve --collect``), also a one-time
        ``contribution_token`` for ``POST /api/contributions``."""
        if writer is None:
            return await _predict_one(request)
        async with writer.admit():
            return await with_token(await _predict_one(request), writer)

    async def _predict_one(request: Request) -> Response:
        received = await receive(request)
        if isinstance(received, Response):
            return received
        body, query_rate, problems = received
        if len(body) <= INLINE_BYTES and writer is None:
            # one small person with known keys costs at most about half a millisecond: answered here,
            # without the thread hand-off (which costs a third of the throughput of valid requests).
            # Not while collecting: the loop then also carries every contribution's requests, and 50
            # clients contributing at once kept it busy enough to hold /healthz for 100-500 ms (p99);
            # on the scoring thread, 85-90 ms on the same busy machine, and more contributions a second
            answer = _answer_one(body, query_rate, problems, loaded, inline=True)
            if answer is not None:
                return answer
        return await lanes.person(_answer_one, body, query_rate, problems, loaded)

    @app.post(
        "/api/predict/batch",
        summary="Several people's results",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": person_schema, "maxItems": MAX_BATCH}
                    }
                },
            },
            "parameters": [base_rate_parameter("everyone in the batch")],
        },
        responses=refused,
        response_model=list[PredictionOut],
    )
    async def predict_batch(request: Request) -> Any:
        """Several people at once (at most 1,000); the results in the same order."""
        received = await receive(request)
        if isinstance(received, Response):
            return received
        return await lanes.batch(_batch_steps(*received, loaded))

    add_guidance_routes(app, model=loaded, receive=receive, run=lanes.person,
                        person_schema=person_schema, refused=refused)  # fmt: skip
    if collect is not None:
        add_collect_routes(app, writer, collect, body_timeout=body_timeout)
    return app
