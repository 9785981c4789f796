"""Pipeline outputs that depend on their content alone (issue #27 item 1) and reports that follow the
champion, with a refusal that says what changed and what to try (item 2)."""

import copy
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rolefit.config import load_params
from rolefit.data.parquet import write_parquet
from rolefit.evaluation import refusal
from rolefit.evaluation.drift import psi
from rolefit.evaluation.gate import GateVerdict
from rolefit.evaluation.reports import rounded
from rolefit.ops import release
from rolefit.scoring.bundle import canonical_skops, content_version


def test_parquet_bytes_depend_on_the_rows_alone(tmp_path):
    frame = pd.DataFrame({"a": [1.5, None, 3.0], "b": ["x", "y", None]})
    first, second = (
        write_parquet(frame, tmp_path / "1.parquet"),
        write_parquet(frame.copy(), tmp_path / "2.parquet"),
    )
    assert first.read_bytes() == second.read_bytes()
    pandas_meta = json.loads(pq.read_metadata(first).metadata[b"pandas"])
    assert "pandas_version" not in pandas_meta and "creator" not in pandas_meta
    pd.testing.assert_frame_equal(pd.read_parquet(first), frame)
    changed = write_parquet(frame.assign(a=[1.5, None, 3.5]), tmp_path / "3.parquet")
    assert changed.read_bytes() != first.read_bytes()


def test_skops_files_are_canonical(tmp_path):
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X = np.random.default_rng(0).random((60, 3))
    model = make_pipeline(LogisticRegression()).fit(X, X[:, 0] > 0.5)
    other = copy.deepcopy(model)  # equal, at other memory addresses (which skops writes)
    raw = []
    for name, estimator in (("a", model), ("b", other)):
        skops.io.dump(estimator, tmp_path / f"{name}.skops")
        raw.append((tmp_path / f"{name}.skops").read_bytes())
        canonical_skops(tmp_path / f"{name}.skops")
    assert raw[0] != raw[1]
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    path = tmp_path / "a.skops"
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_the_model_version_is_derived_from_content():
    manifest = {
        "files": {"scoring.json": "a" * 64},
        "training_data": {"sha256": "b" * 64},
        "params": {"x": 1},
    }
    version = content_version(manifest)
    assert version == content_version({**manifest, "created_at": "whenever", "model_version": "old"})
    assert version != content_version({**manifest, "params": {"x": 2}})
    assert version != content_version({**manifest, "files": {"scoring.json": "c" * 64}})
    assert len(version) == 12 and version.isalnum()


def test_psi_and_reported_numbers_do_not_depend_on_order():
    new, ref = {"1": 0.1, "2": 0.25, "3": 0.65}, {"1": 0.3, "2": 0.3, "3": 0.4}
    backwards = dict(reversed(list(new.items())))
    assert psi(new, ref) == psi(backwards, dict(reversed(list(ref.items()))))
    assert rounded({"x": [0.1 + 0.2, np.float64(1 / 3)], "n": 3}) == {"x": [0.3, 0.3333333333], "n": 3}


def test_p_true_is_rounded_inside_zero_and_one():
    from rolefit.data.synthetic import P_TRUE_DECIMALS, _posterior

    p = _posterior(np.array([-40.0, -1.2345678901, 0.0, 40.0]))
    assert np.array_equal(p, np.round(p, P_TRUE_DECIMALS))
    assert (p > 0).all() and (p < 1).all() and p[2] == 0.5


def manifest(weights, effects, measured, version):
    return {
        "model_version": version,
        "params": {
            "build": {"source_weights": weights},
            "ingest": {"sources": {"kaggle2021": {"role": "train"}}},
        },
        "training_data": {"rows": {"by_source": {"synthetic": 100, "kaggle2021": 50}}},
        "real_evidence": {
            "effects": [{"item": item, "answer": 1.0, "effect": value} for item, value in effects.items()],
            "measured_items": measured,
        },
    }


def test_a_refusal_says_what_changed_and_which_settings_would_address_it():
    params = load_params()
    champion = manifest({"kaggle2021": 1.0}, {"skill_python": 0.5, "uses_sql": 0.2},
                        {"skill_python": {"kaggle2021": 40}}, "old")  # fmt: skip
    challenger = manifest({"kaggle2021": 0.2}, {"skill_python": 0.9, "uses_sql": 0.21},
                          {"skill_python": {"kaggle2021": 40}}, "new")  # fmt: skip
    row = {"source": "kaggle2021", "n": 900, "metric": "log_loss", "challenger": 0.49, "champion": 0.46,
           "baseline": 0.47, "difference": 0.03, "low": 0.02, "high": 0.04, "tolerance": 0.005,
           "worse": True}  # fmt: skip
    reason = "kaggle2021 is worse than the champion v1: log loss 0.4900 against 0.4600"
    verdict = GateVerdict(passed=False, reasons=[reason], table=[row])
    explained = refusal.explain(verdict, challenger, champion, params)
    assert explained["changed"]["weights"] == {"kaggle2021": {"champion": 1.0, "challenger": 0.2}}
    assert [m["item"] for m in explained["changed"]["items_moved"]] == ["skill_python"]  # uses_sql: 0.01
    settings = {s["setting"]: s for s in explained["suggestions"]}
    assert "export.gate.per_source.kaggle2021.log_loss_tolerance" in settings
    assert "went from 1 to 0.2" in settings["build.source_weights.kaggle2021"]["why"]
    assert settings["ingest.sources.kaggle2021.role"]["now"] == "train"
    text = refusal.markdown(explained, verdict.markdown())
    assert reason in text and "kaggle2021 weight: 1.0 → 0.2" in text and "skill_python: up to 0.40" in text
    assert "`export.gate.per_source.kaggle2021.log_loss_tolerance` (now the default 0.005)" in text
    # a first model has nothing to compare with, and a passing verdict needs no advice
    alone = refusal.explain(GateVerdict(passed=True, reasons=[]), challenger, None, params)
    assert alone["changed"] == {"champion": None} and alone["suggestions"] == []


def test_a_refusal_names_a_changed_setting_and_the_pooled_items_it_moved():
    """A behaviour check failed after a setting changed (pooled_sources): the refusal names the setting,
    the pooled items whose corrections moved with their respondents, and suggests setting it back."""
    params = load_params()
    champion = manifest({"kaggle2021": 1.0}, {}, {}, "old")
    challenger = manifest({"kaggle2021": 1.0}, {}, {}, "new")
    challenger["params"]["train"] = {"real_evidence": {"pooled_sources": ["stackoverflow2017"]}}
    champion["params"]["train"] = {"real_evidence": {"pooled_sources": []}}
    challenger["real_evidence"]["pooled"] = {
        "sources": ["stackoverflow2017"],
        "levels": [
            {"item": "interest_debugging", "level": 0, "correction": -0.3, "respondents": 40},
            {"item": "interest_debugging", "level": 1, "correction": 0.1, "respondents": 60},
            {"item": "interest_math", "level": 0, "correction": 0.0, "respondents": 0},
        ],
    }
    reason = "behaviour check failed: archetype: every mle-lean item high (expected mle with p >= 0.95)"
    explained = refusal.explain(GateVerdict(passed=False, reasons=[reason]), challenger, champion, params)
    changed = explained["changed"]
    assert changed["settings"] == {
        "train.real_evidence.pooled_sources": {"champion": [], "challenger": ["stackoverflow2017"]}
    }
    assert [m["item"] for m in changed["items_moved"]] == ["interest_debugging"]
    assert changed["items_moved"][0]["sources_challenger"] == {"stackoverflow2017 (pooled)": 100}
    settings = {s["setting"]: s for s in explained["suggestions"]}
    assert "set it back" in settings["train.real_evidence.pooled_sources"]["why"]
    text = refusal.markdown(explained)
    assert "setting `train.real_evidence.pooled_sources`: [] → ['stackoverflow2017']" in text
    assert "interest_debugging: up to 0.30; respondents none → stackoverflow2017 (pooled) 100" in text


def test_promotion_copies_the_challengers_reports_up(tmp_path):
    challenger = tmp_path / release.CHALLENGER_REPORTS
    (challenger / "plots" / "roc").mkdir(parents=True)
    (challenger / "plots" / "roc" / "kaggle2021.csv").write_text("fpr,tpr\n")
    (challenger / "metrics.json").write_text('{"new": 1}\n')
    (challenger / "refusal.md").write_text("an old refusal\n")
    (tmp_path / "reports" / "plots" / "roc").mkdir(parents=True)
    (tmp_path / "reports" / "plots" / "roc" / "gone.csv").write_text("fpr,tpr\n")
    copied = release.follow_champion(tmp_path)
    assert copied == ["metrics.json", "plots"]
    assert (tmp_path / "reports/metrics.json").read_text() == '{"new": 1}\n'
    assert sorted(p.name for p in (tmp_path / "reports/plots/roc").iterdir()) == ["kaggle2021.csv"]
    assert not (challenger / "refusal.md").exists()


@pytest.mark.parametrize(
    ("gate", "code", "expected"),
    [
        ({"model_version": "abc", "passed": False, "experiment": False}, 255, 4),
        ({"model_version": "old", "passed": False, "experiment": False}, 255, 255),  # an earlier refusal
        ({"model_version": "abc", "passed": True, "experiment": False}, 255, 255),  # another stage failed
        ({"model_version": "abc", "passed": False, "experiment": True}, 255, 255),
        (None, 255, 255),
        (None, 0, 0),
    ],
)
def test_make_run_exits_4_on_this_runs_refusal(tmp_path, monkeypatch, gate, code, expected):
    import rolefit.scoring.bundle as bundle

    monkeypatch.setattr(bundle, "read_manifest", lambda _: {"model_version": "abc"})
    if gate is not None:
        (tmp_path / "reports").mkdir()
        (tmp_path / "reports/gate.json").write_text(json.dumps(gate))
    assert release.exit_code_after_repro(tmp_path, code) == expected
