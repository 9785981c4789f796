"""A derived bundle: a verified parent bundle with new all-answers lookup tables (``rolefit recalibrate``).

Everything but ``scoring.json`` is the parent's: the fit (``fit.json``, always written, so that a parent
without one keeps the fit rebuilt from *its* tables, not from the new ones), the answer model, the
reference answers, readiness and ``model.skops`` (copied byte for byte: the full estimator is the
parent's, and the manifest says how the new tables relate to it). The manifest names the parent (its model
version and the sha256 of its manifest and scoring tables, and how it was verified) and whatever the
caller records (the sample, the fit, the before/after report).

Signing follows every export (:func:`rolefit.scoring.bundle.save_bundle`): the derived bundle is signed
with the key that will check it when one is configured for its folder (the deployment's key, or its
project's), and is otherwise unsigned, which :attr:`Derived.signed_by` says. It is never signed with the
parent's signature, which vouched for other tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rolefit.atomic import sha256_file
from rolefit.model.tables import AdditiveModel
from rolefit.scoring.bundle import (
    ANSWERS,
    ESTIMATOR,
    MANIFEST,
    READINESS,
    REFERENCE,
    SCORING,
    SIGNATURE,
    BundleError,
    parse_json,
    read_verified,
    save_bundle,
)
from rolefit.scoring.loader import LoadedModel

#: Parent manifest fields the derived manifest keeps as they were (facts about how the parent was made).
KEPT_FIELDS = ("candidate", "calibration", "selection", "training_data", "real_evidence", "max_table_error",
               "fit", "params")  # fmt: skip


@dataclass(frozen=True)
class Derived:
    """Where the derived bundle was written, its manifest, and how it is signed (None: unsigned)."""

    path: Path
    manifest: dict[str, Any]
    signed_by: str | None


def parent_record(parent: LoadedModel) -> dict[str, Any]:
    """How a derived bundle names its parent: version, checksums, folder, and how it was verified."""
    return {
        "model_version": parent.version,
        "manifest_sha256": sha256_file(parent.path / MANIFEST),
        "scoring_sha256": parent.manifest["files"][SCORING],
        "path": str(parent.path),
        "verified": parent.info.verified,
        "verified_by": parent.info.verified_by,
    }


def write_derived(
    parent: LoadedModel,
    directory: str | Path,
    additive: AdditiveModel,
    manifest: dict[str, Any],
    *,
    project: str | Path | None = None,
) -> Derived:
    """Write ``parent`` with ``additive`` as its all-answers tables into ``directory`` (atomically).

    ``manifest`` holds the caller's facts (e.g. ``recalibration``, ``sample``, ``metrics``); the parent's
    record (:func:`parent_record`) is added under ``parent``. Every parent file is read back checked
    against the parent's verified manifest, so a file changed since the parent was loaded is refused.
    """
    directory = Path(directory)
    source, files = parent.path, parent.manifest["files"]
    where = f"the model bundle at {source}"

    def json_file(name: str) -> Any:
        if files.get(name) is None:
            return None
        return parse_json(read_verified(source, name, parent.manifest), name, where)

    if files.get(ESTIMATOR) is None:
        raise BundleError(
            f"The model bundle at {source} is scoring-only (the model packaged with rolefit): it has no "
            f"{ESTIMATOR} to carry into a derived bundle. Derive from the project's published champion."
        )
    kept = {key: parent.manifest[key] for key in KEPT_FIELDS if key in parent.manifest}
    full = {**kept, **manifest, "parent": parent_record(parent)}
    save_bundle(
        directory,
        additive=additive,
        estimator=read_verified(source, ESTIMATOR, parent.manifest),
        manifest=full,
        reference=json_file(REFERENCE),
        answers=json_file(ANSWERS),
        project=project,
        fit=parent.fit,
        readiness=json_file(READINESS),
    )
    signed_by = None
    signature = directory / SIGNATURE
    if signature.is_file():
        signed_by = f"signature (key id {json.loads(signature.read_text(encoding='utf-8'))['key_id']})"
    written = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return Derived(path=directory, manifest=written, signed_by=signed_by)
