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
from rolefit.scoring.frames import predict_many
from rolefit.scoring.predictor import Prediction, predict

__all__ = ["InvalidAnswers", "Prediction", "predict", "predict_many", "questionnaire"]

try:
    from importlib.metadata import version as _version

    __version__ = _version("rolefit")
except Exception:  # pragma: no cover - not installed
    __version__ = "0+unknown"
