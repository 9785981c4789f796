"""Serving the app with uvicorn: deadlines for slow clients, bounded connections, rate-limited logs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from rolefit.apps.guard import HEADERS, LOOPBACK, PER_CLIENT, POLICY
from rolefit.apps.web import create_app

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
#: Error-log records written per interval (seconds); the rest are counted and summarised.
LOG_BURST, LOG_INTERVAL = 20, 10.0
#: Seconds a thread that wants the GIL waits before the running thread is asked to hand it over
#: (Python's default is 0.005). While the scoring thread works through batches, the event loop needs
#: the GIL back after every wait for I/O, and a person's request passes through it several times:
#: waiting 5 ms each time was most of that request's wait.
SWITCH_INTERVAL = 0.001


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
    secured = b"".join(
        b"%s: %s\r\n" % pair for pair in ((b"content-security-policy", POLICY.encode()), *HEADERS)
    )
    reply = _REQUEST_HEAD_TIMEOUT + secured + b"content-length: %d\r\n\r\n" % len(body) + body

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


def bound_names(host: str) -> tuple[str, ...]:
    """Host names a server bound to ``host`` answers besides the allow-list's: the address or name it
    was bound to, unless that is every interface (0.0.0.0, ::), whose names are not known here."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return (host,) if host else ()
    return () if address.is_unspecified else (str(address),)


def names_note(host: str, hosts: Sequence[str]) -> str | None:
    """What to say when a server bound to every interface answers only the loopback names (``hosts``
    is its whole allow-list): other machines reach it and get 400 until their names are allowed."""
    try:
        everywhere = ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return None
    if not everywhere or "*" in hosts or set(hosts) > set(LOOPBACK):
        return None
    return (
        f"serving on {host}, but only requests for {', '.join(LOOPBACK)} are answered (others get 400, a "
        "DNS-rebinding defence): give the names and addresses clients use with --allowed-host NAME "
        "(repeatable) or ROLEFIT_ALLOWED_HOSTS"
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str | None = None,
    allowed_hosts: Sequence[str] = (),
    client_limit: int | None = PER_CLIENT,
    collect: Any = None,
) -> None:
    """Run the app with uvicorn (one worker), its limits, and rate-limited error logs.

    The app answers requests for the loopback names, ``allowed_hosts``, ``ROLEFIT_ALLOWED_HOSTS``'s and
    the address it is bound to; ``client_limit``: scoring requests one client address may have in
    progress (None: no limit). See :mod:`rolefit.apps.guard`. ``collect``: a
    :class:`~rolefit.apps.collect_api.CollectSettings` to collect contributed answers (None: off)."""
    app = create_app(
        model, hosts=[*allowed_hosts, *bound_names(host)], per_client=client_limit, collect=collect
    )
    running = server(app, host=host, port=port)
    note = names_note(host, app.guard_settings["hosts"])
    if note:
        logging.getLogger("uvicorn.error").warning(note)
    # after uvicorn.Config has applied its logging configuration, and only while serving
    limit = RateLimitedLog()
    loggers = [logging.getLogger(name) for name in LIMITED_LOGGERS]
    for logger in loggers:
        logger.addFilter(limit)
    # the model, the app and the libraries are made now and live as long as the server: moved out of the
    # collector's sight, a full collection no longer walks them (under load it did every few seconds,
    # holding the GIL, and so the event loop, for 150-200 ms each time)
    gc.collect()
    gc.freeze()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        running.run()
    finally:
        sys.setswitchinterval(interval)
        for logger in loggers:
            logger.removeFilter(limit)
