"""The fit (issue #24): its file, its uncertainty formula, its start, and the Prediction's shape.

The fit's model quality and the personas are in tests/model/test_fit_acceptance.py.
"""

import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

import rolefit
from rolefit.atomic import sha256_file
from rolefit.instrument.items import load_instrument
from rolefit.model.uncertainty import ASSUMED_WIDTHS, FIT_START, FitModel, certainty_factor
from rolefit.scoring.bundle import FIT, MANIFEST, BundleError, load_additive, load_fit, sign_bundle
from rolefit.scoring.loader import clear_cache

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENT = load_instrument()
MATHS = {"interest_math": 5, "interest_data_patterns": 5, "skill_statistics": 5, "skill_linear_algebra": 5}
EVERYTHING = {
    **{i.id: 4 for i in INSTRUMENT.items if i.kind == "scale"},
    "career_goal": "applied_scientist",
    "years_coding": 3,
    "years_ml": 1,
    "education": "master",
    **{i.id: 1 for i in INSTRUMENT.items if i.kind == "binary"},
    "ml_frameworks_used": 2,
}


@pytest.fixture()
def bundle(champion, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(champion[1], copy)
    clear_cache()
    yield copy
    clear_cache()


def rewrite_fit(bundle, change):
    """Change fit.json with ``change(data)``, re-hash it and re-sign the manifest."""
    data = json.loads((bundle / FIT).read_text())
    change(data)
    (bundle / FIT).write_text(json.dumps(data))
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"][FIT] = sha256_file(bundle / FIT)
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    sign_bundle(bundle)


def test_the_widths_in_params_are_the_documented_defaults():
    """params.yaml's widths, the typed defaults and the widths older bundles are rebuilt with agree."""
    from rolefit.config import FitWidths

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]["fit"]["widths"]
    assert raw == FitWidths().model_dump() == ASSUMED_WIDTHS
    assert set(raw) == {"interests", "skills", "preferences", "goal"}


def test_certainty_factor_is_the_probit_approximation():
    assert certainty_factor(0.0) == 1.0
    assert certainty_factor(8 / math.pi) == pytest.approx(1 / math.sqrt(2))
    # the probit approximation of the logistic-normal integral, against numerical integration
    mu, s2 = 2.0, 1.5
    grid = [mu + math.sqrt(s2) * (k / 200 - 8) for k in range(3201)]
    weights = [math.exp(-((x - mu) ** 2) / (2 * s2)) for x in grid]
    exact = sum(w / (1 + math.exp(-x)) for x, w in zip(grid, weights, strict=True)) / sum(weights)
    assert 1 / (1 + math.exp(-certainty_factor(s2) * mu)) == pytest.approx(exact, abs=0.01)


def test_the_fit_is_the_headline_and_reads_only_fit_items(champion, use_model):
    use_model(champion[1])
    p = rolefit.predict(EVERYTHING)
    assert {e["item"] for e in p.explanations} == set(INSTRUMENT.fit_ids)
    assert {e["item"] for e in p.all_answers.explanations} == set(EVERYTHING)
    assert p.baseline_log_odds == FIT_START and p.base_rate == 0.5
    assert p.baseline_log_odds + math.fsum(e["effect"] for e in p.explanations) == pytest.approx(
        p.log_odds, abs=1e-12
    )
    assert p.probabilities["mle"] == pytest.approx(1 / (1 + math.exp(-p.log_odds)), abs=1e-15)
    a = p.all_answers
    assert a.baseline_log_odds + math.fsum(e["effect"] for e in a.explanations) == pytest.approx(a.log_odds)
    assert a.probabilities["mle"] == pytest.approx(1 / (1 + math.exp(-a.log_odds)), abs=1e-15)
    # experience answers never move the fit
    without = rolefit.predict({k: v for k, v in EVERYTHING.items() if k in INSTRUMENT.fit_ids})
    assert without.probabilities == p.probabilities and without.explanations == p.explanations
    assert without.all_answers.probabilities != p.all_answers.probabilities


def test_predict_follows_the_stated_formula(champion, use_model):
    """p = sigmoid(start + k * mu), k = 1 / sqrt(1 + pi * s2 / 8), s2 = sum of (width * effect)^2."""
    use_model(champion[1])
    fit = champion[0].fit.model
    for answers in (MATHS, EVERYTHING, {"interest_math": 2, "pref_fast_job_entry": 5}):
        p = rolefit.predict(answers)
        clean = {k: INSTRUMENT[k].coerce(v) for k, v in answers.items()}
        effects = fit.additive.contributions({k: v for k, v in clean.items() if k in fit.additive.tables})
        s2 = sum((fit.uncertainty[k].width * e) ** 2 for k, e in effects.items())
        k = 1 / math.sqrt(1 + math.pi * s2 / 8)
        assert p.uncertainty["factor"] == pytest.approx(k, abs=1e-12)
        assert p.uncertainty["variance"] == pytest.approx(s2, abs=1e-12)
        assert p.log_odds == pytest.approx(k * sum(effects.values()), abs=1e-12)
        reported = {e["item"]: e["effect"] for e in p.explanations}
        assert reported == pytest.approx({item: k * e for item, e in effects.items()}, abs=1e-12)
        z, factor, _ = fit.log_odds(clean)
        assert (p.log_odds, p.uncertainty["factor"]) == pytest.approx((z, factor), abs=1e-12)
        assert k < 1  # every answer here rests on assumed effects


def test_base_rate_moves_only_the_start(champion, use_model):
    use_model(champion[1])
    p, q = rolefit.predict(MATHS), rolefit.predict(MATHS, base_rate=0.04)
    assert q.baseline_log_odds == pytest.approx(math.log(0.04 / 0.96), abs=1e-12) and q.base_rate == 0.04
    assert q.explanations == p.explanations and q.uncertainty == p.uncertainty
    assert q.log_odds - p.log_odds == pytest.approx(math.log(0.04 / 0.96), abs=1e-12)
    assert rolefit.predict({}, base_rate=0.3).probabilities["mle"] == pytest.approx(0.3)


def test_no_fit_answer_is_no_information(champion, use_model):
    use_model(champion[1])
    p = rolefit.predict({"years_coding": 4, "uses_python": 1, "skill_python": 5})
    assert p.probabilities == {"swe": 0.5, "mle": 0.5} and p.log_odds == 0.0
    assert (p.verdict, p.prediction_set, p.explanations) == ("no-information", ["swe", "mle"], [])
    assert p.all_answers.verdict != "no-information" and p.all_answers.explanations


def test_to_dict_carries_both_models_by_name(champion, use_model):
    use_model(champion[1])
    p = rolefit.predict(EVERYTHING)
    out = json.loads(json.dumps(p.to_dict()))
    assert out["probabilities"] == pytest.approx(p.probabilities)
    assert out["all_answers"]["probabilities"] == pytest.approx(p.all_answers.probabilities)
    assert out["all_answers"]["meaning"].startswith("people with all your answers work as")
    assert out["readiness"] == p.readiness.to_dict() and out["readiness"]["roles"]["mle"]["items"]
    assert out["uncertainty"] == pytest.approx(p.uncertainty)
    assert {e["evidence"]["uncertainty"]["kind"] for e in out["explanations"]} == {"relative"}
    assert len(out["all_answers"]["explanations"]) == len(EVERYTHING)


def test_predict_many_equals_predict_for_both_models(champion, use_model):
    import numpy as np

    from tests.model.test_exactness import random_answers

    use_model(champion[1])
    frame = random_answers(400, seed=11)
    out = rolefit.predict_many(frame, top_k=3)
    assert list(out.columns[:8]) == ["p_swe", "p_mle", "role", "prediction_set", "verdict", "reason_1",
                                     "reason_2", "reason_3"]  # fmt: skip
    assert list(out.columns[8:13]) == ["all_answers_p_swe", "all_answers_p_mle", "all_answers_role",
                                       "all_answers_prediction_set", "all_answers_verdict"]  # fmt: skip
    assert list(out.columns[13:]) == ["readiness_swe_gaps", "readiness_swe_top_gap", "readiness_mle_gaps",
                                      "readiness_mle_top_gap"]  # fmt: skip
    for i in range(len(frame)):
        answers = {k: v for k, v in frame.iloc[i].items() if v is not None and v == v}
        p = rolefit.predict(answers)
        row = out.iloc[i]
        assert row["p_mle"] == pytest.approx(p.probabilities["mle"], abs=1e-12)
        assert (row["role"], row["verdict"], row["prediction_set"]) == (
            p.role, p.verdict, ",".join(p.prediction_set)
        )  # fmt: skip
        moved = [e["item"] for e in p.explanations if e["effect"] != 0][:3]
        assert [r for r in row[["reason_1", "reason_2", "reason_3"]] if isinstance(r, str)] == moved
        a = p.all_answers
        assert row["all_answers_p_mle"] == pytest.approx(a.probabilities["mle"], abs=1e-12)
        assert (row["all_answers_role"], row["all_answers_verdict"], row["all_answers_prediction_set"]) == (
            a.role, a.verdict, ",".join(a.prediction_set)
        )  # fmt: skip
    assert np.allclose(out["p_swe"] + out["p_mle"], 1.0)


def test_fit_json_is_listed_checked_and_refused_when_changed(bundle):
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["files"][FIT] == sha256_file(bundle / FIT)
    assert manifest["fit"]["widths"] == ASSUMED_WIDTHS
    text = (bundle / FIT).read_text()
    (bundle / FIT).write_text(text.replace('"start": 0.0', '"start": 0.0 '))
    with pytest.raises(BundleError, match=r"fit\.json .*does not match its checksum"):
        rolefit.predict({}, model=str(bundle))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.__setitem__("start", 0.5), "start"),
        (lambda d: d["uncertainty"].pop("interest_math"), "uncertainty must name exactly"),
        (lambda d: d["uncertainty"].__setitem__("interest_math", {"kind": "relative", "width": -1}), "width"),
        (lambda d: d["uncertainty"].__setitem__("interest_math", {"kind": "guess"}), "kind"),
        (
            lambda d: d["uncertainty"].__setitem__("interest_math", {"kind": "sd", "sd": [0.1]}),
            "one number per",
        ),
        (lambda d: d["tables"].pop("interest_math"), "fit items|name|miss"),
        (lambda d: d["tables"].__setitem__("years_ml", d["tables"]["interest_math"]), "fit items|name|miss"),
    ],
)
def test_a_malformed_fit_is_refused_naming_the_cause(bundle, change, message):
    rewrite_fit(bundle, change)
    additive, manifest = load_additive(bundle)
    with pytest.raises(BundleError, match=message):
        load_fit(bundle, manifest, additive)


def test_effects_marked_real_with_a_small_sd_are_more_certain(bundle):
    """The same answers resting on real evidence (a small sd) give a surer fit than on assumptions."""
    levels = len(json.loads((bundle / FIT).read_text())["tables"]["interest_math"]["values"])

    def real(data):
        for item in MATHS:
            data["uncertainty"][item] = {"kind": "sd", "sd": [0.05] * levels}

    assumed = rolefit.predict(MATHS, model=str(bundle))
    rewrite_fit(bundle, real)
    clear_cache()
    measured = rolefit.predict(MATHS, model=str(bundle))
    assert assumed.role == measured.role == "mle"
    assert measured.probabilities["mle"] > assumed.probabilities["mle"]
    assert measured.uncertainty["factor"] > assumed.uncertainty["factor"]
    assert {e["evidence"]["uncertainty"]["kind"] for e in measured.explanations} == {"sd"}
    import pandas as pd

    row = rolefit.predict_many(pd.DataFrame([MATHS]), model=str(bundle)).iloc[0]
    assert row["p_mle"] == pytest.approx(measured.probabilities["mle"], abs=1e-12)


def test_a_bundle_without_fit_json_gets_its_fit_rebuilt(bundle):
    """Bundles from before the fit: rebuilt from scoring.json's fit-item tables, an even start and the
    assumed widths; the all-answers model is unchanged."""
    before = rolefit.predict(EVERYTHING, model=str(bundle))
    (bundle / FIT).unlink()
    manifest = json.loads((bundle / MANIFEST).read_text())
    del manifest["files"][FIT]
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    sign_bundle(bundle)
    clear_cache()
    after = rolefit.predict(EVERYTHING, model=str(bundle))
    assert after.all_answers == before.all_answers
    additive, manifest = load_additive(bundle)
    fit = load_fit(bundle, manifest, additive)
    assert fit.rebuilt_from and manifest["model_version"] in fit.rebuilt_from
    assert set(fit.additive.tables) == set(INSTRUMENT.fit_ids)
    assert all(fit.additive.tables[i] == additive.tables[i] for i in INSTRUMENT.fit_ids)
    assert {u.width for u in fit.uncertainty.values()} == set(ASSUMED_WIDTHS.values())
    assert rolefit.predict({}, model=str(bundle)).probabilities["mle"] == 0.5
    assert {e["item"] for e in after.explanations} == set(INSTRUMENT.fit_ids)


def test_the_fit_is_trained_on_enough_synthetic_respondents(champion, champion_params):
    """However many the all-answers model had (20,000 for the small champion), the fit's effects come
    from at least train.fit.synthetic_respondents synthetic respondents."""
    result, path = champion
    wanted = champion_params.train.fit.synthetic_respondents
    assert wanted == 100_000
    assert result.fit.synthetic_respondents >= wanted
    assert json.loads((path / MANIFEST).read_text())["fit"]["synthetic_respondents"] >= wanted
    assert result.data["rows"]["by_source"]["synthetic"] == champion_params.synthesize.n_respondents


def test_fit_round_trips_through_its_file(champion):
    fit = champion[0].fit.model
    again = FitModel.from_dict(json.loads(json.dumps(fit.to_dict())))
    assert again.additive.tables == fit.additive.tables and again.uncertainty == fit.uncertainty
    assert again.start == fit.start == 0.0 and again.widths == fit.widths
