"""The model: features, estimators, calibration, real evidence, conformal sets, decomposition into
per-item tables, the scoring rules it is selected on, and training."""
