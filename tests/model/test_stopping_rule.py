"""The stopping rule's verdict term decides when only the verdict can change (issue #24, item 3).

:func:`rolefit.guidance.questions.settled` counts sampled completions whose predicted role *or* verdict
differs from the current one. Here is a person for whom no completion can change the role (checked over
every combination of answers to what is left) while some change the verdict: the person is clear about
SWE with a probability far from 0.5 but just inside the set's boundary, where the remaining answers
can move them to "leaning". Stopping on the role alone calls them settled; the default rule must not.
"""

from __future__ import annotations

import itertools

import pytest

import rolefit
from rolefit.guidance.questions import settled
from rolefit.scoring.loader import clear_cache, load_model

pytestmark = pytest.mark.slow

#: What may be left unanswered: interests and preferences (fit items, so the person works for the fit
#: and for the all-answers model alike), one or two at a time.
LEFT_CANDIDATES = (
    "interest_debugging", "pref_predictable_work", "interest_building_products", "interest_ai_products",
    "pref_fast_job_entry", "interest_model_training", "pref_long_learning", "pref_experimentation",
)  # fmt: skip


@pytest.fixture()
def bundle(champion):
    clear_cache()
    yield str(champion[1])
    clear_cache()


def verdict_only_person(bundle: str):
    """``(person, left, completions)``: answers that leave ``left`` unanswered, are "clear" SWE, and whose
    completions (every combination of answers to ``left``) keep the role but not always the verdict;
    None when no choice of ``left`` among :data:`LEFT_CANDIDATES` gives one."""
    levels = {item: found.answers for item, found in load_model(bundle).answer_distributions.items.items()}

    def predict(answers):
        return rolefit.predict(answers, model=bundle)

    # each item's answers from the one that points most toward SWE to the one that points most toward MLE
    ordered = {
        item: sorted(answers, key=lambda a: predict({item: a}).log_odds) for item, answers in levels.items()
    }
    lefts = [(item,) for item in LEFT_CANDIDATES] + list(itertools.combinations(LEFT_CANDIDATES, 2))
    for left in lefts:
        rest = [item for item in rolefit.questionnaire().ids if item not in left]
        person = {item: ordered[item][0] for item in rest}
        if predict(person).prediction_set != ["swe"]:
            continue
        # raise the answers one step at a time toward MLE while the set still names SWE alone: the
        # person ends just inside the boundary of the set
        for item in rest:
            for answer in ordered[item][1:]:
                if predict({**person, item: answer}).prediction_set != ["swe"]:
                    break
                person = {**person, item: answer}
        completions = [
            predict({**person, **dict(zip(left, combination, strict=True))})
            for combination in itertools.product(*(levels[item] for item in left))
        ]
        if all(c.role == "swe" for c in completions) and any(c.verdict != "clear" for c in completions):
            found = settled(person, model=bundle)
            if found.p_verdict_change >= found.threshold:
                return person, left, completions
    return None


def test_only_the_verdict_can_change_and_the_verdict_term_decides(bundle):
    found = verdict_only_person(bundle)
    assert found is not None, "no person found whose completions change the verdict but never the role"
    person, left, completions = found
    now = rolefit.predict(person, model=bundle)
    assert now.role == "swe" and now.verdict == "clear" and now.prediction_set == ["swe"]
    # far from 0.5: the role cannot change, whatever the answers left (every combination tried)
    assert max(c.probabilities["mle"] for c in completions) < 0.5
    verdicts = {c.verdict for c in completions}
    assert "clear" in verdicts and verdicts - {"clear"}, verdicts  # some completions keep it, some not

    by_role = settled(person, model=bundle, on="role")
    assert by_role.p_role_change == 0.0 and by_role.settled, "on the role alone there is nothing to wait for"
    by_verdict = settled(person, model=bundle)  # the default rule: the role or the verdict
    assert by_verdict.on == "verdict" and by_verdict.remaining == len(left)
    assert by_verdict.p_role_change == 0.0
    assert by_verdict.p_change == by_verdict.p_verdict_change >= by_verdict.threshold
    assert not by_verdict.settled, "the verdict can still change, so the answers are not settled"
