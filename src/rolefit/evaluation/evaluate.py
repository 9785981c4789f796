"""The evaluate stage: a bundle scored on the test split, beside the plain baseline on real sources."""

from __future__ import annotations

import numpy as np

from rolefit.data.dataset import labels, real_sources
from rolefit.evaluation.behaviour import run_behaviour
from rolefit.evaluation.fairness import fairness_audit
from rolefit.evaluation.metrics import (
    bootstrap_intervals,
    calibration_check,
    logit,
    paired_differences,
    shifted,
)
from rolefit.evaluation.results import (
    BaselineResult,
    Evaluation,
    PredictionSets,
    RealEvidence,
    Scores,
    SetCoverage,
    SourceEvidence,
)
from rolefit.instrument.items import load_instrument
from rolefit.model.evidence import PlainBaseline
from rolefit.model.metrics import summary
from rolefit.scoring.frames import predict_many
from rolefit.scoring.loader import load_model
from rolefit.scoring.predictor import predict


def evaluate_bundle(bundle_dir, frame, params) -> Evaluation:
    """Score the test split with the exported bundle's all-answers model (as apps do) and compute every
    report.

    Returns an :class:`~rolefit.evaluation.results.Evaluation`: the champion overall, per source and
    per slice, prediction-set coverage, the real evidence beside the plain baseline, the fairness audit,
    behaviour checks, item importance, and the labels and probabilities they came from.
    """

    instrument = load_instrument()
    test = frame[frame["split"] == "test"] if "split" in frame.columns else frame
    items = [c for c in instrument.ids if c in test.columns]
    scored = predict_many(test[items], model=bundle_dir, top_k=0)
    y = (test["role"].to_numpy() == "mle").astype(int)
    # the all-answers model: real respondents answered only experience items, so only it can be judged
    # on them (the fit is judged on held-out synthetic respondents by training: the manifest's ``fit``)
    p = scored["all_answers_p_mle"].to_numpy()
    n_bins, n_boot, seed = params.evaluate.ece_bins, params.evaluate.bootstrap, params.evaluate.seed
    sources = sorted(test["source"].unique())
    masks = {source: (test["source"] == source).to_numpy() for source in sources}

    def group_scores(group: str, mask: np.ndarray, p_true=None) -> Scores:
        ys, ps = y[mask], p[mask]
        return Scores(
            group=group,
            metrics=summary(ys, ps, n_bins=n_bins, p_true=p_true),
            intervals=bootstrap_intervals(ys, ps, n_bins=n_bins, n_boot=n_boot, seed=seed),
            calibration_check=calibration_check(ys, ps, n_bins=n_bins, n_sim=n_boot, seed=seed),
        )

    p_true = test["p_true"].to_numpy() if "p_true" in test else None
    overall = group_scores("all", np.ones(len(y), bool))
    by_source = tuple(
        group_scores(source, mask, p_true[mask] if source == "synthetic" and p_true is not None else None)
        for source, mask in masks.items()
    )

    additive = load_model(bundle_dir).additive
    importance = {}
    for item in items:
        answered = test[item].dropna()
        if len(answered):
            table = additive.tables[item]
            importance[item] = float(
                abs(pd_series_effects(answered, table, instrument[item])).mean()
                * (1.0 if item in additive.fixed else additive.a)
            )
    behaviour = run_behaviour(lambda answers: predict(answers, model=bundle_dir))
    slice_scores = tuple(
        Scores(group=name, metrics=summary(y[mask], p[mask], n_bins=n_bins), kind="slice")
        for name, mask in slices(test).items()
    )
    sets = None
    if additive.conformal is not None:
        from rolefit.model.conformal import coverage
        from rolefit.model.features import answered_mask

        answered = answered_mask(test[items], tuple(items)).sum(axis=1)
        sets = PredictionSets(
            level=additive.conformal.level,
            overall=SetCoverage("all", coverage(y, p, additive.conformal, answered)),
            by_source=tuple(
                SetCoverage(source, coverage(y[mask], p[mask], additive.conformal, answered[mask]))
                for source, mask in masks.items()
            ),
        )
    return Evaluation(
        overall=overall,
        by_source=by_source,
        slices=slice_scores,
        sets=sets,
        real=real_evidence_report(frame, test, y, p, additive, params, bundle_dir),
        fairness=fairness_audit(test, y, p, params),
        behaviour=behaviour,
        importance=importance,
        y=y,
        p=p,
        sources=test["source"].astype(str).to_numpy(),
    )


def real_evidence_report(frame, test, y, p, additive, params, bundle_dir) -> RealEvidence:
    """The champion beside the plain baseline on every real source, under both base rates.

    The baseline (:class:`rolefit.model.evidence.PlainBaseline`) is fitted on the non-test rows of the real
    training sources with the items the champion learned from real data. Every real source is scored
    under the model's reference base rate and under its *own* base rate (the MLE share of its non-test
    rows), which moves the log-odds of both models by the same amount.
    """

    n_bins, n_boot, seed = params.evaluate.ece_bins, params.evaluate.bootstrap, params.evaluate.seed
    split = frame["split"] if "split" in frame.columns else None
    real_items = [item for item, e in additive.evidence.items() if e.get("basis") == "real"]
    training = real_sources(params, frame, "train")
    evaluated = real_sources(params, frame, "evaluate")
    reference_rate = (
        additive.base_rate if additive.base_rate is not None else 1 / (1 + np.exp(-additive.intercept))
    )
    described = None
    baseline = None
    if real_items and training and split is not None:
        fit_rows = frame[frame["source"].isin(training).to_numpy() & (split != "test").to_numpy()]
        from rolefit.data.dataset import mle_shares, sample_weights

        weights = sample_weights(fit_rows, params.build, mle_shares(frame))
        baseline = PlainBaseline(items=tuple(real_items), seed=seed).fit(fit_rows, labels(fit_rows), weights)
        described = {
            "model": "one-hot logistic regression + sigmoid calibration (5-fold)",
            "items": real_items,
            "rows": len(fit_rows),
        }
    evidence = []
    for source in [*training, *evaluated]:
        mask = (test["source"] == source).to_numpy()
        if not mask.any():
            continue
        ys, ps = y[mask], p[mask]
        source_rows = frame[frame["source"] == source]
        if split is not None:
            source_rows = source_rows[source_rows["split"] != "test"]
        own = float(np.clip((source_rows["role"] == "mle").mean(), 1e-3, 1 - 1e-3))
        delta = logit(own) - logit(reference_rate)
        p_own = shifted(ps, delta)
        champion_own = Scores(
            group=source,
            metrics=summary(ys, p_own, n_bins=n_bins),
            intervals=bootstrap_intervals(ys, p_own, n_bins=n_bins, n_boot=n_boot, seed=seed),
            calibration_check=calibration_check(ys, p_own, n_bins=n_bins, n_sim=n_boot, seed=seed),
            under_own_base_rate=True,
        )
        versus: list[BaselineResult | None] = [None, None]
        if baseline is not None:
            pb = baseline.predict_proba(test.loc[mask])[:, 1]
            for i, (champion, base) in enumerate(((ps, pb), (p_own, shifted(pb, delta)))):
                scores = Scores(
                    group=source,
                    metrics=summary(ys, base, n_bins=n_bins),
                    intervals=bootstrap_intervals(ys, base, n_bins=n_bins, n_boot=n_boot, seed=seed),
                    kind="baseline",
                    under_own_base_rate=i == 1,
                )
                differences = paired_differences(ys, champion, base, n_bins=n_bins, n_boot=n_boot, seed=seed)
                versus[i] = BaselineResult(scores, differences)
        evidence.append(SourceEvidence(source, own, champion_own, baseline=versus[0], baseline_own=versus[1]))
    return RealEvidence(
        training_sources=tuple(training),
        evaluation_sources=tuple(evaluated),
        reference_base_rate=float(reference_rate),
        baseline=described,
        sources=tuple(evidence),
    )


def slices(test) -> dict[str, np.ndarray]:
    """Masks of the evaluation slices: education level, years-of-coding band and true role."""
    out: dict[str, np.ndarray] = {}
    if "education" in test.columns:
        education = test["education"].astype(object).to_numpy()
        for level in ("no_degree", "some_college", "bachelor", "master", "doctorate"):
            mask = education == level
            if mask.sum() >= 30:
                out[f"education={level}"] = mask
    if "years_coding" in test.columns:
        from rolefit.data.distributions import YEARS_BANDS

        years = test["years_coding"].to_numpy(dtype=float)
        for low, high, label in YEARS_BANDS:
            mask = (years >= low) & (years < high)
            if mask.sum() >= 30:
                out[f"years_coding={label}"] = mask
    for role in ("swe", "mle"):
        out[f"role={role}"] = test["role"].to_numpy() == role
    return out


def pd_series_effects(values, table, item) -> np.ndarray:
    """Raw table effects of a column of answers (choices by id, numbers as floats)."""
    return np.array([table.effect(item.coerce(v)) for v in values.tolist()], dtype=float)
