"""Readiness: where a person stands today against real people working in each role.

For every experience item and path skill the person answered, and for each role, the share of real
respondents in the role with less than the person, the same, and more (from the bundle's
``readiness.json``: counts per source, item, answer level and role, :mod:`rolefit.data.readiness`);
a summary in plain words; and the **gaps**: items where at least half of the people in a role have
more than the person, most common first. Readiness never changes the fit: it is read beside it.

Reading the file (:meth:`ReadinessTables.from_dict`) checks it and precomputes, for every item, role
and answer level, the finished :class:`ItemStanding` (shares, source, words), and for every common
answer its level; :func:`standing` for a whole questionnaire is then a few dictionary look-ups per
answer (a few microseconds). Only the standard library is used here, as on the rest of the predict
path.

Choices, stated:

* Each item of each role is compared with **one** source, never a mix: the first, in this order, that
  has at least :data:`MIN_RESPONDENTS` respondents of the role who answered the item: training sources
  before evaluation-only ones, then the one with more respondents. With today's surveys every measured
  item is compared with the Kaggle ML & DS Survey 2021.
* Items no real source measured (the path skills, which surveys of working people do not ask) are
  listed as ``not_measured``, never guessed.
* A gap is an item where ``share_more >= 0.5``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse, pairwise
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from rolefit.data.readiness import READINESS_SCHEMA, item_levels, level_count, level_of, readiness_items
from rolefit.instrument.items import ROLES, Instrument, Item, load_instrument
from rolefit.scoring.bundle import READINESS, BundleError, parse_json, read_verified, verify_bundle

#: Fewest respondents of a role who answered an item for a source to speak for that role on it.
MIN_RESPONDENTS = 30
#: A gap: at least this share of the people in a role have more than the person.
GAP_SHARE = 0.5
#: Bounds of a readiness.json (it has about 30 items of up to 21 levels and two sources today).
MAX_SOURCES = 64
MAX_LEVELS = 512
MAX_COUNT = 10**12
_MAX_TEXT = 200
#: Plain names of the roles' people when no source says who they are.
_GENERIC_TITLES = {"swe": "software engineers", "mle": "machine learning engineers"}
_new, _set = object.__new__, object.__setattr__
_IS_GAP = attrgetter("is_gap")
_ITEM = attrgetter("item")
_FIRST, _SWE, _MLE = itemgetter(0), itemgetter(1), itemgetter(2)
_GAP_ORDER = attrgetter("gap_order")
_AHEAD_ORDER = attrgetter("ahead_order")


class _once:
    """A property computed on first use and kept in the instance (functools.cached_property without the
    lock Python 3.11 takes on every first use, which cost more than readiness itself; computing a value
    twice in a race gives the same value)."""

    def __init__(self, func):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


def percent(share: float) -> str:
    """A share of people as a whole percentage; never rounded to 0% or 100% unless it is exactly that."""
    if share <= 0.0:
        return "0%"
    if share >= 1.0:
        return "100%"
    if share < 0.005:
        return "less than 1%"
    if share > 0.995:
        return "more than 99%"
    return f"{math.floor(100 * share + 0.5)}%"  # half up: 62.5% is 63%, as people round


# ---------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ItemStanding:
    """Where one answer stands among the respondents of one role in one source.

    ``share_less + share_same + share_more == 1`` over ``n`` respondents of the role who answered the
    item; ``missing`` more were not shown it (or skipped it) and are left out. ``text`` says it in words
    with the population, e.g. "Among respondents of the Kaggle ML & DS Survey 2021 working as machine
    learning engineers, 70% have more years of machine learning than you."
    """

    item: str
    role: str
    label: str
    level: str
    share_less: float
    share_same: float
    share_more: float
    n: int
    missing: int
    source: str
    source_name: str
    year: int | None
    population: str
    fragment: str
    text: str
    #: the item's place in the questionnaire (orders items and breaks ties between gaps)
    rank: int = field(default=0, repr=False)
    #: ``share_more >= GAP_SHARE``, and the sort keys of the gaps and of the closest item, kept ready
    is_gap: bool = field(default=False, repr=False)
    gap_order: tuple[float, int] = field(default=(0.0, 0), repr=False)
    ahead_order: tuple[float, int] = field(default=(0.0, 0), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "label": self.label,
            "level": self.level,
            "share_less": self.share_less,
            "share_same": self.share_same,
            "share_more": self.share_more,
            "n": self.n,
            "missing": self.missing,
            "source": self.source,
            "source_name": self.source_name,
            "year": self.year,
            "text": self.text,
        }


class RoleStanding:
    """One role: the standing of every answered item that real people in the role were asked about
    (``standings`` in the order of the answers, ``items`` by item id), the answered items they were not
    (``not_measured``), and, computed on first use, ``gaps`` and ``summary``. Read-only."""

    def __init__(self, role: str, standings: Sequence[ItemStanding], not_measured: Sequence[str] = ()):
        vars(self).update(role=role, standings=tuple(standings), not_measured=tuple(not_measured))

    @_once
    def not_measured(self) -> tuple[str, ...]:
        """The answered readiness items no source measured for this role (worked out on first use from
        the look-ups :class:`Readiness` made)."""
        found = self._found
        return _unmeasured(found, self._pick) if len(self.standings) < len(found) else ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"RoleStanding is read-only: {name} cannot be set")

    def __repr__(self) -> str:
        items, lost = list(self.items), self.not_measured
        return f"RoleStanding(role={self.role!r}, items={items!r}, not_measured={lost!r})"

    @_once
    def items(self) -> dict[str, ItemStanding]:
        """The standings by item id."""
        standings = self.standings
        return dict(zip(map(_ITEM, standings), standings, strict=True))

    @_once
    def gaps(self) -> tuple[ItemStanding, ...]:
        """Items where at least half of the people in the role have more than the person, the most
        common first (ties in questionnaire order)."""
        return tuple(sorted(filter(_IS_GAP, self.standings), key=_GAP_ORDER))

    @_once
    def summary(self) -> str:
        """The role's standing in one or two plain sentences."""
        return _role_summary(self.role, self.standings, lambda: self.not_measured)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "summary": self.summary,
            "items": [s.to_dict() for s in sorted(self.items.values(), key=lambda s: s.rank)],
            "gaps": [s.to_dict() for s in self.gaps],
            "not_measured": list(self.not_measured),
        }


class Readiness:
    """Per role, where the person stands against real people working in it (:func:`standing`).

    ``roles`` maps ``swe`` and ``mle`` to a :class:`RoleStanding`; ``not_measured`` lists the answered
    readiness items no real source measured (for either role). ``population`` names whose people they
    are ("respondents of the Kaggle ML & DS Survey 2021") and ``summary`` says it all in words. Read-only;
    everything is worked out on first use from the answers' precomputed standings, so that
    :func:`standing` itself costs a look-up per answer.
    """

    def __init__(self, found: list[tuple[str, ItemStanding | None, ItemStanding | None]], tables):
        vars(self).update(found=found, tables=tables)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Readiness is read-only: {name} cannot be set")

    def __repr__(self) -> str:
        compared = {role: len(self.roles[role].standings) for role in ROLES}
        return f"Readiness(compared={compared}, not_measured={self.not_measured!r})"

    @_once
    def roles(self) -> dict[str, RoleStanding]:
        """``swe`` and ``mle``: each a :class:`RoleStanding`."""
        found = self.found
        # C-level passes and plain dicts: this runs for every summary
        swe, mle = _new(RoleStanding), _new(RoleStanding)
        _set(
            swe,
            "__dict__",
            {
                "role": "swe",
                "standings": tuple(filter(None, map(_SWE, found))),
                "_found": found,
                "_pick": _SWE,
            },
        )
        _set(mle, "__dict__", {"role": "mle", "standings": tuple(filter(None, map(_MLE, found))),
                               "_found": found, "_pick": _MLE})  # fmt: skip
        return {"swe": swe, "mle": mle}

    @_once
    def not_measured(self) -> tuple[str, ...]:
        """Answered readiness items that no real source measured, for either role."""
        return tuple(item for item, s, m in self.found if s is None and m is None)

    @_once
    def population(self) -> str:
        """Whose answers the person is compared with: the sources the comparisons used (the tables'
        first source when nothing was compared)."""
        used = {}
        for role in ROLES:
            for s in self.roles[role].items.values():
                used.setdefault(s.source, s)
        if used:
            names = sorted(used.values(), key=lambda s: s.source)
            return "respondents of the " + " and of the ".join(s.source_name for s in names)
        if self.tables.order:
            return "respondents of the " + self.tables.sources[self.tables.order[0]]["name"]
        return "no real respondents"

    @_once
    def summary(self) -> str:
        """Both roles in plain words, or why there is nothing to compare yet."""
        roles = self.__dict__.get("roles")
        if roles is not None:
            swe, mle = roles["swe"].standings, roles["mle"].standings
        else:  # the summary alone (what a person is shown first): no RoleStanding objects needed
            found = self.found
            swe, mle = tuple(filter(None, map(_SWE, found))), tuple(filter(None, map(_MLE, found)))
        if not (swe or mle):
            if self.not_measured:
                topics = _join([_topic(item) for item in self.not_measured])
                return (
                    f"Nothing to compare yet: your answers about {topics} were never asked of real people "
                    "working in these roles, so they are not compared. Answer the questions about your "
                    "experience to see where you stand."
                )
            return (
                "Nothing to compare yet: readiness compares your experience (years of coding and of "
                "machine learning, education, languages, frameworks and activities) with real people "
                "working in each role. Answer those questions to see where you stand."
            )
        if roles is not None:
            return f"{roles['swe'].summary} {roles['mle'].summary}"
        found = self.found
        return (
            f"{_role_summary('swe', swe, lambda: _unmeasured(found, _SWE))} "
            f"{_role_summary('mle', mle, lambda: _unmeasured(found, _MLE))}"
        )

    def gaps(self, role: str) -> tuple[ItemStanding, ...]:
        """The gaps of ``role`` (computed on request)."""
        return self.roles[role].gaps

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: population, summary, per role the items, gaps and their words, and the sources."""
        used = sorted({s.source for role in ROLES for s in self.roles[role].items.values()})
        sources = self.tables.sources
        return {
            "population": self.population,
            "summary": self.summary,
            "roles": {role: self.roles[role].to_dict() for role in ROLES},
            "not_measured": list(self.not_measured),
            "sources": {
                name: {
                    "name": sources[name]["name"],
                    "year": sources[name]["year"],
                    "use": sources[name]["use"],
                    "respondents": dict(sources[name]["respondents"]),
                }
                for name in used
                if name in sources
            },
        }


def _role_summary(role: str, standings: Sequence[ItemStanding], not_measured) -> str:
    """:attr:`RoleStanding.summary` of ``role`` from its ``standings`` (``not_measured``: a function
    giving the answered items no source measured for the role, called only when nothing is compared)."""
    if not standings:
        title = _GENERIC_TITLES[role]
        if not_measured():
            return f"Nothing to compare yet with {title}: your answers so far were never asked of them."
        return f"Nothing to compare yet with {title}: answer questions about your experience."
    compared = len(standings)
    closest = max(standings, key=_AHEAD_ORDER)  # the most common gap when there are gaps
    gaps = sum(map(_IS_GAP, standings)) if closest.is_gap else 0
    if gaps:
        if gaps == 1 or compared == 1:
            return closest.text
        if gaps == compared:
            return f"{closest.text} Most of them are ahead of you on all {compared} answers compared."
        return f"{closest.text} Most of them are ahead of you on {gaps} of the {compared} answers compared."
    text = f"Among {closest.population}, more than half have no more than you on "
    text += "the 1 answer compared" if compared == 1 else f"each of the {compared} answers compared"
    if closest.share_more > 0:
        text += f"; the most ahead: {closest.fragment}"
    return text + "."


def _unmeasured(found: list[tuple], pick) -> tuple[str, ...]:
    """The items of ``found`` (standing look-ups) with no standing for the role ``pick`` reads."""
    return tuple(map(_FIRST, filterfalse(pick, found)))


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _topic(item_id: str) -> str:
    return load_instrument()[item_id].topic


# ---------------------------------------------------------------------------------------------------
# the tables: readiness.json checked and precomputed


@dataclass(frozen=True)
class ReadinessTables:
    """``readiness.json``, checked, with every item's standing precomputed per role and answer level.

    ``sources`` holds each source's facts (name, year, use, titles, respondents per role) and ``order``
    the order in which they are preferred. Every readiness item, per answer level, has an entry
    ``(item, swe standing, mle standing)`` (None for a role no source measured): ``by_item`` holds, per
    item, its common answers' entries, the item, its levels and the entries by level; ``by_pair`` maps
    every common ``(item, answer)`` pair of the whole questionnaire to its entry, ``()`` for the items
    readiness does not compare.
    """

    sources: dict[str, dict[str, Any]]
    order: tuple[str, ...]
    description: str
    by_item: dict[str, tuple[dict[Any, tuple], Item, dict[str, Any], tuple[tuple, ...]]] = field(repr=False)
    by_pair: dict[tuple[str, Any], tuple] = field(repr=False)

    @classmethod
    def from_dict(cls, data: Any, instrument: Instrument | None = None) -> ReadinessTables:
        """Check ``readiness.json`` and precompute; raises ValueError naming what is wrong."""
        instrument = instrument or load_instrument()
        if (
            not isinstance(data, dict)
            or type(data.get("schema")) is not int
            or data["schema"] != READINESS_SCHEMA
        ):
            raise ValueError(f"the readiness tables need schema {READINESS_SCHEMA}")
        sources = _check_sources(data.get("sources"))
        raw_items = data.get("items")
        if not isinstance(raw_items, dict):
            raise ValueError("the readiness tables have no items")
        allowed = readiness_items(instrument)
        unknown = sorted(str(k)[:60] for k in raw_items if k not in allowed)
        if unknown:
            raise ValueError(
                f"the readiness tables name items readiness does not compare: {', '.join(unknown[:5])}"
            )
        order = tuple(
            sorted(
                sources,
                key=lambda s: (sources[s]["use"] != "train", -sum(sources[s]["respondents"].values()), s),
            )
        )
        description = data.get("description")
        by_item = {}
        by_pair: dict[tuple[str, Any], tuple] = {}
        for rank, item_id in enumerate(allowed):
            item = instrument[item_id]
            entry = raw_items.get(item_id)
            if entry is None:  # not in the file: not measured
                levels, by_level = item_levels(item), None
            else:
                if not isinstance(entry, dict):
                    raise ValueError(f"the readiness table of {item_id!r} is not a JSON object")
                levels = _check_levels(item, entry)
                by_level = _item_standings(item, entry, levels, sources, order, rank)
            if by_level is None:
                by_level = [(item_id, None, None)] * level_count(levels)
            common = {answer: by_level[level_of(levels, answer)] for answer in _common_answers(item)}
            by_item[item_id] = (common, item, levels, tuple(by_level))
            by_pair.update(((item_id, answer), found) for answer, found in common.items())
        for item in instrument.items:
            if item.id not in by_item:
                by_pair.update(((item.id, answer), ()) for answer in _common_answers(item))
        return cls(
            sources=sources,
            order=order,
            description=str(description)[:500] if isinstance(description, str) else "",
            by_item=by_item,
            by_pair=by_pair,
        )

    def entry(self, item_id: str, answer: Any) -> tuple:
        """The entry ``(item, swe standing, mle standing)`` of a normalised ``answer`` to ``item_id``,
        ``()`` for an item readiness does not compare."""
        compiled = self.by_item.get(item_id)
        if compiled is None:
            return ()
        common, _, levels, by_level = compiled
        found = common.get(answer)
        return found if found is not None else by_level[level_of(levels, answer)]

    def measured(self) -> dict[str, tuple[str, ...]]:
        """Per role, the items some source measured (with at least :data:`MIN_RESPONDENTS` answers)."""
        out = {}
        for k, role in enumerate(ROLES):
            out[role] = tuple(
                item for item, (*_, by_level) in self.by_item.items() if by_level[0][k + 1] is not None
            )
        return out


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= _MAX_TEXT


def _check_sources(raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict) or len(raw) > MAX_SOURCES:
        raise ValueError(f"the readiness tables need an object of at most {MAX_SOURCES} sources")
    out = {}
    for name, facts in raw.items():
        what = f"source {str(name)[:60]!r} of the readiness tables"
        if not _is_text(name) or not isinstance(facts, dict):
            raise ValueError(f"{what} needs a name and an object of facts")
        if not _is_text(facts.get("name")):
            raise ValueError(f"{what} needs a display name (text of 1 to {_MAX_TEXT} characters)")
        year = facts.get("year")
        if year is not None and not (type(year) is int and 1900 <= year <= 2200):
            raise ValueError(f"{what} has year {str(year)[:20]!r}; a year is a whole number or null")
        if facts.get("use") not in ("train", "evaluate"):
            raise ValueError(f"{what} needs use 'train' or 'evaluate'")
        titles, respondents = facts.get("titles"), facts.get("respondents")
        if not isinstance(titles, dict) or not all(_is_text(titles.get(r)) for r in ROLES):
            raise ValueError(f"{what} needs words for the respondents of each role (titles.swe, titles.mle)")
        if not isinstance(respondents, dict) or not all(_is_count(respondents.get(r)) for r in ROLES):
            raise ValueError(f"{what} needs respondents per role (whole numbers, swe and mle)")
        out[name] = {
            "name": facts["name"],
            "year": year,
            "use": facts["use"],
            "titles": {r: titles[r] for r in ROLES},
            "respondents": {r: respondents[r] for r in ROLES},
        }
    return out


def _check_levels(item: Item, entry: dict[str, Any]) -> dict[str, Any]:
    what = f"the readiness table of {item.id!r}"
    if item.kind == "choice":
        order = entry.get("order")
        if (
            not isinstance(order, list)
            or sorted(map(str, order)) != sorted(item.choice_ids)
            or len(order) != len(item.choice_ids)
        ):
            raise ValueError(
                f"{what} needs an order of exactly the item's choices ({', '.join(item.choice_ids)})"
            )
        return {"order": list(order)}
    edges, zero = entry.get("edges"), entry.get("zero")
    lo, hi = item.bounds
    if not isinstance(zero, bool) or not isinstance(edges, list) or not 1 <= len(edges) < MAX_LEVELS - 1:
        raise ValueError(
            f"{what} needs edges (a list of 1 to {MAX_LEVELS - 2} numbers) and zero (true or false)"
        )
    numbers = []
    for edge in edges:
        if isinstance(edge, bool) or not isinstance(edge, (int, float)) or not math.isfinite(edge):
            raise ValueError(f"{what} has an edge that is not a finite number")
        numbers.append(float(edge))
    increasing = all(a < b for a, b in pairwise(numbers))
    if not increasing or not lo < numbers[0] or numbers[-1] > hi:
        raise ValueError(f"{what} needs increasing edges above {lo:g} and at most {hi:g}")
    if item.kind != "number" and any(edge != int(edge) for edge in numbers):
        raise ValueError(f"{what} needs whole-number edges: the item's answers are whole numbers")
    if zero and (lo != 0 or item.kind != "number"):
        raise ValueError(f"{what} sets 0 apart, which only a years item starting at 0 may")
    return {"edges": numbers, "zero": zero}


def _item_standings(
    item: Item, entry: dict[str, Any], levels: dict[str, Any], sources, order, rank: int
) -> list[tuple[str, Any, Any]] | None:
    """Per level, the entry ``(item, swe standing, mle standing)`` of ``item`` (None for a role no
    source measured), or None when no source measured it for either role."""
    what = f"the readiness table of {item.id!r}"
    size = level_count(levels)
    counts, missing = entry.get("counts"), entry.get("missing")
    if not isinstance(counts, dict) or not isinstance(missing, dict):
        raise ValueError(f"{what} needs counts and missing answers per source")
    for source, per_role in counts.items():
        here = f"{what}, source {str(source)[:60]!r}"
        if source not in sources:
            raise ValueError(f"{here}: the source is not among the tables' sources")
        if not isinstance(per_role, dict) or not isinstance(missing.get(source), dict):
            raise ValueError(f"{here}: needs counts and missing answers for swe and mle")
        for role in ROLES:
            row, gone = per_role.get(role), missing[source].get(role)
            if not isinstance(row, list) or len(row) != size or not all(map(_is_count, row)):
                raise ValueError(f"{here}: {role} needs {size} counts (whole numbers >= 0), one per level")
            if not _is_count(gone) or sum(row) + gone != sources[source]["respondents"][role]:
                raise ValueError(
                    f"{here}: {role} counts plus missing answers must equal the source's "
                    f"{sources[source]['respondents'][role]} {role} respondents"
                )
    labels = _level_labels(item, levels)
    standings: list[list[Any]] = [[None, None] for _ in range(size)]
    found = False
    for k, role in enumerate(ROLES):
        chosen = next((s for s in order if s in counts and sum(counts[s][role]) >= MIN_RESPONDENTS), None)
        if chosen is None:
            continue
        found = True
        row = counts[chosen][role]
        n = sum(row)
        facts = sources[chosen]
        population = f"respondents of the {facts['name']} working as {facts['titles'][role]}"
        below = 0
        for level in range(size):
            share_less, share_same = below / n, row[level] / n
            share_more = (n - below - row[level]) / n
            below += row[level]
            fragment = _fragment(item, levels, level, share_more, share_same)
            standings[level][k] = ItemStanding(
                item=item.id,
                role=role,
                label=item.topic,
                level=labels[level],
                share_less=share_less,
                share_same=share_same,
                share_more=share_more,
                n=n,
                missing=missing[chosen][role],
                source=chosen,
                source_name=facts["name"],
                year=facts["year"],
                population=population,
                fragment=fragment,
                text=f"Among {population}, {fragment}.",
                rank=rank,
                is_gap=share_more >= GAP_SHARE,
                gap_order=(-share_more, rank),
                ahead_order=(share_more, -rank),
            )
    return [(item.id, *pair) for pair in standings] if found else None


def _common_answers(item: Item) -> list[float | str]:
    """The answers looked up directly: every choice, every whole answer and (years) every half year."""
    if item.kind == "choice":
        return list(item.choice_ids)
    lo, hi = item.bounds
    step = 0.5 if item.kind == "number" else 1.0
    count = round((hi - lo) / step)
    return [lo + k * step for k in range(count + 1)]


def _amount(value: float, item: Item) -> str:
    """A number with the item's unit, singular for 1 ("1 year", "3 years")."""
    if not item.unit:
        return f"{value:g}"
    unit = item.unit[:-1] if value == 1 and item.unit.endswith("s") else item.unit
    return f"{value:g} {unit}"


def _spans(item: Item, levels: dict[str, Any]) -> list[tuple[float, float | None]]:
    """``[low, high)`` of every numeric level (``high`` None: no upper end); with ``zero``, the first two
    are exactly 0 and ``(0, edges[0])``."""
    edges = levels["edges"]
    if levels["zero"]:
        return [(0.0, 0.0), (0.0, edges[0]), *zip(edges, [*edges[1:], None], strict=True)]
    return list(zip([item.bounds[0], *edges], [*edges, None], strict=True))


def _level_labels(item: Item, levels: dict[str, Any]) -> list[str]:
    """Each level in words ("3 to 5 years", "Master's degree", "yes", "4 (Good)")."""
    if "order" in levels:
        return [item.answer_label(choice) for choice in levels["order"]]
    if item.kind == "binary":
        return ["no", "yes"]
    out = []
    for k, (low, high) in enumerate(_spans(item, levels)):
        if levels["zero"] and k == 0:
            out.append(_amount(0.0, item))
        elif levels["zero"] and k == 1:
            out.append(f"less than {_amount(high, item)}")
        elif item.kind == "number":
            out.append(
                f"{_amount(low, item)} or more" if high is None else f"{low:g} to {_amount(high, item)}"
            )
        else:  # whole answers: the level holds low .. high - 1
            last = item.bounds[1] if high is None else high - 1
            if last == low:
                out.append(item.answer_label(low) if item.kind == "scale" else _amount(low, item))
            else:
                out.append(f"{low:g} to {_amount(last, item)}")
    return out


def _noun(count: float, plural: str) -> str:
    """``count`` and a plural noun phrase, singular for 1 ("1 machine learning framework")."""
    singular = plural[:-1] if plural.endswith("s") else plural
    return f"{count:g} {singular if count == 1 else plural}"


def _fragment(item: Item, levels: dict[str, Any], level: int, share_more: float, share_same: float) -> str:
    """The words for the share of people with more than the person, after "Among <population>, "."""
    more = percent(share_more)
    top = level == level_count(levels) - 1
    topic = item.topic
    if item.kind == "binary":
        doing = _binary_words(item)
        return f"{percent(share_same)} also {doing}" if top else f"{more} {doing}, and you do not yet"
    if item.id == "education":
        return (
            "none have more formal education than you"
            if top
            else f"{more} have more formal education than you"
        )
    if item.kind == "choice":
        return (
            f"none are further along in {topic} than you"
            if top
            else f"{more} are further along in {topic} than you"
        )
    if item.kind == "count":
        if top:
            return f"none use more {topic} than you"
        return f"{more} use at least {_noun(_spans(item, levels)[level + 1][0], topic)}"
    if item.kind == "scale":
        return (
            f"none rate their {topic} skill higher than you"
            if top
            else f"{more} rate their {topic} skill higher than you"
        )
    return f"none have more {topic} than you" if top else f"{more} have more {topic} than you"


def _binary_words(item: Item) -> str:
    if item.id.startswith("uses_") or item.question is not None:  # a language, or a tool ticked
        return f"use {item.topic} regularly"
    topic = item.topic[0].lower() + item.topic[1:]
    return f"count {topic} as an important part of their work"


# ---------------------------------------------------------------------------------------------------
# one person


def standing(tables: ReadinessTables, answers: Mapping[str, Any]) -> Readiness:
    """Where the person with ``answers`` stands in each role (:class:`Readiness`).

    ``answers`` is a validated answer set (item id -> normalised answer, as
    :func:`rolefit.scoring.answers.validate_answers` returns); items readiness does not compare are
    ignored, and so are keys that are no item and skipped answers (None, "", NaN). Another spelling of
    an answer is normalised by its item, and an answer the item does not allow raises ValueError naming
    it. Everything but the look-ups (roles, gaps, words) is worked out on first use.
    """
    try:
        # every (item, answer) pair of the usual answers is a key: one pass of C-level look-ups, whose
        # entries are () for items readiness does not compare
        found = list(filter(None, map(tables.by_pair.__getitem__, answers.items())))
    except (KeyError, TypeError):  # a new spelling, a years value off the half-year grid, a skip
        found = _found_each(tables, answers)
    made = _new(Readiness)
    vars(made).update(found=found, tables=tables)
    return made


def standing_of(tables: ReadinessTables, found: list[tuple]) -> Readiness:
    """:func:`standing` from look-ups already made: the non-empty entries of the answers in their order
    (what :func:`rolefit.predict` reads off its levels: ``Level.ready``)."""
    made = _new(Readiness)
    vars(made).update(found=found, tables=tables)
    return made


#: predict_many's readiness columns, per role: how many gaps, and the most common
GAP_COLUMNS = tuple(f"readiness_{role}_{what}" for role in ROLES for what in ("gaps", "top_gap"))


def _found_each(tables: ReadinessTables, answers: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """:func:`standing`'s look-ups one answer at a time, normalising what the fast path did not know."""
    found = []
    for key, value in answers.items():
        compiled = tables.by_item.get(key)
        if compiled is None:
            continue
        common, item, levels, by_level = compiled
        try:
            entry = common.get(value)
        except TypeError:  # unhashable: never an answer, Item.coerce says why
            entry = None
        if entry is None:
            answer = item.coerce(value)  # raises ValueError naming the item and what is allowed
            if answer is None:
                continue
            entry = by_level[level_of(levels, answer)]
        found.append(entry)
    return found


# ---------------------------------------------------------------------------------------------------
# the bundle

_cache: dict[tuple[str, str], ReadinessTables] = {}
_lock = threading.Lock()


def load_readiness(bundle_dir: str | Path, manifest: dict[str, Any] | None = None) -> ReadinessTables | None:
    """The bundle's readiness tables, checked, or None when it has no ``readiness.json`` (bundles
    exported before readiness existed).

    ``manifest`` is the manifest the bundle was verified with (the loader passes it, so nothing is
    verified twice); without it the bundle is verified here. The file is checked against the manifest's
    checksum as read, and a file that is not valid readiness tables raises
    :class:`~rolefit.scoring.bundle.BundleError` naming it. Cached by folder and checksum:
    :func:`clear_cache` forgets.
    """
    directory = Path(bundle_dir)
    if manifest is None:
        manifest = verify_bundle(directory)
    digest = manifest["files"].get(READINESS)
    if digest is None:
        return None
    key = (str(directory), str(digest))
    tables = _cache.get(key)
    if tables is not None:
        return tables
    with _lock:
        tables = _cache.get(key)
        if tables is None:
            where = f"the model bundle at {directory}"
            data = parse_json(read_verified(directory, READINESS, manifest), READINESS, where)
            try:
                tables = ReadinessTables.from_dict(data)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise BundleError(
                    f"{READINESS} in {where} is malformed: {exc}. Refusing to use it."
                ) from None
            _cache[key] = tables
    return tables


def clear_cache() -> None:
    """Forget loaded readiness tables."""
    with _lock:
        _cache.clear()
