"""Contributed answers' core (rolefit.collect): the schema holds nothing else, tokens are one-time, what
is kept apart and why, the bound, deletion, the export's format and its months of small groups."""

import calendar
import json
import re
import sqlite3
import time

import pytest

from rolefit.collect import checks
from rolefit.collect.export import export_rows, write_export
from rolefit.collect.migrate import database_url, make_engine
from rolefit.collect.stats import summarise
from rolefit.collect.store import Store, TableFull, TokenRefused, normalise_code
from rolefit.instrument.items import load_instrument

VERSION = load_instrument().version
#: A consistent answer set with varied scale answers.
PERSON = {"interest_math": 4.0, "interest_debugging": 2.0, "skill_python": 5.0, "years_coding": 6.0,
          "years_ml": 2.0, "career_goal": "ml_engineer"}  # fmt: skip


class Clock:
    def __init__(self, now: float = calendar.timegm((2026, 12, 7, 12, 0, 0))):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(database_url(str(tmp_path / "c.sqlite")), max_rows=5, token_seconds=3600, clock=clock)
    yield s
    s.close()


def contribute(store, answers=PERSON, role="mle"):
    return store.contribute(store.issue_token(), role, answers, VERSION)


def test_the_schema_holds_only_contributions_and_tokens_and_nothing_personal(store, tmp_path):
    contribute(store)
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type = 'table'")}
        assert tables == {"contributions", "tokens", "alembic_version"}
        columns = {t: [r[1] for r in db.execute(f"pragma table_info({t})")] for t in tables}
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        (row,) = db.execute("select * from contributions").fetchall()
        (version,) = db.execute("select * from alembic_version").fetchall()
    assert columns["contributions"] == [
        "deletion_hash", "role", "instrument_version", "month", "answers", "status", "reason"
    ]  # fmt: skip
    assert columns["tokens"] == ["token_hash", "expires_at", "used"]
    assert columns["alembic_version"] == ["version_num"] and version == ("0001",)
    stored = dict(zip(columns["contributions"], row, strict=True))
    assert re.fullmatch(r"[0-9a-f]{64}", stored["deletion_hash"])
    assert (
        stored["month"] == "2026-12" and stored["role"] == "mle" and stored["instrument_version"] == VERSION
    )
    assert stored["status"] == "accepted" and stored["reason"] is None
    # the answers only, whole numbers as integers
    assert json.loads(stored["answers"]) == {
        k: int(v) if isinstance(v, float) else v for k, v in PERSON.items()
    }
    assert '"interest_math": 4,' in stored["answers"]


def test_the_migration_makes_the_schema_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from rolefit.collect.tables import metadata

    url = database_url(str(tmp_path / "m.sqlite"))
    Store(url).close()
    Store(url).close()  # a second start migrates nothing and keeps the rows
    engine = make_engine(url)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diffs == []


def test_a_token_is_used_once_and_expires(store, clock):
    token = store.issue_token()
    assert store.contribute(token, "swe", PERSON, VERSION).status == "accepted"
    with pytest.raises(TokenRefused):
        store.contribute(token, "swe", PERSON, VERSION)  # a double submission
    with pytest.raises(TokenRefused):
        store.contribute("never-issued", "swe", PERSON, VERSION)
    late = store.issue_token()
    clock.now += 3601
    with pytest.raises(TokenRefused):
        store.contribute(late, "swe", PERSON, VERSION)
    assert store.count() == 1


def test_the_table_is_bounded_and_a_refusal_keeps_the_token(store):
    codes = [contribute(store).deletion_code for _ in range(5)]
    token = store.issue_token()
    with pytest.raises(TableFull):
        store.contribute(token, "swe", PERSON, VERSION)
    assert store.count() == 5
    assert store.delete(codes[0])
    assert store.contribute(token, "swe", PERSON, VERSION).status == "accepted"  # the token was not used up


def test_straight_lined_and_inconsistent_answers_are_kept_apart_with_the_reason(store):
    scales = [item.id for item in load_instrument().items if item.kind == "scale"]
    flat = dict.fromkeys(scales[: checks.MIN_SCALE_ANSWERS], 3.0)
    assert contribute(store, flat).reason == checks.STRAIGHT_LINED
    # fewer scale answers than the rule needs, all the same: accepted
    assert contribute(store, dict.fromkeys(scales[: checks.MIN_SCALE_ANSWERS - 1], 3.0)).status == "accepted"
    more_ml = {**PERSON, "years_coding": 2.0, "years_ml": 5.0}
    outcome = contribute(store, more_ml)
    assert (outcome.status, outcome.reason) == ("kept_apart", checks.MORE_ML_THAN_CODING)
    frameworks = {**PERSON, "years_ml": 0.0, "ml_frameworks_used": 3.0}
    assert contribute(store, frameworks).reason == checks.FRAMEWORKS_WITHOUT_ML
    rows = list(store.rows())
    assert len(rows) == 4  # kept apart, never dropped
    assert sorted(r["status"] for r in rows) == ["accepted", "kept_apart", "kept_apart", "kept_apart"]
    assert all(r["reason"] in checks.REASONS for r in rows if r["status"] == "kept_apart")


def test_deletion_by_code_removes_the_row_and_a_wrong_code_removes_nothing(store, tmp_path):
    keep, gone = contribute(store, role="swe"), contribute(store, role="mle")
    assert not store.delete("AAAA-BBBB-CCCC-DDDD")
    assert not store.delete("")
    assert store.count() == 2
    assert store.delete(gone.deletion_code.lower().replace("-", " "))  # as typed by hand
    assert not store.delete(gone.deletion_code)  # already gone
    assert [r["role"] for r in store.rows()] == ["swe"]
    _, rows = export_rows(store.rows(), min_group=1)
    assert [row[0] for row in rows] == ["swe"]
    assert store.delete(keep.deletion_code) and store.count() == 0


def test_deletion_codes_look_alike_and_differ():
    from rolefit.collect.store import new_deletion_code

    codes = {new_deletion_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"([A-Z2-9]{4}-){3}[A-Z2-9]{4}", c) and not set(c) & set("01ILOU") for c in codes)
    assert normalise_code(" abcd efgh-jkmn pqrs ") == "ABCD-EFGH-JKMN-PQRS"


def _row(role, month, status="accepted", version=VERSION, answers=PERSON, reason=None):
    return {"role": role, "month": month, "instrument_version": version, "answers": answers,
            "status": status, "reason": reason}  # fmt: skip


def test_the_month_is_left_out_for_groups_smaller_than_the_threshold():
    rows = [_row("mle", "2026-11")] * 3 + [_row("swe", "2026-11")] * 5 + [_row("swe", "2026-12")] * 2
    rows += [_row("mle", "2026-11", version="1.2")] * 2 + [_row("swe", "2026-11", "kept_apart")] * 9
    header, out = export_rows(rows, min_group=5)
    assert header[:2] == ["role", "submitted_at"]
    months = [(r[0], r[1]) for r in out]
    assert len(out) == 12  # kept-apart rows are not exported
    assert months.count(("swe", "2026-11")) == 5  # a group of 5: its month kept
    assert months.count(("mle", "")) == 5 and months.count(("swe", "")) == 2  # groups of 3, 2 and 2 (v1.2)
    _, all_kept = export_rows(rows, min_group=1)
    assert all(r[1] for r in all_kept)


def test_the_export_is_a_form_export_that_ingest_reads_as_it_was_given(tmp_path):
    from rolefit.data.ingest import ingest

    people = [{**PERSON, "interest_math": float(k % 5 + 1)} for k in range(12)]
    rows = [_row("mle" if k % 3 else "swe", "2026-12", answers=p) for k, p in enumerate(people)]
    target = tmp_path / "raw" / "contributions-2026-12.csv"
    assert write_export(rows, target, min_group=5) == (12, 4)  # 4 swe: month left out
    text = target.read_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}", text)  # nothing finer than the month
    result = ingest(target, "instrument", source="contributions")
    assert result.report["accepted"] == 12 and result.report["quarantined"] == 0
    assert result.report["dropped_columns"] == []
    accepted = result.accepted.sort_values("row_number")
    assert list(accepted["role"]) == [r["role"] for r in rows]
    assert list(accepted["interest_math"]) == [p["interest_math"] for p in people]
    assert list(accepted["career_goal"]) == ["ml_engineer"] * 12
    assert accepted["submitted_at"].isna().sum() == 4


def test_stats_count_per_role_month_and_reason():
    rows = [_row("mle", "2026-11")] * 3 + [_row("swe", "2026-12")] * 2
    rows += [_row("swe", "2026-12", "kept_apart", reason=checks.STRAIGHT_LINED)] * 2
    summary = summarise(rows)
    assert summary["total"] == 7 and summary["accepted"] == 5 and summary["kept_apart"] == 2
    assert summary["accepted_by_role"] == {"swe": 2, "mle": 3}
    assert summary["accepted_by_month"] == {"2026-11": {"swe": 0, "mle": 3}, "2026-12": {"swe": 2, "mle": 0}}
    assert summary["kept_apart_by_reason"] == {checks.STRAIGHT_LINED: 2}


def test_database_urls():
    assert database_url(None, environ={}) == "sqlite:///data/contributions/contributions.sqlite"
    assert database_url(None, environ={"ROLEFIT_COLLECT_DB": "x.db"}) == "sqlite:///x.db"
    assert database_url("postgresql://u@h:5/d", environ={}) == "postgresql+psycopg://u@h:5/d"
    assert database_url("sqlite:////tmp/a.sqlite", environ={}) == "sqlite:////tmp/a.sqlite"


def test_the_rate_limit_counts_each_client_in_a_sliding_minute():
    from rolefit.apps.collect_api import RateLimit

    clock = Clock(0.0)
    limit = RateLimit(2, clock=clock)
    assert limit.wait("a") == 0 and limit.wait("a") == 0
    assert limit.wait("a") == pytest.approx(60.0) and limit.wait("b") == 0
    clock.now = 30.0
    assert limit.wait("a") == pytest.approx(30.0)
    clock.now = 60.5
    assert limit.wait("a") == 0
    assert RateLimit(None).wait("a") == 0


def test_the_predict_path_and_a_server_without_collect_import_nothing_of_it():
    import subprocess
    import sys

    code = (
        "import sys, rolefit, rolefit.apps.web, rolefit.apps.cli, rolefit.scoring.predictor\n"
        "names = ('rolefit.collect', 'sqlalchemy', 'alembic')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(names))\n"
        "print(loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_tokens_are_bounded_and_a_used_one_keeps_only_the_months_end(tmp_path, clock):
    from rolefit.collect.store import end_of_month

    store = Store(database_url(str(tmp_path / "t.sqlite")), max_tokens=10, clock=clock)
    issued = []
    for _ in range(25):
        clock.now += 1  # each a second later: the first ones expire first
        issued.append(store.issue_token())
    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        assert db.execute("select count(*) from tokens").fetchone()[0] <= 10
    with pytest.raises(TokenRefused):
        store.contribute(issued[0], "swe", PERSON, VERSION)  # dropped, the oldest
    store.contribute(issued[-1], "swe", PERSON, VERSION)
    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        used = db.execute("select expires_at from tokens where used").fetchall()
    assert used == [(end_of_month(clock.now),)]
    assert time.gmtime(end_of_month(clock.now))[:6] == (2026, 12, 31, 23, 59, 59)
    store.close()
