"""Every module imports on its own, and no module is named like a function the package exports.

Each module is imported first thing in a fresh interpreter, so an import that only works after some other
module happened to be imported (a cycle held together by import order) fails here. The layers and
no-cycles contracts themselves are checked by ``lint-imports`` (``[tool.importlinter]`` in pyproject.toml).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import rolefit

PACKAGE = Path(rolefit.__file__).resolve().parent


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's scripts: run by Alembic inside a migration, not imported
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def import_alone(name: str) -> tuple[str, int, str]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    out = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, env=env, timeout=300
    )
    return name, out.returncode, out.stderr[-2000:]


def test_the_package_has_the_expected_subpackages():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == {
        "instrument",
        "data",
        "model",
        "scoring",
        "guidance",
        "evaluation",
        "ops",
        "collect",
        "apps",
    }


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = module_names()
    assert len(names) > 40
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(import_alone, names))
    failed = {name: err for name, code, err in results if code != 0}
    assert not failed, "\n\n".join(f"{name}:\n{err}" for name, err in failed.items())


def test_no_module_is_named_like_an_exported_name():
    exported = set(rolefit.__all__)
    clashes = sorted(name for name in module_names() if name.rsplit(".", 1)[-1] in exported)
    assert not clashes
    assert callable(rolefit.predict) and callable(rolefit.predict_many) and callable(rolefit.questionnaire)
    assert issubclass(rolefit.InvalidAnswers, ValueError)


def test_every_domain_error_shares_one_base_and_keeps_its_builtin_base():
    from rolefit.data.io import SurveyError
    from rolefit.data.labelled import LabelledSampleError
    from rolefit.errors import RolefitError
    from rolefit.evaluation.recalibration import RecalibrationCheckFailed
    from rolefit.model.recalibrate import RecalibrationError
    from rolefit.ops.tracking import GateRefused, TrackingError
    from rolefit.scoring.bundle import BundleError
    from rolefit.scoring.champion import ChampionError
    from rolefit.scoring.signing import SignatureError

    for error, builtin in (
        (rolefit.InvalidAnswers, ValueError),
        (SurveyError, ValueError),
        (BundleError, RuntimeError),
        (ChampionError, RuntimeError),
        (SignatureError, RuntimeError),
        (TrackingError, RuntimeError),
        (GateRefused, RuntimeError),
        (LabelledSampleError, ValueError),
        (RecalibrationError, ValueError),
        (RecalibrationCheckFailed, RuntimeError),
    ):
        assert issubclass(error, RolefitError) and issubclass(error, builtin), error


def test_the_pyfunc_module_file_is_where_tracking_logs_it_from():
    from rolefit.ops import tracking

    assert (tracking.PACKAGE_DIR / "ops" / "pyfunc.py").is_file()
    assert tracking.PACKAGE_DIR == PACKAGE
