"""What every ``rolefit`` command shares: how it fails, how it reads ``--base-rate`` and answers."""

from __future__ import annotations

import re
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
MODEL_HELP = (
    "Bundle folder or MLflow model URI (default: ROLEFIT_MODEL, else the project's published champion, "
    "else the model packaged with rolefit)."
)


#: A person's answers are one small JSON object (every item answered fits in 2 KB): a bigger file is
#: not answers, and reading it whole would only cost memory.
MAX_ANSWERS_BYTES = 1 << 20
#: Answers are one level deep (an object of item: value); 10 still lets a nested value be named as a
#: wrong answer, and keeps the parser far from Python's recursion limit (as the web API does).
MAX_ANSWERS_DEPTH = 10
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")


def read_answers(source: str) -> Any:
    """The JSON answers in file ``source`` (``-``: stdin); exit 2 with one line naming the problem.

    The file must be a regular file (a FIFO, device or folder is refused without blocking: ``-`` is
    the way to pipe answers in) of at most ``MAX_ANSWERS_BYTES`` (1 MiB, stdin too), UTF-8 JSON nested
    at most ``MAX_ANSWERS_DEPTH`` levels. Integers of more than ``MAX_DIGITS`` digits are never
    converted: validation refuses them naming the item, as the web API does.
    """
    import json

    limit = f"{MAX_ANSWERS_BYTES:,} bytes (1 MiB)"
    data = _read_stdin() if source == "-" else _read_file(source)
    if len(data) > MAX_ANSWERS_BYTES:
        fail(f"cannot read answers from {_shown(source)}: it holds more than {limit}; a person's answers "
             "are one small JSON object")  # fmt: skip
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"cannot read answers from {_shown(source)}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    deep = (
        f"the answers are nested deeper than {MAX_ANSWERS_DEPTH} levels; give one JSON object of "
        'item: value, e.g. {"interest_math": 5}'
    )
    if _too_deep(text):
        fail(deep)
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        fail(f"the answers are not valid JSON: {exc}")
    except RecursionError:  # not reached after _too_deep; kept so that no input gives a traceback
        fail(deep)
    except ValueError as exc:  # e.g. a number too long to convert
        fail(f"the answers cannot be read as JSON: {one_line(exc)}")


def _shown(source: str) -> str:
    return "stdin" if source == "-" else source


def _read_stdin() -> bytes:
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath (e.g. replaced in tests)
        return sys.stdin.read(MAX_ANSWERS_BYTES + 1).encode("utf-8", "surrogatepass")
    try:
        return stream.read(MAX_ANSWERS_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read answers from stdin: {exc.strerror or exc}")


def _read_file(source: str) -> bytes:
    """At most MAX_ANSWERS_BYTES + 1 bytes of a regular file; exit 2 for anything else."""
    import os
    import stat

    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        fail(f"cannot read answers from {source}: {exc.strerror or exc}")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else ("a pipe" if stat.S_ISFIFO(mode) else "a device")
        fail(f"cannot read answers from {source}: it is {kind}, not a regular file (use --answers - to "
             "read them from stdin)")  # fmt: skip
    with os.fdopen(fd, "rb", buffering=0) as handle:
        try:
            return handle.read(MAX_ANSWERS_BYTES + 1)  # never more, whatever the file's size
        except OSError as exc:
            fail(f"cannot read answers from {source}: {exc.strerror or exc}")


def _too_deep(text: str) -> bool:
    """Whether JSON text nests arrays and objects more than MAX_ANSWERS_DEPTH levels (brackets inside
    strings do not count; malformed text may be misjudged, but the parser refuses it anyway)."""
    if text.count("[") + text.count("{") <= MAX_ANSWERS_DEPTH:
        return False
    depth = 0
    for bracket in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_ANSWERS_DEPTH:
            return True
    return False


def _parse_int(digits: str) -> int:
    """json's parse_int: the number, or one beyond any item's range when it has more than MAX_DIGITS
    digits (never converted, so a 5,000-digit number is refused naming its item, not with a traceback)."""
    from rolefit.scoring.answers import MAX_DIGITS

    if len(digits) - digits.startswith("-") > MAX_DIGITS:
        return -(10 ** (MAX_DIGITS + 1)) if digits.startswith("-") else 10 ** (MAX_DIGITS + 1)
    return int(digits)


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
