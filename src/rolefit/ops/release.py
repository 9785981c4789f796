"""The one release flow: a trained bundle becomes a challenger, is gated, and may become the champion.

``rolefit train`` (:func:`rolefit.ops.publish.train_and_publish`) and the DVC ``export`` stage both call
:func:`gate_and_register`; ``rolefit promote`` calls :func:`promote_version`. Every model is registered
as a new version with alias ``challenger``. It is promoted (alias ``champion`` and the folder
``export.dir``) only when the gate passes (:func:`rolefit.evaluation.gate.decide`) and the run is not a DVC
experiment: ``dvc exp run`` records the challenger and the verdict but never deploys. Promoting an
experiment's version is an explicit act, gated the same way.

Promotion moves the alias and the folder ``export.dir`` together (:func:`publish`); every run first
repairs a disagreement a crash may have left (:func:`reconcile`). All of it happens under the project's
champion lock (:mod:`rolefit.ops.lock`), taken before the champion is read for the gate and held
through publishing, so two runs never both compare with the same old champion.

The gate fails closed (:mod:`rolefit.evaluation.gate`): a champion that cannot be fetched, loaded and
verified refuses the challenger. ``rolefit promote <version> --force`` (:func:`promote_version` with
``force``) is the only way past a refusal: it publishes anyway and records it on the version (tags
``forced``, ``forced_by``, ``forced_at``, ``forced_reason``, ``forced_over``) and in the log.

``rolefit promote <version> --rollback`` (:func:`rollback_version`) makes an earlier version that was
once promoted the champion again, without the gate (it passed, or was forced, when it was promoted):
alias and folder move together as in any promotion, and the version's tags record it (``rollback``,
``rollback_from``, ``rollback_by``, ``rollback_at``, ``rollback_reason``).

Exit codes of ``rolefit train``, ``rolefit promote`` and the ``export`` stage: 0 done (promoted, or an
experiment recorded whatever its verdict), 1 the champion folder could not be read or written (e.g.
"no space left on ..."; the champion is unchanged), 4 refused by the gate, 5 the tracking store failed,
6 another run holds the project's champion lock (nothing was done).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from rolefit.evaluation import gate
from rolefit.evaluation.gate import GateVerdict
from rolefit.ops import tracking
from rolefit.ops.lock import champion_lock
from rolefit.scoring import champion as published
from rolefit.scoring.bundle import BundleError

WRITE_EXIT = 1
REFUSED_EXIT = 4
TRACKING_EXIT = 5
BUSY_EXIT = 6
#: Where a run puts the bundle it trained (before the gate) and its reports, relative to the project;
#: ``rolefit train`` and the DVC stages share them (dvc.yaml names the same paths as stage outputs).
TRAINED = Path("models") / "trained"
REPORTS = Path("reports")
#: The trained model's reports until the gate decides: ``reports/`` describes the champion, so a refused
#: or not yet promoted challenger's reports stay here (beside the champion's); promotion copies them up.
CHALLENGER_REPORTS = REPORTS / "challenger"
#: What an evaluation writes (:func:`rolefit.evaluation.reports.write_reports`) and promotion copies.
REPORT_FILES = ("metrics.json", "evaluation.json", "evaluation.md", "model_card.md", "figures", "plots")
REFUSAL = ("refusal.md", "refusal.json")


def is_experiment() -> bool:
    """Whether this process runs inside ``dvc exp run`` (DVC sets these variables for its stages)."""
    return bool(os.environ.get("DVC_EXP_BASELINE_REV") or os.environ.get("DVC_EXP_NAME"))


@dataclass
class Release:
    """What the gate decided and what was done about it."""

    verdict: GateVerdict | None  # None for a rollback: no gate ran
    version: str | None
    promoted: bool
    experiment: bool
    forced: bool = False
    rolled_back_from: str | None = None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".")[:400] or type(exc).__name__


def _fetch_champion(version: str, project: Path) -> tuple[Path | None, str | None]:
    """The registered champion's bundle, or why there is none to compare with.

    A registered model whose bundle is gone from the artifact store is a champion that cannot be
    verified (the gate refuses); any other failure is the store's and propagates.
    """
    try:
        return tracking.download_version(version, project=project), None
    except FileNotFoundError as exc:
        return None, _one_line(exc)


def gate_and_register(
    trained: str | Path,
    frame: pd.DataFrame,
    params,
    root: str | Path,
    run: dict[str, str] | None,
    *,
    out: str | Path | None = None,
    log: Callable[[str], None] = lambda _: None,
    wait: float = 0.0,
    command: str | None = None,
) -> Release:
    """Gate the trained bundle against the champion, register it as challenger, promote if it passed.

    With ``run`` None (no tracking), the champion is the bundle in ``export.dir`` and nothing is
    registered. Holds the project's champion lock throughout (``wait``: seconds to wait for another
    holder; :class:`rolefit.ops.lock.ChampionBusy` after that). Raises
    :class:`rolefit.ops.tracking.TrackingError` when the store fails (nothing promoted).
    """

    root = Path(root)
    destination = Path(out) if out else root / params.export.dir
    experiment = is_experiment()
    with champion_lock(root, wait=wait, command=command, log=log):
        for name in REFUSAL:  # an earlier refusal's explanation is about another challenger
            (root / CHALLENGER_REPORTS / name).unlink(missing_ok=True)
        champion_dir, label, problem, override = None, "champion", None, gate.OVERRIDE
        if run is not None:
            try:
                reconcile(destination, log)
                champion = tracking.current_champion()
                if champion is not None:
                    label = f"champion v{champion['version']}"
                    champion_dir, problem = _fetch_champion(champion["version"], root)
            except BundleError:
                tracking.fail_run(run)
                raise  # the champion folder is damaged: its own error names it
            except Exception as exc:
                tracking.fail_run(run)
                raise tracking.TrackingError(
                    f"MLflow tracking at {tracking.tracking_uri(root)} failed ({type(exc).__name__}: "
                    f"{str(exc)[:300]}); nothing was registered and {params.export.dir} is unchanged."
                ) from exc
        else:
            override = f"without MLflow tracking, move {destination} aside to publish a first champion"
            try:
                has_champion = published.state(destination).bundle is not None
            except BundleError:
                has_champion = True  # a damaged folder is a champion that cannot be verified: refused
            if has_champion:
                champion_dir, label = destination, f"champion in {params.export.dir}"
        verdict = gate.decide(
            trained, champion_dir, frame, params, champion_label=label, champion_problem=problem,
            override=override,
        )  # fmt: skip
        version = None
        promoted = verdict.passed and not experiment
        if run is not None:
            try:
                version = tracking.register_challenger(run, verdict, experiment=experiment)
            except Exception as exc:
                tracking.fail_run(run)
                raise tracking.TrackingError(
                    f"registering the model in MLflow at {tracking.tracking_uri(root)} failed "
                    f"({type(exc).__name__}); champion and {params.export.dir} are unchanged."
                ) from exc
            verdict = verdict.for_version(version)
        for line in verdict.summary_lines():
            log(line)
        if promoted:
            publish(trained, destination, version, verdict, reason="it passed the quality gate")
            follow_champion(root, log)
        elif not verdict.passed:
            write_refusal(root, verdict, trained, champion_dir, params, log)
        release = Release(verdict=verdict, version=version, promoted=promoted, experiment=experiment)
        write_gate_report(root, release, trained)
    return release


def follow_champion(root: str | Path, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """Copy the promoted challenger's reports (``reports/challenger/``) up into ``reports/``.

    ``reports/`` describes the champion: it changes only when a model is promoted. Nothing is copied
    when the challenger's folder holds no reports (a caller that evaluated elsewhere).
    """
    import shutil

    root = Path(root)
    source, target = root / CHALLENGER_REPORTS, root / REPORTS
    copied = []
    for name in REPORT_FILES:
        path = source / name
        if not path.exists():
            continue
        if path.is_dir():
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(path, target / name)
        else:
            shutil.copyfile(path, target / name)
        copied.append(name)
    for name in REFUSAL:
        (source / name).unlink(missing_ok=True)
    if copied:
        log(f"{REPORTS}/ now describes the new champion ({', '.join(copied)})")
    return copied


def write_refusal(
    root: str | Path, verdict: GateVerdict, trained, champion_dir, params, log: Callable[[str], None]
) -> Path:
    """``reports/challenger/refusal.md`` and ``.json``: why, what changed, which settings would help."""
    import json

    from rolefit import atomic
    from rolefit.evaluation import refusal
    from rolefit.scoring.bundle import read_manifest

    challenger = read_manifest(trained)
    champion_manifest = None
    if champion_dir is not None:
        try:
            champion_manifest = read_manifest(published.resolve(champion_dir))
        except Exception:  # the gate already refused an unreadable champion and said why
            champion_manifest = None
    explained = refusal.explain(verdict, challenger, champion_manifest, params)
    folder = Path(root) / CHALLENGER_REPORTS
    folder.mkdir(parents=True, exist_ok=True)
    atomic.write_text(folder / "refusal.json", json.dumps(explained, indent=2, sort_keys=True) + "\n")
    path = atomic.write_text(folder / "refusal.md", refusal.markdown(explained, verdict.markdown()))
    for s in explained["suggestions"]:
        log(f"- try `{s['setting']}` (now {s['now'] or '-'}): {s['why']}")
    log(f"the refused challenger's reports, with why and what to try: {folder}/ (refusal.md)")
    return path


def write_gate_report(root: str | Path, release: Release, trained: str | Path | None = None) -> Path:
    """``reports/gate.json``: the verdict, its reasons and table, the version and what was done.

    Not a DVC output: it names the MLflow version, which depends on the store's history. It names the
    judged bundle's ``model_version`` too, so ``make run`` can tell a refusal of this run's model
    (:func:`exit_code_after_repro`)."""
    import json

    from rolefit.scoring.bundle import read_manifest

    verdict = release.verdict
    model_version = None
    if trained is not None:
        try:
            model_version = read_manifest(trained).get("model_version")
        except Exception:
            model_version = None
    report = {
        "model_version": model_version,
        "passed": verdict.passed,
        "reasons": verdict.reasons,
        "version": release.version,
        "promoted": release.promoted,
        "experiment": release.experiment,
        "checks": verdict.checks,
        "table": verdict.table,
    }
    path = Path(root) / REPORTS / "gate.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True, default=str))
    write_release_metrics(root, release, model_version)
    return path


def release_metrics(release: Release, model_version: str | None) -> dict[str, Any]:
    """The release's outcome as DVC metrics (``reports/release.json``): what ``dvc exp show`` and ``dvc
    metrics diff`` put beside the figures: ``gate`` (passed or refused), the content-derived
    ``model_version`` and whether it was ``promoted`` (an experiment never is).

    Not the registered version's number: it counts the MLflow store's history, so a fresh clone would
    write another number than the machine that committed this file (``rolefit versions`` lists the
    number beside each model version, for ``rolefit promote``)."""
    return {
        "gate": "passed" if release.verdict.passed else "refused",
        "model_version": model_version,
        "promoted": bool(release.promoted),
        "experiment": bool(release.experiment),
    }


def write_release_metrics(root: str | Path, release: Release, model_version: str | None) -> Path:
    import json

    path = Path(root) / REPORTS / "release.json"
    path.write_text(json.dumps(release_metrics(release, model_version), indent=2, sort_keys=True) + "\n")
    return path


def write_train_report(root: str | Path, model_version: str, metrics: dict[str, Any]) -> Path:
    """``reports/train.json``: the trained model's version and metrics (a DVC output).

    No MLflow run id: it changes with every run and would change ``dvc.lock`` with it; later stages find
    the run by the model version (:func:`rolefit.ops.tracking.training_run`)."""
    import json

    path = Path(root) / REPORTS / "train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    from rolefit.evaluation.reports import rounded

    report = {"model_version": model_version, "metrics": rounded(metrics)}
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return path


def exit_code_after_repro(root: str | Path, code: int) -> int:
    """The exit code of ``make run`` after ``dvc repro`` exited ``code``: 4 when the gate refused.

    DVC exits 255 for any failed stage; when the export stage refused this run's model (``gate.json``
    names the model in ``models/trained``, refused and not an experiment), ``make run`` exits 4, as
    ``rolefit train`` does. Any other failure keeps DVC's code.
    """
    import json

    from rolefit.scoring.bundle import read_manifest

    if code == 0:
        return 0
    root = Path(root)
    try:
        gate_report = json.loads((root / REPORTS / "gate.json").read_text())
        trained = read_manifest(root / TRAINED).get("model_version")
    except Exception:
        return code
    if (
        gate_report.get("model_version") == trained
        and not gate_report.get("passed")
        and not gate_report.get("experiment")
    ):
        return REFUSED_EXIT
    return code


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in the environment and no passwd entry (some containers)
        return "unknown"


def promote_version(
    version: str,
    frame: pd.DataFrame,
    params,
    root: str | Path,
    *,
    force: bool = False,
    reason: str | None = None,
    wait: float = 0.0,
    log: Callable[[str], None] = lambda _: None,
) -> Release:
    """Promote registered ``version`` (e.g. an experiment's challenger) if it passes the gate now.

    It is judged against the current champion on the same rows, exactly as at training time; raises
    :class:`rolefit.ops.tracking.GateRefused` when refused, unless ``force``: then it is published
    anyway and the version's tags record who forced it, when, why (``reason``) and what the gate said.
    A version the gate passes is promoted normally, ``force`` or not.
    """

    root, version = Path(root), str(version)
    with champion_lock(root, wait=wait, command=f"rolefit promote {version}", log=log):
        try:
            reconcile(root / params.export.dir, log)
        except BundleError as exc:
            if not force:
                raise
            # e.g. the alias names a damaged version: forcing is how to get past it, so go on
            log(f"{params.export.dir} could not be brought in line with the registry ({_one_line(exc)}); "
                "--force publishes over it")  # fmt: skip
        candidate = tracking.download_version(version, project=root)
        champion = tracking.current_champion()
        if champion is not None and str(champion["version"]) == version:
            raise ValueError(f"Version {version} is already the champion.")
        champion_dir, problem, label = None, None, "champion"
        if champion is not None:
            label = f"champion v{champion['version']}"
            champion_dir, problem = _fetch_champion(champion["version"], root)
        verdict = gate.decide(
            candidate, champion_dir, frame, params, champion_label=label, champion_problem=problem
        ).for_version(version)
        for line in verdict.markdown().splitlines():
            log(line)
        forced = None
        if not verdict.passed:
            if not force:
                raise tracking.GateRefused(verdict)
            forced = {
                "forced": "true",
                "forced_by": _user(),
                "forced_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "forced_reason": " ".join((reason or "").split()) or "none given",
                "forced_over": " | ".join(verdict.reasons),
            }
            log(
                f"FORCED: version {version} is published although the quality gate refused it, by "
                f"{forced['forced_by']} at {forced['forced_at']} (reason: {forced['forced_reason']}); "
                "recorded in the version's tags forced, forced_by, forced_at, forced_reason, forced_over"
            )
        elif force:
            log(
                "the quality gate passed: --force was not needed, and the promotion is not recorded as forced"
            )
        why = (
            f"forced by `rolefit promote --force` ({forced['forced_by']}, {forced['forced_at']}, reason: "
            f"{forced['forced_reason']}) although the quality gate refused it"
            if forced
            else "promoted by `rolefit promote` after passing the quality gate"
        )
        publish(candidate, root / params.export.dir, version, verdict, reason=why, forced=forced)
    return Release(verdict=verdict, version=version, promoted=True, experiment=False, forced=bool(forced))


def rollback_version(
    version: str,
    params,
    root: str | Path,
    *,
    reason: str | None = None,
    wait: float = 0.0,
    log: Callable[[str], None] = lambda _: None,
) -> Release:
    """Make ``version``, an earlier version that was promoted before, the champion again; no gate.

    Raises :class:`ValueError` naming the versions it may be when ``version`` is the champion, was
    never promoted, or is not older than the champion (a newer version is promoted through the gate).
    """
    root, version = Path(root), str(version)
    with champion_lock(root, wait=wait, command=f"rolefit promote {version} --rollback", log=log):
        reconcile(root / params.export.dir, log)
        champion = tracking.current_champion()
        if champion is None:
            raise ValueError("There is no champion to roll back from; promote a version first.")
        current = str(champion["version"])
        history = tracking.version_history()
        earlier = [
            str(row["version"]) for row in history if row["promoted"] and row["version"] < int(current)
        ]
        listed = ", ".join(earlier) or "none"
        if version == current:
            raise ValueError(f"Version {version} is already the champion.")
        if version not in earlier:
            known = {str(row["version"]) for row in history}
            why = (
                f"there is no version {version} of the registered model"
                if version not in known
                else f"version {version} is newer than the champion (version {current}); promote it through "
                "the gate without --rollback"
                if int(version) > int(current)
                else f"version {version} was never promoted"
            )
            raise ValueError(
                f"Cannot roll back to version {version}: {why}. A rollback goes to an earlier version that "
                f"was champion before; here: {listed} (list them with `rolefit versions`)."
            )
        bundle = tracking.download_version(version, project=root)
        record = {
            "rollback": "true",
            "rollback_from": current,
            "rollback_by": _user(),
            "rollback_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rollback_reason": " ".join((reason or "").split()) or "none given",
        }
        why = (
            f"rolled back from version {current} by `rolefit promote --rollback` ({record['rollback_by']}, "
            f"{record['rollback_at']}, reason: {record['rollback_reason']}); no gate"
        )
        publish(bundle, root / params.export.dir, version, None, reason=why, rollback=record)
        log(
            f"ROLLBACK: version {version} is the champion again in place of version {current} (reason: "
            f"{record['rollback_reason']}); recorded in the version's tags rollback, rollback_from, "
            "rollback_by, rollback_at, rollback_reason"
        )
    return Release(verdict=None, version=version, promoted=True, experiment=False, rolled_back_from=current)


def publish(
    bundle: Path,
    destination: Path,
    version: str | None,
    verdict: GateVerdict | None,
    *,
    reason: str,
    forced: dict[str, str] | None = None,
    rollback: dict[str, str] | None = None,
) -> None:
    """Make ``bundle`` the champion: MLflow alias (when ``version`` is registered) and folder together.

    See :mod:`rolefit.scoring.champion` for why a crash at any step leaves a whole champion that the next
    run's :func:`reconcile` brings back in line with the registry. ``forced`` or ``rollback`` (tags) is
    recorded on the version before its alias moves; ``verdict`` is None for a rollback (no gate ran).
    """
    from rolefit.scoring import champion

    if version is None:
        champion.publish(bundle, destination)
        return

    def set_alias() -> None:
        try:
            if forced:
                tracking.record_forced(version, forced)
            if rollback:
                tracking.record_rollback(version, rollback)
            tracking.promote(version, verdict, reason=reason)
        except Exception as exc:
            raise tracking.TrackingError(
                f"moving the champion alias to version {version} in MLflow failed "
                f"({type(exc).__name__}: {str(exc)[:300]}); champion and {destination} are unchanged."
            ) from exc

    champion.publish(bundle, destination, mlflow_version=version, set_alias=set_alias)


def reconcile(destination: Path, log: Callable[[str], None]) -> list[str]:
    """Bring the champion folder in line with the MLflow ``champion`` alias; log what was repaired."""
    from rolefit.scoring import champion

    current = tracking.current_champion()
    done = champion.reconcile(
        destination,
        registry_champion=None if current is None else str(current["version"]),
        set_alias=tracking.finish_promotion,
        fetch=tracking.download_version,
    )
    for line in done:
        log(line)
    return done
