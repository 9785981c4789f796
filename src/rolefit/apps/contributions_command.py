"""``rolefit contributions``: what the contributions database holds (``stats``), its accepted rows as a
form export of the questionnaire (``export``), and deleting one by its code through the server
(``delete``). The database is read, never written, here: the web server is its only writer."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rolefit.apps.console import fail, one_line

app = typer.Typer(
    help="Contributed answers (rolefit serve --collect): counts, the export for training, deletion.",
    no_args_is_help=True,
)

DB_HELP = (
    "The contributions database: a SQLAlchemy URL or a SQLite file (default: ROLEFIT_COLLECT_DB, else "
    "data/contributions/contributions.sqlite)."
)


def _store(db: str | None):
    try:
        from rolefit.collect.migrate import database_url, shown_url
        from rolefit.collect.store import NoDatabase, Store
    except ImportError as exc:
        fail(f"contributions need the collect extra ({exc.name} is missing): pip install 'rolefit[collect]'")
    url = database_url(db)
    try:
        return Store(url, migrate=False)
    except NoDatabase as exc:
        fail(f"{exc} It is made by rolefit serve --collect (give another with --db or ROLEFIT_COLLECT_DB).")
    except Exception as exc:  # the driver's errors: one clear line, never a traceback
        fail(f"the contributions database {shown_url(url)} could not be read: {one_line(exc)}", code=1)


@app.command()
def stats(
    db: str = typer.Option(None, "--db", metavar="URL", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
):
    """Count the contributions: accepted per role and per month, kept apart with their reasons."""
    from rolefit.collect.stats import summarise

    store = _store(db)
    try:
        summary = summarise(store.rows())
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    roles = summary["accepted_by_role"]
    typer.echo(
        f"{summary['total']:,} contributions: {summary['accepted']:,} accepted "
        f"({roles['swe']:,} software engineers, {roles['mle']:,} ML engineers), "
        f"{summary['kept_apart']:,} kept apart."
    )
    if summary["accepted_by_month"]:
        typer.echo("\nAccepted per month:")
        for month, counts in summary["accepted_by_month"].items():
            typer.echo(f"  {month}  {counts['swe']:>6,} software engineers  {counts['mle']:>6,} ML engineers")
    if summary["kept_apart_by_reason"]:
        typer.echo("\nKept apart (not exported), by reason:")
        for reason, count in summary["kept_apart_by_reason"].items():
            typer.echo(f"  {count:>6,}  {reason}")
    versions = summary["by_instrument_version"]
    if len(versions) > 1:
        typer.echo("\nPer questionnaire version: " + ", ".join(f"{v}: {n:,}" for v, n in versions.items()))


@app.command()
def export(
    target: Path = typer.Argument(..., help="The CSV to write, e.g. data/raw/contributions-2026-12.csv."),
    db: str = typer.Option(None, "--db", metavar="URL", help=DB_HELP),
    min_group: int = typer.Option(
        10,
        "--min-group",
        min=1,
        metavar="N",
        help="A (role, month, questionnaire version) group with fewer contributions has its month blanked.",
    ),
):
    """Write the accepted contributions as a form export of the questionnaire (the instrument adapter
    reads it): role, month and answers; no timestamp finer than the month, and the month blanked for
    any group of fewer than --min-group people. Kept-apart contributions are not exported."""
    from rolefit.collect.export import write_export

    store = _store(db)
    try:
        rows, blanked = write_export(store.rows(), target, min_group=min_group)
    except OSError as exc:
        fail(f"{target} could not be written ({one_line(exc)}); nothing was written", code=1)
    finally:
        store.close()
    note = f" (month left out for {blanked:,}: their group had fewer than {min_group})" if blanked else ""
    typer.echo(f"exported {rows:,} accepted contributions to {target}{note}")


@app.command()
def delete(
    code: str = typer.Argument(..., help="The deletion code, e.g. ABCD-EFGH-JKMN-PQRS."),
    server: str = typer.Option(..., "--server", metavar="URL", help="The rolefit server that has them."),
):
    """Delete a contribution by its deletion code, through the server that collected it."""
    from rolefit.apps.contribute_client import ServerError
    from rolefit.apps.contribute_client import delete as remove

    try:
        deleted = remove(server, code)
    except ServerError as exc:
        fail(str(exc), code=1)
    if not deleted:
        fail("no contribution matches this code (nothing was deleted)", code=1)
    typer.echo("Deleted: your answers are removed and left out of every later export.")
