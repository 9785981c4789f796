"""The app-facing API: validate answers, score with the additive tables, explain.

The predict path imports neither scikit-learn, pandas nor MLflow: a validated answer dict is scored by
summing lookup-table entries (see :mod:`rolefit.explain`). The model is loaded lazily on first use,
verified by checksum, and cached; ``ROLEFIT_MODEL`` may point to another bundle folder.
"""

from __future__ import annotations

import difflib
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rolefit.explain import ROLE_NAMES, AdditiveModel, reason
from rolefit.questionnaire import (
    DEMOGRAPHIC_FIELDS,
    METADATA_FIELDS,
    ROLES,
    Instrument,
    load_instrument,
)
from rolefit.uncertainty import verdict

NOTICE = (
    "rolefit is for career exploration, not screening: it describes how your answers resemble people "
    "in each role. It must not be used to rank or select job applicants."
)
DEFAULT_BUNDLE = Path("models") / "champion"
_MAX_LISTED = 20
#: Columns of rolefit datasets that predict_many accepts and ignores (they are never inputs).
DATASET_FIELDS = ("role", "source", "split", "p_true", "row_number")


class InvalidAnswers(ValueError):
    """Some answers do not fit the questionnaire; ``problems`` maps each offending item to the reason."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        lines = [f"{key}: {text}" for key, text in list(self.problems.items())[:_MAX_LISTED]]
        if len(self.problems) > _MAX_LISTED:
            lines.append(f"... and {len(self.problems) - _MAX_LISTED} more")
        count = len(self.problems)
        super().__init__(f"{count} invalid answer{'s' if count != 1 else ''}: " + "; ".join(lines))

    def __reduce__(self):
        return (type(self), (self.problems,))


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
            "explanations": [dict(e) for e in self.explanations],
            "model_version": self.model_version,
            "notice": self.notice,
        }


@dataclass(frozen=True)
class LoadedModel:
    """A verified bundle ready to score."""

    additive: AdditiveModel
    manifest: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        return str(self.manifest.get("model_version", "unknown"))


_cache: dict[str, LoadedModel] = {}
_lock = threading.RLock()  # re-entrant: an MLflow URI load nests a bundle load


def resolve_model_path(location: str | os.PathLike | None = None) -> Path:
    """Where the model comes from: the argument, else ``ROLEFIT_MODEL``, else ``models/champion``.

    The default is looked up in the working directory first, then in the source checkout this package
    is installed from (editable installs).
    """
    if location is None:
        location = os.environ.get("ROLEFIT_MODEL") or None
    if location is not None:
        return Path(location).expanduser()
    here = Path.cwd() / DEFAULT_BUNDLE
    if here.exists():
        return here
    checkout = Path(__file__).resolve().parents[2] / DEFAULT_BUNDLE
    if checkout.exists():
        return checkout
    return here


def _is_mlflow_uri(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("models:/", "runs:/"))


def load_model(location: str | os.PathLike | None = None) -> LoadedModel:
    """Load (once) and return the verified model; thread-safe.

    ``location`` (or ``ROLEFIT_MODEL``) is a bundle folder or an MLflow model URI such as
    ``models:/rolefit@champion``; MLflow is imported only in the second case.
    """
    if location is None and _is_mlflow_uri(os.environ.get("ROLEFIT_MODEL")):
        location = os.environ["ROLEFIT_MODEL"]
    if _is_mlflow_uri(location):
        key = str(location)
        model = _cache.get(key)
        if model is None:
            with _lock:
                model = _cache.get(key)
                if model is None:
                    from rolefit.tracking import configure, download_champion

                    configure(Path.cwd())
                    model = load_model(download_champion(str(location)))
                    _cache[key] = model
        return model
    path = resolve_model_path(location)
    key = str(path)
    model = _cache.get(key)
    if model is not None:
        return model
    with _lock:
        model = _cache.get(key)
        if model is None:
            from rolefit.bundle import BundleError, load_additive

            if not path.exists():
                raise BundleError(
                    f"No trained model at {path}. Train one with `rolefit train` (or `make run`), "
                    "or point ROLEFIT_MODEL at a model bundle folder."
                )
            additive, manifest = load_additive(path)
            model = LoadedModel(additive=additive, manifest=manifest, path=path)
            _cache[key] = model
    return model


def clear_cache() -> None:
    """Forget loaded models (the next call reloads and re-verifies)."""
    with _lock:
        _cache.clear()


def validate_answers(answers: Any, instrument: Instrument | None = None) -> dict[str, float | str]:
    """Check and normalise an answer set; raise :class:`InvalidAnswers` naming every problem.

    Metadata (``respondent_id``, ``submitted_at``) and demographics are accepted and ignored: they are
    never model inputs. Skipped answers (None, "", NaN) are dropped.
    """
    instrument = instrument or load_instrument()
    if not isinstance(answers, Mapping):
        raise InvalidAnswers(
            {"answers": f"expected a mapping of item id to answer, got {type(answers).__name__}"}
        )
    clean: dict[str, float | str] = {}
    problems: dict[str, str] = {}
    for key, value in answers.items():
        if not isinstance(key, str):
            problems[repr(key)[:60]] = "item ids are strings"
            continue
        if key in METADATA_FIELDS or key in DEMOGRAPHIC_FIELDS:
            continue
        if key not in instrument:
            guess = difflib.get_close_matches(key, instrument.ids, n=1, cutoff=0.6)
            hint = f"; did you mean {guess[0]!r}?" if guess else "; see rolefit.questionnaire()"
            problems[key[:60]] = f"unknown item{hint}"
            continue
        try:
            normalised = instrument[key].coerce(value)
        except ValueError as exc:
            problems[key] = str(exc).split(": ", 1)[1]
            continue
        if normalised is not None:
            clean[key] = normalised
    if problems:
        raise InvalidAnswers(problems)
    return clean


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def predict(answers: Mapping[str, Any], *, model: str | os.PathLike | None = None) -> Prediction:
    """Score one person's (possibly partial) answers.

    Raises
    ------
    InvalidAnswers
        An item is unknown, an answer has the wrong type, is out of range or is not a valid choice.
    rolefit.bundle.BundleError
        The model bundle is missing or fails verification.
    """
    instrument = load_instrument()
    clean = validate_answers(answers, instrument)
    loaded = load_model(model)
    additive = loaded.additive
    effects = additive.contributions(clean)
    log_odds = additive.intercept + math.fsum(effects.values())
    p_mle = _sigmoid(log_odds)
    explanations = []
    for item_id in sorted(effects, key=lambda k: (-abs(effects[k]), k)):
        item = instrument[item_id]
        effect = effects[item_id]
        explanations.append(
            {
                "item": item_id,
                "question": item.text,
                "answer": clean[item_id],
                "answer_label": item.answer_label(clean[item_id]),
                "effect": effect,
                "toward": "mle" if effect > 0 else "swe" if effect < 0 else "none",
                "reason": reason(item, clean[item_id], effect),
            }
        )
    conformal = additive.conformal
    prediction_set = conformal.prediction_set(p_mle) if conformal else ["mle" if p_mle >= 0.5 else "swe"]
    return Prediction(
        prediction_set=prediction_set,
        verdict=verdict(prediction_set, p_mle),
        role="mle" if p_mle >= 0.5 else "swe",
        probabilities={"swe": 1.0 - p_mle, "mle": p_mle},
        explanations=explanations,
        log_odds=log_odds,
        baseline_log_odds=additive.intercept,
        model_version=loaded.version,
        answers=clean,
    )


def predict_many(frame, *, model: str | os.PathLike | None = None, top_k: int = 3):
    """Score every row of a DataFrame of answers.

    Returns a DataFrame with the input's index and columns ``p_swe``, ``p_mle``, ``role``,
    ``prediction_set`` ("swe", "mle" or "swe,mle") and ``verdict``, plus
    ``reason_1`` ... ``reason_k`` (item ids, largest effect first) when ``top_k > 0``. Every bad cell in
    the frame is reported at once through :class:`InvalidAnswers` (keyed ``row <index>: <item>``).
    """
    import numpy as np
    import pandas as pd

    instrument = load_instrument()
    additive = load_model(model).additive
    unknown = [
        str(c)
        for c in frame.columns
        if c not in instrument and c not in METADATA_FIELDS + DEMOGRAPHIC_FIELDS + DATASET_FIELDS
    ]
    problems: dict[str, str] = {}
    for column in unknown:
        guess = difflib.get_close_matches(column, instrument.ids, n=1, cutoff=0.6)
        problems[column] = "unknown item" + (f"; did you mean {guess[0]!r}?" if guess else "")
    n = len(frame)
    raw_sum = np.zeros(n, dtype=float)
    coverage = np.zeros(n, dtype=float)
    effect_columns: dict[str, np.ndarray] = {}
    for item in instrument.items:
        if item.id not in frame.columns:
            continue
        table = additive.tables[item.id]
        effects = np.zeros(n)
        answered = np.zeros(n, dtype=bool)
        values = frame[item.id].tolist()
        for row, value in enumerate(values):
            try:
                answer = item.coerce(value)
            except ValueError as exc:
                problems[f"row {frame.index[row]}: {item.id}"] = str(exc).split(": ", 1)[1]
                continue
            if answer is not None:
                effects[row] = table.effect(answer)
                answered[row] = True
        raw_sum += effects
        coverage += answered * additive.coverage[item.id]
        effect_columns[item.id] = effects
    if problems:
        raise InvalidAnswers(problems)
    if additive.kappa is None:
        scale = np.full(n, additive.a)
    else:
        scale = additive.a * (1.0 + additive.kappa) / (coverage + additive.kappa)
    log_odds = additive.intercept + scale * raw_sum
    p_mle = 1.0 / (1.0 + np.exp(-log_odds))
    out = pd.DataFrame(
        {"p_swe": 1.0 - p_mle, "p_mle": p_mle, "role": np.where(p_mle >= 0.5, *ROLES[::-1])},
        index=frame.index,
    )
    conformal = additive.conformal
    if conformal is not None:
        has_mle, has_swe = (1.0 - p_mle) <= conformal.q_mle, p_mle <= conformal.q_swe
        neither = ~has_mle & ~has_swe
        has_mle |= neither & (p_mle >= 0.5)
        has_swe |= neither & (p_mle < 0.5)
        out["prediction_set"] = np.where(has_mle & has_swe, "swe,mle", np.where(has_mle, "mle", "swe"))
        top = np.maximum(p_mle, 1.0 - p_mle)
        out["verdict"] = np.where(has_mle & has_swe, np.where(top >= 0.6, "leaning", "toss-up"), "clear")
    if top_k > 0 and effect_columns:
        names = np.array(list(effect_columns), dtype=object)
        matrix = np.column_stack(list(effect_columns.values()))
        order = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :top_k]
        for k in range(min(top_k, matrix.shape[1])):
            picked = names[order[:, k]]
            nonzero = np.abs(matrix[np.arange(n), order[:, k]]) > 0
            out[f"reason_{k + 1}"] = np.where(nonzero, picked, None)
    return out
