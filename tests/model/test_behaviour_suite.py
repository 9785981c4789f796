"""The behaviour suite (minimum functionality, directional, invariance) on the shipped champion."""

from collections import Counter

import pytest

import rolefit
from rolefit.evaluation.behaviour import behaviour_cases

CASES = behaviour_cases()


def test_suite_is_broad():
    kinds = Counter(kind for kind, _, _ in CASES)
    assert len(CASES) >= 30
    assert set(kinds) == {"minimum", "directional", "invariance"} and min(kinds.values()) >= 5


@pytest.mark.parametrize(("kind", "name", "check"), CASES, ids=[f"{k}: {n}" for k, n, _ in CASES])
def test_case_passes_on_the_champion(kind, name, check, champion, use_model):
    use_model(champion[1])
    assert check(rolefit.predict) is None


def test_a_broken_model_fails_the_suite(champion, tmp_path, use_model):
    """The suite can fail: flip every table's sign and the directional cases must catch it."""
    import json
    import shutil

    from rolefit.atomic import sha256_file
    from rolefit.scoring.bundle import MANIFEST, SCORING, sign_bundle

    bundle = tmp_path / "flipped"
    shutil.copytree(champion[1], bundle)
    scoring = json.loads((bundle / SCORING).read_text())
    for table in scoring["tables"].values():
        if "values" in table:
            table["values"] = [-v for v in table["values"]]
        else:
            table["choices"] = {k: -v for k, v in table["choices"].items()}
    (bundle / SCORING).write_text(json.dumps(scoring))
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][SCORING] = sha256_file(bundle / SCORING)
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    sign_bundle(bundle)  # a broken model that passes every integrity check: only behaviour catches it
    use_model(bundle)
    failures = [name for kind, name, check in CASES if check(rolefit.predict) is not None]
    assert len(failures) >= 30
