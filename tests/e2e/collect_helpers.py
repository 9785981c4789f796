"""Contributions for the collect tests: people drawn by rolefit's generator (so their answers carry the
generator's signal), and clients that contribute them through a real server's REST API."""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def synthetic_people(n: int, seed: int, *, experience: bool = True) -> list[tuple[str, dict]]:
    """``n`` (role, answers) pairs drawn by :func:`rolefit.data.synthetic.generate` (every item the
    generator answers; skipped ones left out), as a person would send them."""
    from rolefit.config import load_params
    from rolefit.data.synthetic import generate, read_marginals
    from rolefit.instrument.items import load_instrument

    params = load_params(ROOT / "params.yaml").synthesize
    marginals = read_marginals(ROOT / params.marginals) if experience else None
    frame = generate(params, marginals, n=n, seed=seed)
    ids = [i for i in load_instrument().ids if i in frame.columns]
    people = []
    for record in frame[[*ids, "role"]].to_dict("records"):
        answers = {}
        for key in ids:
            value = record[key]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            answers[key] = int(value) if isinstance(value, float) and value.is_integer() else value
        people.append((record["role"], answers))
    return people


class Client:
    """One keep-alive connection to a server; ``post``/``get`` return (status, headers, parsed body)."""

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # reconnect on the next request
            raise
        return response.status, dict(response.getheaders()), json.loads(raw) if raw else None

    def post(self, path: str, body):
        return self.request("POST", path, body)

    def get(self, path: str):
        return self.request("GET", path)

    def close(self) -> None:
        self.connection.close()


def contribute(client: Client, role: str, answers: dict) -> tuple[int, dict | None]:
    """A prediction for the token, then the contribution: (status of the contribution, its reply)."""
    status, _, result = client.post("/api/predict", answers)
    if status != 200:
        return status, None
    body = {"token": result["contribution_token"], "role": role, "answers": answers, "consent": True}
    status, _, reply = client.post("/api/contributions", body)
    return status, reply


def contribute_many(
    url: str, people: list[tuple[str, dict]], clients: int
) -> list[tuple[int, str, dict, dict]]:
    """Contribute ``people`` from ``clients`` threads at once, each its share in turn; every reply as
    (status, role, answers, reply)."""
    results: list[tuple[int, str, dict, dict]] = []
    lock = threading.Lock()

    def work(share: list[tuple[str, dict]]) -> None:
        client = Client(url)
        try:
            for role, answers in share:
                status, reply = contribute(client, role, answers)
                with lock:
                    results.append((status, role, answers, reply))
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(people[k::clients],)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def load(url: str, people: list[tuple[str, dict]], clients: int, seconds: float, out: Path) -> None:
    """``clients`` threads contributing ``people`` (round robin) for ``seconds``; every reply is written
    to ``out`` as JSON lines of [status, role, answers, reply] (run in a process of its own, so the
    load's threads do not slow the test's own measurements)."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    handle = out.open("w")

    def work(k: int) -> None:
        client = Client(url)
        position = k
        while time.monotonic() < stop:
            role, answers = people[position % len(people)]
            position += clients
            try:
                status, reply = contribute(client, role, answers)
            except (http.client.HTTPException, OSError) as exc:
                status, reply = -1, {"error": repr(exc)}
                client = Client(url)
            with lock:
                handle.write(json.dumps([status, role, answers, reply]) + "\n")
        client.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handle.close()
