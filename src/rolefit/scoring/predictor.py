"""The app-facing API for one person: validate answers, score with the additive tables, explain.

The predict path imports neither scikit-learn, pandas nor MLflow: a validated answer dict is scored by
summing precompiled lookup-table entries (:mod:`rolefit.scoring.compiled`) with the effect formula of
:mod:`rolefit.model.tables`, and the set and verdict come from :mod:`rolefit.scoring.decision` — the
same three pieces :func:`rolefit.predict_many` uses for whole frames.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from rolefit.model.conformal import role_of
from rolefit.model.tables import blended_effect, scaled_effect
from rolefit.scoring.answers import validate_base_rate
from rolefit.scoring.compiled import resolve, retell
from rolefit.scoring.loader import load_model
from rolefit.scoring.reasons import ROLE_NAMES

NOTICE = (
    "rolefit is for career exploration, not screening: it describes how your answers resemble people "
    "in each role. It must not be used to rank or select job applicants."
)


@dataclass(frozen=True)
class Prediction:
    """One person's result.

    ``explanations`` lists every answered item, largest absolute effect first; each entry's
    ``effect`` is in log-odds toward MLE, and ``baseline_log_odds + sum(effects) == log_odds``.
    """

    role: str
    probabilities: dict[str, float]
    explanations: list[dict[str, Any]]
    log_odds: float
    baseline_log_odds: float
    model_version: str
    prediction_set: list[str] = field(default_factory=list)
    verdict: str = ""
    notice: str = NOTICE
    answers: dict[str, float | str] = field(default_factory=dict, repr=False)
    #: MLE share of the population the probabilities refer to (the caller's, or the reference survey's)
    base_rate: float | None = None

    @classmethod
    def of(cls, *values: Any) -> Prediction:
        """A Prediction from every field's value, in field order, without the checks of ``__init__``
        (a frozen dataclass sets each field through ``object.__setattr__``: a tenth of predict)."""
        made = object.__new__(cls)
        made.__dict__.update(zip(_FIELDS, values, strict=True))
        return made

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the answers themselves are not echoed)."""
        return {
            "role": self.role,
            "role_name": ROLE_NAMES[self.role],
            "probabilities": dict(self.probabilities),
            "log_odds": self.log_odds,
            "baseline_log_odds": self.baseline_log_odds,
            "prediction_set": list(self.prediction_set),
            "verdict": self.verdict,
            "base_rate": self.base_rate,
            "explanations": [{**e, "evidence": dict(e["evidence"])} for e in self.explanations],
            "model_version": self.model_version,
            "notice": self.notice,
        }


_FIELDS = tuple(f.name for f in fields(Prediction))


def sigmoid(z: float) -> float:
    """The probability of log-odds ``z``, without overflow at either end."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def predict(
    answers: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
) -> Prediction:
    """Score one person's (possibly partial) answers.

    Parameters
    ----------
    answers : mapping of item id to answer
        Any subset of the questionnaire; skipped items are absent, None, "" or NaN.
    model : path or MLflow model URI, optional
        The bundle to use (default: ``ROLEFIT_MODEL`` or ``models/champion``).
    base_rate : float, optional
        The MLE share of the population the person comes from (0 < base_rate < 1). The log-odds move by
        ``logit(base_rate) - logit(model's base rate)``: the starting point changes, the reasons do not.
        None: the reference survey's mix of SWE and MLE respondents (``Prediction.base_rate``).

    Raises
    ------
    InvalidAnswers
        An item is unknown, an answer has the wrong type, is out of range or is not a valid choice, or
        ``base_rate`` is not strictly between 0 and 1.
    rolefit.scoring.bundle.BundleError
        The model bundle is missing or fails verification.
    """
    rate = None if base_rate is None else validate_base_rate(base_rate)
    loaded = load_model(model)
    chosen = resolve(loaded.compiled, answers)
    clean: dict[str, float | str] = {}
    coverage = 0.0
    real = 0
    for level in chosen:
        clean[level.item_id] = level.answer
        coverage += level.entry.coverage
        if level.alone is not None:
            real += 1
    additive = loaded.additive
    scale = additive.scale_at(coverage)
    weight = additive.blend(real) if real else 1.0
    effects = []
    for level in chosen:
        if level.alone is not None:
            effect = blended_effect(level.alone, level.raw, weight)
        elif (offset := level.entry.offset) is None:
            effect = level.raw
        else:
            effect = scaled_effect(level.raw, scale, offset)
        effects.append(effect)
    # largest effect first, ties by item id: a stable sort by size after one by id (sorting indices
    # by list lookups costs half of sorting tuples)
    ranks = [level.rank for level in chosen]
    order = sorted(range(len(chosen)), key=ranks.__getitem__)
    sizes = [-abs(effect) for effect in effects]
    order.sort(key=sizes.__getitem__)
    baseline = loaded.intercept_for(rate)
    log_odds = baseline + math.fsum(effects)
    p_mle = sigmoid(log_odds)
    prediction_set, verdict = loaded.decisions.one(p_mle, len(clean))
    explanations = []
    for i in order:
        # the explanation the level keeps ready, completed (inline: this loop is a third of predict)
        level, effect = chosen[i], effects[i]
        explanation = level.explanation.copy()
        explanation["effect"] = effect
        raw = level.raw
        if effect * raw <= 0.0 and ((effect > 0) != (raw > 0) or (effect < 0) != (raw < 0)):
            retell(explanation, level, effect)  # the offset tipped a near-zero effect the other way
        explanation["evidence"] = level.entry.evidence.copy()
        explanations.append(explanation)
    return Prediction.of(
        role_of(p_mle),
        {"swe": 1.0 - p_mle, "mle": p_mle},
        explanations,
        log_odds,
        baseline,
        loaded.version,
        prediction_set,
        verdict,
        NOTICE,
        clean,
        sigmoid(baseline) if rate is None else rate,
    )
