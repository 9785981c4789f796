"""rolefit's public API used as an app would, for the type checker (``make check`` runs mypy on it with
the package's own annotations: ``py.typed``). Not a test module: nothing here runs under pytest."""

from __future__ import annotations

from typing import Any

import rolefit
from rolefit import InvalidAnswers, Prediction


def use() -> None:
    prediction: Prediction = rolefit.predict({"interest_math": 5}, base_rate=0.2)
    role: str = prediction.role
    mle: float = prediction.probabilities["mle"]
    data: dict[str, Any] = prediction.to_dict()
    if prediction.model is not None:
        which: str = prediction.model.chosen_by
        version: str = prediction.model.version
        sources: tuple[str, ...] = prediction.model.training_sources
        print(which, version, sources)
    items = rolefit.questionnaire()
    ids: tuple[str, ...] = items.ids
    guidance = rolefit.guide({"interest_math": 5}, prediction=prediction)
    steps = rolefit.next_steps({"interest_math": 5})
    asked = rolefit.next_questions({"interest_math": 5}, 3)
    facts = rolefit.role_facts("mle")
    changed = rolefit.what_if({"interest_math": 5}, {"interest_math": 1})
    done = rolefit.settled({"interest_math": 5})
    try:
        rolefit.predict({"interest_math": 9})
    except InvalidAnswers as exc:
        problems: dict[str, str] = exc.problems
        print(problems)
    version_text: str = rolefit.__version__
    print(role, mle, data, ids, guidance, steps, asked, facts, changed, done, version_text)
