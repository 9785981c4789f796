"""The prediction set and verdict are one rule (decide), and its lookup table gives exactly what it gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rolefit.model.conformal import VERDICTS, Conformal
from rolefit.scoring.decision import SET_NAMES, SETS, Decisions, decide

CONFORMALS = {
    "none": None,
    "plain": Conformal(level=0.9, q_swe=0.42, q_mle=0.37),
    # thresholds above 0.5 (few answers): 1 - p is rounded, so its turning point is not 1 - q
    "banded": Conformal(level=0.9, q_swe=0.5763031722258314, q_mle=0.7636906450452767, min_answers=3,
                        min_probability=0.75, bands=((5, 0.5695624613942131, 0.7526187248568199),
                                                     (12, 0.6440077218645289, 0.7445786195650936),
                                                     (25, 0.6054468574146701, 0.7614380249399353))),
    "tiny": Conformal(level=0.9, q_swe=1e-9, q_mle=0.999999999, min_probability=0.6),
    # rule 2 (no floor): the thresholds alone, per band
    "thresholds": Conformal(level=0.9, q_swe=0.5476, q_mle=0.7702, min_answers=3,
                            bands=((5, 0.5751, 0.7684), (12, 0.6440077218645289, 0.7445786195650936),
                                   (25, 0.6054468574146701, 0.7614380249399353))),
    # thresholds below 0.5 leave a gap of probabilities no role reaches: both roles there
    "gap": Conformal(level=0.9, q_swe=0.42, q_mle=0.37, min_answers=3, bands=((12, 0.3, 0.45),)),
    "tiny-thresholds": Conformal(level=0.9, q_swe=1e-9, q_mle=0.999999999),
}  # fmt: skip


def probes(decisions: Decisions, seed: int = 0) -> np.ndarray:
    """Random probabilities, the ends, and 40 doubles around every cut of every table."""
    points = [*np.random.default_rng(seed).random(2000), 0.0, 1.0, 0.5, 0.4, 0.6]
    for cuts in decisions.cuts:
        for cut in cuts:
            below = above = cut
            for _ in range(20):
                below, above = math.nextafter(below, -1.0), math.nextafter(above, 2.0)
                points += [below, above]
    return np.array(sorted(p for p in set(points) if 0.0 <= p <= 1.0))


@pytest.mark.parametrize("name", list(CONFORMALS))
def test_the_table_gives_exactly_what_the_rule_gives_for_one_person_and_for_many(name):
    conformal = CONFORMALS[name]
    decisions = Decisions.build(conformal, 44)
    p = probes(decisions)
    for answered in range(0, 50):
        expected = [decide(conformal, float(x), answered) for x in p]
        assert [decisions.one(float(x), answered) for x in p] == expected
        set_codes, verdict_codes = decisions.many(p, np.full(len(p), answered))
        as_sets = [SET_NAMES.index(",".join(chosen)) for chosen, _ in expected]
        assert set_codes.tolist() == as_sets
        assert verdict_codes.tolist() == [VERDICTS.index(said) for _, said in expected]


def test_the_table_changes_outcome_where_the_rule_does():
    """A rule with a threshold above 0.5 turns at a double that is not 1 - q: the table has that cut."""
    conformal = CONFORMALS["banded"]
    decisions = Decisions.build(conformal, 44)
    cuts = decisions.cuts[decisions.group_of[44]]
    turn = next(c for c in cuts if "mle" in decide(conformal, c, 44)[0])
    assert "mle" not in decide(conformal, math.nextafter(turn, 0.0), 44)[0]


def test_no_answers_give_both_roles_and_no_information_whatever_the_probability():
    decisions = Decisions.build(CONFORMALS["plain"], 44)
    for p in (0.0, 0.01, 0.5, 0.99, 1.0):
        assert decisions.one(p, 0) == (list(SETS[2]), "no-information")
