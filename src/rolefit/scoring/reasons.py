"""Plain-language reasons: one sentence per answer and the role it points toward."""

from __future__ import annotations

from rolefit.instrument.items import Item

ROLE_NAMES = {"swe": "software engineering (SWE)", "mle": "machine learning engineering (MLE)"}

_INTEREST_WORDS = {
    5: "You enjoy {topic} very much",
    4: "You enjoy {topic} quite a bit",
    3: "You enjoy {topic} somewhat",
    2: "You enjoy {topic} only a little",
    1: "You do not enjoy {topic}",
}
_AGREEMENT_WORDS = {
    5: "You strongly agree that {topic}",
    4: "You agree that {topic}",
    3: "You are neutral on whether {topic}",
    2: "You disagree that {topic}",
    1: "You strongly disagree that {topic}",
}


def describe_answer(item: Item, answer: float | str) -> str:
    """A sentence about one answer, e.g. "You enjoy mathematics very much"."""
    if item.kind == "scale":
        level = int(answer)
        assert item.scale is not None
        if item.scale.id == "interest":
            return _INTEREST_WORDS[level].format(topic=item.topic)
        if item.scale.id == "agreement":
            return _AGREEMENT_WORDS[level].format(topic=item.topic)
        label = item.scale.labels[level - item.scale.min].lower()
        return f"You rate your {item.topic} skill as {label} ({level}/5)"
    if item.kind == "choice":
        label = item.answer_label(answer)
        if item.id == "career_goal":
            if answer == "undecided":
                return "You are undecided about your career goal"
            return f"Your goal is to become: {label.lower()}"
        return f"Your highest education: {label.lower()}"
    if item.kind == "binary":
        if item.id.startswith("uses_"):
            return f"You {'use' if answer else 'do not use'} {item.topic} regularly"
        return f"{item.topic} {'is' if answer else 'is not'} an important part of your work"
    if item.kind == "count":
        return f"You have used {int(answer)} {item.topic}"
    return f"You have {answer:g} {item.topic}"


def reason(item: Item, answer: float | str, effect: float) -> str:
    """The plain-language reason for one contribution."""
    toward = "mle" if effect > 0 else "swe"
    if effect == 0:
        return f"{describe_answer(item, answer)}, which does not move the result."
    return f"{describe_answer(item, answer)}, which points toward {ROLE_NAMES[toward]}."
