"""The full estimator in ``model.skops``: loaded only when every type in it is trusted.

Before skops builds a single object, the whole schema is walked and every type it would build or call
must be on :data:`ESTIMATOR_TYPES` with the node kind it is stored as; skops' own audit is a second
opinion. Scoring never needs this file (it reads the tables in ``scoring.json``); evaluation, the
MLflow model and tests that compare the tables with the full model do.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from rolefit.scoring.bundle import (
    ESTIMATOR,
    BundleError,
    parse_json,
    read_verified,
    verify_bundle,
)

_MB = 1024 * 1024
#: Bounds of the zip archive inside ``model.skops`` (real: 57 / 783 members, 1.5 MB / 1.6 MB unpacked,
#: a schema of 1.5 / 1.3 MB), so that a small file cannot unpack into gigabytes.
MAX_SKOPS_MEMBERS = 100_000
MAX_SKOPS_UNPACKED = 1024 * _MB
MAX_SKOPS_SCHEMA = 128 * _MB
#: Nesting of a skops schema (real: 27 / 22); skops walks it recursively.
MAX_SKOPS_DEPTH = 200

#: The exact types a rolefit ``model.skops`` may hold, each with the skops node kinds it may be stored
#: as; anything else is refused before skops builds a single object. Measured with
#: ``skops.io.get_untrusted_types`` and a walk of the schema on real bundles of both candidates (the
#: logistic one trained with the real surveys, the boosting one on synthetic data); the real-evidence
#: block adds only rolefit's own class. No function, no ``builtins`` callable beyond the container
#: types, no prefix: a new type in a future model has to be added here by name, with a test.
ESTIMATOR_TYPES: dict[str, frozenset[str]] = {
    # containers and JSON values (a JsonNode holds any JSON value; a TypeNode is a dict's key type)
    "builtins.dict": frozenset({"DictNode"}),
    "builtins.list": frozenset({"ListNode"}),
    "builtins.tuple": frozenset({"TupleNode"}),
    "builtins.str": frozenset({"JsonNode", "TypeNode"}),
    # numpy: arrays (read with allow_pickle=False), a scalar, the boosting's random generator
    "numpy.ndarray": frozenset({"NdArrayNode"}),
    "numpy.uint64": frozenset({"NdArrayNode"}),
    "numpy.random._generator.Generator": frozenset({"RandomGeneratorNode"}),
    "numpy.random.PCG64": frozenset({"bit generator"}),
    # rolefit's estimator classes
    "rolefit.model.calibration.CoverageCalibratedClassifier": frozenset({"ObjectNode"}),
    "rolefit.model.estimators.MonotoneLogisticRegression": frozenset({"ObjectNode"}),
    "rolefit.model.evidence.RealEvidenceBlock": frozenset({"ObjectNode"}),
    "rolefit.model.pooled.PooledEstimator": frozenset({"ObjectNode"}),
    # the boosted experience block, when it wins (rolefit.model.boosted), and its levels per item
    "rolefit.model.boosted.BoostedEvidenceBlock": frozenset({"ObjectNode"}),
    "rolefit.model.boosted.Levels": frozenset({"ObjectNode"}),
    "rolefit.model.features.Column": frozenset({"ObjectNode"}),
    "rolefit.model.features.NumericEncoder": frozenset({"ObjectNode"}),
    "rolefit.model.features.ThermometerEncoder": frozenset({"ObjectNode"}),
    # the scikit-learn classes the two candidates are made of
    "sklearn.pipeline.Pipeline": frozenset({"ObjectNode"}),
    "sklearn.preprocessing._label.LabelEncoder": frozenset({"ObjectNode"}),
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier": (
        frozenset({"ObjectNode"})
    ),
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper": frozenset({"ObjectNode"}),
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": frozenset({"ObjectNode"}),
    "sklearn._loss.loss.HalfBinomialLoss": frozenset({"ObjectNode"}),
    "sklearn._loss.link.LogitLink": frozenset({"ObjectNode"}),
    "sklearn._loss.link.Interval": frozenset({"ObjectNode"}),
    "sklearn._loss._loss.CyHalfBinomialLoss": frozenset({"LossNode"}),
}


def _bit_generator(node: dict[str, Any]) -> str:
    """The bit generator a RandomGeneratorNode names in its state (skops calls it by that name)."""
    try:
        name = json.loads(node["content"]["bit_generator"]["content"]["bit_generator"]["content"])
    except (KeyError, TypeError, ValueError):
        return "numpy.random.<unreadable>"
    return f"numpy.random.{name}" if isinstance(name, str) else "numpy.random.<unreadable>"


def skops_types(schema: Any) -> dict[str, set[str]]:
    """Every type a skops schema would build or call, with the node kinds it appears as.

    Walks the whole JSON (iteratively), not only where skops would look, so a node hidden anywhere
    counts; a node without a readable type is reported under a name no allow-list contains.
    """
    found: dict[str, set[str]] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        loader = node.get("__loader__")
        if loader is None:
            continue
        module, name = node.get("__module__"), node.get("__class__")
        if not isinstance(module, str) or not isinstance(name, str):
            module, name = "<unreadable>", repr(name)[:60]
        found.setdefault(f"{module}.{name}", set()).add(str(loader)[:60])
        if loader == "RandomGeneratorNode":
            found.setdefault(_bit_generator(node), set()).add("bit generator")
    return found


def _skops_schema(data: bytes, where: str) -> Any:
    """The parsed ``schema.json`` of a skops file, with the archive's sizes bounded first."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            unpacked = sum(member.file_size for member in members)
            if len(members) > MAX_SKOPS_MEMBERS or unpacked > MAX_SKOPS_UNPACKED:
                raise BundleError(
                    f"{ESTIMATOR} in {where} holds {len(members)} files of {unpacked / _MB:.0f} MB "
                    "unpacked, far more than any rolefit model; refusing to load it."
                )
            info = archive.getinfo("schema.json")
            if info.file_size > MAX_SKOPS_SCHEMA:
                raise BundleError(f"The skops schema of {ESTIMATOR} in {where} is too large; refusing it.")
            raw = archive.read(info)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        # a pickle or any other non-skops content: refuse, never unpickle
        raise BundleError(
            f"{ESTIMATOR} in {where} is not a valid skops file ({type(exc).__name__}); refusing to load it."
        ) from None
    return parse_json(raw, f"The skops schema of {ESTIMATOR}", where, MAX_SKOPS_DEPTH)


#: Estimator classes that moved when rolefit's flat modules became subpackages (class layout 1 -> 2;
#: bundles exported up to commit c125c2a name the old paths). :func:`load_estimator` reads them under
#: their new paths; nothing else changed, and scoring never reads model.skops (its tables name no class).
RENAMED_CLASSES = {
    "rolefit.evidence.RealEvidenceBlock": "rolefit.model.evidence.RealEvidenceBlock",
    "rolefit.features.Column": "rolefit.model.features.Column",
    "rolefit.features.NumericEncoder": "rolefit.model.features.NumericEncoder",
    "rolefit.features.ThermometerEncoder": "rolefit.model.features.ThermometerEncoder",
    "rolefit.models.CoverageCalibratedClassifier": "rolefit.model.calibration.CoverageCalibratedClassifier",
    "rolefit.models.MonotoneLogisticRegression": "rolefit.model.estimators.MonotoneLogisticRegression",
}


def migrate_classes(data: bytes, schema: Any) -> tuple[bytes, Any, int]:
    """The skops file with every class of :data:`RENAMED_CLASSES` under its new path.

    Returns the (possibly rewritten) bytes, the schema and how many nodes were renamed; with none, the
    original bytes. Only exact old names are rewritten, each to exactly one allowed name, so the
    allow-list check that follows sees the same types a current bundle holds.
    """
    renamed = 0
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module, name = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(name, str):
                new = RENAMED_CLASSES.get(f"{module}.{name}")
                if new is not None:
                    node["__module__"] = new.rsplit(".", 1)[0]
                    renamed += 1
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    if not renamed:
        return data, schema, 0
    out = io.BytesIO()
    # member sizes were bounded by _skops_schema before this reads them
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = json.dumps(schema).encode() if info.filename == "schema.json" else source.read(info)
            target.writestr(info, content)
    return out.getvalue(), schema, renamed


def load_estimator(directory: str | Path):
    """Verify the bundle and load the full calibrated scikit-learn model with skops (no pickle).

    Only after every type in the file is found on :data:`ESTIMATOR_TYPES` (with the node kind it is
    stored as) does skops build anything, and then from the very bytes that were checked. Bundles from
    before the subpackages name their classes by old paths: :func:`migrate_classes` renames them first.
    """
    import skops.io

    directory = Path(directory)
    where = f"the model bundle at {directory}"
    manifest = verify_bundle(directory)
    if manifest["files"].get(ESTIMATOR) is None:
        raise BundleError(
            f"The model bundle at {directory} is scoring-only (the model packaged with rolefit): it scores "
            f"and explains, but holds no {ESTIMATOR}. Load the full estimator from the project's published "
            "champion (models/champion) or the MLflow registry instead."
        )
    data = read_verified(directory, ESTIMATOR, manifest)
    data, schema, _ = migrate_classes(data, _skops_schema(data, where))
    found = skops_types(schema)
    refused = sorted(
        f"{name} (as {', '.join(sorted(kinds))})"
        for name, kinds in found.items()
        if not kinds <= ESTIMATOR_TYPES.get(name, frozenset())
    )
    if not refused:
        # skops' own audit as a second opinion: it also names what its nodes would call by name
        try:
            declared = skops.io.get_untrusted_types(data=data)
        except Exception as exc:  # malformed in a way skops notices: refuse, never guess
            raise BundleError(
                f"{ESTIMATOR} in {where} is not a valid skops file ({type(exc).__name__}); "
                "refusing to load it."
            ) from None
        refused = sorted(name for name in declared if name not in ESTIMATOR_TYPES)
    if refused:
        raise BundleError(
            f"{ESTIMATOR} in {where} contains types rolefit does not trust: {', '.join(refused[:10])}"
            + (f" (and {len(refused) - 10} more)" if len(refused) > 10 else "")
            + ". Refusing to load it."
        )
    try:
        return skops.io.loads(data, trusted=sorted(found))
    except Exception as exc:  # every type was allowed, yet the content does not load: still refused
        raise BundleError(
            f"{ESTIMATOR} in {where} could not be loaded ({type(exc).__name__}: {str(exc)[:200]})."
        ) from None
