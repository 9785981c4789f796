"""rolefit: how well a person fits software engineering (SWE) versus ML engineering (MLE).

Public API::

    import rolefit
    p = rolefit.predict({"interest_math": 5, "career_goal": "applied_scientist"})
    p.role, p.probabilities, p.explanations, p.log_odds, p.baseline_log_odds, p.to_dict()
    rolefit.predict_many(frame)
    rolefit.questionnaire()

Importing this package is light: no scikit-learn, pandas, MLflow or plotting on the predict path.
``predict``, guidance and the command line need only the core install (``pip install rolefit``);
``predict_many`` needs ``rolefit[batch]``. The public API (these names, ``Prediction``'s fields, the REST
schemas and the instrument's ids) is listed in ``public-api.json`` (:mod:`rolefit.apps.public_api`);
changes to it are recorded in ``CHANGELOG.md``.
"""

from typing import TYPE_CHECKING

from rolefit.instrument.items import questionnaire
from rolefit.scoring.answers import InvalidAnswers
from rolefit.scoring.predictor import Prediction, predict

if TYPE_CHECKING:  # what the lazy names are, for type checkers (imported on first use at run time)
    from rolefit.guidance.advice import guide
    from rolefit.guidance.facts import role_facts
    from rolefit.guidance.questions import next_questions, settled
    from rolefit.guidance.steps import next_steps, what_if
    from rolefit.scoring.frames import predict_many

    __version__: str

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

# written out (the lazy ones too) so that linters and type checkers see every name
__all__ = [
    "InvalidAnswers",
    "Prediction",
    "guide",
    "next_questions",
    "next_steps",
    "predict",
    "predict_many",
    "questionnaire",
    "role_facts",
    "settled",
    "what_if",
]


def __getattr__(name: str) -> object:
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
