"""Stage `drift`: compare every real source with its own earlier profile (drift.profiles), before training."""

import json

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.evaluation.drift import before_training
from rolefit.evaluation.reports import rounded
from rolefit.ops.release import REPORTS

params = load_params()
report = before_training(read_dataset("data/processed/dataset.parquet"), params)
REPORTS.mkdir(exist_ok=True)
(REPORTS / "drift.json").write_text(json.dumps(rounded(report), indent=2, sort_keys=True, default=float))
print(
    f"drift against {report['reference_from']}: {len(report['alarms'])} alarm(s)",
    *report["alarms"],
    sep="\n  ",
)
