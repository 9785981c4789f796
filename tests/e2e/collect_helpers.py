"""Contributions for the collect tests: people drawn by rolefit's generator (so their answers carry the
generator's signal), and clients that contribute them through a real server's REST API."""

from __future__ import annotations

import contextlib
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


def _postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None."""
    import glob
    import shutil

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _install_postgres() -> str | None:
    """Install Debian's ``postgresql`` with apt when possible; None, or why it was not."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "PostgreSQL is not installed, and apt-get cannot install it here (not root, or no apt)"
    environ = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        done = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=900)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    return None


@contextlib.contextmanager
def postgresql(port: int):
    """A real PostgreSQL server (Debian's ``postgresql``, installed with apt when missing and possible)
    in a new cluster run by an unprivileged user on 127.0.0.1:``port``; yields its SQLAlchemy URL and is
    stopped (and its files removed) on leaving. Skips the test, saying why, when it cannot be had."""
    import os
    import pwd
    import shutil
    import subprocess
    import tempfile

    import pytest

    if _postgres_bin() is None:
        why = _install_postgres()
        if why or _postgres_bin() is None:
            pytest.skip(why or "PostgreSQL was installed but its initdb was not found")
    binaries = _postgres_bin()
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="rolefit-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no unprivileged 'postgres' user to run PostgreSQL")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    run(str(binaries / "initdb"), "-D", str(data), "-U", "rolefit", "-A", "trust", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "120", "start")
    try:
        yield f"postgresql://rolefit@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
