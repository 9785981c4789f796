"""Pipeline parameters: ``params.yaml`` loaded once into frozen, typed objects.

Each section belongs to one pipeline stage. Unknown keys are rejected (a misspelt parameter must not be
silently ignored), and every value is checked for type and range when the file is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FitWeights(_Section):
    """Weights of the latent traits in the log-odds of MLE fit (before the goal and experience answers)."""

    builder: float = -0.675
    analytical: float = 0.95
    research: float = 0.6
    pace: float = -0.45


class TraitCorrelations(_Section):
    """Correlations between the latent traits (the rest are zero)."""

    builder_analytical: float = Field(-0.1, ge=-0.9, le=0.9)
    analytical_research: float = Field(0.4, ge=-0.9, le=0.9)
    builder_pace: float = Field(0.2, ge=-0.9, le=0.9)
    research_pace: float = Field(-0.2, ge=-0.9, le=0.9)


class SynthesizeParams(_Section):
    """Parameters of the synthetic-respondent generator (stage ``synthesize``)."""

    seed: int = 20261124
    n_respondents: int = Field(100_000, ge=100)
    marginals: str = "data/reference/survey_marginals.csv"
    fit_intercept: float = -0.75
    fit_weights: FitWeights = FitWeights()
    trait_correlations: TraitCorrelations = TraitCorrelations()
    role_effect: float = Field(0.5, ge=0)
    goal_role_effect: float = Field(0.25, ge=0)
    item_noise: float = Field(0.38, gt=0)
    acquiescence_sd: float = Field(0.15, ge=0)
    extremity_sd: float = Field(0.1, ge=0)
    skip_rate_min: float = Field(0.05, ge=0, le=0.5)
    skip_rate_max: float = Field(0.15, ge=0, le=0.5)

    @model_validator(mode="after")
    def _skip_range(self) -> SynthesizeParams:
        if self.skip_rate_min > self.skip_rate_max:
            raise ValueError("skip_rate_min must not exceed skip_rate_max")
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
    seed: int = 0


class SplitFractions(_Section):
    train: float = Field(0.55, gt=0)
    calibration: float = Field(0.10, gt=0)
    validation: float = Field(0.10, gt=0)
    test: float = Field(0.25, gt=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitFractions:
        total = self.train + self.calibration + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1, they sum to {total:g}")
        return self


class BuildParams(_Section):
    """How the training dataset is assembled and split (stage ``build``)."""

    seed: int = 7
    fractions: SplitFractions = SplitFractions()
    target_mle_share: float = Field(0.38, gt=0, lt=1)
    source_weights: dict[str, float] = Field(
        default_factory=lambda: {"synthetic": 1.0, "kaggle2021": 1.0, "stackoverflow2017": 1.0}
    )


class LogisticParams(_Section):
    """The monotone logistic-regression candidate."""

    alpha: float = Field(1.0, ge=0, description="L2 penalty on the coefficients")
    max_iter: int = Field(1000, ge=10)


class BoostingParams(_Section):
    """The additive (no-interaction) gradient-boosting candidate."""

    learning_rate: float = Field(0.1, gt=0, le=1)
    max_iter: int = Field(300, ge=1)
    max_leaf_nodes: int = Field(8, ge=2)
    min_samples_leaf: int = Field(40, ge=1)
    l2_regularization: float = Field(1.0, ge=0)
    early_stopping: bool = True


class PartialAnswersParams(_Section):
    """Copies of calibration/validation/test rows with extra answers skipped at random.

    Each copy keeps every answer of a row with a probability drawn per row from
    U(keep_min, keep_max), so calibration and selection see people who answer only part of the form.
    """

    copies: int = Field(1, ge=0)
    keep_min: float = Field(0.05, ge=0, le=1)
    keep_max: float = Field(1.0, ge=0, le=1)


class RealEvidenceParams(_Section):
    """The real block: effects of the items real respondents answered (:mod:`rolefit.model.evidence`)."""

    min_respondents: int = Field(100, ge=1, description="answers needed before an item counts as measured")
    alphas: tuple[float, ...] = Field((0.3, 1.0, 3.0, 10.0, 30.0), min_length=1)
    folds: int = Field(5, ge=2, le=20)
    bootstrap: int = Field(100, ge=0, description="resamples for the effects' intervals in the model card")

    @model_validator(mode="after")
    def _positive_alphas(self) -> RealEvidenceParams:
        if any(a <= 0 for a in self.alphas):
            raise ValueError("every alpha must be positive")
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
    When the training data hold fewer, the fit draws its own (fit items only: it reads no experience
    item); 0 keeps the training data's.
    """

    widths: FitWidths = FitWidths()
    synthetic_respondents: int = Field(100_000, ge=0)


class TrainParams(_Section):
    """Candidates, calibration and selection (stage ``train``)."""

    seed: int = 0
    partial_answers: PartialAnswersParams = PartialAnswersParams()
    real_evidence: RealEvidenceParams = RealEvidenceParams()
    conformal_level: float = Field(0.9, gt=0.5, lt=1.0)
    #: a verdict is "clear" only with at least this many answers (one answer never settles it)
    clear_min_answers: int = Field(3, ge=2)
    #: ... and only when the named role has at least this probability
    clear_min_probability: float = Field(0.75, ge=0.5, lt=1.0)
    candidates: tuple[Literal["logistic", "boosting"], ...] = ("logistic", "boosting")
    calibration_methods: tuple[Literal["sigmoid", "coverage"], ...] = ("sigmoid", "coverage")
    logistic: LogisticParams = LogisticParams()
    boosting: BoostingParams = BoostingParams()
    fit: FitParams = FitParams()


class EvaluateParams(_Section):
    """Evaluation settings (stage ``evaluate``)."""

    ece_bins: int = Field(10, ge=2)
    seed: int = 0
    bootstrap: int = Field(200, ge=10)
    fairness_min_group: int = Field(30, ge=1)


class SourceTolerance(_Section):
    """How much worse than the champion a challenger may be on one real source."""

    log_loss_tolerance: float = Field(0.005, ge=0)
    ece_tolerance: float = Field(0.01, ge=0)


class GateParams(_Section):
    """The quality gate (:mod:`rolefit.evaluation.gate`): tolerances against the champion, per real source.

    ``log_loss_tolerance`` and ``ece_tolerance`` apply to every real source without an entry in
    ``per_source``; ``baseline_tolerance`` is how far above the plain baseline's log loss a challenger
    may be on a real training source (a 1,000-respondent test split cannot separate them more finely).
    """

    log_loss_tolerance: float = Field(0.005, ge=0)
    ece_tolerance: float = Field(0.01, ge=0)
    baseline_tolerance: float = Field(0.005, ge=0)
    per_source: dict[str, SourceTolerance] = Field(default_factory=dict)


class DriftParams(_Section):
    """Alarm thresholds of ``rolefit drift``."""

    psi_alarm: float = Field(0.25, gt=0)
    label_shift_alarm: float = Field(0.10, gt=0)
    missingness_alarm: float = Field(0.20, gt=0)


class ExportParams(_Section):
    """Where the champion bundle goes and the quality gate that guards it (stage ``export``)."""

    dir: str = "models/champion"
    gate: GateParams = GateParams()


class Params(_Section):
    """All of ``params.yaml``."""

    synthesize: SynthesizeParams = SynthesizeParams()
    ingest: IngestParams = IngestParams()
    marginals: MarginalsParams = MarginalsParams()
    build: BuildParams = BuildParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    export: ExportParams = ExportParams()
    drift: DriftParams = DriftParams()


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read ``params.yaml``; a missing file gives the defaults, a bad one a ValueError naming the keys."""
    import yaml
    from pydantic import ValidationError

    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    try:
        return Params.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ValueError(f"{path} is invalid: {problems}") from None
