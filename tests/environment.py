"""The environment of the rolefit processes tests start."""

from __future__ import annotations

import os

#: The signing key every bundle made by the tests is signed with (set in tests/conftest.py).
SIGNING_KEY = "ROLEFIT_SIGNING_KEY"


def child_env() -> dict[str, str]:
    """This process's environment without MLflow or rolefit settings, except the tests' signing key.

    A child then finds no tracking server or model by accident, and verifies bundles with the same key
    the tests signed them with, whatever key a developer keeps in the checkout's ``.rolefit/``.
    """
    dropped = ("MLFLOW_", "ROLEFIT_")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped) or k == SIGNING_KEY}
