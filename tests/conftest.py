"""Shared fixtures: the default-params champion, trained once per test session (per xdist worker).

``ROLEFIT_TEST_CHAMPION=small`` (``make check`` sets it) trains and evaluates that champion with fewer
synthetic respondents and fewer bootstrap resamples (:data:`SMALL_CHAMPION`): the same code path and the
same real surveys, in about a third of the time. Tests marked ``full_model`` judge the full-size
champion's quality and are deselected then; ``make test`` trains the full champion and runs them all.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# One BLAS/OpenMP thread per test process and the processes it starts (set before numpy loads): tests
# run two to a 2-core machine (make test, make check). Training the small champion with OpenBLAS's two
# threads took as long as with one on an idle machine, at twice the CPU time, and 13x as long when the
# other core was busy.
for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
# One signing key for every bundle the tests export and load in this process, whatever key a developer
# keeps in .rolefit/ (subprocesses in copied projects get their own: tests/e2e/helpers.env drops it).
TEST_SIGNING_KEY = "rolefit-tests-signing-key-0123456789abcdef"
os.environ["ROLEFIT_SIGNING_KEY"] = TEST_SIGNING_KEY
os.environ.pop("ROLEFIT_SIGNING_KEY_FILE", None)
os.environ.pop("ROLEFIT_REQUIRE_SIGNATURE", None)

CHAMPION_SIZES = ("full", "small")
CHAMPION_SIZE = os.environ.get("ROLEFIT_TEST_CHAMPION", "full")
#: what the small champion changes in params.yaml (e2e/helpers.small_params also trains on 20,000)
SMALL_CHAMPION = {"n_respondents": 20_000, "real_evidence_bootstrap": 20, "evaluate_bootstrap": 50}


#: The test files that take minutes, longest first (their totals from make test's durations of
#: 2026-12-07, those trimmed since scaled by their single-test runs before and after). ``make test``
#: runs ``pytest -n 2 --dist loadfile``: a file never spans two workers, and pytest-xdist hands files
#: out in order, by default those with the most tests first, which left these few-test files to the
#: end, where one could run for minutes after the other worker had finished. They are handed out first
#: instead (:func:`pytest_collection_modifyitems`) and the many short files then fill in whichever
#: worker finishes first. Keep it to files over about a minute.
SLOW_FILES = (
    "tests/e2e/test_release.py",
    "tests/model/test_pooled_sources.py",
    "tests/e2e/test_reproducible.py",
    "tests/e2e/test_dvc_pipeline.py",
    "tests/e2e/test_champion_changes.py",
    "tests/e2e/test_faults_and_privacy.py",
    "tests/e2e/test_notebooks.py",
    "tests/e2e/test_collect_e2e.py",
    "tests/e2e/test_mlflow.py",
)


def pytest_configure(config):
    if CHAMPION_SIZE not in CHAMPION_SIZES:
        raise pytest.UsageError(f"ROLEFIT_TEST_CHAMPION={CHAMPION_SIZE!r}: use one of {CHAMPION_SIZES}")
    if hasattr(config.option, "loadscopereorder"):
        # pytest-xdist's --dist loadfile then keeps the collection's order of files (SLOW_FILES first)
        # rather than sorting them by their number of tests; the same as --no-loadscope-reorder
        config.option.loadscopereorder = False


def pytest_report_header(config):
    if CHAMPION_SIZE == "small":
        return (
            f"champion: small ({SMALL_CHAMPION['n_respondents']:,} synthetic respondents, "
            f"{SMALL_CHAMPION['real_evidence_bootstrap']} bootstrap resamples of the real block, "
            f"{SMALL_CHAMPION['evaluate_bootstrap']} in evaluation); full_model tests deselected"
        )
    return "champion: full (params.yaml)"


def pytest_collection_modifyitems(config, items):
    """With the small champion, deselect the tests that judge the full-size champion's quality. Then
    put the files of :data:`SLOW_FILES` first, in its order (a stable sort: every file's tests keep
    their order, the other files theirs)."""
    if CHAMPION_SIZE == "small":
        dropped = [item for item in items if item.get_closest_marker("full_model")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if not item.get_closest_marker("full_model")]
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(SLOW_FILES)))


@pytest.fixture(autouse=True)
def _id_key_outside_the_checkout(monkeypatch, tmp_path):
    """Ingests keep the id key they make on first use in the test's folder, not in the project."""
    monkeypatch.delenv("ROLEFIT_ID_KEY", raising=False)
    monkeypatch.setenv("ROLEFIT_ID_KEY_FILE", str(tmp_path / "key" / "id.key"))


@pytest.fixture(scope="session")
def default_params():
    from rolefit.config import load_params

    return load_params(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def champion_params(default_params):
    """The params the session champion is trained with: params.yaml, or its small variant."""
    if CHAMPION_SIZE == "full":
        return default_params
    synthesize, train, evaluate = default_params.synthesize, default_params.train, default_params.evaluate
    return default_params.model_copy(
        update={
            "synthesize": synthesize.model_copy(update={"n_respondents": SMALL_CHAMPION["n_respondents"]}),
            "evaluate": evaluate.model_copy(update={"bootstrap": SMALL_CHAMPION["evaluate_bootstrap"]}),
            "train": train.model_copy(
                update={
                    "real_evidence": train.real_evidence.model_copy(
                        update={"bootstrap": SMALL_CHAMPION["real_evidence_bootstrap"]}
                    )
                }
            ),
        }
    )


@pytest.fixture(scope="session")
def training_data(champion_params):
    """The champion's training data (synthetic + the surveys found beside the clone) and ingest reports."""
    from rolefit.data.dataset import training_frame

    return training_frame(champion_params, ROOT)


@pytest.fixture(scope="session")
def champion(tmp_path_factory, champion_params, training_data):
    """Train with the project's default params exactly as `rolefit train` does; return (result, path).

    Uses the real surveys when they are present (as in CI, with ../shared beside the clone). With
    ``ROLEFIT_TEST_CHAMPION=small`` the params are :func:`champion_params`' small variant."""
    from rolefit.model.train import train
    from rolefit.scoring.export import export

    frame, reports = training_data
    result = train(frame, champion_params)
    result.extra["ingest_reports"] = reports
    with signed():
        path = export(result, tmp_path_factory.mktemp("bundle") / "champion", champion_params)
    return result, path


@contextlib.contextmanager
def signed():
    """Sign with the tests' key, even when the test that first asks for a session bundle changed it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROLEFIT_SIGNING_KEY", TEST_SIGNING_KEY)
        patch.delenv("ROLEFIT_SIGNING_KEY_FILE", raising=False)
        patch.delenv("ROLEFIT_REQUIRE_SIGNATURE", raising=False)
        yield


@pytest.fixture(scope="session")
def boosting_champion(tmp_path_factory, default_params):
    """A smaller training run restricted to the gradient-boosting candidate.

    Its fit is trained on the same 12,000 synthetic respondents (``train.fit.synthetic_respondents``
    0), not on 100,000 of its own: its tests judge the all-answers model's tables, shape and allow-list,
    which the fit's sample size does not change (its draw took 40% of this fixture's time)."""
    from rolefit.data.dataset import synthetic_frame
    from rolefit.model.train import train
    from rolefit.scoring.export import export

    train_params = default_params.train
    params = default_params.model_copy(
        update={
            "synthesize": default_params.synthesize.model_copy(update={"n_respondents": 12_000}),
            "train": train_params.model_copy(
                update={
                    "candidates": ("boosting",),
                    "fit": train_params.fit.model_copy(update={"synthetic_respondents": 0}),
                }
            ),
        }
    )
    frame = synthetic_frame(params, ROOT)
    result = train(frame, params)
    with signed():
        path = export(result, tmp_path_factory.mktemp("bundle-boosting") / "champion", params)
    return result, path


@pytest.fixture(scope="session")
def evaluated(champion, training_data, champion_params, tmp_path_factory):
    """The evaluate stage run on the champion: (evaluation, report paths)."""
    import json

    from rolefit.evaluation.evaluate import evaluate_bundle
    from rolefit.evaluation.reports import write_reports

    _, path = champion
    evaluation = evaluate_bundle(path, training_data[0], champion_params)
    manifest = json.loads((path / "manifest.json").read_text())
    paths = write_reports(evaluation, tmp_path_factory.mktemp("reports"), manifest, champion_params)
    return evaluation, paths


@pytest.fixture()
def use_model(monkeypatch):
    """Point rolefit.predict at a bundle for one test (and forget cached models around it)."""
    from rolefit.scoring.loader import clear_cache

    def _use(path):
        clear_cache()
        monkeypatch.setenv("ROLEFIT_MODEL", str(path))

    yield _use
    clear_cache()


@pytest.fixture()
def old_bundle(tmp_path, monkeypatch):
    """The tables-only bundle exported before the subpackage restructure (tests/fixtures/
    bundle-before-restructure: no answers.json, no readiness.json), loadable: its ``model.skops`` is left
    out of the fixture (the predict path never reads it), so an empty one is written and re-hashed. It is
    unsigned, from before signing existed, so it is checked by its checksums as without a key."""
    import hashlib
    import json
    import shutil

    from rolefit.scoring.loader import clear_cache

    bundle = tmp_path / "old"
    shutil.copytree(ROOT / "tests" / "fixtures" / "bundle-before-restructure", bundle)
    (bundle / "model.skops").write_bytes(b"")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["model.skops"] = hashlib.sha256(b"").hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.delenv("ROLEFIT_SIGNING_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    clear_cache()
    yield bundle
    clear_cache()
