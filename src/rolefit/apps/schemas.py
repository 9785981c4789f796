"""The REST API's response shapes as pydantic models: what ``/openapi.json`` documents.

The endpoints build their JSON with the library's ``to_dict()`` methods (``Prediction``, ``Guidance``,
``NextQuestion``, ``Settled``, ``WhatIf``, ``RoleFacts``) and return it as is; these models describe that
JSON for the OpenAPI document. Every model forbids unknown keys, so ``tests/api/test_guidance_api.py``
validating real responses against them fails as soon as a ``to_dict()`` and its model disagree.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["swe", "mle"]
Toward = Literal["swe", "mle", "none"]
Answer = float | str


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Probabilities(_Out):
    swe: float = Field(ge=0, le=1)
    mle: float = Field(ge=0, le=1)


class Evidence(_Out):
    basis: Literal["real", "assumed"]
    respondents: int = Field(ge=0)
    sources: dict[str, int]
    summary: str


class Explanation(_Out):
    item: str
    question: str
    answer: Answer
    answer_label: str
    effect: float = Field(description="Log-odds toward MLE (negative: toward SWE).")
    toward: Toward
    reason: str
    evidence: Evidence


class PredictionOut(_Out):
    """``Prediction.to_dict()``: one person's result."""

    role: Role
    role_name: str
    probabilities: Probabilities
    log_odds: float
    baseline_log_odds: float
    prediction_set: list[Role] = Field(description="For apps; shown to people as certainty words.")
    verdict: Literal["clear", "leaning", "toss-up", "no-information"]
    base_rate: float | None
    explanations: list[Explanation]
    model_version: str
    notice: str


class OtherAnswers(_Out):
    count: int = Field(ge=0)
    effect: float


class GroupOut(_Out):
    group: Literal["interests", "skills", "preferences", "goal", "experience"]
    name: str = Field(description='"what you enjoy", "what you are good at", ...')
    title: str
    subtotal: float = Field(description="The group's share of the log-odds toward MLE.")
    toward: Toward
    answered: int = Field(ge=0)
    sentence: str
    reasons: list[Explanation]
    other_answers: OtherAnswers = Field(description="Reasons too small to list, summed.")


class StepOut(_Out):
    role: Role
    item: str
    group: str
    kind: Literal["raise", "start", "add", "year", "goal"]
    from_answer: Answer | None
    to_answer: Answer
    from_label: str
    to_label: str
    action: str
    delta_p: float = Field(gt=0, description="The exact rise of role's probability (0.05: 5 points).")
    delta_p_mle: float
    p_mle_after: float


class SourceOut(_Out):
    id: str
    title: str | None
    kind: str
    year: int
    label: str


class FactOut(_Out):
    role: Role
    topic: str
    heading: str
    lines: list[str]
    value: Any
    sources: list[SourceOut]


class RoleFactsOut(_Out):
    role: Role
    name: str
    short_name: str
    notice: str
    facts: list[FactOut]


class MistakeOut(_Out):
    id: str
    text: str
    advice: str
    sources: list[SourceOut]


class GuidanceOut(_Out):
    """``Guidance.to_dict()``: the result in words, what would move it, and the roles explained."""

    role: Role
    probabilities: Probabilities
    certainty: str = Field(
        description='"clear fit", "leaning MLE", "both fit you" or "not enough answers yet …"'
    )
    answers_needed: int = Field(ge=0)
    starting_point: str
    start_probabilities: Probabilities
    groups: list[GroupOut]
    summary: str
    next_steps: dict[Role, list[StepOut]]
    goal_steps: dict[Role, list[StepOut]]
    facts: list[RoleFactsOut] = Field(description="Both roles, the fitting one first.")
    mistakes: list[MistakeOut]


class GuideResponse(PredictionOut):
    """``Prediction.to_dict()`` with the guidance under ``guidance``."""

    guidance: GuidanceOut


class NextQuestionOut(_Out):
    item: str
    group: str
    prompt: str
    question: str
    gain_bits: float = Field(ge=0, description="Expected information gain about the role, in bits.")
    p_mle: float
    p_mle_low: float
    p_mle_high: float


class SettledOut(_Out):
    settled: bool = Field(description="More answers are unlikely to change the result.")
    p_change: float
    p_role_change: float
    p_verdict_change: float
    standard_error: float
    threshold: float
    on: str
    role: Role
    p_mle: float
    answered: int
    remaining: int
    samples: int
    method: str


class NextQuestionsResponse(_Out):
    questions: list[NextQuestionOut] = Field(description="Best first; empty when nothing is left to ask.")
    settled: SettledOut


class WhatIfResponse(_Out):
    changes: dict[str, Answer | None] = Field(description="The changes as normalised answers.")
    before: Probabilities
    after: PredictionOut
    delta_p_mle: float = Field(description="The exact change in the probability of MLE.")


class RoleFactsResponse(_Out):
    roles: list[RoleFactsOut]
