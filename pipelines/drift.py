"""Stage `drift`: compare every real source with this build's training split, before training."""

import json

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.evaluation.drift import before_training
from rolefit.evaluation.reports import rounded
from rolefit.ops.release import REPORTS

params = load_params()
# against this build's own training split: the champion folder is no DVC output, so a report that read
# it would differ between this machine and a fresh clone (rolefit drift compares with the champion)
report = before_training(read_dataset("data/processed/dataset.parquet"), params, against_champion=False)
REPORTS.mkdir(exist_ok=True)
(REPORTS / "drift.json").write_text(json.dumps(rounded(report), indent=2, sort_keys=True, default=float))
print(
    f"drift against {report['reference_from']}: {len(report['alarms'])} alarm(s)",
    *report["alarms"],
    sep="\n  ",
)
