"""The public API is listed in one place (public-api.json) and every change to it is recorded (issue #28)."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path

from rolefit.apps.public_api import FILE, describe

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_public_api_is_the_codes():
    committed = json.loads((ROOT / FILE).read_text(encoding="utf-8"))
    current = json.loads(json.dumps(describe()))
    if committed != current:
        diff = "\n".join(
            difflib.unified_diff(
                json.dumps(committed, indent=1, sort_keys=True).splitlines(),
                json.dumps(current, indent=1, sort_keys=True).splitlines(),
                FILE,
                "the code",
                lineterm="",
            )
        )
        raise AssertionError(
            f"The public API changed. Record the change in CHANGELOG.md and regenerate {FILE} with "
            f"`python -m rolefit.apps.public_api --write`:\n{diff[:6000]}"
        )


def test_the_listing_covers_what_an_app_relies_on():
    api = json.loads((ROOT / FILE).read_text(encoding="utf-8"))
    import rolefit

    assert (
        set(api["rolefit"]) == set(rolefit.__all__) >= {"predict", "predict_many", "questionnaire", "guide"}
    )
    assert "model: ModelInfo | None" in api["Prediction"]
    assert {"chosen_by", "trained_at", "training_sources"} <= set(api["Prediction.to_dict.model"])
    assert "/api/predict" in api["rest"]["paths"] and "PredictionOut" in api["rest"]["schemas"]
    assert "model" in api["rest"]["schemas"]["HealthOut"]["properties"]
    assert set(api["instrument"]["items"]) == set(rolefit.questionnaire().ids)


def test_the_changelog_keeps_a_changelog_for_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert "Keep a Changelog" in text and "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.MULTILINE), version
    headings = re.findall(r"^### (\w+)$", text, re.MULTILINE)
    assert headings and set(headings) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_the_package_is_typed():
    assert (ROOT / "src/rolefit/py.typed").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "py.typed" in package_data["package-data"]["rolefit"]
