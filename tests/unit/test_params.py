import dataclasses

import pytest
import yaml

from rolefit.config import Params, load_params

from ..conftest import ROOT


def test_params_file_loads_and_matches_defaults():
    assert load_params(ROOT / "params.yaml") == Params()


def test_unknown_keys_are_rejected_with_their_path(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["train"]["logistic"]["alpah"] = 2
    raw["synthesize"]["n_respondent"] = 10
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError) as info:
        load_params(path)
    assert "train.logistic.alpah" in str(info.value)
    assert "synthesize.n_respondent" in str(info.value)


def test_bad_values_are_rejected(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("build:\n  fractions: {train: 0.9, calibration: 0.1, validation: 0.1, test: 0.1}\n")
    with pytest.raises(ValueError, match="sum to 1"):
        load_params(path)


def test_params_are_frozen():
    params = Params()
    with pytest.raises((TypeError, ValueError, dataclasses.FrozenInstanceError)):
        params.train.seed = 3
