"""Stage `evaluate`: score the test split with the exported bundle; metrics, plots, figures, model card."""

import json
from pathlib import Path

from rolefit import evaluation, tracking
from rolefit.dataset import read_dataset
from rolefit.params import load_params

params = load_params()
frame = read_dataset("data/processed/dataset.parquet")
evaluated = evaluation.evaluate_bundle("models/trained", frame, params)
manifest = json.loads(Path("models/trained/manifest.json").read_text())
paths = evaluation.write_reports(evaluated, "reports", manifest, params)
tracking.configure(".")
tracking.log_evaluation(json.loads(Path("reports/train.json").read_text())["run_id"], paths, evaluated)
print("\n".join(evaluation.baseline_summary(evaluated)))
