"""How sure the model is: split-conformal prediction sets and the verdict derived from them.

Class-conditional (Mondrian) split conformal: on held-out data the nonconformity of a respondent is
``1 - p(true role)``; for each role the threshold ``q_role`` is the ``ceil((n+1)(1-alpha))``-th smallest
score among held-out respondents of that role (weighted like training). A new person's set holds every
role whose score is within its threshold, so in expectation each role's true members are covered with
probability at least ``1 - alpha``, whatever the mix of roles in the population scored.

The set never comes back empty: if no role qualifies, the more likely one is returned (which only
raises coverage). With fewer than ``min_answers`` answers, or when neither role reaches
``min_probability``, the set holds both roles: a single answer never settles the question, however
strongly it leans, and "clear" never means less than 3 to 1. Each band of answer counts
(:data:`ANSWER_BANDS`) has thresholds of its own. The verdict: no answers at all ->
``no-information``; one role in the set -> ``clear``; both -> ``leaning`` when the larger probability is
at least 0.6, otherwise ``toss-up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("swe", "mle")
VERDICTS = ("clear", "leaning", "toss-up", "no-information")
#: p_mle at or above which MLE is the more likely role (the predicted role, and the one a set keeps)
THRESHOLD = 0.5
#: a set of both roles is "leaning" when the larger probability is at least this, else "toss-up"
LEANING = 0.6


def role_of(p_mle: float) -> str:
    """The more likely role: ``mle`` from :data:`THRESHOLD` up."""
    return "mle" if p_mle >= THRESHOLD else "swe"


@dataclass(frozen=True)
class Conformal:
    """Per-role thresholds on ``1 - p(role)`` at coverage ``level``."""

    level: float
    q_swe: float
    q_mle: float
    min_answers: int = 1
    #: a role is ruled out only when the other has at least this probability ("clear" means 3 to 1)
    min_probability: float = THRESHOLD
    #: thresholds of their own for people who gave few answers: ``(most answers, q_swe, q_mle)``,
    #: ascending; a person with more answers than every band uses ``q_swe`` and ``q_mle``
    bands: tuple[tuple[int, float, float], ...] = ()

    def thresholds(self, answered: int | None = None) -> tuple[float, float]:
        """``(q_swe, q_mle)`` for someone who gave ``answered`` answers (None: the overall ones)."""
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
        if max(p_mle, 1.0 - p_mle) < self.min_probability:
            return list(ROLES)
        q_swe, q_mle = self.thresholds(answered)
        # score of swe is 1 - p_swe = p_mle; score of mle is 1 - p_mle (same expressions as predict_many)
        chosen = [
            role for role, score, q in (("swe", p_mle, q_swe), ("mle", 1.0 - p_mle, q_mle)) if score <= q
        ]
        if not chosen:
            chosen = [role_of(p_mle)]
        return chosen

    def to_dict(self) -> dict[str, float]:
        return {
            "level": self.level,
            "q_swe": self.q_swe,
            "q_mle": self.q_mle,
            "min_answers": self.min_answers,
            "min_probability": self.min_probability,
            "bands": [list(band) for band in self.bands],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conformal:
        return cls(
            level=float(data["level"]),
            q_swe=float(data["q_swe"]),
            q_mle=float(data["q_mle"]),
            min_answers=int(data.get("min_answers", 1)),
            min_probability=float(data.get("min_probability", THRESHOLD)),
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
#: of the questionnaire was answered): few answers give moderate probabilities whose errors differ from
#: those of complete answer sets.
ANSWER_BANDS = (5, 12, 25)
MIN_BAND_ROWS = 200


def fit_conformal(
    y, p_mle, level: float, sample_weight=None, min_answers: int = 1, answered=None, min_probability=THRESHOLD
) -> Conformal:
    """Thresholds from held-out labels ``y`` (1 = mle) and probabilities (weighted split conformal).

    With ``answered`` (answers per held-out respondent), each band of :data:`ANSWER_BANDS` with at
    least :data:`MIN_BAND_ROWS` respondents of each role gets thresholds of its own (the others keep the
    overall ones).
    """
    import numpy as np

    overall = _thresholds(y, p_mle, level, sample_weight)
    bands = []
    if answered is not None:
        answered = np.asarray(answered)
        low = 0
        for most in ANSWER_BANDS:
            mask = (answered > low) & (answered <= most)
            low = most
            y_band = np.asarray(y)[mask]
            if min((y_band == 1).sum(), (y_band == 0).sum()) < MIN_BAND_ROWS:
                q = overall  # too few to say: the band keeps the overall thresholds
            else:
                weights = None if sample_weight is None else np.asarray(sample_weight)[mask]
                q = _thresholds(y_band, np.asarray(p_mle)[mask], level, weights)
            bands.append((most, q["swe"], q["mle"]))
    return Conformal(
        level=level,
        q_swe=overall["swe"],
        q_mle=overall["mle"],
        min_answers=min_answers,
        min_probability=min_probability,
        bands=tuple(bands),
    )


def _thresholds(y, p_mle, level: float, sample_weight=None) -> dict[str, float]:
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
    return thresholds


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
