"""Stage `train`: fit, calibrate and select the champion; export models/trained; log the MLflow run."""

import json
from pathlib import Path

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.model.train import train
from rolefit.ops import tracking
from rolefit.ops.release import REPORTS, TRAINED, write_train_report
from rolefit.scoring.export import export

params = load_params()
frame = read_dataset("data/processed/dataset.parquet")
result = train(frame, params, log=print)
reports = {}
for name in params.ingest.sources:
    path = Path(params.ingest.interim_dir) / f"{name}.report.json"
    reports[name] = json.loads(path.read_text())
result.extra["ingest_reports"] = reports
bundle = export(result, TRAINED, params)
tracking.configure(".")
drift = json.loads((REPORTS / "drift.json").read_text())
run = tracking.log_training(
    result, params, bundle, root=".", ingest_reports=reports, frame=frame, drift_report=drift
)
write_train_report(".", json.loads((TRAINED / "manifest.json").read_text())["model_version"], result.metrics)
print(f"champion candidate {result.candidate} + {result.calibration}; MLflow run {run['run_id']}")
