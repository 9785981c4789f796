"""What every ``rolefit`` command shares: how it fails, how it reads ``--base-rate`` and answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code`` (2: bad input, 3: bad model, ...)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


BASE_RATE_HELP = (
    "The MLE share of your population, strictly between 0 and 1 (e.g. 0.04 if 4 in 100 of the people "
    "you ask are ML engineers); default: the reference survey's mix."
)


def base_rate_option(value: str | None) -> float | None:
    """``--base-rate`` checked like an answer: a float in (0, 1), None for the default; else exit 2."""
    from rolefit.scoring.answers import InvalidAnswers, validate_base_rate

    try:
        return validate_base_rate(value)
    except InvalidAnswers as exc:
        problem = exc.problems["base_rate"]
        if "; got" not in problem:
            problem += f"; got {value!r}"
        fail(f"invalid --base-rate: base_rate {problem}")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, without a final full stop (it is followed by what happened)."""
    return " ".join(str(exc).split()).rstrip(".") or type(exc).__name__


ANSWERS_HELP = "JSON file of answers, or - for stdin."
MODEL_HELP = "Bundle folder (default: ROLEFIT_MODEL or models/champion)."


def read_answers(source: str) -> Any:
    """The JSON answers in file ``source`` (``-``: stdin); exit 2 naming the problem if unreadable."""
    import json
    import sys
    from pathlib import Path

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read answers from {source}: {exc.strerror}")
    except UnicodeDecodeError as exc:
        fail(f"cannot read answers from {source}: not UTF-8 text ({exc.reason})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"the answers are not valid JSON: {exc}")


@contextmanager
def person_errors() -> Iterator[None]:
    """Exit 2 for invalid answers (naming every field), 3 for a bad or missing model."""
    from rolefit.scoring.answers import InvalidAnswers
    from rolefit.scoring.bundle import BundleError

    try:
        yield
    except InvalidAnswers as exc:
        fail(str(exc))
    except BundleError as exc:
        fail(str(exc), code=3)
