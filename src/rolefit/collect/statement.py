"""What a contributor is told before saying yes: what is kept and what is not, in plain words."""

from __future__ import annotations

QUESTION = (
    "Do you work as a software engineer or an ML engineer today? You can add your answers and your "
    "current role to the data rolefit learns from."
)
KEPT = (
    "Your answers to the questions.",
    "Your current role: software engineer or ML engineer.",
    "The version of the questionnaire you answered.",
    "The month you added them (for example 2026-12), never the day or the time.",
)
NOT_KEPT = (
    "No IP address.",
    "No free text.",
    "No name, e-mail address or other contact details.",
    "No age, gender or other demographics.",
    "No cookies.",
)
STATEMENT = (
    "Adding your answers is optional and only happens if you say yes. They are kept in this "
    "deployment's own database, where the people who run it can use them, together with other people's, "
    "to retrain rolefit; they never change a result directly. You get a deletion code: with it you can "
    "remove your answers at any time, and they are left out of every later export. The code is stored "
    "only in a scrambled form, so keep it: it cannot be sent to you again."
)


def description(instrument_version: str) -> dict[str, object]:
    """``GET /api/contributions``'s body (also what the quiz shows before asking)."""
    return {
        "enabled": True,
        "instrument_version": instrument_version,
        "question": QUESTION,
        "kept": list(KEPT),
        "not_kept": list(NOT_KEPT),
        "statement": STATEMENT,
    }
