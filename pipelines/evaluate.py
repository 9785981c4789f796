"""Stage `evaluate`: score the test split with the exported bundle; metrics, plots, figures, model card."""

import json

from rolefit import evaluation, tracking
from rolefit.dataset import read_dataset
from rolefit.params import load_params
from rolefit.release import REPORTS, TRAINED

params = load_params()
frame = read_dataset("data/processed/dataset.parquet")
evaluated = evaluation.evaluate_bundle(TRAINED, frame, params)
manifest = json.loads((TRAINED / "manifest.json").read_text())
paths = evaluation.write_reports(evaluated, REPORTS, manifest, params)
tracking.configure(".")
tracking.log_evaluation(json.loads((REPORTS / "train.json").read_text())["run_id"], paths, evaluated)
print("\n".join(evaluation.baseline_summary(evaluated)))
