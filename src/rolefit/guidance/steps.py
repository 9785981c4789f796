"""What would move the result: the model re-asked with one answer changed.

:func:`what_if` applies any changes and returns the new prediction with the exact change in ``p_mle``
(the fit's: the headline). :func:`next_steps` tries, for one person, every *smallest realistic change* of
a skill, an experience item and (listed separately) the career goal, re-predicts once per change (exact:
it is the model's own answer, not a linear approximation) and ranks, per role, the changes that move
**the all-answers model** ("people with all your answers work as ...") toward it: things people do on the
way to a role, which by design never move the fit (issue #24; readiness's gaps are their successor).

The smallest realistic changes, and why only these:

* a skill (1-5 self-rating): one level up. Never down: a lower rating is not something a person does
  to fit a role (forgetting is not advice), it would only game the questionnaire;
* a yes/no item (a language used regularly, an activity in one's work or projects): from no to yes —
  "start doing X". Stopping something is not suggested, for the same reason;
* a count (ML frameworks used): one more;
* years (of coding, of machine learning): one more year;
* the career goal: each other choice ("undecided" excepted: it is not a goal to aim for), in a list of
  its own, since changing one's goal is a different kind of decision from learning something.

An unanswered skill or experience item counts as its lowest level (a skill as 1, a yes/no item as no,
a count or years as 0), so the step is the first one ("start using Python regularly"); its
``from_label`` says "not answered", and its delta is still the exact change from the person's own
prediction (where the item is unanswered), so that applying the step moves ``p_mle`` by exactly
``delta_p_mle``. Such a step is kept only if the same change made *from the lowest level* points the same
way: the model reads a skipped question as no information, and a low answer ("1 framework", "Basic")
as information of its own, so answering a skipped question can move the fit opposite to the step itself
(e.g. "start using an ML framework" lowering the MLE probability of someone who skipped the question).
Such artefacts of answering are not steps.

Interests and preferences are never changed: advice does not tell people what to enjoy. Education is left
out too: a degree takes years, not a step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rolefit.guidance.words import in_sentence, scale_point, with_article
from rolefit.instrument.items import Item, load_instrument
from rolefit.model.conformal import ROLES
from rolefit.scoring.answers import InvalidAnswers
from rolefit.scoring.predictor import Prediction, predict

#: Groups whose items next steps may change (the goal item is listed separately).
STEP_GROUPS = ("skills", "experience")
#: Items never suggested (see the module's docstring).
NOT_STEPS = frozenset({"education"})
#: A step must move the probability toward its role by at least this much (a tenth of a percentage
#: point: anything smaller would be shown as no change at all).
MIN_STEP = 0.001

#: Imperative phrases for the yes/no items (instrument items without one get a generic phrase).
ACTIONS = {
    "activity_data_analysis": "Make analysing data to inform decisions part of your work or projects",
    "activity_data_infrastructure": "Build or run data infrastructure in your work or projects",
    "activity_ml_prototypes": "Build machine learning prototypes",
    "activity_ml_service": "Ship a machine learning model behind an API or service",
    "activity_ml_experiments": "Run experiments to improve machine learning models",
    "activity_ml_research": "Do research that advances machine learning",
}


@dataclass(frozen=True)
class WhatIf:
    """The prediction before and after ``changes`` (normalised answers; None removes an answer)."""

    before: Prediction
    after: Prediction
    changes: dict[str, Any]

    @property
    def delta_p_mle(self) -> float:
        """The exact change in the probability of MLE (negative: toward SWE)."""
        return self.after.probabilities["mle"] - self.before.probabilities["mle"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": dict(self.changes),
            "before": dict(self.before.probabilities),
            "after": self.after.to_dict(),
            "delta_p_mle": self.delta_p_mle,
        }


@dataclass(frozen=True)
class Step:
    """One change that moves the all-answers model toward ``role`` by ``delta_p`` (exact, > 0)."""

    role: str
    item: str
    group: str
    kind: str  # "raise", "start", "add", "year" or "goal"
    from_answer: float | str | None
    to_answer: float | str
    from_label: str
    to_label: str
    action: str
    delta_p: float
    delta_p_mle: float
    p_mle_after: float

    @property
    def change(self) -> dict[str, float | str]:
        """The change as answers, for :func:`what_if` or a new :func:`rolefit.predict`."""
        return {self.item: self.to_answer}

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "item": self.item,
            "group": self.group,
            "kind": self.kind,
            "from_answer": self.from_answer,
            "to_answer": self.to_answer,
            "from_label": self.from_label,
            "to_label": self.to_label,
            "action": self.action,
            "delta_p": self.delta_p,
            "delta_p_mle": self.delta_p_mle,
            "p_mle_after": self.p_mle_after,
        }


@dataclass(frozen=True)
class NextSteps:
    """Per role, the ``k`` best steps among skills and experience (``steps``) and among goals (``goal``)."""

    steps: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    goal: dict[str, tuple[Step, ...]] = field(default_factory=dict)
    p_mle: float = 0.0

    def __getitem__(self, role: str) -> tuple[Step, ...]:
        return self.steps[role]

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_mle": self.p_mle,
            "steps": {role: [s.to_dict() for s in steps] for role, steps in self.steps.items()},
            "goal": {role: [s.to_dict() for s in steps] for role, steps in self.goal.items()},
        }


def what_if(
    answers: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
) -> WhatIf:
    """The prediction after applying ``changes`` (item -> new answer; None, "" or NaN removes one) to
    ``answers``, with the exact change in ``p_mle``. Any item may be changed here (an app may ask "what
    if I enjoyed maths more?"); only :func:`next_steps` limits itself to skills, experience and goal.

    Raises ``rolefit.InvalidAnswers`` for an unknown item or an answer it does not allow.
    """
    before = predict(answers, model=model, base_rate=base_rate)
    if not isinstance(changes, Mapping):
        raise InvalidAnswers(
            {"changes": f"expected a mapping of item id to answer, got {type(changes).__name__}"}
        )
    merged = dict(answers)
    merged.update(changes)
    after = predict(merged, model=model, base_rate=base_rate)
    changed = {item: after.answers.get(item) for item in changes}
    return WhatIf(before=before, after=after, changes=changed)


def next_steps(
    answers: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
    k: int = 3,
    prediction: Prediction | None = None,
) -> NextSteps:
    """For each role, the ``k`` smallest realistic changes that move the all-answers model most toward it.

    ``steps[role]`` ranks skill and experience changes, ``goal[role]`` goal changes, each by its exact
    ``delta_p`` (the rise of that role's probability in ``Prediction.all_answers`` when the model
    re-predicts with the change; ``p_mle`` and the steps' ``p_mle_after`` are that model's too);
    changes that move it by less than :data:`MIN_STEP` are left out. ``prediction`` may pass the
    person's prediction (made with the same ``model`` and ``base_rate``) to save predicting it again.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a whole number from 0 up, not {k!r}")
    before = prediction if prediction is not None else predict(answers, model=model, base_rate=base_rate)
    current = dict(before.answers)
    p_before = before.all_answers.probabilities["mle"]
    steps: dict[str, list[Step]] = {role: [] for role in ROLES}
    goals: dict[str, list[Step]] = {role: [] for role in ROLES}
    for order, (item, kind, to_answer, action) in enumerate(_candidates(current)):
        after = predict({**current, item.id: to_answer}, model=model, base_rate=base_rate).all_answers
        delta = after.probabilities["mle"] - p_before
        role = "mle" if delta > 0 else "swe"
        toward = delta if role == "mle" else -delta
        if toward < MIN_STEP:
            continue
        was = current.get(item.id)
        if was is None and kind != "goal":
            # a skipped item counts as its lowest level: the same change made from there must point
            # the same way, or the delta would come from answering the question, not from the step
            low = predict({**current, item.id: item.bounds[0]}, model=model, base_rate=base_rate).all_answers
            if (after.probabilities["mle"] - low.probabilities["mle"]) * delta <= 0.0:
                continue
        step = Step(
            role=role,
            item=item.id,
            group=item.group,
            kind=kind,
            from_answer=was,
            to_answer=to_answer,
            from_label="not answered" if was is None else item.answer_label(was),
            to_label=item.answer_label(to_answer),
            action=action,
            delta_p=toward,
            delta_p_mle=delta,
            p_mle_after=after.probabilities["mle"],
        )
        (goals if kind == "goal" else steps)[role].append((-toward, order, step))
    return NextSteps(
        steps={role: tuple(row[2] for row in sorted(found)[:k]) for role, found in steps.items()},
        goal={role: tuple(row[2] for row in sorted(found)[:k]) for role, found in goals.items()},
        p_mle=p_before,
    )


def _candidates(current: dict[str, Any]):
    """Every smallest realistic change of ``current`` (normalised answers): (item, kind, new answer,
    action), in questionnaire order."""
    for item in load_instrument().items:
        if item.id in NOT_STEPS:
            continue
        if item.group == "goal" and item.kind == "choice":
            for choice in item.choices:
                if choice.id not in (current.get(item.id), "undecided"):
                    yield item, "goal", choice.id, f"Aim to become {with_article(choice.label)}"
            continue
        if item.group not in STEP_GROUPS:
            continue
        found = _smallest_change(item, current.get(item.id))
        if found is not None:
            yield (item, *found)


def _smallest_change(item: Item, answer: float | str | None) -> tuple[str, float, str] | None:
    """(kind, new answer, action) one step up from ``answer`` (None: unanswered, counted as the
    lowest level), or None at the top of the item's range or for a kind without a step."""
    low, high = item.bounds
    now = low if answer is None else float(answer)
    if item.kind == "scale" and now < high:
        new = now + 1
        if answer is None:
            return "raise", new, f"Learn the basics of {in_sentence(item.text)}, to {scale_point(item, new)}"
        return (
            "raise",
            new,
            f"Raise your skill in {in_sentence(item.text)} "
            f"from {scale_point(item, now)} to {scale_point(item, new)}",
        )
    if item.kind == "binary" and now < 1:
        if item.id.startswith("uses_"):
            return "start", 1.0, f"Start using {item.topic} regularly"
        generic = f"Make {item.topic[0].lower()}{item.topic[1:]} an important part of your work or projects"
        return "start", 1.0, ACTIONS.get(item.id, generic)
    if item.kind == "count" and now < high:
        new = now + 1
        if item.id == "ml_frameworks_used":
            if now == 0:
                return "add", new, "Start using a machine learning framework (1 framework)"
            return "add", new, f"Learn one more machine learning framework ({now:g} → {new:g} frameworks)"
        return "add", new, f"Add one more to your {item.topic} ({now:g} → {new:g})"
    if item.kind == "number" and item.unit == "years" and now < high:
        new = min(now + 1, high)
        span = f"({now:g} → {new:g} {'year' if new == 1 else 'years'})"
        doing = {"years_coding": "writing code", "years_ml": "using machine learning methods"}.get(
            item.id, item.topic
        )
        if now == 0:
            return "year", new, f"Spend a year {doing} {span}"
        return "year", new, f"Keep {doing} for another year {span}"
    return None
