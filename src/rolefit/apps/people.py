"""A person's JSON object in a request: the answers, the population's ``base_rate`` (query or body
field), the keys that need a costly "did you mean", and the OpenAPI schema of the answers.

Shared by the predict endpoints (:mod:`rolefit.apps.web`) and the guidance endpoints
(:mod:`rolefit.apps.guidance_api`), so that every endpoint reads a person the same way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import Request

from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS, load_instrument
from rolefit.scoring.answers import InvalidAnswers, validate_base_rate

#: Unknown keys per request that get a "did you mean" (about 0.5 ms each).
SUGGESTIONS_PER_REQUEST = 20

BASE_RATE = "base_rate"
BASE_RATE_TEXT = (
    "The MLE share of your population, strictly between 0 and 1 (e.g. 0.04 if 4 in 100 of the people "
    "you ask are ML engineers); it moves the starting point, not the reasons. Default: the reference "
    "survey's mix (the response's base_rate)."
)
BASE_RATE_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "example": 0.04}
#: The documented example of a person's answers (four of them; every item is optional).
EXAMPLE_PERSON = {
    "interest_math": 5,
    "skill_python": 4,
    "career_goal": "applied_scientist",
    "years_coding": 3,
}


def base_rate_parameter(applies_to: str) -> dict[str, Any]:
    """The OpenAPI description of the ``?base_rate=`` query parameter."""
    return {
        "name": BASE_RATE,
        "in": "query",
        "required": False,
        "schema": BASE_RATE_SCHEMA,
        "description": f"{BASE_RATE_TEXT} Applies to {applies_to}; the same as a base_rate body field.",
    }


def answers_schema(*, removable: bool = False) -> dict[str, Any]:
    """The JSON schema of one person's answers (every item optional; a ``base_rate`` field too).

    ``removable``: the object lists changes, where null removes an answer (``base_rate`` is then not
    a field of it)."""
    properties: dict[str, Any] = {}
    for item in load_instrument().items:
        if item.kind == "choice":
            schema: dict[str, Any] = {"type": "string", "enum": list(item.choice_ids)}
        elif item.kind in ("scale", "count", "binary"):
            lo, hi = item.bounds
            schema = {"type": "integer", "minimum": int(lo), "maximum": int(hi)}
        else:
            schema = {"type": "number", "minimum": item.min, "maximum": item.max}
        if removable:
            schema = {"anyOf": [schema, {"type": "null"}]}
        properties[item.id] = {**schema, "description": item.text}
    if not removable:
        properties[BASE_RATE] = {
            **BASE_RATE_SCHEMA,
            "description": f"Not an item. {BASE_RATE_TEXT} The same as the base_rate query parameter.",
        }
    # Swagger UI's "Try it out" starts from this example; without it, it makes one up from the bounds
    # (base_rate 0, which is refused)
    example = {"skill_statistics": 5} if removable else EXAMPLE_PERSON
    return {"type": "object", "properties": properties, "additionalProperties": False, "example": example}


def query_base_rate(request: Request) -> tuple[float | None, dict[str, str]]:
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


def person(answers: Any, query_rate: float | None) -> tuple[Any, float | None, dict[str, str]]:
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
def known_keys() -> frozenset[str]:
    """Keys a person's object may carry: item ids and the metadata and demographics that are ignored."""
    return frozenset(load_instrument().ids) | frozenset(METADATA_FIELDS) | frozenset(DEMOGRAPHIC_FIELDS)


def has_unknown_keys(answers: Any) -> bool:
    """Whether ``answers`` holds a key that is neither an item nor ignored metadata."""
    # only unknown keys cost a "did you mean": such people are validated with the request's budget of
    # suggestions instead of inside predict, which would give each person a budget of its own
    return isinstance(answers, dict) and not answers.keys() <= known_keys()
