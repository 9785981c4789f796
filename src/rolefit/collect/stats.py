"""What the contributions database holds, counted: per role, per month, per status, kept apart by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def summarise(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of ``rows`` (dicts as :meth:`~rolefit.collect.store.Store.rows` yields them): the total,
    accepted and kept apart; accepted per role and per month (and per role within each month); kept
    apart per reason; per instrument version."""
    total, status, roles, months, versions, reasons = 0, Counter(), Counter(), {}, Counter(), Counter()
    for row in rows:
        total += 1
        status[row["status"]] += 1
        versions[row["instrument_version"]] += 1
        if row["status"] == "accepted":
            roles[row["role"]] += 1
            months.setdefault(row["month"], Counter())[row["role"]] += 1
        else:
            reasons[row["reason"]] += 1
    return {
        "total": total,
        "accepted": status["accepted"],
        "kept_apart": status["kept_apart"],
        "accepted_by_role": {role: roles[role] for role in ("swe", "mle")},
        "accepted_by_month": {
            m: {role: c[role] for role in ("swe", "mle")} for m, c in sorted(months.items())
        },
        "kept_apart_by_reason": dict(reasons.most_common()),
        "by_instrument_version": dict(sorted(versions.items())),
    }
