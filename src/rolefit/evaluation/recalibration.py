"""``rolefit recalibrate``: fit a population's own calibration of the all-answers model and write it as a
derived bundle, with the before/after calibration on held-out rows of the sample.

The steps: score the labelled sample with the parent (its all-answers log-odds), hold out a stated
fraction of each role (seeded), fit the intercept (and a slope only by the rule of
:mod:`rolefit.model.recalibrate`) on the rest, compare parent and recalibrated probabilities on the
held-out rows (log loss, ECE and ROC AUC with bootstrap intervals, the paired differences, and the
calibration check of :func:`rolefit.evaluation.metrics.calibration_check`; beside them, the same for
``base_rate=`` set to the fitting part's MLE share, the correction a caller has without this command),
then write the derived bundle
(:mod:`rolefit.scoring.derived`) and score the held-out rows again through it, as any caller would, to
check that it gives exactly the recalibrated probabilities. The fit (the headline) is the parent's,
unchanged: only the all-answers model is recalibrated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rolefit.data.labelled import LabelledSample
from rolefit.errors import RolefitError
from rolefit.evaluation.metrics import bootstrap_intervals, calibration_check, paired_differences
from rolefit.model.metrics import expected_calibration_error, log_loss, roc_auc
from rolefit.model.recalibrate import (
    Recalibration,
    RecalibrationError,
    fit_recalibration,
    holdout_split,
    recalibrated_additive,
    role_counts,
)
from rolefit.scoring.derived import Derived, write_derived

#: Largest difference between the derived bundle's probabilities and the recalibrated ones on the
#: held-out rows before the bundle is called broken (both are the same sums in floating point).
MAX_CHECK_DIFFERENCE = 1e-9
#: The parent's probabilities are clipped to (EPS, 1 - EPS) before taking log-odds.
EPS = 1e-15


class RecalibrationCheckFailed(RolefitError, RuntimeError):
    """The derived bundle does not reproduce the recalibrated probabilities (a bug, never bad input)."""


@dataclass(frozen=True)
class RecalibrationResult:
    """The fit, the before/after report on held-out rows, and the derived bundle written."""

    fit: Recalibration
    report: dict[str, Any]
    derived: Derived

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": str(self.derived.path),
            "model_version": self.derived.manifest["model_version"],
            "parent": self.derived.manifest["parent"],
            "sample": self.derived.manifest["sample"],
            "recalibration": self.fit.to_dict(),
            "report": self.report,
            "signed_by": self.derived.signed_by,
        }


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def _sigmoid(z) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def all_answers_probabilities(frame, model) -> np.ndarray:
    """The all-answers model's P(mle) of every row of ``frame`` (item columns) under ``model``."""
    from rolefit.scoring.frames import predict_many

    return predict_many(frame, model=model, top_k=0)["all_answers_p_mle"].to_numpy(dtype=float)


def _summary(y, p, *, n_bins: int, n_boot: int, seed: int) -> dict[str, Any]:
    check = calibration_check(y, p, n_bins=n_bins, n_sim=n_boot, seed=seed)
    return {
        "log_loss": log_loss(y, p),
        "ece": expected_calibration_error(y, p, n_bins),
        "roc_auc": roc_auc(y, p),
        "intervals": bootstrap_intervals(y, p, n_bins=n_bins, n_boot=n_boot, seed=seed),
        "calibration_check": check,
        "mean_p_mle": float(np.mean(p)),
    }


def before_after(
    y, p_before, p_after, *, n_bins: int = 10, n_boot: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Parent and recalibrated probabilities on the same held-out respondents: each one's metrics with
    95% intervals and calibration check, and the paired differences (after minus before)."""
    y = np.asarray(y)
    return {
        "rows": len(y),
        "roles": role_counts(y),
        "observed_mle_share": float(np.mean(y)),
        "before": _summary(y, p_before, n_bins=n_bins, n_boot=n_boot, seed=seed),
        "after": _summary(y, p_after, n_bins=n_bins, n_boot=n_boot, seed=seed),
        "after_minus_before": paired_differences(
            y, p_after, p_before, n_bins=n_bins, n_boot=n_boot, seed=seed
        ),
    }


def recalibrate(
    sample: LabelledSample,
    out: str | Path,
    *,
    model: str | Path | None = None,
    holdout: float = 0.3,
    seed: int = 0,
    slope: str = "auto",
    n_bins: int = 10,
    n_boot: int = 200,
    project: str | Path | None = None,
) -> RecalibrationResult:
    """Recalibrate the all-answers model of ``model`` (default: as :func:`rolefit.predict` finds it) on
    ``sample`` and write the derived bundle to ``out``.

    Raises :class:`rolefit.model.recalibrate.RecalibrationError` for a sample that cannot be fitted
    (too small, one role), :class:`rolefit.scoring.answers.InvalidAnswers` for answers the parent
    cannot score, :class:`rolefit.scoring.bundle.BundleError` for a bad parent.
    """
    from rolefit.scoring.loader import load_model

    parent = load_model(model)
    out = Path(out)
    _check_out(out, parent.path)
    frame = sample.frame
    y = (frame["role"].to_numpy() == "mle").astype(int)
    held = holdout_split(y, holdout, seed)
    items = frame.drop(columns=["role"])
    p_parent = all_answers_probabilities(items, parent)
    x = _logit(p_parent)
    fit = fit_recalibration(y[~held], x[~held], slope=slope)
    p_after = _sigmoid(fit.apply(x[held]))
    report = before_after(y[held], p_parent[held], p_after, n_bins=n_bins, n_boot=n_boot, seed=seed)
    # what a caller could do without a sample's labels being fitted: base_rate= the sample's MLE share,
    # which moves the start by logit(share) - logit(the model's base rate) whatever the answers say
    share = float(np.mean(y[~held]))
    p_rate = _sigmoid(x[held] + math.log(share / (1.0 - share)) - parent.base_log_odds)
    with_rate = _summary(y[held], p_rate, n_bins=n_bins, n_boot=n_boot, seed=seed)
    report["with_base_rate"] = {"base_rate": share, **with_rate}
    additive = recalibrated_additive(parent.additive, fit)
    report["starting_point"] = {
        "before": _rate(parent.additive.base_rate, parent.additive.intercept),
        "after": _rate(additive.base_rate, additive.intercept),
    }
    report["fit_part"] = {"rows": int((~held).sum()), "roles": role_counts(y[~held])}
    report["holdout"] = {"fraction": holdout, "seed": seed}
    description = dict(sample.description)
    manifest = {
        "recalibration": {
            **fit.to_dict(),
            "applies_to": "the all-answers model only; the fit (the headline) is the parent's, unchanged",
            "formula": "log-odds = shift + slope * (the parent's all-answers log-odds)",
            "estimator": "model.skops is the parent's full estimator, unchanged: apply the formula to its "
            "log-odds to reproduce scoring.json",
            "prediction_sets": "the parent's, unchanged: the thresholds move with the probabilities",
        },
        "sample": description,
        "recalibration_report": report,
        "metrics": {
            "sample_held_out_before": _flat(report["before"]),
            "sample_held_out_after": _flat(report["after"]),
        },
    }
    derived = write_derived(parent, out, additive, manifest, project=project)
    _check(derived.path, items.loc[held], p_after)
    return RecalibrationResult(fit=fit, report=report, derived=derived)


def _check_out(out: Path, parent: Path) -> None:
    """Refuse an ``out`` that would replace the parent, or a folder that is not a bundle (writing a bundle
    replaces the whole folder: a mistyped --out must never delete someone's files)."""
    if out.resolve() == parent.resolve() or parent.resolve().is_relative_to(out.resolve()):
        raise RecalibrationError(
            f"The derived bundle cannot be written to {out}: that would replace its parent at {parent}. "
            "Choose another --out folder."
        )
    if out.exists() and not (out / "manifest.json").is_file() and (not out.is_dir() or any(out.iterdir())):
        raise RecalibrationError(
            f"{out} exists and is not a model bundle; writing the derived bundle would replace it. Choose a "
            "new folder (or an earlier derived bundle, which is replaced)."
        )


def _rate(base_rate: float | None, intercept: float) -> float:
    return base_rate if base_rate is not None else 1.0 / (1.0 + math.exp(-intercept))


def _flat(summary: dict[str, Any]) -> dict[str, float]:
    """Numbers for the manifest's ``metrics`` (name -> float)."""
    return {
        "log_loss": summary["log_loss"],
        "ece": summary["ece"],
        "roc_auc": summary["roc_auc"],
        "calibration_check_p": summary["calibration_check"]["p_value"],
        "mean_p_mle": summary["mean_p_mle"],
    }


def _check(path: Path, held_items, expected: np.ndarray) -> None:
    """Score the held-out rows through the written bundle, loaded and verified afresh as any caller would
    load it: its probabilities must be the recalibrated ones."""
    from rolefit.scoring.bundle import load_fit, load_trusted
    from rolefit.scoring.loader import LoadedModel
    from rolefit.scoring.readiness import load_readiness

    # not through load_model's cache: a bundle written to the same folder before must not answer
    additive, manifest, trust = load_trusted(path)
    fresh = LoadedModel(
        additive=additive,
        manifest=manifest,
        path=path,
        verification=trust,
        fit=load_fit(path, manifest, additive),
        readiness=load_readiness(path, manifest),
    )
    got = all_answers_probabilities(held_items, fresh)
    worst = float(np.max(np.abs(got - expected))) if len(got) else 0.0
    if not worst <= MAX_CHECK_DIFFERENCE:
        raise RecalibrationCheckFailed(
            f"The derived bundle at {path} gives probabilities up to {worst:.3g} away from the recalibrated "
            "ones on the held-out rows; it should not be used (this is a bug in rolefit)."
        )
