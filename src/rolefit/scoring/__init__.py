"""Scoring: the plain-language reasons, the bundle (save, sign, verify, load), the published champion,
the predictor (``predict``, ``predict_many``), batch and Spark scoring."""
