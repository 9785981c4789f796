"""A local Spark session (local[2]) scores 100,000 rows exactly like predict_many."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow
pyspark = pytest.importorskip("pyspark", reason="installed by the dev extras (rolefit[spark])")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    import os

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", __import__("sys").executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("rolefit-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark")))
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_scores_100000_rows_like_predict_many(spark, champion, use_model):
    import rolefit
    from rolefit.scoring.spark import score

    from ..model.test_exactness import random_answers

    use_model(champion[1])
    frame = random_answers(100_000, seed=7)
    frame.insert(0, "respondent_id", [f"r{i:06d}" for i in range(len(frame))])
    expected = rolefit.predict_many(frame.drop(columns="respondent_id"), top_k=3)
    result = score(spark.createDataFrame(frame).repartition(4), top_k=3).toPandas()
    result = result.set_index("respondent_id").loc[frame["respondent_id"]]
    assert len(result) == 100_000
    np.testing.assert_array_equal(result["p_mle"].to_numpy(), expected["p_mle"].to_numpy())
    np.testing.assert_array_equal(
        result["all_answers_p_mle"].to_numpy(), expected["all_answers_p_mle"].to_numpy()
    )
    np.testing.assert_array_equal(
        result["readiness_mle_gaps"].to_numpy(), expected["readiness_mle_gaps"].to_numpy()
    )
    for column in ("role", "prediction_set", "verdict", "reason_1", "reason_2", "reason_3",
                   "all_answers_role", "all_answers_prediction_set", "all_answers_verdict",
                   "readiness_swe_top_gap", "readiness_mle_top_gap"):  # fmt: skip
        # a missing value (no third reason, no gap) may come back from Spark as None or NaN: both missing
        got = result[column].astype(object).where(result[column].notna(), None).to_numpy().astype(str)
        want = expected[column].astype(object).where(expected[column].notna(), None).to_numpy().astype(str)
        assert (got == want).all(), column
