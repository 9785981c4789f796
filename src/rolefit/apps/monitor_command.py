"""``rolefit monitor``: new responses against the champion, and whether to retrain, in words."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rolefit.apps.console import MODEL_HELP, fail, one_line


def read_export(path: Path, adapter: str | None, source: str | None, rows: dict[str, str], params):
    """The rows to monitor, with a ``source`` column.

    A ``.parquet`` file is rows rolefit wrote (ingest, or the processed dataset with ``source`` and
    ``split``); anything else is a raw export, read with ``adapter``, or with the adapter of the
    ``ingest.sources`` entry whose file has this name (then that entry's name is the source), or as a
    form export of the questionnaire."""
    import pandas as pd

    from rolefit.data.dataset import read_dataset
    from rolefit.data.ingest import ingest

    if path.suffix == ".parquet":
        frame = read_dataset(path)
    else:
        member = None
        if adapter is None:
            match = [(name, s) for name, s in params.ingest.sources.items() if s.file == path.name]
            if match:
                source = source or match[0][0]
                adapter, member = match[0][1].adapter, match[0][1].member
            else:
                adapter = "instrument"
        if adapter == "instrument" and not _has_role_column(path, member):
            frame = _ingest_unlabelled(path, source or path.stem, member)
        else:
            frame = ingest(path, adapter, source=source, member=member).accepted
    if frame.empty:
        raise ValueError(
            f"No row of {path.name} fits the questionnaire (ingest quarantined every row: "
            f"rolefit ingest {path.name} --adapter {adapter or 'instrument'} says why)"
        )
    if source is not None:
        frame = frame.assign(source=source)
    elif "source" not in frame.columns:
        frame = frame.assign(source=path.stem)
    missing = [column for column in rows if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{path.name} has no column {', '.join(map(repr, missing))} to select rows by; its columns "
            f"include: {', '.join(sorted(map(str, frame.columns))[:40])}."
        )
    keep = pd.Series(True, index=frame.index)
    for column, value in rows.items():
        keep &= frame[column].astype(str) == value
    if not keep.any():
        said = ", ".join(f"{c}={v}" for c, v in rows.items())
        raise ValueError(f"No row of {path.name} has {said}.")
    frame = frame[keep].reset_index(drop=True)
    if "role" in frame.columns:
        frame["role"] = frame["role"].where(frame["role"].isin(["swe", "mle"]))
    return frame


def _has_role_column(path: Path, member: str | None) -> bool:
    from rolefit.data.adapters.instrument import normalise_header
    from rolefit.data.io import open_text, read_records

    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        import pandas as pd

        header = list(pd.read_excel(path, nrows=0).columns)
    else:
        with open_text(path, member=member) as (handle, label):
            header, _ = read_records(handle, label=label)
    return any(normalise_header(str(column)) == "role" for column in header)


def _ingest_unlabelled(path: Path, source: str, member: str | None):
    """A form export without a role column, read and checked exactly as ingest reads a labelled one:
    ingest needs a label on every row, so a copy gets a placeholder that is dropped again."""
    import csv
    import tempfile

    import pandas as pd

    from rolefit.data.ingest import ingest
    from rolefit.data.io import frame_from_records, open_text, read_records

    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    else:
        with open_text(path, member=member) as (handle, label):
            header, records = read_records(handle, label=label)
            frame, _ = frame_from_records(header, records)
        frame = frame.drop(columns=["row_number"], errors="ignore")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / f"{path.stem}.csv"
        frame.assign(role="swe").to_csv(copy, index=False, quoting=csv.QUOTE_MINIMAL)
        accepted = ingest(copy, "instrument", source=source).accepted
    return accepted.assign(role=None)


def monitor(
    export: Path = typer.Argument(
        ...,
        help="New responses: a survey export (labelled or not: a role column makes it labelled) or a "
        "rolefit .parquet (data/interim/<source>.parquet, data/processed/dataset.parquet).",
    ),
    adapter: str = typer.Option(
        None,
        "--adapter",
        help="Read a raw export with this adapter (default: the ingest.sources entry "
        "with this file name, else the questionnaire's own form export).",
    ),
    source: str = typer.Option(
        None,
        "--source",
        help="Which source these people are (default: the file's ingest.sources entry, "
        "the parquet's source column, or the file name): its earlier answers are compared first.",
    ),
    rows: list[str] = typer.Option(
        [],
        "--rows",
        metavar="COLUMN=VALUE",
        help="Use only rows with this value (repeatable), e.g. --rows source=kaggle2021 --rows split=test.",
    ),
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
    params_file: Path = typer.Option(
        Path("params.yaml"), "--params", help="Parameters file (drift thresholds, gate tolerances)."
    ),
    out: Path = typer.Option(
        Path("reports/monitor"), "--out", help="Folder for monitor.md, monitor.html and monitor.json."
    ),
    bootstrap: int = typer.Option(200, "--bootstrap", min=0, max=5000, help="Resamples for the intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the resamples."),
    as_json: bool = typer.Option(False, "--json", help="Print the machine-readable report."),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the report to MLflow."),
):
    """Compare new responses with the champion's training population per source and role, score the
    labelled ones against the champion's own test figures, and say whether to retrain and why.

    Exits 0 when no retraining is needed, 1 when retraining is recommended (or a labelled sample is needed
    to decide), 2 for a bad export or parameters, 3 for a bad model."""
    from rolefit import atomic
    from rolefit.config import load_params
    from rolefit.data.labelled import LabelledSampleError, parse_row_filters
    from rolefit.evaluation import monitor_report
    from rolefit.evaluation.monitoring import monitor as run
    from rolefit.instrument.items import load_instrument
    from rolefit.scoring.answers import InvalidAnswers
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.frames import predict_many
    from rolefit.scoring.loader import load_model

    try:
        params = load_params(params_file)
        filters = parse_row_filters(rows)
    except (ValueError, LabelledSampleError) as exc:
        fail(one_line(exc))
    try:
        loaded = load_model(model)
        reference = json.loads((loaded.path / "reference.json").read_text())
    except (BundleError, OSError, ValueError) as exc:
        fail(one_line(exc), code=3)
    try:
        frame = read_export(export, adapter, source, filters, params)
        items = [item for item in load_instrument().ids if item in frame.columns]
        labelled = "role" in frame.columns and frame["role"].notna().any()
        p_mle = (
            predict_many(frame[items], model=loaded, top_k=0)["all_answers_p_mle"].to_numpy()
            if labelled
            else None
        )
        report = run(frame, reference, loaded.manifest, p_mle, params, n_boot=bootstrap, seed=seed)
    except (ValueError, FileNotFoundError, InvalidAnswers) as exc:  # SurveyError is a ValueError
        fail(f"{one_line(exc)}; no report was written")
    report["export"] = export.name
    report["rows_filter"] = filters
    text = monitor_report.markdown(report)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic.write_text(out / "monitor.json", json.dumps(report, indent=2, sort_keys=True) + "\n")
        atomic.write_text(out / "monitor.md", text)
        atomic.write_text(
            out / "monitor.html", monitor_report.to_html(text, f"rolefit monitor: {export.name}")
        )
    except OSError as exc:
        fail(f"the report could not be written ({one_line(exc)})", code=1)
    if track:
        try:
            _log_to_mlflow(report, out, params_file)
        except Exception as exc:  # the report is written: say what was not logged, never a traceback
            typer.echo(
                f"note: the report was not logged to MLflow ({type(exc).__name__}: {one_line(exc)})", err=True
            )
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        typer.echo(monitor_report.summary(report))
        typer.echo(f"report: {out / 'monitor.md'} and {out / 'monitor.html'}")
    if report["recommendation"] != "no_retrain":
        raise typer.Exit(1)


def _log_to_mlflow(report: dict, out: Path, params_file: Path) -> None:
    """One MLflow run per monitoring (kind ``monitor``): the recommendation as a tag, per source the
    largest PSI against its earlier answers and the labelled rows' figures, and the three reports."""
    import mlflow

    from rolefit.scoring.registry import configure

    configure(params_file.resolve().parent)
    with mlflow.start_run(run_name=f"monitor {report['export']}"):
        mlflow.set_tags(
            {
                "kind": "monitor",
                "recommendation": report["recommendation"],
                "model_version": report["model_version"],
            }
        )
        metrics = {}
        for source, result in report["sources"].items():
            earlier = result["against_earlier"]
            if earlier and earlier["ranking"]:
                metrics[f"{source}/max_psi"] = earlier["items"][earlier["ranking"][0]]["psi"]
            if result["performance"]:
                for name, value in result["performance"]["metrics"].items():
                    metrics[f"{source}/{name}"] = value
        mlflow.log_metrics(metrics)
        for name in ("monitor.md", "monitor.html", "monitor.json"):
            mlflow.log_artifact(str(out / name))
