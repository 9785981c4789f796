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
  rate-limits its error log (see :func:`serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from itertools import islice
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS, load_instrument
from rolefit.scoring.answers import MAX_DIGITS, InvalidAnswers, validate_answers, validate_base_rate
from rolefit.scoring.loader import load_model
from rolefit.scoring.predictor import predict

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 1000
#: A batch is an array of objects of scalars (2 levels); 10 still lets a nested value be named as a
#: wrong answer, and keeps the parser and ``repr`` far from Python's recursion limit.
MAX_JSON_DEPTH = 10
#: Bodies of POST /api/predict up to this size are answered on the event loop when every key is
#: known (a whole questionnaire is about 1.3 KB); anything larger or with unknown keys goes to a thread.
INLINE_BYTES = 8 * 1024
#: Problems listed in one 422 reply; the rest are counted (a 64 KB body can hold 8,000 bad keys).
MAX_PROBLEMS = 1000
#: Unknown keys per request that get a "did you mean" (about 0.5 ms each).
SUGGESTIONS_PER_REQUEST = 20
#: Seconds a client has to send the whole body once the handler starts reading it (uvicorn has no
#: such timeout: a body sent a byte a minute held its connection and task for ever).
BODY_TIMEOUT = 10.0
#: Seconds a client has to send a request's line and headers (uvicorn waits for ever: slowloris).
HEAD_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection is kept (uvicorn's default, stated here with the others).
KEEP_ALIVE_TIMEOUT = 5
#: Bytes of request line plus headers (h11's default, stated here with the others).
MAX_HEAD_BYTES = 16 * 1024
#: Connections (and running requests) beyond which uvicorn answers 503 instead of queueing more work.
MAX_CONNECTIONS = 200
#: Connections waiting to be accepted by the kernel.
BACKLOG = 256
#: Threads that decode, validate and score requests. Scoring is pure Python and holds the GIL: one
#: thread does the work, and fewer threads competing with the event loop keep /healthz fast.
SCORING_THREADS = 1
#: Error-log records written per interval (seconds); the rest are counted and summarised.
LOG_BURST, LOG_INTERVAL = 20, 10.0

BASE_RATE = "base_rate"
BASE_RATE_TEXT = (
    "The MLE share of your population, strictly between 0 and 1 (e.g. 0.04 if 4 in 100 of the people "
    "you ask are ML engineers); it moves the starting point, not the reasons. Default: the reference "
    "survey's mix (the response's base_rate)."
)
BASE_RATE_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
#: Stands in for JSON integers of more than MAX_DIGITS digits, so the parser never converts (or later
#: prints) a 60,000-digit number: validation refuses it naming the item, and as a base_rate it is
#: beyond a float's range, so base_rate's message does not quote a value the caller did not send.
_HUGE = 10**400

_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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


def _refusal(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers or None)


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


def _wrong_content_type(request: Request) -> JSONResponse | None:
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
    return _refusal(
        415,
        f"The body must be JSON encoded as UTF-8, sent with Content-Type: application/json; got {got}.",
    )


async def _read_body(request: Request, timeout: float) -> bytes | Response:
    """The raw body, or an error response: 413 over MAX_BODY_BYTES, 408 not complete within
    ``timeout`` seconds. Runs on the event loop, so it only collects bytes."""
    too_large = f"request body over {MAX_BODY_BYTES} bytes"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _refusal(413, too_large)
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > MAX_BODY_BYTES:
                    return _refusal(413, too_large)
    except TimeoutError:
        # the rest of the body may still be on its way: close the connection rather than read it
        return _refusal(
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


def _parse_json(body: bytes) -> tuple[Any, dict[str, str]]:
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


def _answer_one(
    body: bytes, query_rate: float | None, problems: dict[str, str], model: Any, inline: bool = False
) -> Response | None:
    """POST /api/predict after the body has arrived (on a scoring thread, or ``inline`` on the event
    loop for a small body, when it returns None if the answers need the costly "did you mean")."""
    data, found = _parse_json(body)
    if found:
        return _problem_response(found)
    answers, rate, found = _person(data, query_rate)
    problems = {**problems, **found}
    if inline and _has_unknown_keys(answers):
        return None
    try:
        if problems or _has_unknown_keys(answers):
            validate_answers(answers, suggestions=SUGGESTIONS_PER_REQUEST)  # names the answers' problems too
            return _problem_response(problems)
        return JSONResponse(predict(answers, model=model, base_rate=rate).to_dict())
    except InvalidAnswers as exc:
        return _problem_response({**problems, **exc.problems})


def _answer_batch(body: bytes, query_rate: float | None, problems: dict[str, str], model: Any) -> Response:
    """POST /api/predict/batch after the body has arrived (runs on a scoring thread)."""
    data, found = _parse_json(body)
    if found:
        return _problem_response(found)
    if not isinstance(data, list):
        return _problem_response({**problems, "body": "expected a JSON array of answer objects"})
    if len(data) > MAX_BATCH:
        return _problem_response({**problems, "body": f"{len(data)} people; at most {MAX_BATCH} per request"})
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
        return _problem_response(problems)
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
        wrong_type = _wrong_content_type(request)
        if wrong_type is not None:
            return wrong_type
        query_rate, problems = _query_base_rate(request)
        body = await _read_body(request, body_timeout)
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


class RateLimitedLog(logging.Filter):
    """Lets ``burst`` records through per ``interval`` seconds and drops the rest, counting them; the
    next record let through says how many were dropped.

    A flood of bad requests, or ``accept()`` failing at the open-file limit, otherwise writes one
    warning or traceback each (33 MB in 35 s was seen) and fills the disk.
    """

    def __init__(self, burst: int = LOG_BURST, interval: float = LOG_INTERVAL, clock=time.monotonic):
        super().__init__()
        self.burst, self.interval, self.clock = burst, interval, clock
        self.window_start = -float("inf")
        self.passed = self.suppressed = 0
        self._lock = threading.Lock()  # records come from the event loop and from worker threads

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            now = self.clock()
            if now - self.window_start >= self.interval:
                self.window_start, self.passed = now, 0
            if self.passed >= self.burst:
                self.suppressed += 1
                return False
            self.passed += 1
            if self.suppressed:
                record.msg = (
                    f"{record.getMessage()} [{self.suppressed:,} similar log records suppressed before "
                    f"this one: at most {self.burst} are written per {self.interval:g} s]"
                )
                record.args = ()
                self.suppressed = 0
        return True


#: Loggers whose records are rate-limited while serving: uvicorn's own (bad requests, 503s, tracebacks
#: from the app) and asyncio's (accept() failing at the open-file limit).
LIMITED_LOGGERS = ("uvicorn.error", "asyncio")

_REQUEST_HEAD_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
)


def _protocol(head_timeout: float) -> type:
    """uvicorn's h11 protocol with a deadline for each request's line and headers.

    uvicorn only times out idle keep-alive connections: a client that connects and sends nothing, or
    its headers a byte at a time (slowloris), holds a connection for ever, and enough of them reach the
    open-file limit. Here the head must be complete ``head_timeout`` seconds after the connection is
    made, or after the first byte of a later request on it; else 408 and the connection is closed. A
    client that does not read its response is cut off when the keep-alive timer ends, instead of its
    unsent response keeping the connection open.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    body = f"The request's line and headers did not arrive within {head_timeout:g} seconds.".encode()
    reply = _REQUEST_HEAD_TIMEOUT + b"content-length: %d\r\n\r\n" % len(body) + body

    class HeadTimeoutH11Protocol(H11Protocol):
        head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_head_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            # h11 leaves IDLE once a whole head is parsed; until then the deadline keeps running
            # (it is not restarted by each byte, which is how slowloris stays connected)
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._start_head_timer()
            else:
                self._stop_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def timeout_keep_alive_handler(self) -> None:
            if not self.transport.is_closing() and self.transport.get_write_buffer_size():
                self.transport.abort()  # close() would wait for a reader that never comes
                return
            super().timeout_keep_alive_handler()

        def _start_head_timer(self) -> None:
            if self.head_timer is None:
                self.head_timer = self.loop.call_later(head_timeout, self._head_timed_out)

        def _stop_head_timer(self) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _head_timed_out(self) -> None:
            self.head_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            self.transport.write(reply)
            with contextlib.suppress(h11.LocalProtocolError):  # h11 already knew it was done
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    return HeadTimeoutH11Protocol


def server(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    head_timeout: float = HEAD_TIMEOUT,
    log_level: str = "warning",
):
    """A uvicorn server for ``app`` with the limits above (not started; call ``.run()``)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # answers are never logged, and neither are the requests carrying them
        http=_protocol(head_timeout),
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        limit_concurrency=MAX_CONNECTIONS,
        backlog=BACKLOG,
        timeout_graceful_shutdown=10,
    )
    return uvicorn.Server(config)


def serve(host: str = "127.0.0.1", port: int = 8000, model: str | None = None) -> None:
    """Run the app with uvicorn (one worker), its limits, and rate-limited error logs."""
    running = server(create_app(model), host=host, port=port)
    # after uvicorn.Config has applied its logging configuration, and only while serving
    limit = RateLimitedLog()
    loggers = [logging.getLogger(name) for name in LIMITED_LOGGERS]
    for logger in loggers:
        logger.addFilter(limit)
    try:
        running.run()
    finally:
        for logger in loggers:
            logger.removeFilter(limit)
