"""Model files that were tampered with are refused, and loading never runs code from a bundle.

The code payloads below are real: with the earlier allow-list (every type under ``builtins.``,
``numpy.``, ``scipy.`` or ``sklearn.``), ``exec``, ``eval`` and numpy's ``getstatusoutput`` payloads
ran their command on ``load_estimator`` (checked against that rule when this test was written);
``posix.system`` was refused by name even then, and is here as the canonical os.system call.
"""

import io
import json
import pickle
import shutil
import threading
import zipfile

import pytest

import rolefit
from rolefit.atomic import sha256_file
from rolefit.scoring import signing
from rolefit.scoring.bundle import ESTIMATOR, MANIFEST, SCORING, BundleError, load_additive, sign_bundle
from rolefit.scoring.loader import clear_cache
from rolefit.scoring.trusted import ESTIMATOR_TYPES, load_estimator, skops_types

TEST_KEY = "rolefit-tests-" + "0123456789abcdef" * 3


class _Payload:
    """Pickling this runs ``touch <marker>`` on unpickling: it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(autouse=True)
def no_signing_key(monkeypatch, tmp_path):
    """No signing key unless a test configures one: not the developer's, not the environment's."""
    for name in (signing.KEY_ENV, signing.KEY_FILE_ENV, signing.REQUIRE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # never the checkout: nothing a test does lands in the project


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

    from rolefit.scoring import bundle as bundle_module

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
    original = bundle_module.load_trusted
    monkeypatch.setattr(bundle_module, "load_trusted", lambda path: (loads.append(path), original(path))[1])
    clear_cache()
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


# ---------------------------------------------------------------------------------------------------
# code in model.skops


def plant(skops_bytes: bytes, payload: dict) -> bytes:
    """``skops_bytes`` with ``payload`` (a skops node) added as an attribute of the estimator."""
    source = zipfile.ZipFile(io.BytesIO(skops_bytes))
    schema = json.loads(source.read("schema.json"))
    attrs = schema["content"]  # the calibrated classifier's attribute dict (a DictNode)
    attrs["content"]["pwned"] = payload
    attrs["key_types"]["content"].append(
        {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"}
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = json.dumps(schema).encode() if info.filename == "schema.json" else source.read(info)
            target.writestr(info.filename, data)
    return out.getvalue()


def call(module: str, name: str, *args: str) -> dict:
    """A skops node that calls ``module.name(*args)`` when skops constructs it."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [
                {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                 "content": json.dumps(arg), "is_json": True}
                for arg in args
            ],
        },
    }  # fmt: skip


PAYLOADS = {
    "builtins.exec": lambda marker: call("builtins", "exec", f"open({str(marker)!r}, 'w').close()"),
    "posix.system": lambda marker: call("posix", "system", f"touch {marker}"),
    "builtins.eval": lambda marker: call("builtins", "eval", f"__import__('os').system('touch {marker}')"),
    # a shell command under the numpy. prefix that the earlier allow-list trusted wholesale
    "numpy.distutils.cpuinfo.getstatusoutput": lambda marker: call(
        "numpy.distutils.cpuinfo", "getstatusoutput", f"touch {marker}"
    ),
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_code_in_the_skops_file_is_refused_without_running(bundle, tmp_path, name):
    marker = tmp_path / "pwned"
    (bundle / ESTIMATOR).write_bytes(plant((bundle / ESTIMATOR).read_bytes(), PAYLOADS[name](marker)))
    rehash(bundle, ESTIMATOR)  # what anyone who edits a bundle can do; no signing key is configured
    schema = json.loads(zipfile.ZipFile(bundle / ESTIMATOR).read("schema.json"))
    assert name in skops_types(schema), "the payload must sit where skops would construct it"
    with pytest.raises(
        BundleError, match=rf"types rolefit does not trust: {name} \(as ConstructorFromReduceNode\)"
    ):
        load_estimator(bundle)
    assert not marker.exists()
    additive, _ = load_additive(bundle)  # rolefit.predict never opens model.skops
    assert additive.tables and not marker.exists()


def test_with_a_signing_key_an_edited_bundle_is_refused_by_its_signature(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, TEST_KEY)
    sign_bundle(bundle)
    load_estimator(bundle)  # signed and whole: loads
    marker = tmp_path / "pwned"
    payload = PAYLOADS["builtins.exec"](marker)
    (bundle / ESTIMATOR).write_bytes(plant((bundle / ESTIMATOR).read_bytes(), payload))
    rehash(bundle, ESTIMATOR)
    for load in (load_estimator, load_additive):
        with pytest.raises(BundleError, match=r"signature .* does not match its manifest\.json"):
            load(bundle)
    assert not marker.exists()


def test_the_allow_list_names_exact_types_and_no_builtin_callables():
    containers = {"builtins.dict", "builtins.list", "builtins.tuple", "builtins.str"}
    builtins_ = {name for name in ESTIMATOR_TYPES if name.startswith("builtins.")}
    assert builtins_ == containers
    assert all(not name.endswith(".") and "*" not in name for name in ESTIMATOR_TYPES)
    loaders = set().union(*ESTIMATOR_TYPES.values())
    # the node kinds that call something named in the file are not allowed at all
    assert not loaders & {
        "ConstructorFromReduceNode",
        "FunctionNode",
        "MethodNode",
        "PartialNode",
        "ReduceNode",
    }
