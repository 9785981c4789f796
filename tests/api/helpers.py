"""Checks shared by the interface tests."""


def check_evidence(evidence: dict) -> None:
    """An explanation's evidence record has the documented shape and says what backs the effect (the
    fit's reasons also say how unsure the effect is)."""
    assert set(evidence) - {"uncertainty"} == {"basis", "respondents", "sources", "summary"}
    if "uncertainty" in evidence:
        kind = {"assumed": "relative", "real": "sd"}[evidence["basis"]]
        assert evidence["uncertainty"]["kind"] == kind and set(evidence["uncertainty"]) == {"kind", {
            "relative": "width", "sd": "sd"}[kind]}  # fmt: skip
    assert evidence["basis"] in {"real", "assumed"} and evidence["summary"]
    if evidence["basis"] == "real":
        assert evidence["respondents"] > 0 and evidence["sources"]
        assert f"{evidence['respondents']:,} real respondents" in evidence["summary"]
    else:
        assert evidence["respondents"] == 0 and "assumed" in evidence["summary"]


#: The base URL of in-process test clients: a loopback name, which the app answers by default
#: (Starlette's TestClient sends ``Host: testserver``, which rolefit.apps.guard refuses).
LOCAL = "http://localhost"


def server_errors(app, keep=lambda path: True) -> tuple[set[str], list[tuple[str, int, str]]]:
    """Schemathesis against ``app``'s own OpenAPI document, in process: 60 generated requests per
    operation whose path ``keep`` accepts; the paths fuzzed and every answer of 500 or more."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations() if keep(op.ok().path)]
    failures: list[tuple[str, int, str]] = []

    def check(op):
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case):
            response = case.call()
            if response.status_code >= 500:
                failures.append((op.path, response.status_code, response.text[:200]))

        run()

    for op in operations:
        check(op)
    return {op.path for op in operations}, failures
