"""The REST reference of the docs site (docs/reference/rest.md) names every operation the app serves."""

from __future__ import annotations

import re

from rolefit.apps import web

from ..conftest import ROOT


def documented(*, optional: bool = True) -> set[tuple[str, str]]:
    """(method, path) of every row of the reference's endpoint table; a row may name more paths. Rows
    whose text says "with `--collect` only" are the optional routes (left out with ``optional=False``)."""
    table = (ROOT / "docs" / "reference" / "rest.md").read_text()
    rows = re.findall(r"^\| (`(?:GET|POST) [^|]+)\|(.*)$", table, re.M)
    found = set()
    for row, what in rows:
        if not optional and "with `--collect` only" in what:
            continue
        method = row.split()[0].strip("`")
        found |= {(method, path) for path in re.findall(r"`(?:GET |POST )?(/[^`\s]*)`", row)}
    return found


def test_every_operation_of_the_app_is_in_the_rest_reference(champion):
    app = web.create_app(str(champion[1]))
    served = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    served |= {("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json")}
    assert {("POST", "/api/predict"), ("GET", "/healthz")} <= served
    assert served - documented() == set(), "operations the REST reference does not name"
    extra = documented(optional=False) - served
    assert extra == set(), "the REST reference names operations the app does not serve"
