"""Keyed pseudonyms of respondent ids.

``respondent_id`` values from form exports may be e-mail addresses, so they are replaced by a keyed
pseudonym, ``HMAC-SHA256(key, id)`` (:func:`id_key`: the ``ROLEFIT_ID_KEY`` environment variable, else a
random per-project key kept in ``.rolefit/id.key``, created on first use and never committed). Without a
key the ids are dropped, never weakly hashed. A blank id is "no id", never a duplicate.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from rolefit import atomic
from rolefit.data.io import SurveyError, blank

ID_KEY_ENV = "ROLEFIT_ID_KEY"
ID_KEY_FILE_ENV = "ROLEFIT_ID_KEY_FILE"
DEFAULT_ID_KEY_FILE = ".rolefit/id.key"
MIN_KEY_CHARS = 16


def id_key() -> tuple[bytes | None, str]:
    """The secret key for respondent pseudonyms and a sentence saying where it came from.

    ``ROLEFIT_ID_KEY`` when set (at least 16 characters); else the key file (``ROLEFIT_ID_KEY_FILE``,
    default ``.rolefit/id.key`` in the folder rolefit runs from, the project root), created with 32
    random bytes and mode 0600 on first use. Returns ``(None, why)`` when neither can be had: the ids
    are then dropped, never hashed without a secret.
    """
    value = os.environ.get(ID_KEY_ENV, "")
    if value:
        if len(value) < MIN_KEY_CHARS:
            raise SurveyError(
                f"{ID_KEY_ENV} is too short to keep respondent ids secret: give at least {MIN_KEY_CHARS} "
                "random characters (e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        return value.encode(), f"keyed: HMAC-SHA256 with the key in {ID_KEY_ENV}"
    path = Path(os.environ.get(ID_KEY_FILE_ENV) or DEFAULT_ID_KEY_FILE)
    try:
        if not path.exists():
            _create_key_file(path)
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, (
            f"dropped: no key ({ID_KEY_ENV} is not set and the key file {path} cannot be used: {why}); "
            "rows are numbered instead and duplicate respondents cannot be found"
        )
    if len(key) < MIN_KEY_CHARS:
        raise SurveyError(
            f"The id key file {path} holds no usable key; restore it from a backup (deleting it makes a "
            "new key, and every pseudonym changes)."
        )
    return key.encode(), f"keyed: HMAC-SHA256 with the project key in {path}"


def _create_key_file(path: Path) -> None:
    """Write a fresh random key to ``path`` (mode 0600) unless another process just did."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = atomic.temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # a concurrent first run made one: use theirs
            os.link(tmp, path)  # never replaces an existing key, unlike a rename
    finally:
        tmp.unlink(missing_ok=True)


class IdKeyring:
    """The id key of one ingest, looked up once and only when a file has ids (see :func:`id_key`)."""

    def __init__(self):
        self._key: tuple[bytes | None, str] | None = None

    def key(self) -> bytes | None:
        """The key, or None when there is none (the ids are then dropped)."""
        if self._key is None:
            self._key = id_key()
        return self._key[0]

    @property
    def note(self) -> str:
        """How respondent ids were handled, for the report."""
        return self._key[1] if self._key else "none in the file: rows are numbered"


def pseudonym(raw_id: str, key: bytes, source: str = "instrument") -> str:
    """The keyed pseudonym of a respondent id: ``<source>-`` + 16 hex digits of HMAC-SHA256.

    Case and surrounding spaces are ignored, so the same person gets the same pseudonym in every file
    ingested with the same key (duplicates are found across files and chunks).
    """
    message = f"{source}:{raw_id.strip().casefold()}".encode()
    return f"{source}-{hmac.new(key, message, hashlib.sha256).hexdigest()[:16]}"


def blank_id(value: Any) -> bool:
    return blank(value) or not str(value).strip()
