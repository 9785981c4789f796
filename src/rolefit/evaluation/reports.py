"""Reports of an evaluation: ``metrics.json``, ``evaluation.json``, plot data, figures, ``evaluation.md``
and the model card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rolefit import atomic
from rolefit.data.csvsafe import neutralise
from rolefit.evaluation.curves import confusion, curves, reliability_curve, save_figures
from rolefit.evaluation.results import BaselineResult, Evaluation, Scores
from rolefit.instrument.items import load_instrument


def metrics_summary(evaluation: Evaluation) -> dict[str, dict[str, float]]:
    """The short ``metrics.json`` DVC compares across commits and experiments.

    Per source of the test split (and ``all``): n, ROC AUC, log loss, ECE, Brier and prediction-set
    coverage; for real sources also the plain baseline's log loss, ECE and ROC AUC and the ECE under the
    source's own base rate. Everything else is in ``evaluation.json``.
    """
    out: dict[str, dict[str, float]] = {}
    for group in evaluation.groups:
        entry = {name: float(group.metrics[name]) for name in ("n", "roc_auc", "log_loss", "ece", "brier")}
        sets = evaluation.sets.group(group.group) if evaluation.sets is not None else None
        if sets is not None:
            entry["coverage"] = float(sets.values["coverage"])
        evidence = evaluation.real.source(group.group)
        if evidence is not None and evidence.baseline is not None:
            baseline = evidence.baseline.scores.metrics
            entry.update(
                {f"baseline_{name}": float(baseline[name]) for name in ("log_loss", "ece", "roc_auc")}
            )
        if evidence is not None:
            entry["own_base_rate_ece"] = float(evidence.champion_own.metrics["ece"])
        out[group.group] = entry
    return out


#: Significant digits of the numbers the reports write. The last digits of a sum depend on the machine
#: (numpy's vectorised kernels by CPU); these files are DVC outputs, compared byte for byte.
DIGITS = 10


def rounded(value: Any) -> Any:
    """``value`` with every float rounded to :data:`DIGITS` significant digits (dicts and lists too)."""
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else value
    if isinstance(value, np.floating):
        return rounded(float(value))
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value


def write_reports(evaluation: Evaluation, out_dir, manifest: dict[str, Any], params) -> dict[str, Any]:
    """``metrics.json`` (the short summary DVC compares, :func:`metrics_summary`), ``evaluation.json``
    (every metric, interval and check), plot data for ``dvc plots`` (``plots/*.csv``, per source in
    ``plots/roc/`` and ``plots/reliability/``), PNG figures, ``evaluation.md`` and the model card."""
    import csv
    import json
    from pathlib import Path

    out_dir = Path(out_dir)
    plots = out_dir / "plots"
    figures = out_dir / "figures"
    plots.mkdir(parents=True, exist_ok=True)
    y, p = evaluation.y, evaluation.p
    metrics = {
        "model_version": manifest["model_version"],
        "candidate": manifest["candidate"],
        "calibration": manifest["calibration"],
        **evaluation.to_dict(),
    }
    paths = {"report": out_dir / "evaluation.json", "metrics": out_dir / "metrics.json"}
    atomic.write_text(paths["report"], json.dumps(rounded(metrics), indent=2, sort_keys=True) + "\n")
    summary = json.dumps(rounded(metrics_summary(evaluation)), indent=2, sort_keys=True) + "\n"
    atomic.write_text(paths["metrics"], summary)

    def write_csv(name, rows, fields):
        path = plots / f"{name}.csv"
        with atomic.staged(path) as tmp, tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({k: neutralise(rounded(v)) for k, v in row.items()} for row in rows)
        paths[f"plot_{name}"] = path

    c = curves(y, p)
    write_csv("roc", c["roc"], ["fpr", "tpr"])
    write_csv("precision_recall", c["precision_recall"], ["recall", "precision"])
    write_csv(
        "reliability", reliability_curve(y, p, params.evaluate.ece_bins), ["predicted", "observed", "count"]
    )
    write_csv("confusion", confusion(y, p), ["actual", "predicted"])
    # one ROC and one reliability curve per source (DVC draws every file of these folders)
    sources = evaluation.sources
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
    paths.update({f"figure_{k}": v for k, v in save_figures(y, p, evaluation.importance, figures).items()})
    paths["model_card"] = out_dir / "model_card.md"
    atomic.write_text(paths["model_card"], model_card(metrics, manifest, evaluation))
    paths["evaluation"] = out_dir / "evaluation.md"
    atomic.write_text(paths["evaluation"], evaluation_report(evaluation, manifest))
    return paths


def _metrics_table(evaluation: Evaluation) -> list[str]:
    """The champion on all, each source, and each real source under its own base rate."""
    lines = [
        "| group | n | ROC AUC (95% CI) | log loss (95% CI) | ECE (95% CI) | Brier | accuracy "
        "| balanced acc. |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group in evaluation.champion:
        values, ci = group.metrics, group.intervals

        def fmt(name, digits, ci=ci, values=values):
            text = f"{values[name]:.{digits}f}"
            return text + (f" ({ci[name][0]:.{digits}f}–{ci[name][1]:.{digits}f})" if ci else "")

        lines.append(
            f"| {group.label} | {int(values['n']):,} | {fmt('roc_auc', 3)} | {fmt('log_loss', 4)} | "
            f"{fmt('ece', 4)} | {values['brier']:.4f} | {values['accuracy']:.3f} | "
            f"{values['balanced_accuracy']:.3f} |"
        )
    return lines


@dataclass(frozen=True)
class _Compared:
    """The champion beside the plain baseline on one real source under one base rate."""

    source: str
    base_rate: float
    champion: Scores | None
    baseline: BaselineResult | None


def _compared(evaluation: Evaluation) -> list[_Compared]:
    """Every real source under the reference base rate, and under its own when that differs (by half a
    point or more)."""
    real, out = evaluation.real, []
    for evidence in real.sources:
        reference = evaluation.source(evidence.source)
        out.append(_Compared(evidence.source, real.reference_base_rate, reference, evidence.baseline))
        if abs(evidence.own_base_rate - real.reference_base_rate) >= 0.005:
            own = evidence.own_base_rate
            out.append(_Compared(evidence.source, own, evidence.champion_own, evidence.baseline_own))
    return out


def _baseline_tables(evaluation: Evaluation) -> list[str]:
    """Champion beside the plain baseline per real source, under both base rates."""
    base = evaluation.real.baseline
    if not base:
        return ["No real training respondents: no baseline to compare with."]
    lines = [
        f"Plain baseline: {base['model']} on the same {base['rows']:,} real training rows and "
        f"{len(base['items'])} items. Differences are champion minus baseline with paired bootstrap 95% "
        "intervals (negative log loss and ECE differences favour the champion).",
        "",
        "| source | base rate | model | n | log loss (95% CI) | ECE (95% CI) | ROC AUC (95% CI) |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(scores: Scores, name, digits):
        value, ci = scores.metrics[name], (scores.intervals or {}).get(name)
        return f"{value:.{digits}f}" + (f" ({ci[0]:.{digits}f}–{ci[1]:.{digits}f})" if ci else "")

    for compared in _compared(evaluation):
        source, rate = compared.source, compared.base_rate
        if compared.champion is None or compared.baseline is None:
            continue
        for label, scores in (("champion", compared.champion), ("baseline", compared.baseline.scores)):
            lines.append(
                f"| {source} | {rate:.3f} | {label} | {int(scores.metrics['n']):,} "
                f"| {cell(scores, 'log_loss', 4)} | {cell(scores, 'ece', 4)} | {cell(scores, 'roc_auc', 3)} |"
            )
        d = compared.baseline.differences
        lines.append(
            f"| {source} | {rate:.3f} | difference | | {d['log_loss']['difference']:+.4f} "
            f"({d['log_loss']['low']:+.4f}–{d['log_loss']['high']:+.4f}) | {d['ece']['difference']:+.4f} "
            f"({d['ece']['low']:+.4f}–{d['ece']['high']:+.4f}) | {d['roc_auc']['difference']:+.3f} "
            f"({d['roc_auc']['low']:+.3f}–{d['roc_auc']['high']:+.3f}) |"
        )
    return lines


def baseline_summary(evaluation: Evaluation) -> list[str]:
    """Short lines for a terminal: the champion beside the plain baseline on every real source."""
    lines = []
    for compared in _compared(evaluation):
        if compared.champion is None:
            continue
        champion = compared.champion.metrics
        line = (
            f"  {compared.source} (base rate {compared.base_rate:.2f}): champion log loss "
            f"{champion['log_loss']:.4f} ECE {champion['ece']:.4f} ROC AUC {champion['roc_auc']:.4f}"
        )
        if compared.baseline is not None:
            baseline = compared.baseline.scores.metrics
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
        "- **Real respondents** decide the effects of the experience items a real survey asked "
        f"({', '.join(real.get('training_sources', [])) or 'none present'}). Those effects are fitted on "
        "real rows only, smoothed across neighbouring answer levels (an L2 penalty on the steps chosen by "
        "cross-validation), and calibrated by cross-fitting, so every real respondent is used both to fit "
        "and to calibrate. Their synthetic effects are not a prior here: the generator draws experience "
        "answers from Kaggle 2021's own rates, so a prior centred on them would count that survey twice.",
        "- **The synthetic prior** gives the effects of interests, skills, preferences and the career goal "
        "(the latent-trait model in `rolefit.synthetic`, built from two career guides). **Pooled**: real "
        "respondents who answered any of them correct each answer level's effect by a MAP logistic "
        "regression, `log_odds_i = o_i + b_source + sum_j m_ij (d_j(x_ij) - dbar_j)`, "
        "`d_jk = k_j s_jk + e_jk` (`dbar_j`: the item's mean correction over the real rows that answered "
        "it): the "
        "item's strength `k_j ~ Normal(0, width^2)` (the fit's widths, issue #24) and each level's own "
        "part `e_jk ~ Normal(0, (0.3 width max(|s_jk|, 0.05))^2)`; `o_i` is the model without correction, "
        "`m_ij` the row's coverage scale (1 for the goal) and `b_source` each source's own intercept, "
        "fitted with a Normal(logit(share) - logit(base rate), 1) prior. A lean the instrument states is "
        "kept. The badge is the share of each effect's posterior precision that comes from real rows.",
        "- Sources are not reweighted to one MLE share: each has its own intercept, centred on the exact "
        "correction when sources differ only in their mix of roles (a small source of one role trains "
        "like any other).",
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
        choice = real.get("choice") or {}
        losses = choice.get("out_of_fold_log_loss") or {}
        if len(losses) > 1:
            tried = ", ".join(f"{name} {loss:.4f}" for name, loss in losses.items())
            gaps = "; ".join(
                f"{real['candidate']} minus {other}: {d['difference']:+.4f} (95% interval {d['low']:+.4f} to "
                f"{d['high']:+.4f})"
                for other, d in (choice.get("differences") or {}).items()
            )
            lines += [f"- Real blocks tried (out-of-fold log loss, same folds): {tried}; {gaps}."]
    if measured:
        lines += ["", "| item | real respondents | sources |", "|---|---|---|"]
        lines += [
            f"| {item} | {sum(counts.values()):,} | {', '.join(counts)} |"
            for item, counts in measured.items()
        ]
    pooled = real.get("pooled") or {}
    if pooled.get("items"):
        lines += [
            "",
            f"Pooled effects: {pooled['rows']:,} real rows ({', '.join(pooled['sources'])}) answered "
            "these items; the share of each effect that is real (the rest is the synthetic prior):",
            "",
            "| item | real respondents | share from real rows |",
            "|---|---|---|",
        ]
        lines += [
            f"| {item} | {entry['respondents']:,} | {entry['real_share']:.0%} |"
            for item, entry in pooled["items"].items()
        ]
    else:
        lines += ["", "Pooled effects: no real source asked an interest, skill, preference or goal item yet, "
                  "so every one of those effects is the synthetic prior (assumed)."]  # fmt: skip
    gains = real.get("item_gains")
    if gains:
        lines += ["", *_item_gains_lines(gains)]
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


def _item_gains_lines(gains: dict[str, Any]) -> list[str]:
    """Each tools question's cross-validated gain in log loss and whether the instrument asks it."""
    level = round(gains["level"] * 100)
    lines = [
        f"Tools questions (multi-choice, stored as yes/no items): each one's gain in log loss when the real "
        f"block also reads it, paired {gains['folds']}-fold cross-validation on {gains['rows']:,} non-test "
        f"{gains['source']} respondents with a {level}% bootstrap interval (base out-of-fold log loss "
        f"{gains['base_log_loss']:.4f}). Only a question whose whole interval is above 0 is asked.",
        "",
        "| question | items | gain in log loss | interval | asked |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {question} | {len(g['items'])} | {g['gain']:+.4f} | {g['low']:+.4f} to {g['high']:+.4f} "
        f"| {'yes' if g['kept'] else 'no'} |"
        for question, g in gains["questions"].items()
    ]
    return lines


def _numeric_shapes(effects: list[dict[str, Any]]) -> list[str]:
    """One line per numeric item of the real block: its lean, the constraint and what the data show."""

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


def evaluation_report(evaluation: Evaluation, manifest: dict[str, Any]) -> str:
    """``reports/evaluation.md``: every metric with intervals, slices, prediction sets, fairness."""
    lines = [f"# Evaluation of {manifest['model_version']}", "", "## Test split, overall and per source", ""]
    lines += _metrics_table(evaluation)
    synthetic = evaluation.source("synthetic")
    synthetic = synthetic.metrics if synthetic is not None else {}
    if "bayes_log_loss" in synthetic:
        gap = synthetic["log_loss"] - synthetic["bayes_log_loss"]
        ratio = synthetic["log_loss_ratio_to_bayes"]
        lines += ["", f"Synthetic respondents: Bayes log loss {synthetic['bayes_log_loss']:.4f}; "
                  f"the model is {gap:.4f} nats ({ratio:.3f}×) above it."]  # fmt: skip
    checks = _calibration_check_table(evaluation)
    lines += ["", "## Against the plain baseline (real respondents)", "", *_baseline_tables(evaluation)]
    lines += ["", "## Calibration beyond chance", "", *checks]
    lines += ["", "## Slices", "",
              "| slice | n | ROC AUC | log loss | ECE | accuracy | recall MLE | recall SWE |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for group in evaluation.slices:
        v = group.metrics
        lines.append(
            f"| {group.group} | {int(v['n']):,} | {v['roc_auc']:.3f} | {v['log_loss']:.4f} | "
            f"{v['ece']:.4f} | {v['accuracy']:.3f} | {v['recall_mle']:.3f} | {v['recall_swe']:.3f} |"
        )
    sets = evaluation.sets
    if sets is not None:
        lines += ["", f"## Prediction sets (split conformal, target coverage {sets.level:.0%})", "",
                  "| group | coverage | coverage SWE | coverage MLE | mean set size | both roles |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for group in sets.groups:
            c = group.values
            lines.append(
                f"| {group.group} | {c['coverage']:.3f} | {c['coverage_swe']:.3f} | "
                f"{c['coverage_mle']:.3f} | {c['mean_set_size']:.2f} | {c['both_share']:.3f} |"
            )
    lines += ["", "## Fairness audit", "", *_fairness_tables(evaluation.fairness)]
    behaviour = evaluation.behaviour
    lines += ["## Behaviour checks", "", "| kind | case | result |", "|---|---|---|"]
    lines += [
        f"| {b['kind']} | {b['name']} | {'pass' if b['passed'] else 'FAIL: ' + b['detail']} |"
        for b in behaviour
    ]
    return "\n".join(lines) + "\n"


def _calibration_check_table(evaluation: Evaluation) -> list[str]:
    lines = [
        "ECE is positive even for a perfectly calibrated model on a finite sample. Labels drawn from the",
        "model's own probabilities show what chance alone gives; a small p-value means the observed ECE",
        "is more than that.",
        "",
        "| group | ECE | ECE if perfectly calibrated (median, 95th pct.) | p-value |",
        "|---|---|---|---|",
    ]
    for group in evaluation.champion:
        c = group.calibration_check
        if c is None:
            continue
        lines.append(
            f"| {group.label} | {c['ece']:.4f} | {c['ece_if_calibrated']:.4f}, "
            f"{c['ece_if_calibrated_95']:.4f} | {c['p_value']:.3f} |"
        )
    return lines


def model_card(metrics: dict[str, Any], manifest: dict[str, Any], evaluation: Evaluation) -> str:
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
    synthetic = evaluation.source("synthetic")
    synthetic = synthetic.metrics if synthetic is not None else None
    if synthetic and "bayes_log_loss" in synthetic:
        lines.append("")
        lines.append(
            f"On synthetic respondents the log loss is {synthetic['log_loss_ratio_to_bayes']:.3f} × the "
            f"Bayes log loss ({synthetic['bayes_log_loss']:.4f}), the best any model could do."
        )
    lines += ["", "### Against the plain baseline (real respondents)", "", *_baseline_tables(evaluation)]
    checks = _calibration_check_table(evaluation)
    lines += ["", "### Calibration beyond chance", "", *checks]
    lines += ["", "## Evidence: what each effect rests on", "", *_evidence_section(manifest)]
    sets = evaluation.sets
    if sets is not None:
        lines += ["", f"## Prediction sets ({sets.level:.0%} split conformal)", ""]
        lines += [
            f"- {group.group}: coverage {group.values['coverage']:.3f}, both roles in "
            f"{group.values['both_share']:.1%} of sets"
            for group in sets.groups
        ]
    lines += ["", "## Fairness audit (real respondents; demographics are never inputs)", ""]
    lines += _fairness_tables(evaluation.fairness)
    behaviour = evaluation.behaviour
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
        "  `base_rate` for another population (Stack Overflow 2017 developers: about 4%). With labelled",
        "  people of your own, `rolefit recalibrate` fits the all-answers model's starting point to them",
        "  (and a slope, rescaling every reason, only when the sample shows one) in a derived bundle that",
        '  names this model as its parent; see the README, "Recalibrating for your population".',
        "- Self-ratings and survey answers are noisy; treat probabilities as a conversation starter.",
        "",
    ]
    return "\n".join(lines)
