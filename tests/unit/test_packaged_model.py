"""The model packaged with rolefit: whole and pinned, its data sources attributed, chosen by one rule that
never looks at the working directory, refreshed by make package-model; features without their extra
name the pip install."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import rolefit
from rolefit.errors import EXTRA_MODULES, MissingExtra, as_missing_extra, require
from rolefit.ops.package_model import SOURCES, package_model, sources_of
from rolefit.scoring import packaged, signing
from rolefit.scoring.bundle import ESTIMATOR, MANIFEST, BundleError, listed_files, verify_bundle
from rolefit.scoring.loader import choose_model, clear_cache, load_model, project_champion

FOLDER = packaged.folder()


@pytest.fixture(autouse=True)
def no_chosen_model(monkeypatch):
    monkeypatch.delenv("ROLEFIT_MODEL", raising=False)
    clear_cache()
    yield
    clear_cache()


def manifest() -> dict:
    return json.loads((FOLDER / MANIFEST).read_text(encoding="utf-8"))


def test_the_packaged_copy_agrees_with_its_manifest_and_its_pin():
    data = (FOLDER / MANIFEST).read_bytes()
    assert hashlib.sha256(data).hexdigest() == packaged.MANIFEST_SHA256, "run make package-model"
    checked = verify_bundle(FOLDER)  # every listed file against its sha256, the instrument, the schema
    assert checked["files"][ESTIMATOR] is None, "scoring-only: the full estimator is not shipped"
    assert not (FOLDER / ESTIMATOR).exists()
    files = {p.name for p in FOLDER.iterdir()}
    assert files == {MANIFEST, packaged.NOTES, *listed_files(checked)}, "nothing unlisted ships"
    record = checked["packaged"]
    assert record["from_version"] == checked["model_version"] and len(record["from_manifest_sha256"]) == 64


def test_the_packaged_model_answers_from_any_folder_and_says_so(tmp_path, monkeypatch):
    decoy = tmp_path / "models" / "champion"  # the old rule took ./models/champion first
    decoy.mkdir(parents=True)
    (decoy / "CURRENT").write_text('{"bundle": "nope"}')
    monkeypatch.chdir(tmp_path)
    choice = choose_model()
    assert choice.chosen_by in ("project", "packaged") and Path(choice.location) != decoy
    prediction = rolefit.predict({"interest_math": 5}, model=FOLDER)
    info = prediction.to_dict()["model"]
    assert info["version"] == manifest()["model_version"] == prediction.model_version
    assert info["verified"] is True and info["verified_by"].startswith("package (")
    created = manifest()["created_at"]
    assert info["trained_at"] == (created if created[:4].isdigit() else "")
    assert info["published_at"] == (manifest()["packaged"]["published_at"] or "")
    assert info["trained_at"] or info["published_at"], "a date says which model answered"
    assert "kaggle2021" in info["training_sources"]


def test_which_model_answers_argument_then_environment_then_project_then_packaged(tmp_path, monkeypatch):
    assert choose_model(tmp_path / "named").chosen_by == "argument"
    monkeypatch.setenv("ROLEFIT_MODEL", str(tmp_path / "env"))
    assert choose_model(tmp_path / "named") == type(choose_model())(tmp_path / "named", "argument")
    assert choose_model().location == str(tmp_path / "env") and choose_model().chosen_by == "ROLEFIT_MODEL"
    monkeypatch.delenv("ROLEFIT_MODEL")
    if project_champion() is None:  # a checkout without a published champion (a fresh clone, a worktree)
        assert choose_model() == type(choose_model())(FOLDER, "packaged")
        assert load_model().info.chosen_by == "packaged"


def test_the_project_is_the_one_the_package_is_installed_in(tmp_path):
    project = tmp_path / "project"
    package = project / ".venv" / "lib" / "site-packages" / "rolefit"
    package.mkdir(parents=True)
    assert project_champion(package) is None, "no params.yaml: no project"
    (project / "params.yaml").write_text("export:\n  dir: models/published\n")
    assert project_champion(package) is None, "a project without a published champion"
    (project / "models" / "champion").mkdir(parents=True)
    (project / "models" / "champion" / "CURRENT").write_text("{}")
    assert project_champion(package) is None, "export.dir names another folder"
    (project / "models" / "published").mkdir(parents=True)
    (project / "models" / "published" / "CURRENT").write_text("{}")
    assert project_champion(package) == project / "models" / "published"


def test_a_changed_packaged_manifest_is_refused(tmp_path):
    package = tmp_path / "rolefit"
    copy = package / packaged.FOLDER_NAME
    shutil.copytree(FOLDER, copy)
    data = (copy / MANIFEST).read_bytes()
    assert signing.packaged(copy, data, package_dir=package).verified
    changed = data.replace(b'"candidate"', b'"Candidate"')
    with pytest.raises(signing.SignatureError, match=r"pinned in rolefit\.scoring\.packaged"):
        signing.packaged(copy, changed, package_dir=package)
    assert signing.packaged(copy, data, package_dir=tmp_path / "elsewhere") is None


def test_the_data_sources_are_attributed_with_their_licences():
    text = (FOLDER / packaged.NOTES).read_text(encoding="utf-8")
    names = sources_of(manifest())
    assert "kaggle2021" in names
    for name in names:
        assert f"(`{name}`)" in text and SOURCES[name]["licence"] in text
    assert "CC BY 2.0" in text and "Kaggle ML & DS Survey 2021" in text


def test_package_model_copies_scoring_files_and_pins_the_manifest(tmp_path):
    pin = tmp_path / "packaged.py"
    pin.write_text('"""pin"""\nMANIFEST_SHA256 = "old"\n')
    target = tmp_path / "rolefit" / packaged.FOLDER_NAME
    out = package_model(FOLDER, target, pin)
    data = (target / MANIFEST).read_bytes()
    assert f'MANIFEST_SHA256 = "{hashlib.sha256(data).hexdigest()}"' in pin.read_text()
    assert verify_bundle(target, signature=False)["model_version"] == out["model_version"]
    assert out["files"][ESTIMATOR] is None and (target / packaged.NOTES).is_file()
    assert (
        out["packaged"]["from_manifest_sha256"]
        == hashlib.sha256((FOLDER / MANIFEST).read_bytes()).hexdigest()
    )


def test_package_model_refuses_a_source_without_licence_notes(tmp_path):
    from rolefit.ops.package_model import notes

    foreign = {**manifest(), "real_evidence": {"training_sources": ["my_own_survey"]}}
    with pytest.raises(BundleError, match="my_own_survey"):
        notes(foreign)


def test_the_packaged_model_has_no_estimator_to_load():
    from rolefit.scoring.trusted import load_estimator

    with pytest.raises(BundleError, match="scoring-only"):
        load_estimator(FOLDER)


def test_a_feature_without_its_extra_names_the_pip_install():
    with pytest.raises(MissingExtra, match=r'pip install "rolefit\[batch\]"'):
        require("batch", "rolefit.predict_many", ("rolefit_no_such_module",))
    require("batch", "a feature", ("json",))  # present: no error
    error = as_missing_extra(ModuleNotFoundError("No module named 'sklearn'", name="sklearn.base"), "train")
    assert error is not None and 'pip install "rolefit[train]"' in str(error)
    assert as_missing_extra(ModuleNotFoundError("x", name="no_such_thing"), "x") is None
    assert all(modules for modules in EXTRA_MODULES.values())


def test_every_command_is_core_or_names_its_extra():
    from rolefit.apps.cli import COMMAND_EXTRAS, app

    core = {"questionnaire", "predict", "quiz", "next", "what-if"}  # what a core install runs
    names = {command.name or command.callback.__name__ for command in app.registered_commands}
    assert names == core | set(COMMAND_EXTRAS), names ^ (core | set(COMMAND_EXTRAS))
    assert set(COMMAND_EXTRAS.values()) <= set(EXTRA_MODULES)
