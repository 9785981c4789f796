"""``rolefit next`` (Quick mode's next questions, whether the fit is settled and about how many are
left) and ``rolefit what-if`` (the result after changing some answers, with the exact change).

Plain functions with typer options; :mod:`rolefit.apps.cli` registers them on the app. Invalid input
exits 2 naming every offending field, a bad or missing model exits 3 (:mod:`rolefit.apps.console`).
"""

from __future__ import annotations

import json

import typer

from rolefit.apps.console import (
    ANSWERS_HELP,
    BASE_RATE_HELP,
    MODEL_HELP,
    base_rate_option,
    fail,
    person_errors,
    read_answers,
)


def next_command(
    answers: str = typer.Option(..., "--answers", "-a", help=ANSWERS_HELP),
    k: int = typer.Option(3, "--k", min=1, help="How many questions to list, best first."),
    skipped: list[str] = typer.Option(
        None, "--skip", help="An item the person chose not to answer (repeat for more): never asked again."
    ),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"phase", "questions": [...], "settled": {...}, "expected_left"}.'
    ),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
):
    """Quick mode's next questions: those that would tell most about which role fits you until the fit
    is settled, then a few about where you stand today; with about how many are left. With no answers:
    the best first question."""
    from rolefit.apps.guidance_text import render_next
    from rolefit.guidance.quick import quick_questions
    from rolefit.scoring.answers import InvalidAnswers

    rate = base_rate_option(base_rate)
    data = read_answers(answers)
    with person_errors():
        try:
            step = quick_questions(data, k, model=model, base_rate=rate, skipped=skipped or ())
        except InvalidAnswers as exc:  # --skip is an option here, not a field of the answers
            problems = {("--skip" if key == "skipped" else key): text for key, text in exc.problems.items()}
            raise InvalidAnswers(problems) from None
    if as_json:
        typer.echo(json.dumps(step.to_dict(), indent=2))
        return
    typer.echo(render_next(step))


def what_if_command(
    answers: str = typer.Option(..., "--answers", "-a", help=ANSWERS_HELP),
    changes: list[str] = typer.Option(
        ...,
        "--set",
        metavar="ITEM=VALUE",
        help="A changed answer, e.g. skill_statistics=3 (repeat for more; ITEM= removes the answer).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print WhatIf.to_dict()."),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
):
    """Explore: the result after changing some answers, and the exact change in the probability of MLE.

    An exploration tool ("what if I rated statistics 4?"), not advice: next steps come from where you
    stand against people in each role and from the career guides, never from what moves the number.
    """
    from rolefit.apps.guidance_text import render_what_if
    from rolefit.guidance.steps import what_if
    from rolefit.scoring.answers import InvalidAnswers, validate_answers
    from rolefit.scoring.predictor import predict

    rate = base_rate_option(base_rate)
    data = read_answers(answers)
    parsed: dict[str, str | None] = {}
    for change in changes:
        item, sign, value = change.partition("=")
        if not sign or not item.strip():
            fail(f"invalid --set {change!r}: expected ITEM=VALUE, e.g. skill_statistics=3")
        parsed[item.strip()] = value.strip() or None
    with person_errors():
        predict(data, model=model, base_rate=rate)  # the answers' own problems first, named as such
        try:
            validate_answers(parsed)
        except InvalidAnswers as exc:
            raise InvalidAnswers({f"--set {key}": text for key, text in exc.problems.items()}) from None
        result = what_if(data, parsed, model=model, base_rate=rate)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(render_what_if(result))
