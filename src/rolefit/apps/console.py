"""What every ``rolefit`` command shares: how it fails, and how it reads ``--base-rate``."""

from __future__ import annotations

from typing import NoReturn

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
