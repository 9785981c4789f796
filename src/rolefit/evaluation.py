"""Metrics for probabilistic binary predictions (``p`` = probability of ``mle``, ``y`` = 1 for mle)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)


def log_loss(y, p, sample_weight=None) -> float:
    """Mean negative log-likelihood in nats."""
    y, p = np.asarray(y, dtype=float), _clip(p)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.average(losses, weights=sample_weight))


def brier(y, p, sample_weight=None) -> float:
    return float(np.average((np.asarray(p, float) - np.asarray(y, float)) ** 2, weights=sample_weight))


def expected_calibration_error(y, p, n_bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of (bin share) * |mean p - observed rate|."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


def roc_auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def summary(y, p, *, n_bins: int = 10, p_true=None) -> dict[str, float]:
    """The headline metrics; with ``p_true`` also the oracle (Bayes) log loss and the ratio to it."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    predicted = p >= 0.5
    actual = y == 1
    out = {
        "n": float(len(y)),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p, n_bins),
        "roc_auc": roc_auc(y, p),
        "accuracy": float((predicted == actual).mean()) if len(y) else float("nan"),
        "mle_rate": float(y.mean()) if len(y) else float("nan"),
    }
    for role, positive, guess in (("mle", actual, predicted), ("swe", ~actual, ~predicted)):
        tp = float(np.sum(positive & guess))
        precision = tp / guess.sum() if guess.sum() else float("nan")
        recall = tp / positive.sum() if positive.sum() else float("nan")
        out[f"precision_{role}"] = precision
        out[f"recall_{role}"] = recall
        both = precision + recall
        out[f"f1_{role}"] = 2 * precision * recall / both if both and both == both else float("nan")
    recalls = [out["recall_mle"], out["recall_swe"]]
    out["balanced_accuracy"] = (
        float(np.nanmean(recalls)) if not all(r != r for r in recalls) else float("nan")
    )
    if p_true is not None:
        bayes = log_loss(y, p_true)
        out["bayes_log_loss"] = bayes
        out["log_loss_ratio_to_bayes"] = out["log_loss"] / bayes
    return out


# ---------------------------------------------------------------------------------------------------
# behaviour checks: minimum functionality, directional expectations, invariance


def behaviour_cases():
    """The behaviour suite: ``(kind, name, check)`` where ``check(predict)`` returns None or a failure.

    ``predict(answers) -> Prediction``. Used by the quality gate and by ``tests/model``.
    """
    from rolefit.questionnaire import load_instrument

    instrument = load_instrument()
    cases = []

    def minimum(name, answers, role, at_least):
        def check(predict):
            p = predict(answers)
            if p.role != role or p.probabilities[role] < at_least:
                return f"expected {role} with p >= {at_least}, got {p.role} {p.probabilities}"
            return None

        cases.append(("minimum", name, check))

    minimum("loves coding puzzles -> swe",
            {"interest_coding_puzzles": 5, "interest_building_products": 5, "interest_math": 1,
             "pref_fast_job_entry": 5}, "swe", 0.8)  # fmt: skip
    minimum("loves data patterns, maths, research, niche -> mle",
            {"interest_data_patterns": 5, "interest_math": 5, "interest_research": 5,
             "pref_niche_specialization": 5}, "mle", 0.8)  # fmt: skip

    def leans(name, answers, role):
        def check(predict):
            baseline = predict({}).probabilities[role]
            p = predict(answers).probabilities[role]
            return (
                None if p > baseline else f"expected p({role}) above the baseline {baseline:.3f}, got {p:.3f}"
            )

        cases.append(("minimum", name, check))

    leans("loves LeetCode-style puzzles leans swe", {"interest_coding_puzzles": 5}, "swe")
    leans("loves analysing data patterns leans mle", {"interest_data_patterns": 5}, "mle")
    leans("wants a job quickly leans swe", {"pref_fast_job_entry": 5}, "swe")
    leans("wants a specialised high-paying niche leans mle", {"pref_niche_specialization": 5}, "mle")
    for goal in ("software_architect", "engineering_manager"):
        leans(f"goal {goal} leans swe", {"career_goal": goal}, "swe")
    for goal in ("ai_researcher", "applied_scientist"):
        leans(f"goal {goal} leans mle", {"career_goal": goal}, "mle")
    architect = {"career_goal": "software_architect", "interest_system_design": 5, "skill_system_design": 5}
    minimum("architect goal with design interests -> swe", architect, "swe", 0.8)
    researcher = {
        "career_goal": "ai_researcher",
        "interest_research": 5,
        "interest_math": 5,
        "skill_ml_algorithms": 5,
    }
    minimum("researcher goal with research and maths -> mle", researcher, "mle", 0.8)
    swe_archetype = {
        i.id: (5 if i.lean == "swe" else 1)
        for i in instrument.items
        if i.kind == "scale" and i.lean != "none"
    }
    mle_archetype = {
        i.id: (5 if i.lean == "mle" else 1)
        for i in instrument.items
        if i.kind == "scale" and i.lean != "none"
    }
    minimum("archetype: every swe-lean item high, mle-lean low", swe_archetype, "swe", 0.95)
    minimum("archetype: every mle-lean item high, swe-lean low", mle_archetype, "mle", 0.95)

    base = {"interest_math": 3, "skill_dsa": 3, "pref_experimentation": 3, "years_coding": 4}
    for item in instrument.items:
        if item.lean == "none" or item.kind == "choice":
            continue
        lo, hi = item.bounds

        def directional(predict, item=item, lo=lo, hi=hi):
            low = predict({**base, item.id: lo}).probabilities["mle"]
            high = predict({**base, item.id: hi}).probabilities["mle"]
            ok = high >= low - 1e-12 if item.lean == "mle" else high <= low + 1e-12
            return None if ok else f"raising {item.id} moved p_mle from {low:.4f} to {high:.4f}"

        cases.append(("directional", f"raising {item.id} moves toward {item.lean}", directional))

    sample = {"interest_math": 4, "skill_dsa": 2, "career_goal": "cloud_engineer", "uses_python": 1}

    def same(predict, variant):
        a, b = predict(sample).to_dict(), predict(variant).to_dict()
        return None if a == b else f"output changed: {a['probabilities']} vs {b['probabilities']}"

    cases.append(
        ("invariance", "key order", lambda predict: same(predict, dict(reversed(list(sample.items())))))
    )
    cases.append(("invariance", '"4" vs 4', lambda predict: same(predict, {**sample, "interest_math": "4"})))
    cases.append(("invariance", "respondent_id metadata",
                  lambda predict: same(predict, {**sample, "respondent_id": "abc-123"})))  # fmt: skip
    demographics = {**sample, "gender": "Woman", "country": "Kenya"}
    cases.append(("invariance", "demographics are ignored", lambda predict: same(predict, demographics)))
    cases.append(("invariance", "choice label vs id",
                  lambda predict: same(predict, {**sample, "career_goal": "Cloud engineer"})))  # fmt: skip
    skipped = {**sample, "skill_python": None, "education": ""}
    cases.append(("invariance", "skipped answers as None", lambda predict: same(predict, skipped)))
    return cases


def run_behaviour(predict) -> list[dict[str, str]]:
    """Run the whole suite; returns one record per case with its verdict."""
    results = []
    for kind, name, check in behaviour_cases():
        try:
            failure = check(predict)
        except Exception as exc:  # a crash is a failed case, reported with its cause
            failure = f"{type(exc).__name__}: {exc}"
        results.append({"kind": kind, "name": name, "passed": failure is None, "detail": failure or ""})
    return results


# ---------------------------------------------------------------------------------------------------
# curves and plots


def reliability_curve(y, p, n_bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin: mean predicted probability, observed MLE rate and count."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            rows.append({"bin": b, "predicted": float(p[mask].mean()), "observed": float(y[mask].mean()),
                         "count": int(mask.sum())})  # fmt: skip
    return rows


def curves(y, p) -> dict[str, list[dict[str, float]]]:
    """ROC and precision-recall points (thinned to at most ~200 each) for plots."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)

    def thin(xs, ys, xname, yname):
        step = max(1, len(xs) // 200)
        idx = sorted(set(range(0, len(xs), step)) | {len(xs) - 1})
        return [{xname: float(xs[i]), yname: float(ys[i])} for i in idx]

    return {
        "roc": thin(fpr, tpr, "fpr", "tpr"),
        "precision_recall": thin(recall, precision, "recall", "precision"),
    }


def confusion(y, p) -> list[dict[str, Any]]:
    """Actual vs predicted role pairs (one row per respondent) for DVC's confusion template."""
    actual = np.where(np.asarray(y) == 1, "mle", "swe")
    predicted = np.where(np.asarray(p) >= 0.5, "mle", "swe")
    return [{"actual": a, "predicted": b} for a, b in zip(actual, predicted, strict=True)]


def save_figures(y, p, importance: dict[str, float], out_dir, n_bins: int = 10) -> dict[str, Any]:
    """Reliability diagram, ROC, precision-recall, confusion matrix and global importance as PNG."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    reliability = reliability_curve(y, p, n_bins)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.plot([r["predicted"] for r in reliability], [r["observed"] for r in reliability], marker="o")
    ax.set(xlabel="predicted P(MLE)", ylabel="observed MLE share", title="Reliability (test split)")
    paths["reliability"] = out_dir / "reliability.png"
    fig.savefig(paths["reliability"], dpi=110, bbox_inches="tight")
    plt.close(fig)
    c = curves(y, p)
    axes = {"roc": ("fpr", "tpr", "ROC"), "precision_recall": ("recall", "precision", "Precision-recall")}
    for key, (xname, yname, title) in axes.items():
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([r[xname] for r in c[key]], [r[yname] for r in c[key]])
        ax.set(xlabel=xname, ylabel=yname, title=f"{title} (test split)")
        paths[key] = out_dir / f"{key}.png"
        fig.savefig(paths[key], dpi=110, bbox_inches="tight")
        plt.close(fig)
    actual = np.asarray(y) == 1
    predicted = np.asarray(p) >= 0.5
    matrix = np.array([[np.sum(~actual & ~predicted), np.sum(~actual & predicted)],
                       [np.sum(actual & ~predicted), np.sum(actual & predicted)]])  # fmt: skip
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["swe", "mle"], yticklabels=["swe", "mle"],
           xlabel="predicted", ylabel="actual", title="Confusion matrix (test split)")  # fmt: skip
    paths["confusion_matrix"] = out_dir / "confusion_matrix.png"
    fig.savefig(paths["confusion_matrix"], dpi=110, bbox_inches="tight")
    plt.close(fig)
    top = sorted(importance.items(), key=lambda kv: kv[1])[-20:]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh([k for k, _ in top], [v for _, v in top])
    ax.set(xlabel="mean |effect| (log-odds)", title="Global importance (test split)")
    paths["importance"] = out_dir / "importance.png"
    fig.savefig(paths["importance"], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths


# ---------------------------------------------------------------------------------------------------
# the evaluate stage: reports, plot data, figures and the model card


def evaluate_bundle(bundle_dir, frame, params) -> dict[str, Any]:
    """Score the test split with the exported bundle (as apps do) and compute every report.

    Returns ``{"metrics": {group: summary}, "y": ..., "p": ..., "importance": {...}, "behaviour": [...]}``.
    """
    from rolefit.predict import predict, predict_many
    from rolefit.questionnaire import load_instrument

    instrument = load_instrument()
    test = frame[frame["split"] == "test"] if "split" in frame.columns else frame
    items = [c for c in instrument.ids if c in test.columns]
    scored = predict_many(test[items], model=bundle_dir, top_k=0)
    y = (test["role"].to_numpy() == "mle").astype(int)
    p = scored["p_mle"].to_numpy()
    n_bins = params.evaluate.ece_bins
    metrics = {"test/all": summary(y, p, n_bins=n_bins)}
    for source in sorted(test["source"].unique()):
        mask = (test["source"] == source).to_numpy()
        p_true = test["p_true"].to_numpy()[mask] if source == "synthetic" and "p_true" in test else None
        metrics[f"test/{source}"] = summary(y[mask], p[mask], n_bins=n_bins, p_true=p_true)
    from rolefit.predict import load_model

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
    for name, mask in slices(test).items():
        metrics[f"test/slice/{name}"] = summary(y[mask], p[mask], n_bins=n_bins)
    groups = [("test/all", np.ones(len(y), bool))] + [
        (f"test/{s}", (test["source"] == s).to_numpy()) for s in sorted(test["source"].unique())
    ]
    intervals = {
        group: bootstrap_intervals(
            y[mask], p[mask], n_bins=n_bins, n_boot=params.evaluate.bootstrap, seed=params.evaluate.seed
        )
        for group, mask in groups
    }
    calibration_checks = {
        group: calibration_check(
            y[mask], p[mask], n_bins=n_bins, n_sim=params.evaluate.bootstrap, seed=params.evaluate.seed
        )
        for group, mask in groups
    }
    uncertainty = {}
    if additive.conformal is not None:
        from rolefit.models import answered_mask
        from rolefit.uncertainty import coverage

        answered = answered_mask(test[items], tuple(items)).sum(axis=1)
        uncertainty["test/all"] = coverage(y, p, additive.conformal, answered)
        for source in sorted(test["source"].unique()):
            mask = (test["source"] == source).to_numpy()
            uncertainty[f"test/{source}"] = coverage(y[mask], p[mask], additive.conformal, answered[mask])
        uncertainty["level"] = additive.conformal.level
    fairness = fairness_audit(test, y, p, params)
    real = real_evidence_report(frame, test, y, p, additive, params, bundle_dir)
    metrics.update(real.pop("metrics"))
    intervals.update(real.pop("intervals"))
    calibration_checks.update(real.pop("calibration_checks"))
    return {
        "real": real,
        "metrics": metrics,
        "intervals": intervals,
        "calibration_checks": calibration_checks,
        "uncertainty": uncertainty,
        "fairness": fairness,
        "y": y,
        "p": p,
        "sources": test["source"].astype(str).to_numpy(),
        "importance": importance,
        "behaviour": behaviour,
    }


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _shift(p: np.ndarray, delta: float) -> np.ndarray:
    """Probabilities with their log-odds moved by ``delta``."""
    p = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-15)
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + delta)))


def paired_differences(
    y, p_a, p_b, *, n_bins: int = 10, n_boot: int = 200, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Champion minus baseline on the same respondents, with paired bootstrap 95% intervals.

    For log loss and ECE a negative difference favours ``p_a``; for ROC AUC a positive one.
    """
    rng = np.random.default_rng(seed)
    y, p_a, p_b = np.asarray(y), np.asarray(p_a, float), np.asarray(p_b, float)
    metrics = {
        "log_loss": lambda yy, pp: log_loss(yy, pp),
        "ece": lambda yy, pp: expected_calibration_error(yy, pp, n_bins),
        "roc_auc": roc_auc,
    }
    out = {}
    for name, metric in metrics.items():
        observed = metric(y, p_a) - metric(y, p_b)
        draws = []
        for _ in range(n_boot if len(y) > 1 else 0):
            index = rng.integers(0, len(y), len(y))
            draws.append(metric(y[index], p_a[index]) - metric(y[index], p_b[index]))
        low, high = np.nanpercentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
        out[name] = {"difference": float(observed), "low": float(low), "high": float(high)}
    return out


def real_evidence_report(frame, test, y, p, additive, params, bundle_dir) -> dict[str, Any]:
    """The champion beside the plain baseline on every real source, under both base rates.

    The baseline (:class:`rolefit.evidence.PlainBaseline`) is fitted on the non-test rows of the real
    training sources with the items the champion learned from real data. Every real source is scored
    under the model's reference base rate and under its *own* base rate (the MLE share of its non-test
    rows), which moves the log-odds of both models by the same amount.
    """
    from rolefit.dataset import labels, real_sources
    from rolefit.evidence import PlainBaseline

    n_bins, n_boot, seed = params.evaluate.ece_bins, params.evaluate.bootstrap, params.evaluate.seed
    split = frame["split"] if "split" in frame.columns else None
    real_items = [item for item, e in additive.evidence.items() if e.get("basis") == "real"]
    training = real_sources(params, frame, "train")
    evaluated = real_sources(params, frame, "evaluate")
    reference_rate = (
        additive.base_rate if additive.base_rate is not None else 1 / (1 + np.exp(-additive.intercept))
    )
    out: dict[str, Any] = {
        "training_sources": training,
        "evaluation_sources": evaluated,
        "reference_base_rate": float(reference_rate),
        "baseline": None,
        "own_base_rates": {},
        "differences": {},
        "metrics": {},
        "intervals": {},
        "calibration_checks": {},
    }
    baseline = None
    if real_items and training and split is not None:
        fit_rows = frame[frame["source"].isin(training).to_numpy() & (split != "test").to_numpy()]
        from rolefit.dataset import mle_shares, sample_weights

        weights = sample_weights(fit_rows, params.build, mle_shares(frame))
        baseline = PlainBaseline(items=tuple(real_items), seed=seed).fit(fit_rows, labels(fit_rows), weights)
        out["baseline"] = {
            "model": "one-hot logistic regression + sigmoid calibration (5-fold)",
            "items": real_items,
            "rows": len(fit_rows),
        }
    for source in [*training, *evaluated]:
        mask = (test["source"] == source).to_numpy()
        if not mask.any():
            continue
        ys, ps = y[mask], p[mask]
        source_rows = frame[frame["source"] == source]
        if split is not None:
            source_rows = source_rows[source_rows["split"] != "test"]
        own = float(np.clip((source_rows["role"] == "mle").mean(), 1e-3, 1 - 1e-3))
        delta = _logit(own) - _logit(reference_rate)
        out["own_base_rates"][source] = own
        p_own = _shift(ps, delta)
        group = f"test/{source}/own_base_rate"
        out["metrics"][group] = summary(ys, p_own, n_bins=n_bins)
        out["intervals"][group] = bootstrap_intervals(ys, p_own, n_bins=n_bins, n_boot=n_boot, seed=seed)
        out["calibration_checks"][group] = calibration_check(
            ys, p_own, n_bins=n_bins, n_sim=n_boot, seed=seed
        )
        if baseline is None:
            continue
        pb = baseline.predict_proba(test.loc[mask])[:, 1]
        for suffix, champion, base in (("", ps, pb), ("/own_base_rate", p_own, _shift(pb, delta))):
            key = f"baseline/{source}{suffix}"
            out["metrics"][key] = summary(ys, base, n_bins=n_bins)
            out["intervals"][key] = bootstrap_intervals(ys, base, n_bins=n_bins, n_boot=n_boot, seed=seed)
            out["differences"][f"{source}{suffix}"] = paired_differences(
                ys, champion, base, n_bins=n_bins, n_boot=n_boot, seed=seed
            )
    return out


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
        from rolefit.drift import YEARS_BANDS

        years = test["years_coding"].to_numpy(dtype=float)
        for low, high, label in YEARS_BANDS:
            mask = (years >= low) & (years < high)
            if mask.sum() >= 30:
                out[f"years_coding={label}"] = mask
    for role in ("swe", "mle"):
        out[f"role={role}"] = test["role"].to_numpy() == role
    return out


def calibration_check(y, p, *, n_bins: int = 10, n_sim: int = 200, seed: int = 0) -> dict[str, float]:
    """How the observed ECE compares with the ECE a perfectly calibrated model would show by chance.

    ECE is biased upwards on small samples: even labels drawn from the predicted probabilities
    themselves give a positive ECE. Labels are drawn ``n_sim`` times from ``p`` and scored like the real
    ones. Returns the observed ``ece``, the median (``ece_if_calibrated``) and 95th percentile
    (``ece_if_calibrated_95``) of those draws, and ``p_value``: the share of draws with an ECE at least
    the observed one (small values mean miscalibration beyond chance).
    """
    rng = np.random.default_rng(seed)
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    observed = expected_calibration_error(y, p, n_bins)
    if len(y) == 0:
        nan = float("nan")
        return {"ece": nan, "ece_if_calibrated": nan, "ece_if_calibrated_95": nan, "p_value": nan}
    draws = np.array(
        [expected_calibration_error((rng.random(len(p)) < p).astype(float), p, n_bins) for _ in range(n_sim)]
    )
    return {
        "ece": observed,
        "ece_if_calibrated": float(np.median(draws)),
        "ece_if_calibrated_95": float(np.percentile(draws, 95)),
        "p_value": float((1 + np.sum(draws >= observed)) / (1 + n_sim)),
    }


def bootstrap_intervals(
    y, p, *, n_bins: int = 10, n_boot: int = 200, seed: int = 0
) -> dict[str, list[float]]:
    """Percentile 95% intervals of ROC AUC, log loss and ECE over ``n_boot`` resamples of respondents."""
    rng = np.random.default_rng(seed)
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    draws: dict[str, list[float]] = {"roc_auc": [], "log_loss": [], "ece": []}
    if len(y) < 2:
        return {k: [float("nan"), float("nan")] for k in draws}
    for _ in range(n_boot):
        index = rng.integers(0, len(y), len(y))
        yb, pb = y[index], p[index]
        draws["roc_auc"].append(roc_auc(yb, pb))
        draws["log_loss"].append(log_loss(yb, pb))
        draws["ece"].append(expected_calibration_error(yb, pb, n_bins))
    return {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] for k, v in draws.items()}


COUNTRY_GROUPS = {
    "India": "India",
    "United States of America": "United States",
    "United States": "United States",
    "Japan": "East Asia",
    "China": "East Asia",
    "South Korea": "East Asia",
    "Republic of Korea": "East Asia",
    "Taiwan": "East Asia",
    "Nigeria": "Africa",
    "Egypt": "Africa",
    "Kenya": "Africa",
    "South Africa": "Africa",
    "Ghana": "Africa",
    "Morocco": "Africa",
    "Tunisia": "Africa",
    "Ethiopia": "Africa",
    "Brazil": "Latin America",
    "Mexico": "Latin America",
    "Colombia": "Latin America",
    "Argentina": "Latin America",
    "Peru": "Latin America",
    "Chile": "Latin America",
}
EUROPE = {
    "United Kingdom of Great Britain and Northern Ireland", "United Kingdom", "Germany", "France", "Spain",
    "Italy", "Russia", "Russian Federation", "Poland", "Netherlands", "Ukraine", "Turkey", "Portugal",
    "Sweden", "Switzerland", "Belgium", "Greece", "Romania", "Austria", "Ireland", "Denmark", "Norway",
    "Finland", "Czech Republic", "Hungary", "Belarus",
}  # fmt: skip


def country_group(country) -> str | None:
    if country is None or (isinstance(country, float) and np.isnan(country)) or country in ("", "nan"):
        return None
    if country in EUROPE:
        return "Europe"
    return COUNTRY_GROUPS.get(str(country), "Other")


def gender_group(gender) -> str | None:
    if gender is None or (isinstance(gender, float) and np.isnan(gender)) or gender in ("", "nan"):
        return None
    text = str(gender)
    if text in ("Man", "Male"):
        return "man"
    if text in ("Woman", "Female"):
        return "woman"
    if text.startswith("Prefer not"):
        return None
    return "another gender"


def fairness_audit(test, y, p, params) -> dict[str, Any]:
    """Group rates and calibration of the model on real respondents (demographics are never inputs).

    Per group of gender and of country: the share given an ``mle`` verdict, observed MLE share, mean
    predicted probability, ECE, true- and false-positive rates. Across groups: the demographic parity
    ratio (smallest / largest verdict rate; the four-fifths rule flags < 0.8) and the equalised-odds
    difference (largest gap in TPR or FPR). Groups with fewer than ``evaluate.fairness_min_group``
    respondents are not compared.
    """
    real = (test["source"] != "synthetic").to_numpy()
    predicted = p >= 0.5
    out: dict[str, Any] = {"respondents": int(real.sum())}
    for attribute, grouping in (("gender", gender_group), ("country", country_group)):
        if attribute not in test.columns:
            continue
        labels = np.array([grouping(v) for v in test[attribute].tolist()], dtype=object)
        groups = {}
        for group in sorted({g for g in labels[real] if g is not None}):
            mask = real & (labels == group)
            if mask.sum() < params.evaluate.fairness_min_group:
                continue
            yt, pt, pr = y[mask], p[mask], predicted[mask]
            groups[group] = {
                "n": int(mask.sum()),
                "mle_verdict_rate": float(pr.mean()),
                "observed_mle_rate": float(yt.mean()),
                "mean_p_mle": float(pt.mean()),
                "ece": expected_calibration_error(yt, pt, params.evaluate.ece_bins),
                "tpr": float(pr[yt == 1].mean()) if (yt == 1).any() else float("nan"),
                "fpr": float(pr[yt == 0].mean()) if (yt == 0).any() else float("nan"),
            }
        rates = [g["mle_verdict_rate"] for g in groups.values()]
        tprs = [g["tpr"] for g in groups.values() if g["tpr"] == g["tpr"]]
        fprs = [g["fpr"] for g in groups.values() if g["fpr"] == g["fpr"]]
        ratio = min(rates) / max(rates) if rates and max(rates) > 0 else float("nan")
        out[attribute] = {
            "groups": groups,
            "demographic_parity_ratio": ratio,
            "equalized_odds_difference": max(
                (max(tprs) - min(tprs)) if tprs else 0.0, (max(fprs) - min(fprs)) if fprs else 0.0
            ),
            "four_fifths_rule": "flagged" if ratio == ratio and ratio < 0.8 else "passes",
        }
    return out


def pd_series_effects(values, table, item) -> np.ndarray:
    """Raw table effects of a column of answers (choices by id, numbers as floats)."""
    return np.array([table.effect(item.coerce(v)) for v in values.tolist()], dtype=float)


def metrics_summary(evaluation: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The short ``metrics.json`` DVC compares across commits and experiments.

    Per source of the test split (and ``all``): n, ROC AUC, log loss, ECE, Brier and prediction-set
    coverage; for real sources also the plain baseline's log loss, ECE and ROC AUC and the ECE under the
    source's own base rate. Everything else is in ``evaluation.json``.
    """
    metrics, sets = evaluation["metrics"], evaluation.get("uncertainty") or {}
    out: dict[str, dict[str, float]] = {}
    for key, values in metrics.items():
        parts = key.split("/")
        if len(parts) != 2 or parts[0] != "test":
            continue
        source = parts[1]
        entry = {name: float(values[name]) for name in ("n", "roc_auc", "log_loss", "ece", "brier")}
        if f"test/{source}" in sets:
            entry["coverage"] = float(sets[f"test/{source}"]["coverage"])
        baseline = metrics.get(f"baseline/{source}")
        if baseline is not None:
            entry.update(
                {f"baseline_{name}": float(baseline[name]) for name in ("log_loss", "ece", "roc_auc")}
            )
        own = metrics.get(f"test/{source}/own_base_rate")
        if own is not None:
            entry["own_base_rate_ece"] = float(own["ece"])
        out[source] = entry
    return out


def write_reports(evaluation: dict[str, Any], out_dir, manifest: dict[str, Any], params) -> dict[str, Any]:
    """``metrics.json`` (the short summary DVC compares, :func:`metrics_summary`), ``evaluation.json``
    (every metric, interval and check), plot data for ``dvc plots`` (``plots/*.csv``, per source in
    ``plots/roc/`` and ``plots/reliability/``), PNG figures, ``evaluation.md`` and the model card."""
    import csv
    import json
    from pathlib import Path

    from rolefit import atomic
    from rolefit.csvsafe import neutralise

    out_dir = Path(out_dir)
    plots = out_dir / "plots"
    figures = out_dir / "figures"
    plots.mkdir(parents=True, exist_ok=True)
    y, p = evaluation["y"], evaluation["p"]
    behaviour = evaluation["behaviour"]
    metrics = {
        "model_version": manifest["model_version"],
        "candidate": manifest["candidate"],
        "calibration": manifest["calibration"],
        **{key: {k: float(v) for k, v in values.items()} for key, values in evaluation["metrics"].items()},
        "intervals_95": evaluation["intervals"],
        "calibration_checks": evaluation["calibration_checks"],
        "prediction_sets": evaluation["uncertainty"],
        "fairness": evaluation["fairness"],
        "behaviour": {"cases": len(behaviour), "passed": sum(b["passed"] for b in behaviour)},
        "real_evidence": evaluation.get("real", {}),
    }
    paths = {"report": out_dir / "evaluation.json", "metrics": out_dir / "metrics.json"}
    atomic.write_text(paths["report"], json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    summary = json.dumps(metrics_summary(evaluation), indent=2, sort_keys=True) + "\n"
    atomic.write_text(paths["metrics"], summary)

    def write_csv(name, rows, fields):
        path = plots / f"{name}.csv"
        with atomic.staged(path) as tmp, tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
        paths[f"plot_{name}"] = path

    c = curves(y, p)
    write_csv("roc", c["roc"], ["fpr", "tpr"])
    write_csv("precision_recall", c["precision_recall"], ["recall", "precision"])
    write_csv(
        "reliability", reliability_curve(y, p, params.evaluate.ece_bins), ["predicted", "observed", "count"]
    )
    write_csv("confusion", confusion(y, p), ["actual", "predicted"])
    # one ROC and one reliability curve per source (DVC draws every file of these folders)
    sources = evaluation.get("sources")
    for kind in ("roc", "reliability"):
        folder = plots / kind
        if folder.exists():
            for old in folder.glob("*.csv"):
                old.unlink()
        folder.mkdir(exist_ok=True)
    if sources is not None:
        for source in sorted(set(sources.tolist())):
            mask = sources == source
            if len(np.unique(y[mask])) < 2:
                continue
            write_csv(f"roc/{source}", curves(y[mask], p[mask])["roc"], ["fpr", "tpr"])
            rows = reliability_curve(y[mask], p[mask], params.evaluate.ece_bins)
            write_csv(f"reliability/{source}", rows, ["predicted", "observed", "count"])
    paths.update({f"figure_{k}": v for k, v in save_figures(y, p, evaluation["importance"], figures).items()})
    paths["model_card"] = out_dir / "model_card.md"
    atomic.write_text(paths["model_card"], model_card(metrics, manifest, evaluation))
    paths["evaluation"] = out_dir / "evaluation.md"
    atomic.write_text(paths["evaluation"], evaluation_report(evaluation, manifest))
    return paths


def _metrics_table(evaluation: dict[str, Any], prefix: str = "test/") -> list[str]:
    lines = [
        "| group | n | ROC AUC (95% CI) | log loss (95% CI) | ECE (95% CI) | Brier | accuracy "
        "| balanced acc. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, values in evaluation["metrics"].items():
        if not key.startswith(prefix) or key.startswith("test/slice/"):
            continue
        ci = evaluation["intervals"].get(key)

        def fmt(name, digits, ci=ci, values=values):
            text = f"{values[name]:.{digits}f}"
            return text + (f" ({ci[name][0]:.{digits}f}–{ci[name][1]:.{digits}f})" if ci else "")

        lines.append(
            f"| {key[len(prefix) :]} | {int(values['n']):,} | {fmt('roc_auc', 3)} | {fmt('log_loss', 4)} | "
            f"{fmt('ece', 4)} | {values['brier']:.4f} | {values['accuracy']:.3f} | "
            f"{values['balanced_accuracy']:.3f} |"
        )
    return lines


def _compared_rates(real: dict[str, Any], own: float) -> list[tuple[str, float]]:
    """``(metric key suffix, base rate)`` a source is reported under: the reference one, and its own
    when that differs (by half a point or more)."""
    rates = [("", real["reference_base_rate"])]
    if abs(own - real["reference_base_rate"]) >= 0.005:
        rates.append(("/own_base_rate", own))
    return rates


def _baseline_tables(evaluation: dict[str, Any]) -> list[str]:
    """Champion beside the plain baseline per real source, under both base rates."""
    real = evaluation.get("real") or {}
    if not real.get("baseline"):
        return ["No real training respondents: no baseline to compare with."]
    metrics, intervals = evaluation["metrics"], evaluation["intervals"]
    base = real["baseline"]
    lines = [
        f"Plain baseline: {base['model']} on the same {base['rows']:,} real training rows and "
        f"{len(base['items'])} items. Differences are champion minus baseline with paired bootstrap 95% "
        "intervals (negative log loss and ECE differences favour the champion).",
        "",
        "| source | base rate | model | n | log loss (95% CI) | ECE (95% CI) | ROC AUC (95% CI) |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(key, name, digits):
        value, ci = metrics[key][name], intervals.get(key, {}).get(name)
        return f"{value:.{digits}f}" + (f" ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})" if ci else "")

    for source, own in real["own_base_rates"].items():
        for suffix, rate in _compared_rates(real, own):
            champion_key = f"test/{source}{suffix}"
            baseline_key = f"baseline/{source}{suffix}"
            if champion_key not in metrics or baseline_key not in metrics:
                continue
            for label, key in (("champion", champion_key), ("baseline", baseline_key)):
                lines.append(
                    f"| {source} | {rate:.3f} | {label} | {int(metrics[key]['n']):,} "
                    f"| {cell(key, 'log_loss', 4)} | {cell(key, 'ece', 4)} | {cell(key, 'roc_auc', 3)} |"
                )
            d = real["differences"][f"{source}{suffix}"]
            lines.append(
                f"| {source} | {rate:.3f} | difference | | {d['log_loss']['difference']:+.4f} "
                f"({d['log_loss']['low']:+.4f}–{d['log_loss']['high']:+.4f}) | {d['ece']['difference']:+.4f} "
                f"({d['ece']['low']:+.4f}–{d['ece']['high']:+.4f}) | {d['roc_auc']['difference']:+.3f} "
                f"({d['roc_auc']['low']:+.3f}–{d['roc_auc']['high']:+.3f}) |"
            )
    return lines


def baseline_summary(evaluation: dict[str, Any]) -> list[str]:
    """Short lines for a terminal: the champion beside the plain baseline on every real source."""
    real = evaluation.get("real") or {}
    metrics = evaluation["metrics"]
    lines = []
    for source, own in real.get("own_base_rates", {}).items():
        for suffix, rate in _compared_rates(real, own):
            champion = metrics.get(f"test/{source}{suffix}")
            baseline = metrics.get(f"baseline/{source}{suffix}")
            if champion is None:
                continue
            line = (
                f"  {source} (base rate {rate:.2f}): champion log loss {champion['log_loss']:.4f} "
                f"ECE {champion['ece']:.4f} ROC AUC {champion['roc_auc']:.4f}"
            )
            if baseline is not None:
                line += (
                    f" | plain baseline {baseline['log_loss']:.4f} / {baseline['ece']:.4f} / "
                    f"{baseline['roc_auc']:.4f}"
                )
            lines.append(line)
    return ["real respondents, test split (champion | plain baseline: log loss / ECE / ROC AUC):", *lines]


def _evidence_section(manifest: dict[str, Any]) -> list[str]:
    """What each effect rests on, in plain words, with every real effect's bootstrap interval."""
    real = manifest.get("real_evidence") or {}
    measured = real.get("measured_items") or {}
    lines = [
        "Each answer's effect rests on one of two kinds of evidence, shown with every reason:",
        "",
        "- **Real respondents** decide the effects of the items a real survey asked "
        f"({', '.join(real.get('training_sources', [])) or 'none present'}). Those effects are fitted on "
        "real rows only, smoothed across neighbouring answer levels (an L2 penalty on the steps chosen by "
        "cross-validation), and calibrated by cross-fitting, so every real respondent is used both to fit "
        "and to calibrate.",
        "- **The synthetic prior** (assumed, not yet measured on real people) gives the effects of what no "
        "real source asked: interests, skills, preferences and the career goal. They come from the "
        "latent-trait model in `rolefit.synthetic`, built from two career guides.",
        "- The two add up under one assumption: given the role, experience answers and the other answers "
        "are independent (the generator makes them so; no real source asked both kinds of question, so it "
        "cannot be checked yet).",
        f"- Probabilities refer to a population whose MLE share is {real.get('base_rate', float('nan')):.2f} "
        "(the reference survey's mix); callers can pass their own `base_rate`.",
    ]
    if "candidate" in real:
        alpha = f", penalty alpha {real['alpha']:g}" if real.get("alpha") is not None else ""
        lines += [
            f"- Real block: {real['candidate']}{alpha} on {real['rows']:,} real rows; cross-fitted "
            f"calibration slope {real['a']:.3f}; out-of-fold log loss {real['out_of_fold_log_loss']:.4f}.",
        ]
    if measured:
        lines += ["", "| item | real respondents | sources |", "|---|---|---|"]
        lines += [
            f"| {item} | {sum(counts.values()):,} | {', '.join(counts)} |"
            for item, counts in measured.items()
        ]
    effects = real.get("effects") or []
    shapes = _numeric_shapes(effects)
    if shapes:
        lines += [
            "",
            "Shapes of the numeric items (each decided by the data within the instrument's lean):",
            "",
        ]
        lines += shapes
    if effects:
        lines += [
            "",
            "Every answer level real respondents gave and its effect in log-odds toward MLE (0 = no effect), "
            "with a 95% bootstrap interval from refitting on resampled respondents: *with all* the real "
            "block's questions answered (the partial effect) and *alone* (the only one answered). In "
            "between, an answer's effect moves from the second to the first as more are answered.",
            "",
            "| item | answer | respondents | effect with all (95% interval) | effect alone (95% interval) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {e['item']} | {e['answer']} | {e['respondents']:,} | {e['effect']:+.3f} "
            f"({e['low']:+.3f} to {e['high']:+.3f}) | {e['effect_alone']:+.3f} "
            f"({e['low_alone']:+.3f} to {e['high_alone']:+.3f}) |"
            for e in effects
        ]
    return lines


def _numeric_shapes(effects: list[dict[str, Any]]) -> list[str]:
    """One line per numeric item of the real block: its lean, the constraint and what the data show."""
    from rolefit.questionnaire import load_instrument

    instrument = load_instrument()
    lines = []
    for item in dict.fromkeys(e["item"] for e in effects):
        if item not in instrument or instrument[item].kind not in ("number", "count"):
            continue
        levels = sorted((float(e["answer"]), e["effect"]) for e in effects if e["item"] == item)
        steps = np.diff([effect for _, effect in levels])
        lean = instrument[item].lean
        if np.all(steps <= 1e-9):
            shown = "falls steadily toward SWE as the answer grows"
        elif np.all(steps >= -1e-9):
            shown = "rises steadily toward MLE as the answer grows"
        else:
            shown = (
                f"is not monotone ({int(np.sum(np.diff(np.sign(steps[np.abs(steps) > 1e-9])) != 0))} turns)"
            )
        constraint = (
            f"monotone toward {lean.upper()} (the instrument's lean)"
            if lean != "none"
            else "a smooth shape with no direction imposed (the instrument gives no lean)"
        )
        lines.append(
            f"- `{item}`: fitted as {constraint}; from {levels[0][0]:g} to {levels[-1][0]:g} the effect "
            f"{shown}, from {levels[0][1]:+.2f} to {levels[-1][1]:+.2f} log-odds."
        )
    return lines


def _fairness_tables(fairness: dict[str, Any]) -> list[str]:
    lines = [f"Real respondents in the test split: {fairness.get('respondents', 0):,}.", ""]
    for attribute in ("gender", "country"):
        audit = fairness.get(attribute)
        if not audit or not audit["groups"]:
            continue
        lines += [
            f"**By {attribute}** — demographic parity ratio {audit['demographic_parity_ratio']:.3f} "
            f"(four-fifths rule: {audit['four_fifths_rule']}), equalised-odds difference "
            f"{audit['equalized_odds_difference']:.3f}.",
            "",
            "| group | n | MLE verdicts | observed MLE | mean p(MLE) | ECE | TPR | FPR |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for group, g in audit["groups"].items():
            lines.append(
                f"| {group} | {g['n']:,} | {g['mle_verdict_rate']:.3f} | {g['observed_mle_rate']:.3f} | "
                f"{g['mean_p_mle']:.3f} | {g['ece']:.3f} | {g['tpr']:.3f} | {g['fpr']:.3f} |"
            )
        lines.append("")
    return lines


def evaluation_report(evaluation: dict[str, Any], manifest: dict[str, Any]) -> str:
    """``reports/evaluation.md``: every metric with intervals, slices, prediction sets, fairness."""
    lines = [f"# Evaluation of {manifest['model_version']}", "", "## Test split, overall and per source", ""]
    lines += _metrics_table(evaluation)
    synthetic = evaluation["metrics"].get("test/synthetic", {})
    if "bayes_log_loss" in synthetic:
        gap = synthetic["log_loss"] - synthetic["bayes_log_loss"]
        ratio = synthetic["log_loss_ratio_to_bayes"]
        lines += ["", f"Synthetic respondents: Bayes log loss {synthetic['bayes_log_loss']:.4f}; "
                  f"the model is {gap:.4f} nats ({ratio:.3f}×) above it."]  # fmt: skip
    checks = _calibration_check_table(evaluation["calibration_checks"])
    lines += ["", "## Against the plain baseline (real respondents)", "", *_baseline_tables(evaluation)]
    lines += ["", "## Calibration beyond chance", "", *checks]
    lines += ["", "## Slices", "",
              "| slice | n | ROC AUC | log loss | ECE | accuracy | recall MLE | recall SWE |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for key, v in evaluation["metrics"].items():
        if key.startswith("test/slice/"):
            lines.append(
                f"| {key[11:]} | {int(v['n']):,} | {v['roc_auc']:.3f} | {v['log_loss']:.4f} | "
                f"{v['ece']:.4f} | {v['accuracy']:.3f} | {v['recall_mle']:.3f} | {v['recall_swe']:.3f} |"
            )
    sets = evaluation["uncertainty"]
    if sets:
        lines += ["", f"## Prediction sets (split conformal, target coverage {sets['level']:.0%})", "",
                  "| group | coverage | coverage SWE | coverage MLE | mean set size | both roles |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for key, c in sets.items():
            if key == "level":
                continue
            lines.append(
                f"| {key[5:]} | {c['coverage']:.3f} | {c['coverage_swe']:.3f} | {c['coverage_mle']:.3f} | "
                f"{c['mean_set_size']:.2f} | {c['both_share']:.3f} |"
            )
    lines += ["", "## Fairness audit", "", *_fairness_tables(evaluation["fairness"])]
    behaviour = evaluation["behaviour"]
    lines += ["## Behaviour checks", "", "| kind | case | result |", "|---|---|---|"]
    lines += [
        f"| {b['kind']} | {b['name']} | {'pass' if b['passed'] else 'FAIL: ' + b['detail']} |"
        for b in behaviour
    ]
    return "\n".join(lines) + "\n"


def _calibration_check_table(checks: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        "ECE is positive even for a perfectly calibrated model on a finite sample. Labels drawn from the",
        "model's own probabilities show what chance alone gives; a small p-value means the observed ECE",
        "is more than that.",
        "",
        "| group | ECE | ECE if perfectly calibrated (median, 95th pct.) | p-value |",
        "|---|---|---|---|",
    ]
    for key, c in checks.items():
        lines.append(
            f"| {key[5:]} | {c['ece']:.4f} | {c['ece_if_calibrated']:.4f}, {c['ece_if_calibrated_95']:.4f} | "
            f"{c['p_value']:.3f} |"
        )
    return lines


def model_card(metrics: dict[str, Any], manifest: dict[str, Any], evaluation: dict[str, Any]) -> str:
    """A model card in Markdown: intended use, data, metrics, behaviour, limitations."""
    rows = manifest["training_data"]["rows"]
    lines = [
        f"# rolefit model card — {manifest['model_version']}",
        "",
        "## Intended use",
        "Career **exploration**: helping a person see how their interests, skills, preferences and",
        "experience resemble software engineers (SWE) or machine learning engineers (MLE).",
        "**Not for screening**: it must not be used to rank, select or reject job applicants or employees.",
        "",
        "## Model",
        f"- Champion: {manifest['candidate']} with {manifest['calibration']} calibration "
        f"(instrument v{manifest['instrument']['version']}).",
        "- Additive in log-odds and monotone in each item's lean; explanations are exact per-item effects.",
        "",
        "## Data",
        f"- Training data sha256 `{manifest['training_data']['sha256'][:16]}…`, {rows['total']:,} rows.",
        *[f"- {source}: {count:,} rows" for source, count in rows["by_source"].items()],
        "- Synthetic respondents come from a latent-trait model whose experience answers follow the",
        "  Kaggle 2021 survey's training split (role-conditional rates and latent-class profiles);",
        "  real respondents from Kaggle ML & DS Survey 2021 (CC BY 2.0) and Stack Overflow 2017 (ODbL 1.0).",
        "- Demographics are never model inputs.",
        "",
        "## Metrics (test split, 95% bootstrap intervals)",
        "",
        *_metrics_table(evaluation),
    ]
    synthetic = evaluation["metrics"].get("test/synthetic")
    if synthetic and "bayes_log_loss" in synthetic:
        lines.append("")
        lines.append(
            f"On synthetic respondents the log loss is {synthetic['log_loss_ratio_to_bayes']:.3f} × the "
            f"Bayes log loss ({synthetic['bayes_log_loss']:.4f}), the best any model could do."
        )
    lines += ["", "### Against the plain baseline (real respondents)", "", *_baseline_tables(evaluation)]
    checks = _calibration_check_table(evaluation["calibration_checks"])
    lines += ["", "### Calibration beyond chance", "", *checks]
    lines += ["", "## Evidence: what each effect rests on", "", *_evidence_section(manifest)]
    sets = evaluation["uncertainty"]
    if sets:
        lines += ["", f"## Prediction sets ({sets['level']:.0%} split conformal)", ""]
        lines += [f"- {key[5:]}: coverage {c['coverage']:.3f}, both roles in {c['both_share']:.1%} of sets"
                  for key, c in sets.items() if key != "level"]  # fmt: skip
    lines += ["", "## Fairness audit (real respondents; demographics are never inputs)", ""]
    lines += _fairness_tables(evaluation["fairness"])
    behaviour = evaluation["behaviour"]
    lines += [
        "",
        "## Behaviour checks",
        f"{sum(b['passed'] for b in behaviour)} of {len(behaviour)} passed "
        "(minimum functionality, directional, invariance).",
        "",
        "## Limitations",
        "- Real respondents only answered the items their survey asked; Kaggle 2021 covers experience items.",
        "  Interest, skill, preference and goal effects are assumed (synthetic prior), and say so.",
        "- Effects of experience items are partial effects: they assume the other experience questions were",
        "  answered too. Someone who answers only a few of them (e.g. years of coding without years of ML)",
        "  gets effects fitted for people who answered all (Kaggle's novice coders are 53% ML engineers,",
        "  but novice coders who use JavaScript only 32%).",
        "- Probabilities refer to the reference population's MLE share (`build.target_mle_share`); pass",
        "  `base_rate` for another population (Stack Overflow 2017 developers: about 4%).",
        "- Self-ratings and survey answers are noisy; treat probabilities as a conversation starter.",
        "",
    ]
    return "\n".join(lines)
