"""`rolefit quiz --contribute-to`, `rolefit contributions stats/export/delete` against a real
`rolefit serve --collect` on loopback."""

import json
import re
import sqlite3
import subprocess
import sys

import pytest

from rolefit.instrument.items import load_instrument
from tests.e2e.helpers import free_port, rolefit_serve_collecting
from tests.environment import child_env

CODE = re.compile(r"Your deletion code: ([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})")


@pytest.fixture(scope="module")
def server(champion, tmp_path_factory):
    folder = tmp_path_factory.mktemp("collect")
    with rolefit_serve_collecting(champion[1], folder) as running:
        running.db = folder / "contributions.sqlite"
        yield running


def rolefit(*args, stdin: str = "", champion=None):
    env = child_env()
    env.update(COLUMNS="120", TERM="dumb")
    if champion is not None:
        env["ROLEFIT_MODEL"] = str(champion[1])
    return subprocess.run([sys.executable, "-m", "rolefit.apps.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip


def quiz_lines(answers: dict[str, str]) -> list[str]:
    """One line per question the quiz asks in `--mode all` (a multi-choice question once)."""
    instrument = load_instrument()
    lines, asked = [], set()
    for group in instrument.groups:
        for item in instrument.items:
            if item.group == group.id and (item.question or item.id) not in asked:
                asked.add(item.question or item.id)
                lines.append(answers.get(item.id, ""))
    return lines


def rows(db):
    with sqlite3.connect(db) as connection:
        return connection.execute("select role, status, answers from contributions").fetchall()


ANSWERS = {"interest_math": "5", "interest_research": "4", "years_coding": "6", "years_ml": "3"}


def test_the_quiz_contributes_on_a_yes_and_the_code_deletes(server, champion, tmp_path):
    before = len(rows(server.db))
    lines = [*quiz_lines(ANSWERS), "x", "m", "y"]  # a wrong role is asked again
    out = rolefit("quiz", "--mode", "all", "--contribute-to", server.url, stdin="\n".join(lines) + "\n",
                  champion=champion)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Do you work as a software engineer or an ML engineer today?" in out.stdout
    assert "No IP address." in out.stdout and "Please answer s (software engineer)" in out.stdout
    code = CODE.search(out.stdout).group(1)
    stored = rows(server.db)
    assert len(stored) == before + 1 and ("mle", "accepted") in [r[:2] for r in stored]
    assert any(json.loads(r[2]) == {k: int(v) for k, v in ANSWERS.items()} for r in stored)
    stats = rolefit("contributions", "stats", "--db", str(server.db), "--json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["accepted_by_role"]["mle"] >= 1
    target = tmp_path / "contributions-2026-12.csv"
    exported = rolefit("contributions", "export", str(target), "--db", str(server.db), "--min-group", "1")
    assert exported.returncode == 0 and "exported" in exported.stdout
    header, *body = target.read_text().splitlines()
    assert header.startswith("role,submitted_at,") and any(line.startswith("mle,") for line in body)
    wrong = rolefit("contributions", "delete", "--server", server.url, "AAAA-BBBB-CCCC-DDDD")
    assert wrong.returncode == 1 and "no contribution matches this code" in wrong.stderr
    deleted = rolefit("contributions", "delete", "--server", server.url, code)
    assert deleted.returncode == 0 and "Deleted" in deleted.stdout, deleted.stderr
    assert len(rows(server.db)) == before


def test_the_quiz_sends_nothing_without_a_yes(server, champion):
    before = len(rows(server.db))
    for answers in (["m", "n"], [""]):  # an ML engineer who says no; someone in neither role
        lines = [*quiz_lines(ANSWERS), *answers]
        out = rolefit("quiz", "--mode", "all", "--contribute-to", server.url,
                      stdin="\n".join(lines) + "\n", champion=champion)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        assert "nothing was sent" in out.stdout.lower() and not CODE.search(out.stdout)
    assert len(rows(server.db)) == before


def test_the_quiz_says_so_when_the_server_cannot_take_answers(champion):
    unreachable = f"http://127.0.0.1:{free_port()}"
    out = rolefit("quiz", "--mode", "all", "--contribute-to", unreachable,
                  stdin="\n".join(quiz_lines(ANSWERS)) + "\n", champion=champion)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Best fit" in out.stdout and f"Your answers cannot be added: could not reach {unreachable}" in (
        out.stdout.replace("\n", " "))  # fmt: skip


def test_contributions_commands_say_when_there_is_no_database(tmp_path):
    out = rolefit("contributions", "stats", "--db", str(tmp_path / "none.sqlite"))
    assert out.returncode == 2 and "no contributions database" in out.stderr
    assert not (tmp_path / "none.sqlite").exists()  # reading never makes one
