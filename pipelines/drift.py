"""Stage `drift`: compare every real source with what the champion was trained on, before training."""

import json
from pathlib import Path

from rolefit.dataset import read_dataset
from rolefit.drift import check_sources, reference
from rolefit.params import load_params
from rolefit.release import REPORTS

params = load_params()
frame = read_dataset("data/processed/dataset.parquet")
champion = Path(params.export.dir) / "reference.json"
if champion.is_file():
    references, label = json.loads(champion.read_text()), f"the champion in {params.export.dir}"
else:
    references, label = reference(frame), "this build's training split (no champion yet)"
report = check_sources(frame, references, params.drift, label=label, same_source=champion.is_file())
REPORTS.mkdir(exist_ok=True)
(REPORTS / "drift.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=float))
print(f"drift against {label}: {len(report['alarms'])} alarm(s)", *report["alarms"], sep="\n  ")
