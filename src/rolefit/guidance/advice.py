"""Everything a person reads beside the number, in one result for apps: :func:`guide`.

It bundles :mod:`~rolefit.guidance.words` (certainty and the starting point), :mod:`~rolefit.guidance.groups`
(the five groups), :mod:`~rolefit.guidance.steps` (next steps per role: the readiness gaps and the
guides' path),
:mod:`~rolefit.guidance.facts` (the roles explained, the fitting role first; common mistakes). It is
computed on request from a prediction, never inside :func:`rolefit.predict`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rolefit.guidance.facts import Mistake, RoleFacts, common_mistakes, role_facts
from rolefit.guidance.groups import GroupSubtotal, group_subtotals
from rolefit.guidance.steps import MAX_STEPS, NextSteps, next_steps
from rolefit.guidance.words import answers_needed, certainty, groups_sentence, starting_point
from rolefit.scoring.predictor import Prediction, predict, sigmoid


@dataclass(frozen=True)
class Guidance:
    """A person's result in words, with what would move it and what the roles are.

    ``certainty``: "clear fit", "leaning MLE", "both fit you" or "not enough answers yet — answer N more
    to sharpen this" (``answers_needed`` is that N, 0 otherwise); ``starting_point``: the probability
    before any answer, in words; ``groups``: the five groups' subtotals, largest first (the starting
    point's log-odds plus their subtotals are the log-odds); ``summary``: the groups in one sentence;
    ``next_steps``: :class:`~rolefit.guidance.steps.NextSteps`, per role the steps in order (the fitting
    role first; none for someone who answered nothing: there is nothing yet to build on), never goal
    changes (a goal is a decision, not a step); everything else is the fit's
    (the headline: ``Prediction``'s own fields); ``facts``: both roles, the fitting one first
    (in questionnaire order, SWE then MLE, while there are not enough answers to say which fits);
    ``mistakes``: kind words where the answers match a common mistake.
    """

    role: str
    probabilities: dict[str, float]
    certainty: str
    answers_needed: int
    starting_point: str
    start_probabilities: dict[str, float]
    groups: tuple[GroupSubtotal, ...]
    summary: str
    next_steps: NextSteps
    facts: tuple[RoleFacts, ...]
    mistakes: tuple[Mistake, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "role": self.role,
            "probabilities": dict(self.probabilities),
            "certainty": self.certainty,
            "answers_needed": self.answers_needed,
            "starting_point": self.starting_point,
            "start_probabilities": dict(self.start_probabilities),
            "groups": [g.to_dict() for g in self.groups],
            "summary": self.summary,
            "next_steps": self.next_steps.to_dict(),
            "facts": [f.to_dict() for f in self.facts],
            "mistakes": [m.to_dict() for m in self.mistakes],
        }


def guide(
    answers: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
    prediction: Prediction | None = None,
    k: int = MAX_STEPS,
) -> Guidance:
    """Guidance for one person's ``answers`` (see :class:`Guidance`).

    ``prediction`` may pass the prediction already made for these answers with the same ``model`` and
    ``base_rate`` (it is not made again); ``k`` is the most next steps per role (up to
    :data:`~rolefit.guidance.steps.MAX_STEPS`).
    Raises what :func:`rolefit.predict` raises for invalid answers or base rates.
    """
    p = prediction if prediction is not None else predict(answers, model=model, base_rate=base_rate)
    needed = answers_needed(p, model=model)
    groups = tuple(group_subtotals(p))
    steps = next_steps(p.answers, model=model, base_rate=base_rate, k=k, prediction=p)
    start = sigmoid(p.baseline_log_odds)
    return Guidance(
        role=p.role,
        probabilities=dict(p.probabilities),
        certainty=certainty(p, model=model),
        answers_needed=needed,
        starting_point=starting_point(p, own_population=base_rate is not None),
        start_probabilities={"swe": 1.0 - start, "mle": start},
        groups=groups,
        summary=groups_sentence(groups),
        next_steps=steps,
        facts=role_facts() if needed else role_facts(p.role, both=True),
        mistakes=tuple(common_mistakes(p, model=model)),
    )
