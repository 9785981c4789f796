"""The ``rolefit`` command line (typer): thin wrappers around the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(
    help="rolefit: how well you fit software engineering (SWE) versus ML engineering (MLE).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


BASE_RATE_HELP = (
    "The MLE share of your population, strictly between 0 and 1 (e.g. 0.04 if 4 in 100 of the people "
    "you ask are ML engineers); default: the reference survey's mix."
)


def _base_rate(value: str | None) -> float | None:
    """``--base-rate`` checked like an answer: a float in (0, 1), None for the default; else exit 2."""
    from rolefit.scoring.answers import InvalidAnswers, validate_base_rate

    try:
        return validate_base_rate(value)
    except InvalidAnswers as exc:
        problem = exc.problems["base_rate"]
        if "; got" not in problem:
            problem += f"; got {value!r}"
        _fail(f"invalid --base-rate: base_rate {problem}")


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

    rate = _base_rate(base_rate)
    try:
        text = sys.stdin.read() if answers == "-" else Path(answers).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read answers from {answers}: {exc.strerror}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"the answers are not valid JSON: {exc}")
    try:
        result = run_predict(data, base_rate=rate, model=model)
    except InvalidAnswers as exc:
        _fail(str(exc))
    except BundleError as exc:
        _fail(str(exc), code=3)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(render_prediction(result, top=top, own_base_rate=rate is not None))


VERDICT_WORDS = {
    "clear": "a clear fit",
    "leaning": "both fit you, with a lean",
    "toss-up": "a toss-up",
    "no-information": "no information yet",
}


def _percent(share: float) -> str:
    """38% / 4% / 2.5%: as many digits as the share needs (up to four significant)."""
    return f"{share * 100:.4g}%"


def evidence_marker(evidence: dict | None) -> str:
    """A short tag for what backs a reason: ``[real: 2,795 respondents]`` or ``[assumed]``."""
    if evidence and evidence.get("basis") == "real":
        return f"[real: {int(evidence.get('respondents', 0)):,} respondents]"
    return "[assumed]"


def render_prediction(result, top: int = 5, own_base_rate: bool = False) -> str:
    """A short human-readable report of a prediction.

    ``own_base_rate``: the caller gave the population's MLE share (``--base-rate``), so the starting
    point is theirs rather than the reference survey's.
    """
    from rolefit.scoring.reasons import ROLE_NAMES

    p = result.probabilities
    width = 30
    no_information = result.verdict == "no-information"
    if no_information:
        lines = ["No answers yet: no information about either role."]
    else:
        lines = [f"Best fit: {ROLE_NAMES[result.role]}"]
    lines += [
        f"  SWE {p['swe']:6.1%} {'#' * round(p['swe'] * width)}",
        f"  MLE {p['mle']:6.1%} {'#' * round(p['mle'] * width)}",
    ]
    if result.base_rate is not None:
        population = (
            "your population's MLE share, from --base-rate"
            if own_base_rate
            else "the reference survey's mix of SWE and MLE respondents; set yours with --base-rate"
        )
        lines.append(f"Before your answers: {_percent(result.base_rate)} MLE ({population})")
    if result.prediction_set:
        roles = " and ".join(r.upper() for r in result.prediction_set)
        lines.append(
            f"How sure: {VERDICT_WORDS.get(result.verdict, result.verdict)} (prediction set: {roles})"
        )
    if result.explanations:
        lines.append("Top reasons:")
        shown = result.explanations[:top]
        for entry in shown:
            marker = evidence_marker(entry.get("evidence"))
            lines.append(f"  {entry['effect']:+.2f}  {entry['reason']} {marker}")
        bases = {(e.get("evidence") or {}).get("basis", "assumed") for e in shown}
        key = [
            text
            for basis, text in (
                ("real", "[real: n respondents] learned from real survey respondents"),
                ("assumed", "[assumed] from the synthetic prior, not yet measured on real people"),
            )
            if basis in bases
        ]
        lines.append("  (effects in log-odds toward MLE; " + "; ".join(key) + ")")
    else:
        lines.append(
            "No answers given: this is the starting point for someone who skipped everything."
            if no_information
            else "No answer moved the result."
        )
    lines.append(result.notice)
    return "\n".join(lines)


@app.command()
def train(
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
    out: Path = typer.Option(None, help="Bundle folder (default: export.dir from the params)."),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the run and model to MLflow."),
):
    """Train on the default data, evaluate, track in MLflow, and export the champion if it passes the gate.

    Exits 4 when the quality gate refuses the new model (the champion stays as it was)."""
    from rolefit.config import load_params
    from rolefit.ops.publish import train_and_publish
    from rolefit.ops.tracking import GateRefused, TrackingError

    try:
        params = load_params(params_file)
    except ValueError as exc:
        _fail(str(exc))
    root = params_file.resolve().parent
    typer.echo(
        f"building data: {params.synthesize.n_respondents:,} synthetic respondents (survey-calibrated)"
    )
    try:
        published = train_and_publish(params, root, out=out, track=track, log=typer.echo)
    except GateRefused as exc:
        _fail(str(exc) + "; the champion was not changed", code=4)
    except TrackingError as exc:
        _fail(str(exc), code=5)
    typer.echo(format_metrics(published.result.metrics))
    result = published.result
    aliases = "challenger, champion" if published.promoted else "challenger"
    if published.run:
        run_id = published.run["run_id"]
        typer.echo(f"MLflow run {run_id} -> registered rolefit version {published.version} (alias {aliases})")
    if published.promoted:
        typer.echo(f"exported {result.candidate} + {result.calibration} calibration to {published.bundle}")
    else:
        typer.echo("a DVC experiment: recorded as challenger, not promoted (see `rolefit promote`)")


@app.command()
def promote(
    version: str = typer.Argument(..., help="The registered version of the model rolefit to promote."),
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
):
    """Make a registered version (e.g. an experiment's challenger) the champion, if it passes the gate.

    It is judged against the current champion on the same test rows, as at training time. Exits 4 when
    the gate refuses it and 5 when the tracking store fails; the champion stays as it was."""
    from rolefit.config import load_params
    from rolefit.ops.release import promote_version
    from rolefit.ops.tracking import GateRefused, TrackingError
    from rolefit.scoring.registry import configure

    try:
        params = load_params(params_file)
    except ValueError as exc:
        _fail(str(exc))
    root = params_file.resolve().parent
    try:
        configure(root)
        frame = _gate_frame(params, root)
        release = promote_version(version, frame, params, root, log=typer.echo)
    except GateRefused as exc:
        _fail(str(exc) + "; the champion was not changed", code=4)
    except TrackingError as exc:
        _fail(str(exc), code=5)
    except ValueError as exc:
        _fail(str(exc))
    except Exception as exc:  # the registry has no such version, or the store cannot be reached
        _fail(f"could not promote version {version}: {type(exc).__name__}: {str(exc)[:300]}", code=5)
    typer.echo(f"version {release.version} is the champion; exported to {root / params.export.dir}")


def _gate_frame(params, root: Path):
    """The rows the gate compares models on: the pipeline's dataset when built, else the default data."""
    from rolefit.data.dataset import read_dataset, training_frame

    built = root / "data" / "processed" / "dataset.parquet"
    if built.is_file():
        return read_dataset(built)
    return training_frame(params, root)[0]


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, without a final full stop (it is followed by what happened)."""
    return " ".join(str(exc).split()).rstrip(".") or type(exc).__name__


@app.command()
def ingest(
    source_files: list[Path] = typer.Argument(..., help="Survey export(s): CSV, Excel or the survey's zip."),
    adapter: str = typer.Option(..., "--adapter", help="instrument, kaggle2021 or stackoverflow2017."),
    name: str = typer.Option(None, "--source", help="Source name (default: the adapter, or the file stem)."),
    out: Path = typer.Option(Path("data/interim"), "--out", help="Folder for the outputs."),
    chunk_rows: int = typer.Option(
        50_000, "--chunk-rows", help="Rows validated at a time (CSV form exports)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
):
    """Validate survey exports; write accepted rows, every other row with its reason, and a report.

    CSV form exports (adapter ``instrument``) are streamed in chunks, so files of any size fit in memory,
    and several files can be ingested as one source (a respondent in two files is a duplicate).
    Respondent ids become HMAC-SHA256 pseudonyms keyed by ROLEFIT_ID_KEY, else by the project key in
    .rolefit/id.key (made on first use; keep it to keep pseudonyms stable, never commit it); without a
    key they are dropped. Exits 2 when a file is refused (unreadable, another survey, a zip bomb) and 1
    when the outputs cannot be written (e.g. a full disk); either way nothing is written.
    """
    from rolefit.data.ingest import ingest as run_ingest
    from rolefit.data.ingest import ingest_stream, write_ingest

    streaming = adapter == "instrument" and all(f.suffix.lower() in (".csv", ".txt") for f in source_files)
    if not streaming and len(source_files) != 1:
        _fail("several files can be ingested together only as CSV form exports (--adapter instrument)")
    try:
        if streaming:
            r = ingest_stream(source_files, name or source_files[0].stem, out, chunk_rows=chunk_rows,
                              progress=progress)  # fmt: skip
            suffixes = {"accepted": ".parquet", "rejects": ".rejects.csv", "report": ".report.json"}
            paths = {key: out / f"{r['source']}{suffix}" for key, suffix in suffixes.items()}
        else:
            result = run_ingest(source_files[0], adapter, source=name)
            paths = write_ingest(result, out)
            r = result.report
    except (ValueError, FileNotFoundError) as exc:  # the input is refused (SurveyError is a ValueError)
        _fail(f"{_one_line(exc)}; no outputs were written")
    except OSError as exc:
        _fail(f"a file could not be read or written ({_one_line(exc)}); no outputs were written", code=1)
    except Exception as exc:  # still one clear line, never a traceback
        _fail(f"ingest failed ({type(exc).__name__}: {_one_line(exc)}); no outputs were written", code=1)
    typer.echo(
        f"{r['source']}: {r['rows_in_file']:,} rows in file, {r['out_of_scope']:,} out of scope, "
        f"{r['rows_read']:,} read = {r['accepted']:,} accepted + {r['quarantined']:,} quarantined "
        f"+ {r['duplicates']:,} duplicates"
    )
    for reason, count in r["quarantine_reasons"].items():
        typer.echo(f"  quarantined {count:,}: {reason}")
    if r.get("respondent_ids", "").startswith("dropped"):
        typer.echo(f"  respondent ids {r['respondent_ids']}")
    for key, path in paths.items():
        typer.echo(f"  {key}: {path}")


@app.command()
def marginals(
    accepted: Path = typer.Argument(..., help="Ingested Kaggle 2021 rows (data/interim/kaggle2021.parquet)."),
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
):
    """Derive the experience marginals and profiles the synthetic generator matches.

    Uses the respondents of the survey's training split; writes ``marginals.out`` and its
    ``.profiles.csv`` sidecar (atomically: a failure leaves the previous files). Exits 2 when the input
    cannot be used and 1 when the files cannot be written.
    """
    import pandas as pd

    from rolefit.config import load_params
    from rolefit.data.reference import write_reference

    if not accepted.is_file():
        _fail(f"{accepted} does not exist: ingest the survey first (rolefit ingest or dvc repro ingest)")
    try:
        params = load_params(params_file)
        paths = write_reference(pd.read_parquet(accepted), params)
    except (ValueError, FileNotFoundError) as exc:
        _fail(f"{_one_line(exc)}; nothing was written")
    except OSError as exc:
        _fail(f"a file could not be read or written ({_one_line(exc)}); nothing was written", code=1)
    except Exception as exc:  # e.g. a parquet file without the experience columns
        _fail(f"marginals failed ({type(exc).__name__}: {_one_line(exc)}); nothing was written", code=1)
    for path in paths.values():
        typer.echo(f"wrote {path} from the training split of {accepted}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8000, help="Port."),
    model: str = typer.Option(
        None, "--model", help="Bundle folder (default: ROLEFIT_MODEL or models/champion)."
    ),
):
    """Serve the questionnaire page and the REST API (FastAPI on uvicorn)."""
    from rolefit.apps.web import serve as run_server
    from rolefit.scoring.bundle import BundleError

    try:
        run_server(host=host, port=port, model=model)
    except BundleError as exc:
        _fail(str(exc), code=3)


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

    rate = _base_rate(base_rate)
    console = Console()
    try:
        load_model(model)
    except BundleError as exc:
        _fail(str(exc), code=3)
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

    rate = _base_rate(base_rate)
    try:
        rows = score_file(input_file, output_file, top_k=reasons, chunk_rows=chunk_rows,
                          progress=progress, base_rate=rate)  # fmt: skip
    except (InvalidAnswers, ValueError, FileNotFoundError) as exc:
        _fail(f"{_one_line(exc)}; nothing was written to {output_file}")
    except BundleError as exc:
        _fail(_one_line(exc), code=3)
    except OSError as exc:
        _fail(f"a file could not be read or written ({_one_line(exc)}); nothing was written", code=1)
    except Exception as exc:  # still one clear line, never a traceback
        _fail(f"scoring failed ({type(exc).__name__}: {_one_line(exc)}); nothing was written", code=1)
    typer.echo(f"scored {rows:,} rows into {output_file}")


@app.command()
def drift(
    survey: Path = typer.Argument(
        ..., help="A new survey: an ingested .parquet, or a raw export with --adapter."
    ),
    adapter: str = typer.Option(None, "--adapter", help="Ingest the raw file with this adapter first."),
    reference_source: str = typer.Option("all", "--reference", help="Training source to compare with."),
    model: str = typer.Option(
        None, "--model", help="Bundle folder (default: ROLEFIT_MODEL or models/champion)."
    ),
    params_file: Path = typer.Option(
        Path("params.yaml"), "--params", help="Parameters file (drift thresholds)."
    ),
    out: Path = typer.Option(Path("reports/drift.json"), "--out", help="Where to write the report."),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the report to MLflow."),
):
    """Compare a new survey with the training data; exits 1 when a drift threshold is crossed.

    Exits 2 when the survey, the model or the parameters cannot be used or the report cannot be
    written."""
    import pandas as pd

    from rolefit import atomic
    from rolefit.config import load_params
    from rolefit.evaluation.drift import compare
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.loader import load_model

    try:
        params = load_params(params_file)
        loaded = load_model(model)
    except (ValueError, BundleError) as exc:
        _fail(str(exc))
    reference = json.loads((loaded.path / "reference.json").read_text())
    if reference_source not in reference:
        _fail(
            f"no training reference named {reference_source!r}; choose one of {', '.join(sorted(reference))}"
        )
    if not adapter and survey.suffix != ".parquet":
        _fail("give an ingested .parquet file, or a raw export together with --adapter")
    try:
        if adapter:
            from rolefit.data.ingest import ingest as run_ingest

            frame = run_ingest(survey, adapter).accepted
        else:
            frame = pd.read_parquet(survey)
        report = compare(frame, reference[reference_source], params.drift)
        report.update(survey=survey.name, reference=reference_source, model_version=loaded.version)
        atomic.write_text(out, json.dumps(report, indent=2, sort_keys=True))
    except (ValueError, OSError) as exc:  # a refused survey (SurveyError is a ValueError) or a failed write
        _fail(f"{_one_line(exc)}; no drift report was written")
    except Exception as exc:  # still one clear line, never a traceback
        _fail(f"drift failed ({type(exc).__name__}: {_one_line(exc)}); no drift report was written")
    typer.echo(
        f"{survey.name}: {report['n']:,} respondents vs training reference '{reference_source}': "
        f"max PSI {report['max_psi']:.3f}, mean PSI {report['mean_psi']:.3f}"
        + (f", MLE share shift {report['label_shift']['shift']:+.3f}" if "label_shift" in report else "")
    )
    if track:
        import mlflow

        from rolefit.scoring.registry import configure

        configure(params_file.resolve().parent)
        with mlflow.start_run(run_name=f"drift {survey.name}"):
            mlflow.set_tags(
                {"kind": "drift", "drifted": str(report["drifted"]).lower(), "reference": reference_source}
            )
            mlflow.log_metrics({"max_psi": report["max_psi"], "mean_psi": report["mean_psi"],
                                "alarms": len(report["alarms"])})  # fmt: skip
            mlflow.log_dict(report, "drift.json")
    for alarm in report["alarms"]:
        typer.echo(f"  ALARM {alarm}")
    typer.echo(f"report: {out}")
    if report["drifted"]:
        raise typer.Exit(1)


def format_metrics(metrics: dict[str, dict[str, float]]) -> str:
    lines = ["test metrics:"]
    for key, values in metrics.items():
        if not key.startswith("test/"):
            continue
        line = (
            f"  {key[5:]:<30} n={int(values['n']):>6}  log loss {values['log_loss']:.4f}  "
            f"ECE {values['ece']:.4f}  ROC AUC {values['roc_auc']:.4f}  accuracy {values['accuracy']:.3f}"
        )
        if "bayes_log_loss" in values:
            line += (
                f"\n  {'':<30} Bayes log loss {values['bayes_log_loss']:.4f}  "
                f"ratio {values['log_loss_ratio_to_bayes']:.4f}"
            )
        lines.append(line)
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
