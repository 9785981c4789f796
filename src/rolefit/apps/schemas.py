"""The REST API's response shapes as pydantic models: what ``/openapi.json`` documents.

The endpoints build their JSON with the library's ``to_dict()`` methods (``Prediction``, ``Guidance``,
``NextQuestion``, ``Settled``, ``WhatIf``, ``RoleFacts``) and return it as is; these models describe that
JSON for the OpenAPI document. Every model forbids unknown keys, so the API tests validating real
responses against them (``tests/api/test_guidance_api.py``, ``tests/api/test_openapi.py``) fail as soon as
a ``to_dict()`` and its model disagree. The refusals (408, 413, 415, 422) are described too, so every
response in ``/openapi.json`` has a schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

Role = Literal["swe", "mle"]
Toward = Literal["swe", "mle", "none"]
GroupId = Literal["interests", "skills", "preferences", "goal", "experience", "tools"]
Answer = float | str


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _absent_when_none(description: str) -> Any:
    """A field left out of the JSON when it has no value: typed ``X | SkipJsonSchema[None]`` and
    documented without ``"default": null``, because the reply never holds a null there."""
    return Field(default=None, description=description, json_schema_extra=_no_default)


class HealthOut(_Out):
    """``GET /healthz``: the server is up and which model it serves."""

    status: Literal["ok"]
    model_version: str
    model: ModelOut = Field(description="The model it serves: which one, how chosen, whether verified.")


class QuestionGroupOut(_Out):
    id: GroupId
    title: str
    prompt: str = Field(description='The words before the group\'s questions ("How much do you enjoy ...").')


class _ItemOut(_Out):
    id: str = Field(description="The item id: the key of its answer in every request.")
    group: GroupId
    text: str = Field(description="The question as shown to people.")
    lean: Toward = Field(description="The role a higher answer is expected to point toward.")
    part: Literal["fit", "path", "experience"] = Field(
        description="fit: moves the fit (the headline); path and experience: readiness. Every item "
        "feeds the all-answers model."
    )


class ScaleItemOut(_ItemOut):
    kind: Literal["scale"]
    min: int
    max: int
    labels: list[str] = Field(description="The words for min, min + 1, ... max.")


class ChoiceOut(_Out):
    id: str = Field(description="The answer to send.")
    label: str


class ChoiceItemOut(_ItemOut):
    kind: Literal["choice"]
    choices: list[ChoiceOut]


class NumberItemOut(_ItemOut):
    kind: Literal["number", "count"] = Field(description="count: a whole number; number: any number.")
    min: float
    max: float
    unit: str | SkipJsonSchema[None] = _absent_when_none("e.g. years; absent when the number has no unit.")


class BinaryItemOut(_ItemOut):
    kind: Literal["binary"] = Field(description="Answered 1 (yes) or 0 (no).")
    question: str | SkipJsonSchema[None] = _absent_when_none(
        "The multi-choice question this item is an option of (ticked: 1, not ticked: 0); absent for a "
        "yes/no question of its own."
    )


class MultiChoiceQuestionOut(_Out):
    id: str = Field(description="The question's id; its options are the items naming it as `question`.")
    group: GroupId
    text: str = Field(description="The question as shown to people.")
    topic: str
    items: list[str] = Field(description="Its options' item ids, in display order.")


QuestionnaireItemOut = Annotated[
    ScaleItemOut | ChoiceItemOut | NumberItemOut | BinaryItemOut, Field(discriminator="kind")
]


class QuestionnaireOut(_Out):
    """``Instrument.to_dict()``: the questionnaire, for apps that render the form."""

    version: str
    sha256: str = Field(description="SHA-256 of the questionnaire file the items come from.")
    groups: list[QuestionGroupOut] = Field(description="In display order.")
    questions: list[MultiChoiceQuestionOut] = Field(
        description="The multi-choice questions (each asked once, stored as yes/no items), in display order."
    )
    items: list[QuestionnaireItemOut] = Field(description="In display order; the fields depend on kind.")


class ProblemOut(_Out):
    item: str = Field(
        description='The offending item, field or query parameter ("body" for the body as a whole; '
        '"[3].skill_dsa" for a batch\'s fourth person).'
    )
    problem: str = Field(description="What is wrong and what is allowed.")


class ProblemsOut(_Out):
    """422: every problem found in the request (the first 1,000, then one entry counting the rest)."""

    detail: str
    problems: list[ProblemOut]


class RefusalOut(_Out):
    """408, 413, 415 or 429: the body was not read, or not scored; ``detail`` says why."""

    detail: str


class Probabilities(_Out):
    swe: float = Field(ge=0, le=1)
    mle: float = Field(ge=0, le=1)


class EffectUncertainty(_Out):
    kind: Literal["relative", "sd"] = Field(
        description="relative: an assumed effect, sd = width * |effect|; sd: a real effect's bootstrap sd."
    )
    width: float | SkipJsonSchema[None] = _absent_when_none("The relative prior width (kind relative).")
    sd: float | SkipJsonSchema[None] = _absent_when_none("The effect's standard deviation (kind sd).")


class Evidence(_Out):
    basis: Literal["real", "assumed"]
    respondents: int = Field(ge=0)
    sources: dict[str, int]
    summary: str
    real_share: float | SkipJsonSchema[None] = _absent_when_none(
        "A pooled effect only: the share of its posterior precision that comes from real respondents "
        "(the rest from the synthetic prior)."
    )
    uncertainty: EffectUncertainty | SkipJsonSchema[None] = _absent_when_none(
        "The fit's reasons only: how unsure the effect is (the fit's probability integrates over it)."
    )


class Explanation(_Out):
    item: str
    question: str
    answer: Answer
    answer_label: str
    effect: float = Field(description="Log-odds toward MLE (negative: toward SWE).")
    toward: Toward
    reason: str
    evidence: Evidence


class ModelOut(_Out):
    """``Prediction.model``: the model that answered, and whether rolefit verified where it came from."""

    version: str = Field(description="The model's version (the same as model_version).")
    verified: bool = Field(
        description="True: a signature made with the configured signing key (or, for a model packaged "
        "with rolefit, the installed package's file record) vouches for every model file. False: no "
        "signing key was configured, so only checksums were checked: corruption is detected, deliberate "
        "edits are not."
    )
    verified_by: str = Field(
        description='In words: "signature (key id …)", "package (installed rolefit …: its file '
        'record)" or "checksums only: no signing key configured".'
    )
    chosen_by: Literal["argument", "ROLEFIT_MODEL", "project", "packaged"] = Field(
        description="Which model answered, by the rule that chooses it: the model named by the caller "
        "(argument), the ROLEFIT_MODEL setting, the project's published champion (project), or the model "
        "packaged with rolefit (packaged)."
    )
    trained_at: str = Field(
        description='When the model was trained (ISO 8601); "" when its bundle does not record it.'
    )
    training_sources: list[str] = Field(
        description="The data sources the model was built from (ids: kaggle2021, synthetic, ...)."
    )
    published_at: str = Field(
        description='For the packaged model, when the champion it copies was published (ISO 8601); else "".'
    )


class AllAnswersOut(_Out):
    """``AllAnswers.to_dict()``: the all-answers model, "people with all your answers work as ...": from
    every answer, experience included; which role people like you hold today, not which role suits you."""

    role: Role
    role_name: str
    probabilities: Probabilities
    log_odds: float
    baseline_log_odds: float
    prediction_set: list[Role]
    verdict: Literal["clear", "leaning", "toss-up", "no-information"]
    base_rate: float | None
    explanations: list[Explanation]
    meaning: str


class FitUncertainty(_Out):
    variance: float = Field(ge=0, description="The sum of the fit's effects' variances (log-odds squared).")
    factor: float = Field(
        gt=0, le=1, description="k = 1 / sqrt(1 + pi * variance / 8); each reported effect is k times it."
    )


class PredictionOut(_Out):
    """``Prediction.to_dict()``: one person's result. The top-level fields are the fit (which role suits
    the person, from interests, preferences, the career goal and strengths; an even start); the
    all-answers model is under ``all_answers`` and readiness under ``readiness``."""

    role: Role
    role_name: str
    probabilities: Probabilities
    log_odds: float
    baseline_log_odds: float
    prediction_set: list[Role] = Field(description="For apps; shown to people as certainty words.")
    verdict: Literal["clear", "leaning", "toss-up", "no-information"]
    base_rate: float | None
    uncertainty: FitUncertainty
    explanations: list[Explanation] = Field(description="The fit's reasons: fit items only.")
    all_answers: AllAnswersOut | None
    readiness: dict[str, Any] | None = Field(
        description="Standing against people working in each role (null: the model has no readiness tables)."
    )
    model_version: str
    model: ModelOut
    notice: str
    contribution_token: str | SkipJsonSchema[None] = _absent_when_none(
        "Only when the server collects contributed answers (rolefit serve --collect): a one-time token "
        "for POST /api/contributions, valid 24 hours."
    )


class OtherAnswers(_Out):
    count: int = Field(ge=0)
    effect: float


class GroupOut(_Out):
    group: GroupId
    name: str = Field(description='"what you enjoy", "what you are good at", ...')
    title: str
    subtotal: float = Field(description="The group's share of the log-odds toward MLE.")
    toward: Toward
    answered: int = Field(ge=0)
    sentence: str
    reasons: list[Explanation]
    other_answers: OtherAnswers = Field(description="Reasons too small to list, summed.")


class StepSourceOut(_Out):
    name: str = Field(description="The survey (gap steps) or the career guides (guide steps).")
    year: int | None
    url: str | None


class StepOut(_Out):
    """One next step (``Step.to_dict()``): an action with the share or the guide behind it."""

    role: Role
    order: int = Field(ge=1, description="1-based: the order to do the role's steps in.")
    kind: Literal["gap", "guide"] = Field(
        description='"gap": most people working in the role have more (readiness); "guide": the career '
        "guides' path (fundamentals, then projects)."
    )
    item: str = Field(description="The answered instrument item the step is about.")
    action: str
    why: str
    share: float | None = Field(
        ge=0,
        le=1,
        description="A gap's share of people in the role with more than you; null for a guide step.",
    )
    source: StepSourceOut


class PlanSourceOut(_Out):
    name: str
    url: str | None


class NextStepsOut(_Out):
    """``NextSteps.to_dict()``: per role the steps in order, the fitting role first."""

    first: Role = Field(description="The fitting role (the fit's): its steps come first.")
    roles: dict[Role, list[StepOut]]
    plan: str = Field(description="The guides' timing advice (not a step).")
    plan_source: PlanSourceOut


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
    next_steps: NextStepsOut
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
    options: list[str] = Field(
        default_factory=list,
        description="For a multi-choice question, the item ids of its options (ask them together, as one "
        "question; `item` is the most telling of them); empty for a question of its own.",
    )
    gain_bits: float = Field(ge=0, description="Expected information gain about the role, in bits.")
    p_mle: float
    p_mle_low: float
    p_mle_high: float


class SettledOut(_Out):
    settled: bool = Field(description="More answers are unlikely to change the result.")
    breadth: bool = Field(
        description="The fit's breadth rule holds: some answer speaks for the role the fit names, or no "
        "question that would is left (always true for the all-answers model)."
    )
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
    phase: Literal["fit", "readiness", "done"] = Field(
        description="Quick mode's phase: \"fit\" (the fit's most telling questions, until the fit is "
        'settled), "readiness" (the short "where do you stand today?" block, in a fixed order) or "done" '
        "(nothing more to ask; questions is empty)."
    )
    questions: list[NextQuestionOut] = Field(description="Best first; empty when nothing is left to ask.")
    settled: SettledOut = Field(description="Whether the fit is settled (the stopping rule on the fit).")
    expected_left: int = Field(
        ge=0,
        description="The expected number of questions left in Quick mode: the stopping rule's estimate "
        "of the fit's (Quick mode simulated forward from these answers) plus the readiness block's left.",
    )


class WhatIfResponse(_Out):
    changes: dict[str, Answer | None] = Field(description="The changes as normalised answers.")
    before: Probabilities
    after: PredictionOut
    delta_p_mle: float = Field(description="The exact change in the probability of MLE.")


class RoleFactsResponse(_Out):
    roles: list[RoleFactsOut]
