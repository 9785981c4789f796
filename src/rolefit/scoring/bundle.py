"""Saving and loading the exported model bundle: a folder with a manifest and checksummed files.

Layout of a bundle folder::

    manifest.json   schema version, model version, instrument version and hash, training data hash
                    and row counts, metrics, library versions, and the sha256 of every other file
    signature.json  HMAC-SHA256 of manifest.json under a key kept outside the bundle
                    (:mod:`rolefit.scoring.signing`); written when a signing key is configured
    scoring.json    the additive lookup tables (:class:`rolefit.model.tables.AdditiveModel`): all that
                    ``rolefit.predict`` needs
    model.skops     the full calibrated scikit-learn model, in skops format (no pickle), for
                    verification, MLflow and retraining tools; listed as null in a *scoring-only* bundle
                    (the model packaged with rolefit: :mod:`rolefit.scoring.packaged`), which scores,
                    guides and explains like any other but has no estimator to load
    reference.json  answer distributions of the training split, the reference of ``rolefit drift``
    answers.json    P(answer level | role) per item from the training rows, for adaptive questioning
                    (:mod:`rolefit.guidance.questions`); optional: bundles exported before it existed
                    fall back to the marginal shares of reference.json (:func:`answer_distributions`)
    fit.json        the fit (:class:`rolefit.model.uncertainty.FitModel`): lookup tables over the fit
                    items with an even start and every effect's uncertainty; optional: the fit of a
                    bundle exported before it existed is rebuilt from scoring.json (:func:`load_fit`)
    readiness.json  counts of real respondents per source, item, answer level and role, for readiness
                    (:mod:`rolefit.scoring.readiness`); optional: bundles exported before it existed
                    have no readiness (:func:`rolefit.scoring.readiness.load_readiness` gives None)

Loading refuses the bundle with :class:`BundleError` naming the cause unless, in this order: every
file is within its size bound (checked before anything is read), the signature verifies (when a key is
found; see :mod:`rolefit.scoring.signing`), the manifest fits its typed schema and was built for this
instrument, every file matches its sha256, and the content makes sense (finite effects and baselines,
tables for exactly the instrument's items). Nothing in a bundle is ever unpickled: ``scoring.json`` is
plain JSON and ``model.skops`` is loaded by skops only when every type in it is on an exact allow-list
(:data:`rolefit.scoring.trusted.ESTIMATOR_TYPES`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from rolefit import atomic
from rolefit.atomic import sha256_file
from rolefit.errors import RolefitError
from rolefit.instrument.items import Instrument, load_instrument
from rolefit.model.tables import AdditiveModel
from rolefit.model.uncertainty import FitModel
from rolefit.scoring import signing

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SCORING = "scoring.json"
ESTIMATOR = "model.skops"
REFERENCE = "reference.json"
ANSWERS = "answers.json"
FIT = "fit.json"
READINESS = "readiness.json"
SIGNATURE = signing.SIGNATURE
REQUIRED_FILES = (SCORING, ESTIMATOR, REFERENCE)
#: Required files a manifest may list as null: a scoring-only bundle (the packaged model) has no estimator
NULLABLE_FILES = (ESTIMATOR,)
#: Files a bundle may have, verified like the others when its manifest lists them
OPTIONAL_FILES = (ANSWERS, FIT, READINESS)

_MB = 1 << 20
#: Largest size of each file, checked before the file is read or hashed. Measured on real bundles
#: (logistic with real surveys / boosting): manifest 44 / 9 KB, scoring.json 21 / 17 KB, reference.json
#: 28 / 22 KB, model.skops 1.5 / 1.7 MB, answers.json about 30 KB. The tables grow at most to 255
#: thresholds per item (the trees' bins), about 0.5 MB, and answers.json to one level per step (at
#: most :data:`rolefit.data.distributions.MAX_LEVELS`), so each bound leaves a wide margin and still
#: refuses a file built to exhaust memory. readiness.json is about 9 KB (two surveys, 23 items of at most
#: 21 levels); 4 MB holds hundreds of sources.
MAX_BYTES = {
    MANIFEST: 1 * _MB,
    SCORING: 8 * _MB,
    REFERENCE: 8 * _MB,
    ANSWERS: 8 * _MB,
    READINESS: 4 * _MB,
    ESTIMATOR: 256 * _MB,
    FIT: 8 * _MB,  # the same tables as scoring.json over fewer items, plus one uncertainty per item
}
#: Deepest nesting of a bundle's JSON files (real ones: 5). Deeper documents are refused before any
#: code walks them recursively.
MAX_JSON_DEPTH = 32


class BundleError(RolefitError, RuntimeError):
    """The model bundle is missing, malformed, tampered with, or built for another instrument."""


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("rolefit", "scikit-learn", "numpy", "pandas", "scipy", "skops"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    import platform

    out["python"] = platform.python_version()
    return out


def save_bundle(
    directory: str | Path,
    *,
    additive: AdditiveModel,
    estimator: Any,
    manifest: dict[str, Any],
    reference: dict[str, Any] | None = None,
    instrument: Instrument | None = None,
    answers: dict[str, Any] | None = None,
    project: str | Path | None = None,
    fit: FitModel | None = None,
    readiness: dict[str, Any] | None = None,
) -> Path:
    """Write a bundle atomically: build it in a temporary folder beside ``directory``, then swap it in.

    ``manifest`` holds the caller's facts (metrics, data hashes, row counts, candidate, ...); this
    function adds schema, instrument, versions, checksums and the model version, and signs the
    manifest when a signing key is configured (creating the project's key on the first export into
    the project; see :func:`rolefit.scoring.signing.key_for_export`). ``project`` is the root of the
    project the bundle belongs to, when the caller knows it (else the nearest one above ``directory``).
    ``answers`` (the answer model, :func:`rolefit.data.distributions.answer_distributions`) is written as
    ``answers.json`` and ``fit`` (:class:`rolefit.model.uncertainty.FitModel`) as ``fit.json`` when given.
    ``readiness`` (:func:`rolefit.data.readiness.readiness_document`) as ``readiness.json``.
    ``estimator`` may also be the bytes of a ``model.skops`` file, written unchanged (a derived bundle
    keeps its parent's: :mod:`rolefit.scoring.derived`).
    """
    import skops.io

    instrument = instrument or load_instrument()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        key = signing.key_for_export(directory, project=project)
    except signing.SignatureError as exc:
        raise BundleError(f"Cannot sign the bundle for {directory}: {exc}") from None
    atomic.remove_stale(directory.parent)
    staging = atomic.temp_name(directory)
    staging.mkdir()
    staging.chmod(0o755)
    try:
        scoring_text = json.dumps(additive.to_dict(), indent=1, sort_keys=True)
        (staging / SCORING).write_text(scoring_text, encoding="utf-8")
        if isinstance(estimator, bytes):  # an existing model.skops copied as it is (a derived bundle)
            (staging / ESTIMATOR).write_bytes(estimator)
        else:
            skops.io.dump(estimator, staging / ESTIMATOR)
            canonical_skops(staging / ESTIMATOR)
        (staging / REFERENCE).write_text(
            json.dumps(reference or {}, indent=1, sort_keys=True), encoding="utf-8"
        )
        written = REQUIRED_FILES
        if answers is not None:
            (staging / ANSWERS).write_text(json.dumps(answers, indent=1, sort_keys=True), encoding="utf-8")
            written = (*written, ANSWERS)
        if fit is not None:
            (staging / FIT).write_text(json.dumps(fit.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
            written = (*written, FIT)
        if readiness is not None:
            (staging / READINESS).write_text(
                json.dumps(readiness, indent=1, sort_keys=True), encoding="utf-8"
            )
            written = (*written, READINESS)
        files = {name: sha256_file(staging / name) for name in written}
        full = {
            "schema_version": SCHEMA_VERSION,
            "instrument": {"version": instrument.version, "sha256": instrument.sha256},
            "libraries": library_versions(),
            **manifest,
            "files": files,
        }
        full["model_version"] = content_version(full)
        # no wall-clock time: a DVC output must not change when nothing it is made of did (MLflow
        # records when the model was trained); kept for readers of the manifest's schema
        full["created_at"] = CREATED_AT
        manifest_bytes = json.dumps(full, indent=2, sort_keys=True).encode("utf-8")
        (staging / MANIFEST).write_bytes(manifest_bytes)
        if key is not None:
            signing.write_signature(staging, key, manifest_bytes)
        _swap_in(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


#: The manifest's ``created_at``: bundles carry no wall-clock time (see :func:`content_version`).
CREATED_AT = "not recorded: see the MLflow training run"


def content_version(manifest: dict[str, Any]) -> str:
    """The model version of a manifest: derived from its content, so equal models have equal versions.

    A digest of the data (``training_data`` holds its sha256 and row counts), the parameters, the
    instrument, the library versions and every file's sha256 (what the code made of them), as
    ``<12 hex digits>``. Retraining the same code on the same data with the same parameters gives the
    same version, on any machine and at any time.
    """
    facts = {k: v for k, v in manifest.items() if k not in ("model_version", "created_at", "signature")}
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def canonical_skops(path: Path) -> None:
    """Rewrite a ``.skops`` file so that the same estimator always gives the same bytes.

    skops names each array file and ``__id__`` by the object's memory address (``id()``, a new one in
    every process) and stamps each zip member with the current time. Each address becomes its rank of
    first appearance in ``schema.json``; every member gets one fixed timestamp, in the original order.
    """
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    schema = dict(members)["schema.json"].decode("utf-8")
    pattern = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')
    ranks: dict[str, str] = {}
    for match in pattern.finditer(schema):
        ranks.setdefault(match.group(2) or match.group(3), str(len(ranks) + 1))

    def rename(match: re.Match) -> str:
        if match.group(2):
            return match.group(1) + ranks[match.group(2)]
        return f'"{ranks[match.group(3)]}.npy"'

    renamed = []
    for name, data in members:
        if name == "schema.json":
            data = pattern.sub(rename, schema).encode("utf-8")
        elif name.endswith(".npy") and name[:-4] in ranks:
            name = f"{ranks[name[:-4]]}.npy"
        renamed.append((name, data))
    tmp = path.with_name(path.name + ".canonical")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in renamed:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    tmp.replace(path)


def _swap_in(staging: Path, directory: Path) -> None:
    """Replace ``directory`` by the complete ``staging`` folder (the old one is removed afterwards).

    Used for a training's own output (``models/trained``); the published champion is switched
    atomically by :mod:`rolefit.scoring.champion` instead.
    """
    backup = None
    if directory.exists():
        # a temporary name: if a crash comes between the renames, the next save removes it
        backup = atomic.temp_name(directory)
        directory.rename(backup)
    staging.rename(directory)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# reading: bounded sizes, bounded nesting, a typed manifest


def _read_bounded(path: Path, where: str) -> bytes:
    """The bytes of bundle file ``path``, refused unread when over its bound in :data:`MAX_BYTES`.

    The size is checked before reading and again while reading, so a file that grows in between is
    refused too (it is never read past the bound).
    """
    limit = MAX_BYTES[path.name]
    try:
        size = path.stat().st_size
        if size <= limit:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
            size = max(size, len(data))
    except OSError as exc:
        raise BundleError(f"{path.name} in {where} cannot be read ({exc.strerror or exc}).") from None
    if size > limit:
        raise BundleError(
            f"{path.name} in {where} is {size / _MB:.1f} MB; a model bundle's {path.name} is at most "
            f"{limit / _MB:g} MB, so it was not read. Refusing to load it."
        )
    return data


def _depth(value: Any) -> int:
    """The nesting depth of a parsed JSON value, computed without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


def parse_json(data: bytes, name: str, where: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{name} in {where} is not valid JSON ({exc}); the bundle is corrupt.") from None
    except RecursionError:
        raise BundleError(f"{name} in {where} is nested too deeply to be a rolefit file.") from None
    depth = _depth(value)
    if depth > max_depth:
        raise BundleError(
            f"{name} in {where} is nested {depth} levels deep; rolefit's are at most {max_depth}."
        )
    return value


# The manifest's typed schema is written twice; change both together. The pydantic models of
# rolefit.scoring.manifest_schema are the reference and say what is wrong with a manifest; the plain
# checks below decide alone whether one fits, so that loading a bundle never imports pydantic (about
# half of a cold start to a first prediction). Strict like the models: a number is not a string, "1" is
# not 1, True is not 1; extra keys are tolerated (except among the file checksums) because the manifest
# also records the caller's facts (params, ingest reports, selection), which grow over time and are
# bounded by the size and depth limits.

_HEX = frozenset("0123456789abcdef")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_VERSION_CHARS = _ALNUM | frozenset("._+-")


def _text(value: Any, longest: int, shortest: int = 0) -> bool:
    """A string of ``shortest`` to ``longest`` characters that UTF-8 can encode (pydantic refuses a lone
    surrogate, which JSON's ``\\ud800`` escapes can produce)."""
    if not isinstance(value, str) or not shortest <= len(value) <= longest:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name(value: Any) -> bool:
    return _text(value, 200, 1)


def _sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and _HEX.issuperset(value)


def _count(value: Any) -> bool:
    """A whole number >= 0 (not a boolean, not a float)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _real(value: Any) -> bool:
    """A float, or an int that converts to one (pydantic's strict float; NaN and infinities pass)."""
    if isinstance(value, float):
        return True
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _fields(value: Any, required: tuple[str, ...] = ()) -> bool:
    """A JSON object holding every key in ``required``, whose keys UTF-8 can encode (pydantic reads every
    key of a model's object, extra ones too)."""
    return (
        isinstance(value, dict)
        and all(key in value for key in required)
        and all(_text(key, len(key)) for key in value)
    )


def _manifest_fits(manifest: Any) -> bool:
    """Whether ``manifest`` fits :class:`rolefit.scoring.manifest_schema.Manifest` (without pydantic)."""
    m = manifest
    if not _fields(m, ("schema_version", "model_version", "created_at", "instrument", "files")):
        return False
    version, name = m["schema_version"], m["model_version"]
    if not (_count(version) and version == SCHEMA_VERSION):
        return False
    if not (isinstance(name, str) and 1 <= len(name) <= 100 and name[0] in _ALNUM):
        return False
    if not (_VERSION_CHARS.issuperset(name) and _text(m["created_at"], 64)):
        return False
    instrument, files = m["instrument"], m["files"]
    if not (_fields(instrument, ("version", "sha256")) and _name(instrument["version"])):
        return False
    if not (_sha256(instrument["sha256"]) and _fields(files, REQUIRED_FILES)):
        return False
    for key, value in files.items():  # exactly the bundle's files (the optional ones may be null)
        if key not in REQUIRED_FILES and key not in OPTIONAL_FILES:
            return False
        if not (_sha256(value) or (value is None and (key in OPTIONAL_FILES or key in NULLABLE_FILES))):
            return False
    libraries = m.get("libraries", {})
    if not (isinstance(libraries, dict) and all(_name(k) and _text(v, 200) for k, v in libraries.items())):
        return False
    if not all(m.get(key) is None or _name(m[key]) for key in ("candidate", "calibration")):
        return False
    training = m.get("training_data")
    if training is not None:
        if not (_fields(training, ("sha256", "rows")) and _sha256(training["sha256"])):
            return False
        rows = training["rows"]
        if not (_fields(rows, ("total",)) and _count(rows["total"])):
            return False
        by_source = rows.get("by_source", {})
        if not (isinstance(by_source, dict) and all(_name(k) and _count(v) for k, v in by_source.items())):
            return False
    metrics = m.get("metrics", {})
    if not isinstance(metrics, dict):
        return False
    for key, values in metrics.items():
        if not (_name(key) and isinstance(values, dict)):
            return False
        if not all(_name(k) and (v is None or _real(v)) for k, v in values.items()):
            return False
    evidence = m.get("real_evidence")
    if evidence is not None:
        if not _fields(evidence):
            return False
        for key in ("training_sources", "evaluation_sources"):
            names = evidence.get(key, [])
            if not (isinstance(names, list) and all(map(_name, names))):
                return False
    error = m.get("max_table_error")
    return error is None or _real(error)


def _parse_manifest(data: bytes, path: Path) -> dict[str, Any]:
    where = f"the model bundle at {path.parent}"
    manifest = parse_json(data, MANIFEST, where)
    if not isinstance(manifest, dict):
        raise BundleError(f"{path} is not a JSON object; the bundle is corrupt.")
    version = manifest.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:  # True == 1 and 1.0 == 1 in Python
        raise BundleError(
            f"{path} has schema version {str(manifest.get('schema_version'))[:40]!r}; "
            f"this rolefit reads version {SCHEMA_VERSION}."
        )
    files = manifest.get("files")
    if (
        not isinstance(files, dict)
        or not set(REQUIRED_FILES) <= set(files)
        or not set(files) <= {*REQUIRED_FILES, *OPTIONAL_FILES}
    ):
        raise BundleError(
            f"{path} must list checksums for exactly {', '.join(REQUIRED_FILES)} "
            f"(and optionally {', '.join(OPTIONAL_FILES)})."
        )
    if not _manifest_fits(manifest):
        from rolefit.scoring.manifest_schema import schema_problems  # pydantic, only to say what is wrong

        raise BundleError(
            f"{path} does not fit the manifest schema ({schema_problems(manifest)}); refusing to load it."
        )
    return manifest


def _manifest_bytes(directory: Path) -> bytes:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BundleError(f"No model bundle at {directory}: the folder does not exist.")
    if not path.is_file():
        raise BundleError(f"The model bundle at {directory} has no {MANIFEST}.")
    return _read_bounded(path, f"the model bundle at {directory}")


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Parse and check ``manifest.json`` against its schema (no checksum or signature verification)."""
    directory = Path(directory)
    return _parse_manifest(_manifest_bytes(directory), directory / MANIFEST)


def verify_bundle(
    directory: str | Path,
    instrument: Instrument | None = None,
    *,
    signature: bool = True,
    project: str | Path | None = None,
) -> dict[str, Any]:
    """Check sizes, signature, manifest schema, instrument and every file's sha256.

    Returns the manifest or raises :class:`BundleError` naming the cause. ``signature=False`` skips
    only the signature (for :func:`sign_bundle`, which is about to make one). ``project``: check the
    signature with that project's key (e.g. a bundle downloaded from the project's MLflow registry into
    a temporary folder); by default the key is found as :mod:`rolefit.scoring.signing` says.
    """
    directory = Path(directory)
    manifest, data, verification = _verify(directory, instrument, signature, project)
    if verification is not None:
        signing.say_unverified(directory, data, verification)  # once, and only for a whole bundle
    return manifest


def _verify(
    directory: Path, instrument: Instrument | None, signature: bool, project: str | Path | None = None
) -> tuple[dict[str, Any], bytes, signing.Verification | None]:
    """:func:`verify_bundle`, also returning the manifest's bytes exactly as they were checked and how the
    bundle was verified (None with ``signature=False``)."""
    where = f"the model bundle at {directory}"
    data = _manifest_bytes(directory)
    verification = None
    if signature:  # before parsing: with a key configured, nothing unsigned is even parsed
        try:
            verification = signing.verify(directory, data, project=project)
        except signing.SignatureError as exc:
            raise BundleError(str(exc)) from None
    manifest = _parse_manifest(data, directory / MANIFEST)
    instrument = instrument or load_instrument()
    built_for = manifest["instrument"]
    if not instrument.accepts(built_for["version"], built_for["sha256"]):
        raise BundleError(
            f"The model bundle at {directory} was built for instrument version "
            f"{built_for['version']!r} (sha256 {built_for['sha256'][:12]}...), but this "
            f"rolefit uses version {instrument.version!r} (sha256 {instrument.sha256[:12]}...); retrain it."
        )
    listed = listed_files(manifest)
    for name in listed:
        path = directory / name
        if not path.is_file():
            raise BundleError(f"The model bundle at {directory} is missing {name}.")
        size, limit = path.stat().st_size, MAX_BYTES[name]
        if size > limit:
            raise BundleError(
                f"{name} in {where} is {size / _MB:.1f} MB; a model bundle's {name} is at most "
                f"{limit / _MB:g} MB, so it was not read. Refusing to load it."
            )
    for name in listed:
        _check_digest(name, sha256_file(directory / name), manifest, directory)
    return manifest, data, verification


def listed_files(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The bundle's files its (parsed) manifest lists: every required one, then the optional ones (an
    optional file listed as null is absent, and so is the estimator of a scoring-only bundle)."""
    files = manifest["files"]
    required = (name for name in REQUIRED_FILES if name not in NULLABLE_FILES or files.get(name) is not None)
    return (*required, *(name for name in OPTIONAL_FILES if files.get(name) is not None))


def scoring_only(manifest: dict[str, Any]) -> bool:
    """Whether the bundle has no estimator (``model.skops`` listed as null): the packaged model."""
    return manifest["files"].get(ESTIMATOR, "") is None


def _check_digest(name: str, actual: str, manifest: dict[str, Any], directory: Path) -> None:
    expected = manifest["files"][name]
    if actual != expected:
        raise BundleError(
            f"{name} in the model bundle at {directory} does not match its checksum "
            f"(expected sha256 {expected[:12]}..., found {actual[:12]}...): the file was changed "
            "after export. Refusing to load it."
        )


def read_verified(directory: Path, name: str, manifest: dict[str, Any]) -> bytes:
    """The bytes of ``name``, checked against the manifest *as read*: the file cannot be swapped
    between verification and use."""
    data = _read_bounded(directory / name, f"the model bundle at {directory}")
    _check_digest(name, hashlib.sha256(data).hexdigest(), manifest, directory)
    return data


def sign_bundle(directory: str | Path, *, project: str | Path | None = None) -> signing.SigningKey:
    """Sign an existing bundle with the configured key (creating the project key if there is none).

    For a bundle you trust that has no signature (exported before signing existed, or elsewhere). Its
    checksums are verified first, so a damaged bundle is never signed. The key is the one that will
    check the bundle (:func:`rolefit.scoring.signing.key_for_export`; ``project``: that project's).
    """
    directory = Path(directory)
    _, manifest_bytes, _ = _verify(directory, None, signature=False)
    try:
        key = signing.key_for_export(directory, project=project, create_anywhere=True)
    except signing.SignatureError as exc:
        raise BundleError(str(exc)) from None
    assert key is not None  # create_anywhere yields a key or raises
    signing.write_signature(directory, key, manifest_bytes)  # the bytes whose checksums were verified
    return key


def load_additive(directory: str | Path) -> tuple[AdditiveModel, dict[str, Any]]:
    """Verify the bundle and return its lookup tables (checked for sense) and manifest."""
    additive, manifest, _ = load_trusted(directory)
    return additive, manifest


def load_trusted(
    directory: str | Path, *, project: str | Path | None = None
) -> tuple[AdditiveModel, dict[str, Any], signing.Verification]:
    """:func:`load_additive`, also returning how the bundle was verified (signature, package record, or
    checksums only: :class:`rolefit.scoring.signing.Verification`). ``project`` as for
    :func:`verify_bundle`."""
    directory = Path(directory)
    manifest, manifest_bytes, verification = _verify(directory, None, True, project)
    assert verification is not None  # the signature step ran
    where = f"the model bundle at {directory}"
    data = parse_json(read_verified(directory, SCORING, manifest), SCORING, where)
    data = with_new_choices(data, load_instrument(), manifest["instrument"]["version"])
    try:
        additive = AdditiveModel.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{SCORING} in {where} is malformed: {exc}. Refusing to load it.") from None
    problem = _instrument_problem(additive, load_instrument())
    if problem:
        raise BundleError(f"{SCORING} in {where} {problem}. Refusing to load it.")
    signing.say_unverified(directory, manifest_bytes, verification)  # once, and only for a loaded bundle
    return additive, manifest, verification


def load_fit(directory: str | Path, manifest: dict[str, Any], additive: AdditiveModel) -> FitModel:
    """The bundle's fit: ``fit.json`` checked against the manifest as read and for sense, or, for a bundle
    exported before the fit existed, the fit rebuilt from its tables (``additive``, the checked
    ``scoring.json``: :meth:`rolefit.model.uncertainty.FitModel.rebuilt`, which says so in
    ``rebuilt_from``)."""
    directory = Path(directory)
    where = f"the model bundle at {directory}"
    instrument = load_instrument()
    if manifest["files"].get(FIT) is None:
        return FitModel.rebuilt(additive, instrument, version=str(manifest.get("model_version", "")))
    data = parse_json(read_verified(directory, FIT, manifest), FIT, where)
    data = with_new_choices(data, instrument, manifest["instrument"]["version"])
    try:
        fit = FitModel.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleError(f"{FIT} in {where} is malformed: {exc}. Refusing to load it.") from None
    problem = _instrument_problem(fit.additive, instrument, instrument.fit_ids, "fit items")
    if problem:
        raise BundleError(f"{FIT} in {where} {problem}. Refusing to load it.")
    return fit


def with_new_choices(data: Any, instrument: Instrument, version: str) -> Any:
    """``scoring.json`` or ``fit.json`` data of a model built for the compatible instrument ``version``,
    with an effect of 0 (and, in the fit, an sd of 0) for every choice added since
    (:meth:`~rolefit.instrument.items.Instrument.new_choices`); the data unchanged for this version.

    Why 0: the model was trained before the choice existed, so it has no evidence about it; the answer
    tells it nothing, exactly as a skipped goal (the goal's effect is fixed: it scales no other answer).
    Retraining learns the choice's own effect. Anything but a JSON object is returned as it is, for the
    checks that follow to name.
    """
    data = _with_new_items(data, instrument, version)
    added = instrument.new_choices(version)
    if not added or not isinstance(data, dict):
        return data
    data = dict(data)
    for key in ("tables", "alone"):
        tables = data.get(key)
        if not isinstance(tables, dict):
            continue
        tables = data[key] = dict(tables)
        for item_id, choice_ids in added.items():
            table = tables.get(item_id)
            if isinstance(table, dict) and isinstance(table.get("choices"), dict):
                choices = {**table["choices"], **{c: 0.0 for c in choice_ids if c not in table["choices"]}}
                tables[item_id] = {**table, "choices": choices}
    uncertainty = data.get("uncertainty")
    if isinstance(uncertainty, dict):
        uncertainty = data["uncertainty"] = dict(uncertainty)
        for item_id, choice_ids in added.items():
            entry = uncertainty.get(item_id)
            if not isinstance(entry, dict):
                continue
            entry = uncertainty[item_id] = dict(entry)
            for key in ("sd", "sd_alone"):
                if isinstance(entry.get(key), dict):
                    entry[key] = {**entry[key], **{c: 0.0 for c in choice_ids if c not in entry[key]}}
    return data


def _with_new_items(data: Any, instrument: Instrument, version: str) -> Any:
    """``scoring.json`` data of a model built for an earlier compatible ``version``, with an effect of 0
    and a coverage weight of 0 for every item added since (1.3's tools questions): the model never saw
    them, so an answer to them tells it nothing and does not count as more of the questionnaire answered.
    ``fit.json`` is left as it is (the fit reads none of them)."""
    if (
        version == instrument.version
        or version not in {v for v, _ in instrument.compatible}
        or not isinstance(data, dict)
        or not isinstance(data.get("tables"), dict)
        or not isinstance(data.get("coverage"), dict)
        or "uncertainty" in data
    ):
        return data
    missing = [item for item in instrument.items if item.id not in data["tables"]]
    if not missing:
        return data
    data = dict(data)
    tables, coverage = dict(data["tables"]), dict(data["coverage"])
    for item in missing:
        zero = {"edges": [], "values": [0.0]}
        tables[item.id] = {"choices": dict.fromkeys(item.choice_ids, 0.0)} if item.kind == "choice" else zero
        coverage[item.id] = 0.0
    data["tables"], data["coverage"] = tables, coverage
    return data


def _instrument_problem(
    additive: AdditiveModel, instrument: Instrument, ids: tuple[str, ...] | None = None, what: str = "items"
) -> str | None:
    """Why the tables cannot score every answer the instrument allows to ``ids`` (None: all), or None."""
    ids = instrument.ids if ids is None else ids
    if set(additive.tables) != set(ids):
        return f"does not cover exactly the instrument's {what}"
    for item in (instrument[i] for i in ids):
        table = additive.tables[item.id]
        if item.kind == "choice":
            if set(table.choices) != set(item.choice_ids):
                return f"has a table for {item.id!r} whose choices are not the item's choices"
        elif table.choices:
            return f"has a choice table for the numeric item {item.id!r}"
        alone = additive.alone.get(item.id)
        if alone is not None and (set(alone.choices) != set(table.choices)):
            return f"has an answered-alone table for {item.id!r} that does not match its table"
    return None


def answer_distributions(directory: str | Path, manifest: dict[str, Any]):
    """The bundle's answer model (:class:`rolefit.data.distributions.AnswerDistributions`).

    ``manifest`` is the verified manifest the bundle was loaded with; the file is checked against it as
    read (:func:`read_verified`). A bundle without ``answers.json`` (exported before it existed) falls
    back to the marginal answer shares of its ``reference.json``, the same for both roles (``basis``
    ``reference``), or to uniform levels when that has none (``basis`` ``uniform``). Read on request,
    never by :func:`rolefit.predict`.
    """
    from rolefit.data.distributions import AnswerDistributions, from_reference

    directory = Path(directory)
    where = f"the model bundle at {directory}"
    if manifest["files"].get(ANSWERS) is not None:
        data = parse_json(read_verified(directory, ANSWERS, manifest), ANSWERS, where)
        try:
            return AnswerDistributions.from_dict(data, load_instrument())
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BundleError(f"{ANSWERS} in {where} is malformed: {exc}. Refusing to use it.") from None
    reference = None
    if (directory / REFERENCE).is_file():
        reference = parse_json(read_verified(directory, REFERENCE, manifest), REFERENCE, where)
    return from_reference(reference, load_instrument())
