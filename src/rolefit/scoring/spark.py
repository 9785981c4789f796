"""Scoring Spark DataFrames, for data that outgrows one machine (``pip install rolefit[spark]``).

:func:`score` runs :func:`rolefit.predict_many` on every Arrow batch of a Spark DataFrame
(``mapInPandas``): the verified bundle is read once per Python worker, and results equal
``predict_many`` exactly. On a cluster, either ship the bundle folder to every executor at the same
path, or use the registered MLflow model, which carries the bundle and rolefit's code with it::

    import mlflow.pyfunc
    udf = mlflow.pyfunc.spark_udf(spark, "models:/rolefit@champion", result_type="double")
"""

from __future__ import annotations

import os

from rolefit.scoring.frames import ALL_ANSWERS_COLUMNS, TEXT_COLUMNS, plain_gap_columns, predict_many
from rolefit.scoring.loader import load_model
from rolefit.scoring.readiness import GAP_COLUMNS

#: The fit's columns (the headline), then its reasons, then the all-answers model's (as predict_many).
OUTPUT_COLUMNS = ("p_swe", "p_mle", "role", "prediction_set", "verdict")


def output_schema(top_k: int, keep: list[str]):
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    fields = [StructField(name, StringType()) for name in keep]
    fields += [StructField("p_swe", DoubleType()), StructField("p_mle", DoubleType())]
    fields += [StructField(name, StringType()) for name in ("role", "prediction_set", "verdict")]
    fields += [StructField(f"reason_{k}", StringType()) for k in range(1, top_k + 1)]
    fields += [StructField(name, DoubleType()) for name in ALL_ANSWERS_COLUMNS[:2]]
    fields += [StructField(name, StringType()) for name in ALL_ANSWERS_COLUMNS[2:]]
    fields += [
        StructField(name, LongType() if name.endswith("_gaps") else StringType()) for name in GAP_COLUMNS
    ]
    return StructType(fields)


def score(
    spark_df,
    *,
    model: str | os.PathLike | None = None,
    top_k: int = 0,
    keep: tuple[str, ...] = ("respondent_id",),
):
    """Score a Spark DataFrame of answers; returns a Spark DataFrame of results.

    Parameters
    ----------
    spark_df
        One row per respondent; item columns as in :func:`rolefit.predict_many`.
    model
        Bundle folder (default: as :func:`rolefit.predict` chooses), resolved on the driver.
    top_k
        How many reason columns to add.
    keep
        Input columns copied to the output (as strings) when present, e.g. an id.
    """

    bundle = str(load_model(model).path.resolve())  # verify on the driver before any task runs
    kept = [c for c in keep if c in spark_df.columns]

    def score_batches(batches):

        for frame in batches:
            scored = predict_many(frame.drop(columns=kept), model=bundle, top_k=top_k)
            for column in TEXT_COLUMNS:
                scored[column] = scored[column].astype(str)
            plain_gap_columns(scored)
            for column in reversed(kept):
                scored.insert(0, column, frame[column].astype(str).to_numpy())
            yield scored.reset_index(drop=True)

    return spark_df.mapInPandas(score_batches, schema=output_schema(top_k, kept))
