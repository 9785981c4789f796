"""Additive per-item contributions: the lookup tables that scoring needs (no scikit-learn, no pandas).

A fitted, calibrated candidate is *decomposed* into an :class:`AdditiveModel`: an intercept (the
calibrated log-odds of a person who skipped everything), for every item a lookup table from answer to
raw effect, and the calibration's scale, which depends only on *which* items were answered. A skipped
item has effect 0 by construction. Because both candidates are additive and the calibration is affine
in log-odds for a given set of answered items, the decomposition is exact:

    baseline_log_odds + sum(effects) == log_odds of the returned probability

Numeric items are stored as step functions: ``edges`` e_0 < ... < e_{m-1} and ``values`` v_0 ... v_m,
where v_k applies on (e_{k-1}, e_k] (so a value equal to an edge falls to its left, as in both the
step encoding ``1[x > t]`` and the trees' ``x <= threshold``). Choice items map each choice id to its
effect. The tables are plain floats, so scoring needs neither scikit-learn nor pandas.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from rolefit.model.conformal import Conformal

#: Largest log-odds one answer (or the baseline) may contribute. Real effects stay within a few units
#: (raw |effect| < 3 in both candidates, times a coverage scale of at most about 6); 10,000 is
#: certainty to within e^-10000, so anything larger is a broken or hostile file, and bounding every
#: term keeps every sum finite (two opposite effects of 1e308 would add up to NaN).
MAX_LOG_ODDS = 1e4


def _number(
    value: Any,
    what: str,
    low: float = -MAX_LOG_ODDS,
    high: float = MAX_LOG_ODDS,
    *,
    positive: bool = False,
    infinite: bool = False,
) -> float:
    """``value`` as a float within [low, high] (> low if ``positive``), or ValueError naming ``what``.

    Only JSON numbers count: ``float("nan")`` would accept the string "nan", and ``float(True)`` a
    boolean, so both are refused before converting. NaN is always refused; ±inf only if ``infinite``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an integer such as 10**400
        raise ValueError(f"{what} is too large to be a number") from None
    if math.isnan(number) or (math.isinf(number) and not infinite):
        raise ValueError(f"{what} is {number}, not a finite number")
    if math.isinf(number):
        return number
    if not low <= number <= high or (positive and number == low):
        bounds = f"({low:g}, {high:g}]" if positive else f"[{low:g}, {high:g}]"
        raise ValueError(f"{what} is {number:g}, outside {bounds}")
    return number


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _known(keys: Any, tables: dict[str, Any], what: str) -> None:
    unknown = sorted(str(k) for k in keys if k not in tables)
    if unknown:
        raise ValueError(f"{what} names items without a table: {', '.join(unknown[:5])}")


def _all_finite(value: Any, what: str) -> None:
    """Every leaf of a nested JSON structure of numbers is a finite number (iteratively)."""
    stack = [(value, what)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, f"{where}.{k}") for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{k}]") for k, v in enumerate(node))
        else:
            _number(node, where, -math.inf, math.inf)  # any finite value; Conformal checks the rest


def scaled_effect(raw, scale, offset, answered=1):
    """The effect of a scaled item: ``scale * raw + offset`` for each answered one.

    The one place this formula is written: :func:`rolefit.predict` calls it with floats,
    :func:`rolefit.predict_many` with numpy columns (``answered`` is then the 0/1 answered mask, so a
    skipped cell, whose ``raw`` is 0, gets no offset).
    """
    return scale * raw + offset * answered


def blend_weight(answered_real, n_real: int):
    """How far a real-block item's effect moves from *alone* to *with all answered*: 0 with one item of
    the block answered, 1 with all ``n_real`` (a count, or a numpy array of counts)."""
    if n_real <= 1:
        return 1.0 + 0.0 * answered_real
    weight = (answered_real - 1) / (n_real - 1)
    if isinstance(weight, (int, float)):
        return min(1.0, max(0.0, weight))
    return weight.clip(0.0, 1.0)


def blended_effect(alone, full, weight):
    """A real-block item's effect: from its effect ``alone`` toward ``full`` by ``weight`` (floats or
    numpy arrays)."""
    return alone + weight * (full - alone)


@dataclass(frozen=True)
class ItemTable:
    """One item's shape function: a step function (numeric kinds) or a choice map."""

    item: str
    edges: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    choices: dict[str, float] = field(default_factory=dict)

    def effect(self, answer: float | str) -> float:
        if self.choices:
            return self.choices[answer]  # type: ignore[index]
        return self.values[bisect_left(self.edges, answer)]  # type: ignore[arg-type]

    def scaled(self, factor: float) -> ItemTable:
        """The same shape function with every effect multiplied by ``factor``."""
        return ItemTable(
            item=self.item,
            edges=self.edges,
            values=tuple(factor * v for v in self.values),
            choices={k: factor * v for k, v in self.choices.items()},
        )

    def shifted(self, delta: float) -> ItemTable:
        """The same shape function with ``delta`` added to every effect."""
        return ItemTable(
            item=self.item,
            edges=self.edges,
            values=tuple(v + delta for v in self.values),
            choices={k: v + delta for k, v in self.choices.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": dict(self.choices)}
        return {"edges": list(self.edges), "values": list(self.values)}

    @classmethod
    def from_dict(cls, item: str, data: dict[str, Any]) -> ItemTable:
        """A table from a bundle, checked: finite effects, sorted edges, one more value than edges."""
        what = f"the scoring table of {item!r}"
        data = _mapping(data, what)
        if "choices" in data:
            choices = _mapping(data["choices"], f"{what} (choices)")
            if not choices:
                raise ValueError(f"{what} has no choices")
            return cls(
                item=item,
                choices={str(k): _number(v, f"the effect of {item!r}={k!r}") for k, v in choices.items()},
            )
        edges, values = data.get("edges"), data.get("values")
        if not isinstance(edges, list) or not isinstance(values, list):
            raise ValueError(f"{what} needs lists of edges and values, or a map of choices")
        # an edge may be infinite (a tree's last threshold is +inf) but never NaN: bisect needs an order
        edges_ = tuple(
            _number(e, f"edge {k} of {item!r}", -math.inf, math.inf, infinite=True)
            for k, e in enumerate(edges)
        )
        values_ = tuple(_number(v, f"the effect of {item!r} (values[{k}])") for k, v in enumerate(values))
        if len(values_) != len(edges_) + 1:
            raise ValueError(f"{what} has {len(values_)} values for {len(edges_)} edges (needs one more)")
        if list(edges_) != sorted(edges_):
            raise ValueError(f"{what} has edges out of order")
        return cls(item=item, edges=edges_, values=values_)


@dataclass(frozen=True)
class AdditiveModel:
    """Baseline, per-item lookup tables and the coverage-dependent scale, in log-odds toward MLE.

    For an answer set with answered items S, coverage ``c = sum(coverage[j] for j in S)`` and
    ``scale = a * (1 + kappa * (1 - c) ** gamma)`` (bundles written before ``gamma`` existed use
    ``a * (1 + kappa) / (c + kappa)``; ``a`` when ``kappa`` is None), the effect of item j is
    ``scale * tables[j](answer_j) + offsets[j]``, except for the ``fixed`` items (experience, goal),
    whose tables already hold their final effects, and the real block's items (``alone``), whose effect
    is ``alone[j] + w * (tables[j] - alone[j])`` with ``w`` from :meth:`blend`; the log-odds are
    ``intercept + sum(effects)``.
    """

    intercept: float
    tables: dict[str, ItemTable]
    coverage: dict[str, float]
    a: float = 1.0
    kappa: float | None = None
    gamma: float | None = None
    fixed: frozenset[str] = frozenset()
    offsets: dict[str, float] = field(default_factory=dict)
    conformal: Any = None  # rolefit.model.conformal.Conformal, set after conformal calibration
    #: MLE share of the reference population: ``intercept == logit(base_rate)`` (None: older bundles)
    base_rate: float | None = None
    #: per item, what backs its effect (:func:`rolefit.model.evidence.evidence_of`)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the real block's items: their effect when answered alone; ``tables`` holds it with all answered
    alone: dict[str, ItemTable] = field(default_factory=dict)
    #: how many items the blend counts over: the instrument's experience items, whichever of them real
    #: sources asked (None: the real block's own size, as bundles before issue #26 did)
    blend_items: int | None = None

    def blend(self, answered_real):
        """Weight of the all-answered effect when ``answered_real`` (a count, or a numpy array of counts)
        of the real block's items were answered (0: alone, 1: all of the instrument's experience items);
        see :class:`rolefit.model.evidence.RealEvidenceBlock`."""
        return blend_weight(answered_real, self.blend_items or len(self.alone))

    def scale(self, answered) -> float:
        return self.scale_at(sum(self.coverage[item] for item in answered))

    def scale_at(self, c):
        """The multiplier of the scaled items' effects at coverage ``c`` (a float or a numpy array)."""
        if self.kappa is None:
            return self.a + 0.0 * c
        # sums of equal weights can exceed 1 by a rounding error; (1 - c) ** gamma needs c <= 1
        c = min(c, 1.0) if isinstance(c, (int, float)) else c.clip(max=1.0)
        if self.gamma is None:
            return self.a * (1.0 + self.kappa) / (c + self.kappa)
        return self.a * (1.0 + self.kappa * (1.0 - c) ** self.gamma)

    def contributions(self, answers: dict[str, float | str]) -> dict[str, float]:
        """Effect of every answered item (skipped items are simply absent)."""
        scale = self.scale(answers)
        c = self.blend(sum(item in self.alone for item in answers))
        out = {}
        for item, value in answers.items():
            full = self.tables[item].effect(value)
            if item in self.alone:
                out[item] = blended_effect(self.alone[item].effect(value), full, c)
            elif item in self.fixed:
                out[item] = full
            else:
                out[item] = scaled_effect(full, scale, self.offsets.get(item, 0.0))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "a": self.a,
            "kappa": self.kappa,
            "gamma": self.gamma,
            "fixed": sorted(self.fixed),
            "offsets": dict(self.offsets),
            "coverage": dict(self.coverage),
            "conformal": self.conformal.to_dict() if self.conformal is not None else None,
            "base_rate": self.base_rate,
            "evidence": {item: dict(e) for item, e in self.evidence.items()},
            "alone": {item: table.to_dict() for item, table in self.alone.items()},
            **({"blend_items": self.blend_items} if self.blend_items is not None else {}),
            "tables": {item: table.to_dict() for item, table in self.tables.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdditiveModel:
        """The lookup tables of a bundle's ``scoring.json``, checked for sense.

        Raises ValueError naming the item or field at fault for anything but finite effects, baseline
        and offsets within :data:`MAX_LOG_ODDS` (scaled effects at their largest scale included),
        coverage weights in [0, 1] summing to at most 1, a scale with a > 0, kappa >= 0 and gamma > 0
        (the fitted exponentials), a base rate strictly between 0 and 1, and tables, weights and
        offsets that refer to the same items.
        """
        data = _mapping(data, "the scoring tables")
        if not isinstance(data.get("tables"), dict) or not data["tables"]:
            raise ValueError("the scoring tables have no item tables")
        tables = {str(item): ItemTable.from_dict(str(item), t) for item, t in data["tables"].items()}
        coverage = {
            str(k): _number(v, f"the coverage weight of {k!r}", 0.0, 1.0)
            for k, v in _mapping(data.get("coverage"), "the coverage weights").items()
        }
        _known(coverage, tables, "the coverage weights")
        missing = sorted(set(tables) - set(coverage))
        if missing:
            raise ValueError(f"the coverage weights miss items: {', '.join(missing[:5])}")
        if sum(coverage.values()) > 1.0 + 1e-6:
            raise ValueError(f"the coverage weights sum to {sum(coverage.values()):g}, more than 1")
        fixed = data.get("fixed", ())
        if not isinstance(fixed, list) or not all(isinstance(item, str) for item in fixed):
            raise ValueError("the fixed items must be a list of item ids")
        _known(fixed, tables, "the fixed items")
        offsets = {
            str(k): _number(v, f"the offset of {k!r}")
            for k, v in _mapping(data.get("offsets", {}), "the offsets").items()
        }
        _known(offsets, tables, "the offsets")
        alone = {
            str(item): ItemTable.from_dict(str(item), t)
            for item, t in _mapping(data.get("alone") or {}, "the answered-alone tables").items()
        }
        _known(alone, tables, "the answered-alone tables")
        evidence = {
            str(k): _evidence_record(v, str(k))
            for k, v in _mapping(data.get("evidence") or {}, "the evidence records").items()
        }
        _known(evidence, tables, "the evidence records")
        conformal = data.get("conformal")
        if conformal:
            _all_finite(_mapping(conformal, "the conformal thresholds"), "conformal")
            try:
                conformal = Conformal.from_dict(conformal)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise ValueError(f"the conformal thresholds are malformed ({type(exc).__name__})") from None
        # no fixed bound on a: a heavily regularised candidate has tiny raw effects and a large a; what
        # must stay bounded is their product, checked below
        a = _number(data.get("a"), "the scale a", 0.0, math.inf, positive=True)
        gamma = data.get("gamma")
        gamma = None if gamma is None else _number(gamma, "gamma", 0.0, math.inf, positive=True)
        kappa = data.get("kappa")
        # the older formula a * (1 + kappa) / (c + kappa) divides by kappa when nothing scaled is answered
        kappa = None if kappa is None else _number(kappa, "kappa", 0.0, math.inf, positive=gamma is None)
        worst = a if kappa is None else a * (1 + kappa) if gamma is not None else a * (1 + kappa) / kappa
        scaled = [t for item, t in tables.items() if item not in fixed and item not in alone]
        largest = max((abs(v) for t in scaled for v in (*t.values, *t.choices.values())), default=0.0)
        if not largest * worst <= MAX_LOG_ODDS:  # also refuses inf and NaN
            raise ValueError(
                f"the coverage scale (up to {worst:g}) times the largest scaled effect ({largest:g}) "
                f"exceeds {MAX_LOG_ODDS:g} log-odds"
            )
        base_rate = data.get("base_rate")
        blend_items = data.get("blend_items")
        if blend_items is not None and (
            isinstance(blend_items, bool) or not isinstance(blend_items, int) or blend_items < len(alone)
        ):
            raise ValueError(
                f"blend_items must be a whole number of at least {len(alone)} (the answered-alone tables), "
                f"not {blend_items!r:.40}"
            )
        return cls(
            blend_items=blend_items,
            conformal=conformal or None,
            intercept=_number(data.get("intercept"), "the baseline log-odds (intercept)"),
            tables=tables,
            coverage=coverage,
            a=a,
            kappa=kappa,
            gamma=gamma,
            fixed=frozenset(fixed),
            offsets=offsets,
            base_rate=None if base_rate is None else _base_rate(base_rate),
            evidence=evidence,
            alone=alone,
        )


def _base_rate(value: Any) -> float:
    rate = _number(value, "the base rate", 0.0, 1.0, positive=True)
    if rate == 1.0:
        raise ValueError("the base rate is 1; it must lie strictly between 0 and 1")
    return rate


def _evidence_record(data: Any, item: str = "an item") -> dict[str, Any]:
    """A validated evidence record from a bundle (basis, respondents, sources)."""
    if not isinstance(data, dict) or data.get("basis") not in ("real", "assumed"):
        raise ValueError(f"the evidence record of {item!r} needs a basis of 'real' or 'assumed'")
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise ValueError(f"the evidence sources of {item!r} must be a JSON object")

    def count(value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{what} must be a whole number, not {value!r:.40}")
        return value

    out = {
        "basis": str(data["basis"]),
        "respondents": count(data.get("respondents", 0), f"the respondent count of {item!r}"),
        "sources": {
            str(k): count(v, f"the respondent count of {item!r} from {k!r}") for k, v in sources.items()
        },
    }
    if "real_share" in data:
        out["real_share"] = _number(data["real_share"], f"the real share of {item!r}", 0.0, 1.0)
    return out
