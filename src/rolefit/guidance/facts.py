"""The two roles explained beside the result, and kind words where the answers match a common mistake.

``role_facts.yaml`` (packaged with rolefit, a copy of ``../shared/data/role_facts.yaml``) holds facts about
both roles from two 2026 career guides: one publisher's view each, not measured data. It is validated by
a strict schema when first loaded (:func:`load_role_facts`): unknown keys are refused, every source has
a year, and every ``source`` a fact group names is one of the file's ``sources``. A group that names no
source of its own is attributed to all of them (the file's header: the facts come from both guides), so
every fact carries its sources, with title and year.

:func:`common_mistakes` compares a person's answers with the "common mistakes" both guides warn about
(see :data:`MISTAKE_RULES` for each condition and why) and says so kindly; it never changes the result.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rolefit.errors import RolefitError
from rolefit.guidance.words import (
    MIN_EFFECT,
    POINTS,
    ROLE_SHORT,
    answers_needed,
    in_sentence,
    scale_point,
    with_article,
)
from rolefit.instrument.items import load_instrument
from rolefit.model.conformal import ROLES

FACTS_FILE = "role_facts.yaml"


class RoleFactsError(RolefitError, ValueError):
    """The role facts file does not match its schema; the message names every problem."""


# -- the schema ---------------------------------------------------------------------------------------


#: text: a non-empty string
_Text = Annotated[str, Field(min_length=1)]
_Items = Annotated[list[_Text], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceSpec(_Strict):
    title: _Text | None
    kind: _Text
    year: int = Field(ge=1900, le=2100)


class RangeSpec(_Strict):
    low: float = Field(ge=0)
    high: float = Field(ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) is above high ({self.high:g})")
        return self


class SalarySpec(_Strict):
    india_lpa: RangeSpec | None = None
    usa_base_usd: RangeSpec | None = None
    usa_mid_level_total_comp_usd: RangeSpec | None = None
    source: str | None = None


class MarketSpec(_Strict):
    job_volume: _Text
    entry_barrier: _Text
    automation_risk: _Text
    remote_work: _Text
    specialisation: _Text
    career_switching: _Text
    salary_growth: _Text
    learning_curve: _Text
    best_for: _Text
    outlook: _Text


class RoleSpec(_Strict):
    name: _Text
    builds: _Text
    daily_work: _Items
    core_skills: _Items
    typical_tools: _Items
    growth_path: _Items
    long_term_goals: _Items
    interview_focus: _Text
    market: MarketSpec
    salary: SalarySpec
    source: str | None = None


class RolesSpec(_Strict):
    swe: RoleSpec
    mle: RoleSpec


class MistakeSpec(_Strict):
    id: _Text
    text: _Text


class ScenarioSpec(_Strict):
    if_: _Text = Field(alias="if")
    points_to: Literal["swe", "mle"]


class HiredFasterSpec(_Strict):
    swe: _Text
    mle: _Text


class AdviceSpec(_Strict):
    common_mistakes: list[MistakeSpec] = Field(min_length=1)
    beginners: _Text
    swe_to_mle: _Text
    hired_faster: HiredFasterSpec
    scenarios: list[ScenarioSpec] = Field(default_factory=list)
    source: str | None = None

    @field_validator("common_mistakes")
    @classmethod
    def _unique(cls, mistakes: list[MistakeSpec]) -> list[MistakeSpec]:
        ids = [m.id for m in mistakes]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"mistake ids repeat: {', '.join(repeated)}")
        return mistakes


class FactsFileSpec(_Strict):
    """The whole file."""

    sources: dict[str, SourceSpec] = Field(min_length=1)
    roles: RolesSpec
    advice: AdviceSpec

    @model_validator(mode="after")
    def _sources_exist(self) -> FactsFileSpec:
        named = {f"roles.{r}.source": getattr(self.roles, r).source for r in ROLES}
        named |= {f"roles.{r}.salary.source": getattr(self.roles, r).salary.source for r in ROLES}
        named["advice.source"] = self.advice.source
        unknown = [
            f"{where} names {source!r}, which is not one of the sources ({', '.join(sorted(self.sources))})"
            for where, source in named.items()
            if source is not None and source not in self.sources
        ]
        if unknown:
            raise ValueError("; ".join(unknown))
        return self


# -- typed facts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where facts come from: a publication, its kind and year."""

    id: str
    title: _Text | None
    kind: str
    year: int

    @property
    def label(self) -> str:
        """E.g. '"ML Engineers vs ..." (career blog post of an online learning platform, 2026)'."""
        if self.title:
            return f'"{self.title}" ({self.kind}, {self.year})'
        return f"an untitled {self.kind} ({self.year})"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "kind": self.kind, "year": self.year, "label": self.label}


@dataclass(frozen=True)
class Fact:
    """One group of facts about a role (``topic``), ready to show: ``lines`` of text, the ``value`` as the
    file gives it, and its ``sources``."""

    role: str
    topic: str
    heading: str
    lines: tuple[str, ...]
    value: Any
    sources: tuple[Source, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "topic": self.topic,
            "heading": self.heading,
            "lines": list(self.lines),
            "value": _plain(self.value),
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class RoleFacts:
    """Everything the file says about one role."""

    role: str
    name: str
    facts: tuple[Fact, ...]

    def fact(self, topic: str) -> Fact:
        return next(f for f in self.facts if f.topic == topic)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "name": self.name,
            "short_name": ROLE_SHORT[self.role],
            "notice": NOTICE,
            "facts": [f.to_dict() for f in self.facts],
        }


#: shown with the facts: what they are and are not (the file's header in one sentence)
NOTICE = (
    "Facts from two 2026 career guides, each one publisher's view rather than measured data; "
    "they describe the roles and play no part in your result."
)


@dataclass(frozen=True)
class Mistake:
    """Kind words for a person whose answers match a common mistake the guides warn about."""

    id: str
    text: str
    advice: str
    sources: tuple[Source, ...]

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "advice": self.advice,
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class LoadedFacts:
    """The validated file: its sources, the facts of each role, general and mistake advice."""

    sources: dict[str, Source]
    roles: dict[str, RoleFacts]
    mistakes: dict[str, str]
    advice: dict[str, str]
    advice_sources: tuple[Source, ...]


_HEADINGS = {
    "builds": "What it builds",
    "daily_work": "Daily work",
    "core_skills": "Core skills",
    "typical_tools": "Typical tools",
    "growth_path": "Growth path",
    "long_term_goals": "Long-term goals",
    "interview_focus": "Interviews focus on",
    "market": "The job market",
    "salary": "Salary ranges, as published",
    "hired_faster": "What gets you hired faster",
    "swe_to_mle": "Coming from software engineering",
}
_SALARY_LABELS = {
    "india_lpa": ("India", "{low:g}–{high:g} LPA"),
    "usa_base_usd": ("USA, base salary", "${low:,.0f}–${high:,.0f}"),
    "usa_mid_level_total_comp_usd": ("USA, mid-level total compensation", "${low:,.0f}–${high:,.0f}"),
}


def parse_role_facts(text: str, where: str = FACTS_FILE) -> LoadedFacts:
    """Validate the YAML ``text`` of a role facts file and build the typed facts.

    Raises :class:`RoleFactsError` naming every problem (``where`` names the file in the message).
    """
    import yaml

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoleFactsError(f"{where} is not valid YAML: {exc}") from None
    try:
        spec = FactsFileSpec.model_validate(raw)
    except ValidationError as exc:
        raise RoleFactsError(f"{where} does not match the role facts schema: {_problems(exc)}") from None
    sources = {
        key: Source(id=key, title=s.title, kind=s.kind, year=s.year) for key, s in spec.sources.items()
    }
    every = tuple(sources.values())

    def named(source: str | None, default: tuple[Source, ...]) -> tuple[Source, ...]:
        return default if source is None else (sources[source],)

    advice_sources = named(spec.advice.source, every)
    roles = {}
    for role in ROLES:
        data: RoleSpec = getattr(spec.roles, role)
        own = named(data.source, every)
        facts = []
        for topic in ("builds", "daily_work", "core_skills", "typical_tools", "growth_path",
                      "long_term_goals", "interview_focus", "market", "salary"):  # fmt: skip
            value = getattr(data, topic)
            facts.append(
                Fact(
                    role=role,
                    topic=topic,
                    heading=_HEADINGS[topic],
                    lines=_lines(topic, value),
                    value=_frozen(
                        value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value
                    ),
                    sources=named(data.salary.source, own) if topic == "salary" else own,
                )
            )
        hired = getattr(spec.advice.hired_faster, role)
        facts.append(Fact(role, "hired_faster", _HEADINGS["hired_faster"], (hired,), hired, advice_sources))
        if role == "mle":
            move = spec.advice.swe_to_mle
            facts.append(Fact(role, "swe_to_mle", _HEADINGS["swe_to_mle"], (move,), move, advice_sources))
        roles[role] = RoleFacts(role=role, name=data.name, facts=tuple(facts))
    return LoadedFacts(
        sources=sources,
        roles=roles,
        mistakes={m.id: m.text for m in spec.advice.common_mistakes},
        advice={"beginners": spec.advice.beginners, "swe_to_mle": spec.advice.swe_to_mle},
        advice_sources=advice_sources,
    )


def _frozen(value: Any) -> Any:
    """Lists as tuples (a cached fact is shared by every caller); :func:`_plain` undoes it."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    """A JSON-ready copy: tuples as lists, dictionaries copied."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _problems(exc: ValidationError) -> str:
    out = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            text = "unknown key (the schema does not allow it)"
        elif error["type"] == "missing":
            text = "missing"
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {text}" if where else text)
    return "; ".join(out)


def _lines(topic: str, value: Any) -> tuple[str, ...]:
    """A fact group as lines of text."""
    if isinstance(value, str):
        return (value[0].upper() + value[1:],)
    if topic == "growth_path":
        return (" → ".join(value),)
    if isinstance(value, list):
        return tuple(v[0].upper() + v[1:] for v in value)
    if isinstance(value, MarketSpec):
        return tuple(f"{key.replace('_', ' ').capitalize()}: {text}" for key, text in value)
    if isinstance(value, SalarySpec):
        lines = []
        for key, (label, form) in _SALARY_LABELS.items():
            band: RangeSpec | None = getattr(value, key)
            if band is not None:
                note = f" ({band.note})" if band.note else ""
                lines.append(f"{label}: {form.format(low=band.low, high=band.high)}{note}")
        return tuple(lines)
    raise TypeError(f"no lines for {topic}")  # pragma: no cover - every topic is handled above


@lru_cache(maxsize=1)
def load_role_facts() -> LoadedFacts:
    """The facts packaged with rolefit, validated (cached)."""
    text = resources.files("rolefit.guidance").joinpath(FACTS_FILE).read_text(encoding="utf-8")
    return parse_role_facts(text, f"the packaged {FACTS_FILE}")


def role_facts(role: str | None = None, *, both: bool = False) -> tuple[RoleFacts, ...]:
    """The facts of ``role`` ("swe" or "mle"), or of both roles (``role`` None: SWE then MLE).

    The fitting role first, both on request: ``role_facts(p.role)`` gives the fitting role's facts,
    ``role_facts(p.role, both=True)`` adds the other role's after them.
    """
    facts = load_role_facts().roles
    if role is None:
        return tuple(facts[r] for r in ROLES)
    if role not in facts:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not both:
        return (facts[role],)
    return (facts[role], *(facts[r] for r in ROLES if r != role))


# -- common mistakes ----------------------------------------------------------------------------------

#: The maths and data interests whose pull away from MLE makes "for the pay alone" worth a word.
MATHS_AND_DATA = ("interest_math", "interest_data_patterns")
#: Fundamentals per role (advice: "skipping fundamentals — algorithms for SWE, maths for MLE").
FUNDAMENTALS = {"swe": ("skill_dsa",), "mle": ("skill_statistics", "skill_linear_algebra")}
#: ML projects: any of these answered "yes" counts as building, not only learning.
ML_PROJECTS = ("activity_ml_prototypes", "activity_ml_experiments", "activity_ml_service")

#: When each common mistake is mentioned, and why (the guides' words are in the facts file):
MISTAKE_RULES = {
    "salary_only": (
        "the goal (an MLE-leaning choice) or the wish for a specialised, highly paid niche (agree or "
        "strongly agree) points to MLE, while no maths or data interest is rated 'quite a bit' or more and "
        "either their effects together point to SWE by at least MIN_EFFECT or everything the person "
        "enjoys points to SWE (the interests group, at least 'points to')"
    ),
    "skip_fundamentals": (
        "the person heads for a role (an SWE or MLE goal; else a clear or leaning result with enough "
        "answers) and rates its fundamentals Beginner or Basic: algorithms for SWE, statistics or linear "
        "algebra for MLE"
    ),
    "no_projects": (
        "machine learning algorithms rated Intermediate or better, while every answered ML project "
        "activity (prototypes, experiments, a service) is answered no"
    ),
    "beginners": (
        "less than a year of writing code while heading for MLE: both guides suggest software "
        "fundamentals first"
    ),
    # switch_too_early is never mentioned: the answers do not say whether someone is switching tracks
}


def common_mistakes(
    prediction_or_answers: Any,
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
) -> list[Mistake]:
    """Kind words for each common mistake (:data:`MISTAKE_RULES`) the person's answers match.

    Takes a :class:`rolefit.Prediction` (made with ``model``) or an answer mapping (predicted here).
    """
    from rolefit.guidance.groups import group_subtotals
    from rolefit.scoring.predictor import Prediction, predict

    if isinstance(prediction_or_answers, Prediction):
        p = prediction_or_answers
    elif isinstance(prediction_or_answers, Mapping):
        p = predict(prediction_or_answers, model=model, base_rate=base_rate)
    else:
        raise TypeError("common_mistakes needs a rolefit.Prediction or a mapping of answers")
    answers = p.answers
    if not answers:
        return []
    loaded = load_role_facts()
    instrument = load_instrument()
    effects = {e["item"]: e["effect"] for e in p.explanations}
    interests = next(g for g in group_subtotals(p) if g.group == "interests")
    goal = answers.get("career_goal")
    goal_role = None
    if goal is not None:
        lean = next(c.lean for c in instrument["career_goal"].choices if c.id == goal)
        goal_role = lean if lean in ROLES else None
    aim = goal_role
    if aim is None and p.verdict in ("clear", "leaning") and not answers_needed(p, model=model):
        aim = p.role
    found: list[tuple[str, str]] = []

    # choosing MLE for the pay alone
    niche = answers.get("pref_niche_specialization", 0) >= 4
    if goal_role == "mle" or niche:
        rated = [item for item in MATHS_AND_DATA if item in answers]
        loved = any(answers[item] >= 4 for item in rated)
        maths_away = bool(rated) and math.fsum(effects[i] for i in rated) <= -MIN_EFFECT
        enjoy_away = interests.subtotal <= -POINTS
        if not loved and (maths_away or enjoy_away):
            pulls = []
            if goal_role == "mle":
                label = instrument["career_goal"].answer_label(goal)
                pulls.append(f"your goal of becoming {with_article(label)}")
            if niche:
                pulls.append("your wish for a specialised, highly paid niche")
            away = (
                "your answers on mathematics and on finding patterns in data point the other way"
                if maths_away
                else "what you enjoy points to SWE"
            )
            pull = " and ".join(pulls)
            found.append(
                (
                    "salary_only",
                    f"{pull[0].upper()}{pull[1:]} {'point' if len(pulls) > 1 else 'points'} to MLE, "
                    f"while {away}. That is worth a "
                    "pause: both guides note that people who choose MLE mainly for the pay often leave "
                    "because of the maths. A small data or maths project could show you whether you "
                    "enjoy that side of the work.",
                )
            )

    # skipping fundamentals
    if aim is not None:
        weak = [item for item in FUNDAMENTALS[aim] if item in answers and answers[item] <= 2]
        if weak:
            ratings = " and ".join(
                f"your {in_sentence(instrument[i].text)} as {scale_point(instrument[i], answers[i])}"
                for i in weak
            )
            what = "algorithms" if aim == "swe" else "the maths"
            found.append(
                (
                    "skip_fundamentals",
                    f"You are heading toward {ROLE_SHORT[aim]} and rate {ratings}. Both guides advise "
                    f"not to skip the fundamentals — for {ROLE_SHORT[aim]} that is {what} — so "
                    "building them early pays off.",
                )
            )

    # learning theory without building projects
    theory = answers.get("skill_ml_algorithms", 0) >= 3
    projects = [item for item in ML_PROJECTS if item in answers]
    if theory and projects and not any(answers[item] for item in projects):
        found.append(
            (
                "no_projects",
                "You rate your knowledge of machine learning algorithms as "
                f"{scale_point(instrument['skill_ml_algorithms'], answers['skill_ml_algorithms'])}, but "
                "building ML prototypes, experiments or services is not yet part of your work or projects. "
                "Both guides warn against learning theory without building projects: a small project of "
                "your own, end to end, is a good next step.",
            )
        )

    # starting with ML before programming
    if "years_coding" in answers and answers["years_coding"] < 1 and aim == "mle":
        found.append(
            (
                "beginners",
                "You are new to writing code and heading toward MLE. Both guides suggest starting from "
                "software fundamentals (programming, algorithms, system design): moving into ML later is "
                "easier than starting with ML without programming.",
            )
        )

    # only what the facts file itself warns about is mentioned, in its words beside ours
    said = {**loaded.advice, **loaded.mistakes}
    return [
        Mistake(id=key, text=text, advice=said[key], sources=loaded.advice_sources)
        for key, text in found
        if key in said
    ]
