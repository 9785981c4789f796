import json
import shutil

import pytest

from rolefit.bundle import BundleError, load_additive, load_estimator, verify_bundle


@pytest.fixture()
def bundle(champion, tmp_path):
    _, path = champion
    copy = tmp_path / "bundle"
    shutil.copytree(path, copy)
    return copy


def test_manifest_records_lineage_and_metrics(bundle):
    manifest = verify_bundle(bundle)
    assert manifest["instrument"]["version"] == "1.0" and len(manifest["instrument"]["sha256"]) == 64
    assert len(manifest["training_data"]["sha256"]) == 64
    assert manifest["training_data"]["rows"]["by_source"]["synthetic"] == 100_000
    assert manifest["training_data"]["rows"]["total"] == sum(
        manifest["training_data"]["rows"]["by_source"].values()
    )
    assert set(manifest["files"]) == {"scoring.json", "model.skops", "reference.json"}
    assert {"scikit-learn", "numpy", "python"} <= set(manifest["libraries"])
    test = manifest["metrics"]["test/synthetic"]
    assert {"log_loss", "bayes_log_loss", "log_loss_ratio_to_bayes", "ece", "roc_auc"} <= set(test)


@pytest.mark.parametrize("name", ["scoring.json", "model.skops", "reference.json"])
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
