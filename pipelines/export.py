"""Stage `export`: quality gate, registry version, alias `champion`; models/champion only if it passes."""

import json
import sys
from pathlib import Path

from rolefit import tracking
from rolefit.bundle import publish_bundle
from rolefit.params import load_params

params = load_params()
train_run = json.loads(Path("reports/train.json").read_text())
tracking.configure(".")
champion = tracking.current_champion()
verdict = tracking.quality_gate(train_run["metrics"], "models/trained", params.export.gate, champion)
version = tracking.register(train_run, verdict)
gate = {"passed": verdict.passed, "reasons": verdict.reasons, "version": version, "checks": verdict.checks}
Path("reports/gate.json").write_text(json.dumps(gate, indent=2, sort_keys=True, default=str))
if not verdict.passed:
    print("quality gate refused version", version, "- champion unchanged:", *verdict.reasons, sep="\n  ")
    sys.exit(1)
publish_bundle("models/trained", params.export.dir)
print(f"version {version} is the new champion; exported to {params.export.dir}")
