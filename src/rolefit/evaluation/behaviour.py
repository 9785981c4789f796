"""The behaviour suite: minimum functionality, directional expectations, invariance."""

from __future__ import annotations

from rolefit.instrument.items import load_instrument


def _all_answers(p):
    """The all-answers model's result of a :class:`rolefit.Prediction` (the checks' default)."""
    return p.all_answers


def _fit(p):
    """The fit: a :class:`rolefit.Prediction`'s own (headline) fields."""
    return p


def behaviour_cases():
    """The behaviour suite: ``(kind, name, check)`` where ``check(predict)`` returns None or a failure.

    ``predict(answers) -> Prediction``. Used by the quality gate and by ``tests/model``. The checks judge
    the all-answers model (``Prediction.all_answers``), as they always have, except the career guides'
    four scenarios, which are about which role suits someone and judge the fit (names ending "(fit)");
    the invariance checks compare whole predictions.
    """

    instrument = load_instrument()
    cases = []

    def minimum(name, answers, role, at_least):
        def check(predict):
            p = _all_answers(predict(answers))
            if p.role != role or p.probabilities[role] < at_least:
                return f"expected {role} with p >= {at_least}, got {p.role} {p.probabilities}"
            return None

        cases.append(("minimum", name, check))

    minimum("loves coding puzzles -> swe",
            {"interest_coding_puzzles": 5, "interest_building_products": 5, "interest_math": 1,
             "pref_fast_job_entry": 5}, "swe", 0.8)  # fmt: skip
    minimum("loves data patterns, maths, research, niche -> mle",
            {"interest_data_patterns": 5, "interest_math": 5, "interest_research": 5,
             "pref_niche_specialization": 5}, "mle", 0.8)  # fmt: skip

    def leans(name, answers, role, model=_all_answers):
        def check(predict):
            baseline = model(predict({})).probabilities[role]
            p = model(predict(answers)).probabilities[role]
            return (
                None if p > baseline else f"expected p({role}) above the baseline {baseline:.3f}, got {p:.3f}"
            )

        cases.append(("minimum", name, check))

    # the career guides' scenarios: which role suits someone, so the fit's
    leans("loves LeetCode-style puzzles leans swe (fit)", {"interest_coding_puzzles": 5}, "swe", _fit)
    leans("loves analysing data patterns leans mle (fit)", {"interest_data_patterns": 5}, "mle", _fit)
    leans("wants a job quickly leans swe (fit)", {"pref_fast_job_entry": 5}, "swe", _fit)
    niche = {"pref_niche_specialization": 5}
    leans("wants a specialised high-paying niche leans mle (fit)", niche, "mle", _fit)
    for goal in ("software_architect", "engineering_manager"):
        leans(f"goal {goal} leans swe", {"career_goal": goal}, "swe")
    for goal in ("ai_researcher", "applied_scientist"):
        leans(f"goal {goal} leans mle", {"career_goal": goal}, "mle")
    architect = {"career_goal": "software_architect", "interest_system_design": 5, "skill_system_design": 5}
    minimum("architect goal with design interests -> swe", architect, "swe", 0.8)
    researcher = {
        "career_goal": "ai_researcher",
        "interest_research": 5,
        "interest_math": 5,
        "skill_ml_algorithms": 5,
    }
    minimum("researcher goal with research and maths -> mle", researcher, "mle", 0.8)
    swe_archetype = {
        i.id: (5 if i.lean == "swe" else 1)
        for i in instrument.items
        if i.kind == "scale" and i.lean != "none"
    }
    mle_archetype = {
        i.id: (5 if i.lean == "mle" else 1)
        for i in instrument.items
        if i.kind == "scale" and i.lean != "none"
    }
    minimum("archetype: every swe-lean item high, mle-lean low", swe_archetype, "swe", 0.95)
    minimum("archetype: every mle-lean item high, swe-lean low", mle_archetype, "mle", 0.95)

    base = {"interest_math": 3, "skill_dsa": 3, "pref_experimentation": 3, "years_coding": 4}
    for item in instrument.items:
        if item.lean == "none" or item.kind == "choice":
            continue
        lo, hi = item.bounds

        def directional(predict, item=item, lo=lo, hi=hi):
            low = _all_answers(predict({**base, item.id: lo})).probabilities["mle"]
            high = _all_answers(predict({**base, item.id: hi})).probabilities["mle"]
            ok = high >= low - 1e-12 if item.lean == "mle" else high <= low + 1e-12
            return None if ok else f"raising {item.id} moved p_mle from {low:.4f} to {high:.4f}"

        cases.append(("directional", f"raising {item.id} moves toward {item.lean}", directional))

    sample = {"interest_math": 4, "skill_dsa": 2, "career_goal": "cloud_engineer", "uses_python": 1}

    def same(predict, variant):
        a, b = predict(sample).to_dict(), predict(variant).to_dict()
        return None if a == b else f"output changed: {a['probabilities']} vs {b['probabilities']}"

    cases.append(
        ("invariance", "key order", lambda predict: same(predict, dict(reversed(list(sample.items())))))
    )
    cases.append(("invariance", '"4" vs 4', lambda predict: same(predict, {**sample, "interest_math": "4"})))
    cases.append(("invariance", "respondent_id metadata",
                  lambda predict: same(predict, {**sample, "respondent_id": "abc-123"})))  # fmt: skip
    demographics = {**sample, "gender": "Woman", "country": "Kenya"}
    cases.append(("invariance", "demographics are ignored", lambda predict: same(predict, demographics)))
    cases.append(("invariance", "choice label vs id",
                  lambda predict: same(predict, {**sample, "career_goal": "Cloud engineer"})))  # fmt: skip
    skipped = {**sample, "skill_python": None, "education": ""}
    cases.append(("invariance", "skipped answers as None", lambda predict: same(predict, skipped)))
    return cases


def run_behaviour(predict) -> list[dict[str, str]]:
    """Run the whole suite; returns one record per case with its verdict."""
    results = []
    for kind, name, check in behaviour_cases():
        try:
            failure = check(predict)
        except Exception as exc:  # a crash is a failed case, reported with its cause
            failure = f"{type(exc).__name__}: {exc}"
        results.append({"kind": kind, "name": name, "passed": failure is None, "detail": failure or ""})
    return results
