"""Signing model bundles, so that tampering is detected and not only corruption; where the key comes from.

A bundle's ``manifest.json`` lists the sha256 of every other file, so anyone who edits a file can
regenerate its checksum too: checksums catch accidents, not edits. A signature closes that gap. On
export rolefit writes ``signature.json`` beside the manifest::

    {"algorithm": "hmac-sha256", "key_id": "<16 hex>", "signature": "<64 hex>"}

where ``signature`` is HMAC-SHA256, under a secret key kept *outside* the bundle, of a fixed context
line followed by the exact bytes of ``manifest.json``. Because the manifest holds every file's sha256,
the signature covers every file; changing any byte of any file, the manifest included, needs the key.

Where the key comes from: the deployment or the project, never the working directory
-----------------------------------------------------------------------------------------

The key that checks a bundle is found the same way whichever folder a process starts in (the first that
applies):

1. ``ROLEFIT_SIGNING_KEY``: the secret itself (at least 32 characters, e.g. 64 hex digits);
2. ``ROLEFIT_SIGNING_KEY_FILE``: a file holding it (it must exist when verifying). These two are the
   deployment's explicit setting and apply to every bundle;
3. the key of a project the caller names (``project=``): the release flow names its project for the
   champion it downloads from MLflow into a temporary folder (:func:`assign_project`);
4. the key of the project that owns the bundle's folder: the *outermost* ``<folder>/.rolefit/signing.key``
   on the bundle's path (its folder's parent, grandparent, ... up to ``/``; the path as given, then,
   if that finds none, the path with symlinks resolved). ``models/champion/versions/<v>`` is so checked
   with ``<project>/.rolefit/signing.key`` from the project root, from ``/`` or from a temporary folder.

The current working directory is never consulted: before, the key was ``./.rolefit/signing.key``, so a
bundle whose effects were all negated and checksums rewritten was refused from the project root and
served from any other folder, and a key file planted in the folder a process started in was trusted.

Why the outermost key on the path, and not the nearest folder that looks like a project: the folders
between a project root and its bundles (``models/``, ``models/champion/``) are written by tools that
fetch models (``dvc pull`` of a directory output, a copied or mounted model folder), so a key (or a
``params.yaml``) planted there beside a re-signed bundle must not override the project's own key, nor
hide it. Folders that other users may write to (``/tmp``: world-writable) never hold a key that counts:
anyone could have put it there. The bundle's own folder is never searched (a bundle never vouches for
itself). Nested projects therefore share the outer project's key once it has one.

Where the key is created: by the first export of a bundle into a project (``rolefit train``, ``dvc
repro``) when no key is found on the bundle's path, at ``<project>/.rolefit/signing.key`` (mode 0600 in
a 0700 folder, 64 random hex digits). The project is the one the exporter names (``rolefit train``
names the folder of its params file), else the nearest folder above the bundle that holds ``params.yaml``
or ``dvc.yaml`` (the files that make a folder a rolefit project: ``rolefit train`` runs from the folder
of its params file, ``dvc repro`` from the folder of dvc.yaml). Exports into no project (tests,
scratch folders) never create project state.

A key file other users can read or write (``mode & 0o077``), or that another (non-root) user owns, is
reported when it is loaded: a warning on the ``rolefit`` logger naming the file and its mode. It is
still used: deployments mount secrets in many ways (warn, rather than refuse).

Verification policy, applied by :func:`rolefit.scoring.bundle.verify_bundle` on every load:

* a key is found: the bundle must carry a signature made with that key, else it is refused
  (unsigned, signed with another key, or changed after signing);
* no key is found (a fresh clone, an MLflow server or a machine without the key): the signature
  cannot be checked and is ignored; only the checksums apply, i.e. corruption is detected, tampering
  is not. The bundle is loaded *unverified* and says so: once per bundle per process a warning on the
  ``rolefit`` logger, and ``verified: false`` in the model information every prediction carries
  (``Prediction.model``); ``rolefit serve`` refuses it unless given ``--allow-unsigned``;
* ``ROLEFIT_REQUIRE_SIGNATURE=1`` makes the second case an error too: nothing loads unless its
  signature (or, for a packaged model, its installed-file record) is verified.

A model that ships inside the installed package (a later release packages a default model in the
wheel): a bundle whose folder is inside the installed ``rolefit`` package and whose ``manifest.json``
is listed in the distribution's installed-file record (``RECORD``, written by the installer from the
wheel) with a sha256 is *packaged*. It is verified by that record: the manifest's bytes must match the
recorded sha256 (else it is refused: it changed after installation), and every file must match the
manifest's checksums, as always. Its signature is not checked against the user's key (it was made by
whoever built the wheel). The reasoning: a packaged model is part of the installed code, which is
already trusted to run, and anyone able to change files in the package could change this module too;
the record catches a model edited or damaged after installation, and the wheel's integrity is the
installer's to check (``pip install --require-hashes``). The packaged model's own folder
(``rolefit/packaged_model``, :mod:`rolefit.scoring.packaged`) when the record does not list it (a source
checkout, an editable install) is verified by the sha256 of its manifest pinned in that module's code
(``make package-model`` writes both): the same reasoning, the code vouching for its data. Any other
bundle inside the package folder that the record does not list follows the ordinary rules above.

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
import stat
from dataclasses import dataclass, field
from pathlib import Path

from rolefit import atomic
from rolefit.errors import RolefitError

SIGNATURE = "signature.json"
MANIFEST = "manifest.json"
ALGORITHM = "hmac-sha256"
KEY_ENV = "ROLEFIT_SIGNING_KEY"
KEY_FILE_ENV = "ROLEFIT_SIGNING_KEY_FILE"
REQUIRE_ENV = "ROLEFIT_REQUIRE_SIGNATURE"
#: A project's key file, relative to the project's root folder (never to the working directory).
PROJECT_KEY_FILE = Path(".rolefit") / "signing.key"
#: The files that make a folder a rolefit project, where the first export creates its key.
PROJECT_MARKERS = ("params.yaml", "dvc.yaml")
#: 32 characters: 128 bits or more of entropy when random hex, enough for HMAC-SHA256.
MIN_KEY_CHARS = 32
#: A key file or signature larger than this is not one rolefit wrote; refuse it unread.
MAX_KEY_FILE_BYTES = 4096
MAX_SIGNATURE_BYTES = 4096
#: Domain separation: a signature over a manifest can never be mistaken for a MAC of anything else.
_CONTEXT = b"rolefit bundle manifest v1\n"
#: Where warnings go (the same logger for every rolefit warning an app should see).
LOGGER = "rolefit"
#: What the model information says of a bundle loaded without a key.
UNVERIFIED = "checksums only: no signing key configured"


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


@dataclass(frozen=True)
class Verification:
    """What checked a bundle: ``verified`` (a signature or the installed package's record) or not, and
    ``by``, in words (``"signature (key id ...)"``, :data:`UNVERIFIED`, ...)."""

    verified: bool
    by: str
    #: for an unverified bundle, where a key was looked for (for the warning; not part of equality)
    looked: str = field(default="", compare=False)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def signature_required() -> bool:
    """Whether ``ROLEFIT_REQUIRE_SIGNATURE`` asks that every bundle be signed and verified."""
    return _truthy(os.environ.get(REQUIRE_ENV))


# ---------------------------------------------------------------------------------------------------
# which project owns a bundle


def _shared(folder: Path) -> bool:
    """Whether other users may create files in ``folder`` (world-writable, like /tmp)."""
    try:
        return bool(folder.stat().st_mode & stat.S_IWOTH)
    except OSError:
        return True


def _paths(directory: str | Path) -> list[Path]:
    """The bundle folder as given (absolute, not resolved) and, when different, its real path."""
    given = Path(os.path.abspath(directory))
    real = Path(directory).resolve()
    return [given] if real == given else [given, real]


def _outermost_key(directory: str | Path) -> Path | None:
    """The outermost ``.rolefit/signing.key`` above ``directory`` (see the module docstring)."""
    for path in _paths(directory):
        found = None
        for folder in path.parents:
            candidate = folder / PROJECT_KEY_FILE
            if candidate.is_file() and not _shared(folder):
                found = candidate  # keep walking: an outer key wins over one planted below it
        if found is not None:
            return found
    return None


def nearest_project(directory: str | Path) -> Path | None:
    """The nearest folder above ``directory`` that holds ``params.yaml`` or ``dvc.yaml`` (not itself)."""
    for path in _paths(directory):
        for folder in path.parents:
            if any((folder / marker).is_file() for marker in PROJECT_MARKERS) and not _shared(folder):
                return folder
    return None


_assigned: dict[str, Path] = {}


def assign_project(directory: str | Path, project: str | Path) -> None:
    """Check bundle folder ``directory`` with ``project``'s key from now on in this process.

    For a bundle fetched into a temporary folder (e.g. a registered version downloaded from MLflow by
    the release flow): no project owns that folder, but the caller knows which project's registry it
    came from. A deployment key (``ROLEFIT_SIGNING_KEY[_FILE]``) still comes first.
    """
    _assigned[str(Path(directory).resolve())] = Path(project).resolve()


def project_key_file(project: str | Path) -> Path:
    """Where the project rooted at ``project`` keeps its signing key."""
    return Path(project) / PROJECT_KEY_FILE


# ---------------------------------------------------------------------------------------------------
# reading and creating keys


def _checked(secret: str, source: str) -> SigningKey:
    secret = secret.strip()
    if len(secret) < MIN_KEY_CHARS:
        raise SignatureError(
            f"The signing key from {source} is {len(secret)} characters long; a signing key needs at "
            f"least {MIN_KEY_CHARS} (e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    return SigningKey(secret.encode("utf-8"), source)


def _warn(message: str) -> None:
    import logging  # only when there is something to say: the predict path stays light

    logging.getLogger(LOGGER).warning(message)


_reported: set[tuple[str, int, int]] = set()


def _report_exposure(path: Path, status: os.stat_result) -> None:
    """Warn (once per file and state) when other users can read or write the key file, or own it."""
    mode, owner, me = stat.S_IMODE(status.st_mode), status.st_uid, os.geteuid()
    problems = []
    if mode & 0o044:
        problems.append("other users can read it (and sign any bundle with it)")
    if mode & 0o022:
        problems.append("other users can write it (and replace the key)")
    if owner not in (me, 0):
        problems.append(f"it belongs to another user (uid {owner}; you are uid {me})")
    if not problems or (str(path), mode, owner) in _reported:
        return
    _reported.add((str(path), mode, owner))
    _warn(
        f"The signing key file {path} has mode {mode:04o}: {'; '.join(problems)}. Make it private to "
        f"the user rolefit runs as: chmod 600 {path}"
        + (f"; chown {me} {path}" if owner not in (me, 0) else "")
        + "."
    )


def _read_key_file(path: Path) -> SigningKey:
    try:
        status = path.stat()
        if status.st_size > MAX_KEY_FILE_BYTES:
            raise SignatureError(
                f"The signing key file {path} is {status.st_size} bytes; a key file is a short line."
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureError(f"The signing key file {path} cannot be read ({type(exc).__name__}).") from None
    _report_exposure(path, status)
    return _checked(text, str(path))


def configured_key() -> SigningKey | None:
    """The deployment's key (``ROLEFIT_SIGNING_KEY``, then ``ROLEFIT_SIGNING_KEY_FILE``), or None."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return _checked(from_env, KEY_ENV)
    named = os.environ.get(KEY_FILE_ENV)
    if not named:
        return None
    path = Path(named).expanduser()
    if not path.exists():  # asked for a key and did not get one: never fall back to checksums silently
        raise SignatureError(f"{KEY_FILE_ENV} names {path}, which does not exist.")
    return _read_key_file(path)


def key_source(directory: str | Path, *, project: str | Path | None = None) -> tuple[Path | None, str]:
    """Where the project key for bundle folder ``directory`` is, if a project has one, and in words
    where it was looked for (for messages). The deployment's key is not considered here."""
    if project is None:
        project = _assigned.get(str(Path(directory).resolve()))
    if project is not None:
        path = project_key_file(project)
        if path.is_file():
            return path, str(path)
        return None, f"the project {project} it belongs to has no {PROJECT_KEY_FILE}"
    path = _outermost_key(directory)
    if path is not None:
        return path, str(path)
    owner = nearest_project(directory)
    if owner is None:
        return None, "no rolefit project holds the bundle"
    return None, f"its project {owner} has no {PROJECT_KEY_FILE}"


def load_key(directory: str | Path | None = None, *, project: str | Path | None = None) -> SigningKey | None:
    """The key that checks bundle folder ``directory``, or None when none is configured.

    The deployment's key first, then ``project``'s, then that of the project owning ``directory`` (see
    the module docstring); with no ``directory`` and no ``project``, only the deployment's. Never a key
    found from the working directory.
    """
    key = configured_key()
    if key is not None or (directory is None and project is None):
        return key
    path, _ = key_source(directory if directory is not None else project, project=project)
    return None if path is None else _read_key_file(path)


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
    return _read_key_file(path)


def key_for_export(
    bundle_dir: str | Path, *, project: str | Path | None = None, create_anywhere: bool = False
) -> SigningKey | None:
    """The key to sign a bundle being written to ``bundle_dir`` with; creates the project key if due.

    The deployment's key when one is configured (a ``ROLEFIT_SIGNING_KEY_FILE`` that does not exist yet
    is created). Else the key that will check the bundle: the outermost on its path (for a bundle
    inside ``project``, or when no project is named), else ``project``'s. When there is none, a new key
    is created in ``project`` or, unnamed, in the nearest project above the bundle. Outside any project
    nothing is created and the bundle goes unsigned, unless ``create_anywhere`` (an explicit request to
    sign), which then needs a key configured.
    """
    named = os.environ.get(KEY_FILE_ENV)
    if not os.environ.get(KEY_ENV) and named and not Path(named).expanduser().exists():
        return create_key(Path(named).expanduser())
    key = configured_key()
    if key is not None:
        return key
    path = None
    if project is None or any(p.is_relative_to(Path(project).resolve()) for p in _paths(bundle_dir)):
        path = _outermost_key(bundle_dir)
    if path is None and project is not None and project_key_file(project).is_file():
        path = project_key_file(project)
    if path is not None:
        return _read_key_file(path)
    owner = Path(project) if project is not None else nearest_project(bundle_dir)
    if owner is not None:
        return create_key(project_key_file(owner))
    if create_anywhere:
        raise SignatureError(
            f"No signing key is configured for {bundle_dir} and no rolefit project (a folder with "
            f"{' or '.join(PROJECT_MARKERS)}) holds it: set {KEY_FILE_ENV} to the key file to sign it with "
            "(it is created if it does not exist)."
        )
    return None


# ---------------------------------------------------------------------------------------------------
# signatures


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


# ---------------------------------------------------------------------------------------------------
# a model packaged inside the installed rolefit


def _package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def packaged(directory: str | Path, manifest_bytes: bytes, *, package_dir=None, distribution=None):
    """The :class:`Verification` of a bundle shipped inside the installed package, or None if it is not one.

    A bundle is packaged when its folder is inside ``package_dir`` (the installed ``rolefit``) and
    ``distribution``'s installed-file record (default: the installed rolefit's ``RECORD``) lists its
    ``manifest.json`` with a sha256. Raises :class:`SignatureError` when the manifest does not match
    the record. See the module docstring for why this is the rule.
    """
    real = Path(directory).resolve()
    package_dir = Path(package_dir).resolve() if package_dir is not None else _package_dir()
    if not real.is_relative_to(package_dir):
        return None
    if distribution is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import distribution as installed

        try:
            distribution = installed("rolefit")
        except PackageNotFoundError:
            return _pinned(real, manifest_bytes, package_dir)
    manifest = real / MANIFEST
    for entry in distribution.files or ():
        if entry.hash is None or entry.hash.mode != "sha256" or entry.name != MANIFEST:
            continue
        if Path(entry.locate()).resolve() != manifest:
            continue
        import base64

        digest = hashlib.sha256(manifest_bytes).digest()
        recorded = entry.hash.value
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") != recorded:
            raise SignatureError(
                f"The packaged model at {directory} does not match the record of the installed rolefit "
                f"package ({MANIFEST} was changed after installation); reinstall rolefit. Refusing to "
                "load it."
            )
        version = distribution.metadata["Version"]
        return Verification(True, f"package (installed rolefit {version}: its file record)")
    return _pinned(real, manifest_bytes, package_dir)


def _pinned(real: Path, manifest_bytes: bytes, package_dir: Path) -> Verification | None:
    """The packaged model's folder not in an installed-file record (a source checkout): checked against
    the manifest sha256 pinned in :mod:`rolefit.scoring.packaged`; None for any other folder."""
    from rolefit.scoring import packaged as pin

    if real != package_dir / pin.FOLDER_NAME:
        return None
    if hashlib.sha256(manifest_bytes).hexdigest() != pin.MANIFEST_SHA256:
        raise SignatureError(
            f"The packaged model at {real} does not match the manifest sha256 pinned in "
            "rolefit.scoring.packaged (its manifest.json was changed after `make package-model`); run "
            "`make package-model` again or restore the folder. Refusing to load it."
        )
    return Verification(True, "package (the packaged model's manifest sha256, pinned in rolefit's code)")


# ---------------------------------------------------------------------------------------------------
# the policy


_warned: set[tuple[str, str]] = set()


def say_unverified(directory: str | Path, manifest_bytes: bytes, verification: Verification) -> None:
    """Warn on the ``rolefit`` logger that a bundle was loaded with checksums only: once per bundle
    (its folder and manifest) per process. Called once the bundle has passed every other check, so a
    bundle refused for another reason is not said to be loaded."""
    if verification.verified:
        return
    seen = (str(Path(directory).resolve()), hashlib.sha256(manifest_bytes).hexdigest())
    if seen in _warned:
        return
    _warned.add(seen)
    _warn(
        f"The model bundle at {directory} is loaded UNVERIFIED: no signing key is configured for it "
        f"({verification.looked}), so only its checksums were checked, and anyone who can edit its files "
        f"could have changed what it predicts. Set {KEY_FILE_ENV} to the key that signed it, or keep the "
        f"project's key in <project>/{PROJECT_KEY_FILE}."
    )


def verify(
    directory: str | Path,
    manifest_bytes: bytes,
    *,
    project: str | Path | None = None,
    key: SigningKey | None = None,
) -> Verification:
    """Apply the verification policy to a bundle whose manifest is ``manifest_bytes``.

    ``key`` checks the bundle when given; else ``project``'s key when given; else the key found as the
    module docstring says. Returns how it was verified (``verified`` False: no key, checksums only;
    the caller then says so with :func:`say_unverified` once the rest of the bundle checks out);
    raises :class:`SignatureError` naming the cause otherwise.
    """
    directory = Path(directory)
    where = f"the model bundle at {directory}"
    bundle = f"The model bundle at {directory}"
    shipped = packaged(directory, manifest_bytes)
    if shipped is not None:
        return shipped
    if key is None:
        key = load_key(directory, project=project)
    if key is None:
        _, looked = key_source(directory, project=project)
        if signature_required():
            raise SignatureError(
                f"{REQUIRE_ENV} is set, but no signing key is configured to check {where} with "
                f"({looked}): set {KEY_ENV} or {KEY_FILE_ENV}, or keep the key of the project that owns "
                f"the bundle in <project>/{PROJECT_KEY_FILE}."
            )
        return Verification(False, UNVERIFIED, looked)  # the caller warns: see say_unverified
    path = directory / SIGNATURE
    if not path.is_file():
        raise SignatureError(
            f"{bundle} is not signed, but a signing key is configured ({key.source}), "
            "so unsigned bundles are refused. Re-export it (rolefit train), or, if you trust it, sign it "
            f"with: python -m rolefit.scoring.sign sign {directory}"
        )
    record = _read_signature(path, where)
    if hmac.compare_digest(record["signature"].lower(), _mac(key.secret, manifest_bytes)):
        return Verification(True, f"signature (key id {key.key_id})")
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
