"""`rolefit quiz`, answered on stdin."""

import json
import os
import re
import subprocess
import sys

import pytest

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
    # every reason in words: how much it weighs and what backs it
    reasons = [line for line in out.stdout.splitlines() if re.match(r"  - (You|Your) ", line)]
    assert len(reasons) == 4, out.stdout
    backing = r"\((based on [\d,]+ people in .+|what career guides say — not yet measured on people)\)\.$"
    assert all(re.search(r": a (strong |small )?reason " + backing, line) for line in reasons), reasons


def test_quiz_takes_the_population_base_rate(champion):
    out = run_quiz([""] * len(load_instrument()), champion, "--base-rate", "0.04")
    assert out.returncode == 0, out.stderr[-2000:]
    # nothing answered: the result names SWE at 96%, and the starting point is in that frame
    assert "Before your answers: 96% SWE (the mix of the two roles in your population" in out.stdout
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


def quick_script(champion, lean: str, *, skip_first: bool, go_on: int, profile=None):
    """The lines a person types in Quick mode, found with the library the quiz itself uses
    (:func:`rolefit.guidance.quick.quick_questions`): the fit's best next question each time (the first
    skipped if ``skip_first``), "y" to go on the first ``go_on`` times the fit is settled (the quiz then
    asks 5 more before offering the result again), then "n"; then the readiness block. Answers come from
    ``profile`` (item -> (typed, meant)) when given, else from :func:`persona_answer`."""
    from rolefit.apps.guidance_text import question_text
    from rolefit.apps.quiz import GO_ON_BATCH
    from rolefit.guidance.questions import next_questions
    from rolefit.guidance.quick import quick_questions

    model = champion[1]
    instrument = load_instrument()
    answers, skipped, lines, texts, phases, lefts = {}, [], [], [], [], []
    asked, offer_at, going_on = 0, 0, True

    def answer(question, phase, left):
        nonlocal asked
        asked += 1
        texts.append(question_text(question.question, question.prompt))
        phases.append(phase)
        lefts.append(left)
        if skip_first and asked == 1:
            lines.append("")
            skipped.append(question.item)
            return
        item = instrument[question.item]
        typed, meant = profile[item.id] if profile else persona_answer(item, lean)
        lines.append(typed)
        answers[question.item] = meant

    while True:
        step = quick_questions(answers, 1, model=model, skipped=skipped)
        if step.phase == "fit":
            answer(step.questions[0], "fit", step.expected_left)
            continue
        if not going_on or not step.settled.remaining:
            break
        if asked >= offer_at:
            if not go_on:
                lines.append("n")
                going_on = False
                continue
            go_on -= 1
            lines.append("y")
            offer_at = asked + GO_ON_BATCH
        (question,) = next_questions(answers, 1, model=model, skipped=skipped, of="fit")
        answer(question, "more", None)
    while step.phase == "readiness":
        answer(step.questions[0], "readiness", step.expected_left)
        step = quick_questions(answers, 1, model=model, skipped=skipped)
    return lines, answers, skipped, texts, phases, lefts


def test_quick_mode_asks_the_fit_then_where_you_stand_then_shows_the_result(champion):
    from rolefit.guidance.quick import READINESS_BLOCK

    lines, answers, skipped, texts, phases, lefts = quick_script(champion, "mle", skip_first=True, go_on=0)
    instrument = load_instrument()
    total = len(instrument.question_ids)  # a multi-choice question counts once
    assert len(answers) + len(skipped) < total
    # fit items first, then the readiness block in its order
    fit = [t for t, phase in zip(texts, phases, strict=True) if phase == "fit"]
    assert fit and phases == ["fit"] * len(fit) + ["readiness"] * len(READINESS_BLOCK)
    assert set(answers) - set(READINESS_BLOCK) <= set(instrument.fit_ids)
    out = run_quiz(lines, champion, mode="quick")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Settled" in out.stdout and "Answer a few more questions anyway?" in out.stdout
    assert out.stdout.index("Settled") < out.stdout.index("Where do you stand today?")
    assert f"You answered {len(answers)} of {total} questions (skipped 1)." in out.stdout
    # the skipped question was asked once only, and the quiz asked exactly the questions scripted
    assert out.stdout.count(texts[0]) == 1
    assert f"{len(texts)}. " in out.stdout and f"{len(texts) + 1}. " not in out.stdout
    # progress from the stopping rule's estimate, as the library gives it, and never a fixed "dozen"
    for n, left in enumerate(lefts, start=1):
        assert f"{n}. " in out.stdout
        assert f"(about {left} question{'s' if left != 1 else ''} left)" in out.stdout
    assert lefts[len(fit) :] == list(range(len(READINESS_BLOCK), 0, -1))
    assert all(left > len(READINESS_BLOCK) for left in lefts[: len(fit)])
    assert "dozen" not in out.stdout
    # then the same report as `rolefit predict`: the fit, where you stand today, steps, facts
    assert "Best fit: machine learning engineering" in out.stdout
    assert re.search(r"How sure: (clear fit|leaning MLE|both fit you)", out.stdout)
    report = out.stdout[out.stdout.index("Best fit") :]
    order = ["Top reasons", "Where you stand today", "About machine learning engineering (MLE):"]
    assert [report.index(heading) for heading in order] == sorted(report.index(h) for h in order)
    assert re.search(r'\(sources?: "[^"]+", 20\d\d', out.stdout)
    assert "not screening" in out.stdout


def test_quick_mode_lets_the_person_go_on(champion):
    lines, answers, _, _, phases, _ = quick_script(champion, "swe", skip_first=False, go_on=1)
    assert "more" in phases
    out = run_quiz(lines, champion, mode="quick")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("Answer a few more questions anyway?") == 2
    assert f"You answered {len(answers)} of {len(load_instrument().question_ids)} questions." in out.stdout
    assert "Best fit: software engineering" in out.stdout


def test_quiz_asks_quick_or_all_when_no_mode_is_given(champion):
    out = run_quiz(["a"] + [""] * len(load_instrument()), champion, mode=None)
    assert out.returncode == 0, out.stderr[-2000:]
    from rolefit.apps.quiz import MODE_QUESTION

    assert MODE_QUESTION in out.stdout
    assert "Interests: How much do you enjoy" in out.stdout  # All: group by group
    bad = run_quiz([], champion, mode="some")
    assert bad.returncode == 2 and "--mode" in bad.stderr and "quick, all" in bad.stderr


# -- words people use: the quiz's result and `rolefit predict`'s text ------------------------------

#: The personas of issue #25, each a whole set of answers as such a person would give them.
PERSONAS = {
    "student": {
        "interest_building_products": 4, "interest_coding_puzzles": 4, "interest_data_patterns": 4,
        "interest_model_training": 4, "interest_math": 3, "skill_dsa": 3, "skill_clean_code": 2,
        "skill_statistics": 3, "skill_linear_algebra": 3, "skill_python": 3, "pref_long_learning": 3,
        "pref_fast_job_entry": 3, "career_goal": "undecided", "years_coding": 1, "years_ml": 0.5,
        "education": "some_college", "uses_python": 1, "uses_java": 1, "ml_frameworks_used": 1,
    },
    "bootcamp graduate": {
        "interest_building_products": 5, "interest_debugging": 4, "interest_math": 2,
        "interest_model_training": 1, "skill_web_development": 4, "skill_statistics": 1,
        "skill_linear_algebra": 1, "skill_ml_algorithms": 1, "pref_fast_job_entry": 5,
        "pref_immediate_results": 5, "career_goal": "full_stack_developer", "years_coding": 0.5,
        "years_ml": 0, "uses_javascript": 1, "uses_python": 0, "ml_frameworks_used": 0,
        "education": "bachelor",
    },
    "senior SWE": {
        "interest_system_design": 5, "interest_building_products": 4, "interest_debugging": 4,
        "interest_math": 2, "skill_dsa": 4, "skill_system_design": 5, "skill_clean_code": 5,
        "skill_databases_apis": 5, "skill_devops": 4, "skill_statistics": 2, "skill_linear_algebra": 2,
        "pref_predictable_work": 4, "pref_career_flexibility": 4, "career_goal": "software_architect",
        "years_coding": 15, "years_ml": 0, "education": "bachelor", "uses_java": 1, "uses_sql": 1,
        "uses_javascript": 1, "uses_python": 0, "ml_frameworks_used": 0,
    },
    "ML researcher": {
        "interest_research": 5, "interest_math": 5, "interest_model_training": 5, "interest_data_patterns": 5,
        "interest_building_products": 2, "skill_statistics": 5, "skill_linear_algebra": 5,
        "skill_ml_algorithms": 5, "skill_python": 5, "skill_web_development": 1, "pref_experimentation": 5,
        "pref_long_learning": 5, "pref_niche_specialization": 4, "career_goal": "ai_researcher",
        "years_coding": 8, "years_ml": 6, "education": "doctorate", "uses_python": 1, "uses_cpp": 1,
        "ml_frameworks_used": 6, "activity_ml_research": 1, "activity_ml_experiments": 1,
    },
    "nobody": {},
    "interests only": {
        "interest_building_products": 3, "interest_system_design": 4, "interest_coding_puzzles": 2,
        "interest_debugging": 3, "interest_data_patterns": 4, "interest_model_training": 3,
        "interest_research": 2, "interest_math": 4, "interest_ai_products": 5,
    },
}  # fmt: skip


def jargon(text: str) -> list[str]:
    """Every word of the machine's found in ``text``: "log-odds", "bits", "prior", "synthetic", an odds
    factor ("×1.6"), or an item or choice id that is not an ordinary word (one with "_": "education" and
    "bachelor" are words a sentence may use)."""
    instrument = load_instrument()
    found = [w for w in ("log-odds", "bits", "prior", "synthetic") if re.search(rf"\b{w}\b", text, re.I)]
    found += re.findall(r"×\s*\d", text)
    ids = {i for i in instrument.ids if "_" in i} | {
        c for i in instrument.items for c in i.choice_ids if "_" in c
    }
    found += sorted(i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text))
    return found


def typed_answers(answers):
    """What a person types in All mode to give ``answers`` (Enter for the rest)."""
    lines = []
    for item in load_instrument().items:
        value = answers.get(item.id)
        if value is None:
            lines.append("")
        elif item.kind == "binary":
            lines.append("y" if value else "n")
        elif item.kind == "choice":
            lines.append(str(item.choice_ids.index(value) + 1))
        else:
            lines.append(f"{value:g}")
    return lines


def test_jargon_finds_what_it_looks_for():
    assert jargon("moved it by −0.78 log-odds, ×1.6, 0.12 bits; assumed by the synthetic prior") == [
        "log-odds", "bits", "prior", "synthetic", "×1",
    ]  # fmt: skip
    assert jargon("Your goal: full_stack_developer [interest_math]") == [
        "full_stack_developer",
        "interest_math",
    ]
    assert jargon("You enjoy mathematics; more formal education; a bachelor's degree; orbits, priority") == []


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_the_quiz_and_predict_speak_plain_words(champion, persona, tmp_path):
    from .test_cli import run

    answers = PERSONAS[persona]
    quiz = run_quiz(typed_answers(answers), champion)
    assert quiz.returncode == 0, quiz.stderr[-2000:]
    result = quiz.stdout[quiz.stdout.index("Best fit" if answers else "No answers yet") :]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    predict = run(["predict", "--answers", str(path), "--facts", "both"], model=champion[1])
    assert predict.returncode == 0, predict.stderr
    for name, text in (("quiz", result), ("predict", predict.stdout)):
        assert jargon(text) == [], (name, persona, text)
        # counts agree with their nouns, and no sentence switches between "% SWE" and "% MLE"
        assert not re.search(r"\b1 (answers|questions|frameworks|people|years)\b", text), (name, text)
        for sentence in re.split(r"(?<=[.;:])\s|\n", text):
            assert not (re.search(r"% SWE\b", sentence) and re.search(r"% MLE\b", sentence)), sentence
    # --json keeps the numbers and ids
    data = json.loads(run(["predict", "--answers", str(path), "--json"], model=champion[1]).stdout)
    assert all("effect" in e and "item" in e for e in data["explanations"])
    # the fit first, then where you stand today, then the roles' facts
    if answers:
        text = predict.stdout
        headings = ["Best fit", "Top reasons", "Where you stand today", "About "]
        assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings), text


def test_a_multi_choice_question_is_asked_once_by_numbers(monkeypatch):
    """Issue #26: the quiz asks a tools question by numbers ("1 3", "0" for none, Enter to skip), asks again
    after anything else, and every option becomes a yes/no answer."""
    from rich.console import Console

    from rolefit.apps import quiz

    instrument = load_instrument()
    question = instrument.questions[0]
    options = [instrument[i] for i in question.items]
    replies = iter(["1, 3", "x", "0 2", "0", "99", ""])
    monkeypatch.setattr(quiz, "_prompt", lambda console, text: next(replies))
    console = Console(file=open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    assert quiz.ask_multi(console, question, options) == {options[0].id, options[2].id}
    assert quiz.ask_multi(console, question, options) == set()  # "x" and "0 2" refused, then "0"
    assert quiz.ask_multi(console, question, options) is None  # "99" refused, then Enter skips
    answers, skipped = {}, []
    monkeypatch.setattr(quiz, "ask_item", lambda console, item, text=None: None)
    monkeypatch.setattr(quiz, "ask_multi", lambda console, q, opts, text=None: {opts[1].id})
    quiz._ask_all(console, answers, skipped)
    assert {i: answers[i] for i in question.items} == {
        i: str(int(i == options[1].id)) for i in question.items
    }
    assert set(skipped) == set(instrument.ids) - set(question.items)
