"""Ingest integrity under hostile files (issue #14): every line accounted for, blank ids never duplicates,
zip bombs refused in bounded memory, one-line errors from the real CLI, no temporary files surviving a
kill, keyed pseudonyms, and CSV outputs that are safe to open in a spreadsheet."""

import csv
import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rolefit.atomic import TMP_MARK
from rolefit.data.csvsafe import to_csv
from rolefit.data.ingest import ingest, ingest_stream, write_ingest
from rolefit.data.io import SurveyError
from tests.environment import child_env

ROLEFIT = str(Path(sys.executable).parent / "rolefit")
HEADER = ["respondent_id", "interest_math", "comments", "role"]


@pytest.fixture(autouse=True)
def _id_key_outside_the_checkout(monkeypatch, tmp_path):
    """In-process ingests keep their id key in the test's folder, not in the project."""
    monkeypatch.delenv("ROLEFIT_ID_KEY", raising=False)
    monkeypatch.setenv("ROLEFIT_ID_KEY_FILE", str(tmp_path / "key" / "id.key"))


def cli(args, cwd, *, env=None):
    """Run the real ``rolefit`` command in ``cwd`` (so its default id key lands there)."""
    base = child_env()
    command = [ROLEFIT, *args]
    return subprocess.run(
        command, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=600
    )


def assert_one_line_error(out, *needles, code=2):
    """Exit ``code``, and stderr is exactly one ``error: ...`` line naming each needle, no traceback."""
    lines = out.stderr.strip().splitlines()
    assert out.returncode == code, (out.returncode, out.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TMP_MARK in p.name) if folder.is_dir() else []


def survey_lines(n: int, newline: str = "\n") -> list[str]:
    """A form export of ``n`` rows, one line each, with quoted free text (commas and quotes inside)."""
    lines = [",".join(HEADER)]
    for i in range(n):
        comment = '"fine, thanks"' if i % 7 == 0 else '"she said ""wow"""' if i % 11 == 0 else "ok"
        lines.append(f"p{i},{1 + i % 5},{comment},{'mle' if i % 3 else 'swe'}")
    return [line + newline for line in lines]


def covered(result_rows, reject_rows, n):
    """Every data row of the file is either accepted or rejected, exactly once."""
    numbers = sorted([*result_rows, *reject_rows])
    assert numbers == list(range(1, n + 1))


# --------------------------------------------------------------------------------------------------
# every line accounted for


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_an_unclosed_quote_quarantines_only_its_own_line(tmp_path, newline):
    lines = survey_lines(1000, newline)
    lines[3] = f'p2,3,"oops, never closed,swe{newline}'  # data row 3, early in the file
    path = tmp_path / "unclosed.csv"
    path.write_bytes("".join(lines).encode())
    whole = ingest(path, "instrument")
    streamed = ingest_stream([path], "s", tmp_path / "out", chunk_rows=100, progress=False)
    for report in (whole.report, streamed):
        assert report["rows_in_file"] == report["rows_read"] == 1000  # the file's data lines
        assert report["accepted"] == 999 and report["quarantined"] == 1 and report["duplicates"] == 0
    covered(whole.accepted["row_number"], whole.rejects["row_number"], 1000)
    (reason,) = whole.rejects["reason"]
    assert "unclosed quote" in reason and "line 4" in reason
    streamed_rejects = pd.read_csv(tmp_path / "out/s.rejects.csv")
    assert streamed_rejects["row_number"].tolist() == [3]
    covered(pd.read_parquet(tmp_path / "out/s.parquet")["row_number"], [3], 1000)


def test_quoted_cells_may_span_lines_but_every_line_is_still_counted(tmp_path):
    lines = survey_lines(20)
    lines[5] = 'p4,5,"first line of a comment\nsecond line, with a comma",mle\n'  # one row on two lines
    lines[-1] = 'p19,2,"cut off at the end of the file'  # the last line's quote never closes
    path = tmp_path / "multiline.csv"
    path.write_text("".join(lines))
    report = ingest(path, "instrument").report
    assert report["rows_in_file"] == 20 and report["accepted"] == 19 and report["quarantined"] == 1
    assert report["quarantine_reasons"] == {
        "an unclosed quote: a quoted cell runs on past the end of its line": 1
    }


def test_oversized_cells_and_lines_are_quarantined_with_a_reason(tmp_path):
    lines = survey_lines(50)
    lines[10] = f"p9,3,{'x' * 200_000},swe\n"  # a 200,000-character cell
    lines[20] = f"p19,3,{'y' * 2_000_000},swe\n"  # a line longer than rows are ever read
    path = tmp_path / "huge.csv"
    path.write_text("".join(lines))
    out = cli(["ingest", str(path), "--adapter", "instrument", "--out", "out", "--no-progress"], tmp_path)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    rejects = pd.read_csv(tmp_path / "out/huge.rejects.csv")
    assert rejects["row_number"].tolist() == [10, 20]
    assert "a cell longer than 100,000 characters" in rejects["reason"].iloc[0]
    assert "a line longer than 1,000,000 characters" in rejects["reason"].iloc[1]
    assert "50 rows in file" in out.stdout and "48 accepted + 2 quarantined" in out.stdout


# --------------------------------------------------------------------------------------------------
# blank ids are "no id", never duplicates


def test_blank_ids_are_never_duplicates_in_csv(tmp_path):
    rows = [
        HEADER,
        ["", "1", "ok", "swe"],
        ["  ", "2", "ok", "swe"],
        ["", "3", "ok", "mle"],
        ["a1", "4", "ok", "mle"],
        [" A1 ", "5", "ok", "mle"],
        ["", "5", "ok", "mle"],
    ]
    path = tmp_path / "blank.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    whole = ingest(path, "instrument")
    streamed = ingest_stream([path], "b", tmp_path / "out", chunk_rows=2, progress=False)
    for report in (whole.report, streamed):
        assert report["accepted"] == 5 and report["duplicates"] == 1  # only " A1 " repeats "a1"
    assert whole.rejects["row_number"].tolist() == [5]
    ids = whole.accepted["respondent_id"].tolist()
    assert ids[:3] == ["blank-row0000001", "blank-row0000002", "blank-row0000003"] and len(set(ids)) == 5


def test_blank_and_formula_ids_in_excel(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["survey export"])  # a title row above the header
    sheet.append(["respondent_id", "interest_math", "skill_dsa", "role"])
    for row in (
        [None, 3, 2, "mle"],
        [None, 2, 2, "swe"],
        ["=1+1", 4, 2, "swe"],
        ["=1+1", 5, 2, "swe"],
        ["   ", 1, 2, "swe"],
        [123, 4, 2, "swe"],
        [123, 4, 3, "swe"],
    ):
        sheet.append(row)
    path = tmp_path / "form.xlsx"
    workbook.save(path)
    result = ingest(path, "instrument")
    report = result.report
    assert report["rows_read"] == 7 and report["accepted"] == 6 and report["duplicates"] == 1
    # the duplicate is the second 123; blank ids and never-computed formulas are no id
    assert result.rejects["row_number"].tolist() == [7]
    assert not any(str(v).startswith("=") for v in result.accepted["respondent_id"])


# --------------------------------------------------------------------------------------------------
# zip bombs and one-line errors


def write_zip_bomb(path: Path, member: str, size: int = 2 << 30, segment: int = 1 << 24) -> Path:
    """A real zip whose ``member`` inflates to ``size`` bytes of CSV-like filler, built in about a second:
    one 16 MiB segment is deflated once, flushed so it stands alone, and repeated."""
    block = b"0," * (segment // 2)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush()
    count = size // segment
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    packed, name = len(piece) * count + len(tail), member.encode()
    common = (8, 0, 0x21, crc, packed, size, len(name), 0)  # deflated, time, date, crc, sizes, name, extra
    with path.open("wb") as handle:
        handle.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, *common) + name)
        for _ in range(count):
            handle.write(piece)
        handle.write(tail)
        offset = handle.tell()
        central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, *common, 0, 0, 0, 0, 0) + name
        handle.write(central)
        handle.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(central), offset, 0))
    return path


@pytest.mark.slow
def test_a_zip_bomb_is_refused_within_1_gb(tmp_path):
    bomb = write_zip_bomb(tmp_path / "kaggle-survey-2021.zip", "kaggle_survey_2021_responses.csv")
    assert bomb.stat().st_size < 5_000_000
    # the child runs under a 1 GiB address-space limit and reports its peak resident memory
    code = (
        "import resource, subprocess, sys\n"
        "limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True, preexec_fn=limit)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
        "print(r.stderr, file=sys.stderr, end='')"
    )
    command = [ROLEFIT, "ingest", str(bomb), "--adapter", "kaggle2021", "--out", "out", "--no-progress"]
    out = subprocess.run(
        [sys.executable, "-c", code, *command], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    status, peak_mb = map(int, out.stdout.split())
    out.returncode = status
    assert_one_line_error(
        out, "kaggle-survey-2021.zip is refused as a likely zip bomb", "2,147,483,648 bytes"
    )
    assert peak_mb < 1024, f"peak memory {peak_mb} MB"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_excel_bomb_is_refused_unread(tmp_path):
    path = write_zip_bomb(tmp_path / "form.xlsx", "xl/worksheets/sheet1.xml", size=256 << 20)
    with pytest.raises(SurveyError, match=r"form\.xlsx is refused as a likely zip bomb"):
        ingest(path, "instrument")


def _zip_of(text: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("responses.csv", text)
    return buffer.getvalue()


HOSTILE = {  # file name, content, adapter, what the one-line error says
    "garbage zip": ("k.zip", b"PK\x03\x04" + bytes(range(256)), "kaggle2021", "k.zip is not a readable zip"),
    "another survey's zip": ("o.zip", _zip_of("id,answer\n1,yes\n"), "kaggle2021", "is not the Kaggle ML"),
    "a 200,000-character header cell": (
        "h.csv",
        b"x" * 200_000 + b",role\n",
        "instrument",
        "the header row cannot be read",
    ),
    "an empty file": ("e.csv", b"", "instrument", "is empty"),
    "no role column": ("n.csv", b"interest_math\n3\n", "instrument", "no 'role' column"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_refused_file_is_a_one_line_error_and_writes_nothing(tmp_path, case):
    name, content, adapter, message = HOSTILE[case]
    (tmp_path / name).write_bytes(content)
    out = cli(["ingest", name, "--adapter", adapter, "--out", "out", "--no-progress"], tmp_path)
    assert_one_line_error(out, message, "no outputs were written")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _zip_with(path: Path, members: dict[str, str]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def _form(rows: int, role: str) -> str:
    return "interest_math,role\n" + "".join(f"{1 + i % 5},{role}\n" for i in range(rows))


def test_a_zip_with_several_csv_files_is_refused_naming_each_unless_one_is_chosen(tmp_path):
    # the shortest name used to be read and the other files dropped without a word
    members = {"b.csv": _form(3, "swe"), "exports/a-longer-name.csv": _form(5, "mle"), "notes.txt": "x"}
    _zip_with(tmp_path / "forms.zip", members)
    args = ["ingest", "forms.zip", "--adapter", "instrument", "--out", "out", "--no-progress"]
    out = cli(args, tmp_path)
    assert_one_line_error(out, "forms.zip holds 2 .csv files (b.csv, exports/a-longer-name.csv)",
                          "member: <name>", "--member <name>", "no outputs were written")  # fmt: skip
    assert not (tmp_path / "out").exists()
    # the same refusal in the library, which the pipeline's ingest stage calls
    with pytest.raises(SurveyError, match=r"b\.csv, exports/a-longer-name\.csv"):
        ingest(tmp_path / "forms.zip", "instrument")
    # choosing one reads that one, and the report says which
    chosen = cli([*args, "--member", "exports/a-longer-name.csv"], tmp_path)
    assert chosen.returncode == 0, chosen.stderr
    report = json.loads((tmp_path / "out/forms.report.json").read_text())
    assert report["member"] == "exports/a-longer-name.csv" and report["accepted"] == 5
    assert report["roles"] == {"swe": 0, "mle": 5}
    result = ingest(tmp_path / "forms.zip", "instrument", member="b.csv")
    assert result.report["accepted"] == 3 and result.report["member"] == "b.csv"
    # a member that is not there is named, with the ones that are
    with pytest.raises(SurveyError, match=r"has no member 'c\.csv'; its \.csv files are b\.csv, exports"):
        ingest(tmp_path / "forms.zip", "instrument", member="c.csv")


def test_a_zip_of_one_csv_file_is_read_whatever_else_it_holds(tmp_path):
    # the Kaggle zip holds one CSV file and two PDFs; a zip made on a Mac adds __MACOSX/._<name> copies
    _zip_with(tmp_path / "mac.zip", {"form.csv": _form(4, "swe"), "__MACOSX/._form.csv": "\x00\x05",
                                     "readme.pdf": "%PDF"})  # fmt: skip
    result = ingest(tmp_path / "mac.zip", "instrument")
    assert result.report["accepted"] == 4 and "member" not in result.report
    with pytest.raises(SurveyError, match=r"contains no \.csv file"):
        ingest(_zip_with(tmp_path / "none.zip", {"readme.pdf": "%PDF"}), "instrument")


def test_a_source_in_params_can_name_its_zip_member(tmp_path):
    from rolefit.config import load_params
    from rolefit.data.dataset import survey_frames

    _zip_with(tmp_path / "forms.zip", {"b.csv": _form(3, "swe"), "c.csv": _form(6, "mle")})
    params = tmp_path / "params.yaml"
    params.write_text(
        f"ingest:\n  search_paths: [{tmp_path}]\n  sources:\n"
        "    spring: {adapter: instrument, file: forms.zip, member: c.csv}\n"
    )
    frames = survey_frames(load_params(params), tmp_path)
    accepted, report = frames["spring"]
    assert len(accepted) == 6 and report["member"] == "c.csv"


def full_disk(folder: Path):
    """How to run a command for which ``folder`` is a full disk: ``(command prefix, preexec_fn)``.

    A 64 KiB tmpfs mounted over ``folder`` in a private mount namespace, so writes fail with ENOSPC as
    on a real full disk (what was left in it is printed as ``left: <name>`` lines on stderr). Where
    user namespaces are not allowed, a file-size limit makes the kernel fail the writes (EFBIG) instead.
    """
    mount = f'mount -t tmpfs -o size=64k tmpfs "{folder}"'
    namespace = ["unshare", "--user", "--map-root-user", "--mount"]
    if (
        shutil.which("unshare")
        and subprocess.run([*namespace, "sh", "-c", mount], capture_output=True).returncode == 0
    ):
        script = (
            f'{mount} || exit 99; "$@"; status=$?; ls -A "{folder}" | sed "s/^/left: /" >&2; exit $status'
        )
        return [*namespace, "sh", "-c", script, "sh"], None

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    return [], limit


def test_a_full_disk_is_a_one_line_error_and_leaves_nothing(tmp_path):
    rows = [HEADER] + [[f"p{i}", "9", "ok", "swe"] for i in range(5000)]  # every row rejected: a big CSV
    path = tmp_path / "form.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    folder = tmp_path / "out"
    folder.mkdir()
    prefix, preexec = full_disk(folder)
    base = child_env()
    command = [*prefix, ROLEFIT, *f"ingest {path} --adapter instrument --out {folder} --no-progress".split()]
    out = subprocess.run(
        command, cwd=tmp_path, env=base, capture_output=True, text=True, timeout=300, preexec_fn=preexec
    )
    left = [line for line in out.stderr.splitlines() if line.startswith("left: ")]
    out.stderr = "\n".join(line for line in out.stderr.splitlines() if not line.startswith("left: "))
    assert_one_line_error(out, "no outputs were written", code=1)
    assert "No space left on device" in out.stderr or "File too large" in out.stderr
    assert left == [] and list(folder.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# kill -9: the next run removes what a killed one left


def kill_when_writing(command, cwd, folder: Path, env=None):
    """Start ``command``, kill -9 it once its temporary outputs exist in ``folder``; return their names."""
    base = child_env()
    process = subprocess.Popen(
        command, cwd=cwd, env={**base, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 180
        while not leftovers(folder) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # well into writing
        assert process.poll() is None, "the command finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    return leftovers(folder)


def answers_file(path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "respondent_id": [f"p{i}" for i in range(n)],
            "interest_math": rng.integers(1, 6, n),
            "skill_dsa": rng.integers(1, 6, n),
            "role": rng.choice(["swe", "mle"], n),
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_kill_during_ingest_leaves_temp_files_that_the_next_run_removes(tmp_path):
    path = answers_file(tmp_path / "big.csv", 100_000)
    command = [
        ROLEFIT,
        *f"ingest {path} --adapter instrument --out out --no-progress --chunk-rows 1000".split(),
    ]
    left = kill_when_writing(command, tmp_path, tmp_path / "out")
    assert left and all(
        name.startswith((".big.parquet", ".big.rejects.csv", ".big.report.json")) for name in left
    )
    assert not (tmp_path / "out/big.report.json").exists()  # no outputs from the killed run
    again = cli(command[1:], tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert leftovers(tmp_path / "out") == []
    assert "100,000 accepted" in again.stdout


@pytest.mark.slow
def test_kill_during_score_leaves_temp_files_that_the_next_run_removes(tmp_path, champion):
    _, model = champion
    path = answers_file(tmp_path / "answers.csv", 100_000)
    command = [ROLEFIT, "score", str(path), "out/scores.csv", "--no-progress", "--chunk-rows", "100"]
    left = kill_when_writing(command, tmp_path, tmp_path / "out", env={"ROLEFIT_MODEL": str(model)})
    assert left and all(name.startswith(".scores.csv" + TMP_MARK) for name in left)
    assert not (tmp_path / "out/scores.csv").exists()
    small = answers_file(tmp_path / "small.csv", 10)
    again = cli(
        ["score", str(small), "out/scores.csv", "--no-progress"], tmp_path, env={"ROLEFIT_MODEL": str(model)}
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert leftovers(tmp_path / "out") == [] and len(pd.read_csv(tmp_path / "out/scores.csv")) == 10


# --------------------------------------------------------------------------------------------------
# keyed pseudonyms


def form_with_ids(path: Path, ids) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *([i, "4", "ok", "mle"] for i in ids)])
    return path


def keyed_id(key: bytes, raw_id: str) -> str:
    """The documented pseudonym, computed here rather than by rolefit: ``instrument-`` and the first 16
    hex digits of HMAC-SHA256(key, "instrument:" + the id without surrounding spaces, case-folded)."""
    import hmac

    message = ("instrument:" + raw_id.strip().casefold()).encode()
    return "instrument-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def unkeyed_ids(raw_id: str) -> set[str]:
    """What anyone could compute from a guessed id without the key: plain SHA-256 of its usual forms."""
    forms = {raw_id, raw_id.strip(), raw_id.strip().casefold()}
    messages = {m for f in forms for m in (f, f"instrument:{f}", f"rolefit:instrument:{f}")}
    digests = {hashlib.sha256(m.encode()).hexdigest() for m in messages}
    return {d[:16] for d in digests} | {f"instrument-{d[:16]}" for d in digests} | digests


def test_ids_are_keyed_so_a_guessed_email_does_not_reproduce_them(tmp_path):
    email = "jane.doe@example.com"
    form = form_with_ids(tmp_path / "form.csv", [email, "JANE.doe@example.com ", "bob@example.org"])
    out = cli(["ingest", str(form), "--adapter", "instrument", "--out", "out", "--no-progress"], tmp_path)
    assert out.returncode == 0, out.stderr
    stored = pd.read_parquet(tmp_path / "out/form.parquet")["respondent_id"].tolist()
    # the unkeyed hashes an attacker can compute from a guessed address are not the stored ids
    assert not set(stored) & (unkeyed_ids(email) | unkeyed_ids("bob@example.org"))
    # the key was made on first use, beside the project, readable by its owner only
    key_file = tmp_path / ".rolefit/id.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip().encode()
    assert len(key) >= 32
    # the stored ids are the keyed ones (the second row is a duplicate of the first)
    assert stored == [keyed_id(key, email), keyed_id(key, "bob@example.org")]
    # the same key gives the same ids on the next run (duplicates across files still found) ...
    again = cli(["ingest", str(form), "--adapter", "instrument", "--out", "again", "--no-progress"], tmp_path)
    assert pd.read_parquet(tmp_path / "again/form.parquet")["respondent_id"].tolist() == stored, again.stderr
    # ... and ROLEFIT_ID_KEY, when set, is the key instead: another key, other ids
    secret = "an environment key, long enough"
    env = cli(
        ["ingest", str(form), "--adapter", "instrument", "--out", "env", "--no-progress"],
        tmp_path,
        env={"ROLEFIT_ID_KEY": secret},
    )
    assert env.returncode == 0, env.stderr
    ids = pd.read_parquet(tmp_path / "env/form.parquet")["respondent_id"].tolist()
    assert ids == [keyed_id(secret.encode(), email), keyed_id(secret.encode(), "bob@example.org")]
    assert not set(ids) & set(stored)


def test_without_a_key_ids_are_dropped_not_weakly_hashed(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLEFIT_ID_KEY", "")
    monkeypatch.setenv("ROLEFIT_ID_KEY_FILE", "/dev/null/id.key")  # cannot be created, even by root
    form = form_with_ids(tmp_path / "form.csv", ["jane.doe@example.com", "jane.doe@example.com"])
    result = ingest(form, "instrument")
    assert result.accepted["respondent_id"].tolist() == ["form-row0000001", "form-row0000002"]
    assert result.report["respondent_ids"].startswith("dropped: no key")
    assert result.report["duplicates"] == 0  # without ids, repeats cannot be recognised
    monkeypatch.setenv("ROLEFIT_ID_KEY", "short")
    with pytest.raises(SurveyError, match="ROLEFIT_ID_KEY is too short"):
        ingest(form, "instrument")


# --------------------------------------------------------------------------------------------------
# CSV outputs are safe to open in a spreadsheet


def cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_text_cells_are_neutralised_and_numbers_stay_numbers(tmp_path):
    texts = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-1.2", "\tx", "\rx", "ok", None]
    frame = pd.DataFrame(
        {
            "text": texts,
            "log_odds": [-1.2, 0.5, -3.0, 1.0, 0.0, -0.1, 2.0, -2.5],
            "count": [-5, 1, 2, 3, 4, 5, 6, 7],
        }
    )
    to_csv(frame, tmp_path / "report.csv")
    rows = cells(tmp_path / "report.csv")[1:]
    assert [r[0] for r in rows[:6]] == ["'" + t for t in texts[:6]]
    assert rows[6][0] == "ok" and rows[0][1] == "-1.2" and rows[0][2] == "-5"


#: What makes a spreadsheet run a cell as a formula (OWASP, CSV injection), written out here rather than
#: taken from rolefit.data.csvsafe, so that a start dropped from rolefit's list is caught.
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_ids_are_neutralised_in_rejects_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLEFIT_ID_KEY_FILE", "/dev/null/id.key")  # ids dropped: rows named after the file
    # user text reaches rejects.csv as the file's name and the row ids made from it: one file per start
    paths = []
    for start in DANGEROUS_STARTS:
        path = tmp_path / "in" / f"{start}1+2.csv"
        path.parent.mkdir(exist_ok=True)
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([HEADER, ["x", "9", "ok", "swe"], ["y", "3", "ok", "astronaut"]])
        paths.append(path)
        write_ingest(ingest(path, "instrument", source=f"whole{len(paths)}"), tmp_path / "whole")
    out = cli(
        ["ingest", *map(str, paths), "--adapter", "instrument", "--source", "stream", "--out", "stream",
         "--no-progress"],
        tmp_path,
        env={"ROLEFIT_ID_KEY_FILE": "/dev/null/id.key"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    streamed = cells(tmp_path / "stream/stream.rejects.csv")
    assert len(streamed) == 1 + 2 * len(DANGEROUS_STARTS)
    for number, (start, path) in enumerate(zip(DANGEROUS_STARTS, paths, strict=True), start=1):
        whole = cells(tmp_path / f"whole/whole{number}.rejects.csv")
        assert len(whole) == 3
        stem = f"{start}1+2"
        # the exact text, behind one quote: a spreadsheet shows it as it was
        assert f"'{stem}-row0000001" in whole[1] and f"'{stem}-row0000002" in whole[2], (start, whole)
        row = streamed[2 * number - 1]
        assert row[:3] == [f"'{path.name}", "1", f"'{stem}-row0000001"], (start, row)
        for rows in (whole, streamed):
            assert not any(cell.startswith(DANGEROUS_STARTS) for r in rows for cell in r), (start, rows)


@pytest.mark.slow
def test_formula_ids_are_neutralised_in_scores_csv(tmp_path, champion):
    from rolefit.scoring.batch import score_file

    _, model = champion
    ids = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1", "p1"]
    answers = pd.DataFrame({"respondent_id": ids, "interest_math": [5, 1, 3, 4, 2, 5]})
    answers.to_csv(tmp_path / "answers.csv", index=False)
    score_file(tmp_path / "answers.csv", tmp_path / "scores.csv", model=model, top_k=2, progress=False)
    rows = cells(tmp_path / "scores.csv")
    assert [r[0] for r in rows[1:]] == ["'" + i for i in ids[:5]] + ["p1"]
    assert not any(cell.startswith(DANGEROUS_STARTS) for row in rows for cell in row)
    assert all(0 < float(r[1]) < 1 for r in rows[1:])  # p_swe is still a number
    # Parquet is data, not a spreadsheet: the ids are kept exactly
    score_file(tmp_path / "answers.csv", tmp_path / "scores.parquet", model=model, progress=False)
    assert pd.read_parquet(tmp_path / "scores.parquet")["respondent_id"].tolist() == ids
