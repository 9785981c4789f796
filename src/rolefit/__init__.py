"""rolefit: how well a person fits software engineering (SWE) versus ML engineering (MLE).

Public API::

    import rolefit
    p = rolefit.predict({"interest_math": 5, "career_goal": "applied_scientist"})
    p.role, p.probabilities, p.explanations, p.log_odds, p.baseline_log_odds, p.to_dict()
    rolefit.predict_many(frame)
    rolefit.questionnaire()

Importing this package is light: no scikit-learn, pandas, MLflow or plotting on the predict path.
"""

from rolefit.instrument.items import questionnaire
from rolefit.scoring.answers import InvalidAnswers
from rolefit.scoring.predictor import Prediction, predict

#: Imported on first use, so that ``import rolefit`` stays as light as predict needs: public name -> the
#: module that defines it (predict_many and guidance).
_LAZY = {
    "predict_many": "rolefit.scoring.frames",
    "guide": "rolefit.guidance.advice",
    "next_questions": "rolefit.guidance.questions",
    "next_steps": "rolefit.guidance.steps",
    "role_facts": "rolefit.guidance.facts",
    "settled": "rolefit.guidance.questions",
    "what_if": "rolefit.guidance.steps",
}

__all__ = ["InvalidAnswers", "Prediction", "predict", "questionnaire", *_LAZY]


def __getattr__(name: str):
    """predict_many, the guidance functions, and ``rolefit.__version__`` read from the installed metadata,
    on first use (importlib.metadata alone costs a sixth of a cold start)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("rolefit")
        except PackageNotFoundError:  # pragma: no cover - not installed
            return "0+unknown"
    raise AttributeError(f"module 'rolefit' has no attribute {name!r}")
