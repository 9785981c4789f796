"""How sure the model is: split-conformal prediction sets and the verdict derived from them.

Class-conditional (Mondrian) split conformal: on held-out data the nonconformity of a respondent is
``1 - p(true role)``; for each role the threshold ``q_role`` is the ``ceil((n+1)(1-alpha))``-th smallest
score among held-out respondents of that role (weighted like training). A new person's set holds every
role whose score is within its threshold, so in expectation each role's true members are covered with
probability at least ``1 - alpha``, whatever the mix of roles in the population scored.

The set never comes back empty: if no role qualifies, the more likely one is returned (which only
raises coverage). With fewer than ``min_answers`` answers the set holds both roles: a single answer
never settles the question, however strongly it leans. The verdict: no answers at all ->
``no-information``; one role in the set -> ``clear``; both -> ``leaning`` when the larger probability is
at least 0.6, otherwise ``toss-up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("swe", "mle")
VERDICTS = ("clear", "leaning", "toss-up", "no-information")


@dataclass(frozen=True)
class Conformal:
    """Per-role thresholds on ``1 - p(role)`` at coverage ``level``."""

    level: float
    q_swe: float
    q_mle: float
    min_answers: int = 1

    def prediction_set(self, p_mle: float, answered: int | None = None) -> list[str]:
        """The roles that fit at ``level``; ``answered`` (the number of answers) below ``min_answers``
        gives both."""
        if answered is not None and answered < self.min_answers:
            return list(ROLES)
        # score of swe is 1 - p_swe = p_mle; score of mle is 1 - p_mle (same expressions as predict_many)
        chosen = [
            role
            for role, score in (("swe", p_mle), ("mle", 1.0 - p_mle))
            if score <= getattr(self, f"q_{role}")
        ]
        if not chosen:
            chosen = ["mle" if p_mle >= 0.5 else "swe"]
        return chosen

    def to_dict(self) -> dict[str, float]:
        return {
            "level": self.level,
            "q_swe": self.q_swe,
            "q_mle": self.q_mle,
            "min_answers": self.min_answers,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conformal:
        return cls(
            level=float(data["level"]),
            q_swe=float(data["q_swe"]),
            q_mle=float(data["q_mle"]),
            min_answers=int(data.get("min_answers", 1)),
        )


def verdict(prediction_set: list[str], p_mle: float, answered: int | None = None) -> str:
    """``no-information`` / ``clear`` / ``leaning`` / ``toss-up`` from the set and the probabilities."""
    if answered == 0:
        return "no-information"
    if len(prediction_set) == 1:
        return "clear"
    return "leaning" if max(p_mle, 1.0 - p_mle) >= 0.6 else "toss-up"


def fit_conformal(y, p_mle, level: float, sample_weight=None, min_answers: int = 1) -> Conformal:
    """Thresholds from held-out labels ``y`` (1 = mle) and probabilities (weighted split conformal)."""
    import numpy as np

    y = np.asarray(y)
    p_mle = np.asarray(p_mle, dtype=float)
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    thresholds = {}
    for role, mask, score in (("mle", y == 1, 1.0 - p_mle), ("swe", y == 0, p_mle)):
        s, w = score[mask], weights[mask]
        if len(s) == 0:
            thresholds[role] = 1.0
            continue
        order = np.argsort(s, kind="stable")
        s, w = s[order], w[order]
        # weighted version of the (n + 1)(1 - alpha) finite-sample quantile
        cumulative = np.cumsum(w) / (w.sum() + w.mean())
        index = int(np.searchsorted(cumulative, level, side="left"))
        thresholds[role] = float(s[index]) if index < len(s) else 1.0
    return Conformal(level=level, q_swe=thresholds["swe"], q_mle=thresholds["mle"], min_answers=min_answers)


def coverage(y, p_mle, conformal: Conformal, answered=None) -> dict[str, float]:
    """Share of respondents whose true role is in their set, overall and per role, and mean set size.

    ``answered`` (answers per respondent) applies the minimum-answers rule; None ignores it.
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
