"""Plain words for a result: how sure it is, where it started, and what each group of answers says.

Certainty in words (:func:`certainty`), from the verdict of :mod:`rolefit.model.conformal`:

* ``clear`` -> "clear fit" (the conformal set names one role);
* ``leaning`` -> "leaning MLE" (both roles stay in the set, the larger probability is at least 60%);
* ``toss-up`` -> "both fit you";
* no answers, or fewer than the bundle's ``min_answers`` -> "not enough answers yet — answer N more to
  sharpen this". Below ``min_answers`` the set always holds both roles (one answer never settles the
  question, however strongly it leans), so N = ``min_answers`` minus the answers given is the fewest
  further answers after which the result *can* name one role; whether it does depends on the answers.

Strength words for a sum of effects (a group of answers) are read as "this group alone, from an even
start": below :data:`MIN_EFFECT` it does not move the result (less than one percentage point anywhere on
the curve); from there up to ``logit(0.6)`` (the verdict's "leaning") it *leans slightly*; up to
``logit(0.75)`` (3 to 1) it *points to* the role; beyond that it *points clearly to* it.
"""

from __future__ import annotations

import math
import os

from rolefit.model.conformal import LEANING

#: Short role names, as people write them.
ROLE_SHORT = {"swe": "SWE", "mle": "MLE"}

#: The six groups of the instrument (``Item.group``), named the way people think about themselves.
GROUP_NAMES = {
    "interests": "what you enjoy",
    "skills": "what you are good at",
    "preferences": "how you like to work",
    "goal": "where you want to go",
    "experience": "what you have done so far",
    "tools": "the tools you use",
}

#: An effect (log-odds) smaller than this moves the probability by less than one percentage point
#: wherever the person stands: the slope of the logistic curve is at most 1/4, so |change in p| <=
#: |effect| / 4 = 0.01. Reasons this small are folded into "other answers", and a group this small is
#: said not to tip the result either way.
MIN_EFFECT = 0.04
#: A group that alone would move an even start to 60% (the verdict's "leaning") *points to* a role ...
POINTS = math.log(LEANING / (1.0 - LEANING))
#: ... and to 75% (3 to 1) *points clearly to* it. (A "clear" verdict is not tied to it: it comes from the
#: conformal set, :mod:`rolefit.model.conformal`.)
CLEARLY = math.log(3.0)

NOT_ENOUGH = "not enough answers yet"
#: words that keep their capital inside a sentence
_PROPER = frozenset({"Python"})


def percent(p: float) -> str:
    """A probability as a whole percentage, never rounded to a certain 0% or 100%."""
    if p > 0.995:
        return "more than 99%"
    if p < 0.005:
        return "less than 1%"
    return f"{round(100 * p)}%"


def answers_needed(prediction, *, model: str | os.PathLike | None = None) -> int:
    """How many more answers before the result can name one role (0 when it already can).

    The bundle's conformal rule keeps both roles in the set below ``min_answers`` answers (one answer
    with no conformal thresholds at all); ``model`` is the bundle the prediction came from.
    """
    from rolefit.scoring.loader import load_model

    conformal = load_model(model).additive.conformal
    least = 1 if conformal is None else max(1, int(conformal.min_answers))
    return max(0, least - len(prediction.answers))


def certainty(prediction, *, model: str | os.PathLike | None = None) -> str:
    """How sure the result is, in words a person understands (see the module's docstring)."""
    needed = answers_needed(prediction, model=model)
    if needed or prediction.verdict == "no-information":
        needed = max(needed, 1)
        return f"{NOT_ENOUGH} — answer {needed} more to sharpen this"
    if prediction.verdict == "clear":
        return "clear fit"
    if prediction.verdict == "leaning":
        return f"leaning {ROLE_SHORT[prediction.role]}"
    return "both fit you"


def starting_point(prediction, *, own_population: bool = False) -> str:
    """The probability before any answer, in words.

    "before your answers: 50% SWE, an even start" (the fit starts with neither role favoured) — or "38%
    SWE, the mix in your population" when the caller gave the population's base rate (``own_population``);
    always in the frame of the role the result names, as its bar.
    """
    from rolefit.scoring.predictor import sigmoid

    p_mle = sigmoid(prediction.baseline_log_odds)
    role = prediction.role  # in the result's own frame: the role it names
    p = p_mle if role == "mle" else 1.0 - p_mle
    mix = "the mix in your population" if own_population else "an even start"
    return f"before your answers: {percent(p)} {ROLE_SHORT[role]}, {mix}"


def strength(log_odds: float) -> str:
    """How strongly a sum of effects points: "", "leans slightly to", "points to", "points clearly to"."""
    size = abs(log_odds)
    if size < MIN_EFFECT:
        return ""
    if size < POINTS:
        return "leans slightly to"
    if size < CLEARLY:
        return "points to"
    return "points clearly to"


def group_sentence(group: str, subtotal: float, answered: int = 1) -> str:
    """One group's sentence, e.g. "What you enjoy points clearly to MLE"; "" for a group with no
    ``answered`` items (nothing was said, so nothing is claimed)."""
    if not answered:
        return ""
    words = strength(subtotal)
    name = GROUP_NAMES[group]
    if not words:
        return f"{name[0].upper()}{name[1:]} does not tip it either way"
    role = ROLE_SHORT["mle" if subtotal > 0 else "swe"]
    return f"{name[0].upper()}{name[1:]} {words} {role}"


def groups_sentence(subtotals) -> str:
    """The groups that move the result, largest first, in one sentence:
    "What you enjoy points clearly to MLE; what you have done so far points to SWE." ("" if none)."""
    parts = [
        group_sentence(s.group, s.subtotal)
        for s in sorted(subtotals, key=lambda s: -abs(s.subtotal))
        if strength(s.subtotal)
    ]
    if not parts:
        return ""
    text = "; ".join([parts[0], *(p[0].lower() + p[1:] for p in parts[1:])])
    return text + "."


def in_sentence(text: str) -> str:
    """An item's text inside a sentence: "Statistics and probability" -> "statistics and probability"
    (names such as Python, and words with capitals inside such as DevOps, keep their capitals)."""
    first = text.split()[0].rstrip(",")
    if first in _PROPER or any(c.isupper() for c in first[1:]):
        return text
    return text[0].lower() + text[1:]


def with_article(label: str) -> str:
    """ "Applied scientist" -> "an applied scientist", "ML platform engineer" -> "an ML platform engineer"."""
    phrase = in_sentence(label)
    first = phrase.split()[0]
    # an acronym is read letter by letter: "an ML ...", "an AI ..."
    vowels = "AEFHILMNORSX" if first.isupper() else "aeiouAEIOU"
    return f"{'an' if first[0] in vowels else 'a'} {phrase}"


def scale_point(item, value: float) -> str:
    """A point of an item's 1-5 scale as people say it: "Basic (2)"."""
    return f"{item.scale.labels[int(value) - item.scale.min]} ({int(value)})"
