"""The guidance endpoints of the REST API (registered on the app by :func:`rolefit.apps.web.create_app`).

* ``POST /api/guide`` — one person's answers (as for ``/api/predict``) -> ``Prediction.to_dict()`` with
  ``Guidance.to_dict()`` under ``guidance``: certainty in words, the starting point, the five groups,
  next steps per role (the fitting role first; from the readiness gaps and the guides' path), the roles'
  facts (the fitting role first) and common mistakes;
* ``POST /api/next-questions`` — the answers so far -> Quick mode's next questions
  (:func:`rolefit.guidance.quick.quick_questions`; ``?k=``, default 1): ``phase`` ("fit": the fit's
  most telling questions until the fit is settled; "readiness": the short "where do you stand today?"
  block; "done"), ``questions``, ``settled`` (the fit's) and ``expected_left`` (questions left, from
  the stopping rule's estimate); ``?skipped=item`` (repeatable, or comma-separated) names items the
  person chose not to answer, never suggested again. Someone who answered nothing gets the best first
  question and ``settled: false``;
* ``POST /api/what-if`` — an exploration tool: ``{"answers": {...}, "changes": {...}}`` -> the
  prediction after the changes and the exact change in ``p_mle`` (null in ``changes`` removes an answer);
  never the source of next steps;
* ``GET /api/role-facts`` — the roles explained (``?role=swe`` or ``mle``; both when absent).

Bodies are read like ``/api/predict``'s (:mod:`rolefit.apps.bodies`: 413/415/408/422, the same limits)
and the work runs on the app's scoring thread. Invalid input gets 422 naming every offending field; the
OpenAPI document shows each response's schema (:mod:`rolefit.apps.schemas`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rolefit.apps.bodies import parse_json, problem_response
from rolefit.apps.people import (
    BASE_RATE,
    BASE_RATE_SCHEMA,
    SUGGESTIONS_PER_REQUEST,
    answers_schema,
    base_rate_parameter,
    has_unknown_keys,
    person,
)
from rolefit.apps.schemas import (
    GuideResponse,
    NextQuestionsResponse,
    ProblemsOut,
    RoleFactsResponse,
    WhatIfResponse,
)
from rolefit.guidance.advice import guide
from rolefit.guidance.facts import role_facts
from rolefit.guidance.questions import next_questions
from rolefit.guidance.quick import quick_questions
from rolefit.guidance.steps import what_if
from rolefit.instrument.items import load_instrument
from rolefit.model.conformal import ROLES
from rolefit.scoring.answers import InvalidAnswers, validate_answers
from rolefit.scoring.predictor import predict

WHAT_IF_KEYS = ("answers", "changes", BASE_RATE)


def _answers(body: bytes, query_rate: float | None, problems: dict[str, str]):
    """A person's answers and base rate from a body, or the 422 naming every problem."""
    data, found = parse_json(body)
    if found:
        return problem_response(found)
    answers, rate, found = person(data, query_rate)
    problems = {**problems, **found}
    if problems or not isinstance(answers, dict) or has_unknown_keys(answers):
        try:
            validate_answers(answers, suggestions=SUGGESTIONS_PER_REQUEST)  # names the answers' problems
        except InvalidAnswers as exc:
            return problem_response({**problems, **exc.problems})
        if problems:
            return problem_response(problems)
    return answers, rate


def _guide(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any) -> Response:
    read = _answers(body, query_rate, problems)
    if isinstance(read, Response):
        return read
    answers, rate = read
    try:
        p = predict(answers, model=model, base_rate=rate)
        guidance = guide(answers, model=model, base_rate=rate, prediction=p)
    except InvalidAnswers as exc:
        return problem_response(exc.problems)
    return JSONResponse({**p.to_dict(), "guidance": guidance.to_dict()})


def _next(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any,
          k: int, skipped: tuple[str, ...]) -> Response:  # fmt: skip
    read = _answers(body, query_rate, problems)
    if isinstance(read, Response):
        return read
    answers, rate = read
    try:
        step = quick_questions(answers, k, model=model, base_rate=rate, skipped=skipped)
    except InvalidAnswers as exc:
        return problem_response(exc.problems)
    return JSONResponse(step.to_dict())


def _what_if(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any) -> Response:
    data, found = parse_json(body)
    if found:
        return problem_response(found)
    if not isinstance(data, dict):
        return problem_response({"body": 'expected a JSON object: {"answers": {...}, "changes": {...}}'})
    data, rate, found = person(data, query_rate)
    problems = {**problems, **found}
    for key in data:
        if key not in WHAT_IF_KEYS:
            problems[str(key)[:60]] = f"unknown field; expected {', '.join(WHAT_IF_KEYS)}"
    if "changes" not in data:
        problems["changes"] = "missing: an object of item id -> new answer (null removes an answer)"
    parts = {"answers": data.get("answers", {}), "changes": data.get("changes", {})}
    for name, value in parts.items():
        try:
            parts[name] = validate_answers(value, suggestions=SUGGESTIONS_PER_REQUEST // 2)
        except InvalidAnswers as exc:
            problems.update(
                {name if key == "answers" else f"{name}.{key}": text for key, text in exc.problems.items()}
            )
    if problems:
        return problem_response(problems)
    # null in changes removes an answer: validation dropped it, so it is put back as a removal
    changes = {**{k: None for k in data["changes"] if k in load_instrument()}, **parts["changes"]}
    try:
        result = what_if(parts["answers"], changes, model=model, base_rate=rate)
    except InvalidAnswers as exc:
        return problem_response(exc.problems)
    return JSONResponse(result.to_dict())


def _count(request: Request, name: str, default: int, top: int) -> tuple[int, dict[str, str]]:
    given = request.query_params.getlist(name)
    if not given:
        return default, {}
    if len(given) > 1 or not given[0].strip().isdigit() or not 1 <= int(given[0]) <= top:
        return default, {name: f"a whole number from 1 to {top}, given once; got {', '.join(given)[:60]!r}"}
    return int(given[0]), {}


def _skipped(request: Request) -> tuple[tuple[str, ...], dict[str, str]]:
    names = [n.strip() for value in request.query_params.getlist("skipped") for n in value.split(",")]
    names = [n for n in names if n]
    known = load_instrument()
    unknown = [n[:60] for n in names if n not in known]
    if unknown:
        listed = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        return (), {"skipped": f"unknown items: {listed}; see GET /api/questionnaire"}
    return tuple(dict.fromkeys(names)), {}


def add_guidance_routes(
    app: FastAPI, *, model: Any, receive, run, person_schema: dict[str, Any], refused: dict[int, Any]
) -> None:
    """Register the guidance endpoints. ``receive(request)`` reads a body as ``/api/predict`` does (the
    body, the query's base rate and its problems, or the refusal); ``run(work, *args)`` runs ``work`` on
    the scoring thread; ``model`` is the loaded bundle's path."""
    role_facts()  # the packaged facts are validated at start-up, not on the first request
    next_questions({}, model=model, of="fit")  # and the fit's answer model's arrays are built
    body = {"requestBody": {"required": True, "content": {"application/json": {"schema": person_schema}}}}
    items = len(load_instrument())
    item_ids = list(load_instrument().ids)

    @app.post(
        "/api/guide",
        summary="One person's result with guidance",
        response_model=GuideResponse,
        responses=refused,
        openapi_extra={"parameters": [base_rate_parameter("this person")], **body},
    )
    async def guide_one(request: Request) -> Any:
        """One person's result (as /api/predict) with guidance: how sure in words, the starting point,
        the five groups of reasons, next steps toward each role (the fitting role first; each with the
        share of people in the role or the career guide behind it), the roles' facts with their sources
        (the fitting role first) and common mistakes."""
        received = await receive(request)
        if isinstance(received, Response):
            return received
        return await run(_guide, *received, model)

    @app.post(
        "/api/next-questions",
        summary="The questions that would tell most next",
        response_model=NextQuestionsResponse,
        responses=refused,
        openapi_extra={
            "parameters": [
                base_rate_parameter("this person"),
                {
                    "name": "k",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": items, "default": 1},
                    "description": "How many questions to return, best first.",
                },
                {
                    "name": "skipped",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "array", "items": {"type": "string", "enum": item_ids}},
                    "style": "form",
                    "explode": True,
                    "description": "Items the person chose not to answer: never suggested again.",
                },
            ],
            **body,
        },
    )
    async def next_one(request: Request) -> Any:
        """Quick mode's next questions: while the fit is not settled (phase "fit"), the unanswered fit
        questions whose answers are expected to tell most about it (expected information gain, bits);
        then the short "where do you stand today?" block in a fixed order (phase "readiness"); then
        none (phase "done"). With whether the fit is settled and the expected number of questions
        left (from the stopping rule, never a fixed number). With no answers: the best first
        question."""
        k, problems = _count(request, "k", 1, items)
        skipped, found = _skipped(request)
        received = await receive(request)
        if isinstance(received, Response):
            return received
        data, rate, more = received
        return await run(_next, data, rate, {**more, **problems, **found}, model, k, skipped)

    changes = answers_schema(removable=True)
    what_if_body = {
        "type": "object",
        "properties": {
            "answers": {**person_schema, "properties": {
                k: v for k, v in person_schema["properties"].items() if k != BASE_RATE}},
            "changes": changes,
            BASE_RATE: {**BASE_RATE_SCHEMA, "description": "Not an item: as the base_rate query parameter."},
        },
        "required": ["changes"],
        "additionalProperties": False,
    }  # fmt: skip

    @app.post(
        "/api/what-if",
        summary="Explore: what changing some answers would do",
        response_model=WhatIfResponse,
        responses=refused,
        openapi_extra={
            "parameters": [base_rate_parameter("this person")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": what_if_body}}},
        },
    )
    async def what_if_one(request: Request) -> Any:
        """Explore: the result after changing some answers, and the exact change in the probability of
        MLE (an exploration tool; next steps never come from it)."""
        received = await receive(request)
        if isinstance(received, Response):
            return received
        return await run(_what_if, *received, model)

    @app.get(
        "/api/role-facts",
        summary="The two roles explained, with sources",
        response_model=RoleFactsResponse,
        responses={422: {"description": "Unknown role", "model": ProblemsOut}},
        openapi_extra={
            "parameters": [
                {
                    "name": "role",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(ROLES)},
                    "description": "swe or mle: that role only (default: both, SWE then MLE).",
                }
            ]
        },
    )
    async def facts(request: Request) -> Any:
        """The two roles explained (daily work, skills, tools, growth, market, salary ranges), each fact
        with its sources' titles and years: one publisher's view each, not measured data."""
        given = request.query_params.getlist("role")
        if len(given) > 1 or (given and given[0] not in ROLES):
            got = ", ".join(given)[:60]
            return problem_response({"role": f"one of {', '.join(ROLES)}, given once; got {got!r}"})
        found = role_facts(given[0]) if given else role_facts()
        return JSONResponse({"roles": [r.to_dict() for r in found]})
