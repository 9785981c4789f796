"""The published champion folder (``export.dir``, ``models/champion``): versions and one pointer.

Layout::

    models/champion/
        CURRENT                  {"bundle": "<model version>", "mlflow_version": "7" | null, ...}
        versions/<model version>/   complete bundles; never changed once written
        PENDING                  only while a promotion is in flight: what it is promoting

Publishing copies the new bundle into ``versions/`` under a temporary name, verifies it, renames it
into place, and then replaces ``CURRENT`` with one atomic rename. So the folder always exists and
always names a whole bundle, and a reader that resolves ``CURRENT`` once and then reads only from that
version's folder never sees two versions mixed (:func:`resolve`, :func:`load_consistent`). Older
versions are kept (:data:`KEEP`) so a reader that resolved just before a switch can finish.

A promotion with MLflow writes ``PENDING`` before it moves the ``champion`` alias and removes it after
the switch. A crash in between leaves the alias and the folder disagreeing for a while;
:func:`reconcile` (run at the start of every ``rolefit train``, export stage and ``rolefit promote``)
finishes or repairs that and says what it did. A folder that still holds a bundle directly (the
layout before versions) is read as is and converted on the next publish.

Only the files the bundle's manifest lists (and its signature) are copied, each opened without
following symbolic links: a link inside a bundle is refused, never copied as what it points to, and a
``versions/<v>`` (or ``versions``) that is a link is refused when publishing and when loading. A full
disk stops publishing with :class:`NoSpaceError` ("no space left on <folder>"), the previous
``CURRENT`` still served. ``CURRENT`` and ``PENDING`` are read bounded: a regular file (not a link,
FIFO or folder) of at most :data:`MAX_POINTER_BYTES`, whose every parse error is a
:class:`ChampionError` naming it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from rolefit import atomic
from rolefit.scoring.bundle import MAX_BYTES, SIGNATURE, BundleError, listed_files, verify_bundle

POINTER = "CURRENT"
PENDING = "PENDING"
VERSIONS = "versions"
MANIFEST = "manifest.json"
#: How many published versions stay on disk (the current one included).
KEEP = 3
#: Environment variable naming a step at which publishing stops dead (``os._exit``), for crash tests.
FAILPOINT_ENV = "ROLEFIT_FAILPOINT"
#: Exit status of a process stopped at a failpoint.
FAILPOINT_EXIT = 86
#: Largest ``CURRENT`` or ``PENDING`` read (rolefit writes about 150 bytes); larger ones are refused unread.
MAX_POINTER_BYTES = 64 << 10

T = TypeVar("T")


class ChampionError(BundleError):
    """The champion folder cannot be read or written as it should."""


def failpoint(name: str) -> None:
    """Stop the process dead at step ``name`` when ``ROLEFIT_FAILPOINT`` says so.

    This is how the tests show that a crash at each step of publishing leaves a whole champion: the
    process ends as under ``kill -9`` (no ``finally`` blocks, no clean-up).
    """
    if os.environ.get(FAILPOINT_ENV) == name:
        os._exit(FAILPOINT_EXIT)


class NoSpaceError(ChampionError):
    """The disk holding the champion folder is full; the champion was not changed."""


def _no_space(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}  # fmt: skip


def _read_small(path: Path, limit: int, what: str) -> bytes | None:
    """The bytes of ``path`` (None when absent), refused unless a regular file of at most ``limit`` bytes.

    Opened without following a link and without blocking (a FIFO must not hang the reader), checked
    with ``fstat`` on what was opened, and read with a bound, so a file that grows meanwhile is never
    read past it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ChampionError(
                f"{path} is a symbolic link; {what} must be a regular file, so it was not followed."
            ) from None
        raise ChampionError(f"{path} cannot be read ({exc.strerror or exc}); {what} is damaged.") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise ChampionError(f"{path} is {kind}, not a regular file; {what} is damaged.")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ChampionError(f"{path} cannot be read ({exc.strerror or exc}); {what} is damaged.") from None
    finally:
        os.close(fd)
    if size > limit:
        raise ChampionError(f"{path} is larger than {limit:,} bytes, so it was not read; {what} is damaged.")
    return b"".join(chunks)


def _read_json(
    path: Path, limit: int = MAX_POINTER_BYTES, what: str = "the champion folder"
) -> dict[str, Any] | None:
    data = _read_small(path, limit, what)
    if data is None:
        return None
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChampionError(f"{path} cannot be read ({type(exc).__name__}); {what} is damaged.") from None
    except RecursionError:
        raise ChampionError(f"{path} is nested too deeply to be rolefit's; {what} is damaged.") from None
    if not isinstance(parsed, dict):
        raise ChampionError(f"{path} is not a JSON object; {what} is damaged.")
    return parsed


def pointer(directory: str | Path) -> dict[str, Any] | None:
    """The parsed ``CURRENT`` of a champion folder, or None when it has none."""
    return _read_json(Path(directory) / POINTER)


def resolve(directory: str | Path) -> Path:
    """The bundle folder that ``directory`` stands for right now.

    A champion folder resolves to the version its ``CURRENT`` names; any other folder (a bundle, or a
    champion folder in the layout before versions) is itself.
    """
    directory = Path(directory)
    return _version_folder(directory, pointer(directory))


def _version_folder(directory: Path, current: dict[str, Any] | None) -> Path:
    if current is None:
        return directory
    name = current.get("bundle")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ChampionError(f"{directory / POINTER} names no valid bundle version; the folder is damaged.")
    for link in (directory / VERSIONS, directory / VERSIONS / name):
        if link.is_symlink():
            raise ChampionError(
                f"{link} is a symbolic link; a published version is a folder inside {directory}, so it "
                "was not followed. The champion folder is damaged: publish again."
            )
    return directory / VERSIONS / name


def load_consistent(directory: str | Path, load: Callable[[Path], T], attempts: int = 3) -> T:
    """``load(resolved folder)``, retried if the champion was switched (and pruned) while reading.

    A reader resolves once and reads only that version, so it never mixes versions; it can only fail
    if it was slower than :data:`KEEP` publishes, and then it starts again from the new pointer. A
    version that disappeared while ``CURRENT`` still names it (removed by hand, or by a publish this
    reader outlasted every time) is named as such, not reported as a missing model.
    """
    directory = Path(directory)
    for attempt in range(attempts):
        before = pointer(directory)
        folder = _version_folder(directory, before)
        try:
            return load(folder)
        except Exception:
            if before is None:
                raise
            after = pointer(directory)
            if after != before and attempt < attempts - 1:
                continue  # switched meanwhile: start again from the new CURRENT
            if not folder.exists():
                still = "CURRENT still names it" if after == before else "CURRENT kept moving"
                raise ChampionError(
                    f"version {folder.name} was removed from {directory / VERSIONS} while loading it "
                    f"({still}); the champion folder is damaged: publish again (rolefit train or "
                    "rolefit promote)."
                ) from None
            raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class State:
    """What a champion folder holds: the bundle version, the MLflow version it is, and any promotion
    in flight."""

    bundle: str | None
    mlflow_version: str | None
    pending: dict[str, Any] | None


def state(directory: str | Path) -> State:
    directory = Path(directory)
    current = pointer(directory)
    pending = _read_json(directory / PENDING)
    if current is not None:
        return State(current.get("bundle"), current.get("mlflow_version"), pending)
    legacy = _read_json(directory / MANIFEST, MAX_BYTES[MANIFEST])
    return State(legacy.get("model_version") if legacy else None, None, pending)


def _bundle_version(bundle: Path) -> str:
    manifest = _read_json(bundle / MANIFEST, MAX_BYTES[MANIFEST], f"the bundle at {bundle}")
    version = (manifest or {}).get("model_version")
    if not isinstance(version, str) or not version or "/" in version or version.startswith("."):
        raise ChampionError(f"The bundle at {bundle} has no valid model_version in its manifest.")
    return version


def _unchanged(directory: Path) -> str:
    try:
        current = state(directory).bundle
    except BundleError:
        current = None
    return f"{directory} still serves version {current}" if current else f"{directory} is unchanged"


def _write_failed(directory: Path, exc: OSError, what: str) -> ChampionError:
    """The error for a failed write into the champion folder: "no space left on ..." for a full disk."""
    if _no_space(exc):
        return NoSpaceError(f"no space left on {directory}: {what}; {_unchanged(directory)}.")
    return ChampionError(f"{directory} could not be written ({exc.strerror or exc}): {what}; "
                         f"{_unchanged(directory)}.")  # fmt: skip


def _copy_file(source: Path, target: Path) -> None:
    """Copy one regular file; a link, FIFO or folder at ``source`` is refused, never followed or read."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ChampionError(
                f"{source.name} in the bundle at {source.parent} is a symbolic link; publishing copies a "
                "bundle's own files only, never what a link points to. Refusing to publish it."
            ) from None
        raise ChampionError(
            f"{source} cannot be read ({exc.strerror or exc}); nothing was published."
        ) from None
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise ChampionError(f"{source} is not a regular file; refusing to publish the bundle.")
        with open(target, "xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())


def stage(source: str | Path, directory: str | Path) -> str:
    """Copy bundle ``source`` into ``directory/versions/`` (verified, whole) and return its version.

    Only ``manifest.json``, the files it lists and ``signature.json`` are copied, each opened without
    following links (a link among them is refused); anything else in ``source`` stays behind. Nothing a
    reader sees changes: only :func:`switch` makes it the champion. A full disk raises
    :class:`NoSpaceError` and leaves no partial copy.
    """

    source, directory = Path(source), Path(directory)
    manifest = verify_bundle(source)
    version = _bundle_version(source)
    versions = directory / VERSIONS
    target = versions / version
    for link in (versions, target):
        if link.is_symlink():
            raise ChampionError(
                f"{link} is a symbolic link; a published version must be a folder inside {directory}. "
                f"Refusing to publish into it: remove the link and publish again."
            )
    names = [MANIFEST, *listed_files(manifest)]
    if os.path.lexists(source / SIGNATURE):
        names.append(SIGNATURE)
    try:
        versions.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_failed(directory, exc, f"version {version} was not published") from None
    atomic.remove_stale(versions)
    if target.is_dir():
        verify_bundle(target)  # already staged by an earlier, interrupted publish
        os.utime(target)
        return version
    tmp = atomic.temp_name(target)
    try:
        try:
            tmp.mkdir(mode=0o755)
            tmp.chmod(0o755)  # whatever the umask: every reader may read a published version
            for name in names:
                _copy_file(source / name, tmp / name)
        except OSError as exc:
            raise _write_failed(directory, exc, f"version {version} was not published") from None
        verify_bundle(tmp)
        failpoint("publish.copied")
        os.rename(tmp, target)
        os.utime(target)  # pruning goes by when a version was staged
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return version


def switch(directory: str | Path, version: str, mlflow_version: str | None) -> None:
    """Make staged ``version`` the champion with one atomic rename of ``CURRENT``."""
    directory = Path(directory)
    if not (directory / VERSIONS / version / MANIFEST).is_file():
        raise ChampionError(f"Version {version} is not staged in {directory / VERSIONS}.")
    record = {
        "bundle": version,
        "mlflow_version": None if mlflow_version is None else str(mlflow_version),
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        atomic.write_text(directory / POINTER, json.dumps(record, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise _write_failed(
            directory, exc, f"{POINTER} could not be replaced to switch to {version}"
        ) from None
    _drop_legacy(directory)


def _drop_legacy(directory: Path) -> None:
    """Remove a bundle kept directly in the folder (the layout before versions) once CURRENT exists."""
    for name in ("manifest.json", "scoring.json", "model.skops", "reference.json", "signature.json"):
        (directory / name).unlink(missing_ok=True)


def prune(directory: str | Path, keep: int = KEEP) -> list[str]:
    """Delete all but the ``keep`` newest versions (never the current one); returns what was deleted."""
    directory = Path(directory)
    versions = directory / VERSIONS
    if not versions.is_dir():
        return []
    current = state(directory).bundle
    pending = (state(directory).pending or {}).get("bundle")
    folders = sorted(
        (p for p in versions.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    removed = []
    for folder in folders[keep:]:
        if folder.name in (current, pending):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


def begin(directory: str | Path, version: str, mlflow_version: str) -> None:
    """Record that ``version`` (MLflow ``mlflow_version``) is being promoted (the ``PENDING`` journal)."""
    record = {"bundle": version, "mlflow_version": str(mlflow_version)}
    try:
        atomic.write_text(Path(directory) / PENDING, json.dumps(record, sort_keys=True) + "\n")
    except OSError as exc:
        raise _write_failed(Path(directory), exc, f"version {version} was not promoted") from None


def finish(directory: str | Path) -> None:
    """Clear the journal and old versions after a switch."""
    (Path(directory) / PENDING).unlink(missing_ok=True)
    prune(directory)


def publish(
    source: str | Path,
    directory: str | Path,
    *,
    mlflow_version: str | None = None,
    set_alias: Callable[[], None] | None = None,
) -> str:
    """Publish bundle ``source`` as the champion in ``directory``; returns its bundle version.

    With MLflow, ``set_alias`` moves the registry's ``champion`` alias; it runs after the bundle is
    staged and journaled and before the switch, so a crash at any step is finished by
    :func:`reconcile`.
    """
    directory = Path(directory)
    version = stage(source, directory)
    failpoint("publish.staged")
    if set_alias is not None:
        begin(directory, version, mlflow_version or "")
        failpoint("publish.journaled")
        try:
            set_alias()
        except BaseException:
            # the registry refused: nothing was promoted, so there is nothing for reconcile to finish
            (directory / PENDING).unlink(missing_ok=True)
            raise
        failpoint("publish.alias")
        try:
            switch(directory, version, mlflow_version)
        except ChampionError as exc:
            # the registry already names the new version and PENDING says so: reconcile finishes it
            raise type(exc)(
                f"{str(exc).rstrip('.')}; the registry's champion alias already names MLflow version "
                f"{mlflow_version}: the next rolefit train, export stage or rolefit promote finishes the "
                "switch once the folder can be written."
            ) from None
    else:
        switch(directory, version, mlflow_version)
    failpoint("publish.switched")
    finish(directory)
    return version


def reconcile(
    directory: str | Path,
    *,
    registry_champion: str | None,
    set_alias: Callable[[str], None],
    fetch: Callable[[str], Path],
) -> list[str]:
    """Make the folder and the MLflow ``champion`` alias agree again; returns what was done, in words.

    - A promotion that crashed after its journal was written is finished: the alias is set (if it was
      not) and the staged version switched in; the gate had already passed it.
    - Otherwise, if the folder's MLflow version differs from the alias, the alias wins: the registry
      is the record of what passed the gate, so its version is fetched and published.

    ``registry_champion`` is the version the alias names now (None: no alias); ``set_alias(version)``
    moves it; ``fetch(version)`` downloads a registered version's bundle.
    """
    directory = Path(directory)
    atomic.remove_stale(directory)
    atomic.remove_stale(directory / VERSIONS)
    done: list[str] = []
    current = state(directory)
    pending = current.pending
    if pending is not None:
        version, registered = pending.get("bundle"), str(pending.get("mlflow_version") or "")
        if isinstance(version, str) and (directory / VERSIONS / version / MANIFEST).is_file() and registered:
            if registry_champion != registered:
                set_alias(registered)
                registry_champion = registered
            if current.mlflow_version != registered:
                switch(directory, version, registered)
                done.append(
                    f"finished an interrupted promotion: champion is now MLflow version {registered} "
                    f"(bundle {version}) in {directory} and in the registry"
                )
        finish(directory)
        current = state(directory)
    if registry_champion is None or current.mlflow_version == str(registry_champion):
        return done
    if current.mlflow_version is None and current.bundle is not None and not done:
        # published without tracking, or before the folder recorded MLflow versions: nothing to compare
        return done
    bundle = fetch(str(registry_champion))
    version = stage(bundle, directory)
    switch(directory, version, str(registry_champion))
    finish(directory)
    was = f"MLflow version {current.mlflow_version}" if current.mlflow_version else "no champion"
    done.append(
        f"repaired {directory}: it held {was} but the registry's champion is version "
        f"{registry_champion}; the folder now holds that version (bundle {version})"
    )
    return done
