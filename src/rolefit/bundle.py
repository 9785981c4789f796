"""Saving and loading the exported model bundle: a folder with a manifest and checksummed files.

Layout of a bundle folder::

    manifest.json   schema version, model version, instrument version and hash, training data hash
                    and row counts, metrics, library versions, and the sha256 of every other file
    scoring.json    the additive lookup tables (:class:`rolefit.explain.AdditiveModel`): all that
                    ``rolefit.predict`` needs
    model.skops     the full calibrated scikit-learn model, in skops format (no pickle), for
                    verification, MLflow and retraining tools
    reference.json  answer distributions of the training split, the reference of ``rolefit drift``

Loading checks the schema and instrument, then the sha256 of every listed file, and refuses the bundle
with :class:`BundleError` naming the cause. Nothing in a bundle is ever unpickled: ``scoring.json`` is
plain JSON and ``model.skops`` is loaded by skops with an explicit allow-list of types.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rolefit.explain import AdditiveModel
from rolefit.questionnaire import Instrument, load_instrument

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SCORING = "scoring.json"
ESTIMATOR = "model.skops"
REFERENCE = "reference.json"
REQUIRED_FILES = (SCORING, ESTIMATOR, REFERENCE)


class BundleError(RuntimeError):
    """The model bundle is missing, malformed, tampered with, or built for another instrument."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
) -> Path:
    """Write a bundle atomically: build it in a temporary folder beside ``directory``, then swap it in.

    ``manifest`` holds the caller's facts (metrics, data hashes, row counts, candidate, ...); this
    function adds schema, instrument, versions, checksums and the model version.
    """
    import skops.io

    instrument = instrument or load_instrument()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    staging.chmod(0o755)
    try:
        scoring_text = json.dumps(additive.to_dict(), indent=1, sort_keys=True)
        (staging / SCORING).write_text(scoring_text, encoding="utf-8")
        skops.io.dump(estimator, staging / ESTIMATOR)
        (staging / REFERENCE).write_text(
            json.dumps(reference or {}, indent=1, sort_keys=True), encoding="utf-8"
        )
        files = {name: sha256_file(staging / name) for name in REQUIRED_FILES}
        created = datetime.now(UTC)
        full = {
            "schema_version": SCHEMA_VERSION,
            "model_version": f"{created:%Y%m%d.%H%M%S}-{files[SCORING][:8]}",
            "created_at": created.isoformat(timespec="seconds"),
            "instrument": {"version": instrument.version, "sha256": instrument.sha256},
            "libraries": library_versions(),
            **manifest,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True), encoding="utf-8")
        _swap_in(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def _swap_in(staging: Path, directory: Path) -> None:
    """Replace ``directory`` by the complete ``staging`` folder (the old one is removed afterwards)."""
    backup = None
    if directory.exists():
        backup = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        directory.rename(backup)
    staging.rename(directory)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Parse and sanity-check ``manifest.json`` (no checksum verification)."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BundleError(f"No model bundle at {directory}: the folder does not exist.")
    if not path.is_file():
        raise BundleError(f"The model bundle at {directory} has no {MANIFEST}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); the bundle is corrupt.") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path} is not a JSON object; the bundle is corrupt.")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"{path} has schema version {manifest.get('schema_version')!r}; "
            f"this rolefit reads version {SCHEMA_VERSION}."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(REQUIRED_FILES):
        raise BundleError(f"{path} must list checksums for exactly {', '.join(REQUIRED_FILES)}.")
    return manifest


def verify_bundle(directory: str | Path, instrument: Instrument | None = None) -> dict[str, Any]:
    """Check instrument and every file's sha256; return the manifest or raise :class:`BundleError`."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    instrument = instrument or load_instrument()
    built_for = manifest.get("instrument", {})
    if built_for.get("sha256") != instrument.sha256 or built_for.get("version") != instrument.version:
        raise BundleError(
            f"The model bundle at {directory} was built for instrument version "
            f"{built_for.get('version')!r} (sha256 {str(built_for.get('sha256'))[:12]}...), but this "
            f"rolefit uses version {instrument.version!r} (sha256 {instrument.sha256[:12]}...); retrain it."
        )
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise BundleError(f"The model bundle at {directory} is missing {name}.")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(
                f"{name} in the model bundle at {directory} does not match its checksum "
                f"(expected sha256 {expected[:12]}..., found {actual[:12]}...): the file was changed "
                "after export. Refusing to load it."
            )
    return manifest


def load_additive(directory: str | Path) -> tuple[AdditiveModel, dict[str, Any]]:
    """Verify the bundle and return its lookup tables and manifest."""
    directory = Path(directory)
    manifest = verify_bundle(directory)
    try:
        data = json.loads((directory / SCORING).read_text(encoding="utf-8"))
        additive = AdditiveModel.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{SCORING} in the model bundle at {directory} is malformed: {exc}") from None
    instrument = load_instrument()
    if set(additive.tables) != set(instrument.ids):
        raise BundleError(
            f"{SCORING} in the model bundle at {directory} does not cover exactly the instrument's items."
        )
    return additive, manifest


#: Types the full estimator may contain; anything else in a ``model.skops`` file is refused.
TRUSTED_TYPES = (
    "rolefit.evidence.RealEvidenceBlock",
    "rolefit.features.Column",
    "rolefit.features.NumericEncoder",
    "rolefit.features.ThermometerEncoder",
    "rolefit.models.CoverageCalibratedClassifier",
    "rolefit.models.MonotoneLogisticRegression",
)


def load_estimator(directory: str | Path):
    """Verify the bundle and load the full calibrated scikit-learn model with skops (no pickle)."""
    import skops.io

    directory = Path(directory)
    verify_bundle(directory)
    path = directory / ESTIMATOR
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a pickle or any other non-skops content: refuse, never unpickle
        raise BundleError(
            f"{ESTIMATOR} in the model bundle at {directory} is not a valid skops file "
            f"({type(exc).__name__}); refusing to load it."
        ) from None
    allowed_prefixes = ("sklearn.", "numpy.", "builtins.", "scipy.")
    refused = [t for t in untrusted if t not in TRUSTED_TYPES and not t.startswith(allowed_prefixes)]
    if refused:
        raise BundleError(
            f"{ESTIMATOR} in the model bundle at {directory} contains types rolefit does not trust: "
            + ", ".join(refused)
        )
    return skops.io.load(path, trusted=untrusted)


def publish_bundle(source: str | Path, destination: str | Path) -> Path:
    """Copy a verified bundle to ``destination``, replacing what is there only once the copy is whole."""
    source, destination = Path(source), Path(destination)
    verify_bundle(source)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        staging.rmdir()
        shutil.copytree(source, staging)
        staging.chmod(0o755)
        verify_bundle(staging)
        _swap_in(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination
