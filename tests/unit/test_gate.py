"""The quality gate on real bundles, without MLflow: worse refused, better passed, and it fails closed.

The challengers and champions are the session champion and copies of it whose every prediction is
moved by a known amount (:func:`tests.bundles.rebuilt`), so which one is worse is fixed by construction,
not taken from the gate.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from rolefit.evaluation.gate import decide, shown_worse
from rolefit.instrument.items import load_instrument
from rolefit.scoring import champion as published
from rolefit.scoring.bundle import SCORING, sign_bundle
from tests.bundles import rebuilt

#: log-odds added to every person's prediction: far beyond every tolerance in export.gate
SHIFT = 1.5


@pytest.fixture(scope="module")
def frame(training_data):
    return training_data[0]


@pytest.fixture(scope="module")
def params(champion_params):
    """The champion's params with the fewest bootstrap resamples allowed: a difference counts against
    a challenger only when its interval lies above zero too, and 1.5 log-odds clear that on any
    resamples."""
    evaluate = champion_params.evaluate.model_copy(update={"bootstrap": 10})
    return champion_params.model_copy(update={"evaluate": evaluate})


@pytest.fixture(scope="module")
def good(champion):
    return champion[1]


@pytest.fixture(scope="module")
def worse(good, tmp_path_factory):
    """The champion with every prediction pushed 1.5 log-odds toward MLE: miscalibrated on every source."""
    return rebuilt(good, tmp_path_factory.mktemp("worse") / "bundle", intercept_shift=SHIFT)


def copy_of(bundle, tmp_path, name="copy"):
    target = tmp_path / name
    shutil.copytree(bundle, target)
    return target


def test_a_worse_challenger_is_refused_naming_the_sources_it_is_worse_on(worse, good, frame, params):
    verdict = decide(worse, good, frame, params, champion_label="champion v1")
    assert not verdict.passed
    worse_on = [r for r in verdict.reasons if "is worse than the champion v1" in r]
    assert worse_on, verdict.reasons
    assert verdict.checks["sources_worse"]
    rows = [r for r in verdict.table if r["metric"] == "log_loss"]
    assert rows and all(r["champion"] is not None and r["challenger"] > r["champion"] for r in rows)
    assert all(r["low"] > 0 for r in verdict.table if r["worse"]), verdict.table


def _row(difference, low, high, tolerance=0.01):
    return {"difference": difference, "low": low, "high": high, "tolerance": tolerance}


@pytest.mark.parametrize(
    ("difference", "low", "expected"),
    [
        (0.025, 0.004, True),  # beyond the tolerance and the whole interval above zero
        (0.023, -0.028, False),  # beyond the tolerance, but the interval includes no change
        (0.023, 0.0, False),  # an interval touching zero does not show a worsening
        (0.008, 0.002, False),  # shown worse, but within the tolerance
        (0.025, float("nan"), True),  # no interval (one respondent): fail closed
        (0.025, None, True),
    ],
)
def test_a_difference_counts_against_the_challenger_only_beyond_the_tolerance_and_shown(
    difference, low, expected
):
    assert shown_worse(_row(difference, low, 0.05), 0.01) is expected


def test_a_difference_beyond_the_tolerance_that_the_interval_cannot_show_is_a_note_not_a_reason(
    good, frame, params, tmp_path
):
    """A hundred test respondents of one source (every training row kept) and the champion pushed 0.3
    log-odds toward SWE: worse by construction, and beyond the tolerance on the point estimate, but too
    few respondents for the resamples to tell it from no change (measured: log loss +0.019, 95% CI
    -0.004 to +0.034, on the small champion)."""
    test = frame["split"] == "test"
    kept = frame[test & (frame["source"] == "kaggle2021")].head(100).index
    few = frame[~test | frame.index.isin(kept)]
    challenger = rebuilt(good, tmp_path / "bundle", intercept_shift=-0.3)
    verdict = decide(challenger, good, few, params, champion_label="champion v1")
    unshown = [r for r in verdict.table if r["difference"] > r["tolerance"] and not r["worse"]]
    assert unshown, verdict.table
    for row in unshown:
        assert row["low"] <= 0
        counted = f"{row['source']} is worse than the champion v1: {row['metric'].replace('_', ' ')}"
        assert not any(r.startswith(counted) for r in verdict.reasons), verdict.reasons
        assert any("cannot tell the two apart" in n and row["source"] in n for n in verdict.notes), (
            verdict.notes
        )


def test_a_better_challenger_is_promoted(good, worse, frame, params):
    verdict = decide(good, worse, frame, params, champion_label="champion v1")
    assert verdict.passed, verdict.reasons
    assert verdict.reasons == [] and verdict.checks["champion"] == "champion v1"
    rows = [r for r in verdict.table if r["metric"] == "log_loss"]
    assert rows and all(r["difference"] < 0 for r in rows), "compared, and better on every source"


def append_byte(bundle, tmp_path):
    with (bundle / SCORING).open("ab") as handle:
        handle.write(b" ")
    return bundle


def signed_with_another_key(bundle, tmp_path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROLEFIT_SIGNING_KEY", "another-key-that-is-not-the-tests-0123456789")
        sign_bundle(bundle)
    return bundle


def without_manifest(bundle, tmp_path):
    (bundle / "manifest.json").unlink()
    return bundle


def fifo_pointer(bundle, tmp_path):
    folder = tmp_path / "champion"
    published.publish(bundle, folder)
    (folder / published.POINTER).unlink()
    os.mkfifo(folder / published.POINTER)  # reading it without care would hang the gate
    return folder


def same_instrument_version_other_questions(bundle, tmp_path):
    instrument = dataclasses.replace(load_instrument(), sha256="0" * 64)
    return rebuilt(bundle, tmp_path / "other-questions", instrument=instrument)


def other_instrument_changed_after_export(bundle, tmp_path):
    instrument = dataclasses.replace(load_instrument(), version="0.9-test", sha256="1" * 64)
    return append_byte(rebuilt(bundle, tmp_path / "old-instrument", instrument=instrument), tmp_path)


DAMAGE = {
    "one byte appended": (append_byte, ["scoring.json", "does not match its checksum"]),
    "signed with another key": (signed_with_another_key, ["signed with another key"]),
    "no manifest": (without_manifest, ["manifest.json"]),
    "a FIFO for CURRENT": (fifo_pointer, ["CURRENT", "FIFO"]),
    "same instrument version, other questions": (same_instrument_version_other_questions, ["instrument"]),
    "another instrument, then changed": (
        other_instrument_changed_after_export,
        ["does not match its checksum"],
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_champion_that_cannot_be_verified_refuses_the_challenger_naming_why(
    damage, good, frame, params, tmp_path
):
    """The challenger is the session champion itself, which every absolute check passes: only the
    champion it cannot be compared with refuses it."""
    make, words = DAMAGE[damage]
    broken = make(copy_of(good, tmp_path), tmp_path)
    verdict = decide(good, broken, frame, params, champion_label="champion v3")
    assert not verdict.passed
    [reason] = [r for r in verdict.reasons if "champion v3 could not be loaded and verified" in r]
    for word in words:
        assert word in reason, reason
    assert "so it is not promoted; `rolefit promote <version> --force` overrides" in reason
    assert "\n" not in reason
    assert verdict.checks["champion"].startswith("champion v3 could not be loaded and verified")
    assert verdict.for_version("7").reasons[-1].endswith("`rolefit promote 7 --force` overrides")


def test_a_champion_that_could_not_be_fetched_refuses_the_challenger(good, frame, params):
    verdict = decide(
        good, None, frame, params, champion_label="champion v2",
        champion_problem="The MLflow model at models:/rolefit/2 holds no rolefit bundle",
    )  # fmt: skip
    assert not verdict.passed
    assert any("champion v2 could not be loaded and verified (The MLflow model" in r for r in verdict.reasons)


def test_an_intact_champion_of_another_instrument_version_is_noted_not_compared(
    good, frame, params, tmp_path
):
    """The one narrow path: verified in every other respect, built for another questionnaire version."""
    instrument = dataclasses.replace(load_instrument(), version="0.9-test", sha256="1" * 64)
    older = rebuilt(good, tmp_path / "old-instrument", instrument=instrument)
    verdict = decide(good, older, frame, params, champion_label="champion v3")
    assert verdict.passed, verdict.reasons
    assert verdict.checks["champion"] == "champion v3 not comparable (instrument version 0.9-test)"
    [note] = verdict.notes
    assert "built for instrument version '0.9-test'" in note and "absolute checks alone" in note
    assert "- note: the champion v3 was built for instrument version" in verdict.markdown()
    assert all(r["champion"] is None for r in verdict.table)
