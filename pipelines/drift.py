"""Stage `drift`: compare every real source with its own earlier profile (drift.profiles), before training."""

import json
from pathlib import Path

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.evaluation.drift import before_training

params = load_params()
report = before_training(read_dataset("data/processed/dataset.parquet"), params)
Path("reports").mkdir(exist_ok=True)
Path("reports/drift.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=float))
print(
    f"drift against {report['reference_from']}: {len(report['alarms'])} alarm(s)",
    *report["alarms"],
    sep="\n  ",
)
