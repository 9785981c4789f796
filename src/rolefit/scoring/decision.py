"""A person's prediction set and verdict: the rule written once, looked up by one person or a million.

:func:`decide` is the rule (no answers: both roles, no information; otherwise the conformal set of
:meth:`rolefit.model.conformal.Conformal.prediction_set` and its :func:`~rolefit.model.conformal.verdict`).
It depends only on ``p_mle`` and the number of answers, and each of its comparisons changes its outcome
at one point of ``p_mle``. :class:`Decisions` finds those points exactly, evaluates the rule once per
bundle at the start of every interval between them (no comparison changes inside one) and keeps the
outcome of each: :func:`rolefit.predict` finds a person's interval by bisection
and :func:`rolefit.predict_many` finds every row's with ``numpy.searchsorted`` in the same table, so both
give what the rule gives, exactly (tests/unit/test_decision.py checks it at every cut and around it).
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from typing import Any

from rolefit.model.conformal import LEANING, ROLES, THRESHOLD, VERDICTS, Conformal, role_of, verdict

#: the prediction sets by code, as lists (predict) and as the strings of predict_many's column
SETS = (["swe"], ["mle"], list(ROLES))
SET_NAMES = ("swe", "mle", "swe,mle")


def decide(conformal: Conformal | None, p_mle: float, answered: int) -> tuple[list[str], str]:
    """The prediction set and verdict of someone with ``answered`` answers and probability ``p_mle``."""
    if not answered:
        chosen = list(ROLES)  # no information: neither role is ruled out
    elif conformal is not None:
        chosen = conformal.prediction_set(p_mle, answered)
    else:
        chosen = [role_of(p_mle)]
    return chosen, verdict(chosen, p_mle, answered)


def _points(conformal: Conformal | None, answered: int) -> list[float]:
    """Every ``p_mle`` in [0, 1] at which a comparison made by :func:`decide` changes its outcome.

    Each comparison is monotone in ``p_mle``; its exact turning point (the first double at which it
    differs from its value at 0, found by bisection over the doubles) is computed rather than derived,
    because ``1.0 - p`` is rounded and may turn several doubles away from ``1 - q``.
    """
    comparisons = [lambda p: p >= THRESHOLD, lambda p: p >= LEANING, lambda p: 1.0 - p >= LEANING]
    if conformal is not None:
        q_swe, q_mle = conformal.thresholds(answered)
        comparisons += [lambda p: p <= q_swe, lambda p: 1.0 - p <= q_mle]
        least = conformal.min_probability
        if least is not None:  # the floor of bundles from before rule version 2
            comparisons += [lambda p: p < least, lambda p: 1.0 - p < least]
    points = {0.0}
    for compare in comparisons:
        point = _turning_point(compare)
        if point is not None:
            points.add(point)
    return sorted(points)


def _turning_point(compare) -> float | None:
    """The smallest double in [0, 1] where the monotone ``compare`` differs from ``compare(0.0)``."""
    start = compare(0.0)
    if compare(1.0) == start:
        return None
    # non-negative doubles are ordered as their bit patterns: bisect over the integers
    low, high = _bits(0.0), _bits(1.0)
    while high - low > 1:
        middle = (low + high) // 2
        if compare(_double(middle)) == start:
            low = middle
        else:
            high = middle
    return _double(high)


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _double(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<q", bits))[0]


class Decisions:
    """The outcome of :func:`decide` for every answer count and interval of ``p_mle``.

    ``group_of[n]`` is the table of someone with ``n`` answers (counts beyond the last share it);
    in table ``g``, ``p_mle`` in ``[cuts[g][i - 1], cuts[g][i])`` has set code ``sets[g][i]`` (an index of
    :data:`SETS`) and verdict code ``verdicts[g][i]`` (an index of :data:`VERDICTS`).
    """

    # a plain class, not a dataclass: it is built on every cold start, and @dataclass costs milliseconds
    __slots__ = ("cuts", "group_of", "sets", "verdicts")

    def __init__(self, group_of: tuple[int, ...], cuts: tuple[tuple[float, ...], ...],
                 sets: tuple[tuple[int, ...], ...], verdicts: tuple[tuple[int, ...], ...]):  # fmt: skip
        self.group_of, self.cuts, self.sets, self.verdicts = group_of, cuts, sets, verdicts

    @classmethod
    def build(cls, conformal: Conformal | None, n_items: int) -> Decisions:
        """Evaluate the rule for 0 to ``n_items`` answers; equal tables are kept once."""
        tables: dict[tuple, int] = {}
        group_of = []
        built: dict[tuple, tuple] = {}
        for answered in range(n_items + 1):
            # counts with the same thresholds and the same minimum-answers outcome decide alike
            key = (answered == 0, conformal is not None and answered < conformal.min_answers,
                   conformal.thresholds(answered) if conformal is not None else None)  # fmt: skip
            if key in built:
                group_of.append(tables[built[key]])
                continue
            cuts, sets, verdicts = [], [], []
            for p in _points(conformal, answered):
                chosen, said = decide(conformal, p, answered)
                code = SETS.index(chosen) if len(chosen) == 1 else 2
                said_code = VERDICTS.index(said)
                if sets and (code, said_code) == (sets[-1], verdicts[-1]):
                    continue  # the same outcome as the interval before: no new cut
                cuts.append(p)
                sets.append(code)
                verdicts.append(said_code)
            # below the first point (p < 0 never occurs) the first outcome holds
            table = built[key] = (tuple(cuts), (sets[0], *sets), (verdicts[0], *verdicts))
            group_of.append(tables.setdefault(table, len(tables)))
        ordered = sorted(tables, key=tables.get)
        return cls(
            group_of=tuple(group_of),
            cuts=tuple(t[0] for t in ordered),
            sets=tuple(t[1] for t in ordered),
            verdicts=tuple(t[2] for t in ordered),
        )

    def one(self, p_mle: float, answered: int) -> tuple[list[str], str]:
        """The set (a new list) and verdict of one person."""
        group = self.group_of[min(answered, len(self.group_of) - 1)]
        i = bisect_right(self.cuts[group], p_mle)
        return list(SETS[self.sets[group][i]]), VERDICTS[self.verdicts[group][i]]

    def many(self, p_mle: Any, answered: Any) -> tuple[Any, Any]:
        """Set codes and verdict codes (int8 arrays) of many people, from numpy arrays."""
        import numpy as np

        groups = np.asarray(self.group_of)[np.minimum(answered, len(self.group_of) - 1)]
        set_codes = np.empty(len(p_mle), dtype=np.int8)
        verdict_codes = np.empty(len(p_mle), dtype=np.int8)
        for group, cuts in enumerate(self.cuts):
            rows = groups == group
            if rows.any():
                i = np.searchsorted(np.asarray(cuts), p_mle[rows], side="right")
                set_codes[rows] = np.asarray(self.sets[group], dtype=np.int8)[i]
                verdict_codes[rows] = np.asarray(self.verdicts[group], dtype=np.int8)[i]
        return set_codes, verdict_codes
