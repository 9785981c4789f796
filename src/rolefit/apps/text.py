"""A person's result as text for a terminal: the bar, the starting point, how sure, the reasons.

The guidance that follows them (next steps, the roles' facts, ...) is :mod:`rolefit.apps.guidance_text`.
"""

from __future__ import annotations

import math

VERDICT_WORDS = {
    "clear": "a clear fit",
    "leaning": "both fit you, with a lean",
    "toss-up": "a toss-up",
    "no-information": "no information yet",
}


def _percent(share: float) -> str:
    """38% / 4% / 2.5%: as many digits as the share needs (up to four significant)."""
    return f"{share * 100:.4g}%"


def evidence_marker(evidence: dict | None) -> str:
    """A short tag for what backs a reason: ``[real: 2,795 respondents]`` or ``[assumed]``."""
    if evidence and evidence.get("basis") == "real":
        return f"[real: {int(evidence.get('respondents', 0)):,} respondents]"
    return "[assumed]"


def render_prediction(result, top: int = 5, own_base_rate: bool = False, guidance=None) -> str:
    """A short human-readable report of a prediction.

    ``own_base_rate``: the caller gave the population's MLE share (``--base-rate``), so the starting
    point is theirs rather than the reference survey's. ``guidance`` (a :class:`rolefit.guidance.advice.
    Guidance` for the same answers) words how sure the result is and sums up the groups; the reasons
    not listed (beyond ``top``, or too small to matter) are folded into one "other answers" line.
    """
    from rolefit.scoring.reasons import ROLE_NAMES

    p = result.probabilities
    width = 30
    no_information = result.verdict == "no-information"
    if no_information:
        lines = ["No answers yet: no information about either role."]
    elif guidance is not None and guidance.answers_needed:
        lines = [f"Best fit so far: {ROLE_NAMES[result.role]}"]
    else:
        lines = [f"Best fit: {ROLE_NAMES[result.role]}"]
    lines += [
        f"  SWE {p['swe']:6.1%} {'#' * round(p['swe'] * width)}",
        f"  MLE {p['mle']:6.1%} {'#' * round(p['mle'] * width)}",
    ]
    if result.base_rate is not None:
        population = (
            "your population's MLE share, from --base-rate"
            if own_base_rate
            else "an even start: neither role favoured; set your population's MLE share with --base-rate"
        )
        lines.append(f"Before your answers: {_percent(result.base_rate)} MLE ({population})")
    if guidance is not None:
        lines.append(f"How sure: {guidance.certainty}")
        if guidance.summary:
            lines.append(guidance.summary)
    elif result.prediction_set:  # the set itself stays in --json: as words here
        lines.append(f"How sure: {VERDICT_WORDS.get(result.verdict, result.verdict)}")
    if result.explanations:
        lines.append("Top reasons:")
        shown, folded = _listed(result.explanations, top, small=guidance is not None)
        for entry in shown:
            marker = evidence_marker(entry.get("evidence"))
            lines.append(f"  {entry['effect']:+.2f}  {entry['reason']} {marker}")
        if folded:
            total = math.fsum(e["effect"] for e in folded)
            count = f"{len(folded)} other answer{'s' if len(folded) != 1 else ''}"
            lines.append(f"  {total:+.2f}  {count} together (each smaller than those listed)")
        bases = {(e.get("evidence") or {}).get("basis", "assumed") for e in shown}
        key = [
            text
            for basis, text in (
                ("real", "[real: n respondents] learned from real survey respondents"),
                ("assumed", "[assumed] from the synthetic prior, not yet measured on real people"),
            )
            if basis in bases
        ]
        lines.append("  (effects in log-odds toward MLE; " + "; ".join(key) + ")")
    else:
        lines.append(
            "No answers given: this is the starting point for someone who skipped everything."
            if no_information
            else "No answer moved the result."
        )
    if guidance is None:  # with guidance, the notice ends the whole report (rolefit.apps.guidance_text)
        lines.append(result.notice)
    return "\n".join(lines)


def _listed(explanations, top: int, small: bool) -> tuple[list[dict], list[dict]]:
    """The reasons listed (the ``top`` largest; with ``small``, none below MIN_EFFECT) and the rest."""
    from rolefit.guidance.words import MIN_EFFECT

    shown = [e for e in explanations if not small or abs(e["effect"]) >= MIN_EFFECT][: max(top, 0)]
    listed = {id(e) for e in shown}
    return shown, [e for e in explanations if id(e) not in listed]
