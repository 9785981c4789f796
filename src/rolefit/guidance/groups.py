"""Reasons grouped the way people think: what you enjoy, are good at, how you like to work, where you
want to go and what you have done so far (the instrument's five groups, ``Item.group``).

Every answered item belongs to exactly one group, so the subtotals are exactly additive::

    prediction.baseline_log_odds + sum(g.subtotal for g in group_subtotals(prediction)) == log_odds

(to rounding: each subtotal is an exactly rounded sum, ``math.fsum``). Within a group, reasons smaller
than :data:`MIN_EFFECT` (less than one percentage point of probability each, see
:mod:`rolefit.guidance.words`) are folded into the group's "other answers", so near-zero reasons such as
"undecided about your career goal" are not listed one by one; their sum still counts in the subtotal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rolefit.guidance.words import GROUP_NAMES, MIN_EFFECT, group_sentence, strength
from rolefit.instrument.items import load_instrument

__all__ = ["MIN_EFFECT", "GroupSubtotal", "group_subtotals"]


@dataclass(frozen=True)
class GroupSubtotal:
    """One group's share of the log-odds toward MLE.

    ``reasons`` are the group's explanations (as in ``Prediction.explanations``) of at least
    :data:`MIN_EFFECT`, largest first; ``other`` is the sum of the ``other_count`` smaller ones, so
    ``fsum(reason effects) + other == subtotal`` to rounding.
    """

    group: str
    name: str
    title: str
    subtotal: float
    answered: int
    reasons: tuple[dict[str, Any], ...] = ()
    other: float = 0.0
    other_count: int = 0
    sentence: str = field(default="")

    @property
    def toward(self) -> str:
        """The role the group points to ("none" when it moves the result by less than MIN_EFFECT)."""
        if not strength(self.subtotal):
            return "none"
        return "mle" if self.subtotal > 0 else "swe"

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "title": self.title,
            "subtotal": self.subtotal,
            "toward": self.toward,
            "answered": self.answered,
            "sentence": self.sentence,
            "reasons": [{**r, "evidence": dict(r.get("evidence", {}))} for r in self.reasons],
            "other_answers": {"count": self.other_count, "effect": self.other},
        }


def group_subtotals(prediction) -> list[GroupSubtotal]:
    """The five groups' subtotals of ``prediction`` (a :class:`rolefit.Prediction`), largest |subtotal|
    first; groups nobody answered come last, in questionnaire order, with a subtotal of 0."""
    instrument = load_instrument()
    group_of = {item.id: item.group for item in instrument.items}
    members: dict[str, list[dict[str, Any]]] = {g.id: [] for g in instrument.groups}
    for explanation in prediction.explanations:
        members[group_of[explanation["item"]]].append(explanation)
    out = []
    for order, group in enumerate(instrument.groups):
        found = members[group.id]
        subtotal = math.fsum(e["effect"] for e in found)
        kept = tuple(e for e in found if abs(e["effect"]) >= MIN_EFFECT)  # explanations come largest first
        small = [e["effect"] for e in found if abs(e["effect"]) < MIN_EFFECT]
        out.append(
            (
                (not found, -abs(subtotal), order),
                GroupSubtotal(
                    group=group.id,
                    name=GROUP_NAMES[group.id],
                    title=group.title,
                    subtotal=subtotal,
                    answered=len(found),
                    reasons=kept,
                    other=math.fsum(small),
                    other_count=len(small),
                    sentence=group_sentence(group.id, subtotal, len(found)),
                ),
            )
        )
    out.sort(key=lambda row: row[0])
    return [row[1] for row in out]
