"""Data: file reading, one adapter per survey, ingest, survey-derived reference marginals and profiles,
the synthetic generator, answer distributions, and combining sources into splits."""
