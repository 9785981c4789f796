"""Signing model bundles, so that tampering is detected and not only corruption.

A bundle's ``manifest.json`` lists the sha256 of every other file, so anyone who edits a file can
regenerate its checksum too: checksums catch accidents, not edits. A signature closes that gap. On
export rolefit writes ``signature.json`` beside the manifest::

    {"algorithm": "hmac-sha256", "key_id": "<16 hex>", "signature": "<64 hex>"}

where ``signature`` is HMAC-SHA256, under a secret key kept *outside* the bundle, of a fixed context
line followed by the exact bytes of ``manifest.json``. Because the manifest holds every file's sha256,
the signature covers every file; changing any byte of any file, the manifest included, needs the key.

Where the key comes from (the first that applies):

1. ``ROLEFIT_SIGNING_KEY``: the secret itself (at least 32 characters, e.g. 64 hex digits);
2. ``ROLEFIT_SIGNING_KEY_FILE``: a file holding it (it must exist when verifying);
3. ``.rolefit/signing.key`` in the current folder (the project). It is created (mode 0600, 64 random
   hex digits) by the first export of a bundle *into* the project, e.g. ``rolefit train`` or
   ``dvc repro``; exports into other folders (tests, scratch) never create project state.

Verification policy, applied by :func:`rolefit.scoring.bundle.verify_bundle` on every load:

* a key is configured: the bundle must carry a signature made with that key, else it is refused
  (unsigned, signed with another key, or changed after signing);
* no key is configured (a fresh clone, an MLflow server or a machine without the key): the signature
  cannot be checked and is ignored; only the checksums apply, i.e. corruption is detected, tampering
  is not;
* ``ROLEFIT_REQUIRE_SIGNATURE=1`` makes the second case an error too: nothing loads unless its
  signature is verified.

An existing bundle you trust (e.g. one exported before signing existed) is signed with
``python -m rolefit.scoring.sign sign <bundle folder>``. Nothing here runs at import.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from rolefit import atomic
from rolefit.errors import RolefitError

SIGNATURE = "signature.json"
ALGORITHM = "hmac-sha256"
KEY_ENV = "ROLEFIT_SIGNING_KEY"
KEY_FILE_ENV = "ROLEFIT_SIGNING_KEY_FILE"
REQUIRE_ENV = "ROLEFIT_REQUIRE_SIGNATURE"
#: The project's key file, relative to the current folder (the same folder holds other local secrets).
DEFAULT_KEY_FILE = Path(".rolefit") / "signing.key"
#: 32 characters: 128 bits or more of entropy when random hex, enough for HMAC-SHA256.
MIN_KEY_CHARS = 32
#: A key file or signature larger than this is not one rolefit wrote; refuse it unread.
MAX_KEY_FILE_BYTES = 4096
MAX_SIGNATURE_BYTES = 4096
#: Domain separation: a signature over a manifest can never be mistaken for a MAC of anything else.
_CONTEXT = b"rolefit bundle manifest v1\n"


class SignatureError(RolefitError, RuntimeError):
    """A signature is missing, wrong or cannot be checked, or the signing key is misconfigured."""


@dataclass(frozen=True)
class SigningKey:
    """The secret and where it came from (named in messages; the secret itself never is)."""

    secret: bytes
    source: str

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key, so a message can say *which* key signed a bundle."""
        return hashlib.sha256(b"rolefit key id\n" + self.secret).hexdigest()[:16]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def signature_required() -> bool:
    """Whether ``ROLEFIT_REQUIRE_SIGNATURE`` asks that every bundle be signed and verified."""
    return _truthy(os.environ.get(REQUIRE_ENV))


def key_file() -> tuple[Path, bool]:
    """The key file's path, and whether it was named explicitly (``ROLEFIT_SIGNING_KEY_FILE``)."""
    named = os.environ.get(KEY_FILE_ENV)
    if named:
        return Path(named).expanduser(), True
    return Path.cwd() / DEFAULT_KEY_FILE, False


def _checked(secret: str, source: str) -> SigningKey:
    secret = secret.strip()
    if len(secret) < MIN_KEY_CHARS:
        raise SignatureError(
            f"The signing key from {source} is {len(secret)} characters long; a signing key needs at "
            f"least {MIN_KEY_CHARS} (e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    return SigningKey(secret.encode("utf-8"), source)


def load_key() -> SigningKey | None:
    """The configured signing key, or None when none is configured (see the module docstring)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return _checked(from_env, KEY_ENV)
    path, named = key_file()
    if not path.exists():
        if named:  # asked for a key and did not get one: never fall back to checksums silently
            raise SignatureError(f"{KEY_FILE_ENV} names {path}, which does not exist.")
        return None
    try:
        size = path.stat().st_size
        if size > MAX_KEY_FILE_BYTES:
            raise SignatureError(f"The signing key file {path} is {size} bytes; a key file is a short line.")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureError(f"The signing key file {path} cannot be read ({type(exc).__name__}).") from None
    return _checked(text, str(path))


def create_key(path: Path) -> SigningKey:
    """Create a new random key file at ``path`` (0600, in a 0700 folder) unless one exists already.

    The key is written to a temporary file and then hard-linked into place, so a concurrent export or
    reader never sees a half-written key, and two exports racing to create one end up sharing one.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = atomic.temp_name(path)  # a name atomic.remove_stale clears if this process dies mid-write
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    key = load_key()
    if key is None:  # ROLEFIT_SIGNING_KEY is unset here, so load_key reads the file just made
        raise SignatureError(f"The signing key file {path} could not be created.")
    return key


def key_for_export(bundle_dir: str | Path, *, create_anywhere: bool = False) -> SigningKey | None:
    """The key to sign a bundle being written to ``bundle_dir`` with; creates the project key if due.

    A key is created only at an explicitly named key file, or at the project's default one when the
    bundle goes inside the current folder (or ``create_anywhere``, for an explicit request to sign):
    a test or a scratch export elsewhere never leaves a key in whatever folder it happened to run from.
    """
    path, named = key_file()
    if not os.environ.get(KEY_ENV) and not path.exists():
        inside = Path(bundle_dir).resolve().is_relative_to(Path.cwd().resolve())
        return create_key(path) if named or inside or create_anywhere else None
    return load_key()


def _mac(secret: bytes, manifest_bytes: bytes) -> str:
    return hmac.new(secret, _CONTEXT + manifest_bytes, hashlib.sha256).hexdigest()


def signature_record(key: SigningKey, manifest_bytes: bytes) -> dict[str, str]:
    """The content of ``signature.json`` for a manifest."""
    return {"algorithm": ALGORITHM, "key_id": key.key_id, "signature": _mac(key.secret, manifest_bytes)}


def write_signature(directory: str | Path, key: SigningKey, manifest_bytes: bytes) -> Path:
    """Write ``signature.json`` for ``manifest_bytes`` into the bundle folder ``directory``.

    Atomically: signing a published bundle must not let a concurrent reader see half a signature.
    """
    text = json.dumps(signature_record(key, manifest_bytes), indent=2, sort_keys=True) + "\n"
    return atomic.write_text(Path(directory) / SIGNATURE, text)


def _read_signature(path: Path, where: str) -> dict[str, str]:
    size = path.stat().st_size
    if size > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{SIGNATURE} in {where} is {size} bytes; a signature is a few lines.")
    try:
        record = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SignatureError(f"{SIGNATURE} in {where} is not valid JSON; refusing to load it.") from None
    if not isinstance(record, dict) or record.get("algorithm") != ALGORITHM:
        raise SignatureError(
            f"{SIGNATURE} in {where} is not an {ALGORITHM} signature rolefit wrote; refusing to load it."
        )
    signature, key_id = record.get("signature"), record.get("key_id")
    if not isinstance(signature, str) or not isinstance(key_id, str):
        raise SignatureError(f"{SIGNATURE} in {where} lacks its signature or key id; refusing to load it.")
    return {"signature": signature, "key_id": key_id[:16]}


def verify(directory: str | Path, manifest_bytes: bytes) -> str:
    """Apply the verification policy to a bundle whose manifest is ``manifest_bytes``.

    Returns ``"verified"`` or ``"unverified"`` (no key configured, signatures not required); raises
    :class:`SignatureError` naming the cause otherwise.
    """
    directory = Path(directory)
    where = f"the model bundle at {directory}"
    bundle = f"The model bundle at {directory}"
    key = load_key()
    if key is None:
        if signature_required():
            raise SignatureError(
                f"{REQUIRE_ENV} is set, but no signing key is configured to check {where} with: set "
                f"{KEY_ENV} or {KEY_FILE_ENV}, or put the key in {DEFAULT_KEY_FILE} in this folder."
            )
        return "unverified"
    path = directory / SIGNATURE
    if not path.is_file():
        raise SignatureError(
            f"{bundle} is not signed, but a signing key is configured ({key.source}), "
            "so unsigned bundles are refused. Re-export it (rolefit train), or, if you trust it, sign it "
            f"with: python -m rolefit.scoring.sign sign {directory}"
        )
    record = _read_signature(path, where)
    if hmac.compare_digest(record["signature"].lower(), _mac(key.secret, manifest_bytes)):
        return "verified"
    if record["key_id"] != key.key_id:
        raise SignatureError(
            f"{bundle} was signed with another key (key id {record['key_id']!r}) "
            f"than the configured one ({key.source}, key id {key.key_id!r}); refusing to load it. "
            f"Set {KEY_ENV} to the key that signed it if you trust its origin."
        )
    raise SignatureError(
        f"The signature of {where} does not match its manifest.json: the manifest (and so "
        "possibly any file it lists) was changed after the bundle was signed. Refusing to load it."
    )
