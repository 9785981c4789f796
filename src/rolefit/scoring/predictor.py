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
from operator import attrgetter
from typing import Any

from rolefit.model.conformal import role_of
from rolefit.model.tables import scaled_effect
from rolefit.scoring.answers import validate_base_rate
from rolefit.scoring.compiled import Level, resolve
from rolefit.scoring.loader import ModelInfo, load_model
from rolefit.scoring.readiness import standing_of
from rolefit.scoring.reasons import ROLE_NAMES

NOTICE = (
    "rolefit is for career exploration, not screening: it describes how your answers resemble people "
    "in each role. It must not be used to rank or select job applicants."
)


#: What the all-answers model says, in words (``AllAnswers.meaning``).
ALL_ANSWERS_MEANING = (
    "people with all your answers work as ...: which role people whose answers (experience included) "
    "resemble yours hold today, not which role suits you"
)


@dataclass(frozen=True)
class AllAnswers:
    """The all-answers model's result ("people with all your answers work as ..."): today's champion,
    from every answer, experience included; judged on real respondents.

    ``explanations`` lists every answered item, largest absolute effect first; each ``effect`` is in
    log-odds toward MLE, and ``baseline_log_odds + sum(effects) == log_odds``.
    """

    role: str
    probabilities: dict[str, float]
    log_odds: float
    baseline_log_odds: float
    prediction_set: list[str]
    verdict: str
    explanations: list[dict[str, Any]]
    base_rate: float | None = None

    def __getattr__(self, name: str) -> Any:
        """``explanations`` of a result from :func:`predict`, built on first use: the all-answers model's
        probabilities, set and verdict come with every prediction, its reasons when asked for (the page
        shows the fit's). Called only when the attribute is not set yet."""
        return _pending_explanations(self, name)

    def to_dict(self) -> dict[str, Any]:
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
            "meaning": ALL_ANSWERS_MEANING,
        }


@dataclass(frozen=True)
class Prediction:
    """One person's result: the fit (the headline), the all-answers model, and readiness.

    The top-level fields are **the fit**: which role suits the person, from interests, preferences, the
    career goal and the strengths the guides name (``part: fit`` items only), from an even start
    (``base_rate`` moves it), its probability integrated over the uncertainty of its effects
    (:mod:`rolefit.model.uncertainty`). ``explanations`` lists every answered fit item, largest
    absolute effect first; each entry's ``effect`` (log-odds toward MLE) is the effect times the
    certainty factor ``uncertainty["factor"]``, so ``baseline_log_odds + sum(effects) == log_odds``.
    ``all_answers`` is the all-answers model (:class:`AllAnswers`); ``readiness`` the person's standing
    against people working in each role (``rolefit.scoring.readiness``), None when the bundle has no
    readiness tables.
    ``model`` names the model that answered and says whether it was verified (``model.verified``;
    ``model_version`` is kept for compatibility and equals ``model.version``).
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
    #: the model that answered: its version, and whether it was verified (a signature made with the
    #: configured key) or loaded with checksums only (:class:`rolefit.scoring.loader.ModelInfo`)
    model: ModelInfo | None = None
    #: the all-answers model's result
    all_answers: AllAnswers | None = None
    #: readiness (rolefit.scoring.readiness.Readiness), None without readiness tables in the bundle
    readiness: Any = None
    #: the fit's uncertainty: ``variance`` (the sum of its effects' variances, log-odds squared) and
    #: ``factor`` (k = 1 / sqrt(1 + pi * variance / 8), by which every effect was multiplied)
    uncertainty: dict[str, float] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        """``explanations`` of a result from :func:`predict`, built on first use (most callers read the
        probabilities, set and verdict only). Called only when the attribute is not set yet."""
        return _pending_explanations(self, name)

    @classmethod
    def of(cls, *values: Any) -> Prediction:
        """A Prediction from every field's value, in field order, without the checks of ``__init__``
        (a frozen dataclass sets each field through ``object.__setattr__``: a tenth of predict)."""
        made = _new(cls)
        _set(made, "__dict__", dict(zip(_FIELDS, values, strict=True)))
        return made

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the answers themselves are not echoed): the fit's fields at the top level,
        the all-answers model under ``all_answers`` and readiness under ``readiness``."""
        return {
            "role": self.role,
            "role_name": ROLE_NAMES[self.role],
            "probabilities": dict(self.probabilities),
            "log_odds": self.log_odds,
            "baseline_log_odds": self.baseline_log_odds,
            "prediction_set": list(self.prediction_set),
            "verdict": self.verdict,
            "base_rate": self.base_rate,
            "uncertainty": dict(self.uncertainty),
            "explanations": [
                {**e, "evidence": {**e["evidence"], **_copied_uncertainty(e["evidence"])}}
                for e in self.explanations
            ],
            "all_answers": None if self.all_answers is None else self.all_answers.to_dict(),
            "readiness": None if self.readiness is None else self.readiness.to_dict(),
            "model_version": self.model_version,
            "model": None if self.model is None else self.model.to_dict(),
            "notice": self.notice,
        }


def _pending_explanations(result: Any, name: str) -> list[dict[str, Any]]:
    """Build, keep and return ``result.answers`` from the levels :func:`predict` left in ``_answered``,
    or ``result.explanations`` from what it left in ``_pending``:
    ``(levels, effects, factor, of_fit)`` with the levels in any order (``of_fit``: the fit's levels of
    these), their final effects (None: each level's whole effect) and the certainty factor each
    reported effect is multiplied by. Every level becomes its
    explanation, largest absolute effect first, ties in item id order."""
    if name == "answers":
        answered = result.__dict__.get("_answered")
        if answered is not None:  # the levels of the whole questionnaire, in the answers' order
            built = dict(zip(map(_ITEM_ID, answered), map(_ANSWER, answered)))  # noqa: B905 (of equal length)
            result.__dict__["answers"] = built
            result.__dict__.pop("_answered", None)
            return built
    pending = result.__dict__.get("_pending") if name == "explanations" else None
    if pending is None:
        raise AttributeError(f"{type(result).__name__!r} object has no attribute {name!r}")
    levels, effects, factor, of_fit = pending
    if of_fit:  # the whole questionnaire's levels: the fit's own are theirs
        levels = list(filter(None, map(_FIT, levels)))
    if effects is None:
        effects = list(map(_WHOLE_EFFECT, levels))
    # item id order first, then a stable sort by size: equal sizes keep item id order
    order = sorted(range(len(levels)), key=[level.rank for level in levels].__getitem__)
    order.sort(key=[abs(effect) for effect in effects].__getitem__, reverse=True)
    # the factor is positive: an effect's direction, and so its level's explanation, is its own; built
    # twice at worst when two threads ask at once (both lists are equal)
    built = [
        dict(levels[k].pointing(effects[k]), effect=factor * effects[k], evidence=levels[k].evidence.copy())
        for k in order
    ]
    result.__dict__["explanations"] = built
    result.__dict__.pop("_pending", None)
    return built


def _copied_uncertainty(evidence: dict[str, Any]) -> dict[str, Any]:
    found = evidence.get("uncertainty")
    return {} if found is None else {"uncertainty": dict(found)}


_FIELDS = tuple(f.name for f in fields(Prediction))
_ALL_ANSWERS_FIELDS = tuple(f.name for f in fields(AllAnswers))
#: A level's place in alphabetical order of item ids (predict's sort key for ties).
_RANK = attrgetter("rank")
#: The size of a level's final effect when the whole questionnaire is answered.
_WHOLE_SIZE = attrgetter("whole_size")
_WHOLE_EFFECT = attrgetter("whole_effect")
_WHOLE_VARIANCE = attrgetter("whole_variance")
_FIT = attrgetter("fit")
_ITEM_ID = attrgetter("item_id")
_PACKED = attrgetter("packed")
_FIT_WHOLE_VARIANCE = attrgetter("fit_whole_variance")
_ANSWER = attrgetter("answer")
_COVERAGE = attrgetter("coverage")
_new, _set = object.__new__, object.__setattr__
#: pi / 8, of the certainty factor k = 1 / sqrt(1 + pi / 8 * variance)
_PI_8 = math.pi / 8.0
#: Readiness of one person from its look-ups (:func:`rolefit.scoring.readiness.standing_of`)
_standing_of = standing_of
_READY = attrgetter("ready")


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
        The bundle to use (default: chosen by :func:`rolefit.scoring.loader.choose_model`:
        ``ROLEFIT_MODEL``, else the project's published champion, else the model packaged with rolefit).
    base_rate : float, optional
        The MLE share of the population the person comes from (0 < base_rate < 1). The log-odds move by
        ``logit(base_rate) - logit(model's base rate)``: the starting point changes, the reasons do not.
        None: the fit's even start (0.5) and the all-answers model's reference survey mix of SWE and MLE
        respondents (``Prediction.base_rate``, ``Prediction.all_answers.base_rate``).

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
    compiled = loaded.compiled
    chosen = resolve(compiled, answers)
    fit_items = loaded.fit_items
    if len(chosen) == len(compiled) and type(answers) is dict:
        # the whole questionnaire, each item once (a dict's keys are distinct), the usual case of an
        # app: its scale and real block are the whole questionnaire's, so every final effect and
        # variance was computed at load, the fit's too. Two C-level passes sum them: each level's
        # ``packed`` holds its effect in both models (the fit's as the imaginary part).
        clean = None  # Prediction.answers, built from the levels on first use
        levels, effects = chosen, None  # None: the explanations read each level's whole effect
        both = sum(map(_PACKED, chosen))
        log_odds, fit_sum = both.real, both.imag
        variance = sum(map(_FIT_WHOLE_VARIANCE, chosen))
        fit_levels, fit_effects, fit_count = None, None, len(fit_items)  # None: the fit's levels of these
    else:
        clean = {}
        coverage = 0.0
        real = 0
        ranked: list[Level | None] = [None] * len(compiled)
        for level in chosen:  # in the caller's order: coverage is summed in it, as it always was
            clean[level.item_id] = level.answer
            coverage += level.coverage
            ranked[level.rank] = level  # item id order without a sort
            if level.alone is not None:
                real += 1
        levels = list(filter(None, ranked))  # levels are true, the empty places None
        if len(levels) != len(chosen):  # a mapping that named an item twice: keep both, as always
            levels = sorted(chosen, key=_RANK)
        scale = loaded.additive.scale_at(coverage)
        if scale == compiled.whole_scale and real == compiled.real_items:
            effects = None  # every final effect was computed at load
            log_odds = math.fsum(map(_WHOLE_EFFECT, levels))
        else:
            effects = _effects(levels, scale, real)
            log_odds = math.fsum(effects)
        # the fit: the same answers' levels in the fit's own tables, in item id order (their coverage is
        # summed in it; CompiledItems.whole_scale of the fit is too), with their effects' uncertainty
        fit_levels = list(filter(None, map(_FIT, levels)))
        fit_real = sum(level.alone is not None for level in fit_levels) if fit_items.real_items else 0
        # every fit item answered once: the whole fit's scale; otherwise its scale at the coverage
        if len(fit_levels) == len(fit_items) and len(levels) == len(chosen):
            fit_scale = fit_items.whole_scale
        else:
            fit_scale = loaded.fit.additive.scale_at(sum(map(_COVERAGE, fit_levels)))
        if fit_scale == fit_items.whole_scale and fit_real == fit_items.real_items:
            fit_effects = None
            fit_sum = math.fsum(map(_WHOLE_EFFECT, fit_levels))
            variance = math.fsum(map(_WHOLE_VARIANCE, fit_levels))
        else:
            fit_effects, variance = _fit_effects(fit_levels, fit_scale, fit_real)
            fit_sum = math.fsum(fit_effects)
        fit_count = len(fit_levels)
    baseline = loaded.intercept_for(rate)
    log_odds += baseline
    p_mle = sigmoid(log_odds)
    prediction_set, verdict = loaded.decisions.one(p_mle, len(chosen) if clean is None else len(clean))
    all_answers = _new(AllAnswers)
    _set(all_answers, "__dict__", {
        "role": role_of(p_mle),
        "probabilities": {"swe": 1.0 - p_mle, "mle": p_mle},
        "log_odds": log_odds,
        "baseline_log_odds": baseline,
        "prediction_set": prediction_set,
        "verdict": verdict,
        # no "explanations" yet: built from these on first use (_pending_explanations)
        "_pending": (levels, effects, 1.0, False),
        "base_rate": sigmoid(baseline) if rate is None else rate,
    })  # fmt: skip
    # the fit's probability integrates over its effects' uncertainty: k * (the exact sum of its effects)
    factor = 1.0 / math.sqrt(1.0 + _PI_8 * variance)
    start = loaded.fit_start(rate)
    fit_log_odds = start + factor * fit_sum
    p_fit = sigmoid(fit_log_odds)
    fit_set, fit_verdict = loaded.fit_decisions.one(p_fit, fit_count)
    # readiness reads each answer's standing off its level (Level.ready), in the answers' order
    tables = loaded.readiness
    readiness = None if tables is None else _standing_of(tables, list(filter(None, map(_READY, chosen))))
    # Prediction.of inlined: the fields, in order, become the new object's __dict__ (a tenth of predict
    # through __init__, whose frozen dataclass sets each field with object.__setattr__); no
    # "explanations" yet: each reported effect is factor * effect, built on first use
    made = _new(Prediction)
    _set(made, "__dict__", {
        "role": role_of(p_fit),
        "probabilities": {"swe": 1.0 - p_fit, "mle": p_fit},
        "log_odds": fit_log_odds,
        "baseline_log_odds": start,
        "model_version": loaded.version,
        "prediction_set": fit_set,
        "verdict": fit_verdict,
        "notice": NOTICE,
        **({"_answered": chosen} if clean is None else {"answers": clean}),
        "base_rate": sigmoid(start) if rate is None else rate,
        "model": loaded.info,
        "all_answers": all_answers,
        "readiness": readiness,
        "uncertainty": {"variance": variance, "factor": factor},
        "_pending": (chosen if fit_levels is None else fit_levels, fit_effects, factor, fit_levels is None),
    })  # fmt: skip
    return made


def _fit_effects(levels: list[Level], scale: float, real: int) -> tuple[list[float], float]:
    """The final effect of every fit level, in order, and the sum of their variances, at any ``scale``
    and count of answered real-block fit items (``real``)."""
    effects = _effects(levels, scale, real)
    variance = 0.0
    for level, effect in zip(levels, effects):  # noqa: B905 (of equal length)
        if (width := level.width) is not None:
            variance += (width * effect) ** 2
        else:
            sd = level.final_sd[real]
            variance += sd * sd
    return effects, variance


def _effects(levels: list[Level], scale: float, real: int) -> list[float]:
    """The final effect of every level, in order, at any ``scale`` and count of answered real-block
    items (``real``). A fixed or real-block item's final effect is looked up by that count; a scaled
    item's is the formula of :mod:`rolefit.model.tables`."""
    effects = []
    for level in levels:
        if (final := level.final) is not None:
            effects.append(final[real])
            continue
        # a scaled item's effect depends on the answer set only through the scale, and the same items
        # come again (the quick part of the form, guidance re-predicting changed answers): the level
        # keeps its last (scale, effect) and the formula runs when the scale differs
        at, effect = level.last_scaled
        if at != scale:
            effect = scaled_effect(level.raw, scale, level.offset)
            level.last_scaled = (scale, effect)  # one tuple: threads see the old pair or the new one
        effects.append(effect)
    return effects
