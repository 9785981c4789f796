"""Stage `export`: register the trained model as challenger, gate it, promote it unless an experiment."""

import json
import sys

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.ops import tracking
from rolefit.ops.lock import ChampionBusy, LockError
from rolefit.ops.release import BUSY_EXIT, REFUSED_EXIT, REPORTS, TRAINED, WRITE_EXIT, gate_and_register
from rolefit.scoring.bundle import BundleError

params = load_params()
model_version = json.loads((REPORTS / "train.json").read_text())["model_version"]
frame = read_dataset("data/processed/dataset.parquet")
tracking.configure(".")
train_run = tracking.training_run(model_version)
if train_run is None:
    print(f"no MLflow training run of {model_version} in this store: gated against {params.export.dir}")
try:
    release = gate_and_register(TRAINED, frame, params, ".", train_run, log=print, command="the export stage")
except ChampionBusy as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(BUSY_EXIT)
except (BundleError, LockError) as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(WRITE_EXIT)
verdict = release.verdict
if release.experiment:
    outcome = "passed" if verdict.passed else "refused"
    print(f"experiment: version {release.version} recorded as challenger ({outcome}); champion unchanged")
elif not verdict.passed:
    refused = f"quality gate refused version {release.version}; champion unchanged:"
    print(refused, *verdict.reasons, sep="\n - ")
    print(f"REFUSED by the quality gate (exit {REFUSED_EXIT}): reports/ still describes the champion; "
          "reports/challenger/refusal.md says why and which settings would address it")  # fmt: skip
    sys.exit(REFUSED_EXIT)
else:
    print(f"version {release.version} is the new champion; exported to {params.export.dir}")
