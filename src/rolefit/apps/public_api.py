"""The public API an app can rely on, in one place: ``public-api.json`` at the project root.

It lists what ``rolefit.__all__`` exports (with each function's signature), the fields of ``Prediction``
and of the model information every output carries, the keys of ``Prediction.to_dict()``, the REST API's
paths and schemas (field names, and which are required), and the instrument's item ids with their kinds
and allowed answers. ``tests/unit/test_public_api.py`` compares the committed file with the code: a change
to any of these fails until the file is regenerated and the change is recorded in ``CHANGELOG.md``.

Regenerate: ``python -m rolefit.apps.public_api --write`` (needs ``rolefit[serve]`` for the REST part).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from pathlib import Path
from typing import Any

#: Where the listing is committed, relative to the project root.
FILE = "public-api.json"


def _exports() -> dict[str, str]:
    import rolefit

    out = {}
    for name in sorted(rolefit.__all__):
        value = getattr(rolefit, name)
        if inspect.isclass(value):
            bases = ", ".join(base.__name__ for base in value.__bases__)
            out[name] = f"class {name}({bases})"
        else:
            out[name] = f"def {name}{inspect.signature(value)}"
    return out


def _fields(cls: type) -> list[str]:
    return [f"{f.name}: {f.type}" for f in dataclasses.fields(cls) if not f.name.startswith("_")]


def _rest(model: Path) -> dict[str, Any]:
    from rolefit.apps.web import create_app

    schema = create_app(str(model)).openapi()
    paths = {path: sorted(ops) for path, ops in sorted(schema["paths"].items())}
    schemas = {}
    for name, body in sorted(schema.get("components", {}).get("schemas", {}).items()):
        entry: dict[str, Any] = {"properties": sorted(body.get("properties", {}))}
        if body.get("required"):
            entry["required"] = sorted(body["required"])
        if body.get("enum"):
            entry["enum"] = sorted(map(str, body["enum"]))
        schemas[name] = entry
    return {"paths": paths, "schemas": schemas}


def _instrument() -> dict[str, Any]:
    from rolefit.instrument.items import load_instrument

    instrument = load_instrument()
    items = {item.id: f"{item.kind}: {item.allowed()}" for item in instrument.items}
    return {"version": instrument.version, "items": items}


def describe() -> dict[str, Any]:
    """The public API as plain data (what ``public-api.json`` holds)."""
    import rolefit
    from rolefit.scoring.loader import ModelInfo
    from rolefit.scoring.packaged import folder
    from rolefit.scoring.predictor import AllAnswers, Prediction

    prediction = rolefit.predict({}, model=folder())
    return {
        "rolefit": _exports(),
        "Prediction": _fields(Prediction),
        "AllAnswers": _fields(AllAnswers),
        "ModelInfo": _fields(ModelInfo),
        "Prediction.to_dict": sorted(prediction.to_dict()),
        "Prediction.to_dict.model": sorted(prediction.to_dict()["model"]),
        "rest": _rest(folder()),
        "instrument": _instrument(),
    }


def render() -> str:
    return json.dumps(describe(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FOLDER", nargs="?", const=".", help=f"write {FILE} into FOLDER")
    args = parser.parse_args(argv)
    text = render()
    if args.write is None:
        sys.stdout.write(text)
    else:
        (Path(args.write) / FILE).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
