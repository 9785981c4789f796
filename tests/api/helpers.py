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
