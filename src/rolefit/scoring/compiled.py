"""Each item's answers resolved ahead of time, for one person (dictionaries) and for columns (arrays).

A :class:`CompiledItem` maps every answer a finite item accepts, in its common spellings, to a
:class:`Level`: its effect in the bundle's tables, its texts, and a ready-made explanation. Anything
else (and every years value) goes through :meth:`Item.coerce` and the table, so results are identical.
For :func:`rolefit.predict_many` the same levels become numpy lookup arrays (:mod:`rolefit.scoring.columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS
from rolefit.model.tables import ItemTable
from rolefit.scoring.answers import validate_answers
from rolefit.scoring.reasons import reason

#: What :meth:`CompiledItem.normalise` returns for a skipped answer (None, "", NaN).
SKIP = object()
#: Distinct years values per item whose levels are kept after first use (a bound on the memory).
KEPT_VALUES = 1000
#: Keys of an answer set that are accepted and never model inputs.
IGNORED = frozenset(METADATA_FIELDS) | frozenset(DEMOGRAPHIC_FIELDS)
#: Answer types looked up directly in an item's levels (booleans and numpy scalars hash like numbers:
#: they take :meth:`CompiledItem.normalise`).
_PLAIN = frozenset({int, float, str})


def resolve(compiled: dict[str, CompiledItem], answers: Any) -> list[Level]:
    """The level of every answered item of ``answers`` (skipped ones left out), in the caller's order.

    Raises :class:`~rolefit.scoring.answers.InvalidAnswers` naming every problem. This is predict's hot
    loop: a value seen before is one dict lookup (years values too, up to :data:`KEPT_VALUES` per item).
    """
    if not isinstance(answers, Mapping):
        validate_answers(answers)  # raises InvalidAnswers naming the problem
    levels = []
    problems = False
    for key, value in answers.items():
        entry = compiled.get(key)
        if entry is None:
            if key not in IGNORED:
                problems = True
            continue
        level = entry.by_value.get(value) if type(value) in _PLAIN else None
        if level is None:
            try:
                answer = entry.normalise(value)
            except ValueError:
                problems = True
                continue
            if answer is SKIP:
                continue
            level = entry.level(answer)
            if type(value) in _PLAIN:
                entry.remember(value, level)
        levels.append(level)
    if problems:
        validate_answers(answers)  # the slow path builds the message naming every offending item
    return levels


def _toward(effect: float) -> str:
    return "mle" if effect > 0 else "swe" if effect < 0 else "none"


class Level:
    """One answer of one item: its raw effect, texts, and the start of its explanation.

    ``raw`` is the effect in the item's table (for a scaled item, before the scale and offset of
    :func:`rolefit.model.tables.scaled_effect`); ``alone`` is a real-block item's effect when answered
    alone (None for other items); ``to_swe`` / ``to_mle`` are the reason texts for a final effect
    pointing either way (the offset can tip a near-zero raw effect).
    """

    __slots__ = ("alone", "answer", "entry", "explanation", "item_id", "rank", "raw", "reason", "to_mle",
                 "to_swe", "toward")  # fmt: skip

    def __init__(self, compiled: CompiledItem, answer: Any):
        item = compiled.item
        raw = compiled.table.effect(answer)
        self.entry, self.item_id, self.rank = compiled, item.id, compiled.rank
        self.answer = answer
        self.raw = raw
        self.alone = None if compiled.alone is None else compiled.alone.effect(answer)
        self.toward = _toward(raw)
        self.reason = text = reason(item, answer, raw)
        self.to_swe = text if raw < 0 else reason(item, answer, -1.0)
        self.to_mle = text if raw > 0 else reason(item, answer, 1.0)
        #: the explanation without its effect and evidence (copied per call: callers may change theirs)
        self.explanation = {
            "item": item.id,
            "question": item.text,
            "answer": answer,
            "answer_label": item.answer_label(answer),
            "effect": 0.0,
            "toward": self.toward,
            "reason": text,
        }


class CompiledItem:
    """One item's answers resolved ahead of time: raw value -> normalised answer -> :class:`Level`.

    ``offset`` is None for a fixed item, whose table already holds its final effect (no scale, no
    offset); ``alone`` is the table of a real-block item answered alone.
    """

    __slots__ = ("alone", "answers", "by_value", "coverage", "evidence", "item", "levels", "offset", "rank",
                 "table")  # fmt: skip

    def __init__(
        self,
        item,
        table: ItemTable,
        coverage: float,
        offset: float | None = 0.0,
        alone: ItemTable | None = None,
        evidence: dict[str, Any] | None = None,
        rank: int = 0,
    ):
        self.item, self.table, self.coverage, self.offset, self.alone = item, table, coverage, offset, alone
        self.rank = rank  # the item id's place in alphabetical order: ties between effects go by it
        self.evidence = evidence or {}
        self.answers: dict[Any, Any] = {None: SKIP, "": SKIP}
        self.levels: dict[Any, Level] = {}
        if item.kind == "choice":
            for choice in item.choices:
                self.answers[choice.id] = self.answers[choice.label] = choice.id
                self.levels[choice.id] = Level(self, choice.id)
        elif item.kind != "number":
            lo, hi = item.bounds
            for value in range(int(lo), int(hi) + 1):
                self.answers[value] = self.answers[str(value)] = float(value)
                self.levels[float(value)] = Level(self, float(value))
            if item.kind == "scale":
                for position, word in enumerate(item.scale.labels, start=item.scale.min):
                    self.answers[word] = float(position)
            if item.kind == "binary":
                for word in ("yes", "no", "true", "false"):
                    self.answers[word] = 1.0 if word in ("yes", "true") else 0.0
        #: the level of every accepted spelling, for values whose type is exactly int, float or str
        #: (booleans and numpy scalars hash like numbers: they take :meth:`normalise`)
        self.by_value = {
            value: self.levels[answer] for value, answer in self.answers.items() if answer is not SKIP
        }

    def normalise(self, value: Any) -> Any:
        """The normalised answer, :data:`SKIP` for a skipped one; raises ValueError when invalid."""
        # booleans (Python's or numpy's) hash like 0/1: only the slow path may accept them (binary items)
        if type(value).__name__ not in ("bool", "bool_"):
            try:
                found = self.answers.get(value)
            except TypeError:  # unhashable (list, dict, ...)
                found = None
            if found is not None:
                return found
        answer = self.item.coerce(value)
        return SKIP if answer is None else answer

    def remember(self, value: Any, level: Level) -> None:
        """Look ``value`` (an int, float or str that normalised to ``level``'s answer) up directly next
        time; years values are kept up to :data:`KEPT_VALUES` per item."""
        if len(self.by_value) < KEPT_VALUES + len(self.answers):
            self.by_value[value] = level

    def level(self, answer) -> Level:
        """Precomputed for every finite answer; computed on first use for years values (and kept, up
        to :data:`KEPT_VALUES` of them, since people give the same few: 1, 2, 5, 10 years)."""
        entry = self.levels.get(answer)
        if entry is None:
            entry = Level(self, answer)
            if len(self.levels) < KEPT_VALUES:
                self.levels[answer] = entry
        return entry


def retell(explanation: dict[str, Any], level: Level, effect: float) -> None:
    """Point ``explanation`` the way its final ``effect`` does: the calibration's offset per answered
    item can tip a near-zero raw effect to the other side (or to exactly zero)."""
    explanation["toward"] = _toward(effect)
    explanation["reason"] = level.to_mle if effect > 0 else level.to_swe if effect < 0 else level.reason
