"""Writing files so that a reader sees the old file or the new one, never half of either (and their
checksums: :func:`sha256_file`).

Every output rolefit writes (ingest outputs, scores, reports, bundles) goes through :func:`staged`:
the content is written to a temporary name *beside* the target (same folder, so the final
``os.replace`` is an atomic rename on one file system), flushed to disk, and renamed over the target.
On an exception the temporary file is removed. A process killed with ``kill -9`` cannot clean up, so
temporary names carry the writer's process id and :func:`remove_stale` (called before each write)
deletes those whose process is gone: no hidden leftovers survive the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

#: Marker in every temporary name: ``.<target name>.rolefit-tmp-<pid>-<random>``.
TMP_MARK = ".rolefit-tmp-"


def temp_name(target: Path) -> Path:
    """A fresh temporary path beside ``target`` that :func:`remove_stale` recognises."""
    return target.with_name(f".{target.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale(directory: str | Path) -> list[Path]:
    """Delete temporary files and folders in ``directory`` left by writers that no longer run.

    Returns what was removed. Temporaries of live processes (a concurrent writer) are left alone.
    """
    directory = Path(directory)
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for path in directory.iterdir():
        name = path.name
        if not name.startswith(".") or TMP_MARK not in name:
            continue
        try:
            pid = int(name.rsplit(TMP_MARK, 1)[1].split("-", 1)[0])
        except ValueError:
            continue
        if process_alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def staged(target: str | Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    The caller writes the whole content to the yielded path (with any library: pandas, pyarrow,
    ``open``). On an exception nothing at ``target`` changes and the temporary file is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target.parent)
    tmp = temp_name(target)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"Nothing was written for {target}.")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    target = Path(target)
    with staged(target) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return target


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically."""
    target = Path(target)
    with staged(target) as tmp:
        tmp.write_bytes(data)
    return target


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
