"""The rolefit pyfunc model, logged to MLflow *from code* (MLflow loads this file; rolefit never imports it).

It wraps the exported bundle: loading verifies every checksum, and ``predict`` returns, per row, the
fit's ``p_swe``, ``p_mle``, ``role``, ``prediction_set``, ``verdict`` and top three reasons, then the
all-answers model's ``all_answers_p_swe``, ``all_answers_p_mle``, ``all_answers_role``,
``all_answers_prediction_set`` and ``all_answers_verdict``, and readiness's gaps per role
(``readiness_swe_gaps``, ``readiness_swe_top_gap``, ``readiness_mle_gaps``, ``readiness_mle_top_gap``):
the columns of :func:`rolefit.predict_many`.
"""

import mlflow
from mlflow.pyfunc import PythonModel

from rolefit.scoring.frames import predict_many
from rolefit.scoring.loader import load_model


class RolefitModel(PythonModel):
    def load_context(self, context):

        self.bundle = context.artifacts["bundle"]
        load_model(self.bundle)  # verify checksums now, not on the first request

    def predict(self, context, model_input, params=None):
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return predict_many(frame, model=self.bundle, top_k=3).reset_index(drop=True)


mlflow.models.set_model(RolefitModel())
