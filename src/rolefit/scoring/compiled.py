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
from rolefit.model.tables import ItemTable, blended_effect, scaled_effect
from rolefit.model.uncertainty import RELATIVE, ItemUncertainty, level_sd
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
    loop: when every answer is an int, float or str spelled as seen before (years values too, up to
    :data:`KEPT_VALUES` per item), the whole set is one pass of C-level lookups in the ``by_pair`` table
    of ``compiled`` (a :class:`CompiledItems`); anything else takes the loop of :func:`_resolve_each`.
    """
    if (
        type(compiled) is CompiledItems
        and type(answers) is dict
        # only exact ints, floats and strs: a boolean or numpy scalar hashes like a number but is
        # judged by Item.coerce (True is no answer to a 1-5 item)
        and _PLAIN.issuperset(map(type, answers.values()))
    ):
        # each (item id, value) pair of the dict is a key of by_pair; a miss (an unknown or metadata key,
        # a skipped or new value) sends the whole set to the general loop
        try:
            return list(map(compiled.by_pair.__getitem__, answers.items()))
        except KeyError:
            pass
    return _resolve_each(compiled, answers)


def _resolve_each(compiled: dict[str, CompiledItem], answers: Any) -> list[Level]:
    """:func:`resolve` one answer at a time: skips, normalises and remembers new spellings."""
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


class CompiledItems(dict):
    """Every item's :class:`CompiledItem` by item id, and ``by_pair``: the :class:`Level` of every
    ``(item id, value)`` that any item's ``by_value`` holds, so that :func:`resolve` can look up a
    whole answer dict with ``map`` (each of the dict's items is such a pair).

    ``whole_scale`` is the scale of the whole questionnaire answered (in its order) and ``real_items``
    the number of real-block items: with both, every level's final effect is its ``whole_effect``.
    """

    __slots__ = ("by_pair", "real_items", "whole_scale")

    def __init__(self, items: Mapping[str, CompiledItem], whole_scale: float, real_items: int):
        super().__init__(items)
        self.whole_scale, self.real_items = whole_scale, real_items
        self.by_pair: dict[tuple[str, Any], Level] = {}
        for item_id, entry in self.items():
            entry.pairs = self.by_pair
            self.by_pair.update(((item_id, value), level) for value, level in entry.by_value.items())


def _toward(effect: float) -> str:
    return "mle" if effect > 0 else "swe" if effect < 0 else "none"


class Level:
    """One answer of one item: its raw effect, texts, and its explanation ready but for the numbers.

    ``raw`` is the effect in the item's table (for a scaled item, before the scale and offset of
    :func:`rolefit.model.tables.scaled_effect`); ``alone`` is a real-block item's effect when answered
    alone (None for other items); ``to_swe`` / ``to_mle`` are the reason texts for a final effect
    pointing either way (the offset can tip a near-zero raw effect).

    For :func:`rolefit.predict`: an explanation's direction and reason depend only on the sign of the
    final effect, so ``when_mle``, ``when_swe`` and ``when_none`` hold the explanation (without its
    effect and evidence) for a final effect > 0, < 0 and == 0. A fixed or real-block item's final effect
    depends only on how many of the real block were answered: ``final[k]`` is it for ``k`` of them
    (the formula of :mod:`rolefit.model.tables` evaluated once per count), and ``final_explanations[k]``
    its explanation; both are None for a scaled item, whose effect depends on the whole answer set.
    ``whole_effect``, its ``whole_size`` and ``whole_explanation`` (effect filled in) are the final ones
    when the whole questionnaire is answered (:attr:`CompiledItems.whole_scale`), the usual case,
    computed once.
    ``coverage``, ``offset`` and ``evidence`` are the item's, kept here to be read with one lookup.
    """

    __slots__ = ("alone", "answer", "coverage", "entry", "evidence", "final", "final_explanations",
                 "final_sd", "fit", "fit_whole_variance", "item_id", "last_scaled", "offset", "packed",
                 "rank", "raw", "ready", "reason", "to_mle", "to_swe", "toward", "when_mle", "when_none",
                 "when_swe", "whole_effect", "whole_explanation", "whole_size", "whole_variance",
                 "width")  # fmt: skip

    def __init__(self, compiled: CompiledItem, answer: Any):
        item = compiled.item
        raw = compiled.table.effect(answer)
        self.entry, self.item_id, self.rank = compiled, item.id, compiled.rank
        #: the same answer in the fit (a Level of the fit's own items; None for an item not in the fit)
        self.fit = None if compiled.fit is None else compiled.fit.level(answer)
        self.coverage, self.offset, self.evidence = compiled.coverage, compiled.offset, compiled.evidence
        self.answer = answer
        self.raw = raw
        #: readiness's look-up of this answer (:meth:`CompiledItem.link_readiness`): its entry
        #: ``(item, swe standing, mle standing)``, or ``()`` for an item readiness does not compare
        self.ready = () if compiled.ready_of is None else compiled.ready_of(compiled.item.id, answer)
        self.alone = None if compiled.alone is None else compiled.alone.effect(answer)
        self.toward = _toward(raw)
        self.reason = text = reason(item, answer, raw)
        self.to_swe = text if raw < 0 else reason(item, answer, -1.0)
        self.to_mle = text if raw > 0 else reason(item, answer, 1.0)
        # copied per call (callers may change theirs); "effect" and "evidence" are in place already, so
        # that filling them in changes no dict's size
        label = item.answer_label(answer)
        self.when_mle, self.when_swe, self.when_none = (
            {"item": item.id, "question": item.text, "answer": answer, "answer_label": label, "effect": 0.0,
             "toward": toward, "reason": said, "evidence": None}
            for toward, said in (("mle", self.to_mle), ("swe", self.to_swe), ("none", text))
        )  # fmt: skip
        if self.alone is not None:
            self.final = tuple(blended_effect(self.alone, raw, weight) for weight in compiled.weights)
        elif compiled.offset is None:
            self.final = (raw,) * len(compiled.weights)
        else:
            self.final = None
        self.final_explanations = None if self.final is None else tuple(map(self.pointing, self.final))
        #: a scaled item's last (scale, final effect) in predict (None: none yet)
        self.last_scaled: tuple[float | None, float] = (None, 0.0)
        if self.final is None:
            self.whole_effect = scaled_effect(raw, compiled.whole_scale, compiled.offset)
        else:
            self.whole_effect = self.final[-1]  # every real-block item answered
        self.whole_explanation = {**self.pointing(self.whole_effect), "effect": self.whole_effect}
        self.whole_size = abs(self.whole_effect)
        # a fit item's uncertainty (rolefit.model.uncertainty): a relative ``width`` (sd = width * |final
        # effect|), or the sd per count of answered real-block items (``final_sd``, blended like the
        # effect); ``whole_variance`` is the variance of ``whole_effect``
        uncertainty = compiled.uncertainty
        self.width, self.final_sd, self.whole_variance = None, None, 0.0
        if uncertainty is not None and uncertainty.kind == RELATIVE:
            self.width = uncertainty.width
            self.whole_variance = (self.width * self.whole_effect) ** 2
        elif uncertainty is not None:
            full_sd = level_sd(uncertainty.sd, compiled.table, answer)
            alone_sd = full_sd
            if compiled.alone is not None and uncertainty.sd_alone:
                alone_sd = level_sd(uncertainty.sd_alone, compiled.alone, answer)
            weights = compiled.weights
            if compiled.alone is not None:
                self.final_sd = tuple(blended_effect(alone_sd, full_sd, weight) for weight in weights)
            else:
                self.final_sd = (full_sd,) * len(weights)
            self.whole_variance = self.final_sd[-1] ** 2
            self.evidence = {**self.evidence, "uncertainty": {"kind": "sd", "sd": self.final_sd[-1]}}
        # the whole questionnaire's effect in both models in one number (the fit's as the imaginary
        # part, 0 for an item not in the fit), and the fit's variance: predict sums each in one pass
        fit = self.fit
        self.packed = complex(self.whole_effect, 0.0 if fit is None else fit.whole_effect)
        self.fit_whole_variance = 0.0 if fit is None else fit.whole_variance

    def pointing(self, effect: float) -> dict[str, Any]:
        """The explanation (not a copy) for a final ``effect`` of this answer: its direction and reason
        are the effect's (``_toward``; a near-zero raw effect may have been tipped by the offset)."""
        return self.when_mle if effect > 0 else self.when_swe if effect < 0 else self.when_none


class CompiledItem:
    """One item's answers resolved ahead of time: raw value -> normalised answer -> :class:`Level`.

    ``offset`` is None for a fixed item, whose table already holds its final effect (no scale, no
    offset); ``alone`` is the table of a real-block item answered alone, and ``weights[k]`` the blend
    weight (:meth:`rolefit.model.tables.AdditiveModel.blend`) when ``k`` of the block's items were
    answered (the last: all of them). ``whole_scale`` is :attr:`CompiledItems.whole_scale`. ``pairs`` is
    the ``by_pair`` table of the :class:`CompiledItems` holding this item (None until it is added to one).
    """

    __slots__ = ("alone", "answers", "by_value", "coverage", "evidence", "fit", "item", "levels", "offset",
                 "pairs", "rank", "ready_of", "table", "uncertainty", "weights", "whole_scale")  # fmt: skip

    def __init__(
        self,
        item,
        table: ItemTable,
        coverage: float,
        offset: float | None = 0.0,
        alone: ItemTable | None = None,
        evidence: dict[str, Any] | None = None,
        rank: int = 0,
        weights: tuple[float, ...] = (1.0,),
        whole_scale: float = 1.0,
        fit: CompiledItem | None = None,
        uncertainty: ItemUncertainty | None = None,
    ):
        self.item, self.table, self.coverage, self.offset, self.alone = item, table, coverage, offset, alone
        self.rank = rank  # the item id's place in alphabetical order: ties between effects go by it
        self.evidence = evidence or {}
        self.weights, self.whole_scale = weights, whole_scale
        # the item in the fit (its own tables), or None; ``uncertainty`` is set on the fit's own items
        self.fit, self.uncertainty = fit, uncertainty
        self.pairs: dict[tuple[str, Any], Level] | None = None
        #: readiness's look-up of (item id, answer) (:meth:`link_readiness`; None: not linked)
        self.ready_of = None
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

    def link_readiness(self, tables) -> None:
        """Give every level of this item (and each made later) its readiness entry from ``tables``
        (:class:`rolefit.scoring.readiness.ReadinessTables`), so that predict reads a person's standing
        off the levels it resolved instead of looking every answer up again."""
        self.ready_of = tables.entry
        for level in self.levels.values():
            level.ready = tables.entry(self.item.id, level.answer)

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
            if self.pairs is not None:
                self.pairs[self.item.id, value] = level

    def level(self, answer) -> Level:
        """Precomputed for every finite answer; computed on first use for years values (and kept, up
        to :data:`KEPT_VALUES` of them, since people give the same few: 1, 2, 5, 10 years)."""
        entry = self.levels.get(answer)
        if entry is None:
            entry = Level(self, answer)
            if len(self.levels) < KEPT_VALUES:
                self.levels[answer] = entry
        return entry
