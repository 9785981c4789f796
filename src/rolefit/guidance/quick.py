"""Quick mode: the fit's questions first, then "where do you stand today?", then the result.

:func:`quick_questions` says where a person is in Quick mode and what to ask next:

* ``fit`` — fit items (``part: fit``), the most telling about the fit first
  (:func:`rolefit.guidance.questions.next_questions`, ``of="fit"``), until the fit is settled
  (:func:`~rolefit.guidance.questions.settled`, ``of="fit"``, with its breadth rule);
* ``readiness`` — the short block :data:`READINESS_BLOCK`, in its fixed order, the items not yet
  answered or skipped;
* ``done`` — nothing more to ask in Quick mode.

``expected_left`` is the expected number of questions left in Quick mode: in the fit phase the stopping
rule's own estimate (:func:`~rolefit.guidance.questions.expected_questions`: Quick mode run forward from
these answers, rounded, at least 1) plus the block's items left; then the block's items left; 0 when
done. It is never a fixed number.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Quick mode's phases, in order.
PHASES = ("fit", "readiness", "done")

#: "Where do you stand today?": the readiness items Quick mode asks once the fit is settled, in this
#: order. Every one was asked of real people working in both roles (the Kaggle ML & DS Survey 2021, the
#: readiness tables' source), so each answer is compared with them. The six besides JavaScript are the
#: items that can be a gap for someone starting out: for a person at the lowest answer, at least half of
#: the people in one role have more (Kaggle 2021: more years of coding 97-99%, of machine learning
#: 81-96%, Python 79-96%, at least one ML framework 91-96%, more education than none almost all, and SQL
#: 52% of software engineers); JavaScript is the language most typical of software engineers (42% of
#: them in Kaggle 2021, 70% of Stack Overflow 2017's developers), asked so that no step or standing
#: speaks about it without having asked. The six activities are left out (none reaches half of either
#: role: at most 50% of ML engineers), as are Java and C++ (at most 39%): seven questions, about a minute.
READINESS_BLOCK = (
    "years_coding",
    "years_ml",
    "uses_python",
    "uses_javascript",
    "uses_sql",
    "ml_frameworks_used",
    "education",
)


@dataclass(frozen=True)
class QuickStep:
    """Where a person is in Quick mode: ``phase`` (one of :data:`PHASES`), the next ``questions``
    (:class:`rolefit.guidance.questions.NextQuestion`, best first; readiness ones carry no gain about
    the fit: ``gain_bits`` 0 and the fit's current probability), the fit's ``settled``
    (:class:`~rolefit.guidance.questions.Settled`), ``expected_left`` (questions left in Quick mode,
    see the module's docstring), ``expected_fit`` (the stopping rule's estimate of fit questions left,
    unrounded) and ``block_left`` (the readiness block's items still to ask)."""

    phase: str
    questions: tuple
    settled: Any
    expected_left: int
    expected_fit: float
    block_left: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The REST shape of ``/api/next-questions``."""
        return {
            "phase": self.phase,
            "questions": [q.to_dict() for q in self.questions],
            "settled": self.settled.to_dict(),
            "expected_left": self.expected_left,
        }


def quick_questions(
    answers: Mapping[str, Any],
    k: int = 1,
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
    skipped: Iterable[str] = (),
) -> QuickStep:
    """Quick mode's next ``k`` questions for ``answers`` (see the module's docstring).

    ``skipped``: items the person chose not to answer, never asked again (in either phase). Raises what
    :func:`rolefit.guidance.questions.next_questions` raises (invalid answers, unknown skipped items, a
    ``k`` below 1).
    """
    from rolefit.guidance.questions import NextQuestion, expected_questions, next_questions, settled
    from rolefit.instrument.items import load_instrument
    from rolefit.scoring.answers import validate_answers

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, not {k!r}")
    skipped = (skipped,) if isinstance(skipped, str) else tuple(skipped)
    done = settled(answers, model=model, base_rate=base_rate, skipped=skipped, of="fit")
    given = validate_answers(answers)
    left = tuple(item for item in READINESS_BLOCK if item not in given and item not in skipped)
    if not done.settled:
        questions = next_questions(answers, k, model=model, base_rate=base_rate, skipped=skipped, of="fit")
        fit = expected_questions(answers, model=model, base_rate=base_rate, skipped=skipped)
        return QuickStep("fit", tuple(questions), done, max(1, round(fit)) + len(left), fit, left)
    if not left:
        return QuickStep("done", (), done, 0, 0.0, left)
    instrument = load_instrument()
    prompts = {group.id: group.prompt for group in instrument.groups}
    questions = tuple(
        NextQuestion(
            item=item,
            group=instrument[item].group,
            prompt=prompts.get(instrument[item].group, ""),
            question=instrument[item].text,
            gain_bits=0.0,  # readiness items never move the fit
            p_mle=done.p_mle,
            p_mle_low=done.p_mle,
            p_mle_high=done.p_mle,
        )
        for item in left[:k]
    )
    return QuickStep("readiness", questions, done, len(left), 0.0, left)
