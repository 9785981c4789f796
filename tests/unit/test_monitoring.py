"""Monitoring's core on synthetic respondents (labels drawn from a known p_true, no model needed):
a fresh sample of the same people says no retraining, a moved population or a worse score says retrain,
and the report names the items that moved with their direction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rolefit.config import Params, SynthesizeParams
from rolefit.data.distributions import profile, reference
from rolefit.data.synthetic import generate, read_marginals
from rolefit.evaluation import monitor_report
from rolefit.evaluation.drift import pooled
from rolefit.evaluation.monitoring import compare_profiles, monitor, recommend
from rolefit.model.metrics import summary

from ..conftest import ROOT

PARAMS = Params()


def people(n: int, seed: int, **changes) -> pd.DataFrame:
    marginals = read_marginals(ROOT / "data/reference/survey_marginals.csv")
    frame = generate(SynthesizeParams(**changes), marginals, n=n, seed=seed, id_prefix=f"s{seed}")
    return frame.assign(source="survey")


@pytest.fixture(scope="module")
def champion_view():
    """What a bundle holds about a champion trained on one survey: its reference profiles (training
    split, per role) and the manifest's test figures (from the labels' own p_true)."""
    train = people(4000, 1).assign(split="train")
    test = people(1500, 2)
    figures = summary((test["role"] == "mle").astype(int).to_numpy(), test["p_true"].to_numpy())
    manifest = {
        "model_version": "test-1",
        "metrics": {"test/survey": figures},
        "params": {"ingest": {"sources": {"survey": {"role": "train"}}}, "build": {"source_weights": {}}},
    }
    return reference(train), manifest


def run(frame, champion_view, p=None, n_boot=100):
    ref, manifest = champion_view
    p = frame["p_true"].to_numpy() if p is None else p
    return monitor(frame, ref, manifest, p, PARAMS, n_boot=n_boot, seed=0)


def test_a_fresh_sample_of_the_same_people_needs_no_retraining(champion_view):
    report = run(people(1500, 3), champion_view)
    source = report["sources"]["survey"]
    assert report["recommendation"] == "no_retrain" and source["reasons"] == []
    earlier = source["against_earlier"]
    assert max(v["psi"] for v in earlier["items"].values()) < 0.05
    assert all(v["psi_interval"][1] < PARAMS.drift.psi_alarm for v in earlier["items"].values())
    assert source["performance"]["worse"] == []
    # the per-role view compares each role with the same role in training
    assert set(source["by_role"]) == {"swe", "mle"}


def test_a_moved_population_says_retrain_naming_the_items_and_their_direction(champion_view):
    moved = people(1500, 4, fit_intercept=1.5, role_effect=1.5)
    report = run(moved, champion_view)
    source = report["sources"]["survey"]
    assert report["recommendation"] == "retrain"
    assert any("share of ML engineers changed" in reason for reason in source["reasons"])
    top_id = source["against_earlier"]["ranking"][0]
    top = source["against_earlier"]["items"][top_id]
    assert top["psi"] == max(v["psi"] for v in source["against_earlier"]["items"].values())
    text = monitor_report.markdown(report)
    assert "Retrain" in text and f"`{top_id}`" in text and monitor_report.describe_move(top_id, top) in text
    # a population with more ML engineers moves MLE-leaning items towards ML engineering
    towards = [v.get("towards") for v in source["against_earlier"]["items"].values() if "towards" in v]
    assert towards.count("mle") > towards.count("swe")


def test_worse_predictions_than_the_champions_own_test_figures_say_retrain(champion_view):
    frame = people(1500, 5)
    rng = np.random.default_rng(0)
    noisy = np.clip(frame["p_true"].to_numpy() + rng.normal(0, 0.3, len(frame)), 0.01, 0.99)
    report = run(frame, champion_view, p=noisy)
    perf = report["sources"]["survey"]["performance"]
    assert report["recommendation"] == "retrain" and "log_loss" in perf["worse"]
    assert perf["intervals"]["log_loss"][0] > perf["champion"]["log_loss"]
    assert any("log loss" in reason for reason in report["sources"]["survey"]["reasons"])


def test_unlabelled_new_population_asks_for_labels_first(champion_view):
    ref, manifest = champion_view
    other = (
        people(1500, 6, fit_intercept=1.5, role_effect=1.5).assign(source="elsewhere").drop(columns="role")
    )
    report = monitor(other, ref, manifest, None, PARAMS, n_boot=50)
    source = report["sources"]["elsewhere"]
    assert source["against_earlier"] is None and source["performance"] is None
    assert report["recommendation"] == "label_first"
    # the same rows labelled and scored as well as the champion's figures: no retraining
    labelled = people(1500, 6).assign(source="elsewhere")
    assert run(labelled, champion_view)["sources"]["elsewhere"]["recommendation"] == "no_retrain"


def test_a_known_difference_is_a_note_not_a_reason():
    fake = {"against_earlier": {"items": {}}, "performance": None}
    moved = {"items": {"uses_python": {"psi": 1.2, "psi_interval": [1.0, 1.4], "missing_shift": 0.0}}}
    verdict = recommend({**fake, "against_training": moved}, PARAMS.drift)
    assert verdict["recommendation"] == "no_retrain" and verdict["reasons"] == []
    assert "uses_python" in verdict["notes"][0]
    verdict = recommend({**fake, "against_earlier": moved, "against_training": moved}, PARAMS.drift)
    assert verdict["recommendation"] == "retrain" and "uses_python" in verdict["reasons"][0]


def test_psi_interval_widens_with_fewer_answers():
    frame = people(3000, 7)
    ref = profile(frame)
    few = compare_profiles(profile(people(100, 8)), ref, n_boot=200, seed=0)["items"]["interest_math"]
    many = compare_profiles(profile(people(3000, 9)), ref, n_boot=200, seed=0)["items"]["interest_math"]
    assert few["psi_interval"][1] - few["psi_interval"][0] > many["psi_interval"][1] - many["psi_interval"][0]


def test_pooled_profiles_weight_by_who_answered():
    a = {"n": 100, "mle_share": 0.5, "items": {"uses_python": {"answered": 100, "missing": 0.0,
                                                               "shares": {"0": 1.0}}}}  # fmt: skip
    b = {"n": 300, "mle_share": 0.1, "items": {"uses_python": {"answered": 150, "missing": 0.5,
                                                               "shares": {"1": 1.0}}}}  # fmt: skip
    both = pooled([a, b])
    assert both["items"]["uses_python"]["shares"] == {"0": 0.4, "1": 0.6}
    assert both["items"]["uses_python"]["missing"] == pytest.approx(150 / 400)
    assert both["mle_share"] == pytest.approx((50 + 30) / 400)


def test_the_html_page_is_self_contained_and_escaped(champion_view):
    report = run(people(500, 10), champion_view, n_boot=20)
    report["model_version"] = "<script>alert(1)</script>"
    page = monitor_report.to_html(monitor_report.markdown(report), "monitor")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<table>" in page and "http" not in page and "No retraining needed." in page


def test_ece_counts_as_worse_only_beyond_chance(champion_view):
    """A small calibrated sample's ECE is high by chance alone and is not a reason; probabilities moved a
    whole log-odds unit are miscalibrated beyond chance and are."""
    from rolefit.evaluation.metrics import shifted

    small = people(150, 11)
    calm = run(small, champion_view)["sources"]["survey"]["performance"]
    assert calm["metrics"]["ece"] > champion_view[1]["metrics"]["test/survey"]["ece"]
    assert "ece" not in calm["worse"] and calm["calibration_check_p"] >= 0.05
    frame = people(1500, 12)
    off = run(frame, champion_view, p=shifted(frame["p_true"].to_numpy(), 1.0))["sources"]["survey"]
    assert "ece" in off["performance"]["worse"] and off["recommendation"] == "retrain"
