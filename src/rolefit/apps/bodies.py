"""Request bodies read defensively: declared JSON, bounded in size, time and depth, never a 500.

Only :func:`read_body` runs on the event loop (it only collects bytes); :func:`parse_json` and the
rest run wherever the caller scores. Every refusal is a JSON reply naming the cause.
"""

from __future__ import annotations

import asyncio
import json
import re
from itertools import islice
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from rolefit.scoring.answers import MAX_DIGITS

MAX_BODY_BYTES = 64 * 1024
#: A batch is an array of objects of scalars (2 levels); 10 still lets a nested value be named as a
#: wrong answer, and keeps the parser and ``repr`` far from Python's recursion limit.
MAX_JSON_DEPTH = 10
#: Problems listed in one 422 reply; the rest are counted (a 64 KB body can hold 8,000 bad keys).
MAX_PROBLEMS = 1000
#: Seconds a client has to send the whole body once the handler starts reading it (uvicorn has no
#: such timeout: a body sent a byte a minute held its connection and task for ever).
BODY_TIMEOUT = 10.0
#: Stands in for JSON integers of more than MAX_DIGITS digits, so the parser never converts (or later
#: prints) a 60,000-digit number: validation refuses it naming the item, and as a base_rate it is
#: beyond a float's range, so base_rate's message does not quote a value the caller did not send.
_HUGE = 10**400

_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def problem_response(problems: dict[str, str]) -> JSONResponse:
    listed = [{"item": k, "problem": v} for k, v in islice(problems.items(), MAX_PROBLEMS)]
    if len(problems) > MAX_PROBLEMS:
        listed.append(
            {
                "item": "...",
                "problem": f"{len(problems) - MAX_PROBLEMS:,} more problems not listed "
                f"({len(problems):,} in all); fix the ones listed and send the request again",
            }
        )
    return JSONResponse(status_code=422, content={"detail": "invalid answers", "problems": listed})


def refusal(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers or None)


def wrong_content_type(request: Request) -> JSONResponse | None:
    """415 unless the body is declared JSON (``application/json`` or ``application/*+json``) in UTF-8."""
    declared = request.headers.get("content-type", "")
    media, *parameters = (part.strip().lower() for part in declared.split(";"))
    charsets = {
        value.strip('"') for name, _, value in (p.partition("=") for p in parameters) if name == "charset"
    }
    is_json = media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
    if is_json and charsets <= {"utf-8", "utf8"}:
        return None
    got = f"Content-Type {declared[:60]!r}" if declared else "no Content-Type"
    return refusal(
        415,
        f"The body must be JSON encoded as UTF-8, sent with Content-Type: application/json; got {got}.",
    )


async def read_body(request: Request, timeout: float) -> bytes | Response:
    """The raw body, or an error response: 413 over MAX_BODY_BYTES, 408 not complete within
    ``timeout`` seconds. Runs on the event loop, so it only collects bytes."""
    too_large = f"request body over {MAX_BODY_BYTES} bytes"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return refusal(413, too_large)
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > MAX_BODY_BYTES:
                    return refusal(413, too_large)
    except TimeoutError:
        # the rest of the body may still be on its way: close the connection rather than read it
        return refusal(
            408, f"The request body did not arrive within {timeout:g} seconds.", Connection="close"
        )
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening any more
    return bytes(body)


def _parse_int(digits: str) -> int:
    """json's parse_int: the number, or ±_HUGE for more than MAX_DIGITS digits (never converted)."""
    if len(digits) - digits.startswith("-") > MAX_DIGITS:
        return -_HUGE if digits.startswith("-") else _HUGE
    return int(digits)


def _too_deep(text: str) -> bool:
    """Whether the JSON text nests arrays and objects more than MAX_JSON_DEPTH levels deep.

    Brackets inside strings do not count. Malformed text may be misjudged, but the parser refuses it
    anyway: the point is that json.loads never recurses 32,000 levels."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for bracket in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _has_lone_surrogate(data: Any) -> bool:
    """Whether a parsed body holds a lone UTF-16 surrogate (from a ``\\ud800`` escape) anywhere."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(body: bytes) -> tuple[Any, dict[str, str]]:
    """The parsed body and no problems, or None and the body's problem (keyed ``body``)."""
    if not body:
        return None, {}  # as JSON null: validation says an object of answers was expected
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, {
            "body": f"not valid UTF-8 (byte {body[exc.start]:#04x} at position {exc.start}); send the JSON "
            "encoded as UTF-8"
        }
    text = text.removeprefix("\ufeff")  # a byte-order mark is tolerated, as before
    deep = f"nested deeper than {MAX_JSON_DEPTH} levels; answers need 2 (an array of objects of answers)"
    if _too_deep(text):
        return None, {"body": deep}
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        return None, {"body": f"not valid JSON ({exc.msg})"}
    except RecursionError:  # not reached after _too_deep; kept so that no input can make a 500
        return None, {"body": deep}
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
        # the reply could not even be encoded to name the key: refuse the body without echoing it
        return None, {
            "body": "contains a lone UTF-16 surrogate escape (\\ud800 to \\udfff not part of a pair), "
            "which is not valid Unicode; send text as valid Unicode"
        }
    return data, {}
