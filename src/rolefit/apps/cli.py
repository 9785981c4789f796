"""The ``rolefit`` command line (typer): thin wrappers around the library."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rolefit.apps import (
    contributions_command,
    guidance_commands,
    monitor_command,
    pipeline_commands,
    quiz,
    recalibrate_command,
)
from rolefit.apps.console import (
    ANSWERS_HELP,
    BASE_RATE_HELP,
    MODEL_HELP,
    base_rate_option,
    fail,
    one_line,
    person_errors,
    read_answers,
)
from rolefit.apps.guidance_text import FACTS_CHOICES, render_result

app = typer.Typer(
    help="rolefit: how well you fit software engineering (SWE) versus ML engineering (MLE).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    """``rolefit --version``: the package's version and the model that would answer (and how chosen)."""
    if not value:
        return
    import rolefit
    from rolefit.errors import RolefitError
    from rolefit.scoring.loader import load_model

    typer.echo(f"rolefit {rolefit.__version__}")
    try:
        info = load_model().info
    except RolefitError as exc:
        typer.echo(f"model: none loaded ({one_line(exc)})")
    else:
        typer.echo(f"model: {info.describe()}")
    raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print rolefit's version and the version of the model that answers, then exit.",
    ),
) -> None:
    """rolefit: how well you fit software engineering (SWE) versus ML engineering (MLE)."""


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
    answers: str = typer.Option(..., "--answers", "-a", help=ANSWERS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON (with guidance)."),
    top: int = typer.Option(5, help="How many reasons to show."),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
    facts: str = typer.Option(
        "fitting", "--facts", help="Facts about the roles: fitting (your best fit's), both, or none."
    ),
    steps: int = typer.Option(3, "--steps", min=0, help="Next steps shown per role."),
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
):
    """Predict role fit for one person's answers: the fit and its reasons, where you stand today in each
    role, next steps, and the roles explained.

    --json prints Prediction.to_dict() with Guidance.to_dict() under "guidance"."""
    from rolefit.guidance.advice import guide
    from rolefit.guidance.questions import next_questions
    from rolefit.scoring.predictor import predict as run_predict

    if facts not in FACTS_CHOICES:
        fail(f"invalid --facts: facts must be one of {', '.join(FACTS_CHOICES)}; got {facts!r}")
    rate = base_rate_option(base_rate)
    data = read_answers(answers)
    with person_errors():
        result = run_predict(data, base_rate=rate, model=model)
        guidance = guide(data, base_rate=rate, model=model, prediction=result, k=max(steps, 3))
        asked = []
        if guidance.answers_needed:  # not enough to name a role: what would tell most next
            asked = next_questions(result.answers, 3, model=model, base_rate=rate, of="fit")
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "guidance": guidance.to_dict()}, indent=2))
        return
    questions = asked[:1] if not result.answers else asked
    typer.echo(render_result(result, guidance, top=top, own_base_rate=rate is not None, facts=facts,
                             steps=steps, questions=questions))  # fmt: skip


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, help="Port."),
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
    allow_unsigned: bool = typer.Option(
        False,
        "--allow-unsigned",
        help="Serve a model even when no signing key is configured to verify it (checksums only).",
    ),
    allowed_host: list[str] = typer.Option(
        [],
        "--allowed-host",
        metavar="NAME",
        help="A host name the server answers besides 127.0.0.1, localhost and [::1] (requests for other "
        "names get 400: a DNS-rebinding defence); repeatable. Also ROLEFIT_ALLOWED_HOSTS=name1,name2; "
        "'*' answers any name. The --host address is answered too.",
    ),
    client_limit: int = typer.Option(
        4,
        "--client-limit",
        min=0,
        metavar="N",
        help="Scoring requests one client address may have in progress at once (more get 429); 0: no "
        "limit (e.g. behind a backend that sends everyone's requests from one address).",
    ),
    collect: bool = typer.Option(
        False,
        "--collect",
        help="Let people who work as SWEs or MLEs add their answers and current role (opt-in per person, "
        "with a deletion code); off by default: the contribution endpoints then answer 404.",
    ),
    collect_db: str = typer.Option(
        None,
        "--collect-db",
        metavar="URL",
        help="The contributions database: a SQLAlchemy URL (postgresql://user@host/db) or a SQLite file "
        "(default: ROLEFIT_COLLECT_DB, else data/contributions/contributions.sqlite).",
    ),
    collect_max_rows: int = typer.Option(
        100_000, "--collect-max-rows", min=1, metavar="N", help="Contributions kept at most; then refused."
    ),
    collect_rate: int = typer.Option(
        10,
        "--collect-rate",
        min=0,
        metavar="N",
        help="Contribution and deletion requests one client address may send a minute; 0: no limit.",
    ),
):
    """Serve the questionnaire page and the REST API (FastAPI on uvicorn).

    Refuses (exit 3) a model that no signing key verifies, unless --allow-unsigned. With --collect the
    contributions database is migrated (Alembic) before serving; the server is its only writer."""
    from rolefit.errors import MissingExtra, require

    try:
        require("serve", "rolefit serve", ("fastapi", "fastapi_offline", "uvicorn"))
    except MissingExtra as exc:
        fail(str(exc), code=4)
    from rolefit.apps.guard import allowed_hosts
    from rolefit.apps.server import serve as run_server
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.loader import load_model

    settings = None
    try:
        allowed_hosts(allowed_host)  # an entry that is not a host name is named before anything starts
    except ValueError as exc:
        fail(str(exc))
    try:
        loaded = load_model(model)  # verified now and cached: the app serves this very load
        if not loaded.info.verified and not allow_unsigned:
            fail(
                f"refusing to serve the unverified model at {loaded.path}: no signing key is configured "
                "to check it; set ROLEFIT_SIGNING_KEY_FILE to the key that signed it (or keep the "
                "project's key in <project>/.rolefit/signing.key), or pass --allow-unsigned",
                code=3,
            )
        if collect:
            settings = collect_settings(collect_db, collect_max_rows, collect_rate)
            from rolefit.collect.migrate import shown_url

            typer.echo(f"collecting contributed answers (opt-in) into {shown_url(settings.url)}", err=True)
        elif collect_db:
            fail("--collect-db names the contributions database: give it with --collect")
        run_server(host=host, port=port, model=model, allowed_hosts=allowed_host,
                   client_limit=client_limit or None, collect=settings)  # fmt: skip
    except BundleError as exc:
        fail(str(exc), code=3)
    except Exception as exc:
        if settings is None or not type(exc).__module__.startswith(("sqlalchemy", "alembic", "psycopg")):
            raise
        from rolefit.collect.migrate import shown_url

        fail(f"the contributions database {shown_url(settings.url)} could not be opened: {one_line(exc)}")


def collect_settings(db: str | None, max_rows: int, rate: int):
    """--collect's settings; a clear error when the ``collect`` extra is not installed."""
    try:
        from rolefit.apps.collect_api import CollectSettings
        from rolefit.collect.migrate import database_url
    except ImportError as exc:
        fail(f"--collect needs the collect extra ({exc.name} is missing): pip install 'rolefit[collect]'")
    return CollectSettings(database_url(db), max_rows, rate or None)


@app.command()
def score(
    input_file: Path = typer.Argument(..., help="CSV or Parquet of answers, one respondent per row."),
    output_file: Path = typer.Argument(..., help="Where to write the scores (.csv or .parquet)."),
    reasons: int = typer.Option(0, "--reasons", help="Also write the top K reasons (item ids)."),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", help="Rows read and scored at a time."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    base_rate: str = typer.Option(None, "--base-rate", metavar="FLOAT", help=BASE_RATE_HELP),
):
    """Score a whole file in chunks (bounded memory): the fit's p_swe, p_mle, role, prediction_set,
    verdict (and reasons), then the all-answers model's all_answers_p_swe ... all_answers_verdict.

    ``verdict`` is clear, leaning, toss-up, or no-information (a row with no answers). A CSV output's
    text cells never start a spreadsheet formula (see rolefit.data.csvsafe). Exits 2 for bad input, 3 for a
    bad model and 1 when the output cannot be written; the output is then left as it was."""
    from rolefit.errors import MissingExtra, require

    try:
        require("batch", "rolefit score")
    except MissingExtra as exc:
        fail(str(exc), code=4)
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


app.command()(quiz.quiz)
app.add_typer(contributions_command.app, name="contributions")
app.command("next")(guidance_commands.next_command)
app.command("what-if")(guidance_commands.what_if_command)
app.command()(recalibrate_command.recalibrate)
app.command()(monitor_command.monitor)
for command in (
    pipeline_commands.train,
    pipeline_commands.promote,
    pipeline_commands.versions,
    pipeline_commands.ingest,
    pipeline_commands.marginals,
    pipeline_commands.drift,
):
    app.command()(command)


#: The extra each command needs beyond the core (predict, quiz, next, what-if, questionnaire need none).
COMMAND_EXTRAS = {
    "serve": "serve",
    "score": "batch",
    **dict.fromkeys(
        ("train", "promote", "versions", "ingest", "marginals", "drift", "monitor", "recalibrate"), "train"
    ),
}


def main() -> None:  # pragma: no cover - console entry point
    """Run the command line; a command whose extra is not installed says which to install (exit 4)."""
    import sys

    from rolefit.errors import MissingExtra, as_missing_extra

    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    try:
        app()
    except MissingExtra as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(4) from None
    except ModuleNotFoundError as exc:
        missing = as_missing_extra(exc, f"rolefit {command}".strip(), COMMAND_EXTRAS.get(command))
        if missing is None:
            raise
        typer.echo(f"error: {missing}", err=True)
        raise SystemExit(4) from None


if __name__ == "__main__":  # pragma: no cover
    main()
