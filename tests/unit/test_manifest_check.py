"""The hand-written manifest check (``bundle._manifest_fits``, which keeps pydantic off the predict path)
accepts and refuses exactly what the pydantic schema (``manifest_schema.Manifest``) does."""

import copy
import json
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from rolefit.scoring.bundle import _manifest_fits
from rolefit.scoring.manifest_schema import Manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FILES = {"scoring.json", "model.skops", "reference.json"}
OPTIONAL = {"answers.json", "fit.json", "readiness.json"}
#: Values that test the types and bounds: numbers that are bools, floats or out of range, strings at and
#: past their lengths, hex that is not lower-case or not 64 long, lone surrogates, containers of them.
ODD = [
    None, True, False, 0, 1, -1, 2, 1.0, 0.5, -0.0, float("nan"), float("inf"), 10**400, 2**63,
    "", "x", "1", "a" * 64, "A" * 64, "a" * 63, "a" * 65, "a" * 64 + "\n", "0" * 63 + "\u212a", "\ud800",
    "ok\udfff", "\U0001f600" * 200, "\U0001f600" * 201, "x" * 200, "x" * 201, "a\x00b", [], [1], ["x"],
    ["\ud800"], [""], {}, {"a": 1}, {"a": "b"}, {"": 1}, {"a": None}, {"a": {"b": 1.5}}, {"total": 3},
    {"total": 3, "by_source": {"s": 1}}, {"total": -1}, {"total": True},
    {"sha256": "a" * 64, "rows": {"total": 0}},
    {"training_sources": ["a"]}, {"version": "1", "sha256": "b" * 64},
]  # fmt: skip


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def mutate(manifest, rng):
    """One to three random edits: a value replaced, a key deleted or an odd key added."""
    out = copy.deepcopy(manifest)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        path = rng.choice([p for p in paths(out) if p])
        parent = out
        for part in path[:-1]:
            parent = parent[part]
        r = rng.random()
        if r < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif r < 0.25 and isinstance(parent, dict):
            parent[
                rng.choice(
                    [
                        "extra",
                        "",
                        "by_source",
                        "answers.json",
                        "fit.json",
                        "readiness.json",
                        "scoring",
                        "x" * 201,
                    ]
                )
            ] = rng.choice(ODD)
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD))
    return out


def schema_accepts(manifest) -> bool:
    try:
        Manifest.model_validate(manifest)
    except ValidationError:
        return False
    return True


@pytest.fixture(scope="module")
def manifests(champion):
    return [
        json.loads((champion[1] / "manifest.json").read_text()),
        json.loads((FIXTURES / "bundle-before-restructure" / "manifest.json").read_text()),
    ]


def test_real_manifests_fit_both(manifests):
    for manifest in manifests:
        assert schema_accepts(manifest) and _manifest_fits(manifest)


def test_the_check_agrees_with_the_schema_on_random_edits(manifests):
    rng = random.Random(7)
    verdicts = {True: 0, False: 0}
    for _ in range(4000):
        manifest = mutate(rng.choice(manifests), rng)
        # what _parse_manifest checks before the schema: the version and exactly the bundle's files
        files = manifest.get("files")
        if type(manifest.get("schema_version")) is not int or manifest.get("schema_version") != 1:
            continue
        if not isinstance(files, dict) or not FILES <= set(files) <= FILES | OPTIONAL:
            continue
        expected = schema_accepts(manifest)
        assert _manifest_fits(manifest) == expected, manifest
        verdicts[expected] += 1
    assert verdicts[True] > 100 and verdicts[False] > 500, verdicts  # both kinds were really tried
