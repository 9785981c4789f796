"""``rolefit recalibrate``: a population's own calibration of the all-answers model, in words (or JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from rolefit.apps.console import MODEL_HELP, fail, one_line


def recalibrate(
    labelled: Path = typer.Option(
        ...,
        "--labelled",
        help="Labelled respondents: a questionnaire export (CSV/Excel, item ids or questions as headers) "
        "with a role column, or a rolefit Parquet file (data/interim/<source>.parquet, "
        "data/processed/dataset.parquet).",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the derived bundle to."),
    rows: list[str] = typer.Option(
        [],
        "--rows",
        metavar="COLUMN=VALUE",
        help="Use only rows with this value (repeatable), e.g. --rows source=stackoverflow2017 "
        "--rows split=calibration.",
    ),
    model: str = typer.Option(None, "--model", help="The parent bundle. " + MODEL_HELP),
    holdout: float = typer.Option(
        0.3, "--holdout", help="Share of each role held out to check the result (not used to fit)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out choice and the intervals."),
    slope: str = typer.Option(
        "auto",
        "--slope",
        help="never: an intercept only; auto: a slope too when the sample has at least 50 of each role to "
        "fit on and a likelihood-ratio test finds one (p < 0.05); always: a slope whatever the test says.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
):
    """Fit the all-answers model to your own labelled people (a new starting point, and a slope only
    when the sample shows one) and write a derived bundle naming its parent and the sample, with the
    before/after calibration on held-out rows of the sample.

    An intercept moves the starting point only; a slope rescales every reason. The fit (the headline)
    is not changed. Exits 2 for a bad sample, 3 for a bad parent model, 1 when the bundle cannot be
    written."""
    from rolefit.data.labelled import LabelledSampleError, parse_row_filters, read_labelled
    from rolefit.evaluation.recalibration import recalibrate as run
    from rolefit.model.recalibrate import SLOPE_CHOICES, RecalibrationError
    from rolefit.scoring.answers import InvalidAnswers
    from rolefit.scoring.bundle import BundleError

    if slope not in SLOPE_CHOICES:
        fail(f"invalid --slope: slope must be one of {', '.join(SLOPE_CHOICES)}; got {slope!r}")
    try:
        sample = read_labelled(labelled, parse_row_filters(rows))
        result = run(sample, out, model=model, holdout=holdout, seed=seed, slope=slope)
    except (LabelledSampleError, RecalibrationError, InvalidAnswers) as exc:
        fail(f"{one_line(exc)}; nothing was written")
    except BundleError as exc:
        fail(one_line(exc), code=3)
    except OSError as exc:
        fail(f"a file could not be read or written ({one_line(exc)})", code=1)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(render(result.to_dict()))


def _share(p: float) -> str:
    return f"{100 * p:.0f}%" if p >= 0.01 else f"{100 * p:.1f}%"


def render(data: dict) -> str:
    """The result of ``rolefit recalibrate`` in words (``data``: its ``--json`` document)."""
    sample, fit, report = data["sample"], data["recalibration"], data["report"]
    roles = sample["roles"]
    chosen = ", ".join(f"{k}={v}" for k, v in sample["rows_filter"].items())
    lines = [
        f"Recalibrated the all-answers model of {data['parent']['model_version']} on {sample['rows']:,} "
        f"people from {sample['file']}" + (f" ({chosen})" if chosen else "") + f": {roles['swe']:,} software "
        f"engineers and {roles['mle']:,} ML engineers.",
        "",
    ]
    before, after = report["starting_point"]["before"], report["starting_point"]["after"]
    if after < before:
        said = "less often ML engineers than"
    elif after > before:
        said = "more often ML engineers than"
    else:
        said = "as often ML engineers as"
    lines.append(
        f"Your sample's people are {said} the model's reference population: the starting point moves "
        f"from {_share(before)} to {_share(after)}."
    )
    lines.append(f"Fitted {fit['why']}.")
    if fit["fitted"] == "intercept":
        lines.append("An intercept moves the starting point only: every reason keeps its size.")
    else:
        lines.append(
            f"A slope rescales every reason: each answer's effect is now {fit['slope']:.2f} times "
            "what it was."
        )
    held, b, a = report, report["before"], report["after"]
    lines += [
        "",
        f"Checked on {held['rows']:,} people held out of the fit ({report['holdout']['fraction']:.0%} of "
        f"each role): {held['roles']['swe']:,} software engineers, {held['roles']['mle']:,} ML engineers.",
        f"  {'':<38}{'before':>8}{'after':>8}",
        f"  {'share predicted to be ML engineers':<38}{_share(b['mean_p_mle']):>8}"
        f"{_share(a['mean_p_mle']):>8}   (really: {_share(held['observed_mle_share'])})",
        f"  {'calibration error (lower is better)':<38}{b['ece']:>8.3f}{a['ece']:>8.3f}",
        f"  {'log loss (lower is better)':<38}{b['log_loss']:>8.3f}{a['log_loss']:>8.3f}",
        f"  {'ranking of people (ROC AUC)':<38}{b['roc_auc']:>8.3f}{a['roc_auc']:>8.3f}",
        f"  {'calibration check (p)':<38}{b['calibration_check']['p_value']:>8.3f}"
        f"{a['calibration_check']['p_value']:>8.3f}",
    ]
    rate = report.get("with_base_rate")
    if rate is not None:
        lines.append(
            f"Only telling the model the sample's share of ML engineers instead (--base-rate "
            f"{rate['base_rate']:.3f}) would give: calibration error {rate['ece']:.3f}, log loss "
            f"{rate['log_loss']:.3f}, calibration check p {rate['calibration_check']['p_value']:.3f}."
        )
    p_after = a["calibration_check"]["p_value"]
    if p_after >= 0.05:
        lines.append("After: calibrated as far as these held-out people can tell (check p of at least 0.05).")
    else:
        lines.append(
            "After: still off beyond chance on these held-out people (check p below 0.05); a larger sample "
            "may show a slope (--slope auto), or the model's reasons may not suit this population."
        )
    lines += ["", f"Wrote {data['bundle']} (model {data['model_version']})."]
    if data["signed_by"]:
        lines.append(f"Signed: {data['signed_by']}, the key that checks bundles in that folder.")
    else:
        lines.append(
            "Unsigned: no signing key is configured for that folder, so it loads with checksums only. "
            f"To sign it once you trust it: python -m rolefit.scoring.sign sign {data['bundle']}"
        )
    lines += [
        "Only the all-answers model changed; the fit (the headline) is the parent's.",
        f"Use it: rolefit predict --model {data['bundle']} --answers answers.json",
    ]
    return "\n".join(lines)
