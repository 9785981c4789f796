"""The instrument: every item's id, text, scale, group and lean, loaded from ``questionnaire.yaml``.

This module is the single source of truth for what an answer may be. The synthetic generator, survey
validation, input validation, the features, the web form and the explanation text all read it.
Answers are checked and normalised here (:meth:`Item.coerce`), so every entry point accepts the same
things: ``"4"`` and ``4`` are the same answer to a 1-5 item, a choice may be given by id or label, and
``None``, ``""`` and NaN mean "skipped".
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Lean = Literal["swe", "mle", "none"]
Kind = Literal["scale", "choice", "number", "count", "binary"]
#: Which answer of a prediction an item feeds (see questionnaire.yaml): the fit, or readiness (path and
#: experience); every item feeds the all-answers model.
Part = Literal["fit", "path", "experience"]

ROLES: tuple[str, str] = ("swe", "mle")
#: Columns a survey row or an answer set may carry besides items; never model inputs.
METADATA_FIELDS: tuple[str, ...] = ("respondent_id", "submitted_at")
DEMOGRAPHIC_FIELDS: tuple[str, ...] = ("gender", "age_band", "country")

_LEANS = ("swe", "mle", "none")
_KINDS = ("scale", "choice", "number", "count", "binary")
_PARTS = ("fit", "path", "experience")
#: the groups whose items are facts of what someone has done (``part: experience``)
_EXPERIENCE_GROUPS = ("experience", "tools")
_TRUE_WORDS = {"1", "yes", "true", "y"}
_FALSE_WORDS = {"0", "no", "false", "n"}


class _Invalid(ValueError):
    """One answer that does not fit its item; the message says what is allowed."""


@dataclass(frozen=True)
class Choice:
    """One option of a choice item."""

    id: str
    label: str
    lean: Lean = "none"


@dataclass(frozen=True)
class Scale:
    """A 1-5 rating scale with a word for every point."""

    id: str
    min: int
    max: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """A section of the questionnaire."""

    id: str
    title: str
    prompt: str


@dataclass(frozen=True)
class Question:
    """A multi-choice question ("which of these have you used?") whose options are yes/no items.

    Its items carry ``question: <id>``; a person answers it once (ticking the options that apply), and
    it counts as one question wherever questions are counted (adaptive questioning, Quick mode).
    """

    id: str
    group: str
    text: str
    topic: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    """One question of the instrument (or one option of a multi-choice :class:`Question`)."""

    id: str
    group: str
    kind: Kind
    text: str
    topic: str
    lean: Lean = "none"
    part: Part = "fit"
    scale: Scale | None = None
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    #: the multi-choice question this yes/no item is an option of (None: a question of its own)
    question: str | None = None

    @property
    def choice_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.choices)

    def allowed(self) -> str:
        """Describe the allowed answers in words (used in every error message)."""
        if self.kind == "scale":
            assert self.scale is not None
            words = ", ".join(f'"{w}"' for w in self.scale.labels)
            return f"an integer from {self.scale.min} to {self.scale.max} (or one of {words})"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choice_ids)
        if self.kind == "binary":
            return "0 or 1 (also yes/no, true/false)"
        if self.kind == "count":
            return f"a whole number from {self.min:g} to {self.max:g}"
        return f"a number from {self.min:g} to {self.max:g}" + (f" ({self.unit})" if self.unit else "")

    def coerce(self, value: Any) -> float | str | None:
        """Return the normalised answer (float for numeric kinds, choice id for choices).

        ``None``, ``""`` and NaN mean the question was skipped and give ``None``. Anything that does
        not fit raises ``ValueError`` whose message says what is allowed.
        """
        if value is None:
            return None
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        if self.kind == "choice":
            return self._coerce_choice(value)
        if self.kind == "binary":
            return self._coerce_binary(value)
        return self._coerce_number(value)

    def _fail(self, value: Any) -> _Invalid:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
            shown = "a number with more than 20 digits"  # never printed: huge ints cost and may fail
        else:
            try:
                shown = repr(value)
            except (ValueError, RecursionError):  # too deep or too long to print
                shown = f"an unprintable {type(value).__name__}"
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return _Invalid(f"{self.id}: got {shown}; allowed: {self.allowed()}")

    def _coerce_choice(self, value: Any) -> str:
        if isinstance(value, str):
            key = value.casefold()
            for choice in self.choices:
                if key in (choice.id.casefold(), choice.label.casefold()):
                    return choice.id
        raise self._fail(value)

    def _coerce_binary(self, value: Any) -> float:
        if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy booleans too
            return float(bool(value))
        if isinstance(value, str):
            word = value.casefold()
            if word in _TRUE_WORDS:
                return 1.0
            if word in _FALSE_WORDS:
                return 0.0
            raise self._fail(value)
        number = _as_real(value)
        if number in (0.0, 1.0):
            return number
        raise self._fail(value)

    def _coerce_number(self, value: Any) -> float:
        if isinstance(value, bool):
            raise self._fail(value)
        number: float | None
        if isinstance(value, str):
            number = _parse_number(value)
            if number is None and self.kind == "scale":
                assert self.scale is not None
                folded = value.casefold()
                for position, word in enumerate(self.scale.labels, start=self.scale.min):
                    if folded == word.casefold():
                        return float(position)
        else:
            number = _as_real(value)
        if number is None or not math.isfinite(number):
            raise self._fail(value)
        lo, hi = self.bounds
        if not lo <= number <= hi:
            raise self._fail(value)
        if self.kind in ("scale", "count") and number != int(number):
            raise self._fail(value)
        return number

    @property
    def bounds(self) -> tuple[float, float]:
        """The smallest and largest allowed numeric answer."""
        if self.kind == "scale":
            assert self.scale is not None
            return float(self.scale.min), float(self.scale.max)
        if self.kind == "binary":
            return 0.0, 1.0
        assert self.min is not None and self.max is not None
        return float(self.min), float(self.max)

    def answer_label(self, value: float | str) -> str:
        """A human reading of a normalised answer, e.g. ``"4 (Quite a bit)"`` or ``"Master's degree"``."""
        if self.kind == "choice":
            return next(c.label for c in self.choices if c.id == value)
        if self.kind == "scale":
            assert self.scale is not None
            return f"{int(value)} ({self.scale.labels[int(value) - self.scale.min]})"
        if self.kind == "binary":
            return "yes" if value else "no"
        return f"{value:g}" + (f" {self.unit}" if self.unit else "")


def _as_real(value: Any) -> float | None:
    """Turn an int/float-like (including numpy scalars) into a float, anything else into None."""
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf":
        return float(value)
    return None


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Instrument:
    """The whole questionnaire: version, groups and items in display order."""

    version: str
    groups: tuple[Group, ...]
    items: tuple[Item, ...]
    sha256: str = field(compare=False)
    #: the multi-choice questions, in questionnaire order (their options are items with ``question``)
    questions: tuple[Question, ...] = field(default=(), compare=False)
    #: ``(version, sha256)`` of earlier instruments whose models still read every item (only ``part``
    #: and the choices of :meth:`new_choices` were added since): bundles built for them load (:meth:`accepts`)
    compatible: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: per compatible version, the choices added since, by item (see :meth:`new_choices`)
    added_choices: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict, compare=False)
    _by_id_map: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id_map", {item.id: item for item in self.items})

    def __hash__(self) -> int:
        return hash(self.sha256)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def fit_ids(self) -> tuple[str, ...]:
        """The items of the fit (``part: fit``), in questionnaire order."""
        return tuple(item.id for item in self.items if item.part == "fit")

    @property
    def path_ids(self) -> tuple[str, ...]:
        """The skills one learns on the way to a role (``part: path``), in questionnaire order."""
        return tuple(item.id for item in self.items if item.part == "path")

    @property
    def readiness_ids(self) -> tuple[str, ...]:
        """The items of readiness: path skills and experience, in questionnaire order."""
        return tuple(item.id for item in self.items if item.part in ("path", "experience"))

    @property
    def question_ids(self) -> tuple[str, ...]:
        """Every question a person is asked, in questionnaire order: an item of its own, or a multi-choice
        question (once, for all its options)."""
        return tuple(dict.fromkeys(item.question or item.id for item in self.items))

    def question_of(self, item_id: str) -> str:
        """The id of the question that asks ``item_id``: its multi-choice question, or the item itself."""
        return self[item_id].question or item_id

    def accepts(self, version: str, sha256: str) -> bool:
        """Whether a model built for instrument ``version`` with text hash ``sha256`` reads the same
        items: this instrument itself, or one of its :attr:`compatible` predecessors."""
        return (version, sha256) == (self.version, self.sha256) or (version, sha256) in self.compatible

    def new_choices(self, version: str) -> dict[str, tuple[str, ...]]:
        """The choices, by item, that this instrument has and a model built for the compatible ``version``
        never saw (empty for this version itself). Such a model has no evidence about them: the bundle
        loader gives each an effect of 0 (:func:`rolefit.scoring.bundle.with_new_choices`)."""
        return dict(self.added_choices.get(version, {}))

    def __getitem__(self, item_id: str) -> Item:
        return self._by_id()[item_id]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id()

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def _by_id(self) -> dict[str, Item]:
        return self._by_id_map

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description for apps that render the form."""
        out_items = []
        for item in self.items:
            entry: dict[str, Any] = {
                "id": item.id,
                "group": item.group,
                "kind": item.kind,
                "text": item.text,
                "lean": item.lean,
                "part": item.part,
            }
            if item.question is not None:
                entry["question"] = item.question
            if item.scale is not None:
                entry.update(min=item.scale.min, max=item.scale.max, labels=list(item.scale.labels))
            if item.choices:
                entry["choices"] = [{"id": c.id, "label": c.label} for c in item.choices]
            if item.kind in ("number", "count"):
                entry.update(min=item.min, max=item.max)
                if item.unit:
                    entry["unit"] = item.unit
            out_items.append(entry)
        return {
            "version": self.version,
            "sha256": self.sha256,
            "groups": [{"id": g.id, "title": g.title, "prompt": g.prompt} for g in self.groups],
            "questions": [
                {"id": q.id, "group": q.group, "text": q.text, "topic": q.topic, "items": list(q.items)}
                for q in self.questions
            ],
            "items": out_items,
        }


def parse_instrument(text: str) -> Instrument:
    """Build an :class:`Instrument` from YAML text, checking every item; errors name the item."""
    import yaml

    # libyaml's safe loader when PyYAML was built with it: the same result, several times faster
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    problems: list[str] = []
    scales = {
        name: Scale(id=name, min=int(s["min"]), max=int(s["max"]), labels=tuple(s["labels"]))
        for name, s in raw["scales"].items()
    }
    groups = tuple(Group(**g) for g in raw["groups"])
    group_ids = {g.id for g in groups}
    question_entries = {str(q["id"]): dict(q) for q in raw.get("questions") or ()}
    items: list[Item] = []
    seen: set[str] = set()
    for entry in raw["items"]:
        entry = dict(entry)
        item_id = entry.get("id", "<no id>")
        if item_id in seen:
            problems.append(f"{item_id}: duplicate id")
        seen.add(item_id)
        if entry.get("kind") not in _KINDS:
            problems.append(f"{item_id}: kind must be one of {_KINDS}")
        if entry.get("lean", "none") not in _LEANS:
            problems.append(f"{item_id}: lean must be one of {_LEANS}")
        if entry.get("group") not in group_ids:
            problems.append(f"{item_id}: group must be one of {sorted(group_ids)}")
        if entry.get("part") not in _PARTS:
            problems.append(f"{item_id}: part must be one of {_PARTS}")
        elif (entry["part"] == "experience") != (entry.get("group") in _EXPERIENCE_GROUPS):
            problems.append(
                f"{item_id}: part experience is for the items of the groups {_EXPERIENCE_GROUPS}, only them"
            )
        if "question" in entry:
            question = question_entries.get(str(entry["question"]))
            if question is None:
                problems.append(f"{item_id}: question must be one of {sorted(question_entries)}")
            elif entry.get("kind") != "binary" or entry.get("group") != question.get("group"):
                problems.append(
                    f"{item_id}: an option of a question is a binary item of the question's group"
                )
        if "scale" in entry:
            entry["scale"] = scales[entry["scale"]]
        if "choices" in entry:
            entry["choices"] = tuple(Choice(**c) for c in entry["choices"])
        try:
            items.append(Item(**entry))
        except TypeError as exc:
            problems.append(f"{item_id}: {exc}")
    if problems:
        raise ValueError("The questionnaire definition is invalid: " + "; ".join(problems))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    compatible = tuple((str(c["version"]), str(c["sha256"])) for c in raw.get("compatible") or ())
    added: dict[str, dict[str, tuple[str, ...]]] = {}
    by_id = {item.id: item for item in items}
    for entry in raw.get("compatible") or ():
        new = {str(k): tuple(str(c) for c in v) for k, v in (entry.get("new_choices") or {}).items()}
        for item_id, choice_ids in new.items():
            known = by_id[item_id].choice_ids if item_id in by_id else ()
            unknown = [c for c in choice_ids if c not in known]
            if unknown:
                raise ValueError(
                    f"The questionnaire definition is invalid: compatible version {entry['version']} lists "
                    f"new choices of {item_id!r} that are not its choices: {', '.join(unknown)}"
                )
        added[str(entry["version"])] = new
    questions = []
    for question_id, entry in question_entries.items():
        options = tuple(item.id for item in items if item.question == question_id)
        if entry.get("group") not in group_ids or not options:
            raise ValueError(
                f"The questionnaire definition is invalid: question {question_id!r} needs a group of "
                f"{sorted(group_ids)} and at least one item naming it"
            )
        questions.append(Question(id=question_id, group=entry["group"], text=entry["text"],
                                  topic=entry["topic"], items=options))  # fmt: skip
    return Instrument(
        version=str(raw["version"]),
        groups=groups,
        items=tuple(items),
        questions=tuple(questions),
        sha256=digest,
        compatible=compatible,
        added_choices=added,
    )


@lru_cache(maxsize=1)
def load_instrument() -> Instrument:
    """The instrument shipped with this package (cached)."""
    # beside this module in every install rolefit supports (a wheel or a checkout, never a zip):
    # importlib.resources would cost a twentieth of a cold start to find the same file
    text = (Path(__file__).parent / "questionnaire.yaml").read_text(encoding="utf-8")
    return parse_instrument(text)


def questionnaire() -> Instrument:
    """Return the instrument's items, groups and version, for apps that render the form."""
    return load_instrument()
