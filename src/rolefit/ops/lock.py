"""One change to the champion at a time per project: the champion lock.

Every command that can change the champion — ``rolefit train`` (for the whole run: it trains, gates
and publishes), ``rolefit promote``, and the DVC ``export`` stage (it registers, gates, publishes and
repairs the champion folder) — holds ``<project>/.rolefit/champion.lock`` while it works. Without it,
two trainings started together would both be gated against the old champion, both promote, and the
last to finish would win without the two ever being compared.

The lock is an exclusive ``flock`` on that file (no third-party dependency). The file records its
holder — pid, host, start time and command — so a second run can say who holds it. By default the
second run does not wait: it stops at once, before doing any work, with a message naming the holder
(exit 6, :data:`rolefit.ops.release.BUSY_EXIT`); with ``--wait SECONDS`` it waits at most that long.
A run that waited reads the champion only after it holds the lock, so it is gated against whatever
the first run promoted.

The kernel releases a ``flock`` when its process ends, however it ends (``kill -9`` included), so a
lock is never left held by a dead process. A holder that ended without releasing leaves its record
in the file; the next run takes the lock over and says so, naming the process that left it. The
lock is re-entrant within one process (``rolefit train`` holds it and its release step asks again).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rolefit.atomic import process_alive
from rolefit.errors import RolefitError

#: The lock file, relative to the project (the folder of ``params.yaml``); ``.rolefit/`` is git-ignored.
LOCK_FILE = Path(".rolefit") / "champion.lock"
#: A holder's record is about 150 bytes; anything larger is not one rolefit wrote and is not read whole.
MAX_RECORD_BYTES = 4096
#: How often a waiting run tries again, in seconds.
POLL_SECONDS = 0.2


class LockError(RolefitError, RuntimeError):
    """The champion lock cannot be taken: the lock file is not a regular file or cannot be opened."""


class ChampionBusy(LockError):
    """Another process holds the project's champion lock (it is changing the champion)."""

    def __init__(self, message: str, holder: Holder | None):
        self.holder = holder
        super().__init__(message)


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as its record says."""

    pid: int | None
    host: str
    started_at: str
    command: str

    def describe(self) -> str:
        if self.pid is None:
            return "another process (its record is unreadable)"
        return (
            f"{self.command or 'a rolefit command'} (pid {self.pid} on {self.host}, since {self.started_at})"
        )

    @classmethod
    def parse(cls, data: bytes) -> Holder | None:
        """The record in ``data``; None when the file is empty (nobody holds it, or a holder released it)."""
        if not data.strip():
            return None
        try:
            record = json.loads(data.decode("utf-8"))
            pid = record["pid"]
            if not isinstance(pid, int) or isinstance(pid, bool):
                raise TypeError("pid")
            return cls(pid, str(record.get("host", "?"))[:200], str(record.get("started_at", "?"))[:40],
                       str(record.get("command", ""))[:200])  # fmt: skip
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
            return cls(None, "?", "?", "")


def lock_path(root: str | Path) -> Path:
    """Where the champion lock of the project at ``root`` lives."""
    return Path(root).resolve() / LOCK_FILE


_held: dict[str, list[int]] = {}  # lock path -> [file descriptor, depth] for locks this process holds
_guard = threading.Lock()


def _read_record(fd: int) -> Holder | None:
    return Holder.parse(os.pread(fd, MAX_RECORD_BYTES, 0))


def _current_holder(fd: int) -> Holder | None:
    """The holder's record; a holder that has just taken the lock writes it within moments."""
    for _ in range(20):
        holder = _read_record(fd)
        if holder is not None:
            return holder
        time.sleep(0.05)
    return None


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_NOFOLLOW: a link planted at the lock's name must not make rolefit truncate what it points to;
        # O_NONBLOCK: a FIFO there must not hang the open
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError(
                f"The champion lock {path} is a symbolic link; rolefit only uses a regular file there. "
                "Remove the link and run again."
            ) from None
        raise LockError(
            f"The champion lock {path} cannot be opened ({exc.strerror or exc}); nothing was changed."
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LockError(f"The champion lock {path} is not a regular file; remove it and run again.")
    return fd


def _busy_message(path: Path, holder: Holder | None, waited: float) -> str:
    who = holder.describe() if holder is not None else "another process"
    after = f" after waiting {waited:g} s" if waited > 0 else ""
    return (
        f"another change to the champion is in progress{after}: {who} holds {path}. This run changed "
        "nothing; run it again when that one has finished, or pass --wait SECONDS to wait for it."
    )


@contextlib.contextmanager
def champion_lock(
    root: str | Path,
    *,
    wait: float = 0.0,
    command: str | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Iterator[Path]:
    """Hold the champion lock of the project at ``root`` for the ``with`` block.

    ``wait`` is the longest time, in seconds, to wait for another holder (0: do not wait); then
    :class:`ChampionBusy` names the holder. ``command`` is recorded for others to read (default: this
    process's command line). A record left by a holder that ended without releasing is taken over and
    ``log`` says so. Re-entrant within a process.
    """
    path = lock_path(root)
    key = str(path)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield path
        finally:
            with _guard:
                _held[key][1] -= 1
        return

    fd = _open(path)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _current_holder(fd)
                if time.monotonic() >= deadline:
                    raise ChampionBusy(_busy_message(path, holder, wait), holder) from None
                if not said:
                    who = holder.describe() if holder is not None else "another process"
                    log(f"waiting up to {wait:g} s for {who}, which holds {path}")
                    said = True
                time.sleep(POLL_SECONDS)
        left = _read_record(fd)
        if left is not None:
            gone = left.pid is not None and left.host == socket.gethostname() and not process_alive(left.pid)
            log(
                f"took over the champion lock {path}: {left.describe()} "
                f"{'is gone and ' if gone else ''}ended without releasing it"
            )
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record, sort_keys=True).encode("utf-8") + b"\n", 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    with _guard:
        _held[key] = [fd, 1]
    try:
        yield path
    finally:
        with _guard:
            _held.pop(key, None)
        try:
            os.ftruncate(fd, 0)  # released cleanly: the next holder finds no record to take over
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
