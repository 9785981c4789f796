"""`rolefit quiz`, answered on stdin."""

import re
import subprocess
import sys

from rolefit.instrument.items import load_instrument
from tests.environment import child_env


def run_quiz(lines, champion, *args):
    env = child_env()
    env.update(ROLEFIT_MODEL=str(champion[1]), COLUMNS="120", TERM="dumb")
    return subprocess.run([sys.executable, "-m", "rolefit.apps.cli", "quiz", *args],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


def test_quiz_answers_then_shows_the_result(champion):
    lines = []
    for item in load_instrument().items:
        if item.id == "interest_math":
            lines += ["9", "5"]  # an invalid answer is asked again
        elif item.id in ("interest_research", "interest_data_patterns"):
            lines.append("5")
        elif item.id == "career_goal":
            lines.append("6")  # the sixth choice: applied scientist
        else:
            lines.append("")  # Enter skips
    out = run_quiz(lines, champion)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Please answer an integer from 1 to 5" in out.stdout
    assert "Best fit: machine learning engineering" in out.stdout
    assert "You enjoy mathematics very much" in out.stdout
    assert "applied scientist" in out.stdout.lower()
    assert "not screening" in out.stdout
    assert re.search(r"Before your answers: [\d.]+% MLE \(the reference survey's mix", out.stdout)
    # every reason ends with what backs it (the markers' brackets survive rich's printing)
    reasons = [line for line in out.stdout.splitlines() if re.match(r"\s+[+-]\d+\.\d\d  ", line)]
    assert len(reasons) == 4
    assert all(re.search(r" \[(real: [\d,]+ respondents|assumed)\]$", line) for line in reasons), reasons


def test_quiz_takes_the_population_base_rate(champion):
    out = run_quiz([""] * len(load_instrument()), champion, "--base-rate", "0.04")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Before your answers: 4% MLE (your population's MLE share" in out.stdout
    assert re.search(r"MLE\s+4\.0%", out.stdout)
    bad = run_quiz([], champion, "--base-rate", "abc")
    assert bad.returncode == 2 and "base_rate" in bad.stderr and "between 0 and 1" in bad.stderr


def test_quiz_with_everything_skipped_shows_the_baseline(champion):
    out = run_quiz([""] * len(load_instrument()), champion)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "skipped everything" in out.stdout
    assert "No answers yet: no information about either role" in out.stdout
    assert "Best fit" not in out.stdout
