"""The ``rolefit`` commands of the retraining loop: ingest, marginals, train, promote, drift.

Each is a plain function with typer options; :mod:`rolefit.apps.cli` registers them on the app.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rolefit.apps.console import MODEL_HELP, fail, one_line


def train(
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
    out: Path = typer.Option(None, help="Bundle folder (default: export.dir from the params)."),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the run and model to MLflow."),
    wait: float = typer.Option(
        0.0, "--wait", min=0, help="Seconds to wait for another run that is changing the champion."
    ),
):
    """Train on the default data, evaluate, track in MLflow, and export the champion if it passes the gate.

    The new model's reports go to reports/challenger/, and up into reports/ only when it is promoted.
    Exits 4 when the quality gate refuses the new model (the champion and reports/ stay as they were;
    reports/challenger/refusal.md says what changed and which settings would address it), 5 when the
    tracking store fails, 1 when the champion folder cannot be read or written (e.g. no space left), and
    6 when another run holds the project's champion lock (.rolefit/champion.lock; nothing is done)."""
    from rolefit.config import load_params
    from rolefit.ops.lock import ChampionBusy, LockError
    from rolefit.ops.publish import train_and_publish
    from rolefit.ops.release import BUSY_EXIT, WRITE_EXIT
    from rolefit.ops.tracking import GateRefused, TrackingError
    from rolefit.scoring.bundle import BundleError

    try:
        params = load_params(params_file)
    except ValueError as exc:
        fail(str(exc))
    root = params_file.resolve().parent
    try:
        published = train_and_publish(params, root, out=out, track=track, log=typer.echo, wait=wait)
    except GateRefused as exc:
        why = "why, and what to try: reports/challenger/refusal.md"
        fail(f"{exc}; the champion was not changed ({why})", code=4)
    except TrackingError as exc:
        fail(str(exc), code=5)
    except ChampionBusy as exc:
        fail(str(exc), code=BUSY_EXIT)
    except (BundleError, LockError) as exc:
        fail(one_line(exc), code=WRITE_EXIT)
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


def promote(
    version: str = typer.Argument(..., help="The registered version of the model rolefit to promote."),
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
    force: bool = typer.Option(
        False, "--force", help="Publish it even if the gate refuses it (recorded as forced on the version)."
    ),
    reason: str = typer.Option(
        None, "--reason", help="Why it is forced or rolled back (recorded in the version's tags)."
    ),
    rollback: bool = typer.Option(
        False,
        "--rollback",
        help="Make an earlier, previously promoted version the champion again, without the gate "
        "(list them with `rolefit versions`).",
    ),
    wait: float = typer.Option(
        0.0, "--wait", min=0, help="Seconds to wait for another run that is changing the champion."
    ),
):
    """Make a registered version (e.g. an experiment's challenger) the champion, if it passes the gate.

    It is judged against the current champion on the same test rows, as at training time. Exits 4 when
    the gate refuses it, 5 when the tracking store fails, 1 when the champion folder cannot be read or
    written, 6 when another run holds the project's champion lock; the champion stays as it was.
    ``--force`` publishes a refused version anyway, recorded in its tags (forced, forced_by, forced_at,
    forced_reason, forced_over) and in this command's output. ``--rollback`` goes back to an earlier
    version that was champion before, without the gate, recorded in its tags (rollback, rollback_from,
    rollback_by, rollback_at, rollback_reason)."""
    from rolefit.config import load_params
    from rolefit.ops.lock import ChampionBusy, LockError, champion_lock
    from rolefit.ops.release import BUSY_EXIT, WRITE_EXIT, promote_version, rollback_version
    from rolefit.ops.tracking import GateRefused, TrackingError
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.registry import configure

    try:
        params = load_params(params_file)
    except ValueError as exc:
        fail(str(exc))
    root = params_file.resolve().parent
    if rollback and force:
        fail("--rollback and --force do not go together: a rollback never runs the gate.")
    try:
        # held before the gate's rows are built, so a busy project is reported at once (re-entrant below)
        with champion_lock(root, wait=wait, command=f"rolefit promote {version}", log=typer.echo):
            configure(root)
            if rollback:
                release = rollback_version(version, params, root, reason=reason, log=typer.echo)
            else:
                frame = _gate_frame(params, root)
                release = promote_version(
                    version, frame, params, root, force=force, reason=reason, log=typer.echo
                )
    except GateRefused as exc:
        fail(str(exc) + "; the champion was not changed", code=4)
    except TrackingError as exc:
        fail(str(exc), code=5)
    except ChampionBusy as exc:
        fail(str(exc), code=BUSY_EXIT)
    except (BundleError, LockError) as exc:
        fail(one_line(exc), code=WRITE_EXIT)
    except ValueError as exc:
        fail(str(exc))
    except Exception as exc:  # the registry has no such version, or the store cannot be reached
        fail(f"could not promote version {version}: {type(exc).__name__}: {str(exc)[:300]}", code=5)
    forced = " (forced past the quality gate)" if release.forced else ""
    if release.rolled_back_from:
        forced = f" again (rolled back from version {release.rolled_back_from}, no gate)"
    typer.echo(f"version {release.version} is the champion{forced}; exported to {root / params.export.dir}")


def versions(
    params_file: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
):
    """List the registered versions of the model: verdict, real sources, which were champion, aliases.

    The numbers are the ones `rolefit promote` takes; `rolefit promote <version> --rollback` goes back to
    one whose champion column says "before" (it was champion, and is older than the current one)."""
    from rolefit.ops.tracking import version_history
    from rolefit.scoring.registry import configure, tracking_uri

    root = params_file.resolve().parent
    uri = tracking_uri(root)
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():  # never make one
        typer.echo(f"No MLflow store at {uri}: nothing is registered (rolefit train or dvc repro makes it).")
        return
    try:
        configure(root)
        history = version_history()
    except Exception as exc:  # the store cannot be reached
        fail(f"could not read the registry: {type(exc).__name__}: {str(exc)[:300]}", code=5)
    if as_json:
        typer.echo(json.dumps(history, indent=2))
        return
    if not history:
        typer.echo("No version of the model is registered yet (rolefit train or dvc repro registers one).")
        return
    lines = [("version", "model version", "registered (UTC)", "gate", "champion", "real training sources")]
    for row in history:
        status = "now" if "champion" in row["aliases"] else "before" if row["promoted"] else "never"
        if row["forced"]:
            status += ", forced"
        if row["rollback_from"]:
            status += f", rolled back to (from v{row['rollback_from']})"
        when = row["registered_at"][:19].replace("T", " ")
        lines.append(
            (
                str(row["version"]),
                row["model_version"] or "-",
                when,
                row["verdict"],
                status,
                row["sources"] or "none",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[5]
        )


def _gate_frame(params, root: Path):
    """The rows the gate compares models on: the pipeline's dataset when built, else the default data."""
    from rolefit.data.dataset import read_dataset, training_frame

    built = root / "data" / "processed" / "dataset.parquet"
    if built.is_file():
        return read_dataset(built)
    return training_frame(params, root)[0]


def ingest(
    source_files: list[Path] = typer.Argument(..., help="Survey export(s): CSV, Excel or the survey's zip."),
    adapter: str = typer.Option(..., "--adapter", help="instrument, kaggle2021 or stackoverflow2017."),
    name: str = typer.Option(None, "--source", help="Source name (default: the adapter, or the file stem)."),
    out: Path = typer.Option(Path("data/interim"), "--out", help="Folder for the outputs."),
    chunk_rows: int = typer.Option(
        50_000, "--chunk-rows", help="Rows validated at a time (CSV form exports)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    member: str = typer.Option(
        None, "--member", help="The CSV file to read inside a zip that holds several (else refused)."
    ),
):
    """Validate survey exports; write accepted rows, every other row with its reason, and a report.

    CSV form exports (adapter ``instrument``) are streamed in chunks, so files of any size fit in memory,
    and several files can be ingested as one source (a respondent in two files is a duplicate). A zip
    must hold one CSV file, or --member names the one to read: one holding several is refused, naming them.
    Respondent ids become HMAC-SHA256 pseudonyms keyed by ROLEFIT_ID_KEY, else by the project key in
    .rolefit/id.key (made on first use; keep it to keep pseudonyms stable, never commit it); without a
    key they are dropped. Exits 2 when a file is refused (unreadable, another survey, a zip bomb) and 1
    when the outputs cannot be written (e.g. a full disk); either way nothing is written.
    """
    from rolefit.data.ingest import ingest as run_ingest
    from rolefit.data.ingest import ingest_stream, write_ingest

    streaming = adapter == "instrument" and all(f.suffix.lower() in (".csv", ".txt") for f in source_files)
    if not streaming and len(source_files) != 1:
        fail("several files can be ingested together only as CSV form exports (--adapter instrument)")
    if member is not None and (len(source_files) != 1 or source_files[0].suffix.lower() != ".zip"):
        fail("--member picks the CSV file inside one zip archive; give one .zip file with it")
    try:
        if streaming:
            r = ingest_stream(source_files, name or source_files[0].stem, out, chunk_rows=chunk_rows,
                              progress=progress)  # fmt: skip
            suffixes = {"accepted": ".parquet", "rejects": ".rejects.csv", "report": ".report.json"}
            paths = {key: out / f"{r['source']}{suffix}" for key, suffix in suffixes.items()}
        else:
            result = run_ingest(source_files[0], adapter, source=name, member=member)
            paths = write_ingest(result, out)
            r = result.report
    except (ValueError, FileNotFoundError) as exc:  # the input is refused (SurveyError is a ValueError)
        fail(f"{one_line(exc)}; no outputs were written")
    except OSError as exc:
        fail(f"a file could not be read or written ({one_line(exc)}); no outputs were written", code=1)
    except Exception as exc:  # still one clear line, never a traceback
        fail(f"ingest failed ({type(exc).__name__}: {one_line(exc)}); no outputs were written", code=1)
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
        fail(f"{accepted} does not exist: ingest the survey first (rolefit ingest or dvc repro ingest)")
    try:
        params = load_params(params_file)
        paths = write_reference(pd.read_parquet(accepted), params)
    except (ValueError, FileNotFoundError) as exc:
        fail(f"{one_line(exc)}; nothing was written")
    except OSError as exc:
        fail(f"a file could not be read or written ({one_line(exc)}); nothing was written", code=1)
    except Exception as exc:  # e.g. a parquet file without the experience columns
        fail(f"marginals failed ({type(exc).__name__}: {one_line(exc)}); nothing was written", code=1)
    for path in paths.values():
        typer.echo(f"wrote {path} from the training split of {accepted}")


def drift(
    survey: Path = typer.Argument(
        ..., help="A new survey: an ingested .parquet, or a raw export with --adapter."
    ),
    adapter: str = typer.Option(None, "--adapter", help="Ingest the raw file with this adapter first."),
    reference_source: str = typer.Option("all", "--reference", help="Training source to compare with."),
    model: str = typer.Option(None, "--model", help=MODEL_HELP),
    params_file: Path = typer.Option(
        Path("params.yaml"), "--params", help="Parameters file (drift thresholds)."
    ),
    out: Path = typer.Option(Path("reports/drift.json"), "--out", help="Where to write the report."),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the report to MLflow."),
    record: bool = typer.Option(
        False,
        "--record",
        help="Instead of comparing: record every real source's profile in this file (e.g. "
        "data/processed/dataset.parquet) as the earlier profiles the drift stage compares with "
        "(drift.profiles in params.yaml; commit it).",
    ),
):
    """Compare a new survey with the training data; exits 1 when a drift threshold is crossed.

    Exits 2 when the survey, the model or the parameters cannot be used or the report cannot be
    written."""
    import pandas as pd

    from rolefit import atomic
    from rolefit.config import load_params

    if record:
        _record_profiles(survey, params_file)
        return
    from rolefit.evaluation.drift import compare
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.loader import load_model

    try:
        params = load_params(params_file)
        loaded = load_model(model)
    except (ValueError, BundleError) as exc:
        fail(str(exc))
    reference = json.loads((loaded.path / "reference.json").read_text())
    if reference_source not in reference:
        fail(
            f"no training reference named {reference_source!r}; choose one of {', '.join(sorted(reference))}"
        )
    if not adapter and survey.suffix != ".parquet":
        fail("give an ingested .parquet file, or a raw export together with --adapter")
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
        fail(f"{one_line(exc)}; no drift report was written")
    except Exception as exc:  # still one clear line, never a traceback
        fail(f"drift failed ({type(exc).__name__}: {one_line(exc)}); no drift report was written")
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


def _record_profiles(dataset: Path, params_file: Path) -> None:
    from rolefit import atomic
    from rolefit.config import load_params
    from rolefit.data.dataset import read_dataset
    from rolefit.evaluation.drift import record

    try:
        params = load_params(params_file)
        frame = read_dataset(dataset)
        if "source" not in frame.columns:
            raise ValueError(f"{dataset} has no source column: give the processed dataset")
        profiles = record(frame)
        target = params_file.resolve().parent / params.drift.profiles
        atomic.write_text(target, json.dumps(profiles, indent=1, sort_keys=True) + "\n")
    except (ValueError, OSError) as exc:
        fail(f"{one_line(exc)}; no profiles were recorded")
    names = ", ".join(f"{k} ({v['n']:,})" for k, v in profiles["sources"].items()) or "no real source"
    typer.echo(f"recorded the earlier profiles of {names} in {params.drift.profiles}")


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
