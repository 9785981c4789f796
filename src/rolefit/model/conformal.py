"""How sure the model is: split-conformal prediction sets and the verdict derived from them.

Class-conditional (Mondrian) split conformal, per role and per band of answer counts: on held-out data
the nonconformity of a respondent is ``1 - p(true role)``; for each role and band the threshold
``q_role`` is the smallest score whose weighted share among the band's held-out respondents of that
role, counting the new person too, reaches the level (:func:`weighted_quantile`; with equal weights the
``ceil((n + 1) * level)``-th smallest). A new person's set holds every role whose score is within its
threshold, so each role's true members are covered with probability at least ``level`` in each band,
whatever the mix of roles in the population scored; a test of held-out rows checks that no role is
covered more than :data:`TOLERANCE` away from the level (:func:`coverage_errors`).

Only two rules sit on top of the thresholds, and both can only widen a set:

* with fewer than ``min_answers`` answers the set holds both roles (a single answer never settles the
  question, however strongly it leans); those respondents are left out of the thresholds' fitting;
* a set that would be empty (the person's answers are untypical of both roles at the level) holds both
  roles: rolefit cannot place them, and naming the more likely role would call a near 50/50 "clear".

The verdict follows from the set: no answers at all -> ``no-information``; one role in the set ->
``clear``; both -> ``leaning`` when the larger probability is at least :data:`LEANING`, otherwise
``toss-up``.

Bundles exported before rule version 2 (:data:`RULE_VERSION`) carry ``min_probability``, a floor the
larger probability had to reach before a set could name one role (0.75: "clear" meant 3 to 1), and named
the more likely role when a set came out empty. That floor, not the thresholds, decided their coverage
(swapping the level's alpha and 1 - alpha left it unchanged); they keep the rule they were exported with,
so they predict exactly as before, and new bundles carry no floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

ROLES = ("swe", "mle")
VERDICTS = ("clear", "leaning", "toss-up", "no-information")
#: p_mle at or above which MLE is the more likely role (the predicted role)
THRESHOLD = 0.5
#: a set of both roles is "leaning" when the larger probability is at least this, else "toss-up"
LEANING = 0.6
#: The prediction-set rule this code writes: 2 = the sets come from the thresholds alone (plus the
#: minimum-answers rule; an empty set holds both roles). Bundles without it use rule 1 (see above).
RULE_VERSION = 2
#: How far a role's coverage on held-out respondents may be from the level (:func:`coverage_errors`).
TOLERANCE = 0.02


def role_of(p_mle: float) -> str:
    """The more likely role: ``mle`` from :data:`THRESHOLD` up."""
    return "mle" if p_mle >= THRESHOLD else "swe"


@dataclass(frozen=True)
class Conformal:
    """Per-role thresholds on ``1 - p(role)`` at coverage ``level``, per band of answer counts."""

    level: float
    q_swe: float
    q_mle: float
    min_answers: int = 1
    #: rule 1 only (bundles exported before :data:`RULE_VERSION` 2): a role is ruled out only when the
    #: other has at least this probability, and an empty set names the more likely role. None (every
    #: new bundle): the thresholds alone decide, and an empty set holds both roles.
    min_probability: float | None = None
    #: thresholds of their own for people who gave few answers: ``(most answers, q_swe, q_mle)``,
    #: ascending; a person with more answers than every band uses ``q_swe`` and ``q_mle``
    bands: tuple[tuple[int, float, float], ...] = ()

    def thresholds(self, answered: int | None = None) -> tuple[float, float]:
        """``(q_swe, q_mle)`` for someone who gave ``answered`` answers (None: those beyond every band)."""
        if answered is not None:
            for most, q_swe, q_mle in self.bands:
                if answered <= most:
                    return q_swe, q_mle
        return self.q_swe, self.q_mle

    def prediction_set(self, p_mle: float, answered: int | None = None) -> list[str]:
        """The roles that fit at ``level``; ``answered`` (the number of answers) selects the thresholds
        of its band, and below ``min_answers`` gives both."""
        if answered is not None and answered < self.min_answers:
            return list(ROLES)
        legacy = self.min_probability is not None
        if legacy and max(p_mle, 1.0 - p_mle) < self.min_probability:
            return list(ROLES)
        q_swe, q_mle = self.thresholds(answered)
        # score of swe is 1 - p_swe = p_mle; score of mle is 1 - p_mle (same expressions as predict_many)
        chosen = [
            role for role, score, q in (("swe", p_mle, q_swe), ("mle", 1.0 - p_mle, q_mle)) if score <= q
        ]
        if not chosen:
            chosen = [role_of(p_mle)] if legacy else list(ROLES)
        return chosen

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"level": self.level, "q_swe": self.q_swe, "q_mle": self.q_mle,
                               "min_answers": self.min_answers}  # fmt: skip
        if self.min_probability is None:
            out["rule_version"] = RULE_VERSION
        else:
            out["min_probability"] = self.min_probability
        out["bands"] = [list(band) for band in self.bands]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conformal:
        version = data.get("rule_version", 1)
        if version not in (1, RULE_VERSION):
            raise ValueError(
                f"prediction-set rule version {version!r} is unknown (this rolefit reads 1 and 2)."
            )
        return cls(
            level=float(data["level"]),
            q_swe=float(data["q_swe"]),
            q_mle=float(data["q_mle"]),
            min_answers=int(data.get("min_answers", 1)),
            # rule 1 without the key: the floor then was THRESHOLD, which never widens a set
            min_probability=float(data.get("min_probability", THRESHOLD)) if version == 1 else None,
            bands=tuple((int(b[0]), float(b[1]), float(b[2])) for b in data.get("bands", ())),
        )


def verdict(prediction_set: list[str], p_mle: float, answered: int | None = None) -> str:
    """``no-information`` / ``clear`` / ``leaning`` / ``toss-up`` from the set and the probabilities."""
    if answered == 0:
        return "no-information"
    if len(prediction_set) == 1:
        return "clear"
    return "leaning" if max(p_mle, 1.0 - p_mle) >= LEANING else "toss-up"


#: Upper ends of the answer-count bands with thresholds of their own (Mondrian conformal by how much
#: of the questionnaire was answered; the last band is open): few answers give moderate probabilities
#: whose errors differ from those of complete answer sets.
ANSWER_BANDS = (5, 12, 25)
#: Held-out respondents of each role a band needs for thresholds of its own; a band with fewer is pooled
#: with the next (the last with the one before). With n respondents the coverage a threshold reaches
#: varies by about sqrt(alpha * (1 - alpha) / n): 0.021 at 200 and level 0.9.
MIN_BAND_ROWS = 200


def fit_conformal(
    y, p_mle, level: float, sample_weight=None, min_answers: int = 1, answered=None, bands=ANSWER_BANDS
) -> Conformal:
    """Thresholds from held-out labels ``y`` (1 = mle) and probabilities (weighted split conformal).

    With ``answered`` (answers per held-out respondent), respondents below ``min_answers`` are left out
    (their set holds both roles whatever the thresholds), and every band of ``bands`` (upper ends,
    ascending; answer counts beyond the last form a final band) gets thresholds from its own
    respondents, bands with fewer than :data:`MIN_BAND_ROWS` of a role pooled with their neighbours
    (:func:`band_groups`). Without ``answered`` there is one band.
    """
    import numpy as np

    y = np.asarray(y)
    p_mle = np.asarray(p_mle, dtype=float)
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if not len(y) == len(p_mle) == len(weights):
        raise ValueError(
            f"Labels, probabilities and weights differ in length ({len(y)}, {len(p_mle)}, {len(weights)})."
        )
    if answered is None:
        q = _thresholds(y, p_mle, level, weights)
        return Conformal(level=level, q_swe=q["swe"], q_mle=q["mle"], min_answers=min_answers)
    answered = np.asarray(answered)
    edges = (min_answers - 1, *(most for most in bands if most >= min_answers), math.inf)
    band_of = np.searchsorted(np.asarray(edges[1:], dtype=float), answered, side="left")
    kept = answered >= min_answers
    counts = [
        (int(((band_of == b) & kept & (y == 0)).sum()), int(((band_of == b) & kept & (y == 1)).sum()))
        for b in range(len(edges) - 1)
    ]
    thresholds = []
    for group in band_groups(counts):
        mask = np.isin(band_of, group) & kept
        q = _thresholds(y[mask], p_mle[mask], level, weights[mask])
        thresholds += [(q["swe"], q["mle"])] * len(group)
    finite = tuple((int(most), *q) for most, q in zip(edges[1:-1], thresholds[:-1], strict=True))
    return Conformal(
        level=level, q_swe=thresholds[-1][0], q_mle=thresholds[-1][1], min_answers=min_answers, bands=finite
    )


def band_groups(counts: list[tuple[int, int]], least: int = MIN_BAND_ROWS) -> list[list[int]]:
    """Consecutive bands pooled so that each group holds at least ``least`` respondents of each role.

    ``counts[b]`` is ``(swe, mle)`` respondents of band ``b``. A band short of either role is pooled with
    the next; a short last group with the one before (so with too few respondents in all, one group).
    """
    groups: list[list[int]] = []
    current: list[int] = []
    have = [0, 0]
    for band, (swe, mle) in enumerate(counts):
        current.append(band)
        have = [have[0] + swe, have[1] + mle]
        if min(have) >= least:
            groups.append(current)
            current, have = [], [0, 0]
    if current:
        if groups:
            groups[-1] += current
        else:
            groups.append(current)
    return groups


def weighted_quantile(scores, weights, level: float) -> float:
    """The conformal threshold: the smallest score ``s`` with ``W(score <= s) >= level * (W + w_new)``.

    ``W`` is the total weight of the held-out scores and ``w_new`` the new person's, taken as their mean
    weight: with equal weights this is the ``ceil((n + 1) * level)``-th smallest score, computed in
    integers (the level read as the decimal it prints as), so no rounding moves it. When that exceeds
    every score the threshold is 1 (every score is at most 1): too few respondents to rule the role out.
    """
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    weights = np.asarray(weights, dtype=float)
    n = len(scores)
    if n == 0:
        return 1.0
    order = np.argsort(scores, kind="stable")
    scores, weights = scores[order], weights[order]
    if np.all(weights == weights[0]):
        k = math.ceil(Fraction(repr(float(level))) * (n + 1))  # the k-th smallest, 1-based
        return float(scores[k - 1]) if k <= n else 1.0
    total = math.fsum(weights)
    need = level * (total + total / n)
    cumulative = np.cumsum(weights)
    # a relative 1e-12: the cumulative sum's rounding must not skip the score that exactly reaches it
    index = int(np.searchsorted(cumulative, need * (1.0 - 1e-12), side="left"))
    return float(scores[index]) if index < n else 1.0


def _thresholds(y, p_mle, level: float, sample_weight=None) -> dict[str, float]:
    import numpy as np

    y = np.asarray(y)
    p_mle = np.asarray(p_mle, dtype=float)
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return {
        role: weighted_quantile(score[mask], weights[mask], level)
        for role, mask, score in (("mle", y == 1, 1.0 - p_mle), ("swe", y == 0, p_mle))
    }


def coverage(y, p_mle, conformal: Conformal, answered=None) -> dict[str, float]:
    """Share of respondents whose true role is in their set, overall and per role, and mean set size.

    ``answered`` (answers per respondent) selects each one's band and applies the minimum-answers rule;
    None uses the thresholds beyond every band and ignores the rule.
    """
    import numpy as np

    y = np.asarray(y)
    counts = [None] * len(y) if answered is None else [int(a) for a in answered]
    sets = [
        conformal.prediction_set(float(p), n)
        for p, n in zip(np.asarray(p_mle, dtype=float), counts, strict=True)
    ]
    hit = np.array([("mle" if t == 1 else "swe") in s for t, s in zip(y, sets, strict=True)])
    size = np.array([len(s) for s in sets])
    out = {"coverage": float(hit.mean()) if len(hit) else float("nan"), "mean_set_size": float(size.mean())}
    for role, value in (("mle", 1), ("swe", 0)):
        mask = y == value
        out[f"coverage_{role}"] = float(hit[mask].mean()) if mask.any() else float("nan")
    out["both_share"] = float((size == 2).mean()) if len(size) else float("nan")
    return out


def coverage_errors(y, p_mle, conformal: Conformal, answered, tolerance: float = TOLERANCE) -> list[str]:
    """Sentences naming every role whose coverage on these held-out respondents is more than
    ``tolerance`` from the level ``conformal`` claims (empty when each role is within it).

    ``answered`` is required: the sets depend on it. Only respondents with at least ``min_answers``
    answers count, since below it the set holds both roles whatever the thresholds.
    """
    import numpy as np

    y = np.asarray(y)
    answered = np.asarray(answered)
    judged = answered >= conformal.min_answers
    found = coverage(y[judged], np.asarray(p_mle, dtype=float)[judged], conformal, answered[judged])
    errors = []
    for role, value in (("swe", 0), ("mle", 1)):
        n = int((y[judged] == value).sum())
        reached = found[f"coverage_{role}"]
        if n == 0:
            errors.append(f"No held-out {role} respondent has {conformal.min_answers} or more answers.")
        elif abs(reached - conformal.level) > tolerance:
            errors.append(
                f"Sets cover {reached:.3f} of the {n} held-out {role} respondents, more than "
                f"{tolerance:g} from the level {conformal.level:g} the thresholds claim."
            )
    return errors
