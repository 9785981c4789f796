"""Fair-service benchmark (``make bench-fair``): one person's ``/api/guide`` while 20 clients post batches.

Starts ``rolefit serve`` on 127.0.0.1 in its own process group, then, on the same server in one run:

1. **idle**: one person's ``POST /api/guide`` (the 12-answer example person), one after another on a
   new connection each, every 50 ms;
2. **batches alone**: 20 clients, each from its own loopback address, post maximal valid batches
   (1,000 people, 64 KB) back to back; their throughput (people answered per second) is counted over
   a window of ``seconds``;
3. **batches and the person**: the same 20 clients, and the person's requests as in 1 during the
   window; the person's p50/p99/max and the batches' throughput again.

It prints the person's p99 under load against idle, and the batches' throughput with the person
against alone (refusing or starving batches would not be fairness). The clients run in a child process
(:class:`benchmarks.stall.Attack`), so the probe's timings are not delayed by the clients' own work.
``make bench`` (``benchmarks/run.py``) runs it with a shorter window.

``python benchmarks/fair.py [--seconds 15] [--clients 20]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stall import Attack, p99, serving  # noqa: E402

#: The person: the docs' example (12 answers, examples/person.json).
PERSON = (ROOT / "examples" / "person.json").read_bytes()
#: Goals from the issue (#23): the person's p99 under load, and the batches' share of their throughput.
GOAL_P99_MS, GOAL_SHARE = 50.0, 0.8


def guide(host: str, port: int, body: bytes = PERSON, timeout: float = 120) -> tuple[int, bytes]:
    """The status and body of one ``POST /api/guide``, on a new connection (as a person's first)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", "/api/guide", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def person_probe(host: str, port: int, seconds: float, interval: float = 0.05) -> list[tuple[float, float]]:
    """One person's ``/api/guide`` one after another, one every ``interval`` s, for ``seconds``; the
    (sent, answered) ``time.monotonic()`` of each. Raises unless each is answered 200 with a role."""
    spans = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = time.monotonic()
        status, body = guide(host, port)
        answered = time.monotonic()
        if status != 200 or json.loads(body).get("role") not in ("swe", "mle"):
            raise RuntimeError(f"/api/guide answered {status}: {body[:200]!r}")
        spans.append((sent, answered))
        time.sleep(max(0.0, interval - (answered - sent)))
    return spans


def measure(
    host: str, port: int, *, clients: int = 20, seconds: float = 16, idle_seconds: float = 5, windows: int = 8
) -> dict:
    """The person's /api/guide idle, then while ``clients`` clients post maximal batches; and the
    batches' throughput with the person and alone, all on one server in one run.

    Under load, ``windows`` windows of ``seconds / windows`` alternate: batches alone, then batches
    and the person, and so on, so that a change in the machine's other load (it may be shared) falls
    on both alike. Throughput: the people of the batches answered 200, each batch's counted evenly
    over its time in flight, that fell within the windows."""
    url = f"http://{host}:{port}"
    guide(host, port)  # the first call builds the guidance tables
    idle = [(b - a) * 1000 for a, b in person_probe(host, port, idle_seconds)]
    width = seconds / windows
    spans: list[tuple[float, float]] = []
    alone: list[tuple[float, float]] = []
    shared: list[tuple[float, float]] = []
    with Attack(url, clients, seconds + 120, valid=True) as attack:
        attack.wait_started(timeout=120)
        time.sleep(1.0)  # every client connected and sending
        for window in range(windows):
            start = time.monotonic()
            if window % 2:
                spans += person_probe(host, port, width)
            time.sleep(max(0.0, start + width - time.monotonic()))
            (shared if window % 2 else alone).append((start, time.monotonic()))
        replies = attack.result(timeout=seconds + 300)

    def people_per_s(windows: list[tuple[float, float]]) -> float:
        # batches take turns chunk by chunk, so they finish in waves: each batch's 1,000 people are
        # counted spread over its time in flight, and each window gets the share that fell in it
        scored = 0.0
        for sent, answered in replies["answered"]:
            for start, end in windows:
                scored += 1000 * max(0.0, min(end, answered) - max(start, sent)) / (answered - sent)
        return scored / sum(end - start for start, end in windows)

    loaded = [(b - a) * 1000 for a, b in spans]
    rate_alone, rate_shared = people_per_s(alone), people_per_s(shared)
    return {
        "clients": clients,
        "seconds": seconds,
        "windows": windows,
        "idle_p50_ms": round(statistics.median(idle), 2),
        "idle_p99_ms": round(p99(idle), 2),
        "loaded_p50_ms": round(statistics.median(loaded), 2),
        "loaded_p99_ms": round(p99(loaded), 2),
        "loaded_max_ms": round(max(loaded), 2),
        "probes": len(loaded),
        "batch_people_per_s_alone": round(rate_alone),
        "batch_people_per_s_shared": round(rate_shared),
        "batch_share": round(rate_shared / rate_alone, 3),
        "batch_replies": replies["statuses"],
        "met": p99(loaded) <= GOAL_P99_MS and rate_shared >= GOAL_SHARE * rate_alone,
    }


def main(seconds: float = 16, clients: int = 20, model: str | None = None) -> dict:
    load = os.getloadavg()
    with serving(model) as port:
        result = measure("127.0.0.1", port, clients=clients, seconds=seconds)
    result.update(cores=os.cpu_count(), load_at_start=[round(x, 2) for x in load],
                  load_at_end=[round(x, 2) for x in os.getloadavg()], python=sys.version.split()[0],
                  date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))  # fmt: skip
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=16)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--model", help="bundle folder (default: as rolefit.predict chooses)")
    args = parser.parse_args()
    main(args.seconds, args.clients, args.model)
