"""The monitoring report in words: Markdown and a self-contained HTML page, readable without code.

Renders the document of :func:`rolefit.evaluation.monitoring.monitor` (its ``--json`` form): the
recommendation and why first, then per source the top drifting items with their direction, the
performance on labelled rows beside the champion's own test figures, and the per-role view.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from rolefit.evaluation.monitoring import TOP_ITEMS
from rolefit.instrument.items import load_instrument

HEADLINES = {
    "retrain": "Retrain: the model should learn from these people.",
    "no_retrain": "No retraining needed.",
    "label_first": "Not decided yet: label a sample first.",
}
#: The smallest change of the average answer worth a direction: a tenth of a scale point, a share of
#: 2 points of those saying yes, a tenth of a count, half a year.
SAME = {"scale": 0.1, "binary": 0.02, "count": 0.1, "number": 0.5}
ROLE_WORDS = {"swe": "software engineering", "mle": "ML engineering"}
METRIC_WORDS = {
    "log_loss": "log loss (lower is better)",
    "ece": "calibration error, ECE (lower is better)",
    "roc_auc": "ranking of people, ROC AUC (higher is better)",
}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def describe_move(item_id: str, info: Mapping[str, Any]) -> str:
    """One item's move in words, e.g. "answers higher (mean 3.2 -> 4.1 of 1-5), towards software
    engineering"."""
    item = load_instrument()[item_id]
    parts = []
    if "mean_shift" in info:
        before, after = info["mean_before"], info["mean_after"]
        if abs(after - before) < SAME[item.kind] and item.kind == "binary":
            parts.append(f"about the same ({_pct(before)} -> {_pct(after)} say yes)")
        elif abs(after - before) < SAME[item.kind]:
            parts.append(f"about the same (average {before:.2f} -> {after:.2f})")
        elif item.kind == "binary":
            said = "more" if after > before else "fewer" if after < before else "as many"
            parts.append(f"{said} say yes ({_pct(before)} -> {_pct(after)})")
        else:
            said = "higher" if after > before else "lower" if after < before else "unchanged"
            unit = " years" if item.kind == "number" else ""
            parts.append(f"answers {said} (average {before:.1f}{unit} -> {after:.1f}{unit})")
        if "towards" in info and abs(after - before) >= SAME[item.kind]:
            parts.append(f"towards {ROLE_WORDS[info['towards']]}")
    elif "gained" in info:
        gained, lost = info["gained"], info["lost"]
        parts.append(
            f"more '{gained['level']}' ({gained['share_change']:+.0%}), fewer '{lost['level']}' "
            f"({lost['share_change']:+.0%})"
        )
    if abs(info["missing_shift"]) >= 0.05:
        parts.append(
            f"skipped {abs(info['missing_shift']):.0%} {'more' if info['missing_shift'] > 0 else 'less'}"
        )
    return ", ".join(parts) or "no clear direction"


def _items_table(comparison: Mapping[str, Any], top: int = TOP_ITEMS) -> list[str]:
    instrument = load_instrument()
    lines = [
        "| question | how it moved | PSI (95% interval) | answered (here / compared with) |",
        "|---|---|---|---|",
    ]
    for item_id in comparison["ranking"][:top]:
        info = comparison["items"][item_id]
        low, high = info["psi_interval"]
        lines.append(
            f"| {instrument[item_id].topic} (`{item_id}`) | {describe_move(item_id, info)} | "
            f"{info['psi']:.3f} ({low:.3f} to {high:.3f}) | "
            f"{info['answered']:,} / {info['reference_answered']:,} |"
        )
    return lines


def _label_line(comparison: Mapping[str, Any]) -> list[str]:
    shift = comparison.get("label_shift")
    if not shift:
        return []
    return [f"Share of ML engineers: {_pct(shift['reference'])} before, {_pct(shift['new'])} now."]


def markdown(report: Mapping[str, Any]) -> str:
    """The whole report as Markdown."""
    t = report["thresholds"]
    lines = [
        f"# Monitoring: {report['n']:,} new responses against model {report['model_version']}",
        "",
        f"**{HEADLINES[report['recommendation']]}**",
        "",
    ]
    for source, result in report["sources"].items():
        lines.append(f"- {source}: **{HEADLINES[result['recommendation']]}**")
        lines += [f"  - because {reason}" for reason in result["reasons"]]
        lines += [f"  - note: {note}" for note in result["notes"]]
    lines += [
        "",
        "How to read this: each question's answers are compared with earlier answers by the population "
        "stability index (PSI: 0 means the same spread of answers; above "
        f"{t['psi_alarm']} is a large move). The interval shows how much of it chance alone could explain. "
        "A source is first compared with its own earlier answers (the same survey in the champion's data): "
        "only a move there, or worse predictions than the champion's own test figures, "
        "calls for retraining. The comparison with the training population is context: a population the "
        "model was not trained on may differ and still be predicted well.",
    ]
    for source, result in report["sources"].items():
        lines += ["", f"## {source}: {result['n']:,} responses", ""]
        earlier = result["against_earlier"]
        if earlier:
            lines += [
                f"### Against its own earlier answers ({earlier['reference_n']:,} in the champion's data)",
                "",
            ]
            lines += [*_label_line(earlier), "", *_items_table(earlier)]
        else:
            lines += [
                "### Against its own earlier answers",
                "",
                "None: this source is not in the champion's data.",
            ]
        training = result["against_training"]
        if training and result["training_sources"] == [source]:
            lines += ["", "The champion's training population is this source's earlier answers (above)."]
        elif training:
            names = ", ".join(result["training_sources"])
            lines += [
                "",
                f"### Against the champion's training population ({names}: "
                f"{training['reference_n']:,} people)",
                "",
            ]
            lines += [*_label_line(training), "", *_items_table(training)]
        if result.get("by_role"):
            for role, comparison in result["by_role"].items():
                lines += [
                    "",
                    f"### {ROLE_WORDS[role].capitalize()} respondents against the same role in training",
                    "",
                ]
                lines += _items_table(comparison, top=3)
        elif result.get("by_role_note"):
            lines += ["", f"Per role: not available: {result['by_role_note']}."]
        perf = result.get("performance")
        lines += ["", "### How well the model predicts these people", ""]
        if perf is None:
            lines.append(
                "No roles in these rows: performance cannot be measured (add a role column to check it)."
            )
        else:
            champion = perf["champion"]
            head = f"| measure | these {perf['n']:,} people (95% interval) |"
            head += f" champion's own test rows ({champion['source']}) |" if champion else ""
            lines += [head, "|---|---|" + ("---|" if champion else "")]
            for metric, words in METRIC_WORDS.items():
                low, high = perf["intervals"][metric]
                row = f"| {words} | {perf['metrics'][metric]:.3f} ({low:.3f} to {high:.3f}) |"
                if champion and metric in champion:
                    row += f" {champion[metric]:.3f}{' (now worse)' if metric in perf['worse'] else ''} |"
                lines.append(row)
    lines += [
        "",
        f"Thresholds: PSI alarm {t['psi_alarm']}, share of ML engineers {t['label_shift_alarm']:+.2f}, "
        f"skipped answers {t['missingness_alarm']:+.2f} (`drift` in params.yaml); worse than "
        f"the champion beyond {t['log_loss_tolerance']} log loss or {t['ece_tolerance']} ECE "
        f"(`export.gate`). Intervals: {report['bootstrap']} bootstrap resamples.",
        "",
    ]
    return "\n".join(lines)


def _inline(text: str) -> str:
    out, code = [], False
    for i, part in enumerate(text.split("`")):
        code = i % 2 == 1
        part = html.escape(part)
        if not code:
            bits = part.split("**")
            part = "".join(f"<strong>{b}</strong>" if j % 2 else b for j, b in enumerate(bits))
        out.append(f"<code>{part}</code>" if code else part)
    return "".join(out)


def to_html(text: str, title: str) -> str:
    """The Markdown :func:`markdown` writes (headings, lists, tables, bold, code) as one HTML page with
    no scripts and no external resources."""
    body: list[str] = []
    rows: list[list[str]] = []
    in_list = 0

    def flush_table():
        if rows:
            body.append("<table>")
            body.append("<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in rows[0]) + "</tr>")
            body.extend("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            body.append("</table>")
            rows.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                rows.append(cells)
            continue
        flush_table()
        depth = 2 if line.startswith("  - ") else 1 if line.startswith("- ") else 0
        while in_list < depth:
            body.append("<ul>")
            in_list += 1
        while in_list > depth:
            body.append("</ul>")
            in_list -= 1
        if depth:
            body.append(f"<li>{_inline(line.lstrip()[2:])}</li>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    body.extend("</ul>" for _ in range(in_list))
    style = (
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #bbb;padding:.25rem .5rem;"
        "text-align:left}th{background:#eee}code{font-size:.85em;color:#555}"
    )
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def summary(report: Mapping[str, Any]) -> str:
    """A few lines for the terminal: the recommendation, its reasons, and the top moves per source."""
    lines = [HEADLINES[report["recommendation"]]]
    for source, result in report["sources"].items():
        lines.append(f"{source} ({result['n']:,} responses): {HEADLINES[result['recommendation']]}")
        lines += [f"  because {reason}" for reason in result["reasons"]]
        lines += [f"  note: {note}" for note in result["notes"]]
        for label, key in (
            ("against its earlier answers", "against_earlier"),
            ("against the training population", "against_training"),
        ):
            comparison = result.get(key)
            if comparison and comparison["items"]:
                top = [(k, comparison["items"][k]) for k in comparison["ranking"][:3]]
                said = "; ".join(f"{k} {describe_move(k, v)} (PSI {v['psi']:.2f})" for k, v in top)
                lines.append(f"  top moves {label}: {said}")
        perf = result.get("performance")
        if perf:
            m = perf["metrics"]
            line = (
                f"  on {perf['n']:,} labelled rows: log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}, "
                f"ROC AUC {m['roc_auc']:.3f}"
            )
            if perf["champion"]:
                c = perf["champion"]
                line += (
                    f" (champion's test rows of {c['source']}: {c['log_loss']:.3f}, {c['ece']:.3f}, "
                    f"{c['roc_auc']:.3f})"
                )
            lines.append(line)
    return "\n".join(lines)
