"""Operations: MLflow tracking and registry, the pyfunc model, and the one release flow
(train -> challenger -> gate -> promote)."""
