"""The FastAPI app: the REST API and the questionnaire page (``rolefit serve``).

Endpoints: ``GET /`` (the questionnaire page), ``GET /api/questionnaire``, ``POST /api/predict`` (one
person's answers, the same schema as :func:`rolefit.predict`; returns ``Prediction.to_dict()``),
``POST /api/predict/batch`` (a list of up to 1,000 people), ``GET /healthz`` (model version) and the
OpenAPI docs at ``/docs``. Invalid answers get 422 listing every offending item and what is allowed;
request bodies over 64 KB get 413. Answers are never stored or logged.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rolefit.predict import InvalidAnswers, load_model, predict
from rolefit.questionnaire import load_instrument

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 1000


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
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _problem_response(problems: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={
            "detail": "invalid answers",
            "problems": [{"item": k, "problem": v} for k, v in problems.items()],
        },
    )


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

    @app.post(
        "/api/predict",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": answers_schema}}}
        },
        responses={413: {"description": "Body over 64 KB"}, 422: {"description": "Invalid answers"}},
    )
    async def predict_one(request: Request) -> Any:
        data, error = await _read_json(request)
        if error is not None:
            return error
        try:
            return predict(data, model=loaded.path).to_dict()
        except InvalidAnswers as exc:
            return _problem_response(exc.problems)

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
            }
        },
        responses={413: {"description": "Body over 64 KB"}, 422: {"description": "Invalid answers"}},
    )
    async def predict_batch(request: Request) -> Any:
        data, error = await _read_json(request)
        if error is not None:
            return error
        if not isinstance(data, list):
            return _problem_response({"body": "expected a JSON array of answer objects"})
        if len(data) > MAX_BATCH:
            return _problem_response({"body": f"{len(data)} people; at most {MAX_BATCH} per request"})
        results, problems = [], {}
        for position, answers in enumerate(data):
            try:
                results.append(predict(answers, model=loaded.path).to_dict())
            except InvalidAnswers as exc:
                problems.update({f"[{position}].{k}": v for k, v in exc.problems.items()})
        if problems:
            return _problem_response(problems)
        return results

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, model: str | None = None) -> None:
    """Run the app with uvicorn (one worker)."""
    import uvicorn

    uvicorn.run(create_app(model), host=host, port=port, log_level="warning", access_log=False)
