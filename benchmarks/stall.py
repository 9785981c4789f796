"""Stall benchmark (``make bench-stall``): ``/healthz`` latency while 50 clients send maximal invalid batches.

Starts ``rolefit serve`` on 127.0.0.1 in its own process group, measures ``GET /healthz`` with no load,
then again while 50 clients (each from its own loopback address, :func:`client_address`) post 64 KB
batches of near-miss item ids (``interest_mathx``-like keys, the costliest invalid input: each key
used to cost a difflib suggestion) back to back, and prints both
p99s and their ratio, measured in the same run. The clients run in a separate process, so the probe's
timings are not delayed by the clients' own work. Every attack reply must be a 4xx.

With ``--slow-clients`` it also measures how long slow clients hold a connection: one that sends
nothing, one that sends a header line a second and one that sends its body a byte a second, each
against the server's configured limit (10 s), from connecting until the server's 408 and close.

``make bench`` (``benchmarks/run.py``) runs a shorter version of both, and the cost of one maximal
near-miss batch (:func:`batch_cost`); ``tests/api/test_web_hardening.py`` uses the attack, the probe
and the slow clients to check behaviour (who gets answered, and what), never speed.

``python benchmarks/stall.py [--seconds 20] [--clients 50] [--slow-clients]``; ``--attack URL`` is the
client process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import select
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BODY_BYTES = 64 * 1024
#: A slow client counts as cut off in time (the bench's bound) when the server closes its connection
#: no earlier than the limit and less than this many seconds after it.
CUT_SLACK = 1.0
#: The slow clients send one piece every PAUSE seconds, TRICKLE pieces in all: a minute, six times
#: the server's 10 s limits, so a client that is served (or left hanging) was not cut off.
PAUSE, TRICKLE = 1.0, 60


def invalid_batch(seed: int = 0, limit: int = MAX_BODY_BYTES - 512) -> bytes:
    """A JSON array of people, each with 7 near-miss item ids, as close to ``limit`` bytes as fits."""
    from rolefit.instrument.items import load_instrument

    ids = load_instrument().ids
    rng = random.Random(seed)

    def near_miss(n: int) -> str:
        base = ids[n % len(ids)]
        at = n % len(base)
        return base[:at] + rng.choice(string.ascii_lowercase) + base[at + 1 :] + "x"

    people: list[dict[str, int]] = []
    size = 2
    while True:
        person = {near_miss(len(people) * 7 + k): 1 for k in range(7)}
        added = len(json.dumps(person, separators=(",", ":"))) + 1
        if size + added > limit:
            return json.dumps(people, separators=(",", ":")).encode()
        people.append(person)
        size += added


def valid_batch(seed: int = 0, people: int = 1000, limit: int = MAX_BODY_BYTES - 512) -> bytes:
    """A JSON array of ``people`` valid people (the most the API takes), each with as many random
    answers as fit in an equal share of ``limit`` bytes (3 or so: the body limit bounds the answers)."""
    from rolefit.instrument.items import load_instrument

    rng = random.Random(seed)
    items = list(load_instrument().items)

    def answer(item) -> int | str:
        if item.kind == "choice":
            return rng.choice(item.choice_ids)
        lo, hi = item.bounds
        return rng.randint(int(lo), int(min(hi, 20)))

    share = (limit - 2) // people - 1  # each person's bytes, with the comma between them
    batch = []
    for _ in range(people):
        person: dict[str, int | str] = {}
        for item in rng.sample(items, len(items)):
            more = {**person, item.id: answer(item)}
            if len(json.dumps(more, separators=(",", ":"))) > share:
                break
            person = more
        batch.append(person)
    return json.dumps(batch, separators=(",", ":")).encode()


def client_address(n: int) -> str:
    """The loopback address client ``n`` sends from: 127.0.0.2, 127.0.0.3, ... (Linux routes all of
    127.0.0.0/8 to the loopback interface), so that each client is a client of its own to the server's
    per-client limit, as separate machines would be."""
    return f"127.0.0.{2 + n}"


def healthz(host: str, port: int, timeout: float = 120) -> tuple[int, bytes]:
    """The status and body of one ``GET /healthz``, on a new connection."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def probe(
    host: str,
    port: int,
    seconds: float,
    interval: float = 0.05,
    *,
    count: int | None = None,
    expect: bytes | None = None,
) -> list[tuple[float, float]]:
    """``GET /healthz`` one after another, each on a new connection, one every ``interval`` s, for
    ``seconds`` (or until ``count`` were answered); the (sent, answered) ``time.monotonic()`` of each,
    which other processes on the machine can compare with theirs.

    Raises unless every one is answered 200 (with the body ``expect``, when given)."""
    spans = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (count is None or len(spans) < count):
        sent = time.monotonic()
        status, body = healthz(host, port)
        answered = time.monotonic()
        if status != 200 or (expect is not None and body != expect):
            raise RuntimeError(f"/healthz answered {status}: {body[:200]!r}")
        spans.append((sent, answered))
        time.sleep(max(0.0, interval - (answered - sent)))
    return spans


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def overtaken(probes: Sequence[tuple[float, float]], attack: Sequence[Sequence[float]]) -> list[float]:
    """For each probe, the share of the attack requests in flight when it was sent (sent before it,
    answered after it was sent) that were still unanswered when it was answered: near 1 when
    ``/healthz`` is answered at once, whatever is queued; near 0 when it waits its turn behind them
    (as when scoring ran on the event loop). 0 when nothing was in flight."""
    shares = []
    for sent, answered in probes:
        waiting = [replied for started, replied in attack if started < sent < replied]
        shares.append(sum(replied > answered for replied in waiting) / len(waiting) if waiting else 0.0)
    return shares


async def _attack(url: str, clients: int, seconds: float, stop: threading.Event, valid: bool = False) -> dict:
    import httpx

    body = valid_batch() if valid else invalid_batch()
    statuses: Counter[str] = Counter()
    spans: list[tuple[float, float]] = []
    spans_ok: list[tuple[float, float]] = []
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=client_address(n))
        async with httpx.AsyncClient(timeout=120, transport=transport) as session:
            while time.monotonic() < deadline and not stop.is_set():
                sent = time.monotonic()
                try:
                    response = await session.post(
                        f"{url}/api/predict/batch", content=body, headers={"Content-Type": "application/json"}
                    )
                    statuses[str(response.status_code)] += 1
                    if response.status_code == 200:
                        spans_ok.append((sent, time.monotonic()))
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                spans.append((sent, time.monotonic()))
                if len(spans) == 1:
                    print("started", flush=True)

    await asyncio.gather(*(client(n) for n in range(clients)))
    return {"statuses": dict(statuses), "spans": spans, "answered": spans_ok}


class Attack:
    """``clients`` clients posting maximal invalid batches (``valid``: valid 1,000-person batches) to
    ``url`` back to back, each from its own loopback address (:func:`client_address`), in a child
    process, until :meth:`stop` (or ``seconds`` at most); a context manager that stops it and waits
    for it."""

    def __init__(self, url: str, clients: int, seconds: float, valid: bool = False):
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--attack", url, "--clients", str(clients),
             "--seconds", str(seconds), *(["--valid"] if valid else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        self.lines: list[str] = []
        self._started = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if line.strip() == "started":
                self._started.set()
        self._started.set()  # the process ended: wake any waiter

    def wait_started(self, timeout: float) -> None:
        """Return once the first attack reply has arrived (so the attack is under way)."""
        if not self._started.wait(timeout) or "started\n" not in self.lines:
            raise RuntimeError(f"the attack did not start (exit {self.process.poll()})")

    def stop(self) -> None:
        """No client sends another request (those in flight are still answered)."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()  # the child sees the end of its stdin

    def result(self, timeout: float) -> dict:
        """Stop the attack and return its reply counts by status (``statuses``) and each request's
        (sent, answered) ``time.monotonic()`` (``spans``; ``answered``: those answered 200)."""
        self.stop()
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"the attack process failed ({self.process.returncode})")
        return json.loads(self.lines[-1])

    def __enter__(self) -> Attack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        try:
            self.process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def measure(host: str, port: int, *, seconds: float = 20, clients: int = 50, idle_seconds: float = 5) -> dict:
    """/healthz p50/p99 idle, then under attack (same run), and the attack's reply counts."""
    idle = [(b - a) * 1000 for a, b in probe(host, port, idle_seconds)]
    with Attack(f"http://{host}:{port}", clients, seconds + 60) as attack:
        attack.wait_started(timeout=120)
        time.sleep(1.0)  # let every client connect and start sending
        spans = probe(host, port, seconds - 1.5)
        replies = attack.result(timeout=seconds + 180)
    loaded = [(b - a) * 1000 for a, b in spans]
    return {
        "clients": clients,
        "seconds": seconds,
        "body_bytes": len(invalid_batch()),
        "idle_p50_ms": round(statistics.median(idle), 2),
        "idle_p99_ms": round(p99(idle), 2),
        "loaded_p50_ms": round(statistics.median(loaded), 2),
        "loaded_p99_ms": round(p99(loaded), 2),
        "loaded_max_ms": round(max(loaded), 2),
        "probes": len(loaded),
        "ratio_p99": round(p99(loaded) / p99(idle), 1),
        "overtaken_median": round(statistics.median(overtaken(spans, replies["spans"])), 3),
        "attack_replies": replies["statuses"],
    }


# --- slow clients -------------------------------------------------------------------------------------


def read_until_closed(sock: socket.socket, give_up: float) -> bytes:
    """Everything the server sends until it closes the connection. ``give_up``: seconds after which
    to stop waiting (TimeoutError), so that a server that never closes cannot hang the caller."""
    sock.settimeout(give_up)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass  # closed with our unread bytes in its buffer: what was sent before is kept
    return data


def trickle(
    host: str,
    port: int,
    head: bytes,
    pieces: Sequence[bytes],
    pause: float = PAUSE,
    give_up: float = PAUSE * TRICKLE,
) -> tuple[bytes, int, float]:
    """A slow client: sends ``head``, then each of ``pieces`` ``pause`` s after the one before, until
    the server starts answering; then reads until the server closes the connection (giving up with
    TimeoutError ``give_up`` s later).

    Returns the server's reply, how many pieces were sent, and the seconds from connecting until the
    server closed the connection."""
    start = time.monotonic()
    with socket.create_connection((host, port)) as sock:
        sent = 0
        try:
            sock.sendall(head)
            for piece in pieces:
                if select.select([sock], [], [], pause)[0]:
                    break  # the server has answered (or closed): stop sending
                sock.sendall(piece)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = read_until_closed(sock, give_up)
        return data, sent, time.monotonic() - start


def slow_headers(host: str, port: int, lines: int = TRICKLE) -> tuple[bytes, int, float]:
    """A request line, then a header line every PAUSE s, never the blank line that ends them (slowloris)."""
    head = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n".encode()
    return trickle(host, port, head, [b"X-Slow-%d: y\r\n" % n for n in range(lines)])


def slow_body(host: str, port: int, size: int = TRICKLE) -> tuple[bytes, int, float]:
    """The request's line and headers at once, then a valid ``size``-byte body a byte every PAUSE s."""
    body = b'{"interest_math": 5}'.ljust(size)
    head = (f"POST /api/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    return trickle(host, port, head, [body[i : i + 1] for i in range(len(body))])


def silent(host: str, port: int) -> tuple[bytes, int, float]:
    """Connects and sends nothing."""
    return trickle(host, port, b"", [])


def cut_off(host: str, port: int) -> dict:
    """Seconds from connecting until the server's 408 and close, for the three slow clients at once,
    against the configured limits; ``met`` when each was cut no earlier than its limit and less than
    CUT_SLACK s after it."""
    from rolefit.apps.bodies import BODY_TIMEOUT
    from rolefit.apps.server import HEAD_TIMEOUT

    clients = {"silent": (silent, HEAD_TIMEOUT), "slow_headers": (slow_headers, HEAD_TIMEOUT),
               "slow_body": (slow_body, BODY_TIMEOUT)}  # fmt: skip
    with ThreadPoolExecutor(len(clients)) as pool:
        futures = {name: pool.submit(client, host, port) for name, (client, _) in clients.items()}
        measured = {}
        for name, future in futures.items():
            data, sent, seconds = future.result()
            limit = clients[name][1]
            measured[name] = {
                "seconds": round(seconds, 2),
                "limit_seconds": limit,
                "status_line": data.split(b"\r\n", 1)[0].decode(errors="replace"),
                "pieces_sent": sent,
                "met": data.startswith(b"HTTP/1.1 408 ") and limit - 0.001 <= seconds < limit + CUT_SLACK,
            }
    return {"clients": measured, "slack_seconds": CUT_SLACK, "met": all(v["met"] for v in measured.values())}


# --- a maximal batch on its own -----------------------------------------------------------------------


def batch_cost(model: str | os.PathLike, repeats: int = 7) -> dict:
    """Milliseconds (median of ``repeats``) to answer one maximal near-miss batch as the server does
    off the event loop, with the per-request budget of "did you mean" suggestions; the baseline, in
    the same run, is the same batch with a suggestion for every unknown key (as before the budget)."""
    from rolefit.apps import web

    body = invalid_batch()

    def once() -> float:
        start = time.perf_counter()
        response = web._answer_batch(body, None, {}, model)
        assert response.status_code == 422, response.status_code
        return (time.perf_counter() - start) * 1000

    once()  # load the model and the instrument
    budgeted = statistics.median(once() for _ in range(repeats))
    budget = web.SUGGESTIONS_PER_REQUEST
    web.SUGGESTIONS_PER_REQUEST = 10**9
    try:
        unbudgeted = statistics.median(once() for _ in range(max(3, repeats // 2)))
    finally:
        web.SUGGESTIONS_PER_REQUEST = budget
    return {
        "body_bytes": len(body),
        "keys": body.count(b":"),
        "suggestions": budget,
        "ms": round(budgeted, 2),
        "baseline_ms": round(unbudgeted, 2),
        "ratio": round(unbudgeted / budgeted, 1),
    }


# --- make bench-stall ---------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(model: str | os.PathLike | None = None) -> Iterator[int]:
    """A ``rolefit serve`` on a free loopback port (``--model model``, else the default model), stopped
    afterwards; yields the port."""
    sys.path.insert(0, str(ROOT))
    from tests.e2e.helpers import BIN, Server, env, free_port

    with tempfile.TemporaryDirectory(prefix="rolefit-stall-") as tmp:
        port = free_port()
        command = [str(BIN / "rolefit"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        if model is not None:
            command += ["--model", str(model)]
        server = Server(command, url=f"http://127.0.0.1:{port}", cwd=ROOT, environ=env(), log=Path(tmp) / "serve.log")  # fmt: skip
        try:
            server.wait_ready("/healthz")
            yield port
        finally:
            server.stop()


def main(seconds: float = 20, clients: int = 50, slow_clients: bool = False) -> dict:
    with serving() as port:
        result = measure("127.0.0.1", port, seconds=seconds, clients=clients)
        if slow_clients:
            result["cut_off"] = cut_off("127.0.0.1", port)
    result.update(cores=os.cpu_count(), python=sys.version.split()[0], date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))  # fmt: skip
    print(json.dumps(result, indent=2))
    bad = {status: n for status, n in result["attack_replies"].items() if not status.startswith("4")}
    if bad:
        sys.exit(f"attack replies other than 4xx: {bad}")
    return result


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--slow-clients", action="store_true", help="also measure slow clients' cut-off")
    parser.add_argument("--attack", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--valid", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        stop = threading.Event()
        # the parent closes our stdin to stop the attack (and so does its exit)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        print(json.dumps(asyncio.run(_attack(args.attack, args.clients, args.seconds, stop, args.valid))))
    else:
        main(args.seconds, args.clients, args.slow_clients)
