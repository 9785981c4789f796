"""Guidance on the command line: `rolefit predict` (text and --json), `rolefit next`, `rolefit what-if`."""

import json
import re

import rolefit
from rolefit.apps.guidance_text import question_text
from rolefit.apps.schemas import GuideResponse, NextQuestionsResponse, WhatIfResponse
from rolefit.guidance.questions import expected_questions, next_questions
from rolefit.guidance.quick import READINESS_BLOCK
from rolefit.guidance.words import GROUP_NAMES

from ..conftest import ROOT
from .test_cli import run

PERSON = ROOT / "examples/person.json"
#: words that state a verdict (none may appear before there is a result to state)
VERDICT_WORDS = ("Best fit", "clear fit", "leaning", "both fit you", "Settled")


def _json(args, path):
    out = run([*args, "--json"], model=path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_predict_text_shows_certainty_groups_steps_and_facts(champion):
    _, path = champion
    data = _json(["predict", "--answers", str(PERSON)], path)
    guidance = data["guidance"]
    out = run(["predict", "--answers", str(PERSON)], model=path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    # certainty in words, not the conformal set
    assert f"How sure: {guidance['certainty']}\n" in text
    assert guidance["certainty"] in ("clear fit", "leaning SWE", "leaning MLE", "both fit you")
    assert "prediction set" not in text.lower()
    # the starting point and the groups in a sentence
    assert re.search(rf"Before your answers: [\d.]+% {data['role'].upper()}", text)  # the result's frame
    assert guidance["summary"] and guidance["summary"] in text
    assert any(name in guidance["summary"].lower() for name in GROUP_NAMES.values())
    # next steps, the fitting role's first, in order, each with the share or the guide behind it
    steps = guidance["next_steps"]
    assert steps["first"] == data["role"] and next(iter(steps["roles"])) == data["role"]
    shown = [step for role in steps["roles"].values() for step in role[:3]]
    assert shown, steps  # this person has a step toward at least one role
    for step in shown:
        assert f"  {step['order']}. {step['action']}\n     {step['why']}\n" in text
    assert steps["plan"] in text and not re.search(r"[+-]\d+\.\d points", text)  # no score changes
    # the fitting role's facts, each with its source and year
    fitting = guidance["facts"][0]
    assert fitting["role"] == data["role"]
    assert f"About {fitting['name'].lower()} ({fitting['short_name']}):" in text
    other = guidance["facts"][1]
    assert f"About {other['name'].lower()}" not in text
    salary = next(f for f in fitting["facts"] if f["topic"] == "salary")
    source = salary["sources"][0]
    assert source["title"] and source["year"] == 2026
    assert f'(source: "{source["title"]}", {source["year"]})' in text
    assert re.search(r"Daily work: .+\n    \(sources?: .+, 20\d\d\)", text)
    assert text.rstrip().endswith(data["notice"])


def test_predict_text_lists_the_fitting_roles_steps_first(champion):
    """The bootcamp graduate of issue #25 fits SWE: his SWE steps come first, then MLE's, offered."""
    _, path = champion
    bootcamp = {"years_coding": 0.5, "uses_javascript": 1, "skill_web_development": 4, "years_ml": 0,
                "interest_building_products": 5, "pref_fast_job_entry": 5, "skill_statistics": 1,
                "skill_linear_algebra": 2}  # fmt: skip
    out = run(["predict", "--answers", "-"], model=path, stdin=json.dumps(bootcamp))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    found = rolefit.next_steps(bootcamp, model=path)
    assert found.first == "swe" and found["swe"] and found["mle"]
    first = text.index("Next steps toward SWE")
    offered = text.index("Toward MLE, if you want to explore it:")
    assert first < text.index(found["swe"][0].action) < offered < text.index(found["mle"][0].action)


def test_predict_facts_of_both_roles_or_none(champion):
    _, path = champion
    both = run(["predict", "--answers", str(PERSON), "--facts", "both"], model=path)
    assert both.returncode == 0, both.stderr
    assert "About software engineering (SWE):" in both.stdout
    assert "About machine learning engineering (MLE):" in both.stdout
    none = run(["predict", "--answers", str(PERSON), "--facts", "none"], model=path)
    assert none.returncode == 0 and "About " not in none.stdout and "(source" not in none.stdout
    bad = run(["predict", "--answers", str(PERSON), "--facts", "all"], model=path)
    assert bad.returncode == 2 and "facts" in bad.stderr and "fitting, both, none" in bad.stderr


def test_predict_json_keeps_the_prediction_and_adds_guidance(champion):
    _, path = champion
    answers = json.loads(PERSON.read_text())
    data = _json(["predict", "--answers", str(PERSON), "--model", str(path)], path)  # named, as below
    expected = json.loads(json.dumps(rolefit.predict(answers, model=path).to_dict()))
    assert {k: v for k, v in data.items() if k != "guidance"} == expected  # existing keys unchanged
    guidance = rolefit.guide(answers, model=path)
    assert data["guidance"] == json.loads(json.dumps(guidance.to_dict()))
    GuideResponse.model_validate(data)  # the documented REST shape, no key more or less


def test_predict_with_no_answers_asks_the_best_first_question(champion):
    _, path = champion
    out = run(["predict", "--answers", "-"], model=path, stdin="{}")
    assert out.returncode == 0, out.stderr
    (first,) = next_questions({}, model=path, of="fit")
    assert "Start with the question that tells most:" in out.stdout
    assert f"  1. {question_text(first.question, first.prompt)}\n" in out.stdout
    assert f"[{first.item}]" not in out.stdout  # ids are for --json
    assert "How sure: not enough answers yet — answer " in out.stdout
    assert "Best fit" not in out.stdout and "Where you stand today" not in out.stdout


def test_next_on_no_answers_gives_the_best_first_question_and_no_verdict(champion, tmp_path):
    _, path = champion
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    out = run(["next", "--answers", str(empty), "--k", "1"], model=path)
    assert out.returncode == 0, out.stderr
    (first,) = next_questions({}, model=path, of="fit")
    assert "No answers yet." in out.stdout and "Best first question:" in out.stdout
    assert f"  1. {question_text(first.question, first.prompt)}" in out.stdout
    left = round(expected_questions({}, model=path)) + len(READINESS_BLOCK)
    assert f"About {left} questions left in Quick mode." in out.stdout
    assert not any(word in out.stdout for word in VERDICT_WORDS), out.stdout
    assert "bits" not in out.stdout and f"[{first.item}]" not in out.stdout
    data = _json(["next", "--answers", str(empty), "--k", "3"], path)
    NextQuestionsResponse.model_validate(data)
    assert data["phase"] == "fit" and data["expected_left"] == left
    assert [q["item"] for q in data["questions"]] == [
        q.item for q in next_questions({}, 3, model=path, of="fit")
    ]
    assert data["settled"]["settled"] is False and data["settled"]["answered"] == 0


def test_next_once_the_fit_is_settled_asks_where_you_stand(champion, tmp_path):
    _, path = champion
    person = {
        item: 5
        for item in (
            "interest_math",
            "interest_research",
            "interest_model_training",
            "skill_statistics",
            "skill_linear_algebra",
            "pref_experimentation",
        )
    }
    person.update(career_goal="ai_researcher", interest_building_products=1, pref_fast_job_entry=1)
    assert rolefit.settled(person, model=path).settled
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(person))
    out = run(["next", "--answers", str(answers), "--k", "2"], model=path)
    assert out.returncode == 0, out.stderr
    assert "Your fit is settled" in out.stdout and "where do you stand today?" in out.stdout
    assert f"About {len(READINESS_BLOCK)} questions left in Quick mode." in out.stdout
    first = rolefit.questionnaire()[READINESS_BLOCK[0]]
    assert f"  1. {first.text}" in out.stdout


def test_next_skips_what_the_person_skipped(champion, tmp_path):
    _, path = champion
    (first,) = next_questions({}, model=path, of="fit")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    data = _json(["next", "--answers", str(empty), "--k", "3", "--skip", first.item], path)
    assert first.item not in [q["item"] for q in data["questions"]]
    assert data["settled"]["remaining"] == len(rolefit.questionnaire().fit_ids) - 1
    bad = run(["next", "--answers", str(empty), "--skip", "interest_mth"], model=path)
    assert bad.returncode == 2 and "--skip" in bad.stderr and "interest_mth" in bad.stderr
    wrong = run(["next", "--answers", "-"], model=path, stdin='{"interest_math": 9}')
    assert wrong.returncode == 2 and "interest_math" in wrong.stderr and "Traceback" not in wrong.stderr


def test_what_if_moves_p_by_exactly_what_if_says(champion):
    _, path = champion
    answers = json.loads(PERSON.read_text())
    data = _json(["what-if", "--answers", str(PERSON), "--set", "skill_statistics=3"], path)
    WhatIfResponse.model_validate(data)
    expected = rolefit.what_if(answers, {"skill_statistics": 3}, model=path)
    assert data["delta_p_mle"] == expected.delta_p_mle != 0
    assert data["after"]["probabilities"]["mle"] - data["before"]["mle"] == data["delta_p_mle"]
    again = rolefit.predict({**answers, "skill_statistics": 3}, model=path).probabilities["mle"]
    assert again - rolefit.predict(answers, model=path).probabilities["mle"] == data["delta_p_mle"]
    assert data["changes"] == {"skill_statistics": 3.0}
    # a next step can be explored with what-if (the step asks for more than the answer given)
    found = rolefit.next_steps(answers, model=path)
    step = next(s for role in found.order for s in found[role])
    moved = _json(["what-if", "--answers", str(PERSON), "--set", f"{step.item}={step.to_answer:g}"], path)
    assert moved["changes"] == {step.item: step.to_answer} and step.to_answer > answers[step.item]
    explored = rolefit.what_if(answers, step.change, model=path)
    assert moved["delta_p_mle"] == explored.delta_p_mle
    changes = ["--set", "skill_statistics=3", "--set", "uses_javascript="]
    text = run(["what-if", "--answers", str(PERSON), *changes], model=path)
    assert text.returncode == 0, text.stderr
    assert "2 (Basic) -> 3 (Intermediate)" in text.stdout
    assert "yes -> not answered" in text.stdout
    assert "skill_statistics" not in text.stdout and "uses_javascript" not in text.stdout  # no ids
    both = rolefit.what_if(answers, {"skill_statistics": 3, "uses_javascript": None}, model=path)
    role = both.before.role  # one frame: the fit's role before, in both numbers
    before, after = (100 * p.probabilities[role] for p in (both.before, both.after))
    said = re.search(
        r"Your fit: ([\d.]+)% (SWE|MLE) before, ([\d.]+)% after \(([\d.]+) points (more|less)\)", text.stdout
    )
    assert said, text.stdout
    assert (
        said[2] == role.upper() and float(said[1]) == round(before, 1) and float(said[3]) == round(after, 1)
    )
    assert said[5] == ("more" if after > before else "less")


def test_what_if_names_every_bad_field(champion):
    _, path = champion
    out = run(["what-if", "--answers", str(PERSON), "--set", "skill_statistics=9", "--set", "skil_dsa=3"],
              model=path)  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--set skill_statistics: got '9'" in out.stderr and "--set skil_dsa" in out.stderr
    assert "did you mean 'skill_dsa'" in out.stderr
    no_sign = run(["what-if", "--answers", str(PERSON), "--set", "skill_statistics"], model=path)
    assert no_sign.returncode == 2 and "ITEM=VALUE" in no_sign.stderr
    bad_answers = run(["what-if", "--answers", "-", "--set", "skill_statistics=3"], model=path,
                      stdin='{"interest_math": 0}')  # fmt: skip
    assert bad_answers.returncode == 2 and "interest_math" in bad_answers.stderr
