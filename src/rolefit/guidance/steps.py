"""Next steps toward each role: the person's readiness gaps merged with the career guides' path.

:func:`next_steps` gives, per role, a short ordered list of things to do, each an action in plain words
with what stands behind it: a **gap** step the share of real people working in the role who have more
than the person (readiness, :mod:`rolefit.scoring.readiness`: Kaggle ML & DS Survey 2021 respondents
today), a **guide** step the career guides' advice (``role_facts.yaml``: fundamentals first, then
projects; the common mistakes). The fitting role's steps come first (``first``); the other role's are
offered beside them. Nothing here asks the model anything: no step is chosen or ranked because it would
move a probability (:func:`what_if` is the separate tool for exploring that).

Hard rules, each checked by the tests for every persona:

* a step is always about an item the person **answered** (an unanswered item is never a step: we do
  not know where the person stands on it), and asks for **more than the answer**: a skill above its
  rating, a yes/no item answered no, years or a count above the number given;
* interests and preferences are never steps (advice does not tell people what to enjoy or want), nor
  is the career goal (changing one's goal is a decision, not a step), nor education (a degree takes
  years; its standing is shown with readiness, not turned into a step).

**Gap steps.** Every readiness gap of the role (at least half of the people in it have more than the
person), the most common first, except the items :data:`OFF_PATH` leaves off that role's path. The
action names a realistic next level: a yes/no item "start"; a count one more (the level the gap's share
refers to: "83% use at least 2 frameworks"); years the **middle level of the role's people** (the band
the median person is in, e.g. "1 to 2 years" of machine learning for ML engineers), or the next band
if that is the person's own; a path skill one point up. ``why`` gives the share with its population
and source.

**Guide steps** (:func:`_guide_steps`), only where the person's own answers call for them:

* fundamentals (the guides: "skipping fundamentals — algorithms for SWE, maths for MLE" is a common
  mistake): SWE data structures and algorithms, then writing clean code (the guides' "programming");
  MLE statistics and probability, then linear algebra — each only when answered **below a solid
  level**, :data:`SOLID` = 4 of 5 ("Advanced"): Intermediate is not yet the foundation the guides ask
  for, and nothing is suggested to someone who rates a fundamental Advanced or Expert. For MLE also the
  guides' advice to beginners: someone with less than a year of coding starts with programming;
* a framework (MLE; the guides' "add ... a framework (PyTorch or TensorFlow)"), when the number of
  machine learning frameworks was answered 0;
* projects (the common mistake "learning theory without building projects"): MLE building a machine
  learning prototype (or, if that was not asked, experiments or a service), when every answered ML
  project activity is no; SWE a real project end to end, about web development (else databases and
  APIs), when every answered one of the two is below :data:`SOLID` — someone rated Advanced already
  builds things.

A gap and a guide step about the same item are one step: the gap's (it is measured).

**Which steps, and in what order.** At most :data:`MAX_STEPS` per role. They are *chosen* in this
priority: the guides' fundamentals, then the gaps (most common first), then the other guide steps;
and *ordered* along the guides' path, :data:`PHASES`: fundamentals, then tools (languages, frameworks,
path skills), then projects (activities), then experience (years, which grow while doing the rest);
within a phase, gaps before guide steps, the most common gap first, then questionnaire order. So the
order is deterministic, the guides' "fundamentals first, then projects" holds, and what most people in
the role have is never crowded out by advice.

``plan`` is the guides' timing advice in a sentence (give a path 6–12 months before switching), not a
step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rolefit.guidance.words import scale_point
from rolefit.instrument.items import Item, load_instrument
from rolefit.model.conformal import ROLES
from rolefit.scoring.answers import InvalidAnswers
from rolefit.scoring.predictor import Prediction, predict

#: At most this many steps per role: a short list people can act on.
MAX_STEPS = 5
#: A skill rating at or above this (4 of 5, "Advanced") is solid: no guide step asks for more.
SOLID = 4
#: The guides' path, in order; every step belongs to one phase (:func:`_phase`).
PHASES = ("fundamentals", "tools", "projects", "experience")
#: Never steps, whatever readiness says (see the module's docstring): a degree takes years.
NOT_STEPS = frozenset({"education"})
#: Gaps that are not steps toward a role: items off that role's path in the guides. The readiness
#: population answered a machine learning survey, so its software engineers have more machine learning
#: than software engineers in general; the guides' SWE path has none (core skills: a language, algorithms,
#: system design, clean code, testing). The standing stays in readiness; it is just not a SWE step.
OFF_PATH = {
    "swe": frozenset({"years_ml", "ml_frameworks_used", "activity_data_analysis", "activity_ml_prototypes",
                      "activity_ml_service", "activity_ml_experiments", "activity_ml_research",
                      "skill_ml_algorithms", "skill_model_deployment", "skill_data_wrangling"}),
    "mle": frozenset({"skill_web_development"}),
}  # fmt: skip
#: The guides' fundamentals per role, in the order to learn them.
FUNDAMENTALS = {"swe": ("skill_dsa", "skill_clean_code"), "mle": ("skill_statistics", "skill_linear_algebra")}
#: ML project activities, in the order a guide step picks one (the first answered).
ML_PROJECTS = ("activity_ml_prototypes", "activity_ml_experiments", "activity_ml_service")
#: SWE project skills, in the order a guide step picks one (the first answered).
SWE_PROJECTS = ("skill_web_development", "skill_databases_apis")

#: Imperative phrases for the yes/no activities ("start doing X").
ACTIONS = {
    "activity_data_analysis": "Make analysing data to inform decisions part of your work or projects",
    "activity_data_infrastructure": "Build or run data infrastructure in your work or projects",
    "activity_ml_prototypes": "Build a machine learning prototype of your own, end to end",
    "activity_ml_service": "Ship a machine learning model behind an API or service",
    "activity_ml_experiments": "Run experiments to improve a machine learning model",
    "activity_ml_research": "Do research that advances machine learning",
}
#: What one does to gain each years item (present participle).
DOING = {
    "years_coding": "writing code regularly",
    "years_ml": "using machine learning methods in your work or projects",
}
#: The people of each role, when a source does not name them.
_PEOPLE = {"swe": "software engineers", "mle": "machine learning engineers"}


@dataclass(frozen=True)
class WhatIf:
    """The prediction before and after ``changes`` (normalised answers; None removes an answer)."""

    before: Prediction
    after: Prediction
    changes: dict[str, Any]

    @property
    def delta_p_mle(self) -> float:
        """The exact change in the probability of MLE (negative: toward SWE)."""
        return self.after.probabilities["mle"] - self.before.probabilities["mle"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": dict(self.changes),
            "before": dict(self.before.probabilities),
            "after": self.after.to_dict(),
            "delta_p_mle": self.delta_p_mle,
        }


@dataclass(frozen=True)
class Step:
    """One thing to do toward ``role``: the ``order``-th (1-based) of its list.

    ``kind`` is "gap" (from readiness: ``share`` of the role's people have more than the person) or
    "guide" (the career guides' path: ``share`` None); ``item`` the answered item it is about; ``action``
    what to do and ``why`` what stands behind it, in plain words; ``source`` {"name", "year", "url"}.
    ``to_answer`` (not in :meth:`to_dict`) is the answer the step asks for — always more than the
    person's — for an app that wants to explore it with :func:`what_if`.
    """

    role: str
    order: int
    kind: str
    item: str
    action: str
    why: str
    share: float | None
    source: dict[str, Any]
    to_answer: float = field(default=0.0, compare=False)

    @property
    def change(self) -> dict[str, float]:
        """The step as answers, for exploring it with :func:`what_if` (never used to choose steps)."""
        return {self.item: self.to_answer}

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "order": self.order,
            "kind": self.kind,
            "item": self.item,
            "action": self.action,
            "why": self.why,
            "share": self.share,
            "source": dict(self.source),
        }


@dataclass(frozen=True)
class NextSteps:
    """Per role the steps in the order to do them (``roles``), the fitting role (``first``) whose steps
    come first, and the guides' timing advice (``plan``, from ``plan_source``)."""

    first: str
    roles: dict[str, tuple[Step, ...]]
    plan: str
    plan_source: dict[str, Any]

    def __getitem__(self, role: str) -> tuple[Step, ...]:
        return self.roles[role]

    @property
    def order(self) -> tuple[str, ...]:
        """The roles, the fitting one first."""
        return (self.first, *(r for r in ROLES if r != self.first))

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "roles": {role: [s.to_dict() for s in self.roles[role]] for role in self.order},
            "plan": self.plan,
            "plan_source": dict(self.plan_source),
        }


def what_if(
    answers: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
) -> WhatIf:
    """Explore: the prediction after applying ``changes`` (item -> new answer; None, "" or NaN removes
    one) to ``answers``, with the exact change in ``p_mle``.

    An exploration tool ("what if I enjoyed maths more?", "what if I had two more years of ML?"): any
    item may be changed, and the answer is the model's own, re-predicted. It is not advice: next steps
    (:func:`next_steps`) never come from what moves a number. Raises ``rolefit.InvalidAnswers`` for an
    unknown item or an answer it does not allow.
    """
    before = predict(answers, model=model, base_rate=base_rate)
    if not isinstance(changes, Mapping):
        raise InvalidAnswers(
            {"changes": f"expected a mapping of item id to answer, got {type(changes).__name__}"}
        )
    merged = dict(answers)
    merged.update(changes)
    after = predict(merged, model=model, base_rate=base_rate)
    changed = {item: after.answers.get(item) for item in changes}
    return WhatIf(before=before, after=after, changes=changed)


def next_steps(
    answers: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
    prediction: Prediction | None = None,
    k: int = MAX_STEPS,
) -> NextSteps:
    """Per role, at most ``k`` (up to :data:`MAX_STEPS`) steps in the order to do them (see the module's
    docstring), the fit's role first.

    ``prediction`` may pass the person's prediction (made with the same ``model`` and ``base_rate``) to
    save predicting it again: the fit names the role that comes first, readiness gives the gaps (a
    bundle without readiness tables gives guide steps only). Raises what :func:`rolefit.predict` raises
    for invalid answers.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a whole number from 0 up, not {k!r}")
    p = prediction if prediction is not None else predict(answers, model=model, base_rate=base_rate)
    answered = dict(p.answers)
    roles = {}
    for role in ROLES:
        chosen = _choose(role, answered, p.readiness, min(k, MAX_STEPS))
        roles[role] = tuple(replace(s, order=n) for n, s in enumerate(chosen, start=1))
    plan, plan_source = _plan()
    return NextSteps(first=p.role, roles=roles, plan=plan, plan_source=plan_source)


# ---------------------------------------------------------------------------------------------------
# choosing and ordering


def _choose(role: str, answers: dict[str, Any], readiness, k: int) -> list[Step]:
    """The role's steps: chosen by priority, then put in the guides' order (the module's docstring)."""
    instrument = load_instrument()
    gaps = _gap_steps(role, answers, readiness)
    taken = {s.item for s in gaps}
    guides = [s for s in _guide_steps(role, answers) if s.item not in taken]
    fundamentals = [s for s in guides if _phase(s) == "fundamentals"]
    others = [s for s in guides if _phase(s) != "fundamentals"]
    chosen = [*fundamentals, *gaps, *others][:k]
    rank = {item: n for n, item in enumerate(instrument.ids)}

    def place(s: Step) -> tuple:
        return (PHASES.index(_phase(s)), s.kind != "gap", -(s.share or 0.0), rank[s.item])

    out = sorted(chosen, key=place)
    # the hard rules, kept here as well as in the tests: only answered items, always more than the answer
    for s in out:
        if s.item not in answers or not s.to_answer > float(answers[s.item]):  # pragma: no cover
            raise AssertionError(f"a next step would ask for no more than the answer of {s.item!r}")
    return out


def _phase(step: Step) -> str:
    """Where a step is on the guides' path."""
    item = load_instrument()[step.item]
    if step.item in FUNDAMENTALS[step.role] or (step.kind == "guide" and step.item == "years_coding"):
        return "fundamentals"
    if item.kind == "number":  # years grow while doing the rest
        return "experience"
    if step.item.startswith("activity_") or (step.kind == "guide" and step.item in SWE_PROJECTS):
        return "projects"
    return "tools"


# ---------------------------------------------------------------------------------------------------
# gap steps


def _gap_steps(role: str, answers: dict[str, Any], readiness) -> list[Step]:
    """A step per readiness gap of ``role`` that is a step (most common first)."""
    if readiness is None:
        return []
    instrument = load_instrument()
    tables = readiness.tables
    out = []
    for gap in readiness.roles[role].gaps:
        if gap.item in NOT_STEPS or gap.item in OFF_PATH[role] or gap.item not in answers:
            continue
        item = instrument[gap.item]
        found = _target(item, role, answers[gap.item], tables)
        if found is None:
            continue
        to_answer, action, extra = found
        facts = tables.sources.get(gap.source, {})
        people = facts.get("titles", {}).get(role, _PEOPLE[role])
        said = gap.fragment.split(" ", 1)[1] if " " in gap.fragment else gap.fragment
        why = f"{_percent(gap.share_more)} of people working as {people} ({gap.source_name}) {said}"
        out.append(
            Step(
                role=role,
                order=0,
                kind="gap",
                item=gap.item,
                action=action,
                why=why + (f"; {extra}" if extra else ""),
                share=gap.share_more,
                source={"name": gap.source_name, "year": gap.year, "url": None},
                to_answer=to_answer,
            )
        )
    return out


def _target(item: Item, role: str, answer: float, tables) -> tuple[float, str, str] | None:
    """(the answer the step asks for, its action, more words for ``why`` or "") for a gap of ``item`` at
    the person's ``answer``, or None for an item that is no step."""
    from rolefit.data.readiness import level_of

    now = float(answer)
    if item.kind == "binary":
        if now >= 1:
            return None
        uses = item.id.startswith("uses_") or item.question is not None  # a language or a tool
        action = f"Start using {item.topic} regularly" if uses else ACTIONS.get(item.id)
        return (1.0, action, "") if action else None
    if item.kind == "scale":  # a path skill: one point up
        if now >= item.bounds[1]:
            return None
        new = now + 1
        return new, f"Learn {item.topic} to {scale_point(item, new)} (now {scale_point(item, now)})", ""
    if item.kind == "count":  # one more: the level the gap's share refers to ("at least 2")
        if now >= item.bounds[1]:
            return None
        new = now + 1
        if item.id == "ml_frameworks_used":
            if now == 0:
                return new, "Learn a machine learning framework, such as scikit-learn or PyTorch", ""
            return new, f"Learn one more machine learning framework ({_count(new, 'framework')} in all)", ""
        return new, f"Add one more to your {item.topic} ({new:g} in all)", ""
    if item.kind == "number" and item.id in DOING:
        # years: the band of the role's middle person (the median), or the next band above the person's
        compiled = tables.by_item.get(item.id)
        if compiled is None:
            return None
        _, _, levels, by_level = compiled
        k = ROLES.index(role) + 1
        mine = level_of(levels, now)
        cumulative, median = 0.0, len(by_level) - 1
        for level, entry in enumerate(by_level):
            if entry[k] is None:
                return None
            cumulative += entry[k].share_same
            if cumulative >= 0.5:
                median = level
                break
        target = max(median, mine + 1)
        if target >= len(by_level):
            return None
        low = _band_low(levels, target)
        at_least = sum(entry[k].share_same for entry in by_level[target:])
        doing = DOING[item.id]
        verb = "Start" if now == 0 else "Keep"
        if low <= now:  # the band below 1 year, for someone at 0: starting is the step
            return max(now, 0.5), f"Start {doing}", ""
        years = _count(low, "year")
        extra = "" if target == mine + 1 else f"{_percent(at_least)} have at least {years}"
        return low, f"{verb} {doing}, toward at least {years}", extra
    return None


def _band_low(levels: Mapping[str, Any], level: int) -> float:
    """The lower end of a years level (0 for the level of 0 and for the band below the first edge)."""
    edges = levels["edges"]
    if levels["zero"]:
        return 0.0 if level <= 1 else float(edges[level - 2])
    return 0.0 if level == 0 else float(edges[level - 1])


# ---------------------------------------------------------------------------------------------------
# guide steps


def _guide_steps(role: str, answers: dict[str, Any]) -> list[Step]:
    """The guides' path where the person's answers call for it (the module's docstring), in order."""
    instrument = load_instrument()
    source = _guide_source()
    steps: list[Step] = []

    def add(item_id: str, to_answer: float, action: str, why: str) -> None:
        steps.append(
            Step(role, 0, "guide", item_id, action, why, share=None, source=source, to_answer=to_answer)
        )

    # fundamentals
    if role == "mle" and "years_coding" in answers and answers["years_coding"] < 1:
        add(
            "years_coding",
            1.0,
            "Start with programming: write code regularly before moving on to machine learning",
            "Career guides: start from software fundamentals — programming, algorithms, system design; "
            "moving into machine learning later is easier than starting with it without programming",
        )
    what = {
        "swe": "data structures and algorithms, and writing clean code",
        "mle": "statistics and linear algebra, before frameworks",
    }[role]
    for item_id in FUNDAMENTALS[role]:
        if item_id in answers and answers[item_id] < SOLID:
            item = instrument[item_id]
            now = answers[item_id]
            add(
                item_id,
                float(SOLID),
                f"Learn {item.topic} to a solid level: from {scale_point(item, now)} to "
                f"{scale_point(item, SOLID)}",
                f"Career guides: fundamentals first — {what}; skipping them is a common mistake",
            )
    # tools
    if role == "mle" and answers.get("ml_frameworks_used") == 0:
        add(
            "ml_frameworks_used",
            1.0,
            "Learn a machine learning framework, such as scikit-learn or PyTorch",
            "Career guides: after the maths, add machine learning concepts and a framework "
            "(PyTorch or TensorFlow)",
        )
    # projects: only for someone who does not build them yet
    projects = "Career guides: build projects, not only learn theory — learning without building is a " \
        "common mistake"  # fmt: skip
    if role == "mle":
        asked = [i for i in ML_PROJECTS if i in answers]
        if asked and not any(answers[i] for i in asked):
            add(asked[0], 1.0, ACTIONS[asked[0]], projects)
    else:
        asked = [i for i in SWE_PROJECTS if i in answers]
        if asked and all(answers[i] < SOLID for i in asked):
            item = instrument[asked[0]]
            now = answers[asked[0]]
            add(
                asked[0],
                now + 1,
                f"Build a real project end to end — an app people can use, with a database and an API — "
                f"to take your {item.topic} from {scale_point(item, now)} to {scale_point(item, now + 1)}",
                "Career guides: real projects get software engineers hired faster, beside programming, "
                "algorithms and system design",
            )
    return steps


def _guide_source() -> dict[str, Any]:
    """The career guides as a step's source: their titles (an untitled one by its kind) and year."""
    from rolefit.guidance.facts import load_role_facts

    sources = load_role_facts().advice_sources
    names = [s.title if s.title else f"an untitled {s.kind}" for s in sources]
    return {"name": "; ".join(names), "year": max(s.year for s in sources), "url": None}


def _plan() -> tuple[str, dict[str, Any]]:
    """The guides' timing advice and its source."""
    source = _guide_source()
    plan = (
        "Give the path you choose 6–12 months before deciding to switch: the career guides count "
        "switching tracks sooner as a common mistake."
    )
    return plan, {"name": source["name"], "url": source["url"]}


# ---------------------------------------------------------------------------------------------------
# words


def _percent(share: float) -> str:
    from rolefit.scoring.readiness import percent

    return percent(share)


def _count(value: float, noun: str) -> str:
    """ "1 framework", "3 frameworks", "1.5 years"."""
    return f"{value:g} {noun if value == 1 else noun + 's'}"
