"""The FastAPI app: the REST API and the questionnaire page (``rolefit serve``).

Endpoints: ``GET /`` (the questionnaire page), ``GET /api/questionnaire``, ``POST /api/predict`` (one
person's answers, the same schema as :func:`rolefit.predict`; returns ``Prediction.to_dict()``),
``POST /api/predict/batch`` (a list of up to 1,000 people), ``GET /healthz`` (model version), the
guidance endpoints of :mod:`rolefit.apps.guidance_api` (``/api/guide``, ``/api/next-questions``,
``/api/what-if``, ``/api/role-facts``), the OpenAPI document at ``/openapi.json`` with every request's
and response's schema (:mod:`rolefit.apps.schemas`), and its pages at ``/docs`` (Swagger UI) and
``/redoc`` (ReDoc), which load nothing from other hosts (:mod:`rolefit.apps.api_docs`). Invalid
answers get 422 listing every offending item and what is allowed (the first 1,000 problems, then a
count); request bodies over 64 KB get 413. Answers are never stored or logged.

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
from importlib import resources
from typing import Any

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
from rolefit.apps.guidance_api import add_guidance_routes
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

MAX_BATCH = 1000
#: Bodies of POST /api/predict up to this size are answered on the event loop when every key is
#: known (a whole questionnaire is about 1.3 KB); anything larger or with unknown keys goes to a thread.
INLINE_BYTES = 8 * 1024
#: Threads that decode, validate and score requests. Scoring is pure Python and holds the GIL: one
#: thread does the work, and fewer threads competing with the event loop keep /healthz fast.
SCORING_THREADS = 1


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
    for position, entry in enumerate(data):
        answers, rate, found = person(entry, query_rate)
        try:
            if found or problems or has_unknown_keys(answers):
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
        docs_url=None,  # FastAPI's own pages load their scripts from CDNs: add_offline_docs serves ours
        redoc_url=None,
    )
    add_offline_docs(app)
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
        query_rate, problems = query_base_rate(request)
        body = await read_body(request, body_timeout)
        if isinstance(body, Response):
            return body
        return body, query_rate, problems

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/healthz", response_model=HealthOut, summary="Is the server up, and which model")
    async def healthz() -> Any:
        """The server is up, and the version of the model it serves."""
        # async: answered on the event loop itself, never queued behind a busy thread pool
        return JSONResponse({"status": "ok", "model_version": loaded.version})

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
        return await off_the_loop(_answer_batch, *received)

    async def run(work, *args):
        return await asyncio.get_running_loop().run_in_executor(scoring, work, *args)

    add_guidance_routes(app, model=loaded.path, receive=receive, run=run, person_schema=person_schema,
                        refused=refused)  # fmt: skip
    return app
