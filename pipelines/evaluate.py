"""Stage `evaluate`: score the test split with the exported bundle; metrics, plots, figures, model card."""

import json

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.evaluation.evaluate import evaluate_bundle
from rolefit.evaluation.reports import baseline_summary, write_reports
from rolefit.ops import tracking
from rolefit.ops.release import REPORTS, TRAINED

params = load_params()
frame = read_dataset("data/processed/dataset.parquet")
evaluated = evaluate_bundle(TRAINED, frame, params)
manifest = json.loads((TRAINED / "manifest.json").read_text())
paths = write_reports(evaluated, REPORTS, manifest, params)
tracking.configure(".")
tracking.log_evaluation(json.loads((REPORTS / "train.json").read_text())["run_id"], paths, evaluated)
print("\n".join(baseline_summary(evaluated)))
