"""Real bundles for tests that need several versions of a model."""

from __future__ import annotations

import json

from rolefit.scoring.bundle import MANIFEST

GENERATED = ("schema_version", "model_version", "created_at", "instrument", "libraries", "files", "signature")


def make_variants(source, base, count):
    """``count`` real bundles differing from ``source`` in their intercept, and {model_version: intercept}."""
    from rolefit.model.tables import AdditiveModel
    from rolefit.scoring.bundle import save_bundle
    from rolefit.scoring.trusted import load_estimator

    estimator = load_estimator(source)
    manifest = json.loads((source / MANIFEST).read_text())
    facts = {k: v for k, v in manifest.items() if k not in GENERATED}
    scoring = json.loads((source / "scoring.json").read_text())
    folders, intercepts = [], {}
    for i in range(count):
        data = {**scoring, "intercept": scoring["intercept"] + 0.001 * (i + 1)}
        folder = save_bundle(
            base / f"variant-{i}", additive=AdditiveModel.from_dict(data), estimator=estimator, manifest=facts
        )
        version = json.loads((folder / MANIFEST).read_text())["model_version"]
        intercepts[version] = data["intercept"]
        folders.append(folder)
    return folders, intercepts


def rebuilt(source, folder, *, intercept_shift=0.0, instrument=None):
    """A real bundle at ``folder``: ``source``'s model with its intercept moved by ``intercept_shift``
    (log-odds toward MLE for everyone), optionally recorded as built for another ``instrument``."""
    from rolefit.model.tables import AdditiveModel
    from rolefit.scoring.bundle import save_bundle
    from rolefit.scoring.trusted import load_estimator

    manifest = json.loads((source / MANIFEST).read_text())
    facts = {k: v for k, v in manifest.items() if k not in GENERATED}
    scoring = json.loads((source / "scoring.json").read_text())
    data = {**scoring, "intercept": scoring["intercept"] + intercept_shift}
    return save_bundle(
        folder,
        additive=AdditiveModel.from_dict(data),
        estimator=load_estimator(source),
        manifest=facts,
        instrument=instrument,
    )


def negate_effects(bundle):
    """Turn every effect of ``bundle`` around and rewrite its checksum, as anyone who can edit the files can.

    Every item's table (and answered-alone table) and offset of the all-answers model (scoring.json) and
    of the fit (fit.json) changes sign, so a clear software engineer comes out a clear ML engineer; the
    manifest gets the new checksums, so only a signature (which covers the manifest) can tell. Returns
    the bundle folder.
    """
    import hashlib

    def turned(table):
        if "choices" in table:
            return {"choices": {k: -v for k, v in table["choices"].items()}}
        return {**table, "values": [-v for v in table["values"]]}

    manifest = json.loads((bundle / MANIFEST).read_text())
    for name in ("scoring.json", "fit.json"):  # the all-answers model and the fit (the headline)
        path = bundle / name
        if not path.exists():
            continue
        model = json.loads(path.read_text())
        model["tables"] = {item: turned(table) for item, table in model["tables"].items()}
        model["alone"] = {item: turned(table) for item, table in model.get("alone", {}).items()}
        model["offsets"] = {item: -v for item, v in model.get("offsets", {}).items()}
        path.write_text(json.dumps(model, indent=1, sort_keys=True))
        manifest["files"][name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return bundle
