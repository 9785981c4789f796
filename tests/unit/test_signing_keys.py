"""Keys belong to the project or the deployment, never to the folder a process starts in (issue #23).

A bundle is checked with the deployment's key (``ROLEFIT_SIGNING_KEY[_FILE]``), the key of a project
the caller names, or the key of the project that owns the bundle's folder: the same verdict from the
project root, from ``/`` and from a temporary folder. The same guarantees through real processes are in
``tests/api/test_signing_cli.py``.
"""

import hashlib
import json
import logging
import os
import shutil
from importlib.metadata import PathDistribution
from pathlib import Path

import pytest

import rolefit
from rolefit.scoring import signing
from rolefit.scoring.bundle import MANIFEST, BundleError, sign_bundle, verify_bundle
from rolefit.scoring.loader import clear_cache, load_model
from tests.bundles import negate_effects

from ..conftest import ROOT

PERSON = json.loads((ROOT / "examples" / "person.json").read_text())  # a clear software engineer
ATTACKER_KEY = "attacker-" + "0123456789abcdef" * 3
MISMATCH = r"signature of the model bundle at .* does not match its manifest\.json"


@pytest.fixture(autouse=True)
def no_signing_key(monkeypatch, tmp_path):
    """No deployment key (the tests' session key included) unless a test sets one; never the checkout."""
    for name in (signing.KEY_ENV, signing.KEY_FILE_ENV, signing.REQUIRE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    clear_cache()
    yield
    clear_cache()


def make_project(folder: Path) -> Path:
    """A rolefit project at ``folder`` with its own signing key (as its first export makes one)."""
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text("{}\n")
    signing.create_key(folder / signing.PROJECT_KEY_FILE)
    return folder


def copy_bundle(champion, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(champion[1], target)
    (target / signing.SIGNATURE).unlink(missing_ok=True)  # signed below with the key that owns it
    return target


def sign_with(bundle: Path, secret: str) -> None:
    key = signing.SigningKey(secret.encode(), "a test")
    signing.write_signature(bundle, key, (bundle / MANIFEST).read_bytes())


def p_mle(bundle: Path) -> float:
    clear_cache()
    return rolefit.predict(PERSON, model=bundle).probabilities["mle"]


def unverified_warnings(caplog, bundle: Path) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "rolefit" and r.levelno == logging.WARNING and "UNVERIFIED" in r.getMessage()
        and str(bundle) in r.getMessage()
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# the key is the project's, whatever the working directory


def test_the_negated_bundle_is_refused_with_the_owning_projects_key_from_any_folder(
    champion, tmp_path, monkeypatch
):
    project = make_project(tmp_path / "project")
    bundle = copy_bundle(champion, project / "models" / "champion")
    sign_bundle(bundle)  # with the project's key, found from the bundle's folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for folder in (project, Path("/"), elsewhere):
        monkeypatch.chdir(folder)
        clear_cache()
        assert load_model(bundle).info.verified, folder
        assert rolefit.predict(PERSON, model=bundle).role == "swe"
    negate_effects(bundle)
    for folder in (project, Path("/"), elsewhere, project / "models"):
        monkeypatch.chdir(folder)
        clear_cache()
        with pytest.raises(BundleError, match=MISMATCH):
            rolefit.predict(PERSON, model=bundle)


def test_a_key_file_planted_in_the_working_directory_is_never_used(champion, tmp_path, monkeypatch):
    bundle = copy_bundle(champion, tmp_path / "loose" / "bundle")  # in no project
    negate_effects(bundle)
    sign_with(bundle, ATTACKER_KEY)  # re-signed with the attacker's own key...
    planted = tmp_path / "started-here"  # ...planted, as a whole project, where the process starts
    planted.mkdir()
    (planted / "params.yaml").write_text("{}\n")
    (planted / ".rolefit").mkdir()
    (planted / ".rolefit" / "signing.key").write_text(ATTACKER_KEY + "\n")
    (planted / ".rolefit" / "signing.key").chmod(0o600)
    monkeypatch.chdir(planted)
    monkeypatch.setenv(signing.REQUIRE_ENV, "1")
    with pytest.raises(BundleError, match="ROLEFIT_REQUIRE_SIGNATURE is set, but no signing key"):
        rolefit.predict(PERSON, model=bundle)
    monkeypatch.delenv(signing.REQUIRE_ENV)
    clear_cache()
    assert not load_model(bundle).info.verified  # checksums only: the planted key vouches for nothing
    assert signing.load_key(bundle) is None


def test_a_deployment_key_file_refuses_the_negated_bundle_wherever_it_lies(champion, tmp_path, monkeypatch):
    key_file = tmp_path / "secrets" / "rolefit.key"
    monkeypatch.setenv(signing.KEY_FILE_ENV, str(key_file))
    bundle = copy_bundle(champion, tmp_path / "loose" / "bundle")
    sign_bundle(bundle)  # creates the named key file, then signs
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_model(bundle).info.verified
    negate_effects(bundle)
    for folder in (Path("/"), tmp_path, key_file.parent):
        monkeypatch.chdir(folder)
        clear_cache()
        with pytest.raises(BundleError, match=MISMATCH):
            rolefit.predict(PERSON, model=bundle)


def test_a_key_planted_beside_the_models_does_not_override_the_projects(champion, tmp_path):
    project = make_project(tmp_path / "project")
    bundle = copy_bundle(champion, project / "models" / "champion" / "versions" / "v1")
    sign_bundle(bundle)
    negate_effects(bundle)
    sign_with(bundle, ATTACKER_KEY)
    # what a fetched model folder could bring along: a project marker and a key of its own
    inner = project / "models" / "champion"
    (inner / "params.yaml").write_text("{}\n")
    (inner / ".rolefit").mkdir()
    (inner / ".rolefit" / "signing.key").write_text(ATTACKER_KEY + "\n")
    (inner / ".rolefit" / "signing.key").chmod(0o600)
    with pytest.raises(BundleError, match=r"signed with another key .*project/\.rolefit/signing\.key"):
        rolefit.predict(PERSON, model=bundle)


def test_a_bundle_never_vouches_for_itself(champion, tmp_path):
    bundle = copy_bundle(champion, tmp_path / "loose" / "bundle")
    negate_effects(bundle)
    sign_with(bundle, ATTACKER_KEY)
    (bundle / ".rolefit").mkdir()
    (bundle / ".rolefit" / "signing.key").write_text(ATTACKER_KEY + "\n")
    (bundle / "params.yaml").write_text("{}\n")
    assert not load_model(bundle).info.verified


def test_a_downloaded_bundle_is_checked_with_the_key_of_the_project_its_caller_names(champion, tmp_path):
    project = make_project(tmp_path / "project")
    download = copy_bundle(champion, tmp_path / "rolefit-model-x" / "bundle")  # a temporary folder
    sign_bundle(download, project=project)
    assert verify_bundle(download, project=project)
    negate_effects(download)
    with pytest.raises(BundleError, match=MISMATCH):
        verify_bundle(download, project=project)
    assert not load_model(download).info.verified  # nobody named the project: no key, checksums only
    clear_cache()
    signing.assign_project(download, project)  # what the release flow does for what it downloads
    with pytest.raises(BundleError, match=MISMATCH):
        load_model(download)


def test_the_first_export_creates_the_key_in_the_project_it_names(champion, tmp_path, monkeypatch):
    from rolefit.scoring.export import export

    result, _ = champion
    project = tmp_path / "project"  # no params.yaml: `rolefit train --params other.yaml` names the root
    started_in = tmp_path / "cwd"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    params = rolefit_params()
    bundle = export(result, project / "models" / "trained", params, project=project)
    assert (project / ".rolefit" / "signing.key").stat().st_mode & 0o777 == 0o600
    assert not (started_in / ".rolefit").exists()
    monkeypatch.chdir("/")
    assert load_model(bundle).info.verified  # found again from the bundle's folder, from anywhere


def rolefit_params():
    from rolefit.config import load_params

    return load_params(ROOT / "params.yaml")


# ---------------------------------------------------------------------------------------------------
# an unverified load says so, once and in every prediction


def test_an_unverified_bundle_warns_once_and_every_prediction_says_so(champion, tmp_path, caplog):
    bundle = copy_bundle(champion, tmp_path / "loose" / "bundle")
    caplog.set_level(logging.WARNING, logger="rolefit")
    intact = p_mle(bundle)
    assert p_mle(bundle) == intact  # loaded again: no second warning for the same bundle
    (warning,) = unverified_warnings(caplog, bundle)
    assert "no signing key is configured" in warning and "ROLEFIT_SIGNING_KEY_FILE" in warning
    negate_effects(bundle)  # another bundle in the same folder: said again
    clear_cache()
    first = rolefit.predict(PERSON, model=bundle)
    assert first.probabilities["mle"] > 0.5 > intact  # the edit turned a clear SWE into MLE, unseen
    clear_cache()
    again = rolefit.predict(PERSON, model=bundle)
    assert len(unverified_warnings(caplog, bundle)) == 2
    for prediction in (first, again):
        assert prediction.model.verified is False
        assert prediction.model.verified_by == "checksums only: no signing key configured"
        assert prediction.model.version == prediction.model_version
        assert prediction.to_dict()["model"] == {
            "version": prediction.model_version,
            "verified": False,
            "verified_by": "checksums only: no signing key configured",
            "chosen_by": "argument",
            "trained_at": prediction.model.trained_at,
            "training_sources": list(prediction.model.training_sources),
            "published_at": "",
        }
        assert "synthetic" in prediction.model.training_sources


def test_a_bundle_refused_for_another_reason_is_not_said_to_be_loaded(champion, tmp_path, caplog):
    bundle = copy_bundle(champion, tmp_path / "loose" / "bundle")
    (bundle / "reference.json").write_text("{}")  # its checksum no longer matches
    caplog.set_level(logging.WARNING, logger="rolefit")
    with pytest.raises(BundleError, match="does not match its checksum"):
        load_model(bundle)
    assert not unverified_warnings(caplog, bundle)


def test_a_verified_bundle_says_which_key_and_does_not_warn(champion, tmp_path, caplog):
    project = make_project(tmp_path / "project")
    bundle = copy_bundle(champion, project / "models" / "champion")
    key = sign_bundle(bundle)
    caplog.set_level(logging.WARNING, logger="rolefit")
    prediction = rolefit.predict(PERSON, model=bundle)
    assert prediction.model.verified is True
    assert prediction.to_dict()["model"]["verified_by"] == f"signature (key id {key.key_id})"
    assert not unverified_warnings(caplog, bundle)
    assert not [r for r in caplog.records if r.name == "rolefit"]


def test_predictions_share_the_model_info_made_at_load(champion, tmp_path):
    bundle = copy_bundle(champion, tmp_path / "loose" / "bundle")
    first, second = rolefit.predict(PERSON, model=bundle), rolefit.predict({}, model=bundle)
    assert first.model is second.model is load_model(bundle).info


# ---------------------------------------------------------------------------------------------------
# key files others can read, write or own are reported


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o666])
@pytest.mark.parametrize("found", ["project", "ROLEFIT_SIGNING_KEY_FILE"])
def test_a_key_file_others_can_read_or_write_is_reported_naming_it(
    champion, tmp_path, monkeypatch, caplog, mode, found
):
    project = make_project(tmp_path / "project")
    bundle = copy_bundle(champion, project / "models" / "champion")
    key_file = project / signing.PROJECT_KEY_FILE
    sign_bundle(bundle)
    if found == "ROLEFIT_SIGNING_KEY_FILE":
        deployed = tmp_path / "mounted" / "signing.key"
        deployed.parent.mkdir()
        shutil.copy(key_file, deployed)
        key_file = deployed
        monkeypatch.setenv(signing.KEY_FILE_ENV, str(key_file))
    key_file.chmod(mode)
    caplog.set_level(logging.WARNING, logger="rolefit")
    assert load_model(bundle).info.verified  # reported, not refused
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "rolefit"]
    assert str(key_file) in warning and f"mode {mode:04o}" in warning
    assert ("can read it" in warning) == bool(mode & 0o044)
    assert ("can write it" in warning) == bool(mode & 0o022)


def test_a_private_key_file_is_not_reported(champion, tmp_path, caplog):
    project = make_project(tmp_path / "project")
    bundle = copy_bundle(champion, project / "models" / "champion")
    sign_bundle(bundle)
    caplog.set_level(logging.WARNING, logger="rolefit")
    assert load_model(bundle).info.verified
    assert not [r for r in caplog.records if r.name == "rolefit"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_key_file_another_user_owns_is_reported(champion, tmp_path, caplog):
    project = make_project(tmp_path / "project")
    bundle = copy_bundle(champion, project / "models" / "champion")
    sign_bundle(bundle)
    key_file = project / signing.PROJECT_KEY_FILE
    os.chown(key_file, 65534, -1)  # nobody
    caplog.set_level(logging.WARNING, logger="rolefit")
    assert load_model(bundle).info.verified
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "rolefit"]
    assert str(key_file) in warning and "belongs to another user (uid 65534" in warning


def test_a_key_in_a_world_writable_folder_does_not_count(champion, tmp_path):
    shared = tmp_path / "shared"  # like /tmp: anyone may create .rolefit/signing.key in it
    shared.mkdir()
    bundle = copy_bundle(champion, shared / "models" / "bundle")
    negate_effects(bundle)
    sign_with(bundle, ATTACKER_KEY)
    (shared / ".rolefit").mkdir()
    (shared / ".rolefit" / "signing.key").write_text(ATTACKER_KEY + "\n")
    shared.chmod(0o1777)
    assert not load_model(bundle).info.verified


# ---------------------------------------------------------------------------------------------------
# a model packaged inside the installed rolefit


def installed(tmp_path: Path, champion, listed: bool = True) -> tuple[Path, PathDistribution, Path]:
    """A site folder holding a ``rolefit`` package with a bundle inside and its dist-info ``RECORD``."""
    site = tmp_path / "site"
    bundle = copy_bundle(champion, site / "rolefit" / "models" / "default")
    info = site / "rolefit-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rolefit\nVersion: 9.9.9\n")
    rows = ["rolefit/__init__.py,,"]
    if listed:
        digest = hashlib.sha256((bundle / MANIFEST).read_bytes()).digest()
        import base64

        rows.append(
            f"rolefit/models/default/manifest.json,sha256={base64.urlsafe_b64encode(digest).rstrip(b'=').decode()},1"
        )
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return bundle, PathDistribution(info), site / "rolefit"


def test_a_packaged_model_is_verified_by_the_installed_file_record(champion, tmp_path):
    bundle, distribution, package = installed(tmp_path, champion)
    manifest = (bundle / MANIFEST).read_bytes()
    verification = signing.packaged(bundle, manifest, package_dir=package, distribution=distribution)
    assert verification == signing.Verification(True, "package (installed rolefit 9.9.9: its file record)")
    changed = manifest.replace(b'"candidate"', b'"Candidate"')
    with pytest.raises(signing.SignatureError, match="does not match the record of the installed rolefit"):
        signing.packaged(bundle, changed, package_dir=package, distribution=distribution)
    # outside the package folder: not packaged, whatever the record says
    other = tmp_path / "other"
    assert signing.packaged(bundle, manifest, package_dir=other, distribution=distribution) is None


def test_a_bundle_the_record_does_not_list_is_not_packaged(champion, tmp_path):
    bundle, distribution, package = installed(tmp_path, champion, listed=False)
    manifest = (bundle / MANIFEST).read_bytes()
    assert signing.packaged(bundle, manifest, package_dir=package, distribution=distribution) is None
