import json
import shutil

import pytest

from rolefit.atomic import sha256_file
from rolefit.scoring import sign, signing
from rolefit.scoring.bundle import (
    ESTIMATOR,
    MANIFEST,
    SCORING,
    BundleError,
    load_additive,
    load_trusted,
    sign_bundle,
    verify_bundle,
)
from rolefit.scoring.trusted import ESTIMATOR_TYPES, RENAMED_CLASSES, load_estimator, skops_types

KEY = "rolefit-tests-" + "0123456789abcdef" * 3


@pytest.fixture(autouse=True)
def no_signing_key(monkeypatch, tmp_path):
    """No signing key unless a test configures one: not the developer's, not the environment's."""
    for name in (signing.KEY_ENV, signing.KEY_FILE_ENV, signing.REQUIRE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # never the checkout: nothing a test does lands in the project


@pytest.fixture()
def bundle(champion, tmp_path):
    _, path = champion
    copy = tmp_path / "bundle"
    shutil.copytree(path, copy)
    return copy


def test_manifest_records_lineage_and_metrics(bundle, champion_params):
    manifest = verify_bundle(bundle)
    assert manifest["instrument"]["version"] == "1.3" and len(manifest["instrument"]["sha256"]) == 64
    assert len(manifest["training_data"]["sha256"]) == 64
    # 100,000 with params.yaml (make test), 20,000 for the small champion (make check)
    synthetic = manifest["training_data"]["rows"]["by_source"]["synthetic"]
    assert synthetic == champion_params.synthesize.n_respondents in (100_000, 20_000)
    assert manifest["training_data"]["rows"]["total"] == sum(
        manifest["training_data"]["rows"]["by_source"].values()
    )
    assert set(manifest["files"]) == {
        "scoring.json",
        "model.skops",
        "reference.json",
        "answers.json",
        "fit.json",
        "readiness.json",
    }
    assert {"scikit-learn", "numpy", "python"} <= set(manifest["libraries"])
    test = manifest["metrics"]["test/synthetic"]
    assert {"log_loss", "bayes_log_loss", "log_loss_ratio_to_bayes", "ece", "roc_auc"} <= set(test)


@pytest.mark.parametrize(
    "name", ["scoring.json", "model.skops", "reference.json", "answers.json", "readiness.json"]
)
def test_one_changed_byte_is_refused_naming_the_file(bundle, name):
    path = bundle / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=rf"{name} .*does not match its checksum"):
        load_additive(bundle)


def test_missing_file_is_refused(bundle):
    (bundle / "scoring.json").unlink()
    with pytest.raises(BundleError, match=r"missing scoring\.json"):
        load_additive(bundle)


def test_bundle_for_another_instrument_is_refused(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["instrument"]["sha256"] = "0" * 64
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="built for instrument version"):
        load_additive(bundle)


def test_missing_folder_says_how_to_fix(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        verify_bundle(tmp_path / "nope")


def test_full_estimator_loads_without_pickle(bundle, champion):
    import numpy as np
    import pandas as pd

    result, _ = champion
    estimator = load_estimator(bundle)
    frame = pd.DataFrame([{"interest_math": 5.0, "skill_dsa": 1.0}])
    np.testing.assert_allclose(estimator.predict_proba(frame), result.estimator.predict_proba(frame))


# ---------------------------------------------------------------------------------------------------
# the skops allow-list: exact, and enough for both candidates


@pytest.mark.parametrize("which", ["champion", "boosting_champion"])
def test_both_candidates_load_with_the_exact_allow_list(which, request, tmp_path):
    import zipfile

    result, path = request.getfixturevalue(which)
    schema = json.loads(zipfile.ZipFile(path / ESTIMATOR).read("schema.json"))
    found = skops_types(schema)
    assert {name for name in found if name not in ESTIMATOR_TYPES} == set()
    assert all(kinds <= ESTIMATOR_TYPES[name] for name, kinds in found.items())
    assert type(load_estimator(path)).__name__ == type(result.estimator).__name__


def rehash(bundle, name):
    """Record ``name``'s new checksum in the manifest (as whoever rewrote it can)."""
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][name] = sha256_file(bundle / name)
    (bundle / MANIFEST).write_text(json.dumps(manifest))


def with_classes(skops_path, rename):
    """Rewrite the classes of a skops file (``{"module.Class": "module.Class"}``) and return their names."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(skops_path.read_bytes()))
    schema = json.loads(source.read("schema.json"))
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = f"{node.get('__module__')}.{node.get('__class__')}"
            if name in rename:
                node["__module__"], node["__class__"] = rename[name].rsplit(".", 1)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = json.dumps(schema).encode() if info.filename == "schema.json" else source.read(info)
            target.writestr(info, data)
    skops_path.write_bytes(out.getvalue())
    return set(skops_types(schema))


def test_an_estimator_saved_before_the_subpackages_loads_under_the_new_class_paths(bundle, champion):
    """Bundle class layout 1 (flat modules, up to c125c2a) is migrated on load, with the same model."""
    import numpy as np

    from tests.model.test_exactness import random_answers

    result, _ = champion
    names = with_classes(bundle / ESTIMATOR, {new: old for old, new in RENAMED_CLASSES.items()})
    assert {"rolefit.models.MonotoneLogisticRegression", "rolefit.features.Column"} <= names
    assert not any(name.startswith("rolefit.model.") for name in names)
    rehash(bundle, ESTIMATOR)
    frame = random_answers(500, seed=11)
    migrated = load_estimator(bundle)
    assert type(migrated).__module__ == "rolefit.model.calibration"
    np.testing.assert_array_equal(migrated.predict_proba(frame), result.estimator.predict_proba(frame))


def test_an_old_path_that_was_never_a_rolefit_class_is_still_refused(bundle):
    names = with_classes(bundle / ESTIMATOR, {"rolefit.model.features.Column": "rolefit.features.Anything"})
    assert "rolefit.features.Anything" in names
    rehash(bundle, ESTIMATOR)
    with pytest.raises(BundleError, match=r"does not trust: rolefit\.features\.Anything"):
        load_estimator(bundle)


# ---------------------------------------------------------------------------------------------------
# signatures


def facts_of(bundle):
    manifest = json.loads((bundle / MANIFEST).read_text())
    generated = ("schema_version", "model_version", "created_at", "instrument", "libraries", "files")
    return {k: v for k, v in manifest.items() if k not in generated}


def export_copy(champion, directory):
    """A fresh export of the champion's model, through ``save_bundle`` as ``rolefit train`` does."""
    from rolefit.scoring.bundle import save_bundle

    result, path = champion
    return save_bundle(
        directory, additive=result.additive, estimator=result.estimator, manifest=facts_of(path)
    )


def test_export_signs_when_a_key_is_configured(champion, tmp_path, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, KEY)
    bundle = export_copy(champion, tmp_path / "signed")
    record = json.loads((bundle / signing.SIGNATURE).read_text())
    assert record["algorithm"] == "hmac-sha256" and len(record["signature"]) == 64
    verification = signing.verify(bundle, (bundle / MANIFEST).read_bytes())
    assert verification.verified and verification.by == f"signature (key id {record['key_id']})"
    load_additive(bundle)
    # any change to the manifest (here: a fact nobody reads) breaks the signature
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["candidate"] = "logistic" if manifest["candidate"] == "boosting" else "boosting"
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    with pytest.raises(BundleError, match=r"does not match its manifest\.json: the manifest .* changed"):
        load_additive(bundle)


def test_with_a_key_unsigned_bundles_are_refused_until_signed(bundle, monkeypatch):
    (bundle / signing.SIGNATURE).unlink(missing_ok=True)
    monkeypatch.setenv(signing.KEY_ENV, KEY)
    with pytest.raises(
        BundleError, match=r"is not signed, but a signing key is configured .*rolefit\.scoring\.sign sign"
    ):
        load_additive(bundle)
    assert sign.main(["sign", str(bundle)]) == 0  # python -m rolefit.scoring.sign sign <bundle>
    load_additive(bundle)


def test_a_bundle_signed_with_another_key_is_refused_naming_both_keys(bundle, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, KEY)
    sign_bundle(bundle)
    monkeypatch.setenv(signing.KEY_ENV, "another-" + KEY)
    with pytest.raises(BundleError, match=r"signed with another key \(key id '[0-9a-f]{16}'\)"):
        load_additive(bundle)


def test_without_a_key_signatures_are_not_checked_and_only_checksums_apply(bundle, monkeypatch):
    monkeypatch.setenv(signing.KEY_ENV, KEY)
    sign_bundle(bundle)
    monkeypatch.delenv(signing.KEY_ENV)
    (bundle / signing.SIGNATURE).write_text('{"algorithm": "hmac-sha256", "key_id": "x", "signature": "0"}')
    load_additive(bundle)  # a fresh clone or an MLflow server: no key, so the signature is ignored
    (bundle / signing.SIGNATURE).unlink()
    load_additive(bundle)  # unsigned loads too
    monkeypatch.setenv(signing.REQUIRE_ENV, "1")
    with pytest.raises(BundleError, match="ROLEFIT_REQUIRE_SIGNATURE is set, but no signing key"):
        load_additive(bundle)


def test_the_first_export_into_the_project_creates_a_private_key_in_the_project_not_the_cwd(
    champion, tmp_path, monkeypatch
):
    project = tmp_path / "project"
    project.mkdir()
    (project / "params.yaml").write_text("{}\n")  # what makes a folder a rolefit project
    started_in = tmp_path / "started-in"
    started_in.mkdir()
    monkeypatch.chdir(started_in)  # the export runs from another folder: the key still goes to the project
    export_copy(champion, tmp_path / "elsewhere")  # a scratch export outside any project
    assert not (project / ".rolefit").exists() and not (started_in / ".rolefit").exists()
    assert not (tmp_path / ".rolefit").exists()
    bundle = export_copy(champion, project / "models" / "trained")
    key_file = project / ".rolefit" / "signing.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (project / ".rolefit").stat().st_mode & 0o077 == 0
    assert not (started_in / ".rolefit").exists()
    assert (bundle / signing.SIGNATURE).is_file()
    for folder in (project, started_in, tmp_path):  # the project's key checks it from anywhere
        monkeypatch.chdir(folder)
        assert load_trusted(bundle)[2].verified
    monkeypatch.setenv(signing.KEY_FILE_ENV, str(key_file))
    assert load_trusted(bundle)[2].verified


def test_a_misconfigured_key_is_an_error_not_a_silent_downgrade(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv(signing.KEY_FILE_ENV, str(tmp_path / "missing.key"))
    with pytest.raises(
        BundleError, match=r"ROLEFIT_SIGNING_KEY_FILE names .*missing\.key, which does not exist"
    ):
        load_additive(bundle)
    monkeypatch.setenv(signing.KEY_ENV, "short")
    with pytest.raises(BundleError, match="is 5 characters long; a signing key needs at least 32"):
        load_additive(bundle)


# ---------------------------------------------------------------------------------------------------
# checked for sense: finite tables, a typed manifest, bounded sizes


def rewrite(bundle, name, change):
    """Apply ``change`` to the parsed ``name`` and regenerate its checksum (as an attacker can)."""
    path = bundle / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    if name != MANIFEST:
        manifest = json.loads((bundle / MANIFEST).read_text())
        manifest["files"][name] = sha256_file(path)
        (bundle / MANIFEST).write_text(json.dumps(manifest))


def nan_effects(scoring):
    table = scoring["tables"]["interest_math"]
    table["values"] = [float("nan")] * len(table["values"])


def cli(args, *, model, cwd, stdin=None):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ROLEFIT_"))}
    env["ROLEFIT_MODEL"] = str(model)
    return subprocess.run(
        [sys.executable, "-m", "rolefit.apps.cli", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_nan_tables_are_refused_by_predict_the_cli_and_the_api(bundle, tmp_path, monkeypatch):
    import rolefit
    from rolefit.apps.cli import app
    from rolefit.apps.web import create_app
    from rolefit.scoring.loader import clear_cache

    rewrite(bundle, SCORING, nan_effects)
    cause = r"scoring\.json .* malformed: the effect of 'interest_math' \(values\[0\]\) is nan, not a finite"
    clear_cache()
    with pytest.raises(BundleError, match=cause):
        rolefit.predict({"interest_math": 5}, model=bundle)

    out = cli(
        ["predict", "--answers", "-", "--json"], model=bundle, cwd=tmp_path, stdin='{"interest_math": 5}'
    )
    assert out.returncode == 3, out.stdout + out.stderr
    assert out.stdout == "" and out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")
    assert "the effect of 'interest_math' (values[0]) is nan" in out.stderr

    # the REST API refuses to start on such a bundle (no app, no 200 with null probabilities)
    clear_cache()
    with pytest.raises(BundleError, match=cause):
        create_app(str(bundle))
    import uvicorn
    from typer.testing import CliRunner

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server must not start"))
    served = CliRunner().invoke(app, ["serve", "--model", str(bundle)])
    assert served.exit_code == 3 and "error: " in served.output and "is nan" in served.output


@pytest.mark.parametrize(
    "change, cause",
    [
        (lambda s: s.__setitem__("intercept", float("nan")), r"baseline log-odds \(intercept\) is nan"),
        (lambda s: s.__setitem__("a", float("inf")), r"the scale a is inf"),
        (lambda s: s.__setitem__("a", 1e300), r"coverage scale \(up to [\d.]+e\+300\) times the largest"),
        (lambda s: s.__setitem__("kappa", -1.0), r"kappa is -1, outside \[0, inf\]"),
        (lambda s: s["coverage"].__setitem__("skill_dsa", float("nan")), "weight of 'skill_dsa' is nan"),
        (lambda s: s["conformal"].__setitem__("q_mle", float("nan")), r"conformal\.q_mle is nan"),
        (lambda s: s["tables"]["career_goal"]["choices"].pop("undecided"), "career_goal.*not the item's"),
        (lambda s: s["tables"]["skill_dsa"]["values"].pop(), "values for .* edges"),
        (lambda s: s.__setitem__("base_rate", "0.4"), "base rate must be a number, not str"),
        (lambda s: s.__setitem__("tables", [1]), "no item tables"),
        (lambda s: s["offsets"].__setitem__(next(iter(s["offsets"])), 1e300), r"offset of .* outside"),
    ],
    ids=["nan-intercept", "inf-scale", "huge-scale", "negative-kappa", "nan-coverage", "nan-conformal",
         "missing-choice", "wrong-shape",
         "string-base-rate", "tables-not-object", "huge-offset"],
)  # fmt: skip
def test_tables_that_make_no_sense_are_refused_naming_the_cause(bundle, change, cause):
    rewrite(bundle, SCORING, change)
    with pytest.raises(BundleError, match=cause):
        load_additive(bundle)


def deep(levels):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "change, cause",
    [
        (lambda m: m.__setitem__("instrument", "1.0"), r"instrument: Input should be a valid dictionary"),
        (lambda m: m.__setitem__("model_version", 20260101), "model_version: Input should be a valid string"),
        (lambda m: m.__setitem__("model_version", "../../etc"), "model_version: String should match"),
        (lambda m: m.__setitem__("schema_version", "1"), "schema version '1'"),
        (lambda m: m.__setitem__("files", ["scoring.json"]), "must list checksums for exactly"),
        (lambda m: m["files"].__setitem__("scoring.json", 7), r"files\.scoring\.json: Input should"),
        (lambda m: m["training_data"]["rows"].__setitem__("total", "many"), r"training_data\.rows\.total"),
        (lambda m: m.__setitem__("metrics", {"test/all": {"ece": "low"}}), r"metrics\.test/all\.ece"),
        (lambda m: m.__setitem__("notes", deep(40)), "nested 41 levels deep; rolefit's are at most 32"),
    ],
    ids=["instrument-str", "version-int", "version-path", "schema-str", "files-list", "checksum-int",
         "rows-str", "metric-str", "deep"],
)  # fmt: skip
def test_a_wrongly_typed_or_deeply_nested_manifest_is_refused(bundle, change, cause):
    path = bundle / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=cause):
        load_additive(bundle)


def test_a_manifest_nested_beyond_the_parser_exits_3_on_the_command_line(bundle, tmp_path):
    path = bundle / MANIFEST
    levels = 100_000  # beyond Python's recursion limit: the JSON parser itself gives up
    path.write_text(path.read_text().rstrip()[:-1] + ', "notes": ' + "[" * levels + "]" * levels + "}")
    with pytest.raises(BundleError, match="nested too deeply to be a rolefit file"):
        load_additive(bundle)
    out = cli(["predict", "--answers", "-"], model=bundle, cwd=tmp_path, stdin="{}")
    assert out.returncode == 3, out.stderr
    assert (
        out.stderr.startswith("error: ") and out.stderr.count("\n") == 1 and "nested too deeply" in out.stderr
    )


def test_an_oversize_scoring_file_is_refused_without_being_read(bundle, monkeypatch):
    from pathlib import Path

    with (bundle / SCORING).open("r+b") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: 300 MB that cost no disk
    opened = []
    original = Path.open

    def recording_open(self, *args, **kwargs):
        opened.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", recording_open)  # every pathlib read (and sha256_file) opens
    refused = (
        r"scoring\.json in .* is 300\.0 MB; a model bundle's scoring\.json is at most 8 MB, so it was not"
    )
    with pytest.raises(BundleError, match=refused):
        load_additive(bundle)
    assert MANIFEST in opened and SCORING not in opened


def test_an_oversize_manifest_is_refused_without_being_read(bundle):
    path = bundle / MANIFEST
    path.write_text(path.read_text().rstrip()[:-1] + ', "notes": "' + "x" * (2 << 20) + '"}')
    shown = f"{path.stat().st_size / (1 << 20):.1f}"  # the padding and the manifest itself
    with pytest.raises(BundleError, match=rf"manifest\.json in .* is {shown} MB; .* at most 1 MB"):
        load_additive(bundle)


def test_a_model_built_for_an_older_instrument_gets_no_effect_for_the_choices_added_since():
    """with_new_choices: 0 for each goal 1.2 added (and an sd of 0 in the fit), for 1.0 and 1.1 models
    only; the old choices, other items and this version's own data are left as they are."""
    from rolefit.instrument.items import load_instrument
    from rolefit.scoring.bundle import with_new_choices

    instrument = load_instrument()
    old = {"ai_researcher": 0.6, "undecided": -0.02}
    data = {
        "tables": {"career_goal": {"choices": dict(old)}, "interest_math": {"edges": [2], "values": [0, 1]}},
        "alone": {},
        "uncertainty": {"career_goal": {"kind": "sd", "sd": {"ai_researcher": 0.1}}},
    }
    for version in ("1.0", "1.1"):
        done = with_new_choices(data, instrument, version)
        assert done["tables"]["career_goal"]["choices"] == {
            **old,
            "ml_engineer": 0.0,
            "software_engineer": 0.0,
        }
        assert done["tables"]["interest_math"] == data["tables"]["interest_math"]
        sd = done["uncertainty"]["career_goal"]["sd"]
        assert sd == {"ai_researcher": 0.1, "ml_engineer": 0.0, "software_engineer": 0.0}
        assert data["tables"]["career_goal"]["choices"] == old  # the caller's data is not changed
    assert with_new_choices(data, instrument, instrument.version) is data
    assert with_new_choices([1], instrument, "1.0") == [1]  # not a JSON object: left for the checks to name
