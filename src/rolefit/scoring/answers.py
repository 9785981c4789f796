"""Checking what callers send: answer sets and base rates, with every problem named at once."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rolefit.errors import RolefitError
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, METADATA_FIELDS, Instrument, load_instrument

_MAX_LISTED = 20
#: Whole-number answers may have at most this many digits (every item's range needs two). Longer ones
#: are refused before they are converted or shown: Python refuses to print an int of over 4,300 digits.
MAX_DIGITS = 20
_TOO_MANY_DIGITS = 10**MAX_DIGITS
#: Unknown keys per call that get a "did you mean" (difflib costs about 0.5 ms a key against 44 ids).
MAX_SUGGESTIONS = 50


class InvalidAnswers(RolefitError, ValueError):
    """Some answers do not fit the questionnaire; ``problems`` maps each offending item to the reason."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        lines = [f"{key}: {text}" for key, text in list(self.problems.items())[:_MAX_LISTED]]
        if len(self.problems) > _MAX_LISTED:
            lines.append(f"... and {len(self.problems) - _MAX_LISTED} more")
        count = len(self.problems)
        super().__init__(f"{count} invalid answer{'s' if count != 1 else ''}: " + "; ".join(lines))

    def __reduce__(self):
        return (type(self), (self.problems,))


def validate_base_rate(base_rate: Any) -> float | None:
    """The caller's MLE share as a float in (0, 1), None for the model's own; else InvalidAnswers."""
    if base_rate is None:
        return None
    problem = "must be a number strictly between 0 and 1 (the MLE share of your population)"
    if isinstance(base_rate, bool) or not isinstance(base_rate, (int, float)):
        try:
            base_rate = float(str(base_rate).strip()) if isinstance(base_rate, str) else None
        except ValueError:
            base_rate = None
        if base_rate is None:
            raise InvalidAnswers({"base_rate": problem})
    try:
        value = float(base_rate)
    except OverflowError:  # an integer too large for a float
        raise InvalidAnswers({"base_rate": problem}) from None
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise InvalidAnswers({"base_rate": f"{problem}; got {value:g}"})
    return value


def validate_answers(
    answers: Any, instrument: Instrument | None = None, *, suggestions: int = MAX_SUGGESTIONS
) -> dict[str, float | str]:
    """Check and normalise an answer set; raise :class:`InvalidAnswers` naming every problem.

    Metadata (``respondent_id``, ``submitted_at``) and demographics are accepted and ignored: they are
    never model inputs. Skipped answers (None, "", NaN) are dropped. The first ``suggestions`` unknown
    keys get a "did you mean" (the REST API shares one small budget across a whole request).
    """
    instrument = instrument or load_instrument()
    if not isinstance(answers, Mapping):
        raise InvalidAnswers(
            {"answers": f"expected a mapping of item id to answer, got {type(answers).__name__}"}
        )
    clean: dict[str, float | str] = {}
    problems: dict[str, str] = {}
    suggested = 0
    for key, value in answers.items():
        if not isinstance(key, str):
            problems[_shown(key)] = "item ids are strings"
            continue
        if key in METADATA_FIELDS or key in DEMOGRAPHIC_FIELDS:
            continue
        if key not in instrument:
            guess = None
            if suggested < suggestions:
                suggested += 1
                guess = suggestion(key, instrument)
            hint = f"; did you mean {guess!r}?" if guess else "; see rolefit.questionnaire()"
            problems[key[:60]] = f"unknown item{hint}"
            continue
        item = instrument[key]
        if isinstance(value, int) and not -_TOO_MANY_DIGITS < value < _TOO_MANY_DIGITS:
            problems[key] = f"got a number with more than {MAX_DIGITS} digits; allowed: {item.allowed()}"
            continue
        try:
            normalised = item.coerce(value)
        except (ValueError, RecursionError) as exc:
            problems[key] = _problem_text(exc, item, value)
            continue
        if normalised is not None:
            clean[key] = normalised
    if problems:
        raise InvalidAnswers(problems)
    return clean


def suggestion(key: str, instrument: Instrument) -> str | None:
    """The item id closest to ``key`` (difflib ratio of at least 0.6), or None."""
    longest = max(len(item_id) for item_id in instrument.ids)
    # ratio = 2 * matches / (len(key) + len(id)) and matches <= len(id): a key longer than 7/3 of the
    # longest id can never reach 0.6, so the costly comparison is skipped for long junk keys
    if len(key) * 3 > longest * 7:
        return None
    import difflib  # here, not at the top: only a bad answer set needs it, and import rolefit stays light

    found = difflib.get_close_matches(key, instrument.ids, n=1, cutoff=0.6)
    return found[0] if found else None


def _shown(value: Any) -> str:
    """At most 60 characters of ``repr(value)``, or its type's name when it cannot be shown."""
    try:
        return repr(value)[:60]
    except (ValueError, RecursionError):  # an int of over 4,300 digits; containers nested too deeply
        return f"<{type(value).__name__}>"


def _problem_text(exc: BaseException, item: Any, value: Any) -> str:
    """What is wrong with ``value``: the text of ``Item.coerce``'s error without its ``item_id: ``
    prefix, or (when showing the value itself failed) the value's type and what is allowed."""
    text = str(exc)
    prefix = f"{item.id}: "
    if isinstance(exc, ValueError) and text.startswith(prefix):
        return text[len(prefix) :]
    return f"got a {type(value).__name__} too large or too deeply nested to show; allowed: {item.allowed()}"
