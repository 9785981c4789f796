"""Load benchmark of ``POST /api/predict`` (``make bench-load``): one uvicorn worker on 127.0.0.1, wrk.

Runs ``rolefit serve`` in its own process group, drives it with ``wrk`` (Debian's package) for a fixed
time with a fixed number of connections, prints requests/s and latency percentiles, checks there were
no errors, and stops the server. Only loopback addresses are used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import BIN, Server, env, free_port  # noqa: E402

BODY = {"interest_coding_puzzles": 5, "interest_building_products": 4, "interest_data_patterns": 2,
        "interest_math": 2, "skill_dsa": 4, "skill_web_development": 4, "skill_statistics": 2,
        "pref_fast_job_entry": 5, "pref_long_learning": 2, "career_goal": "full_stack_developer",
        "years_coding": 3, "uses_javascript": 1}  # fmt: skip


def main(seconds: int = 15, connections: int = 16) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (make bench-load does this)")
    with tempfile.TemporaryDirectory(prefix="rolefit-load-") as tmp:
        folder = Path(tmp)
        script = folder / "post.lua"
        script.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(json.dumps(BODY))}\n"
        )
        port = free_port()
        # wrk's connections all come from 127.0.0.1: no per-client limit (make bench-fair measures it)
        server = Server([str(BIN / "rolefit"), "serve", "--host", "127.0.0.1", "--port", str(port), "--client-limit", "0"],
                        url=f"http://127.0.0.1:{port}", cwd=ROOT, environ=env(), log=folder / "serve.log")  # fmt: skip
        try:
            server.wait_ready("/healthz")
            out = subprocess.run(
                [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                 f"{server.url}/api/predict"], capture_output=True, text=True, timeout=seconds + 60, check=True,
            ).stdout  # fmt: skip
        finally:
            server.stop()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    result = {"requests_per_s": rate, "p50_ms": latency("50"), "p99_ms": latency("99"),
              "non_2xx": int(errors.group(1)) if errors else 0, "socket_errors": socket_errors.group(1) if socket_errors else "none",
              "connections": connections, "seconds": seconds}  # fmt: skip
    print(out)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    main()
