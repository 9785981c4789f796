"""Hostile survey files: each is ingested or refused with a clear message, every row accounted for,
and no partial outputs are left behind."""

import csv
import json
import subprocess
import sys

import pytest

from rolefit.data.ingest import ingest, ingest_stream
from tests.environment import child_env

GOOD = [["respondent_id", "interest_math", "career_goal", "role", "comments"],
        ["a1", "5", "Applied scientist", "mle", "très bien"],
        ["a2", "Not at all", "cloud_engineer", "swe", "ok"]]  # fmt: skip


def write(path, rows, *, encoding="utf-8", delimiter=","):
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def accounted(report):
    assert report["rows_read"] == report["accepted"] + report["quarantined"] + report["duplicates"]


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8-sig", ","), ("latin-1", ","), ("utf-8", ";"), ("latin-1", ";")]
)
def test_bom_latin1_and_semicolons(tmp_path, encoding, delimiter):
    path = write(tmp_path / "export.csv", GOOD, encoding=encoding, delimiter=delimiter)
    for report in (
        ingest(path, "instrument").report,
        ingest_stream([path], "s", tmp_path / "out", progress=False),
    ):
        accounted(report)
        assert report["accepted"] == 2 and report["quarantined"] == 0


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        ingest_stream([empty], "s", tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="empty"):
        ingest(empty, "instrument")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    header = write(tmp_path / "header.csv", GOOD[:1])
    report = ingest_stream([header], "h", tmp_path / "out", progress=False)
    assert report["rows_read"] == 0 and report["accepted"] == 0
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"h.parquet", "h.rejects.csv", "h.report.json"}


def test_cut_off_row_is_quarantined(tmp_path):
    path = write(tmp_path / "cut.csv", GOOD)
    with path.open("a") as handle:
        handle.write("a3,4,undec")
    report = ingest_stream([path], "cut", tmp_path / "out", progress=False)
    accounted(report)
    assert report["accepted"] == 2 and report["quarantined"] == 1
    rejects = (tmp_path / "out/cut.rejects.csv").read_text()
    assert "fields but the header has" in rejects


def test_duplicates_across_two_files(tmp_path):
    first = write(tmp_path / "spring.csv", GOOD)
    second = write(tmp_path / "autumn.csv", [GOOD[0], GOOD[1], ["a9", "3", "undecided", "swe", ""]])
    report = ingest_stream([first, second], "both", tmp_path / "out", progress=False)
    accounted(report)
    assert report["accepted"] == 3 and report["duplicates"] == 1
    rejects = (tmp_path / "out/both.rejects.csv").read_text()
    assert "autumn.csv" in rejects and "spring.csv row 1" in rejects


def test_a_failure_leaves_no_partial_outputs(tmp_path):
    good = write(tmp_path / "good.csv", GOOD)
    bad = write(tmp_path / "nolabel.csv", [["respondent_id", "interest_math"], ["x", "3"]])
    with pytest.raises(ValueError, match="no 'role' column"):
        ingest_stream([good, bad], "mixed", tmp_path / "out", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_a_million_rows_stream_with_bounded_memory(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pd.DataFrame({
        "respondent_id": np.char.add("p", np.arange(n).astype(str)),
        "interest_math": rng.integers(1, 6, n),
        "interest_coding_puzzles": rng.integers(1, 6, n),
        "skill_dsa": rng.integers(1, 6, n),
        "years_coding": rng.choice([0.5, 2.0, 4.0, 7.5], n),
        "uses_python": rng.integers(0, 2, n),
        "role": rng.choice(["swe", "mle"], n),
    })  # fmt: skip
    frame.loc[::1000, "interest_math"] = 9  # 1,000 bad rows
    path = tmp_path / "million.csv"
    frame.to_csv(path, index=False)
    del frame
    code = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); "
        "print(r.stdout[-800:]); print(r.stderr[-800:], file=sys.stderr)"
    )
    env = child_env()
    command = [sys.executable, "-m", "rolefit.apps.cli", "ingest", str(path), "--adapter", "instrument",
               "--out", str(tmp_path / "out")]  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code, *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        cwd=tmp_path,
    )
    status, peak_mb = map(int, out.stdout.splitlines()[0].split())
    assert status == 0, out.stdout + out.stderr
    assert "ingesting million" in out.stderr  # the progress bar
    report = json.loads((tmp_path / "out/million.report.json").read_text())
    accounted(report)
    assert report["rows_read"] == n and report["quarantined"] == 1000
    assert peak_mb < 600, f"peak memory {peak_mb} MB"
    print(f"peak memory ingesting 1,000,000 rows: {peak_mb} MB")
