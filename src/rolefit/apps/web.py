"""The FastAPI app: the REST API and the questionnaire page (``rolefit serve``).

Endpoints: ``GET /`` (the questionnaire page), ``GET /api/questionnaire``, ``POST /api/predict`` (one
person's answers, the same schema as :func:`rolefit.predict`; returns ``Prediction.to_dict()``),
``POST /api/predict/batch`` (a list of up to 1,000 people), ``GET /healthz`` (model version) and the
OpenAPI docs at ``/docs``. Invalid answers get 422 listing every offending item and what is allowed
(the first 1,000 problems, then a count); request bodies over 64 KB get 413. Answers are never stored
or logged.

Both predict endpoints take the MLE share of the caller's population, ``base_rate`` (strictly between 0
and 1; default: the reference survey's mix), as a query parameter (``?base_rate=0.04``; for a batch it
applies to everyone) or as a ``"base_rate"`` field of a person's JSON object (not an item: it is removed
before predicting). Given both ways with different values, or outside (0, 1), it gets 422 naming
``base_rate``.

Hostile or broken clients cannot stall the server or make it answer 500:

- only the body is read on the event loop; decoding, validating and scoring run on a scoring thread, so
  ``/healthz`` and other clients' I/O keep being served;
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

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rolefit.apps.bodies import (
    BODY_TIMEOUT,
    parse_json,
    problem_response,
    read_body,
    wrong_content_type,
)
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS, load_instrument
from rolefit.scoring.answers import InvalidAnswers, validate_answers, validate_base_rate
from rolefit.scoring.loader import load_model
from rolefit.scoring.predictor import predict

MAX_BATCH = 1000
#: Bodies of POST /api/predict up to this size are answered on the event loop when every key is
#: known (a whole questionnaire is about 1.3 KB); anything larger or with unknown keys goes to a thread.
INLINE_BYTES = 8 * 1024
#: Unknown keys per request that get a "did you mean" (about 0.5 ms each).
SUGGESTIONS_PER_REQUEST = 20
#: Threads that decode, validate and score requests. Scoring is pure Python and holds the GIL: one
#: thread does the work, and fewer threads competing with the event loop keep /healthz fast.
SCORING_THREADS = 1

BASE_RATE = "base_rate"
BASE_RATE_TEXT = (
    "The MLE share of your population, strictly between 0 and 1 (e.g. 0.04 if 4 in 100 of the people "
    "you ask are ML engineers); it moves the starting point, not the reasons. Default: the reference "
    "survey's mix (the response's base_rate)."
)
BASE_RATE_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}


def _base_rate_parameter(applies_to: str) -> dict[str, Any]:
    return {
        "name": BASE_RATE,
        "in": "query",
        "required": False,
        "schema": BASE_RATE_SCHEMA,
        "description": f"{BASE_RATE_TEXT} Applies to {applies_to}; the same as a base_rate body field.",
    }


def _answers_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for item in load_instrument().items:
        if item.kind == "choice":
            schema: dict[str, Any] = {"type": "string", "enum": list(item.choice_ids)}
        elif item.kind in ("scale", "count", "binary"):
            lo, hi = item.bounds
            schema = {"type": "integer", "minimum": int(lo), "maximum": int(hi)}
        else:
            schema = {"type": "number", "minimum": item.min, "maximum": item.max}
        properties[item.id] = {**schema, "description": item.text}
    properties[BASE_RATE] = {
        **BASE_RATE_SCHEMA,
        "description": f"Not an item. {BASE_RATE_TEXT} The same as the base_rate query parameter.",
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _query_base_rate(request: Request) -> tuple[float | None, dict[str, str]]:
    """The ``?base_rate=`` of a request (None when absent) and its problems, keyed ``base_rate``."""
    given = request.query_params.getlist(BASE_RATE)
    if not given:
        return None, {}
    try:
        rates = {validate_base_rate(value) for value in given}
    except InvalidAnswers as exc:
        return None, exc.problems
    if len(rates) > 1:
        return None, {BASE_RATE: "given more than once in the query with different values; give it once"}
    return rates.pop(), {}


def _person(answers: Any, query_rate: float | None) -> tuple[Any, float | None, dict[str, str]]:
    """Split a person's JSON object into (answers, base rate, problems).

    A ``base_rate`` field is not an item: it is taken out, validated, and must agree with the query's.
    """
    if not isinstance(answers, dict) or BASE_RATE not in answers:
        return answers, query_rate, {}
    answers = dict(answers)
    given = answers.pop(BASE_RATE)
    problems: dict[str, str] = {}
    try:
        rate = validate_base_rate(given)
    except InvalidAnswers as exc:
        rate, problems = None, exc.problems
    if rate is None:
        rate = query_rate
    elif query_rate is not None and rate != query_rate:
        problems = {
            BASE_RATE: f"given twice with different values ({query_rate:g} in the query, {rate:g} in the "
            "body); give it once"
        }
    return answers, rate, problems


@lru_cache(maxsize=1)
def _known_keys() -> frozenset[str]:
    """Keys a person's object may carry: item ids and the metadata and demographics that are ignored."""
    return frozenset(load_instrument().ids) | frozenset(METADATA_FIELDS) | frozenset(DEMOGRAPHIC_FIELDS)


def _has_unknown_keys(answers: Any) -> bool:
    # only unknown keys cost a "did you mean": such people are validated here with the request's
    # budget of suggestions instead of inside predict, which would give each person a budget of its own
    return isinstance(answers, dict) and not answers.keys() <= _known_keys()


def _answer_one(
    body: bytes, query_rate: float | None, problems: dict[str, str], model: Any, inline: bool = False
) -> Response | None:
    """POST /api/predict after the body has arrived (on a scoring thread, or ``inline`` on the event
    loop for a small body, when it returns None if the answers need the costly "did you mean")."""
    data, found = parse_json(body)
    if found:
        return problem_response(found)
    answers, rate, found = _person(data, query_rate)
    problems = {**problems, **found}
    if inline and _has_unknown_keys(answers):
        return None
    try:
        if problems or _has_unknown_keys(answers):
            validate_answers(answers, suggestions=SUGGESTIONS_PER_REQUEST)  # names the answers' problems too
            return problem_response(problems)
        return JSONResponse(predict(answers, model=model, base_rate=rate).to_dict())
    except InvalidAnswers as exc:
        return problem_response({**problems, **exc.problems})


def _answer_batch(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any) -> Response:
    """POST /api/predict/batch after the body has arrived (runs on a scoring thread)."""
    data, found = parse_json(body)
    if found:
        return problem_response(found)
    if not isinstance(data, list):
        return problem_response({**problems, "body": "expected a JSON array of answer objects"})
    if len(data) > MAX_BATCH:
        return problem_response({**problems, "body": f"{len(data)} people; at most {MAX_BATCH} per request"})
    results = []
    suggestions = SUGGESTIONS_PER_REQUEST
    for position, person in enumerate(data):
        answers, rate, found = _person(person, query_rate)
        try:
            if found or problems or _has_unknown_keys(answers):
                validate_answers(answers, suggestions=suggestions)  # name every person's problems
            else:
                results.append(predict(answers, model=model, base_rate=rate).to_dict())
        except InvalidAnswers as exc:
            found = {**found, **exc.problems}
            suggestions = max(0, suggestions - len(exc.problems))  # at least what this person used
        problems.update({f"[{position}].{k}": v for k, v in found.items()})
    if problems:
        return problem_response(problems)
    return JSONResponse(results)


def create_app(model: str | None = None, *, body_timeout: float = BODY_TIMEOUT) -> FastAPI:
    """Build the app; the model is loaded (and verified) now, so a bad bundle fails at start-up.

    ``body_timeout``: seconds a client has to send a request body (then 408)."""
    loaded = load_model(model)
    app = FastAPI(
        title="rolefit",
        version=loaded.version,
        description="How well you fit software engineering (SWE) versus ML engineering (MLE). "
        "For career exploration, not screening.",
    )
    static = resources.files("rolefit.apps").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    page = static.joinpath("index.html").read_text(encoding="utf-8")
    # threads start on first use; an idle pool's threads exit when the app is garbage-collected
    scoring = ThreadPoolExecutor(max_workers=SCORING_THREADS, thread_name_prefix="rolefit-scoring")

    async def off_the_loop(work, body: bytes, query_rate: float | None, problems: dict[str, str]):
        return await asyncio.get_running_loop().run_in_executor(
            scoring, work, body, query_rate, problems, loaded.path
        )

    async def receive(request: Request) -> tuple[bytes, float | None, dict[str, str]] | Response:
        """Content type, query base rate and the bounded body of a predict request, or the refusal."""
        wrong_type = wrong_content_type(request)
        if wrong_type is not None:
            return wrong_type
        query_rate, problems = _query_base_rate(request)
        body = await read_body(request, body_timeout)
        if isinstance(body, Response):
            return body
        return body, query_rate, problems

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        # async: answered on the event loop itself, never queued behind a busy thread pool
        return {"status": "ok", "model_version": loaded.version}

    @app.get("/api/questionnaire")
    def questionnaire() -> dict[str, Any]:
        return load_instrument().to_dict()

    answers_schema = _answers_schema()

    invalid = {"description": "Invalid answers or base_rate"}
    refused = {
        408: {"description": "Body not received within 10 s"},
        413: {"description": "Body over 64 KB"},
        415: {"description": "Body not declared as JSON (Content-Type: application/json) in UTF-8"},
        422: invalid,
    }

    @app.post(
        "/api/predict",
        openapi_extra={
            "parameters": [_base_rate_parameter("this person")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": answers_schema}}},
        },
        responses=refused,
    )
    async def predict_one(request: Request) -> Any:
        """One person's result: probabilities, prediction set, verdict (clear, leaning, toss-up or
        no-information), the starting point base_rate, and every answer's effect with its evidence."""
        received = await receive(request)
        if isinstance(received, Response):
            return received
        body, query_rate, problems = received
        if len(body) <= INLINE_BYTES:
            # one small person with known keys costs at most about half a millisecond: answered here,
            # without the thread hand-off (which costs a third of the throughput of valid requests)
            answer = _answer_one(body, query_rate, problems, loaded.path, inline=True)
            if answer is not None:
                return answer
        return await off_the_loop(_answer_one, body, query_rate, problems)

    @app.post(
        "/api/predict/batch",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": answers_schema, "maxItems": MAX_BATCH}
                    }
                },
            },
            "parameters": [_base_rate_parameter("everyone in the batch")],
        },
        responses=refused,
    )
    async def predict_batch(request: Request) -> Any:
        """Several people at once (at most 1,000); the results in the same order."""
        received = await receive(request)
        if isinstance(received, Response):
            return received
        return await off_the_loop(_answer_batch, *received)

    return app
