"""Guidance as text for a terminal: where you stand today, next steps, kind words, the roles explained,
what to ask next, and a what-if (``rolefit predict``, ``quiz``, ``next`` and ``what-if``)."""

from __future__ import annotations

from rolefit.apps.text import render_prediction

#: The facts shown with a result (a short selection; ``rolefit.role_facts()`` has them all).
FACT_TOPICS = ("daily_work", "core_skills", "salary", "market")
#: At most this many entries of a list-like fact are shown on its line.
FACT_ENTRIES = 5
FACTS_CHOICES = ("fitting", "both", "none")


def points(delta: float) -> str:
    """A change in probability as signed percentage points: "+4.8 points"."""
    return f"{100 * delta:+.1f} points"


def sources_text(sources) -> str:
    """ "(source: <title>, <year>)", or "(sources: ...; ...)" for several."""
    named = [f'"{s.title}", {s.year}' if s.title else f"an untitled {s.kind}, {s.year}" for s in sources]
    return f"(source{'s' if len(named) > 1 else ''}: {'; '.join(named)})"


def question_text(question: str, prompt: str) -> str:
    """A question as a person reads it: a skill ("Python") under its group's prompt ("How would you rate
    your skill in ...") becomes "How would you rate your skill in Python?"; other items keep their
    own text, with the prompt of a statement ("How much do you agree?") after it."""
    from rolefit.guidance.words import in_sentence

    if question.endswith("?"):
        return question
    if prompt.endswith("..."):
        return f"{prompt.removesuffix('...').rstrip()} {in_sentence(question)}?"
    if question.endswith(".") and prompt:
        return f"{question} ({prompt[0].lower()}{prompt[1:]})"
    return question


def render_steps(guidance, k: int = 3) -> list[str]:
    """Next steps toward each role, the fitting one first, in the order to do them: each action with the
    share of people in the role or the career guide behind it; then the guides' timing advice."""
    from rolefit.guidance.words import ROLE_SHORT

    found = guidance.next_steps
    steps = {role: found.roles.get(role, ())[:k] for role in found.order}
    if not any(steps.values()):
        return []
    lines = [""]
    for role, listed in steps.items():
        if not listed:
            continue
        if role == found.first:
            fitting = " (your best fit)" if not guidance.answers_needed else ""
            lines.append(f"Next steps toward {ROLE_SHORT[role]}{fitting}, in order:")
        else:
            lines.append(f"Toward {ROLE_SHORT[role]}, if you want to explore it:")
        for step in listed:
            lines += [f"  {step.order}. {step.action}", f"     {step.why}"]
    lines.append(found.plan)
    return lines


def render_mistakes(guidance) -> list[str]:
    if not guidance.mistakes:
        return []
    return ["", "Worth a thought:", *(f"  - {m.text} {sources_text(m.sources)}" for m in guidance.mistakes)]


def render_facts(guidance, which: str = "fitting") -> list[str]:
    """The roles' facts with their sources and years: the fitting role's (``fitting``), both (``both``;
    the fitting role first) or none. Before there are enough answers to name a fitting role, ``fitting``
    shows none and says how to see both."""
    if which == "none" or not guidance.facts:
        return []
    if which == "fitting" and guidance.answers_needed:
        return ["", "What the two roles involve: rolefit predict --facts both."]
    roles = guidance.facts if which == "both" else guidance.facts[:1]
    lines = ["", roles[0].to_dict()["notice"]]
    for facts in roles:
        lines.append(f"About {facts.name.lower()} ({facts.to_dict()['short_name']}):")
        for topic in FACT_TOPICS:
            fact = facts.fact(topic)
            text = _fact_line(fact)
            lines += [f"  {text}", f"    {sources_text(fact.sources)}"]
    return lines


def _fact_line(fact) -> str:
    if fact.topic == "market":
        found = [line for line in fact.lines if line.lower().startswith("outlook")]
        return found[0] if found else "; ".join(fact.lines)
    from rolefit.guidance.words import in_sentence

    if fact.topic == "salary":
        return f"{fact.heading}: {'; '.join(fact.lines)}"
    shown, more = fact.lines[:FACT_ENTRIES], len(fact.lines) - FACT_ENTRIES
    text = "; ".join([shown[0], *(in_sentence(e) for e in shown[1:])])
    return f"{fact.heading}: {text}" + (f" (and {more} more)" if more > 0 else "")


def render_questions(questions, heading: str) -> list[str]:
    """A heading and the questions, numbered, as a person reads them (the item ids are in --json)."""
    lines = [heading]
    for n, q in enumerate(questions, start=1):
        lines.append(f"  {n}. {question_text(q.question, q.prompt)}")
    return lines


#: Gaps listed per role under "Where you stand today" (the most common first; --json lists them all).
GAPS_SHOWN = 3


def render_standing(prediction, role_first: str | None = None, gaps: int = GAPS_SHOWN) -> list[str]:
    """ "Where you stand today": per role (``role_first`` first), how the person's experience compares
    with real people working in it, and the gaps most of them have, each with its share and source."""
    from rolefit.guidance.words import ROLE_SHORT
    from rolefit.scoring.reasons import ROLE_NAMES

    readiness = prediction.readiness
    if readiness is None:
        return []
    first = role_first or prediction.role
    lines = ["", "Where you stand today (your experience against real people working in each role):"]
    sources = dict(getattr(getattr(readiness, "tables", None), "sources", None) or {})
    for role in (first, *(r for r in ROLE_SHORT if r != first)):
        standing = readiness.roles[role]
        name = ROLE_NAMES[role]
        lines.append(f"  {name[0].upper()}{name[1:]}:")
        found = standing.gaps
        if not found:
            lines.append(f"    {standing.summary}")
            continue
        compared = len(standing.standings)
        title = (
            sources.get(found[0].source, {}).get("titles", {}).get(role) or f"people in {ROLE_SHORT[role]}"
        )
        on = "the 1 answer compared" if compared == 1 else f"{len(found)} of the {compared} answers compared"
        lines.append(f"    Most {title} have more than you on {on}:")
        for gap in found[:gaps]:
            people = f"{gap.n:,} {'person' if gap.n == 1 else 'people'}"
            lines.append(f"    - {gap.fragment} (based on {people} working as {title}, {gap.source_name}).")
        if len(found) > gaps:
            more = len(found) - gaps
            lines.append(
                f"    - and {more} more (rolefit predict --json lists {'it' if more == 1 else 'them all'})."
            )
    return lines


def render_result(prediction, guidance, *, top: int = 5, own_base_rate: bool = False,
                  facts: str = "fitting", steps: int = 3, questions=()) -> str:  # fmt: skip
    """The whole report of ``rolefit predict`` and the quiz, in the order of the page: the fit (which
    role, how sure, the reasons about what you enjoy, are good at and want), then where you stand today
    per role (the fitting one first), then the next steps, then the roles' facts.

    ``questions``: the best next questions, shown while there are not enough answers to name a role
    (for someone who answered nothing, the best first question instead of a verdict)."""
    lines = [render_prediction(prediction, top=top, own_base_rate=own_base_rate, guidance=guidance)]
    if questions:
        heading = (
            "Start with the question that tells most:"
            if not prediction.answers
            else "Questions that would tell most next:"
        )
        lines += ["", *render_questions(questions, heading)]
    if prediction.answers:
        lines += render_standing(prediction, guidance.role)
    lines += render_steps(guidance, steps)
    lines += render_mistakes(guidance)
    lines += render_facts(guidance, facts)
    if prediction.model is not None:  # which model answered (rolefit.scoring.loader.choose_model)
        lines += ["", f"Answered by {prediction.model.describe()}."]
    lines += ["", prediction.notice]
    return "\n".join(lines)


def render_next(step) -> str:
    """``rolefit next``: where the person is in Quick mode, the next questions and about how many are
    left (a :class:`rolefit.guidance.quick.QuickStep`; no verdict)."""
    done = step.settled
    if step.phase == "done":
        if done.remaining == 0:
            return "Every question is answered or skipped: nothing is left to ask."
        return "Nothing more to ask in Quick mode: your fit is settled. See your result with rolefit predict."
    if step.phase == "readiness":
        lines = [
            "Your fit is settled: more answers are unlikely to change which role fits you. Now: where do "
            "you stand today?"
        ]
    elif done.answered == 0:
        lines = ["No answers yet."]
    else:
        lines = [
            "Not settled yet: more answers about what you enjoy, are good at and want could still change "
            f"which role fits you (about {round(100 * done.p_change)}% chance they would)."
        ]
    left = step.expected_left
    lines.append(f"About {left} question{'s' if left != 1 else ''} left in Quick mode.")
    first = done.answered == 0 and step.phase == "fit" and len(step.questions) == 1
    lines += render_questions(step.questions, "Best first question:" if first else "Next questions:")
    return "\n".join(lines)


def render_what_if(result) -> str:
    """``rolefit what-if``: the changed answers in words, and the fit before and after as one role's
    percentage (the role the fit named before), with the exact change in points. An exploration, not
    advice: next steps come from where the person stands (``rolefit predict``)."""
    from rolefit.guidance.words import ROLE_SHORT
    from rolefit.instrument.items import load_instrument

    instrument = load_instrument()
    before, after = result.before, result.after
    lines = ["What if (exploring: your next steps come from where you stand, not from this):"]
    for item, answer in result.changes.items():
        was = before.answers.get(item)
        old = "not answered" if was is None else instrument[item].answer_label(was)
        new = "not answered" if answer is None else instrument[item].answer_label(answer)
        lines.append(f"  {instrument[item].text} {old} -> {new}")
    role = before.role  # one frame: the role the fit named before the change
    p0, p1 = before.probabilities[role], after.probabilities[role]
    change = p1 - p0
    moved = (
        "no change" if change == 0 else f"{abs(100 * change):.1f} points {'more' if change > 0 else 'less'}"
    )
    lines.append(f"Your fit: {100 * p0:.1f}% {ROLE_SHORT[role]} before, {100 * p1:.1f}% after ({moved}).")
    return "\n".join(lines)
