"""The ``rolefit`` command line (typer): thin wrappers around the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from rolefit.apps import pipeline_commands
from rolefit.apps.console import BASE_RATE_HELP, base_rate_option, fail, one_line
from rolefit.apps.text import render_prediction

app = typer.Typer(
    help="rolefit: how well you fit software engineering (SWE) versus ML engineering (MLE).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def questionnaire(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")):
    """Print the questionnaire's items."""
    from rolefit.instrument.items import load_instrument

    instrument = load_instrument()
    if as_json:
        typer.echo(json.dumps(instrument.to_dict(), indent=2))
        return
    typer.echo(f"rolefit questionnaire v{instrument.version} ({len(instrument)} items, all optional)")
    for group in instrument.groups:
        typer.echo(f"\n{group.title} - {group.prompt}")
        for item in instrument.items:
            if item.group == group.id:
                typer.echo(f"  {item.id:<30} {item.text}  [{item.allowed()}]")


@app.command()
def predict(
    answers: str = typer.Option(..., "--answers", "-a", help="JSON file of answers, or - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    top: int = typer.Option(5, help="How many reasons to show."),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
    model: str = typer.Option(
        None, "--model", help="Bundle folder (default: ROLEFIT_MODEL or models/champion)."
    ),
):
    """Predict role fit for one person's answers."""
    from rolefit.scoring.answers import InvalidAnswers
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.predictor import predict as run_predict

    rate = base_rate_option(base_rate)
    try:
        text = sys.stdin.read() if answers == "-" else Path(answers).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read answers from {answers}: {exc.strerror}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"the answers are not valid JSON: {exc}")
    try:
        result = run_predict(data, base_rate=rate, model=model)
    except InvalidAnswers as exc:
        fail(str(exc))
    except BundleError as exc:
        fail(str(exc), code=3)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(render_prediction(result, top=top, own_base_rate=rate is not None))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, help="Port."),
    model: str = typer.Option(
        None, "--model", help="Bundle folder (default: ROLEFIT_MODEL or models/champion)."
    ),
):
    """Serve the questionnaire page and the REST API (FastAPI on uvicorn)."""
    from rolefit.apps.server import serve as run_server
    from rolefit.scoring.bundle import BundleError

    try:
        run_server(host=host, port=port, model=model)
    except BundleError as exc:
        fail(str(exc), code=3)


@app.command()
def quiz(
    model: str = typer.Option(
        None, "--model", help="Bundle folder (default: ROLEFIT_MODEL or models/champion)."
    ),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
):
    """Answer the questionnaire in the terminal (Enter skips a question), then see your result."""
    from rich.console import Console
    from rich.prompt import Prompt

    from rolefit.instrument.items import load_instrument
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.loader import load_model
    from rolefit.scoring.predictor import predict

    rate = base_rate_option(base_rate)
    console = Console()
    try:
        load_model(model)
    except BundleError as exc:
        fail(str(exc), code=3)
    instrument = load_instrument()
    console.print("[bold]rolefit[/bold] — every question is optional: press Enter to skip.\n")
    answers = {}
    for group in instrument.groups:
        console.rule(f"{group.title}: {group.prompt}")
        for item in instrument.items:
            if item.group != group.id:
                continue
            hint = _quiz_hint(item)
            while True:
                try:
                    raw = Prompt.ask(
                        f"{item.text} [dim]{hint}[/dim]", default="", show_default=False, console=console
                    )
                except EOFError:
                    raw = ""
                if not raw.strip():
                    break
                value = raw.strip()
                if item.kind == "choice" and value.isdigit() and 1 <= int(value) <= len(item.choices):
                    value = item.choices[int(value) - 1].id
                try:
                    if item.coerce(value) is not None:
                        answers[item.id] = value
                    break
                except ValueError:
                    console.print(f"[red]Please answer {item.allowed()}, or press Enter to skip.[/red]")
    result = predict(answers, model=model, base_rate=rate)
    console.print()
    # markup off: the evidence markers are in square brackets, which rich would read as styles
    report = render_prediction(result, top=6, own_base_rate=rate is not None)
    console.print(report, markup=False, highlight=False, soft_wrap=True)


def _quiz_hint(item) -> str:
    if item.kind == "scale":
        return f"(1 = {item.scale.labels[0]} … 5 = {item.scale.labels[-1]})"
    if item.kind == "choice":
        return "(" + ", ".join(f"{k} {c.label}" for k, c in enumerate(item.choices, start=1)) + ")"
    if item.kind == "binary":
        return "(y/n)"
    return f"({item.min:g}–{item.max:g})"


@app.command()
def score(
    input_file: Path = typer.Argument(..., help="CSV or Parquet of answers, one respondent per row."),
    output_file: Path = typer.Argument(..., help="Where to write the scores (.csv or .parquet)."),
    reasons: int = typer.Option(0, "--reasons", help="Also write the top K reasons (item ids)."),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", help="Rows read and scored at a time."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
):
    """Score a whole file in chunks (bounded memory): p_swe, p_mle, role, prediction_set, verdict.

    ``verdict`` is clear, leaning, toss-up, or no-information (a row with no answers). A CSV output's
    text cells never start a spreadsheet formula (see rolefit.data.csvsafe). Exits 2 for bad input, 3 for a
    bad model and 1 when the output cannot be written; the output is then left as it was."""
    from rolefit.scoring.answers import InvalidAnswers
    from rolefit.scoring.batch import score_file
    from rolefit.scoring.bundle import BundleError

    rate = base_rate_option(base_rate)
    try:
        rows = score_file(input_file, output_file, top_k=reasons, chunk_rows=chunk_rows,
                          progress=progress, base_rate=rate)  # fmt: skip
    except (InvalidAnswers, ValueError, FileNotFoundError) as exc:
        fail(f"{one_line(exc)}; nothing was written to {output_file}")
    except BundleError as exc:
        fail(one_line(exc), code=3)
    except OSError as exc:
        fail(f"a file could not be read or written ({one_line(exc)}); nothing was written", code=1)
    except Exception as exc:  # still one clear line, never a traceback
        fail(f"scoring failed ({type(exc).__name__}: {one_line(exc)}); nothing was written", code=1)
    typer.echo(f"scored {rows:,} rows into {output_file}")


for command in (
    pipeline_commands.train,
    pipeline_commands.promote,
    pipeline_commands.ingest,
    pipeline_commands.marginals,
    pipeline_commands.drift,
):
    app.command()(command)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
