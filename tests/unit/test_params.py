import dataclasses
import types

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


def _numeric_leaves(model, path=""):
    """Every number in the params schema: (dotted path, its constraints), read from the annotations."""
    import typing

    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        where = f"{path}{name}"
        annotation, constraints = field.annotation, list(field.metadata)
        while True:
            origin = typing.get_origin(annotation)
            if origin is typing.Annotated:
                inner, *extras = typing.get_args(annotation)
                constraints += [m for e in extras for m in getattr(e, "metadata", [e])]
                annotation = inner
            elif origin in (dict, tuple):  # the values of a mapping, the elements of a tuple
                args = typing.get_args(annotation)
                annotation, constraints = (args[1] if origin is dict else args[0]), []
                where += ".*"
            elif origin in (typing.Union, types.UnionType):
                annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
            else:
                break
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _numeric_leaves(annotation, f"{where}.")
        elif annotation in (int, float):
            yield where, constraints


def test_every_numeric_parameter_has_a_stated_range():
    leaves = dict(_numeric_leaves(Params))
    assert len(leaves) > 40, sorted(leaves)
    assert {
        "build.source_weights.*",
        "synthesize.fit_weights.builder",
        "train.real_evidence.alphas.*",
    } <= set(leaves)
    unbounded = []
    for where, constraints in leaves.items():
        kinds = {type(c).__name__ for c in constraints}
        if not (kinds & {"Ge", "Gt"} and kinds & {"Le", "Lt"}):
            unbounded.append(where)
    assert not unbounded, f"numbers without a lower and an upper bound: {unbounded}"


def test_out_of_range_numbers_are_refused_naming_every_field_and_its_range(tmp_path):
    # the findings: a negative source weight and fit_weights of -1e9 were accepted
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["build"]["source_weights"]["kaggle2021"] = -1.0
    raw["build"]["source_weights"]["stackoverflow2017"] = float("inf")
    raw["synthesize"]["fit_weights"]["builder"] = -1e9
    raw["synthesize"]["item_noise"] = float("nan")
    raw["train"]["real_evidence"]["alphas"] = [1.0, 0.0]
    raw["export"]["gate"]["log_loss_tolerance"] = 2
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError) as info:
        load_params(path)
    message = str(info.value)
    for field, allowed in {
        "build.source_weights.kaggle2021": "0 <= value <= 100",
        "build.source_weights.stackoverflow2017": "0 <= value <= 100",
        "synthesize.fit_weights.builder": "-5 <= value <= 5",
        "synthesize.item_noise": "0 < value <= 5",
        "train.real_evidence.alphas.1": "0 < value <= 1e+06",
        "export.gate.log_loss_tolerance": "0 <= value <= 1",
    }.items():
        named = message.split(f"{field}: got ")
        assert len(named) == 2 and allowed in named[1].split(";")[0], (field, message)
    assert "got -1.0," in message and "got -1000000000.0," in message and "got nan," in message


def test_weights_at_the_edges_of_their_ranges_load(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(
        "build:\n  source_weights: {synthetic: 100, kaggle2021: 0, stackoverflow2017: 0}\n"
        "synthesize:\n  fit_weights: {builder: -5, analytical: 5, research: 0, pace: -0.45}\n"
    )
    params = load_params(path)
    assert params.build.source_weights["kaggle2021"] == 0 and params.synthesize.fit_weights.builder == -5
    path.write_text("build:\n  source_weights: {synthetic: 0}\n")
    with pytest.raises(ValueError, match=r"build\.source_weights\.synthetic: got 0, allowed 0 < value"):
        load_params(path)


def test_the_params_the_tests_train_with_are_in_range(tmp_path, champion_params):
    from tests.e2e.helpers import small_params

    assert Params.model_validate(champion_params.model_dump()) == champion_params  # the small champion
    assert load_params(small_params(tmp_path / "small.yaml")).synthesize.n_respondents == 20_000
    worse = small_params(tmp_path / "worse.yaml", **{  # tests/e2e/test_mlflow.py's refused model
        "logistic: {alpha: 1.0, max_iter: 1000}": "logistic: {alpha: 100000000.0, max_iter: 1000}"
    })  # fmt: skip
    assert load_params(worse).train.logistic.alpha == 1e8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{candidates: [logistic, logistic]}", "names a block twice"),
        ("{candidates: [forest]}", r"train\.real_evidence\.candidates"),
        ("{candidates: []}", r"train\.real_evidence\.candidates"),
        ("{boosting: {learning_rates: [0.0], max_leaves: 1}}", r"learning_rates(.|\n)*max_leaves"),
    ],
)
def test_real_block_candidates_and_boosting_settings_are_checked(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(f"train:\n  real_evidence: {text}\n")
    with pytest.raises(ValueError, match=message):
        load_params(path)
