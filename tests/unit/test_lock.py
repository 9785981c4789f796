"""One change to the champion at a time per project: the champion lock, with real processes holding it.

Every test here starts the holder first and waits until it says it holds the lock, so which run holds
it is never left to a race. (Two trainings started together: tests/e2e/test_champion_changes.py.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from rolefit.ops.lock import LOCK_FILE, ChampionBusy, LockError, champion_lock
from tests.e2e.helpers import BIN, env, small_params

HOLDER = """
import sys
from rolefit.ops.lock import champion_lock
with champion_lock(sys.argv[1], command="rolefit train"):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""
KILLED = """
import os, sys
from rolefit.ops.lock import champion_lock
with champion_lock(sys.argv[1], command="rolefit promote 7"):
    print("held", flush=True)
    os.kill(os.getpid(), 9)
"""


class Holder:
    """A real process holding the project's champion lock until :meth:`release`."""

    def __init__(self, project):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(project)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline()
        assert line.strip() == "held", self.process.stderr.read()

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0


@pytest.fixture()
def holder(tmp_path):
    held = Holder(tmp_path)
    yield held
    if held.process.poll() is None:
        held.release()


def test_a_second_run_stops_at_once_naming_the_holder(tmp_path, holder):
    with pytest.raises(ChampionBusy) as busy, champion_lock(tmp_path):
        pytest.fail("took a lock another process holds")
    message = str(busy.value)
    assert f"rolefit train (pid {holder.pid} on {socket.gethostname()}, since " in message
    assert str(tmp_path / LOCK_FILE) in message and "This run changed nothing" in message
    assert busy.value.holder.pid == holder.pid
    holder.release()
    with champion_lock(tmp_path) as path:  # free again once the holder has finished
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert path.read_text() == "", "released cleanly: no record left to take over"


def test_a_run_told_to_wait_takes_the_lock_when_the_holder_finishes(tmp_path, holder):
    said: list[str] = []
    got: list[int] = []

    def second():
        with champion_lock(tmp_path, wait=300, log=said.append) as path:
            got.append(json.loads(path.read_text())["pid"])

    waiter = threading.Thread(target=second)
    waiter.start()
    deadline = time.monotonic() + 60
    while not said and time.monotonic() < deadline:
        time.sleep(0.05)
    assert said and said[0].startswith(f"waiting up to 300 s for rolefit train (pid {holder.pid} ")
    assert not got, "took the lock while another process held it"
    holder.release()
    waiter.join(60)
    assert got == [os.getpid()]


def test_a_lock_left_by_a_killed_process_is_taken_over_and_said_so(tmp_path):
    killed = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path)], capture_output=True, text=True)
    assert killed.returncode == -9 and killed.stdout.strip() == "held", killed.stderr
    left = json.loads((tmp_path / LOCK_FILE).read_text())
    said: list[str] = []
    with champion_lock(tmp_path, log=said.append) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    [line] = said
    assert line.startswith(f"took over the champion lock {path}: rolefit promote 7 (pid {left['pid']} ")
    assert "is gone and ended without releasing it" in line


def test_the_lock_is_reentrant_within_a_process_and_exclusive_between_processes(tmp_path):
    with champion_lock(tmp_path), champion_lock(tmp_path) as path:
        other = subprocess.run(
            [sys.executable, "-c", HOLDER, str(tmp_path)], input="", capture_output=True, text=True
        )
        assert other.returncode != 0 and "ChampionBusy" in other.stderr
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert path.read_text() == ""
    again = subprocess.run(
        [sys.executable, "-c", HOLDER, str(tmp_path)], input="", capture_output=True, text=True
    )
    assert again.returncode == 0 and again.stdout.strip() == "held", again.stderr


def test_a_link_or_fifo_at_the_lock_path_is_refused_and_nothing_is_truncated(tmp_path):
    path = tmp_path / LOCK_FILE
    path.parent.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    path.symlink_to(precious)
    with pytest.raises(LockError, match="is a symbolic link"), champion_lock(tmp_path):
        pass
    assert precious.read_text() == "keep me"
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(LockError, match="is not a regular file"), champion_lock(tmp_path):
        pass


# ---------------------------------------------------------------------------------------------------
# the commands take it before they read the champion or build anything


def test_the_release_flow_takes_the_lock_before_it_compares_with_the_champion(
    tmp_path, holder, champion, training_data, champion_params, variants_folder
):
    from rolefit.ops.release import gate_and_register
    from rolefit.scoring import champion as published

    destination = tmp_path / "models" / "champion"
    first = published.publish(variants_folder, destination)
    with pytest.raises(ChampionBusy, match=f"pid {holder.pid}"):
        gate_and_register(champion[1], training_data[0], champion_params, tmp_path, None)
    assert not (tmp_path / "reports" / "gate.json").exists(), "the gate ran without the lock"
    assert published.state(destination).bundle == first


@pytest.fixture()
def variants_folder(champion, tmp_path):
    from tests.bundles import make_variants

    return make_variants(champion[1], tmp_path / "variants", 1)[0][0]


def test_training_takes_the_lock_before_building_anything(tmp_path, holder):
    from rolefit.config import load_params
    from rolefit.ops.publish import train_and_publish

    params = load_params(small_params(tmp_path / "params.yaml"))  # a project that could be trained
    said: list[str] = []
    with pytest.raises(ChampionBusy, match=f"pid {holder.pid}"):
        train_and_publish(params, tmp_path, track=False, log=said.append)
    assert said == [], "it built data or trained before taking the lock"
    assert not (tmp_path / "models").exists() and not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    "command",
    [["train"], ["promote", "1"], ["promote", "1", "--rollback"]],
    ids=["train", "promote", "rollback"],
)
def test_the_commands_exit_6_with_one_line_naming_the_holder(tmp_path, holder, command):
    params = small_params(tmp_path / "params.yaml")
    out = subprocess.run(
        [str(BIN / "rolefit"), *command, "--params", str(params)],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 6, out.stdout[-2000:] + out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: another change to the champion is in progress")
    assert f"pid {holder.pid}" in lines[0]
    assert out.stdout == "" and not (tmp_path / "mlflow.db").exists()
