"""``rolefit quiz``: the questionnaire in the terminal, then the same report as ``rolefit predict``.

Two ways through it (``--mode``, asked when not given):

* **quick** (the default): Quick mode (:func:`rolefit.guidance.quick.quick_questions`). First one
  question at a time about what suits the person, always the one whose answer is expected to tell most
  about the fit, until the fit is settled (more answers are unlikely to change it) — then the person may
  go on (asked again every few questions); then the short "where do you stand today?" block; then the
  result. Each question says about how many are left (the stopping rule's estimate, never a fixed
  number);
* **all**: every question, group by group.

Enter skips a question at any time; a skipped question is not asked again.

Given a server that collects answers (``--contribute-to URL`` or ``ROLEFIT_CONTRIBUTE_TO``, a ``rolefit
serve --collect``), after the result the quiz asks whether the person works as a software engineer or
an ML engineer today and, if so, whether they want to add their answers and role: it shows what is kept
and what is not, and posts them through the REST API only on a yes, then prints the deletion code.
"""

from __future__ import annotations

import typer

from rolefit.apps.console import BASE_RATE_HELP, MODEL_HELP, base_rate_option, fail

MODES = ("quick", "all")
MODE_QUESTION = "Quick (what suits you until it is settled, then where you stand today) or All questions?"
#: After going on past a settled result, the person is offered the result again after this many more.
GO_ON_BATCH = 5


def quiz(
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
    mode: str = typer.Option(
        None, "--mode", help="quick (adaptive, stops when settled) or all (every question); else asked."
    ),
    contribute_to: str = typer.Option(
        None,
        "--contribute-to",
        metavar="URL",
        envvar="ROLEFIT_CONTRIBUTE_TO",
        help="A rolefit server that collects answers (rolefit serve --collect): after your result you are "
        "asked whether you want to add your answers and current role to it (only on a yes).",
    ),
):
    """Answer the questionnaire in the terminal (Enter skips a question), then see your result."""
    from rich.console import Console

    from rolefit.apps.guidance_text import render_result
    from rolefit.guidance.advice import guide
    from rolefit.guidance.questions import next_questions
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.loader import load_model
    from rolefit.scoring.predictor import predict

    rate = base_rate_option(base_rate)
    if mode is not None and mode.lower() not in MODES:
        fail(f"invalid --mode: mode must be one of {', '.join(MODES)}; got {mode!r}")
    console = Console()
    try:
        load_model(model)
    except BundleError as exc:
        fail(str(exc), code=3)
    console.print("[bold]rolefit[/bold] — every question is optional: press Enter to skip.\n")
    if mode is None:
        mode = _ask_mode(console)
    answers: dict[str, str] = {}
    skipped: list[str] = []
    if mode.lower() == "quick":
        _ask_quick(console, answers, skipped, model=model, rate=rate)
    else:
        _ask_all(console, answers, skipped)
    result = predict(answers, model=model, base_rate=rate)
    guidance = guide(answers, model=model, base_rate=rate, prediction=result)
    questions = []
    if guidance.answers_needed:
        questions = next_questions(answers, 3, model=model, base_rate=rate, skipped=skipped, of="fit")
    console.print()
    # markup off: the evidence markers are in square brackets, which rich would read as styles
    report = render_result(
        result, guidance, top=6, own_base_rate=rate is not None,
        questions=questions[:1] if not result.answers else questions,
    )  # fmt: skip
    console.print(report, markup=False, highlight=False, soft_wrap=True)
    if contribute_to and answers:
        offer_contribution(console, contribute_to, answers)


ROLE_CHOICES = {"s": "swe", "software": "swe", "swe": "swe", "m": "mle", "ml": "mle", "mle": "mle"}


def offer_contribution(console, server: str, answers: dict[str, str]) -> None:
    """Ask whether the person works as a SWE or MLE today and wants to add their answers; on a yes,
    post them to ``server`` and print the deletion code. Never fails the quiz: a server that cannot
    be reached or does not collect is said in one line."""
    from rolefit.apps.contribute_client import ServerError, contribute, statement

    try:
        about = statement(server)
    except ServerError as exc:
        console.print(f"\n[dim]Your answers cannot be added: {exc}.[/dim]", highlight=False)
        return
    console.print()
    console.rule("Add your answers?")
    console.print(about.get("question", ""), markup=False, highlight=False)
    while True:
        raw = (
            _prompt(
                console, "Your role today [dim](s = software engineer, m = ML engineer; Enter: neither)[/dim]"
            )
            .strip()
            .lower()
        )
        if not raw:
            console.print("No problem: nothing was sent.")
            return
        if raw in ROLE_CHOICES:
            role = ROLE_CHOICES[raw]
            break
        console.print("[red]Please answer s (software engineer) or m (ML engineer), or press Enter.[/red]")
    console.print("\nWhat is kept:", markup=False)
    for line in about.get("kept", []):
        console.print(f"  - {line}", markup=False, highlight=False)
    console.print("What is not kept:", markup=False)
    for line in about.get("not_kept", []):
        console.print(f"  - {line}", markup=False, highlight=False)
    console.print(f"\n{about.get('statement', '')}", markup=False, highlight=False)
    name = "a software engineer" if role == "swe" else "an ML engineer"
    yes = _prompt(console, f"Add your answers and your role ({name}) to {server}? [dim](y/N)[/dim]")
    if yes.strip().lower() not in ("y", "yes"):
        console.print("Nothing was sent.")
        return
    try:
        reply = contribute(server, answers, role)
    except ServerError as exc:
        console.print(f"[red]Your answers were not added: {exc}.[/red]", highlight=False)
        return
    console.print("\n[bold]Thank you: your answers were added.[/bold]")
    if reply.get("status") == "kept_apart":
        console.print(
            f"They are kept apart from the training data: {reply.get('reason')}",
            markup=False,
            highlight=False,
        )
    console.print(f"Your deletion code: [bold]{reply.get('deletion_code')}[/bold]", highlight=False)
    console.print(
        "Keep it: it cannot be sent again. To remove your answers at any time:\n"
        f"  rolefit contributions delete --server {server} {reply.get('deletion_code')}",
        markup=False,
        highlight=False,
    )


def _prompt(console, text: str) -> str:
    from rich.prompt import Prompt

    try:
        return Prompt.ask(text, default="", show_default=False, console=console)
    except EOFError:
        return ""


def _ask_mode(console) -> str:
    while True:
        raw = _prompt(console, f"{MODE_QUESTION} [dim](q = quick, a = all; Enter: quick)[/dim]")
        raw = raw.strip().lower()
        if raw in ("", "q", "quick"):
            return "quick"
        if raw in ("a", "all"):
            return "all"
        console.print("[red]Please answer q (quick) or a (all questions).[/red]")


def ask_item(console, item, text: str | None = None) -> str | None:
    """Ask one item until the answer is allowed; None when the person skips it (Enter)."""
    hint = _hint(item)
    while True:
        raw = _prompt(console, f"{text or item.text} [dim]{hint}[/dim]")
        if not raw.strip():
            return None
        value = raw.strip()
        if item.kind == "choice" and value.isdigit() and 1 <= int(value) <= len(item.choices):
            value = item.choices[int(value) - 1].id
        try:
            return value if item.coerce(value) is not None else None
        except ValueError:
            console.print(f"[red]Please answer {item.allowed()}, or press Enter to skip.[/red]")


def _ask_all(console, answers: dict[str, str], skipped: list[str]) -> None:
    from rolefit.instrument.items import load_instrument

    instrument = load_instrument()
    questions = {q.id: q for q in instrument.questions}
    for group in instrument.groups:
        console.rule(f"{group.title}: {group.prompt}")
        for item in instrument.items:
            if item.group != group.id:
                continue
            if item.question is None:
                _keep(item.id, ask_item(console, item), answers, skipped)
            elif item.id == questions[item.question].items[0]:  # the question once, by numbers
                options = [instrument[i] for i in questions[item.question].items]
                ticked = ask_multi(console, questions[item.question], options)
                for option in options:
                    _keep(
                        option.id, None if ticked is None else str(int(option.id in ticked)), answers, skipped
                    )


def ask_multi(console, question, options, text: str | None = None) -> set[str] | None:
    """Ask a multi-choice question by numbers ("1 4", "0" for none of them) until the answer is allowed;
    the ids of the options ticked, or None when the person skips it (Enter)."""
    listed = ", ".join(f"{k} {o.text}" for k, o in enumerate(options, start=1))
    while True:
        raw = _prompt(
            console, f"{text or question.text} [dim](numbers of all that apply; 0 none: {listed})[/dim]"
        )
        if not raw.strip():
            return None
        tokens = raw.replace(",", " ").split()
        if all(t.isdigit() and 0 <= int(t) <= len(options) for t in tokens) and not (
            "0" in tokens and len(tokens) > 1
        ):
            return {options[int(t) - 1].id for t in tokens if int(t) > 0}
        console.print(
            f"[red]Please answer with numbers from 1 to {len(options)} (e.g. 1 3), 0 for none of them, "
            "or press Enter to skip.[/red]"
        )


def _ask_quick(console, answers: dict[str, str], skipped: list[str], *, model, rate) -> None:
    from rolefit.apps.guidance_text import question_text
    from rolefit.guidance.questions import next_questions
    from rolefit.guidance.quick import quick_questions
    from rolefit.instrument.items import load_instrument

    instrument = load_instrument()
    console.print(
        "Quick: first the questions that tell most about which role fits you, until more answers are "
        "unlikely to change it; then a few about where you stand today.\n"
    )
    asked = 0

    def ask(question, left: int | None) -> None:
        nonlocal asked
        asked += 1
        about = f" [dim](about {left} question{'s' if left != 1 else ''} left)[/dim]" if left else ""
        text = f"[dim]{asked}.[/dim] {question_text(question.question, question.prompt)}{about}"
        _keep(question.item, ask_item(console, instrument[question.item], text), answers, skipped)

    offer_at, told = 0, False
    while True:
        step = quick_questions(answers, 1, model=model, base_rate=rate, skipped=skipped)
        if step.phase == "fit":
            ask(step.questions[0], step.expected_left)
            continue
        if not step.settled.remaining:  # every fit question answered or skipped
            break
        if asked >= offer_at:
            fit_answers = step.settled.answered
            console.print(
                f"\n[bold]Settled[/bold]: after {fit_answers} answer{'s' if fit_answers != 1 else ''} about "
                "what suits you, more are unlikely to change which role fits you."
            )
            more = _prompt(console, "Answer a few more questions anyway? [dim](y/N)[/dim]").strip().lower()
            if more not in ("y", "yes"):
                break
            offer_at = asked + GO_ON_BATCH
        (question,) = next_questions(answers, 1, model=model, base_rate=rate, skipped=skipped, of="fit")
        ask(question, None)
    while True:
        step = quick_questions(answers, 1, model=model, base_rate=rate, skipped=skipped)
        if step.phase != "readiness":
            break
        if not told:
            told = True
            console.rule("Where do you stand today? Your experience so far")
        ask(step.questions[0], step.expected_left)
    given = {instrument.question_of(i) for i in answers}
    passed = {instrument.question_of(i) for i in skipped}
    console.print(
        f"\nYou answered {len(given)} of {len(instrument.question_ids)} questions"
        f"{f' (skipped {len(passed)})' if passed else ''}."
    )


def _keep(item: str, value: str | None, answers: dict[str, str], skipped: list[str]) -> None:
    if value is None:
        skipped.append(item)
    else:
        answers[item] = value


def _hint(item) -> str:
    if item.kind == "scale":
        return f"(1 = {item.scale.labels[0]} … 5 = {item.scale.labels[-1]})"
    if item.kind == "choice":
        return "(" + ", ".join(f"{k} {c.label}" for k, c in enumerate(item.choices, start=1)) + ")"
    if item.kind == "binary":
        return "(y/n)"
    return f"({item.min:g}–{item.max:g})"
