r"""The fit and how sure it is: every effect's uncertainty, and the probability integrated over it.

The fit (:class:`FitModel`) is an additive model over the fit items only (``part: fit`` in the
questionnaire) whose starting point is even: before any answer neither role is favoured (``start`` is
0 log-odds; a caller's ``base_rate`` moves it to ``logit(base_rate)``). Every effect carries an
uncertainty (:class:`ItemUncertainty`):

* an effect assumed from the synthetic prior (no real source measured its item) has a stated
  *relative* prior width ``w`` of its group (interests, skills, preferences, goal; ``train.fit.widths``
  in params.yaml): its standard deviation is ``w * |effect|``;
* an effect learned from real respondents has its bootstrap standard deviation per answer level.

With :math:`\mu` the sum of the answered items' effects and :math:`s^2` the sum of their variances
(the effects taken as independent), the fit's probability is the logistic-normal integral in the probit
approximation (MacKay 1992):

.. math:: p = \sigma(\text{start} + k\,\mu), \qquad k = 1 / \sqrt{1 + \pi s^2 / 8}

so a fit resting only on assumptions is less sure than the same strength of real evidence. The reasons
report ``k * effect``: ``baseline + sum(effects) == log_odds`` and ``sigmoid(log_odds) == p`` stay
exact. Nothing here imports numpy, scikit-learn or pandas: :func:`rolefit.predict` reads it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from typing import Any

from rolefit.model.tables import AdditiveModel, ItemTable, _mapping, _number

#: Where the fit starts, in log-odds toward MLE: even (50/50), before any answer.
FIT_START = 0.0
#: The MLE share of the fit's starting point (``sigmoid(FIT_START)``): the fit is trained on rows
#: reweighted to it, so its effects say how an answer moves an even start.
FIT_BASE_RATE = 0.5
#: The relative prior width of an assumed effect, per group (sd = width * |effect|); the defaults of
#: ``train.fit.widths`` (params.yaml holds the same numbers, a test keeps them equal) and the widths a
#: bundle from before the fit is rebuilt with. How they were chosen: params.yaml, ``train.fit``.
ASSUMED_WIDTHS = {"interests": 0.9, "skills": 1.0, "preferences": 1.15, "goal": 0.95}
#: Largest relative width or standard deviation a bundle may state (a width of 10 already makes an
#: effect's sign a coin flip; larger is a broken file).
MAX_WIDTH = 10.0
RELATIVE = "relative"
SD = "sd"


def certainty_factor(variance: float) -> float:
    """``k = 1 / sqrt(1 + pi * variance / 8)``: how far integrating over the effects' uncertainty
    shrinks their sum (the probit approximation of the logistic-normal integral)."""
    return 1.0 / math.sqrt(1.0 + math.pi * variance / 8.0)


@dataclass(frozen=True)
class ItemUncertainty:
    """One item's effect uncertainty: a relative ``width`` (assumed) or standard deviations ``sd`` per
    level of its table (real: a list aligned with the table's ``values``, or a map of choices), and
    ``sd_alone`` likewise for a real-block item's answered-alone table."""

    kind: str
    width: float = 0.0
    sd: tuple[float, ...] | dict[str, float] = ()
    sd_alone: tuple[float, ...] | dict[str, float] = ()

    def standard_deviation(
        self,
        effect: float,
        answer: Any,
        table: ItemTable,
        alone: ItemTable | None = None,
        weight: float = 1.0,
    ) -> float:
        """The sd of an answer's final ``effect`` (``weight``: the real block's blend weight)."""
        if self.kind == RELATIVE:
            return self.width * abs(effect)
        full = level_sd(self.sd, table, answer)
        if alone is None or not self.sd_alone:
            return full
        single = level_sd(self.sd_alone, alone, answer)
        return single + weight * (full - single)

    def to_dict(self) -> dict[str, Any]:
        if self.kind == RELATIVE:
            return {"kind": RELATIVE, "width": self.width}
        out: dict[str, Any] = {"kind": SD, "sd": _plain(self.sd)}
        if self.sd_alone:
            out["sd_alone"] = _plain(self.sd_alone)
        return out

    @classmethod
    def from_dict(cls, item: str, data: Any, table: ItemTable, alone: ItemTable | None) -> ItemUncertainty:
        """Checked: a known kind, a width in [0, :data:`MAX_WIDTH`], or one sd per level of the table."""
        data = _mapping(data, f"the uncertainty of {item!r}")
        kind = data.get("kind")
        if kind == RELATIVE:
            return cls(
                kind=RELATIVE, width=_number(data.get("width"), f"the width of {item!r}", 0.0, MAX_WIDTH)
            )
        if kind != SD:
            raise ValueError(f"the uncertainty of {item!r} needs a kind of {RELATIVE!r} or {SD!r}")
        sd = _levels(data.get("sd"), table, f"the standard deviations of {item!r}")
        sd_alone: tuple[float, ...] | dict[str, float] = ()
        if data.get("sd_alone") is not None:
            if alone is None:
                raise ValueError(
                    f"{item!r} has answered-alone standard deviations but no answered-alone table"
                )
            sd_alone = _levels(data["sd_alone"], alone, f"the answered-alone standard deviations of {item!r}")
        return cls(kind=SD, sd=sd, sd_alone=sd_alone)


def _plain(levels: tuple[float, ...] | dict[str, float]) -> list[float] | dict[str, float]:
    return dict(levels) if isinstance(levels, dict) else list(levels)


def level_sd(levels: tuple[float, ...] | dict[str, float], table: ItemTable, answer: Any) -> float:
    """The sd of ``answer``'s level of ``table`` from per-level ``levels``."""
    if isinstance(levels, dict):
        return levels[answer]
    return levels[bisect_left(table.edges, answer)]


def _levels(data: Any, table: ItemTable, what: str) -> tuple[float, ...] | dict[str, float]:
    """One sd per level of ``table`` (a list for a step function, a map for a choice table)."""
    if table.choices:
        data = _mapping(data, what)
        if set(data) != set(table.choices):
            raise ValueError(f"{what} must name exactly the table's choices")
        return {str(k): _number(v, f"{what} ({k})", 0.0, MAX_WIDTH) for k, v in data.items()}
    if not isinstance(data, list) or len(data) != len(table.values):
        raise ValueError(f"{what} must be a list of one number per table level ({len(table.values)})")
    return tuple(_number(v, f"{what}[{k}]", 0.0, MAX_WIDTH) for k, v in enumerate(data))


@dataclass(frozen=True)
class FitModel:
    """The fit: lookup tables over the fit items (``additive``, intercept ``start``), every effect's
    uncertainty, and where it came from.

    ``rebuilt_from`` is None for a fit trained as such (``fit.json``); for a bundle exported before the
    fit existed it says what the fit was rebuilt from (:meth:`rebuilt`).
    """

    additive: AdditiveModel
    uncertainty: dict[str, ItemUncertainty]
    start: float = FIT_START
    rebuilt_from: str | None = None
    #: the relative widths per group it was built with (for the record; each item's is in uncertainty)
    widths: dict[str, float] = field(default_factory=dict)

    def effects(self, answers: dict[str, float | str]) -> dict[str, tuple[float, float]]:
        """``(effect, variance)`` of every answered fit item of normalised ``answers`` (others ignored)."""
        additive = self.additive
        mine = {item: value for item, value in answers.items() if item in additive.tables}
        effects = additive.contributions(mine)
        weight = additive.blend(sum(item in additive.alone for item in mine))
        out = {}
        for item, effect in effects.items():
            sd = self.uncertainty[item].standard_deviation(
                effect, mine[item], additive.tables[item], additive.alone.get(item), weight
            )
            out[item] = (effect, sd * sd)
        return out

    def starting_log_odds(self, base_rate: float | None = None) -> float:
        """The start: even, or ``logit(base_rate)`` for a caller's population."""
        if base_rate is None:
            return self.start
        return (
            self.start
            + math.log(base_rate / (1.0 - base_rate))
            - math.log(FIT_BASE_RATE / (1 - FIT_BASE_RATE))
        )

    def log_odds(
        self, answers: dict[str, float | str], base_rate: float | None = None
    ) -> tuple[float, float, dict[str, float]]:
        """``(log_odds, factor k, reported effects k * effect)`` of normalised ``answers``; the
        probability is ``sigmoid(log_odds)`` (the reference implementation of the formula)."""
        found = self.effects(answers)
        k = certainty_factor(math.fsum(v for _, v in found.values()))
        reported = {item: k * effect for item, (effect, _) in found.items()}
        return self.starting_log_odds(base_rate) + math.fsum(reported.values()), k, reported

    def to_dict(self) -> dict[str, Any]:
        """``fit.json``: the tables as in ``scoring.json``, plus ``uncertainty``, ``start`` and ``widths``."""
        return {
            **self.additive.to_dict(),
            "start": self.start,
            "widths": dict(self.widths),
            "uncertainty": {item: u.to_dict() for item, u in self.uncertainty.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitModel:
        """A bundle's ``fit.json``, checked for sense (:meth:`AdditiveModel.from_dict` for the tables;
        every item's uncertainty; the start equal to the tables' intercept)."""
        data = _mapping(data, "the fit")
        additive = AdditiveModel.from_dict(data)
        start = _number(data.get("start"), "the fit's start")
        if start != additive.intercept:
            raise ValueError(
                f"the fit's start ({start:g}) is not its tables' intercept ({additive.intercept:g})"
            )
        raw = _mapping(data.get("uncertainty"), "the fit's uncertainty")
        if set(raw) != set(additive.tables):
            raise ValueError("the fit's uncertainty must name exactly the items of its tables")
        uncertainty = {
            str(item): ItemUncertainty.from_dict(
                str(item), u, additive.tables[item], additive.alone.get(item)
            )
            for item, u in raw.items()
        }
        widths = {
            str(k): _number(v, f"the width of {k!r}", 0.0, MAX_WIDTH)
            for k, v in _mapping(data.get("widths") or {}, "the fit's widths").items()
        }
        return cls(additive=additive, uncertainty=uncertainty, start=start, widths=widths)

    @classmethod
    def rebuilt(
        cls, full: AdditiveModel, instrument, widths: dict[str, float] | None = None, version: str = ""
    ) -> FitModel:
        """The fit of a bundle exported before ``fit.json`` existed, rebuilt from its ``scoring.json``.

        The fit items' tables of that model (its synthetic block's; a fit item measured on real people
        would keep its real effect, with no sd recorded it gets its group's width) with an even start,
        the model's coverage scale restricted to the fit items (so the effects are those of someone who
        answered only fit items), the assumed widths (:data:`ASSUMED_WIDTHS`) and the model's conformal
        rules (no held-out data travels with a bundle to derive the fit's own).
        """
        widths = dict(ASSUMED_WIDTHS if widths is None else widths)
        fit_ids = [item for item in instrument.fit_ids if item in full.tables]
        additive = AdditiveModel(
            intercept=FIT_START,
            tables={item: full.tables[item] for item in fit_ids},
            coverage={item: full.coverage.get(item, 0.0) for item in fit_ids},
            a=full.a,
            kappa=full.kappa,
            gamma=full.gamma,
            fixed=frozenset(full.fixed) & frozenset(fit_ids),
            offsets={item: v for item, v in full.offsets.items() if item in fit_ids},
            conformal=full.conformal,
            base_rate=FIT_BASE_RATE,
            evidence={item: e for item, e in full.evidence.items() if item in fit_ids},
            alone={item: t for item, t in full.alone.items() if item in fit_ids},
        )
        uncertainty = {
            item: ItemUncertainty(kind=RELATIVE, width=widths[instrument[item].group]) for item in fit_ids
        }
        return cls(
            additive=additive,
            uncertainty=uncertainty,
            start=FIT_START,
            rebuilt_from=f"the tables of model {version or 'unknown'} (exported before the fit existed)",
            widths=widths,
        )

    def with_uncertainty(self, changes: dict[str, ItemUncertainty]) -> FitModel:
        """The same fit with some items' uncertainty replaced."""
        return replace(self, uncertainty={**self.uncertainty, **changes})


def relative_widths(instrument, items, widths: dict[str, float]) -> dict[str, ItemUncertainty]:
    """Every item's relative width: its group's in ``widths``."""
    return {item: ItemUncertainty(kind=RELATIVE, width=widths[instrument[item].group]) for item in items}
