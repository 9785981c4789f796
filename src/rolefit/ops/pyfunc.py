"""The rolefit pyfunc model, logged to MLflow *from code* (MLflow loads this file; rolefit never imports it).

It wraps the exported bundle: loading verifies every checksum, and ``predict`` returns ``p_swe``,
``p_mle``, ``role`` and the top three reasons per row.
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
