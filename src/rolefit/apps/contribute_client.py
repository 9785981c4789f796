"""Talking to a ``rolefit serve --collect`` server from the command line (the quiz and ``rolefit
contributions delete``): its statement, a token from a prediction, the contribution, a deletion."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

#: The environment variable naming the server the quiz offers to contribute to.
CONTRIBUTE_ENV = "ROLEFIT_CONTRIBUTE_TO"
TIMEOUT = 30.0


class ServerError(Exception):
    """The server could not be reached or refused the request; the message says why in plain words."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def call(server: str, path: str, body: Any = None) -> tuple[int, Any]:
    """GET (``body`` None) or POST JSON to ``server`` + ``path``; (status, parsed JSON body)."""
    url = server.rstrip("/") + path
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(f"could not reach {server} ({reason})") from None


def statement(server: str) -> dict[str, Any]:
    """What the server keeps and does not (``GET /api/contributions``); ServerError when it does not
    collect."""
    status, body = call(server, "/api/contributions")
    if status == 404:
        raise ServerError(f"{server} does not collect answers (it was not started with --collect)", 404)
    if status != 200 or not isinstance(body, dict):
        raise ServerError(f"{server} answered {status} when asked what it keeps", status)
    return body


def contribute(server: str, answers: dict[str, Any], role: str) -> dict[str, Any]:
    """Contribute ``answers`` with ``role``: a prediction for the token, then the contribution. The
    reply (status, reason, deletion_code); ServerError naming the cause otherwise."""
    status, result = call(server, "/api/predict", answers)
    if status != 200 or not isinstance(result, dict) or "contribution_token" not in result:
        raise ServerError(f"{server} gave no contribution token (answer {status}: {_detail(result)})", status)
    body = {"token": result["contribution_token"], "role": role, "answers": answers, "consent": True}
    status, reply = call(server, "/api/contributions", body)
    if status != 201 or not isinstance(reply, dict):
        raise ServerError(f"{server} did not take the answers (answer {status}: {_detail(reply)})", status)
    return reply


def delete(server: str, code: str) -> bool:
    """Ask ``server`` to delete the contribution with ``code``; whether it was deleted (False: no
    contribution matches the code)."""
    status, reply = call(server, "/api/contributions/delete", {"deletion_code": code})
    if status == 200:
        return True
    if status == 404 and isinstance(reply, dict) and "contribution" in str(reply.get("detail", "")):
        return False
    raise ServerError(f"{server} did not delete (answer {status}: {_detail(reply)})", status)


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        if body.get("problems"):
            return "; ".join(f"{p['item']}: {p['problem']}" for p in body["problems"][:5])
        return str(body.get("detail", ""))[:300]
    return "no details"
