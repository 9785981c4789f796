"""The quality gate: may a challenger replace the champion?

Both models are scored on the *same* held-out rows (the test split of every source in the dataset), so
a challenger is never judged against a number the champion earned on other data. The challenger passes
only if

1. at least one real source was in its training (when the data hold any real training source);
2. on every real training source it is no worse than the plain baseline fitted in the same check
   (:class:`rolefit.model.evidence.PlainBaseline`) beyond ``export.gate.baseline_tolerance`` in log loss;
3. it passes every behaviour check (:func:`rolefit.evaluation.behaviour.run_behaviour`);
4. on no real source is it worse than the current champion beyond that source's tolerance in log loss
   or ECE (``export.gate``) *and* shown worse: the paired bootstrap's 95% interval of the difference lies
   above zero (:func:`shown_worse`). A difference beyond the tolerance whose interval includes no change is
   a note on the verdict, not a reason: a few hundred test respondents cannot tell the two apart.
   Without any real source in the data, the synthetic test rows are compared instead.

The gate **fails closed**: a champion that cannot be loaded and verified (a changed byte, a missing file,
a signature by another key, a damaged ``CURRENT``) refuses the challenger, naming the cause, because a
challenger that cannot be compared with the champion has not been shown to be no worse than it.
``rolefit promote <version> --force`` is the only way past, recorded as forced on the version.

The first model (no champion yet) is judged on 1-3 alone. So is one whose champion was built for
another *version* of the questionnaire, through one narrow path: that champion must pass every other
check (signature, manifest schema, every file's checksum) against the instrument its manifest names,
and that instrument's version must differ from this rolefit's (the same version with another hash is a
changed questionnaire or a changed manifest, and refuses). The two cannot score the same questions, so
nothing is compared; the verdict says so in a note and in ``checks["champion"]`` (tag
``gate.champion`` on the version).

:func:`decide` is pure (no MLflow): the caller fetches the champion's bundle and records the verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rolefit.data.dataset import labels, real_sources
from rolefit.evaluation.behaviour import run_behaviour
from rolefit.evaluation.evaluate import real_evidence_report
from rolefit.evaluation.metrics import paired_differences
from rolefit.instrument.items import Instrument, load_instrument
from rolefit.model.metrics import summary
from rolefit.scoring import champion
from rolefit.scoring.bundle import BundleError, load_additive, read_manifest, verify_bundle
from rolefit.scoring.frames import predict_many
from rolefit.scoring.loader import LoadedModel, load_model
from rolefit.scoring.predictor import predict

NO_REAL_TRAINING = "no real respondents in training"
#: Start of the refusal when the champion cannot be loaded and verified (the rest names the cause).
UNVERIFIED_CHAMPION = "could not be loaded and verified"
#: The challenger's registered version in reasons, until it is known (:meth:`GateVerdict.for_version`).
VERSION = "<version>"
#: How a refusal says it can be overridden; the caller may name another way.
OVERRIDE = f"`rolefit promote {VERSION} --force` overrides"


@dataclass
class GateVerdict:
    """The gate's decision, its reasons, and the side-by-side table it was made from."""

    passed: bool
    reasons: list[str]
    checks: dict[str, Any] = field(default_factory=dict)
    table: list[dict[str, Any]] = field(default_factory=list)
    #: what a reviewer must know that is not a reason to refuse (e.g. a champion of another instrument)
    notes: list[str] = field(default_factory=list)

    def for_version(self, version: str | None) -> GateVerdict:
        """This verdict with the challenger's registered version written into its reasons."""
        if version is None:
            return self
        reasons = [reason.replace(VERSION, str(version)) for reason in self.reasons]
        return dataclasses.replace(self, reasons=reasons)

    def summary_lines(self) -> list[str]:
        """The verdict, each reason and each note, one line each (what the commands print)."""
        lines = [f"Quality gate: {'passed' if self.passed else 'refused'}."]
        lines += [f"- {reason}" for reason in self.reasons] or ["- every check passed"]
        return lines + [f"- note: {note}" for note in self.notes]

    def markdown(self) -> str:
        """The verdict, its reasons and the challenger-vs-champion table, for descriptions and artifacts."""
        lines = self.summary_lines()
        if self.table:
            lines += [
                "",
                "| source | n | metric | challenger | champion | baseline | difference (95% CI) "
                "| tolerance |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for row in self.table:
                champion = "" if row["champion"] is None else f"{row['champion']:.4f}"
                baseline = "" if row["baseline"] is None else f"{row['baseline']:.4f}"
                difference = (
                    ""
                    if row["difference"] is None
                    else f"{row['difference']:+.4f} ({row['low']:+.4f} to {row['high']:+.4f})"
                )
                tolerance = "" if row["tolerance"] is None else f"{row['tolerance']:g}"
                lines.append(
                    f"| {row['source']} | {row['n']:,} | {row['metric']} | {row['challenger']:.4f} | "
                    f"{champion} | {baseline} | {difference} | {tolerance} |"
                )
        return "\n".join(lines)


def _tolerances(gate_params, source: str) -> tuple[float, float]:
    own = gate_params.per_source.get(source)
    if own is not None:
        return own.log_loss_tolerance, own.ece_tolerance
    return gate_params.log_loss_tolerance, gate_params.ece_tolerance


def shown_worse(row: dict[str, Any], tolerance: float) -> bool:
    """Whether a compared metric counts against the challenger: beyond the tolerance *and* shown worse.

    The paired bootstrap's 95% interval must lie wholly above zero (a missing interval counts as worse:
    the gate fails closed). On a few hundred test respondents a calibration error moves by 0.02-0.03
    between resamples, so the difference alone would refuse a challenger for noise as often as for
    being worse (issue #26: a source of 200 test respondents, log loss clearly better, refused on an
    ECE difference of +0.023 whose interval ran from -0.028 to +0.050).
    """
    if row["difference"] <= tolerance:
        return False
    low = row["low"]
    return not (low is not None and low <= 0)  # NaN compares False: fail closed


def _fresh(folder: Path) -> LoadedModel:
    """Load and verify a bundle now (never from the loader's cache: it may have changed since)."""
    additive, manifest = load_additive(folder)
    return LoadedModel(additive=additive, manifest=manifest, path=folder)


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _another_instrument(folder: Path, instrument: Instrument) -> tuple[str | None, str | None]:
    """Whether ``folder``'s champion fails to load only because it was built for another instrument.

    Returns ``(version, None)`` when its manifest names another instrument *version* and the bundle
    passes every other check (signature, schema, checksums) against that instrument: the narrow path.
    ``(None, cause)`` when it names another version but fails another check (the cause to report), and
    ``(None, None)`` when the instrument is not the question.
    """
    try:
        resolved = champion.resolve(folder)
        built = read_manifest(resolved)["instrument"]
    except Exception:
        return None, None
    if built["version"] == instrument.version:
        return None, None
    try:
        verify_bundle(
            resolved, dataclasses.replace(instrument, version=built["version"], sha256=built["sha256"])
        )
    except BundleError as exc:
        return None, _one_line(str(exc))
    except Exception as exc:
        return None, _one_line(f"{type(exc).__name__}: {exc}")
    return str(built["version"]), None


def decide(
    challenger_dir: str | Path,
    champion_dir: str | Path | None,
    frame: pd.DataFrame,
    params,
    *,
    champion_label: str = "champion",
    champion_problem: str | None = None,
    override: str = OVERRIDE,
) -> GateVerdict:
    """Judge the challenger bundle against the champion bundle on the test rows of ``frame``.

    ``champion_dir`` is a bundle or a champion folder (None: there is no champion). When a champion
    exists but could not even be fetched, ``champion_problem`` says why and the challenger is refused
    as for a champion that cannot be verified; ``override`` is how the refusal says to get past it.
    """

    gate = params.export.gate
    n_bins, n_boot, seed = params.evaluate.ece_bins, params.evaluate.bootstrap, params.evaluate.seed
    instrument = load_instrument()
    test = frame[frame["split"] == "test"] if "split" in frame.columns else frame
    items = [c for c in instrument.ids if c in test.columns]
    y = labels(test)
    reasons: list[str] = []
    checks: dict[str, Any] = {}
    table: list[dict[str, Any]] = []

    # 1. real respondents in training
    manifest = read_manifest(challenger_dir)
    trained_on = (manifest.get("real_evidence") or {}).get("training_sources") or []
    available = real_sources(params, frame, "train", include_unweighted=True)
    checks["real_training_sources"] = ", ".join(trained_on) or "none"
    if available and not trained_on:
        reasons.append(f"{NO_REAL_TRAINING} (available: {', '.join(available)})")

    # the all-answers model is what real respondents can judge (they answered no fit item)
    p_new = predict_many(test[items], model=challenger_dir, top_k=0)["all_answers_p_mle"].to_numpy()
    additive = load_model(challenger_dir).additive
    real = real_evidence_report(frame, test, y, p_new, additive, params, challenger_dir)

    p_old = None
    notes: list[str] = []
    problem = champion_problem
    if champion_dir is not None and problem is None:
        try:
            # resolved once and verified afresh: signature, schema, instrument, every checksum, tables
            loaded = champion.load_consistent(Path(champion_dir), _fresh)
            p_old = predict_many(test[items], model=loaded, top_k=0)["all_answers_p_mle"].to_numpy()
            checks["champion"] = champion_label
        except Exception as exc:  # whatever the cause, an unverified champion is never skipped
            ours = isinstance(exc, BundleError)  # rolefit's refusal names its cause; name anything else
            version, cause = _another_instrument(Path(champion_dir), instrument) if ours else (None, None)
            if version is None:
                problem = cause or _one_line(str(exc) if ours else f"{type(exc).__name__}: {exc}")
            else:
                note = (
                    f"the {champion_label} was built for instrument version {version!r} and this rolefit "
                    f"uses {instrument.version!r}: the two cannot score the same questions, so the "
                    "challenger was judged on the absolute checks alone"
                )
                notes.append(note)
                checks["champion"] = f"{champion_label} not comparable (instrument version {version})"
    if problem is not None:
        checks["champion"] = f"{champion_label} {UNVERIFIED_CHAMPION} ({problem[:200]})"
        reasons.append(
            f"the {champion_label} {UNVERIFIED_CHAMPION} ({problem}): the challenger cannot be compared "
            f"with it, so it is not promoted; {override}"
        )

    # 2 and 4, per real source (training sources first, then evaluation-only ones); without any real
    # source, the synthetic respondents are what the two models are compared on
    compared = [*real.training_sources, *real.evaluation_sources] or ["synthetic"]
    for source in compared:
        mask = (test["source"] == source).to_numpy()
        if not mask.any():
            continue
        ys, new = y[mask], p_new[mask]
        evidence = real.source(source)
        baseline = evidence.baseline.scores.metrics if evidence and evidence.baseline else None
        tolerance_loss, tolerance_ece = _tolerances(gate, source)
        paired = (
            paired_differences(ys, new, p_old[mask], n_bins=n_bins, n_boot=n_boot, seed=seed)
            if p_old is not None
            else None
        )
        mine = summary(ys, new, n_bins=n_bins)
        theirs = None if p_old is None else summary(ys, p_old[mask], n_bins=n_bins)
        for metric, tolerance in (("log_loss", tolerance_loss), ("ece", tolerance_ece)):
            value = mine[metric]
            old = None if theirs is None else theirs[metric]
            row = {
                "source": source,
                "n": int(mask.sum()),
                "metric": metric,
                "challenger": value,
                "champion": old,
                "baseline": None if baseline is None else baseline[metric],
                "difference": None if paired is None else paired[metric]["difference"],
                "low": None if paired is None else paired[metric]["low"],
                "high": None if paired is None else paired[metric]["high"],
                "tolerance": tolerance if paired is not None else None,
            }
            row["worse"] = paired is not None and shown_worse(row, tolerance)
            table.append(row)
            if row["worse"]:
                reasons.append(
                    f"{source} is worse than the {champion_label}: {metric.replace('_', ' ')} "
                    f"{value:.4f} against {old:.4f} (difference {row['difference']:+.4f}, 95% CI "
                    f"{row['low']:+.4f} to {row['high']:+.4f}; tolerance {tolerance:g})"
                )
            elif paired is not None and row["difference"] > tolerance:
                notes.append(
                    f"{source}'s {metric.replace('_', ' ')} is {row['difference']:+.4f} against the "
                    f"{champion_label}, beyond the tolerance {tolerance:g}, but its 95% CI "
                    f"({row['low']:+.4f} to {row['high']:+.4f}) includes no change: {row['n']:,} test "
                    "respondents cannot tell the two apart, so it is not counted as worse"
                )
        if source in trained_on and baseline is not None:
            loss = mine["log_loss"]
            if loss > baseline["log_loss"] + gate.baseline_tolerance:
                reasons.append(
                    f"{source}: log loss {loss:.4f} does not beat the plain baseline "
                    f"({baseline['log_loss']:.4f}, tolerance {gate.baseline_tolerance:g})"
                )

    # 3. behaviour
    behaviour = run_behaviour(lambda answers: predict(answers, model=challenger_dir))
    failed = [b for b in behaviour if not b["passed"]]
    checks["behaviour_cases"] = len(behaviour)
    checks["behaviour_failed"] = len(failed)
    for case in failed[:5]:
        reasons.append(f"behaviour check failed: {case['name']} ({case['detail']})")
    if len(failed) > 5:
        reasons.append(f"... and {len(failed) - 5} more behaviour checks failed")
    checks["compared_rows"] = len(test)
    checks["sources_worse"] = sorted({r["source"] for r in table if r["worse"]})
    return GateVerdict(passed=not reasons, reasons=reasons, checks=checks, table=table, notes=notes)
