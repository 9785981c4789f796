"""Pipeline parameters: ``params.yaml`` loaded once into frozen, typed objects.

Each section belongs to one pipeline stage. Unknown keys are rejected (a misspelt parameter must not be
silently ignored), and every value is checked for type and range when the file is read: every number
has a stated range (``Field(ge=/gt=, le=/lt=)`` beside it, or an element type that has one), NaN and
infinity are never in range, and a bad file gives one error naming every offending field by its dotted
path with its allowed range (:func:`load_params`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Seeds are any 32-bit unsigned integer (what numpy's generators are usually seeded with).
MAX_SEED = 2**32 - 1


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FitWeights(_Section):
    """Weights of the latent traits in the log-odds of MLE fit (before the goal and experience answers).

    A weight's sign is the trait's direction (builder and pace lean SWE, so theirs are negative); the
    traits have unit variance, so a weight of 5 already moves the odds 150-fold per standard deviation.
    """

    builder: float = Field(-0.675, ge=-5, le=5)
    analytical: float = Field(0.95, ge=-5, le=5)
    research: float = Field(0.6, ge=-5, le=5)
    pace: float = Field(-0.45, ge=-5, le=5)


class TraitCorrelations(_Section):
    """Correlations between the latent traits (the rest are zero)."""

    builder_analytical: float = Field(-0.1, ge=-0.9, le=0.9)
    analytical_research: float = Field(0.4, ge=-0.9, le=0.9)
    builder_pace: float = Field(0.2, ge=-0.9, le=0.9)
    research_pace: float = Field(-0.2, ge=-0.9, le=0.9)


class SynthesizeParams(_Section):
    """Parameters of the synthetic-respondent generator (stage ``synthesize``)."""

    seed: int = Field(20261124, ge=0, le=MAX_SEED)
    n_respondents: int = Field(100_000, ge=100, le=10_000_000)
    marginals: str = "data/reference/survey_marginals.csv"
    #: log-odds of MLE fit of a person whose traits are all average (-5 to 5: odds of 1:150 to 150:1)
    fit_intercept: float = Field(-0.75, ge=-5, le=5)
    fit_weights: FitWeights = FitWeights()
    trait_correlations: TraitCorrelations = TraitCorrelations()
    #: on the latent scale of the 1-5 items, whose cut points are about one unit apart
    role_effect: float = Field(0.5, ge=0, le=5)
    #: the shift by which the items behind the career guides' four rules of thumb
    #: (:data:`rolefit.data.synthetic.RULES_OF_THUMB`) read the drawn role; 0: they read the trait
    #: tendency like every other 1-5 item (the synthesize stage's respondents; the fit draws its own with
    #: ``train.fit.rule_of_thumb_effect``)
    rule_of_thumb_effect: float = Field(0.0, ge=0, le=1)
    goal_role_effect: float = Field(0.25, ge=0, le=5)
    item_noise: float = Field(0.38, gt=0, le=5)
    acquiescence_sd: float = Field(0.15, ge=0, le=2)
    extremity_sd: float = Field(0.1, ge=0, le=2)
    skip_rate_min: float = Field(0.05, ge=0, le=0.5)
    skip_rate_max: float = Field(0.15, ge=0, le=0.5)

    @model_validator(mode="after")
    def _skip_range(self) -> SynthesizeParams:
        if self.skip_rate_min > self.skip_rate_max:
            raise ValueError(
                f"skip_rate_min: got {self.skip_rate_min:g}, above skip_rate_max ({self.skip_rate_max:g})"
            )
        return self


class SurveySource(_Section):
    """One survey export: which adapter reads it, its file name in the search paths, and its role.

    ``role: train`` - its respondents are trained on (their answers decide the effects of the items
    they answered) and evaluated on their test split; ``role: evaluate`` - only evaluated (Stack
    Overflow 2017 by default: its population and items differ from the instrument's).
    """

    adapter: Literal["instrument", "kaggle2021", "stackoverflow2017"]
    file: str
    role: Literal["train", "evaluate"] = "train"
    #: the CSV file to read when ``file`` is a zip holding several (one holding several is refused)
    member: str | None = None


class IngestParams(_Section):
    """Real survey sources (stage ``ingest``); a source whose file is not found is skipped."""

    search_paths: tuple[str, ...] = ("../shared/data/surveys", "data/raw")
    sources: dict[str, SurveySource] = Field(
        default_factory=lambda: {
            "kaggle2021": SurveySource(adapter="kaggle2021", file="kaggle-survey-2021.zip"),
            "stackoverflow2017": SurveySource(
                adapter="stackoverflow2017", file="stackoverflow-survey-2017-partial.zip", role="evaluate"
            ),
        }
    )
    interim_dir: str = "data/interim"


class MarginalsParams(_Section):
    """Which ingested survey the experience marginals and profiles come from (stage ``marginals``).

    Only the respondents of that source's training split (``build.seed``, ``build.fractions``) are used.
    """

    source: str = "kaggle2021"
    out: str = "data/reference/survey_marginals.csv"
    profiles: int = Field(8, ge=1, le=50)
    seed: int = Field(0, ge=0, le=MAX_SEED)


class ItemGainsParams(_Section):
    """How the tools questions' gains are measured (stage ``item_gains``, :mod:`rolefit.model.item_gains`).

    Paired ``folds``-fold cross-validation of the real block on Kaggle 2021's non-test rows, with a
    ``bootstrap``-resample interval at ``level``; the reports are ``out``.json and ``out``.md.
    """

    folds: int = Field(5, ge=2, le=20)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    bootstrap: int = Field(2000, ge=100, le=100_000)
    level: float = Field(0.95, gt=0.5, lt=1.0)
    out: str = "reports/item_gains"


class SplitFractions(_Section):
    train: float = Field(0.55, gt=0, lt=1)
    calibration: float = Field(0.10, gt=0, lt=1)
    validation: float = Field(0.10, gt=0, lt=1)
    test: float = Field(0.25, gt=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitFractions:
        total = self.train + self.calibration + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"the four split fractions must sum to 1, they sum to {total:g}")
        return self


#: A source's relative weight: 0 leaves it out of training (it is then evaluated only); 100 is far
#: beyond any sensible emphasis and bounds what a typo can do.
SourceWeight = Annotated[float, Field(ge=0, le=100)]


class BuildParams(_Section):
    """How the training dataset is assembled and split (stage ``build``).

    ``source_weights``: each source's relative weight in training, from 0 to 100 (1 when a source is
    not listed). A weight of 0 is the way to leave a real source out of training: its rows get no
    weight and it is not a training source (:func:`rolefit.data.dataset.real_sources`), so it takes no
    part in the real block, the conformal thresholds or the answer model, and is evaluated only. The
    synthetic respondents cannot be left out (every model needs them), so their weight must be above 0.
    """

    seed: int = Field(7, ge=0, le=MAX_SEED)
    fractions: SplitFractions = SplitFractions()
    target_mle_share: float = Field(0.38, gt=0, lt=1)
    source_weights: dict[str, SourceWeight] = Field(
        default_factory=lambda: {"synthetic": 1.0, "kaggle2021": 1.0, "stackoverflow2017": 1.0}
    )

    @model_validator(mode="after")
    def _synthetic_weighted(self) -> BuildParams:
        if self.source_weights.get("synthetic", 1.0) == 0:
            raise ValueError(
                "source_weights.synthetic: got 0, allowed 0 < value <= 100 (the synthetic respondents "
                "cannot be left out: every model is trained on them)"
            )
        return self


class LogisticParams(_Section):
    """The monotone logistic-regression candidate."""

    alpha: float = Field(1.0, ge=0, le=1e10, description="L2 penalty on the coefficients")
    max_iter: int = Field(1000, ge=10, le=100_000)


class BoostingParams(_Section):
    """The additive (no-interaction) gradient-boosting candidate."""

    learning_rate: float = Field(0.1, gt=0, le=1)
    max_iter: int = Field(300, ge=1, le=10_000)
    max_leaf_nodes: int = Field(8, ge=2, le=1024)
    min_samples_leaf: int = Field(40, ge=1, le=1_000_000)
    l2_regularization: float = Field(1.0, ge=0, le=1e6)
    early_stopping: bool = True


class PartialAnswersParams(_Section):
    """Copies of calibration/validation/test rows with extra answers skipped at random.

    Each copy keeps every answer of a row with a probability drawn per row from
    U(keep_min, keep_max), so calibration and selection see people who answer only part of the form.
    """

    copies: int = Field(1, ge=0, le=10)
    keep_min: float = Field(0.05, ge=0, le=1)
    keep_max: float = Field(1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _keep_range(self) -> PartialAnswersParams:
        if self.keep_min > self.keep_max:
            raise ValueError(f"keep_min: got {self.keep_min:g}, above keep_max ({self.keep_max:g})")
        return self


class RealBoostingParams(_Section):
    """The boosted real block (:class:`rolefit.model.boosted.BoostedEvidenceBlock`): additive cyclic
    boosting of one-item trees; the learning rate and number of rounds are chosen by cross-fitting."""

    #: shrinkages tried (each above 0 and at most 1)
    learning_rates: tuple[Annotated[float, Field(gt=0, le=1)], ...] = Field(
        (0.1, 0.3), min_length=1, max_length=10
    )
    max_rounds: int = Field(300, ge=1, le=10_000, description="most rounds tried")
    round_step: int = Field(10, ge=1, le=10_000, description="spacing of the round counts tried")
    max_leaves: int = Field(3, ge=2, le=64, description="leaves of every one-item tree")
    min_leaf: int = Field(30, ge=1, le=1_000_000, description="fewest respondents in a leaf")
    l2: float = Field(10.0, ge=0, le=1e6, description="L2 penalty of the leaf values")


class RealEvidenceParams(_Section):
    """The real block: effects of the items real respondents answered (:mod:`rolefit.model.evidence`)."""

    min_respondents: int = Field(
        100, ge=1, le=1_000_000, description="answers needed before an item counts as measured"
    )
    #: penalties tried (each above 0 and at most 1e6)
    alphas: tuple[Annotated[float, Field(gt=0, le=1e6)], ...] = Field(
        (0.3, 1.0, 3.0, 10.0, 30.0), min_length=1, max_length=50
    )
    folds: int = Field(5, ge=2, le=20)
    bootstrap: int = Field(
        100, ge=0, le=10_000, description="resamples for the effects' intervals in the model card"
    )
    #: sources declared ``role: evaluate`` whose answers to the pooled items (interests, skills,
    #: preferences, goal) are also pooled as real evidence, with their own intercept; their experience
    #: answers are not trained on (:mod:`rolefit.model.pooled`)
    pooled_sources: tuple[str, ...] = Field((), max_length=50)
    #: the real blocks fitted; the one with the lowest cross-validated log loss on the real rows is kept
    #: (:func:`rolefit.model.boosted.choose_real_block`)
    candidates: tuple[Literal["logistic", "boosting"], ...] = Field(("logistic", "boosting"), min_length=1)
    boosting: RealBoostingParams = RealBoostingParams()

    @model_validator(mode="after")
    def _distinct_candidates(self) -> RealEvidenceParams:
        if len(set(self.candidates)) != len(self.candidates):
            raise ValueError(f"candidates: got {list(self.candidates)}, which names a block twice")
        return self


class FitWidths(_Section):
    """The relative prior width of an assumed effect of the fit, per group: sd = width * |effect|.

    An effect no real source has measured comes from the synthetic prior, and nobody knows how far real
    people differ from it: the width says how unsure of it to be (0: as sure as of a measured effect; 1:
    one effect's size either way). It is the prior the pooling of real evidence will start from. Chosen
    on held-out synthetic respondents and the personas of issue #24 (how: params.yaml, ``train.fit``).
    """

    interests: float = Field(0.9, ge=0, le=2)
    skills: float = Field(1.0, ge=0, le=2)
    preferences: float = Field(1.15, ge=0, le=2)
    goal: float = Field(0.95, ge=0, le=2)


class FitParams(_Section):
    """The fit (:mod:`rolefit.model.fit`): the additive model over the fit items, from an even start.

    ``synthetic_respondents``: the fit is trained on at least this many synthetic respondents. Its
    effects come from the synthetic prior alone (no real source measured a fit item), and a fit item's
    effect among twenty correlated ones needs many respondents to be estimated; simulating them is
    cheap, so the fit's precision does not depend on how many the all-answers model is trained on.
    The fit draws its own (fit items only: it reads no experience item) when the training data hold
    fewer, or when ``rule_of_thumb_effect`` differs from the training data's
    (``synthesize.rule_of_thumb_effect``); 0 keeps the training data's.
    """

    widths: FitWidths = FitWidths()
    synthetic_respondents: int = Field(100_000, ge=0, le=10_000_000)
    #: the fit's own respondents' ``rule_of_thumb_effect`` (:class:`SynthesizeParams`): the guides'
    #: rules of thumb say which role *suits* a person, so they shape the fit's prior only, never the
    #: all-answers model's, which real respondents judge
    rule_of_thumb_effect: float = Field(0.03, ge=0, le=1)


class TrainParams(_Section):
    """Candidates, calibration and selection (stage ``train``)."""

    seed: int = Field(0, ge=0, le=MAX_SEED)
    partial_answers: PartialAnswersParams = PartialAnswersParams()
    real_evidence: RealEvidenceParams = RealEvidenceParams()
    #: each role's prediction-set coverage (per-role split conformal on held-out rows; the sets come from
    #: the thresholds alone, so this is what a role's coverage is, within 0.02)
    conformal_level: float = Field(0.9, gt=0.5, lt=1.0)
    #: a verdict is "clear" only with at least this many answers (one answer never settles it)
    clear_min_answers: int = Field(3, ge=2, le=100)
    candidates: tuple[Literal["logistic", "boosting"], ...] = ("logistic", "boosting")
    calibration_methods: tuple[Literal["sigmoid", "coverage"], ...] = ("sigmoid", "coverage")
    logistic: LogisticParams = LogisticParams()
    boosting: BoostingParams = BoostingParams()
    fit: FitParams = FitParams()


class EvaluateParams(_Section):
    """Evaluation settings (stage ``evaluate``)."""

    ece_bins: int = Field(10, ge=2, le=100)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    bootstrap: int = Field(200, ge=10, le=100_000)
    fairness_min_group: int = Field(30, ge=1, le=1_000_000)


class SourceTolerance(_Section):
    """How much worse than the champion a challenger may be on one real source."""

    log_loss_tolerance: float = Field(0.005, ge=0, le=1)
    ece_tolerance: float = Field(0.01, ge=0, le=1)


class GateParams(_Section):
    """The quality gate (:mod:`rolefit.evaluation.gate`): tolerances against the champion, per real source.

    ``log_loss_tolerance`` and ``ece_tolerance`` apply to every real source without an entry in
    ``per_source``; ``baseline_tolerance`` is how far above the plain baseline's log loss a challenger
    may be on a real training source (a 1,000-respondent test split cannot separate them more finely).
    """

    log_loss_tolerance: float = Field(0.005, ge=0, le=1)
    ece_tolerance: float = Field(0.01, ge=0, le=1)
    baseline_tolerance: float = Field(0.005, ge=0, le=1)
    per_source: dict[str, SourceTolerance] = Field(default_factory=dict)


class DriftParams(_Section):
    """Alarm thresholds of ``rolefit drift`` and ``rolefit monitor``, and where the drift stage finds each
    source's earlier profile (``profiles``: committed, recorded by ``rolefit drift --record``)."""

    profiles: str = "data/reference/source_profiles.json"
    psi_alarm: float = Field(0.25, gt=0, le=10)
    label_shift_alarm: float = Field(0.10, gt=0, le=1)
    missingness_alarm: float = Field(0.20, gt=0, le=1)


class ExportParams(_Section):
    """Where the champion bundle goes and the quality gate that guards it (stage ``export``)."""

    dir: str = "models/champion"
    gate: GateParams = GateParams()


class Params(_Section):
    """All of ``params.yaml``."""

    synthesize: SynthesizeParams = SynthesizeParams()
    ingest: IngestParams = IngestParams()
    marginals: MarginalsParams = MarginalsParams()
    item_gains: ItemGainsParams = ItemGainsParams()
    build: BuildParams = BuildParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    export: ExportParams = ExportParams()
    drift: DriftParams = DriftParams()


def dotted(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested params as dotted keys (``train.logistic.alpha``) with their values; a list is one value."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(dotted(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read ``params.yaml``; a missing file gives the defaults, a bad one a ValueError naming the keys.

    Every offending field is named in the one error, by its dotted path (``build.source_weights.x``);
    a number out of range is given with its allowed range and the value found.
    """
    import yaml
    from pydantic import ValidationError

    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    try:
        return Params.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ValueError(f"{path} is invalid: {problems}") from None


_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


#: A section's own check names its field first (``keep_min: got ...``): the path is then joined to it.
_NAMED_FIELD = re.compile(r"^[a-z_][a-z0-9_.]*: ")


def _problem(err: dict[str, Any]) -> str:
    """One validation error as ``dotted.path: what is wrong``, with the allowed range for a number."""
    where = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in _RANGE_ERRORS:
        allowed = allowed_range(err["loc"])
        if allowed:
            return f"{where}: got {err['input']}, allowed {allowed}"
    if err["type"] == "value_error" and _NAMED_FIELD.match(message):
        return f"{where}.{message}" if where else message
    return f"{where}: {message}" if where else message


def allowed_range(loc: tuple[Any, ...]) -> str | None:
    """The stated range of the number at ``loc`` in :class:`Params` (e.g. ``0 <= value <= 100``)."""
    annotation: Any = Params
    constraints: list[Any] = []
    for part in loc:
        annotation, constraints = _unwrapped(annotation, constraints)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation, constraints = field.annotation, list(field.metadata)
        elif get_origin(annotation) in (dict, tuple):
            annotation, constraints = get_args(annotation)[-1 if get_origin(annotation) is dict else 0], []
        else:
            return None
    _, constraints = _unwrapped(annotation, constraints)
    bound = {type(c).__name__: c for c in constraints if isinstance(c, annotated_types.BaseMetadata)}
    low = f"{_number(bound['Ge'].ge)} <= " if "Ge" in bound else ""
    low = low or (f"{_number(bound['Gt'].gt)} < " if "Gt" in bound else "")
    high = f" <= {_number(bound['Le'].le)}" if "Le" in bound else ""
    high = high or (f" < {_number(bound['Lt'].lt)}" if "Lt" in bound else "")
    return f"{low}value{high}" if low or high else None


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _unwrapped(annotation: Any, constraints: list[Any]) -> tuple[Any, list[Any]]:
    """``Annotated[float, Field(...)]`` as ``(float, its constraints)``; other annotations as they are."""
    while get_origin(annotation) is Annotated:
        inner, *extras = get_args(annotation)
        for extra in extras:
            constraints = [*constraints, *getattr(extra, "metadata", [extra])]
        annotation = inner
    return annotation, constraints
