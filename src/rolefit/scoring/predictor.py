"""The app-facing API: validate answers, score with the additive tables, explain.

The predict path imports neither scikit-learn, pandas nor MLflow: a validated answer dict is scored by
summing lookup-table entries (see :mod:`rolefit.model.tables`). The model is loaded lazily on first use,
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

from rolefit.errors import RolefitError
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS, ROLES, Instrument, load_instrument
from rolefit.model.conformal import VERDICTS, verdict
from rolefit.model.tables import AdditiveModel
from rolefit.scoring.reasons import ROLE_NAMES, reason

NOTICE = (
    "rolefit is for career exploration, not screening: it describes how your answers resemble people "
    "in each role. It must not be used to rank or select job applicants."
)
DEFAULT_BUNDLE = Path("models") / "champion"
_MAX_LISTED = 20
#: Columns of rolefit datasets that predict_many accepts and ignores (they are never inputs).
DATASET_FIELDS = ("role", "source", "split", "p_true", "p_true_without_experience", "row_number")


class InvalidAnswers(RolefitError, ValueError):
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
    #: MLE share of the population the probabilities refer to (the caller's, or the reference survey's)
    base_rate: float | None = None

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


@dataclass(frozen=True)
class LoadedModel:
    """A verified bundle ready to score, with its per-answer lookup tables precompiled."""

    additive: AdditiveModel
    manifest: dict[str, Any]
    path: Path
    compiled: dict[str, _CompiledItem] = field(default_factory=dict, repr=False)
    #: the real block's items, scored by their effect when answered alone (see AdditiveModel.alone)
    compiled_alone: dict[str, _CompiledItem] = field(default_factory=dict, repr=False)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.evidence:
            self.evidence.update(
                {
                    item.id: evidence_entry(self.additive.evidence.get(item.id))
                    for item in load_instrument().items
                }
            )
        if not self.compiled_alone and self.additive.alone:
            instrument = load_instrument()
            self.compiled_alone.update(
                {
                    item: _CompiledItem(instrument[item], table, 0.0, None)
                    for item, table in self.additive.alone.items()
                }
            )
        if not self.compiled:
            instrument = load_instrument()
            additive = self.additive
            self.compiled.update({item.id: _CompiledItem(item, additive.tables[item.id],
                                                         additive.coverage.get(item.id, 0.0),
                                                         None if item.id in additive.fixed
                                                         else additive.offsets.get(item.id, 0.0))
                                  for item in instrument.items})  # fmt: skip

    @property
    def version(self) -> str:
        return str(self.manifest.get("model_version", "unknown"))

    @property
    def base_log_odds(self) -> float:
        """Log-odds of the population the model was calibrated for (the empty answer set's)."""
        rate = self.additive.base_rate
        return self.additive.intercept if rate is None else math.log(rate / (1.0 - rate))

    def intercept_for(self, rate: float | None) -> float:
        """The starting log-odds for a population whose MLE share is ``rate`` (None: the model's own).

        Only the starting point moves, by ``logit(rate) - logit(model's base rate)``."""
        if rate is None:
            return self.additive.intercept
        return self.additive.intercept + math.log(rate / (1.0 - rate)) - self.base_log_odds


#: Display names of the known real sources (others are shown by their name in params.yaml).
SOURCE_NAMES = {"kaggle2021": "Kaggle ML & DS Survey 2021", "stackoverflow2017": "Stack Overflow 2017"}


def evidence_entry(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """What backs an item's effect, with a sentence a person can read (``summary``)."""
    record = dict(record or {"basis": "assumed", "respondents": 0, "sources": {}})
    if record.get("basis") == "real":
        names = ", ".join(SOURCE_NAMES.get(s, s) for s in record.get("sources", {}))
        summary = f"learned from {record['respondents']:,} real respondents ({names})"
    else:
        summary = "from the synthetic prior (assumed, not yet measured on real people)"
    return {
        "basis": str(record.get("basis", "assumed")),
        "respondents": int(record.get("respondents", 0)),
        "sources": dict(record.get("sources", {})),
        "summary": summary,
    }


def validate_base_rate(base_rate: Any) -> float | None:
    """The caller's MLE share as a float in (0, 1), None for the model's own; else InvalidAnswers."""
    if base_rate is None:
        return None
    problem = "must be a number strictly between 0 and 1 (the MLE share of your population)"
    if isinstance(base_rate, bool) or not isinstance(base_rate, (int, float)):
        try:
            base_rate = float(str(base_rate).strip()) if isinstance(base_rate, str) else None
        except ValueError:
            base_rate = None
        if base_rate is None:
            raise InvalidAnswers({"base_rate": problem})
    try:
        value = float(base_rate)
    except OverflowError:  # an integer too large for a float
        raise InvalidAnswers({"base_rate": problem}) from None
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise InvalidAnswers({"base_rate": f"{problem}; got {value:g}"})
    return value


_SKIP = object()

#: A precomputed answer: (raw effect, label, reason, direction, reason toward SWE, reason toward MLE,
#: the item's offset or None for a fixed item).
Level = tuple[float, str, str, str, "str | None", "str | None", "float | None"]


class _CompiledItem:
    """One item's answers resolved ahead of time: raw value -> normalised answer -> (effect, texts).

    Every answer a finite item accepts in its common spellings is a dictionary lookup; anything else
    (and every years value) goes through :meth:`Item.coerce` and the table, so results are identical.
    """

    __slots__ = ("answers", "coverage", "edges", "item", "levels", "lut", "offset", "table", "values")

    def __init__(self, item, table, coverage: float, offset: float | None = 0.0):
        # offset None: a fixed item, whose table already holds its final effect (no coverage scale)
        self.item, self.table, self.coverage, self.offset = item, table, coverage, offset
        self.lut = self.edges = self.values = None  # numpy arrays, built on first batch use
        self.answers: dict[Any, Any] = {None: _SKIP, "": _SKIP}
        self.levels: dict[Any, Level] = {}
        if item.kind == "choice":
            for choice in item.choices:
                self.answers[choice.id] = self.answers[choice.label] = choice.id
                self._level(choice.id)
        elif item.kind != "number":
            lo, hi = item.bounds
            for value in range(int(lo), int(hi) + 1):
                self.answers[value] = self.answers[str(value)] = float(value)
                self._level(float(value))
            if item.kind == "scale":
                for position, word in enumerate(item.scale.labels, start=item.scale.min):
                    self.answers[word] = float(position)
            if item.kind == "binary":
                for word in ("yes", "no", "true", "false"):
                    self.answers[word] = 1.0 if word in ("yes", "true") else 0.0

    def _entry(self, answer, directed: bool = True) -> Level:
        """(raw effect, answer label, reason text, direction, reason if the final effect points to SWE,
        reason if it points to MLE) of one normalised answer.

        The calibration's shift per answered item can tip a near-zero raw effect to the other side, so
        both directed reasons are ready ahead of time (``directed``; None when built on the fly).
        """
        raw = self.table.effect(answer)
        toward = "mle" if raw > 0 else "swe" if raw < 0 else "none"
        text = reason(self.item, answer, raw)
        to_swe = text if raw < 0 else reason(self.item, answer, -1.0) if directed else None
        to_mle = text if raw > 0 else reason(self.item, answer, 1.0) if directed else None
        return raw, self.item.answer_label(answer), text, toward, to_swe, to_mle, self.offset

    def _level(self, answer) -> None:
        self.levels[answer] = self._entry(answer)

    def normalise(self, value: Any) -> Any:
        """The normalised answer, ``_SKIP`` for a skipped one; raises ValueError when invalid."""
        # booleans (Python's or numpy's) hash like 0/1: only the slow path may accept them (binary items)
        if type(value).__name__ not in ("bool", "bool_"):
            try:
                found = self.answers.get(value)
            except TypeError:  # unhashable (list, dict, ...)
                found = None
            if found is not None:
                return found
        answer = self.item.coerce(value)
        return _SKIP if answer is None else answer

    def level(self, answer) -> Level:
        """Precomputed for every finite answer; computed on the fly for years values."""
        entry = self.levels.get(answer)
        return entry if entry is not None else self._entry(answer, directed=False)


_cache: dict[str, LoadedModel] = {}
#: The model each request resolved to, keyed by what the caller gave (argument and ROLEFIT_MODEL), so
#: that a loaded model is found without touching the file system; :func:`clear_cache` forgets it.
_requested: dict[tuple[Any, str | None], LoadedModel] = {}
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
    ``models:/rolefit@champion``; MLflow is imported only in the second case. Once loaded, the same
    request is answered from memory with no file-system access: a newly published champion is picked
    up after :func:`clear_cache` (or a restart), never half-way through.
    """
    request = (location if isinstance(location, str | None) else os.fspath(location),
               os.environ.get("ROLEFIT_MODEL"))  # fmt: skip
    model = _requested.get(request)
    if model is not None:
        return model
    model = _load_model(location)
    _requested[request] = model
    return model


def _load_model(location: str | os.PathLike | None) -> LoadedModel:
    if location is None and _is_mlflow_uri(os.environ.get("ROLEFIT_MODEL")):
        location = os.environ["ROLEFIT_MODEL"]
    if _is_mlflow_uri(location):
        key = str(location)
        model = _cache.get(key)
        if model is None:
            with _lock:
                model = _cache.get(key)
                if model is None:
                    from rolefit.scoring.registry import configure, download_champion

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
            from rolefit.scoring import champion
            from rolefit.scoring.bundle import BundleError, load_additive

            if not path.exists():
                raise BundleError(
                    f"No trained model at {path}. Train one with `rolefit train` (or `make run`), "
                    "or point ROLEFIT_MODEL at a model bundle folder."
                )

            def load(folder: Path) -> LoadedModel:
                additive, manifest = load_additive(folder)
                return LoadedModel(additive=additive, manifest=manifest, path=folder)

            # a champion folder is resolved once to one published version (never a mix of two)
            model = champion.load_consistent(path, load)
            _cache[key] = model
    return model


def clear_cache() -> None:
    """Forget loaded models (the next call reloads and re-verifies)."""
    with _lock:
        _cache.clear()
        _requested.clear()


#: Whole-number answers may have at most this many digits (every item's range needs two). Longer ones
#: are refused before they are converted or shown: Python refuses to print an int of over 4,300 digits.
MAX_DIGITS = 20
_TOO_MANY_DIGITS = 10**MAX_DIGITS
#: Unknown keys per call that get a "did you mean" (difflib costs about 0.5 ms a key against 44 ids).
MAX_SUGGESTIONS = 50


def validate_answers(
    answers: Any, instrument: Instrument | None = None, *, suggestions: int = MAX_SUGGESTIONS
) -> dict[str, float | str]:
    """Check and normalise an answer set; raise :class:`InvalidAnswers` naming every problem.

    Metadata (``respondent_id``, ``submitted_at``) and demographics are accepted and ignored: they are
    never model inputs. Skipped answers (None, "", NaN) are dropped. The first ``suggestions`` unknown
    keys get a "did you mean" (the REST API shares one small budget across a whole request).
    """
    instrument = instrument or load_instrument()
    if not isinstance(answers, Mapping):
        raise InvalidAnswers(
            {"answers": f"expected a mapping of item id to answer, got {type(answers).__name__}"}
        )
    clean: dict[str, float | str] = {}
    problems: dict[str, str] = {}
    suggested = 0
    for key, value in answers.items():
        if not isinstance(key, str):
            problems[_shown(key)] = "item ids are strings"
            continue
        if key in METADATA_FIELDS or key in DEMOGRAPHIC_FIELDS:
            continue
        if key not in instrument:
            guess = None
            if suggested < suggestions:
                suggested += 1
                guess = _suggestion(key, instrument)
            hint = f"; did you mean {guess!r}?" if guess else "; see rolefit.questionnaire()"
            problems[key[:60]] = f"unknown item{hint}"
            continue
        item = instrument[key]
        if isinstance(value, int) and not -_TOO_MANY_DIGITS < value < _TOO_MANY_DIGITS:
            problems[key] = f"got a number with more than {MAX_DIGITS} digits; allowed: {item.allowed()}"
            continue
        try:
            normalised = item.coerce(value)
        except (ValueError, RecursionError) as exc:
            problems[key] = _problem_text(exc, item, value)
            continue
        if normalised is not None:
            clean[key] = normalised
    if problems:
        raise InvalidAnswers(problems)
    return clean


def _suggestion(key: str, instrument: Instrument) -> str | None:
    """The item id closest to ``key`` (difflib ratio of at least 0.6), or None."""
    longest = max(len(item_id) for item_id in instrument.ids)
    # ratio = 2 * matches / (len(key) + len(id)) and matches <= len(id): a key longer than 7/3 of the
    # longest id can never reach 0.6, so the costly comparison is skipped for long junk keys
    if len(key) * 3 > longest * 7:
        return None
    found = difflib.get_close_matches(key, instrument.ids, n=1, cutoff=0.6)
    return found[0] if found else None


def _shown(value: Any) -> str:
    """At most 60 characters of ``repr(value)``, or its type's name when it cannot be shown."""
    try:
        return repr(value)[:60]
    except (ValueError, RecursionError):  # an int of over 4,300 digits; containers nested too deeply
        return f"<{type(value).__name__}>"


def _problem_text(exc: BaseException, item: Any, value: Any) -> str:
    """What is wrong with ``value``: the text of ``Item.coerce``'s error without its ``item_id: ``
    prefix, or (when showing the value itself failed) the value's type and what is allowed."""
    text = str(exc)
    prefix = f"{item.id}: "
    if isinstance(exc, ValueError) and text.startswith(prefix):
        return text[len(prefix) :]
    return f"got a {type(value).__name__} too large or too deeply nested to show; allowed: {item.allowed()}"


def _sigmoid(z: float) -> float:
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
    rate = validate_base_rate(base_rate)
    loaded = load_model(model)
    if not isinstance(answers, Mapping):
        validate_answers(answers)  # raises InvalidAnswers naming the problem
    compiled = loaded.compiled
    compiled_alone = loaded.compiled_alone
    clean: dict[str, float | str] = {}
    levels: dict[str, Level] = {}
    alone: dict[str, float] = {}
    coverage = 0.0
    problems = None
    for key, value in answers.items():
        entry = compiled.get(key) if type(key) is str else None
        if entry is None:
            if key in METADATA_FIELDS or key in DEMOGRAPHIC_FIELDS:
                continue
            problems = True
            continue
        try:
            answer = entry.normalise(value)
        except ValueError:
            problems = True
            continue
        if answer is _SKIP:
            continue
        clean[key] = answer
        levels[key] = entry.level(answer)
        coverage += entry.coverage
        single = compiled_alone.get(key)
        if single is not None:
            alone[key] = single.level(answer)[0]
    if problems:
        validate_answers(answers)  # the slow path builds the message naming every offending item
    additive = loaded.additive
    scale = additive.scale_at(coverage)
    effects = {
        key: level[0] if (offset := level[6]) is None else scale * level[0] + offset
        for key, level in levels.items()
    }
    if alone:
        # the real block: from each item's effect alone toward its effect with the whole block answered
        c = additive.blend(len(alone))
        for key, single in alone.items():
            effects[key] = single + c * (effects[key] - single)
    baseline = loaded.intercept_for(rate)
    log_odds = baseline + math.fsum(effects.values())
    p_mle = _sigmoid(log_odds)
    evidence = loaded.evidence
    explanations = []
    for item_id in sorted(effects, key=lambda k: (-abs(effects[k]), k)):
        raw, label, text, toward, to_swe, to_mle, _ = levels[item_id]
        effect = effects[item_id]
        if effect * raw <= 0.0 and ((effect > 0) != (raw > 0) or (effect < 0) != (raw < 0)):
            # the calibration's shift per answered item tipped a near-zero effect to the other side
            toward = "mle" if effect > 0 else "swe" if effect < 0 else "none"
            directed = to_mle if effect > 0 else to_swe if effect < 0 else text
            text = directed or reason(compiled[item_id].item, clean[item_id], effect)
        explanations.append(
            {
                "item": item_id,
                "question": compiled[item_id].item.text,
                "answer": clean[item_id],
                "answer_label": label,
                "effect": effect,
                "toward": toward,
                "reason": text,
                "evidence": dict(evidence[item_id]),
            }
        )
    conformal = additive.conformal
    answered = len(clean)
    if not answered:
        prediction_set = ["swe", "mle"]  # no information: neither role is ruled out
    elif conformal:
        prediction_set = conformal.prediction_set(p_mle, answered)
    else:
        prediction_set = ["mle" if p_mle >= 0.5 else "swe"]
    return Prediction(
        prediction_set=prediction_set,
        verdict=verdict(prediction_set, p_mle, answered),
        role="mle" if p_mle >= 0.5 else "swe",
        probabilities={"swe": 1.0 - p_mle, "mle": p_mle},
        explanations=explanations,
        log_odds=log_odds,
        baseline_log_odds=baseline,
        model_version=loaded.version,
        answers=clean,
        base_rate=_sigmoid(baseline) if rate is None else rate,
    )


def predict_many(
    frame, *, model: str | os.PathLike | None = None, top_k: int = 3, base_rate: float | None = None
):
    """Score every row of a DataFrame of answers, vectorised over the whole frame.

    Returns a DataFrame with the input's index and columns ``p_swe``, ``p_mle``, ``role``,
    ``prediction_set`` ("swe", "mle" or "swe,mle") and ``verdict``, plus ``reason_1`` ... ``reason_k``
    (item ids, largest effect first; None where fewer items moved the result) when ``top_k > 0``.
    ``base_rate`` is the MLE share of the population scored, as in :func:`predict`.
    Results equal :func:`predict` row by row. Bad cells are reported together through
    :class:`InvalidAnswers`, keyed ``row <index>: <item>`` (the first 1,000, then a count).
    Rows are scored :data:`CHUNK_ROWS` at a time, so the working memory stays small beside the frame
    (one float per item and row of a chunk, not of the whole frame).
    """
    import pandas as pd

    rate = validate_base_rate(base_rate)
    instrument = load_instrument()
    loaded = load_model(model)
    problems: dict[str, str] = {}
    allowed = METADATA_FIELDS + DEMOGRAPHIC_FIELDS + DATASET_FIELDS
    for column in frame.columns:
        if column not in instrument and column not in allowed:
            guess = difflib.get_close_matches(str(column), instrument.ids, n=1, cutoff=0.6)
            problems[str(column)[:60]] = "unknown item" + (f"; did you mean {guess[0]!r}?" if guess else "")
    parts = []
    bad_cells = 0
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):
        part, bad = _score_chunk(frame.iloc[start : start + CHUNK_ROWS], loaded, rate, top_k, problems)
        bad_cells += bad
        if not problems:
            parts.append(part)
    if problems:
        if bad_cells > 1000:
            problems["..."] = f"{bad_cells:,} invalid cells in all"
        raise InvalidAnswers(problems)
    return parts[0] if len(parts) == 1 else pd.concat(parts)


#: Rows scored at once by :func:`predict_many`: large enough for vectorised speed, small enough that
#: the per-item effect columns of a chunk (44 floats a row) stay a fraction of a large input frame.
CHUNK_ROWS = 100_000


def _score_chunk(frame, loaded: LoadedModel, rate: float | None, top_k: int, problems: dict[str, str]):
    """Score one chunk of :func:`predict_many`; bad cells go into ``problems``; returns (frame, count)."""
    import numpy as np
    import pandas as pd

    instrument = load_instrument()
    additive = loaded.additive
    n = len(frame)
    raw_sum = np.zeros(n)
    fixed_sum = np.zeros(n)
    offset_sum = np.zeros(n)
    answered_columns: dict[str, np.ndarray] = {}
    coverage = np.zeros(n)
    answered_count = np.zeros(n, dtype=np.int64)
    effect_columns: dict[str, np.ndarray] = {}
    bad_cells = 0
    present = [item for item in instrument.items if item.id in frame.columns]

    def effects_of(item):
        return item, *_column_effects(
            loaded.compiled[item.id], frame[item.id], loaded.compiled_alone.get(item.id)
        )

    if n >= 100_000 and len(present) > 1:
        # numpy releases the GIL: two threads score the columns of large frames in parallel
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            results = list(pool.map(effects_of, present))
    else:
        results = [effects_of(item) for item in present]
    real_full = np.zeros(n)
    real_alone = np.zeros(n)
    real_answered = np.zeros(n)
    alone_columns: dict[str, np.ndarray] = {}
    for item, raw, answered, bad, single in results:
        if bad.any():
            for row in np.flatnonzero(bad):
                bad_cells += 1
                if len(problems) < 1000:
                    value = frame[item.id].iloc[row]
                    try:
                        item.coerce(value)
                        message = "invalid answer"
                    except ValueError as exc:
                        message = str(exc).split(": ", 1)[1]
                    problems[f"row {frame.index[row]}: {item.id}"] = message
        if single is not None:
            real_full += raw
            real_alone += single
            real_answered += answered
            alone_columns[item.id] = single
        elif item.id in additive.fixed:
            fixed_sum += raw
        else:
            raw_sum += raw
            offset = additive.offsets.get(item.id, 0.0)
            if offset:
                offset_sum += answered * offset
                answered_columns[item.id] = answered
        coverage += answered * additive.coverage.get(item.id, 0.0)
        answered_count += answered
        effect_columns[item.id] = raw
    if problems:
        return None, bad_cells
    if alone_columns:
        blend = np.clip((real_answered - 1) / max(1, len(additive.alone) - 1), 0.0, 1.0)
        if len(additive.alone) == 1:
            blend = np.ones(n)
        fixed_sum += real_alone + blend * (real_full - real_alone)
        for name, single in alone_columns.items():
            effect_columns[name] = single + blend * (effect_columns[name] - single)
    scale = additive.scale_at(coverage)
    log_odds = loaded.intercept_for(rate) + scale * raw_sum + fixed_sum + offset_sum
    p_mle = 1.0 / (1.0 + np.exp(-log_odds))
    # categorical columns: cheap to build for millions of rows, and compare equal to plain strings
    role = pd.Categorical.from_codes((p_mle >= 0.5).astype(np.int8), categories=list(ROLES))
    out = pd.DataFrame({"p_swe": 1.0 - p_mle, "p_mle": p_mle, "role": role}, index=frame.index)
    conformal = additive.conformal
    if conformal is not None:
        q_swe = np.full(n, conformal.q_swe)
        q_mle = np.full(n, conformal.q_mle)
        low = 0
        for most, band_swe, band_mle in conformal.bands:
            in_band = (answered_count > low) & (answered_count <= most)
            q_swe[in_band], q_mle[in_band] = band_swe, band_mle
            low = most
        has_mle, has_swe = (1.0 - p_mle) <= q_mle, p_mle <= q_swe
        neither = ~has_mle & ~has_swe
        has_mle |= neither & (p_mle >= 0.5)
        has_swe |= neither & (p_mle < 0.5)
        # too few answers (and none at all) never settle the question: both roles stay in the set
        too_few = (answered_count < max(conformal.min_answers, 1)) | (
            np.maximum(p_mle, 1.0 - p_mle) < conformal.min_probability
        )
        has_mle |= too_few
        has_swe |= too_few
        both = has_mle & has_swe
        set_codes = np.where(both, 2, has_mle.astype(np.int8))
        out["prediction_set"] = pd.Categorical.from_codes(set_codes, categories=["swe", "mle", "swe,mle"])
        top = np.maximum(p_mle, 1.0 - p_mle)
        verdict_codes = np.where(both, np.where(top >= 0.6, 1, 2), 0)
        verdict_codes = np.where(answered_count == 0, 3, verdict_codes).astype(np.int8)
        out["verdict"] = pd.Categorical.from_codes(verdict_codes, categories=list(VERDICTS))
    if top_k > 0 and effect_columns:
        # ties broken by item id, as in predict(): order the columns alphabetically, then stable-sort
        names = sorted(effect_columns)
        magnitude = np.abs(
            np.column_stack(
                [
                    effect_columns[name]
                    if name in additive.fixed or name in alone_columns
                    else effect_columns[name] * scale
                    + additive.offsets.get(name, 0.0) * answered_columns.get(name, 0)
                    for name in names
                ]
            )
        )
        k = min(top_k, len(names))
        if k < len(names):
            candidates = np.argpartition(-magnitude, k - 1, axis=1)[:, :k]
            candidates.sort(axis=1)
        else:
            candidates = np.tile(np.arange(len(names)), (n, 1))
        picked = np.take_along_axis(magnitude, candidates, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        columns = np.take_along_axis(candidates, order, axis=1)
        values = np.take_along_axis(picked, order, axis=1)
        labels = np.array(names, dtype=object)
        for j in range(k):
            out[f"reason_{j + 1}"] = np.where(values[:, j] > 0, labels[columns[:, j]], None)
    return out, bad_cells


def _prepare(compiled: _CompiledItem) -> None:
    """Build a numeric item's arrays for batch scoring (once)."""
    import numpy as np

    item = compiled.item
    if compiled.values is None and item.kind != "choice":
        compiled.edges = np.asarray(compiled.table.edges, dtype=float)
        compiled.values = np.asarray(compiled.table.values, dtype=float)
        if item.kind != "number":
            lo, hi = item.bounds
            # one slot per whole value, then a 0.0 slot for skipped or invalid cells
            compiled.lut = np.array(
                [compiled.table.effect(float(v)) for v in range(int(lo), int(hi) + 1)] + [0.0]
            )


def _column_effects(compiled: _CompiledItem, column, alone: _CompiledItem | None = None):
    """Raw effects, answered mask, invalid mask of one item's column (vectorised), and the effects of
    ``alone`` (the same item's table when answered alone; None when not given) from the same lookups."""
    import numpy as np
    import pandas as pd

    item = compiled.item
    n = len(column)
    _prepare(compiled)
    if alone is not None:
        _prepare(alone)
    if (
        item.kind != "choice"
        and pd.api.types.is_numeric_dtype(column)
        and not pd.api.types.is_bool_dtype(column)
    ):
        x = column.to_numpy(dtype=float, na_value=np.nan)
        answered = ~np.isnan(x)
        lo, hi = item.bounds
        with np.errstate(invalid="ignore"):
            if compiled.lut is not None:
                # whole-number items: index a per-value table; NaN, fractions, inf and out-of-range
                # values fail `whole == offset`, and negatives wrap to huge unsigned values
                span = int(hi - lo)
                offset = x - lo
                whole = offset.astype(np.int64)
                valid = (whole == offset) & (whole.view(np.uint64) <= span)
                slot = np.where(valid, whole, span + 1)
                return (
                    compiled.lut[slot],
                    valid,
                    answered & ~valid,
                    None if alone is None else alone.lut[slot],
                )
            bad = answered & ((x < lo) | (x > hi) | ~np.isfinite(x))
        valid = answered & ~bad
        where = np.where(valid, x, lo)
        index = np.searchsorted(compiled.edges, where, side="left")
        single = None
        if alone is not None:
            same = np.array_equal(alone.edges, compiled.edges)
            single = alone.values[index if same else np.searchsorted(alone.edges, where, side="left")] * valid
        return compiled.values[index] * valid, valid, bad, single
    # any other column: resolve each distinct value once
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    unique_raw = np.zeros(len(uniques) + 1)
    unique_alone = np.zeros(len(uniques) + 1)
    unique_answered = np.zeros(len(uniques) + 1, dtype=bool)
    unique_bad = np.zeros(len(uniques) + 1, dtype=bool)
    for position, value in enumerate(uniques):
        try:
            answer = compiled.normalise(value)
        except ValueError:
            unique_bad[position] = True
            continue
        if answer is not _SKIP:
            unique_raw[position] = compiled.level(answer)[0]
            unique_answered[position] = True
            if alone is not None:
                unique_alone[position] = alone.level(answer)[0]
    codes = np.where(codes < 0, len(uniques), codes)  # missing -> the last slot (skipped)
    bad = unique_bad[codes] if n else np.zeros(0, bool)
    return unique_raw[codes], unique_answered[codes], bad, None if alone is None else unique_alone[codes]
