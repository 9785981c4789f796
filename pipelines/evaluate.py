"""Stage `evaluate`: the trained bundle's metrics, plots, figures, model card, in reports/challenger/."""

import json

from rolefit.config import load_params
from rolefit.data.dataset import read_dataset
from rolefit.evaluation.evaluate import evaluate_bundle
from rolefit.evaluation.reports import baseline_summary, write_reports
from rolefit.ops import tracking
from rolefit.ops.release import CHALLENGER_REPORTS, TRAINED

params = load_params()
frame = read_dataset("data/processed/dataset.parquet")
evaluated = evaluate_bundle(TRAINED, frame, params)
manifest = json.loads((TRAINED / "manifest.json").read_text())
paths = write_reports(evaluated, CHALLENGER_REPORTS, manifest, params)
tracking.configure(".")
run = tracking.training_run(manifest["model_version"])
if run is None:
    print(f"no MLflow training run of {manifest['model_version']} in this store: reports not attached")
else:
    tracking.log_evaluation(run["run_id"], paths, evaluated)
print("\n".join(baseline_summary(evaluated)))
