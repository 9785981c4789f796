"""The published champion folder: always whole, never a mix of two versions, crash-safe at every step."""

from __future__ import annotations

import json
import os
import re
import shutil
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


# ---------------------------------------------------------------------------------------------------
# publishing copies a bundle's own files, never what a link points to


def listed(bundle) -> set[str]:
    """What a bundle is: its manifest, the files the manifest lists, and its signature."""
    manifest = json.loads((bundle / MANIFEST).read_text())
    return {MANIFEST, "signature.json", *manifest["files"]}


def test_publishing_copies_only_the_listed_files_and_never_what_a_link_points_to(variants, tmp_path):
    folders, _ = variants
    secret = tmp_path / "project" / ".rolefit" / "signing.key"
    secret.parent.mkdir(parents=True)
    secret.write_text("THE-PROJECT-SIGNING-KEY-0123456789abcdef")
    bundle = tmp_path / "bundle"
    shutil.copytree(folders[0], bundle)
    (bundle / "key").symlink_to(secret)  # planted beside the bundle's files
    (bundle / "notes.txt").write_text("not part of the bundle")
    target = tmp_path / "champion"
    version = published.publish(bundle, target)
    copied = target / "versions" / version
    assert {p.name for p in copied.iterdir()} == listed(folders[0])
    leaked = [p for p in target.rglob("*") if p.is_file() and b"THE-PROJECT-SIGNING-KEY" in p.read_bytes()]
    assert not leaked
    assert not [p for p in target.rglob("*") if p.is_symlink()]


def test_a_listed_file_that_is_a_link_is_refused(variants, tmp_path):
    folders, _ = variants
    bundle = tmp_path / "bundle"
    shutil.copytree(folders[0], bundle)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (bundle / "scoring.json").rename(elsewhere / "scoring.json")
    (bundle / "scoring.json").symlink_to(elsewhere / "scoring.json")  # same bytes: checksums still match
    target = tmp_path / "champion"
    with pytest.raises(BundleError, match=r"scoring.json in the bundle at .* is a symbolic link"):
        published.publish(bundle, target)
    assert published.pointer(target) is None
    assert [p.name for p in (target / "versions").iterdir()] == []


def test_a_version_folder_that_is_a_link_is_refused_when_publishing_and_when_loading(variants, tmp_path):
    from rolefit.scoring.loader import clear_cache, load_model

    folders, _ = variants
    target = tmp_path / "champion"
    first = published.publish(folders[0], target)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(folders[1], elsewhere)
    name = json.loads((folders[1] / MANIFEST).read_text())["model_version"]
    (target / "versions" / name).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(BundleError, match=r"versions/.* is a symbolic link"):
        published.publish(folders[1], target)
    assert published.state(target).bundle == first
    (target / published.POINTER).write_text(json.dumps({"bundle": name, "mlflow_version": None}))
    clear_cache()
    try:
        with pytest.raises(BundleError, match=r"versions/.* is a symbolic link"):
            load_model(target)
    finally:
        clear_cache()


# ---------------------------------------------------------------------------------------------------
# CURRENT is read bounded: a regular file, small, parse errors named


def test_a_fifo_current_is_refused_without_hanging(variants, tmp_path):
    target = tmp_path / "champion"
    published.publish(variants[0][0], target)
    pointer = target / published.POINTER
    pointer.unlink()
    os.mkfifo(pointer)
    outcome: list[BaseException] = []

    def read():
        try:
            published.resolve(target)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    if reader.is_alive():
        with open(pointer, "w"):  # give the blocked reader a writer (and EOF) so the run goes on
            pass
        reader.join(10)
        pytest.fail("reading a FIFO CURRENT blocked")
    [error] = outcome
    assert isinstance(error, BundleError) and "CURRENT is a FIFO, not a regular file" in str(error)


def test_a_300_mb_current_is_refused_without_being_read(variants, tmp_path):
    import tracemalloc

    target = tmp_path / "champion"
    published.publish(variants[0][0], target)
    with (target / published.POINTER).open("r+b") as handle:
        handle.truncate(300 << 20)  # sparse: 300 MB on paper, nothing on disk
    tracemalloc.start()
    try:
        with pytest.raises(BundleError, match=r"CURRENT is larger than 65,536 bytes, so it was not read"):
            published.resolve(target)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak / (1 << 20):.1f} MB allocated to refuse it"


def _link_elsewhere(pointer, tmp_path):
    other = tmp_path / "elsewhere.json"
    other.write_text(pointer.read_text())
    pointer.unlink()
    pointer.symlink_to(other)


def _folder(pointer, tmp_path):
    pointer.unlink()
    pointer.mkdir()


POINTERS = {
    "nested 60,000 levels": (lambda p, t: p.write_text("[" * 60_000), "CURRENT is nested too deeply"),
    "a link to a file elsewhere": (_link_elsewhere, "CURRENT is a symbolic link"),
    "a folder": (_folder, "CURRENT is a folder, not a regular file"),
    "not UTF-8": (lambda p, t: p.write_bytes(b"\xff\xfe{}"), "CURRENT cannot be read (UnicodeDecodeError)"),
    "a JSON list": (lambda p, t: p.write_text("[]"), "CURRENT is not a JSON object"),
}


@pytest.mark.parametrize("case", POINTERS)
def test_a_bad_current_is_a_bundle_error_naming_it(variants, tmp_path, case):
    from rolefit.scoring.loader import clear_cache, load_model

    damage, message = POINTERS[case]
    target = tmp_path / "champion"
    published.publish(variants[0][0], target)
    damage(target / published.POINTER, tmp_path)
    clear_cache()
    try:
        with pytest.raises(BundleError, match=re.escape(message)):
            load_model(target)
    finally:
        clear_cache()


# ---------------------------------------------------------------------------------------------------
# a version removed while loading


def test_a_version_removed_while_loading_is_named_as_such(variants, tmp_path):
    folders, _ = variants
    target = tmp_path / "champion"
    version = published.publish(folders[0], target)

    def pruned_meanwhile(folder):
        shutil.rmtree(folder)  # after CURRENT was read, before the bundle is
        return load_additive(folder)

    with pytest.raises(BundleError) as refused:
        published.load_consistent(target, pruned_meanwhile)
    message = str(refused.value)
    assert f"version {version} was removed" in message and "while loading" in message
    assert "Train one" not in message and "No model bundle" not in message


def test_a_version_switched_and_pruned_while_loading_is_read_again_from_the_new_current(variants, tmp_path):
    folders, intercepts = variants
    target = tmp_path / "champion"
    first = published.publish(folders[0], target)
    tried: list[str] = []

    def switched_meanwhile(folder):
        tried.append(folder.name)
        if len(tried) == 1:
            published.publish(folders[1], target)
            shutil.rmtree(folder)
        return load_additive(folder)

    additive, manifest = published.load_consistent(target, switched_meanwhile)
    second = json.loads((folders[1] / MANIFEST).read_text())["model_version"]
    assert tried == [first, second]
    assert manifest["model_version"] == second and additive.intercept == intercepts[second]


# ---------------------------------------------------------------------------------------------------
# a full disk: one line, the champion intact

FULL_DISK_SCRIPT = """
import json, os, sys
from rolefit.scoring import champion
from rolefit.scoring.loader import load_model
first_bundle, second_bundle, target = sys.argv[1:4]
out = {"first": champion.publish(first_bundle, target)}
try:
    champion.publish(second_bundle, target)
    out["error"] = None
except Exception as exc:
    out.update(error=str(exc), kinds=[k.__name__ for k in type(exc).__mro__])
out["current"] = champion.state(target).bundle
out["loaded"] = load_model(target).version
out["left"] = sorted(os.listdir(os.path.join(target, "versions")))
print(json.dumps(out))
"""


def test_a_full_disk_while_publishing_says_no_space_left_and_the_champion_stays(variants, tmp_path):
    """A real ENOSPC: the champion folder is a tmpfs (in a private mount namespace) with room for one
    version, not two."""
    folders, _ = variants
    target = tmp_path / "champion"
    target.mkdir()
    size = sum((folders[0] / name).stat().st_size for name in listed(folders[0]))
    mount = f'mount -t tmpfs -o size={size * 3 // 2 // 1024}k tmpfs "$0"'
    namespace = ["unshare", "--user", "--map-root-user", "--mount"]
    probe = subprocess.run([*namespace, "sh", "-c", mount, str(target)], capture_output=True)
    if not shutil.which("unshare") or probe.returncode != 0:
        pytest.skip("no private mount namespace here for a small tmpfs (unshare --user --mount)")
    done = subprocess.run(
        [*namespace, "sh", "-c", f'{mount} || exit 99; exec "$@"', str(target), sys.executable, "-c",
         FULL_DISK_SCRIPT, str(folders[0]), str(folders[1]), str(target)],
        env=dict(os.environ), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["error"] is not None, "the second version fitted: the tmpfs is too large for the test"
    assert out["error"].startswith(f"no space left on {target}: ") and "\n" not in out["error"]
    assert {"NoSpaceError", "ChampionError", "BundleError", "RolefitError"} <= set(out["kinds"])
    assert f"still serves version {out['first']}" in out["error"]
    assert out["current"] == out["loaded"] == out["first"]
    assert out["left"] == [out["first"]], "a partial copy was left behind"
