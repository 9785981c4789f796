"""The published champion folder: always whole, never a mix of two versions, crash-safe at every step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from rolefit.scoring import champion as published
from rolefit.scoring.bundle import MANIFEST, BundleError, load_additive
from tests.bundles import make_variants


@pytest.fixture(scope="module")
def variants(champion, tmp_path_factory):
    return make_variants(champion[1], tmp_path_factory.mktemp("variants"), 4)


def test_publish_makes_a_versioned_folder_with_one_pointer(variants, tmp_path):
    folders, intercepts = variants
    target = tmp_path / "champion"
    first = published.publish(folders[0], target)
    assert published.resolve(target) == target / "versions" / first
    additive, manifest = load_additive(published.resolve(target))
    assert manifest["model_version"] == first and additive.intercept == intercepts[first]
    for folder in folders[1:]:
        published.publish(folder, target)
    kept = sorted(p.name for p in (target / "versions").iterdir())
    assert len(kept) == published.KEEP and published.state(target).bundle in kept
    assert not any(p.name.startswith(".") for p in target.rglob("*")), "no temporary leftovers"


def test_a_bundle_folder_of_the_earlier_layout_is_read_and_converted(variants, tmp_path):
    import shutil

    folders, _ = variants
    target = tmp_path / "champion"
    shutil.copytree(folders[0], target)  # the layout before versions: the bundle itself
    assert published.resolve(target) == target
    version = published.publish(folders[1], target)
    assert not (target / MANIFEST).exists(), "the old top-level bundle is removed once CURRENT exists"
    assert load_additive(published.resolve(target))[1]["model_version"] == version


def test_eight_readers_during_twenty_publishes_never_see_a_mixed_or_missing_bundle(champion, tmp_path):
    from rolefit.scoring.loader import clear_cache, load_model

    folders, intercepts = make_variants(champion[1], tmp_path / "variants", 20)
    target = tmp_path / "champion"
    published.publish(folders[0], target)
    done = threading.Event()
    seen: list[tuple[str, float]] = []
    errors: list[BaseException] = []

    def read():
        while not done.is_set():
            try:
                clear_cache()  # every call a fresh load: resolve, verify checksums, read
                model = load_model(target)
                seen.append((model.manifest["model_version"], model.additive.intercept))
            except BaseException as exc:
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(8)]
    for thread in readers:
        thread.start()
    try:
        for folder in folders[1:] + folders[:1]:
            published.publish(folder, target)
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert not errors, f"{len(errors)} failed loads, e.g. {errors[0]!r}"
    assert len(seen) > 20
    mixed = [(v, i) for v, i in seen if intercepts[v] != i]
    assert not mixed, f"{len(mixed)} loads paired one version's manifest with another's tables"
    assert len({v for v, _ in seen}) > 1, "the readers ran while versions changed"


CRASH_SCRIPT = """
import sys
from rolefit.scoring import champion
champion.publish(sys.argv[1], sys.argv[2])
"""


@pytest.mark.parametrize(
    "step", ["publish.copied", "publish.staged", "publish.switched"], ids=lambda s: s.split(".")[1]
)
def test_a_crash_at_each_step_leaves_a_whole_champion(variants, tmp_path, step):
    folders, intercepts = variants
    target = tmp_path / "champion"
    before = published.publish(folders[0], target)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(folders[1]), str(target)],
        env={**os.environ, published.FAILPOINT_ENV: step},
        capture_output=True,
        text=True,
    )
    assert crashed.returncode == published.FAILPOINT_EXIT, crashed.stderr
    additive, manifest = load_additive(published.resolve(target))  # whole, verified
    expected = json.loads((folders[1] / MANIFEST).read_text())["model_version"]
    assert manifest["model_version"] == (expected if step == "publish.switched" else before)
    assert additive.intercept == intercepts[manifest["model_version"]]
    # the next publish cleans what the crash left and succeeds
    again = published.publish(folders[2], target)
    assert published.resolve(target).name == again
    assert not [p for p in target.rglob("*") if p.name.startswith(".")], "a temporary folder was left"


def test_a_damaged_pointer_is_a_bundle_error_naming_the_file(variants, tmp_path):
    target = tmp_path / "champion"
    published.publish(variants[0][0], target)
    (target / published.POINTER).write_text('{"bundle": "../../etc"}')
    with pytest.raises(BundleError, match="CURRENT names no valid bundle version"):
        published.resolve(target)
    (target / published.POINTER).write_text("{not json")
    with pytest.raises(BundleError, match="CURRENT cannot be read"):
        published.resolve(target)
