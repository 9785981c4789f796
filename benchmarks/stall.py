"""Stall benchmark (``make bench-stall``): ``/healthz`` latency while 50 clients send maximal invalid batches.

Starts ``rolefit serve`` on 127.0.0.1 in its own process group, measures ``GET /healthz`` with no load,
then again while 50 clients post 64 KB batches of near-miss item ids (``interest_mathx``-like keys,
the costliest invalid input: each key used to cost a difflib suggestion) back to back, and prints both
p99s and their ratio, measured in the same run. The clients run in a separate process, so the probe's
timings are not delayed by the clients' own work. Every attack reply must be a 4xx.

``python benchmarks/stall.py [--seconds 20] [--clients 50]``; ``--attack URL`` is the client process.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BODY_BYTES = 64 * 1024


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


def probe(host: str, port: int, seconds: float, interval: float = 0.05) -> list[float]:
    """Latencies (ms) of ``GET /healthz``, each on a new connection, one every ``interval`` s."""
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.perf_counter()
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"/healthz answered {response.status}")
        finally:
            connection.close()
        elapsed = time.perf_counter() - start
        samples.append(elapsed * 1000)
        time.sleep(max(0.0, interval - elapsed))
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def _attack(url: str, clients: int, seconds: float) -> dict[str, int]:
    import httpx

    body = invalid_batch()
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(timeout=120) as session:
            while time.monotonic() < deadline:
                try:
                    response = await session.post(
                        f"{url}/api/predict/batch", content=body, headers={"Content-Type": "application/json"}
                    )
                    statuses[str(response.status_code)] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return dict(statuses)


class Attack:
    """``clients`` clients posting invalid batches to ``url`` for ``seconds``, in a child process."""

    def __init__(self, url: str, clients: int, seconds: float):
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--attack", url, "--clients", str(clients),
             "--seconds", str(seconds)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip

    def result(self, timeout: float) -> dict[str, int]:
        out, _ = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"the attack process failed ({self.process.returncode})")
        return json.loads(out.strip().splitlines()[-1])


def measure(host: str, port: int, *, seconds: float = 20, clients: int = 50, idle_seconds: float = 5) -> dict:
    """/healthz p50/p99 idle, then under attack (same run), and the attack's reply counts."""
    idle = probe(host, port, idle_seconds)
    attack = Attack(f"http://{host}:{port}", clients, seconds)
    time.sleep(1.0)  # let every client connect and start sending
    loaded = probe(host, port, seconds - 1.5)
    statuses = attack.result(timeout=seconds + 180)
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
        "attack_replies": statuses,
    }


def main(seconds: float = 20, clients: int = 50) -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.e2e.helpers import BIN, Server, env, free_port

    with tempfile.TemporaryDirectory(prefix="rolefit-stall-") as tmp:
        port = free_port()
        server = Server([str(BIN / "rolefit"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                        url=f"http://127.0.0.1:{port}", cwd=ROOT, environ=env(), log=Path(tmp) / "serve.log")  # fmt: skip
        try:
            server.wait_ready("/healthz")
            result = measure("127.0.0.1", port, seconds=seconds, clients=clients)
        finally:
            server.stop()
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
    parser.add_argument("--attack", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        print(json.dumps(asyncio.run(_attack(args.attack, args.clients, args.seconds))))
    else:
        main(args.seconds, args.clients)
