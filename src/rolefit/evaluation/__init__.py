"""Evaluation: metrics with intervals, the behaviour suite, fairness, curves and reports, the quality
gate, drift."""
