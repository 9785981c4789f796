"""The FastAPI app: the REST API and the questionnaire page (``rolefit serve``).

Endpoints: ``GET /`` (the questionnaire page), ``GET /api/questionnaire``, ``POST /api/predict`` (one
person's answers, the same schema as :func:`rolefit.predict`; returns ``Prediction.to_dict()``),
``POST /api/predict/batch`` (a list of up to 1,000 people), ``GET /healthz`` (model version) and the
OpenAPI docs at ``/docs``. Invalid answers get 422 listing every offending item and what is allowed;
request bodies over 64 KB get 413. Answers are never stored or logged.

Both predict endpoints take the MLE share of the caller's population, ``base_rate`` (strictly between 0
and 1; default: the reference survey's mix), as a query parameter (``?base_rate=0.04``; for a batch it
applies to everyone) or as a ``"base_rate"`` field of a person's JSON object (not an item: it is removed
before predicting). Given both ways with different values, or outside (0, 1), it gets 422 naming
``base_rate``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rolefit.predict import InvalidAnswers, load_model, predict, validate_answers, validate_base_rate
from rolefit.questionnaire import load_instrument

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 1000
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


def _problem_response(problems: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={
            "detail": "invalid answers",
            "problems": [{"item": k, "problem": v} for k, v in problems.items()],
        },
    )


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


async def _read_json(request: Request) -> tuple[Any, Response | None]:
    """The parsed body, or an error response (413 too large, 422 not JSON)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None, JSONResponse(
            status_code=413, content={"detail": f"request body over {MAX_BODY_BYTES} bytes"}
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            return None, JSONResponse(
                status_code=413, content={"detail": f"request body over {MAX_BODY_BYTES} bytes"}
            )
    try:
        return json.loads(body or b"null"), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, _problem_response(
            {"body": f"not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"}
        )


def create_app(model: str | None = None) -> FastAPI:
    """Build the app; the model is loaded (and verified) now, so a bad bundle fails at start-up."""
    loaded = load_model(model)
    app = FastAPI(
        title="rolefit",
        version=loaded.version,
        description="How well you fit software engineering (SWE) versus ML engineering (MLE). "
        "For career exploration, not screening.",
    )
    static = resources.files("rolefit").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    page = static.joinpath("index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "model_version": loaded.version}

    @app.get("/api/questionnaire")
    def questionnaire() -> dict[str, Any]:
        return load_instrument().to_dict()

    answers_schema = _answers_schema()

    invalid = {"description": "Invalid answers or base_rate"}

    @app.post(
        "/api/predict",
        openapi_extra={
            "parameters": [_base_rate_parameter("this person")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": answers_schema}}},
        },
        responses={413: {"description": "Body over 64 KB"}, 422: invalid},
    )
    async def predict_one(request: Request) -> Any:
        """One person's result: probabilities, prediction set, verdict (clear, leaning, toss-up or
        no-information), the starting point base_rate, and every answer's effect with its evidence."""
        query_rate, problems = _query_base_rate(request)
        data, error = await _read_json(request)
        if error is not None:
            return error
        answers, rate, found = _person(data, query_rate)
        problems.update(found)
        try:
            if problems:
                validate_answers(answers)  # one reply names the answers' problems too
                return _problem_response(problems)
            return predict(answers, model=loaded.path, base_rate=rate).to_dict()
        except InvalidAnswers as exc:
            return _problem_response({**problems, **exc.problems})

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
        responses={413: {"description": "Body over 64 KB"}, 422: invalid},
    )
    async def predict_batch(request: Request) -> Any:
        """Several people at once (at most 1,000); the results in the same order."""
        query_rate, problems = _query_base_rate(request)
        data, error = await _read_json(request)
        if error is not None:
            return error
        if not isinstance(data, list):
            return _problem_response({**problems, "body": "expected a JSON array of answer objects"})
        if len(data) > MAX_BATCH:
            return _problem_response(
                {**problems, "body": f"{len(data)} people; at most {MAX_BATCH} per request"}
            )
        results = []
        for position, person in enumerate(data):
            answers, rate, found = _person(person, query_rate)
            try:
                if found or problems:
                    validate_answers(answers)  # name every person's problems, not only the first
                else:
                    results.append(predict(answers, model=loaded.path, base_rate=rate).to_dict())
            except InvalidAnswers as exc:
                found = {**found, **exc.problems}
            problems.update({f"[{position}].{k}": v for k, v in found.items()})
        if problems:
            return _problem_response(problems)
        return results

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, model: str | None = None) -> None:
    """Run the app with uvicorn (one worker)."""
    import uvicorn

    uvicorn.run(create_app(model), host=host, port=port, log_level="warning", access_log=False)
