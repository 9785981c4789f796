"""The one release flow: a trained bundle becomes a challenger, is gated, and may become the champion.

``rolefit train`` (:func:`rolefit.ops.publish.train_and_publish`) and the DVC ``export`` stage both call
:func:`gate_and_register`; ``rolefit promote`` calls :func:`promote_version`. Every model is registered
as a new version with alias ``challenger``. It is promoted (alias ``champion`` and the folder
``export.dir``) only when the gate passes (:func:`rolefit.evaluation.gate.decide`) and the run is not a DVC
experiment: ``dvc exp run`` records the challenger and the verdict but never deploys. Promoting an
experiment's version is an explicit act, gated the same way.

Promotion moves the alias and the folder ``export.dir`` together (:func:`publish`); every run first
repairs a disagreement a crash may have left (:func:`reconcile`).

Exit codes of ``rolefit train``, ``rolefit promote`` and the ``export`` stage: 0 done (promoted, or an
experiment recorded whatever its verdict), 4 refused by the gate, 5 the tracking store failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rolefit.evaluation import gate
from rolefit.evaluation.gate import GateVerdict
from rolefit.ops import tracking
from rolefit.scoring import champion as published

REFUSED_EXIT = 4
TRACKING_EXIT = 5
#: Where a run puts the bundle it trained (before the gate) and its reports, relative to the project;
#: ``rolefit train`` and the DVC stages share them (dvc.yaml names the same paths as stage outputs).
TRAINED = Path("models") / "trained"
REPORTS = Path("reports")


def is_experiment() -> bool:
    """Whether this process runs inside ``dvc exp run`` (DVC sets these variables for its stages)."""
    return bool(os.environ.get("DVC_EXP_BASELINE_REV") or os.environ.get("DVC_EXP_NAME"))


@dataclass
class Release:
    """What the gate decided and what was done about it."""

    verdict: GateVerdict
    version: str | None
    promoted: bool
    experiment: bool


def gate_and_register(
    trained: str | Path,
    frame: pd.DataFrame,
    params,
    root: str | Path,
    run: dict[str, str] | None,
    *,
    out: str | Path | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Release:
    """Gate the trained bundle against the champion, register it as challenger, promote if it passed.

    With ``run`` None (no tracking), the champion is the bundle in ``export.dir`` and nothing is
    registered. Raises :class:`rolefit.ops.tracking.TrackingError` when the store fails (nothing promoted).
    """

    root = Path(root)
    destination = Path(out) if out else root / params.export.dir
    experiment = is_experiment()
    champion_dir, label = None, "champion"
    if run is not None:
        try:
            reconcile(destination, log)
            champion = tracking.current_champion()
            if champion is not None:
                champion_dir = tracking.download_version(champion["version"], project=root)
                label = f"champion v{champion['version']}"
        except Exception as exc:
            tracking.fail_run(run)
            raise tracking.TrackingError(
                f"MLflow tracking at {tracking.tracking_uri(root)} failed ({type(exc).__name__}: "
                f"{str(exc)[:300]}); nothing was registered and {params.export.dir} is unchanged."
            ) from exc
    elif published.state(destination).bundle is not None:
        champion_dir, label = destination, f"champion in {params.export.dir}"
    verdict = gate.decide(trained, champion_dir, frame, params, champion_label=label)
    for line in verdict.markdown().splitlines()[: 1 + len(verdict.reasons) or 2]:
        log(line)
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
    if promoted:
        publish(trained, destination, version, verdict, reason="it passed the quality gate")
    release = Release(verdict=verdict, version=version, promoted=promoted, experiment=experiment)
    write_gate_report(root, release)
    return release


def write_gate_report(root: str | Path, release: Release) -> Path:
    """``reports/gate.json``: the verdict, its reasons and table, the version and what was done."""
    import json

    verdict = release.verdict
    report = {
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
    return path


def write_train_report(root: str | Path, run: dict[str, str], metrics: dict[str, Any]) -> Path:
    """``reports/train.json``: the MLflow run of the training and its metrics (read by later stages)."""
    import json

    path = Path(root) / REPORTS / "train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**run, "metrics": metrics}, indent=2, sort_keys=True))
    return path


def promote_version(
    version: str,
    frame: pd.DataFrame,
    params,
    root: str | Path,
    *,
    log: Callable[[str], None] = lambda _: None,
) -> Release:
    """Promote registered ``version`` (e.g. an experiment's challenger) if it passes the gate now.

    It is judged against the current champion on the same rows, exactly as at training time; raises
    :class:`rolefit.ops.tracking.GateRefused` when refused.
    """

    root = Path(root)
    reconcile(root / params.export.dir, log)
    candidate = tracking.download_version(version, project=root)
    champion = tracking.current_champion()
    if champion is not None and str(champion["version"]) == str(version):
        raise ValueError(f"Version {version} is already the champion.")
    champion_dir = tracking.download_version(champion["version"], project=root) if champion else None
    label = f"champion v{champion['version']}" if champion else "champion"
    verdict = gate.decide(candidate, champion_dir, frame, params, champion_label=label)
    for line in verdict.markdown().splitlines():
        log(line)
    if not verdict.passed:
        raise tracking.GateRefused(verdict)
    publish(
        candidate,
        root / params.export.dir,
        str(version),
        verdict,
        reason="promoted by `rolefit promote` after passing the quality gate",
    )
    return Release(verdict=verdict, version=str(version), promoted=True, experiment=False)


def publish(
    bundle: Path, destination: Path, version: str | None, verdict: GateVerdict, *, reason: str
) -> None:
    """Make ``bundle`` the champion: MLflow alias (when ``version`` is registered) and folder together.

    See :mod:`rolefit.scoring.champion` for why a crash at any step leaves a whole champion that the next
    run's :func:`reconcile` brings back in line with the registry.
    """
    from rolefit.scoring import champion

    if version is None:
        champion.publish(bundle, destination)
        return

    def set_alias() -> None:
        try:
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
