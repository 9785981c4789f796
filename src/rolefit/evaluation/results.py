"""Typed results of the evaluate stage (:func:`rolefit.evaluation.evaluate.evaluate_bundle`).

Reports, tracking and the gate read named fields: every group carries its name as a field. The flat
names ``evaluation.json`` and MLflow use (``test/all``, ``test/<source>``, ``test/slice/<slice>``,
``baseline/<source>``, each real source also with ``/own_base_rate``) are built in one place,
:attr:`Scores.key`, and the flat sections in :meth:`Evaluation.to_metrics` and :meth:`Evaluation.to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

_PREFIXES = {"test": "test/", "slice": "test/slice/", "baseline": "baseline/"}


@dataclass(frozen=True)
class Scores:
    """One model's scores on one group of test respondents."""

    #: ``all``, a source (``kaggle2021``) or a slice (``education=master``)
    group: str
    #: :func:`rolefit.model.metrics.summary`: n, log loss, ECE, ROC AUC, ... (synthetic: also Bayes)
    metrics: dict[str, float]
    #: 95% bootstrap intervals of ROC AUC, log loss and ECE (:func:`.metrics.bootstrap_intervals`)
    intervals: dict[str, list[float]] | None = None
    #: the observed ECE against chance (:func:`.metrics.calibration_check`)
    calibration_check: dict[str, float] | None = None
    #: ``test`` (the champion on all or a source), ``slice`` (the champion on a slice) or ``baseline``
    kind: Literal["test", "slice", "baseline"] = "test"
    #: scored under the source's own base rate instead of the model's reference one
    under_own_base_rate: bool = False

    @property
    def label(self) -> str:
        """The group as reports name it: ``kaggle2021``, ``stackoverflow2017/own_base_rate``."""
        return f"{self.group}/own_base_rate" if self.under_own_base_rate else self.group

    @property
    def key(self) -> str:
        """The flat name in ``evaluation.json`` and MLflow: ``test/all``, ``baseline/kaggle2021``, ..."""
        return _PREFIXES[self.kind] + self.label


@dataclass(frozen=True)
class BaselineResult:
    """The plain baseline on one real source under one base rate, and the champion minus it."""

    #: the baseline's scores (``kind="baseline"``)
    scores: Scores
    #: champion minus baseline per metric (log loss, ECE, ROC AUC): ``{difference, low, high}`` with
    #: paired bootstrap 95% bounds (:func:`.metrics.paired_differences`)
    differences: dict[str, dict[str, float]]


@dataclass(frozen=True)
class SourceEvidence:
    """A real source in the test split: the champion under the source's own base rate, and the plain
    baseline beside the champion under both base rates (absent when no baseline could be fitted)."""

    source: str
    #: the MLE share of the source's non-test rows
    own_base_rate: float
    #: the champion with its log-odds shifted to ``own_base_rate``
    champion_own: Scores
    baseline: BaselineResult | None = None
    baseline_own: BaselineResult | None = None

    @property
    def baselines(self) -> tuple[BaselineResult, ...]:
        """The baseline's results present: under the reference base rate, then the own one."""
        return tuple(b for b in (self.baseline, self.baseline_own) if b is not None)


@dataclass(frozen=True)
class RealEvidence:
    """The champion beside the plain baseline on every real source
    (:func:`rolefit.evaluation.evaluate.real_evidence_report`)."""

    training_sources: tuple[str, ...]
    evaluation_sources: tuple[str, ...]
    #: the base rate the model's probabilities refer to
    reference_base_rate: float
    #: what the plain baseline is (``model``, ``items``, ``rows``); None without real training rows
    baseline: dict[str, Any] | None
    #: every real source present in the test split: training sources first, then evaluation-only ones
    sources: tuple[SourceEvidence, ...] = ()

    def source(self, name: str) -> SourceEvidence | None:
        return next((s for s in self.sources if s.source == name), None)

    @property
    def scores(self) -> tuple[Scores, ...]:
        """Per source: the champion under its own base rate, then the baseline under both."""
        return tuple(
            scores for s in self.sources for scores in (s.champion_own, *(b.scores for b in s.baselines))
        )

    def to_dict(self) -> dict[str, Any]:
        """``real_evidence`` of ``evaluation.json`` (and MLflow's ``real_evidence.json``)."""
        return {
            "training_sources": list(self.training_sources),
            "evaluation_sources": list(self.evaluation_sources),
            "reference_base_rate": self.reference_base_rate,
            "baseline": self.baseline,
            "own_base_rates": {s.source: s.own_base_rate for s in self.sources},
            "differences": {b.scores.label: b.differences for s in self.sources for b in s.baselines},
        }


@dataclass(frozen=True)
class SetCoverage:
    """Prediction-set coverage on one group, ``all`` or a source (:func:`rolefit.model.conformal.coverage`:
    coverage, mean set size, coverage per role, share of sets naming both roles)."""

    group: str
    values: dict[str, float]

    @property
    def key(self) -> str:
        """The flat name in ``evaluation.json`` and MLflow: ``test/all``, ``test/kaggle2021``."""
        return f"test/{self.group}"


@dataclass(frozen=True)
class PredictionSets:
    """Split-conformal prediction sets on the test split: the target coverage and what was reached."""

    level: float
    overall: SetCoverage
    by_source: tuple[SetCoverage, ...] = ()

    @property
    def groups(self) -> tuple[SetCoverage, ...]:
        return (self.overall, *self.by_source)

    def group(self, name: str) -> SetCoverage | None:
        return next((g for g in self.groups if g.group == name), None)

    def to_dict(self) -> dict[str, Any]:
        """``prediction_sets`` of ``evaluation.json``: ``{"test/<group>": coverage, ..., "level": level}``."""
        return {**{g.key: g.values for g in self.groups}, "level": self.level}


@dataclass(frozen=True)
class Evaluation:
    """Everything the evaluate stage measured on the test split of one bundle."""

    #: the champion on the whole test split (group ``all``)
    overall: Scores
    #: the champion per source, sorted by name
    by_source: tuple[Scores, ...]
    #: the champion per slice (education level, years-of-coding band, true role)
    slices: tuple[Scores, ...]
    #: None when the bundle has no conformal thresholds
    sets: PredictionSets | None
    real: RealEvidence
    #: :func:`rolefit.evaluation.fairness.fairness_audit`
    fairness: dict[str, Any]
    #: :func:`rolefit.evaluation.behaviour.run_behaviour`: one dict per case
    behaviour: list[dict[str, Any]]
    #: mean absolute effect per item over the test answers
    importance: dict[str, float]
    #: true labels (1 = MLE), predicted p(MLE) and source per test row
    y: np.ndarray
    p: np.ndarray
    sources: np.ndarray

    @property
    def groups(self) -> tuple[Scores, ...]:
        """``all``, then every source."""
        return (self.overall, *self.by_source)

    def source(self, name: str) -> Scores | None:
        return next((g for g in self.by_source if g.group == name), None)

    @property
    def champion(self) -> tuple[Scores, ...]:
        """Every group with intervals and a calibration check: all, each source, then each real source
        under its own base rate."""
        return (*self.groups, *(s.champion_own for s in self.real.sources))

    @property
    def scores(self) -> tuple[Scores, ...]:
        """Every scored group, in the order of :meth:`to_metrics`."""
        return (*self.groups, *self.slices, *self.real.scores)

    def to_metrics(self) -> dict[str, dict[str, float]]:
        """Every group's metrics by flat name (:attr:`Scores.key`)."""
        return {s.key: {k: float(v) for k, v in s.metrics.items()} for s in self.scores}

    def intervals(self) -> dict[str, dict[str, list[float]]]:
        """95% bootstrap intervals by flat name."""
        return {s.key: s.intervals for s in self.scores if s.intervals is not None}

    def calibration_checks(self) -> dict[str, dict[str, float]]:
        """Calibration checks by flat name."""
        return {s.key: s.calibration_check for s in self.scores if s.calibration_check is not None}

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form of ``evaluation.json`` (without the bundle's version, candidate and
        calibration, which the manifest gives)."""
        return {
            **self.to_metrics(),
            "intervals_95": self.intervals(),
            "calibration_checks": self.calibration_checks(),
            "prediction_sets": self.sets.to_dict() if self.sets is not None else {},
            "fairness": self.fairness,
            "behaviour": {"cases": len(self.behaviour), "passed": sum(b["passed"] for b in self.behaviour)},
            "real_evidence": self.real.to_dict(),
        }
