"""Model files that were tampered with are refused, and loading never runs code from a bundle."""

import json
import pickle
import shutil
import threading

import pytest

import rolefit
from rolefit.bundle import (
    ESTIMATOR,
    MANIFEST,
    SCORING,
    BundleError,
    load_additive,
    load_estimator,
    sha256_file,
)


class _Payload:
    """Pickling this runs ``touch <marker>`` on unpickling: it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def bundle(champion, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(champion[1], copy)
    return copy


def rehash(bundle, name):
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][name] = sha256_file(bundle / name)
    (bundle / MANIFEST).write_text(json.dumps(manifest))


def test_planted_pickle_is_refused_and_never_executed(bundle, tmp_path):
    marker = tmp_path / "pwned"
    (bundle / ESTIMATOR).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(BundleError, match="does not match its checksum"):
        load_estimator(bundle)
    rehash(bundle, ESTIMATOR)  # even with a forged checksum
    with pytest.raises(BundleError, match=r"model\.skops .*not a valid skops file"):
        load_estimator(bundle)
    assert not marker.exists()
    additive, _ = load_additive(bundle)  # the predict path reads JSON only
    assert additive.tables and not marker.exists()


def test_pickle_planted_as_scoring_file_is_refused(bundle, tmp_path):
    marker = tmp_path / "pwned"
    (bundle / SCORING).write_bytes(pickle.dumps(_Payload(marker)))
    rehash(bundle, SCORING)
    with pytest.raises(BundleError, match=r"scoring\.json .*malformed|not valid"):
        load_additive(bundle)
    assert not marker.exists()


def test_unknown_types_in_skops_file_are_refused(bundle, tmp_path):
    import skops.io

    skops.io.dump({"model": _Payload(tmp_path / "x")}, bundle / ESTIMATOR)
    rehash(bundle, ESTIMATOR)
    with pytest.raises(BundleError, match="types rolefit does not trust"):
        load_estimator(bundle)
    assert not (tmp_path / "x").exists()


def test_manifest_from_another_instrument_version(bundle):
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["instrument"]["version"] = "0.9"
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"instrument version '0\.9'"):
        load_additive(bundle)


def test_corrupt_manifest(bundle):
    (bundle / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_additive(bundle)


def test_concurrent_predictions_equal_serial_ones(champion, use_model, monkeypatch):
    import random

    from rolefit import bundle as bundle_module

    instrument = rolefit.questionnaire()
    rng = random.Random(5)
    people = []
    for _ in range(10_000):
        person = {}
        for item in instrument.items:
            if rng.random() < 0.5:
                continue
            if item.kind == "choice":
                person[item.id] = rng.choice(item.choice_ids)
            else:
                lo, hi = item.bounds
                person[item.id] = rng.randint(int(lo), int(hi))
        people.append(person)
    use_model(champion[1])
    serial = [rolefit.predict(p).to_dict() for p in people]

    loads = []
    original = bundle_module.load_additive
    monkeypatch.setattr(bundle_module, "load_additive", lambda path: (loads.append(path), original(path))[1])
    rolefit.predict.__globals__["clear_cache"]()
    results = [None] * len(people)
    start = threading.Barrier(8)

    def work(offset):
        start.wait()  # every thread makes its first call at once, on an empty cache
        for i in range(offset, len(people), 8):
            results[i] = rolefit.predict(people[i]).to_dict()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == serial
    assert len(loads) == 1, "the model must be loaded once under concurrent first calls"
