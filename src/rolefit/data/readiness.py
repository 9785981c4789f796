"""Readiness counts: how many real respondents of each role gave each answer level (``readiness.json``).

Readiness (issue #24) says where a person stands today against people working in each role: per
experience item and path skill, the share of real respondents in the role with less than the person,
the same, and more. Those shares need only counts per (source, item, answer level, role) — the
sufficient statistics of the design's "Scale" paragraph — so this module has two parts:

* :func:`count_levels` is the GROUP BY: a frame of respondents (or, for a database of contributions, the
  same query in SQL) reduced to long-form counts and respondents per (source, role);
* :func:`readiness_document` turns those counts into the bundle's ``readiness.json``, a pure function
  of counts; :func:`readiness_from_frame` selects the rows (every real source's non-test rows) and
  calls both.

Answer levels (:func:`item_levels`, :func:`level_of`) are the one definition both sides use: the
scoring side (:mod:`rolefit.scoring.readiness`) maps a person's answer to a level with the same
function. The choices, stated:

* years (``years_coding``, ``years_ml``) are compared in the **Kaggle 2021 bands** (0 — "never" / "do
  not use ML" — is a level of its own; then under 1 year, and the survey's band edges, lower edge
  inclusive). The surveys recorded bands, not years, so a finer comparison would invent precision:
  someone with 3 years of coding is compared as "3 to 5 years", like Kaggle's "3-5 years" respondents.
  Stack Overflow 2017's one-year bands nest inside them. The model's table steps are not used: they
  change with every champion, and a population description should not.
* ``education`` is ordinal: no degree < some college < bachelor < master < doctorate.
* binary items are 0 < 1; counts (``ml_frameworks_used``) keep every whole number; 1-5 skill ratings
  every point.
* an answer the respondent was not shown (or skipped) is **missing**: it is left out of the shares'
  denominators and reported per (source, item, role).

Which items: experience plus the path skills, as the instrument's ``part`` field names them
(``Instrument.readiness_ids``). Which sources: every real source with role labels,
training and evaluation ones alike (readiness describes populations, it fits nothing), each counted on
its own and never pooled; the scoring side compares each item with one source, training sources first.

pandas is imported only by :func:`count_levels`: the level functions are plain Python.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rolefit.instrument.items import ROLES, Instrument, Item, load_instrument

#: Version of the ``readiness.json`` layout.
READINESS_SCHEMA = 1
if TYPE_CHECKING:
    import pandas as pd

#: The order of the education levels (the instrument lists them in it too; stated here because
#: readiness depends on it).
EDUCATION_ORDER = ("no_degree", "some_college", "bachelor", "master", "doctorate")
#: Band edges of the years items (the Kaggle ML & DS Survey 2021's answer bands, lower edge inclusive),
#: with 0 a level of its own.
YEARS_EDGES = {
    "years_coding": (1.0, 3.0, 5.0, 10.0, 20.0),
    "years_ml": (1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0),
}
#: Edges of any other years item (none today): the years_coding bands.
DEFAULT_YEARS_EDGES = YEARS_EDGES["years_coding"]
#: Display name, year and the words for each role's respondents of the known surveys, by adapter.
SOURCE_FACTS: dict[str, dict[str, Any]] = {
    "kaggle2021": {
        "name": "Kaggle ML & DS Survey 2021",
        "year": 2021,
        "titles": {"swe": "software engineers", "mle": "machine learning engineers"},
    },
    "stackoverflow2017": {
        "name": "Stack Overflow Developer Survey 2017",
        "year": 2017,
        "titles": {
            "swe": "web, mobile, desktop or embedded developers",
            "mle": "machine learning specialists",
        },
    },
}
#: The words for each role's respondents of a source the table above does not know.
DEFAULT_TITLES = {"swe": "software engineers", "mle": "machine learning engineers"}


def readiness_items(instrument: Instrument | None = None) -> tuple[str, ...]:
    """The items readiness compares, in questionnaire order: every experience item and every path skill."""
    instrument = instrument or load_instrument()
    return instrument.readiness_ids


def item_levels(item: Item) -> dict[str, Any]:
    """How ``item``'s answers are ordered into levels: ``{"order": [choice ids, lowest first]}`` for a
    choice item, else ``{"edges": [...], "zero": bool}`` (see :func:`level_of`)."""
    if item.kind == "choice":
        order = EDUCATION_ORDER if item.id == "education" else item.choice_ids
        return {"order": list(order)}
    if item.kind == "number":
        return {"edges": list(YEARS_EDGES.get(item.id, DEFAULT_YEARS_EDGES)), "zero": True}
    lo, hi = item.bounds  # binary, count, scale: every whole answer is a level
    return {"edges": [float(v) for v in range(int(lo) + 1, int(hi) + 1)], "zero": False}


def level_count(levels: Mapping[str, Any]) -> int:
    """How many levels :func:`item_levels`' description has."""
    if "order" in levels:
        return len(levels["order"])
    return len(levels["edges"]) + 1 + bool(levels["zero"])


def level_of(levels: Mapping[str, Any], value: float | str) -> int:
    """The level of a (valid, normalised) answer: its place in ``order``, or, for numbers, how many
    ``edges`` are at or below it, plus one when ``zero`` is set and the answer is above 0 (0 is then a
    level of its own, and ``(0, edges[0])`` the next). Raises ValueError for an answer not in ``order``
    or a number that is not finite."""
    if "order" in levels:
        try:
            return list(levels["order"]).index(value)
        except ValueError:
            raise ValueError(f"{value!r} is not one of the ordered answers {list(levels['order'])}") from None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return (1 if levels["zero"] and number > 0 else 0) + bisect_right(levels["edges"], number)


def source_facts(source: str, adapter: str | None = None) -> dict[str, Any]:
    """Display name, year and role words of a source (by its adapter, else its own name); a source
    rolefit does not know is shown by its name, without a year."""
    known = SOURCE_FACTS.get(adapter or source) or SOURCE_FACTS.get(source)
    if known is None:
        return {"name": source, "year": None, "titles": dict(DEFAULT_TITLES)}
    return {"name": known["name"], "year": known["year"], "titles": dict(known["titles"])}


# ---------------------------------------------------------------------------------------------------
# the GROUP BY and the document built from its counts


def count_levels(
    frame: pd.DataFrame, items: Sequence[str], instrument: Instrument | None = None
) -> tuple[list[tuple[str, str, int, str, int]], dict[tuple[str, str], int]]:
    """Long-form counts of ``frame``'s respondents: ``[(source, item, level, role, count)]`` for every
    answered level (count > 0), and respondents per ``(source, role)``.

    The same as ``SELECT source, item, level, role, COUNT(*) ... GROUP BY source, item, level, role``
    over answers in long form: a database of contributed answers can produce it without this function.
    ``frame`` needs ``source``, ``role`` (``swe``/``mle``) and the item columns (a missing column: no
    answers). Raises ValueError naming an item whose answers do not fit its levels.
    """
    import numpy as np
    import pandas as pd

    instrument = instrument or load_instrument()
    roles = frame["role"].astype(str)
    if not roles.isin(ROLES).all():
        raise ValueError(
            f"Readiness counts need role labels {ROLES}; found {sorted(set(roles) - set(ROLES))}."
        )
    sources = frame["source"].astype(str)
    respondents = {(str(s), str(r)): int(n) for (s, r), n in frame.groupby([sources, roles]).size().items()}
    out: list[tuple[str, str, int, str, int]] = []
    for item_id in items:
        if item_id not in frame.columns:
            continue
        item = instrument[item_id]
        levels = item_levels(item)
        column = frame[item_id]
        if "order" in levels:
            index = {answer: k for k, answer in enumerate(levels["order"])}
            answered = column.notna().to_numpy()
            level = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in column.tolist()])
        else:
            numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            answered = ~np.isnan(numbers)
            level = np.full(len(frame), -1)
            shown = numbers[answered]
            level[answered] = np.searchsorted(
                np.asarray(levels["edges"], dtype=float), shown, side="right"
            ) + ((shown > 0) if levels["zero"] else 0)
            level[answered & ((numbers < item.bounds[0]) | (numbers > item.bounds[1]))] = -1
        bad = answered & (level < 0)
        if bad.any():
            shown_values = sorted({str(v) for v in column[bad].tolist()})[:5]
            raise ValueError(
                f"Readiness counts: {item_id} has answers outside its levels ({', '.join(shown_values)}); "
                f"allowed: {item.allowed()}."
            )
        rows = pd.DataFrame({"source": sources.to_numpy(), "role": roles.to_numpy(), "level": level})[
            answered
        ]
        for (source, role, k), n in rows.groupby(["source", "role", "level"]).size().items():
            out.append((str(source), item_id, int(k), str(role), int(n)))
    return out, respondents


def readiness_document(
    counts: Iterable[tuple[str, str, int, str, int]],
    respondents: Mapping[tuple[str, str], int],
    sources: Mapping[str, Mapping[str, Any]],
    items: Sequence[str],
    *,
    description: str = "",
    instrument: Instrument | None = None,
) -> dict[str, Any]:
    """``readiness.json`` from long-form counts (:func:`count_levels`' output, or a database's GROUP BY).

    ``sources`` maps each source to its facts: ``name``, ``year``, ``use`` (``train`` or ``evaluate``)
    and ``titles`` (words for each role's respondents; :func:`source_facts`). Every item of ``items``
    gets an entry with its levels; ``counts[source][role]`` is a list with one count per level, and
    ``missing[source][role]`` the respondents of that role who gave no answer (not shown the question,
    or skipped it), so that counts plus missing equal the source's respondents of the role. A source
    appears under an item only when someone in it answered the item.
    """
    instrument = instrument or load_instrument()
    table: dict[str, dict[str, dict[str, list[int]]]] = {}
    for source, item_id, level, role, n in counts:
        if source not in sources:
            raise ValueError(f"Readiness counts name the source {source!r}, which has no facts.")
        if item_id not in items:
            raise ValueError(f"Readiness counts name {item_id!r}, which is not a readiness item.")
        size = level_count(item_levels(instrument[item_id]))
        if not 0 <= level < size or n < 0:
            raise ValueError(f"Readiness counts: level {level} of {item_id} (of {size}) with count {n}.")
        per_role = table.setdefault(item_id, {}).setdefault(source, {r: [0] * size for r in ROLES})
        per_role[role][level] += int(n)
    out_items: dict[str, Any] = {}
    for item_id in items:
        entry: dict[str, Any] = {**item_levels(instrument[item_id]), "counts": {}, "missing": {}}
        for source, per_role in sorted(table.get(item_id, {}).items()):
            entry["counts"][source] = per_role
            missing = {}
            for role in ROLES:
                missing[role] = int(respondents.get((source, role), 0)) - sum(per_role[role])
                if missing[role] < 0:
                    raise ValueError(
                        f"Readiness counts of {item_id} in {source} exceed its {role} respondents."
                    )
            entry["missing"][source] = missing
        out_items[item_id] = entry
    out_sources = {
        source: {
            "name": str(facts["name"]),
            "year": facts.get("year"),
            "use": str(facts.get("use", "train")),
            "titles": {role: str(facts.get("titles", DEFAULT_TITLES)[role]) for role in ROLES},
            "respondents": {role: int(respondents.get((source, role), 0)) for role in ROLES},
        }
        for source, facts in sorted(sources.items())
    }
    return {
        "schema": READINESS_SCHEMA,
        "description": description or "real respondents per answer level and role",
        "sources": out_sources,
        "items": out_items,
    }


def readiness_from_frame(frame: pd.DataFrame, params, split: pd.Series | None = None) -> dict[str, Any]:
    """``readiness.json`` of the rows of every real source in ``frame`` (training and evaluation
    sources, :func:`rolefit.data.dataset.real_sources`) outside the test split, with role labels.

    ``split`` is the split of every row (default: ``frame["split"]``, else assigned from
    ``params.build``). A frame without real sources gives a document with no sources: every item is
    then not measured.
    """
    from rolefit.data.dataset import assign_splits, real_sources

    instrument = load_instrument()
    if split is None:
        split = frame["split"] if "split" in frame.columns else assign_splits(frame, params.build)
    uses = {s: "train" for s in real_sources(params, frame, "train")}
    uses.update({s: "evaluate" for s in real_sources(params, frame, "evaluate")})
    chosen = (
        frame["source"].isin(list(uses)).to_numpy()
        & (split.to_numpy() != "test")
        & frame["role"].isin(ROLES).to_numpy()
    )
    rows = frame.loc[chosen]
    items = readiness_items(instrument)
    counts, respondents = count_levels(rows, items, instrument)
    facts = {}
    for source, use in uses.items():
        declared = params.ingest.sources.get(source)
        facts[source] = {**source_facts(source, declared.adapter if declared else None), "use": use}
    named = ", ".join(f"{facts[s]['name']} ({uses[s]})" for s in sorted(uses)) or "no real source"
    description = (
        f"real respondents per answer level and role: every real source's rows outside its test split "
        f"({named}; {len(rows):,} respondents); unweighted; missing answers left out and counted"
    )
    return readiness_document(
        counts, respondents, facts, items, description=description, instrument=instrument
    )
