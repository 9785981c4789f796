"""What every request to the app passes, before any route: the Host allow-list, the per-client limit
on scoring requests, and the security headers on every response.

- **Host allow-list** (DNS rebinding): a web page on another site cannot read this server's answers,
  unless its own name is made to resolve to this server's address; its requests then carry that name
  as ``Host``. Only the names in the allow-list are answered: the loopback names (:data:`LOOPBACK`,
  any port) and those configured (``rolefit serve --allowed-host NAME``, repeatable, or
  ``ROLEFIT_ALLOWED_HOSTS=name1,name2``; ``*`` answers any name, for a proxy that checks ``Host``
  itself). Others get 400 naming the Host and how to allow it.
- **Per-client limit**: one client (one address) has at most :data:`PER_CLIENT` scoring requests
  (``POST /api/...``) in progress at once (``rolefit serve --client-limit N``; 0 for none); more get
  429 with ``Retry-After`` and a sentence saying why. Behind a reverse proxy every client has the
  proxy's address unless the proxy sends ``X-Forwarded-For`` and is trusted by uvicorn
  (``FORWARDED_ALLOW_IPS``; by default 127.0.0.1); a backend that sends everyone's requests from one
  address needs a higher limit, or none.
- **Security headers** on every response, the app's own errors included: a Content-Security-Policy
  (:data:`POLICY`: the page's own origin only, no inline scripts or styles, never framed; a response
  that sets its own policy, as the API documentation pages do, keeps it), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: no-referrer`` and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

#: Host names answered whatever is configured (with any port): they can only reach this machine.
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
#: The environment variable with more host names, separated by commas.
ALLOWED_HOSTS_ENV = "ROLEFIT_ALLOWED_HOSTS"
#: Scoring requests (POST under /api/) one client address may have in progress at once.
PER_CLIENT = 4
#: Seconds a client over the limit is asked to wait (Retry-After).
RETRY_AFTER = 1
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_CSP = b"content-security-policy"
#: Bytes of a refused request's body read (and dropped) before the refusal is sent, so that the client,
#: still sending, reads the refusal rather than a reset connection; and the seconds allowed for it.
_DRAIN_BYTES, _DRAIN_SECONDS = 64 * 1024, 10.0


def allowed_hosts(names: Iterable[str] = (), *, environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The allow-list: the loopback names, then ``names`` and ``ROLEFIT_ALLOWED_HOSTS``'s, normalised
    (lower case, IPv6 addresses in brackets). Raises ValueError naming an entry that is not a host name
    (one with a port, a path or a space)."""
    environ = os.environ if environ is None else environ
    given = [*names, *environ.get(ALLOWED_HOSTS_ENV, "").split(",")]
    found = list(LOOPBACK)
    for raw in given:
        name = raw.strip().lower()
        if not name:
            continue
        if name != "*":
            try:
                address = ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                address = None
            if address is not None and address.version == 6:
                name = f"[{address.compressed}]"
            elif address is None and not _is_name(name):
                raise ValueError(
                    f"allowed host {raw.strip()[:60]!r} is not a host name or address: give a name such as "
                    "rolefit.example.org or an address such as 192.0.2.10, without a port (any port is "
                    "allowed), in --allowed-host or ROLEFIT_ALLOWED_HOSTS"
                )
        if name not in found:
            found.append(name)
    return tuple(found)


def _is_name(name: str) -> bool:
    labels = name.removesuffix(".").split(".")
    return all(0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum() for label in labels)


def host_of(header: str) -> str | None:
    """The name in a Host header without its port (``[::1]:8000`` -> ``[::1]``), lower case; None
    when the header is not ``name[:port]``."""
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 address: its colons are not the port's
        name, bracket, rest = value.partition("]")
        name += bracket
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    well_formed = name.endswith("]") if name.startswith("[") else "]" not in name
    if not name or not well_formed or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
        return None
    return name


class Guard:
    """ASGI middleware around the whole app (outside its error handling, so that even a 500 carries
    the headers): the Host allow-list, the per-client limit on scoring requests, the security headers."""

    def __init__(
        self,
        app: Any,
        *,
        hosts: Iterable[str] = LOOPBACK,
        per_client: int | None = PER_CLIENT,
        in_progress: Counter[str] | None = None,
    ):
        self.app = app
        self.hosts = tuple(hosts)
        self.any_host = "*" in self.hosts
        self.per_client = per_client
        #: Scoring requests in progress per client address (only changed on the event loop: no lock).
        self.in_progress: Counter[str] = Counter() if in_progress is None else in_progress

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        header = _header(scope, b"host")
        if not self.any_host and (header is None or host_of(header) not in self.hosts):
            await _refuse(receive, send, 400, self._wrong_host(header))
            return
        if self.per_client is None or not (scope["method"] == "POST" and scope["path"].startswith("/api/")):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        if self.in_progress[client] >= self.per_client:
            detail = (
                f"Too many requests at once from {client}: at most {self.per_client} scoring requests from "
                f"one client are answered at a time. Wait for an answer before sending more (retry after "
                f"{RETRY_AFTER} s)."
            )
            await _refuse(receive, send, 429, detail, (b"retry-after", str(RETRY_AFTER).encode()))
            return
        self.in_progress[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress[client] -= 1
            if not self.in_progress[client]:
                del self.in_progress[client]

    def _wrong_host(self, header: str | None) -> str:
        names = ", ".join(self.hosts)
        if header is None:
            return f"The request has no Host header; this server answers requests for {names} only."
        return (
            f"This server does not answer requests for the host {header[:60]!r}: it answers {names} only "
            "(a defence against DNS rebinding). To serve under another name, start it with "
            f"--allowed-host NAME or list the names in {ALLOWED_HOSTS_ENV}."
        )


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _with_headers(send: Any) -> Any:
    async def secured(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {key.lower() for key, _ in headers}
            if _CSP not in present:
                headers.append((_CSP, POLICY.encode()))
            headers.extend(item for item in HEADERS if item[0] not in present)
            message = {**message, "headers": headers}
        await send(message)

    return secured


async def _refuse(receive: Any, send: Any, status: int, detail: str, *extra: tuple[bytes, bytes]) -> None:
    """Read and drop what the client sends of its body (bounded), then answer ``status`` with a JSON
    ``{"detail": ...}``; a body longer than the bound, or slower, gets the answer with the connection
    closed."""
    headers = [(b"content-type", b"application/json"), *extra]
    received = 0
    try:
        async with asyncio.timeout(_DRAIN_SECONDS):
            while received <= _DRAIN_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client has gone
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            else:
                headers.append((b"connection", b"close"))
    except TimeoutError:
        headers.append((b"connection", b"close"))
    body = json.dumps({"detail": detail}).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
