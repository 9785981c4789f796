"""`rolefit quiz`, answered on stdin."""

import re
import subprocess
import sys

from rolefit.instrument.items import load_instrument
from tests.environment import child_env


def run_quiz(lines, champion, *args, mode="all"):
    env = child_env()
    env.update(ROLEFIT_MODEL=str(champion[1]), COLUMNS="120", TERM="dumb")
    mode_args = ["--mode", mode] if mode else []
    return subprocess.run([sys.executable, "-m", "rolefit.apps.cli", "quiz", *mode_args, *args],
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
    assert re.search(r"Before your answers: [\d.]+% MLE \(an even start", out.stdout)
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


# -- Quick: adaptive questions until settled --------------------------------------------------------


def persona_answer(item, lean: str) -> tuple[str, str]:
    """(what a person leaning ``lean`` types, the answer it means) for one item."""
    if item.kind == "scale":
        typed = "5" if item.lean == lean else "3" if item.lean == "none" else "1"
        return typed, typed
    if item.kind == "binary":
        return ("y", "1") if item.lean == lean else ("n", "0")
    if item.kind == "choice":
        wanted = {"career_goal": "applied_scientist" if lean == "mle" else "full_stack_developer"}
        choice = wanted.get(item.id, item.choice_ids[-1])
        return str(item.choice_ids.index(choice) + 1), choice
    return "3", "3"


def quick_script(champion, lean: str, *, skip_first: bool, go_on: int):
    """The lines a person types in Quick mode, found with the library the quiz itself uses: the best
    next question each time (the first skipped if ``skip_first``), "y" to go on the first ``go_on`` times
    the answers are settled (the quiz then asks 5 more before offering the result again), then "n"."""
    from rolefit.apps.guidance_text import question_text
    from rolefit.apps.quiz import GO_ON_BATCH
    from rolefit.guidance.questions import next_questions, settled

    model = champion[1]
    instrument = load_instrument()
    answers, skipped, lines, texts = {}, [], [], []
    asked, offer_at = 0, 0
    while True:
        done = settled(answers, model=model, skipped=skipped, of="all_answers")
        assert done.remaining, "the persona never settled"
        if done.settled and asked >= offer_at:
            if go_on:
                go_on -= 1
                lines.append("y")
                offer_at = asked + GO_ON_BATCH
            else:
                lines.append("n")
                return lines, answers, skipped, texts
        (question,) = next_questions(answers, 1, model=model, skipped=skipped, of="all_answers")
        asked += 1
        texts.append(question_text(question.question, question.prompt))
        if skip_first and asked == 1:
            lines.append("")
            skipped.append(question.item)
            continue
        typed, meant = persona_answer(instrument[question.item], lean)
        lines.append(typed)
        answers[question.item] = meant


def test_quick_mode_stops_when_settled_and_shows_the_result(champion):
    lines, answers, skipped, texts = quick_script(champion, "mle", skip_first=True, go_on=0)
    total = len(load_instrument())
    assert len(answers) + len(skipped) < total
    out = run_quiz(lines, champion, mode="quick")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Settled" in out.stdout and "Answer a few more questions anyway?" in out.stdout
    assert f"You answered {len(answers)} of {total} questions (skipped 1)." in out.stdout
    # the skipped question was asked once only, and the quiz asked exactly the questions scripted
    assert out.stdout.count(texts[0]) == 1
    assert f"{len(texts)}. " in out.stdout and f"{len(texts) + 1}. " not in out.stdout
    # then the same report as `rolefit predict`
    assert "Best fit: machine learning engineering" in out.stdout
    assert re.search(r"How sure: (clear fit|leaning MLE|both fit you)", out.stdout)
    assert "About machine learning engineering (MLE):" in out.stdout
    assert re.search(r'\(sources?: "[^"]+", 20\d\d', out.stdout)
    assert "not screening" in out.stdout


def test_quick_mode_lets_the_person_go_on(champion):
    lines, answers, _, _ = quick_script(champion, "swe", skip_first=False, go_on=1)
    out = run_quiz(lines, champion, mode="quick")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("Answer a few more questions anyway?") == 2
    assert f"You answered {len(answers)} of {len(load_instrument())} questions." in out.stdout
    assert "Best fit: software engineering" in out.stdout


def test_quiz_asks_quick_or_all_when_no_mode_is_given(champion):
    out = run_quiz(["a"] + [""] * len(load_instrument()), champion, mode=None)
    assert out.returncode == 0, out.stderr[-2000:]
    from rolefit.apps.quiz import MODE_QUESTION

    assert MODE_QUESTION in out.stdout
    assert "Interests: How much do you enjoy" in out.stdout  # All: group by group
    bad = run_quiz([], champion, mode="some")
    assert bad.returncode == 2 and "--mode" in bad.stderr and "quick, all" in bad.stderr
