"""The tools questions' gains (issue #26 item 2): the candidate instrument, the paired comparison and the
reports (the measurement itself on Kaggle 2021 is the item_gains stage: reports/item_gains.json)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rolefit.data.adapters.kaggle2021 import KAGGLE_TOOL_QUESTIONS
from rolefit.instrument.items import load_instrument
from rolefit.model.item_gains import candidate_instrument, format_gains, question_gains

REPORT = Path(__file__).parents[2] / "reports" / "item_gains.json"


def test_the_candidate_instrument_adds_every_question_not_asked_as_it_would_ship():
    shipped = load_instrument()
    candidates = candidate_instrument()
    assert candidates.items[: len(shipped.items)] == shipped.items
    assert {q.id for q in candidates.questions} == set(KAGGLE_TOOL_QUESTIONS)
    for question in candidates.questions:
        assert tuple(KAGGLE_TOOL_QUESTIONS[question.id][1]) == question.items
        for item_id in question.items:
            item = candidates[item_id]
            assert (item.kind, item.lean, item.part, item.group) == ("binary", "none", "experience", "tools")
    assert candidates.sha256 != shipped.sha256  # never mistaken for the shipped instrument


def _rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Respondents whose role is told by years_ml and by one IDE (the rest of the options are noise)."""
    rng = np.random.default_rng(seed)
    mle = rng.random(n) < 0.4
    frame = pd.DataFrame({"role": np.where(mle, "mle", "swe")})
    frame["years_ml"] = np.where(mle, rng.choice([0.5, 1.5, 4.5], n), rng.choice([0.0, 0.5, 1.5], n))
    tools = KAGGLE_TOOL_QUESTIONS
    for _, items in tools.values():
        for item in items:
            frame[item] = (rng.random(n) < 0.3).astype(float)
    frame["ide_jupyter"] = (rng.random(n) < np.where(mle, 0.9, 0.1)).astype(float)
    frame.loc[: n // 10, list(tools["ides"][1])] = np.nan  # a tenth skipped the question
    return frame


@pytest.mark.slow
def test_a_telling_question_gains_and_is_kept_and_noise_is_not():
    rows = _rows(600)
    gains = question_gains(
        rows, ["years_ml"], base_log_odds=-0.4, weights=np.ones(len(rows)), alphas=(1.0, 10.0), inner_folds=3,
        folds=3, bootstrap=200, questions=["ides", "nlp_methods"],
    )  # fmt: skip
    ides, nlp = gains["questions"]["ides"], gains["questions"]["nlp_methods"]
    assert ides["kept"] and ides["low"] > 0 and ides["gain"] > 0.05
    assert not nlp["kept"] and nlp["low"] < 0
    assert ides["respondents"] == len(rows) - (len(rows) // 10 + 1)
    # paired: the gain is the base's log loss minus the question's
    assert ides["gain"] == pytest.approx(gains["base_log_loss"] - ides["log_loss"])
    text = format_gains(gains)
    assert "| ides | 10 |" in text and "| yes |" in text and "| no |" in text


def test_the_committed_report_decides_what_the_instrument_asks():
    """Every candidate question was measured; the asked ones are exactly those whose interval is above 0."""
    gains = json.loads(REPORT.read_text())
    assert set(gains["questions"]) == set(KAGGLE_TOOL_QUESTIONS)
    for question, g in gains["questions"].items():
        assert g["low"] <= g["gain"] <= g["high"], question
        assert g["kept"] == (g["low"] > 0), question
        assert g["items"] == list(KAGGLE_TOOL_QUESTIONS[question][1])
    asked = {q.id for q in load_instrument().questions}
    assert asked == {q for q, g in gains["questions"].items() if g["kept"]}
