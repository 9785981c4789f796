"""A person's result as text for a terminal: the bar, the starting point, how sure, the reasons.

Words for people: each reason's weight in words ("a strong reason") and what backs it ("based on N
people in the Kaggle ML & DS Survey 2021", "what career guides say — not yet measured on people"); the
numbers and ids stay in ``--json``.

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


#: How much one reason weighs, in words, by the size of its effect (log-odds; the fit's, already
#: shrunk for its uncertainty): from :data:`rolefit.guidance.words.POINTS` up (alone it would move an
#: even start to 60%) "a strong reason"; from half of that "a reason"; below, "a small reason".
REASON_WORDS = ((1.0, "a strong reason"), (0.5, "a reason"), (0.0, "a small reason"))


def reason_weight(effect: float) -> str:
    """ "a strong reason", "a reason" or "a small reason" for an effect (see :data:`REASON_WORDS`)."""
    from rolefit.guidance.words import POINTS

    return next(words for share, words in REASON_WORDS if abs(effect) >= share * POINTS)


def evidence_words(evidence: dict | None, sources: dict | None = None) -> str:
    """What backs a reason, in words: "based on 2,795 people in the Kaggle ML & DS Survey 2021" for an
    effect learned from real respondents (``sources``: the survey names by source, e.g. the readiness
    tables'), "what career guides say — not yet measured on people" for an assumed one."""
    share = (evidence or {}).get("real_share")
    if evidence and (evidence.get("basis") == "real" or share):
        names = [(sources or {}).get(source, {}).get("name") for source in evidence.get("sources") or {}]
        where = f"the {' and the '.join(dict.fromkeys(names))}" if names and all(names) else "real surveys"
        people = int(evidence.get("respondents", 0))
        them = f"{people:,} {'person' if people == 1 else 'people'} in {where}"
        if share is not None and share < 0.995:
            # a pooled effect: part measured, part what the guides say
            return f"{share:.0%} based on {them}, the rest what career guides say"
        return f"based on {them}"
    return "what career guides say — not yet measured on people"


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
            "the mix of the two roles in your population, as you gave it"
            if own_base_rate
            else "an even start: neither role favoured"
        )
        # in the result's own frame: the role it names, as the bar above
        start = result.base_rate if result.role == "mle" else 1.0 - result.base_rate
        lines.append(f"Before your answers: {_percent(start)} {result.role.upper()} ({population})")
    if guidance is not None:
        lines.append(f"How sure: {guidance.certainty}")
        if guidance.summary:
            lines.append(guidance.summary)
    elif result.prediction_set:  # the set itself stays in --json: as words here
        lines.append(f"How sure: {VERDICT_WORDS.get(result.verdict, result.verdict)}")
    if result.explanations:
        lines.append("Top reasons (what you enjoy, are good at and want):")
        shown, folded = _listed(result.explanations, top, small=guidance is not None)
        sources = _source_names(result)
        for entry in shown:
            reason = entry["reason"].rstrip(".")
            weight = reason_weight(entry["effect"])
            lines.append(f"  - {reason}: {weight} ({evidence_words(entry.get('evidence'), sources)}).")
        if folded:
            from rolefit.guidance.words import ROLE_SHORT, strength

            total = math.fsum(e["effect"] for e in folded)
            count = f"{len(folded)} other answer{'s' if len(folded) != 1 else ''}"
            words = strength(total)
            together = "" if len(folded) == 1 else "together "
            if words:
                verb = (
                    words if len(folded) == 1 else words.replace("leans", "lean").replace("points", "point")
                )
                toward = f"{together}{verb} {ROLE_SHORT['mle' if total > 0 else 'swe']}"
            else:
                toward = f"{together}{'does' if len(folded) == 1 else 'do'} not tip it either way"
            lines.append(f"  - {count} {toward} (each smaller than those listed).")
    else:
        lines.append(
            "No answers given: this is the starting point for someone who skipped everything."
            if no_information
            else "No answer moved the result."
        )
    if guidance is None:  # with guidance, the notice ends the whole report (rolefit.apps.guidance_text)
        lines.append(result.notice)
    return "\n".join(lines)


def _source_names(result) -> dict:
    """The surveys' names by source (from the bundle's readiness tables; empty without them)."""
    tables = getattr(result.readiness, "tables", None)
    return dict(getattr(tables, "sources", None) or {})


def _listed(explanations, top: int, small: bool) -> tuple[list[dict], list[dict]]:
    """The reasons listed (the ``top`` largest; with ``small``, none below MIN_EFFECT) and the rest."""
    from rolefit.guidance.words import MIN_EFFECT

    shown = [e for e in explanations if not small or abs(e["effect"]) >= MIN_EFFECT][: max(top, 0)]
    listed = {id(e) for e in shown}
    return shown, [e for e in explanations if id(e) not in listed]
