"""Answer-level distributions of a frame of respondents: the drift reference and the answer model stored
in every model bundle.

* :func:`reference` (``reference.json``): for the training split of every source and for all sources
  together, per item the share of each answer level among those who answered, the share who skipped it,
  and the MLE share (:mod:`rolefit.evaluation.drift` compares new surveys against it).
* :func:`answer_distributions` (``answers.json``): per item and role, P(answer level | role) from the
  training rows weighted like training, with a small prior so that no level has probability 0. Adaptive
  questioning (:mod:`rolefit.guidance.questions`) reads it as :class:`AnswerDistributions`; bundles
  without it fall back to the marginal shares of ``reference.json`` (:func:`from_reference`), the same for
  both roles, or to uniform.

pandas is imported only by the functions that read frames: the answer model is read without it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rolefit.instrument.items import Instrument, Item, load_instrument

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

COUNT_EDGES = (
    (0, 1, "0"),
    (1, 2, "1"),
    (2, 3, "2"),
    (3, 4, "3"),
    (4, 6, "4-5"),
    (6, 10, "6-9"),
    (10, 21, "10+"),
)
YEARS_BANDS = (
    (0, 1, "<1"),
    (1, 3, "1-3"),
    (3, 5, "3-5"),
    (5, 10, "5-10"),
    (10, 20, "10-20"),
    (20, 51, "20+"),
)


def levels(item: Item, values: pd.Series) -> pd.Series:
    """Answers mapped to the discrete levels PSI is computed over (None for skipped)."""
    import pandas as pd

    if item.kind == "choice":
        return values.astype(object).where(values.notna(), None)
    numbers = pd.to_numeric(values, errors="coerce")
    if item.kind in ("scale", "binary"):
        return numbers.map(lambda v: None if pd.isna(v) else f"{v:g}")
    edges = COUNT_EDGES if item.kind == "count" else YEARS_BANDS
    return numbers.map(lambda v: None if pd.isna(v) else next(lab for lo, hi, lab in edges if lo <= v < hi))


def profile(frame: pd.DataFrame) -> dict[str, Any]:
    """Answer-level shares, skip shares and MLE share of a frame of respondents."""
    instrument = load_instrument()
    items: dict[str, Any] = {}
    for item in instrument.items:
        if item.id not in frame.columns:
            continue
        mapped = levels(item, frame[item.id])
        answered = mapped.dropna()
        if answered.empty:
            continue
        items[item.id] = {
            "missing": float(mapped.isna().mean()),
            "shares": {
                str(k): float(v) for k, v in answered.value_counts(normalize=True).sort_index().items()
            },
            "answered": len(answered),
        }
    out: dict[str, Any] = {"n": len(frame), "items": items}
    if "role" in frame.columns and frame["role"].notna().any():
        out["mle_share"] = float((frame["role"].dropna() == "mle").mean())
    return out


def reference(frame: pd.DataFrame) -> dict[str, Any]:
    """The reference profiles of the training split: one per source and ``all``; each source's also
    per role (``roles``: ``swe`` and ``mle``), for monitoring's per-role view."""
    train = frame[frame["split"] == "train"] if "split" in frame.columns else frame
    out = {"all": profile(train)}
    for source, rows in train.groupby("source"):
        out[str(source)] = profile(rows)
        if "role" in rows.columns:
            roles = {
                str(role): profile(part) for role, part in rows.groupby("role") if role in ("swe", "mle")
            }
            if roles:
                out[str(source)]["roles"] = roles
    return out


# ---------------------------------------------------------------------------------------------------
# the answer model: P(answer level | role) per item (answers.json)

#: Version of the ``answers.json`` layout.
ANSWERS_SCHEMA = 1
#: Pseudo-respondents (in training weight) added to every answer level of every item and role, so that
#: no level is impossible; a level no training row gave gets about ``1 / weighted rows`` probability
#: (Laplace's rule; its weight is negligible beside the tens of thousands of training rows).
ANSWER_PRIOR = 1.0
#: Most answer levels one item may have in ``answers.json`` (a boosting table has at most 255 steps).
MAX_LEVELS = 512
#: Step edges of numeric items when no table is given (the ``(e_{k-1}, e_k]`` steps of the lookup
#: tables): every whole count, and years in the bands of :data:`YEARS_BANDS`.
DEFAULT_STEPS = {"count": (0.5, 1.5, 2.5, 3.5, 5.5, 9.5), "number": (0.25, 1.0, 3.0, 5.0, 10.0, 20.0)}
#: The answer that stands for each band of :data:`COUNT_EDGES` and :data:`YEARS_BANDS` (years: the
#: midpoints the Kaggle 2021 adapter maps its bands to).
COUNT_ANSWERS = {"0": 0.0, "1": 1.0, "2": 2.0, "3": 3.0, "4-5": 4.0, "6-9": 7.0, "10+": 12.0}
YEARS_ANSWERS = {"<1": 0.5, "1-3": 2.0, "3-5": 4.0, "5-10": 7.5, "10-20": 15.0, "20+": 25.0}
_PROBABILITY_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ItemAnswers:
    """One item's answer levels: the answer that stands for each, its label and ``P(level | role)``.

    Scale, binary and choice items have one level per allowed answer; count and years items one per
    step of the model's lookup table (every answer in a step has the same effect, so the model's
    posterior after any answer of the step is exactly the one after its representative ``answer``).
    """

    item: str
    answers: tuple[float | str, ...]
    labels: tuple[str, ...]
    swe: tuple[float, ...]
    mle: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": [
                {"answer": a, "label": lab, "swe": s, "mle": m}
                for a, lab, s, m in zip(self.answers, self.labels, self.swe, self.mle, strict=True)
            ]
        }


@dataclass(frozen=True)
class AnswerDistributions:
    """``P(answer level | role)`` for every item of the instrument.

    ``basis`` says where it comes from: ``training`` (the bundle's ``answers.json``), ``reference`` (a
    bundle without it: the marginal answer shares of ``reference.json``, the same for both roles, so an
    answer's probability does not depend on the role) or ``uniform`` (nothing known about the item);
    ``description`` says it in words.
    """

    items: dict[str, ItemAnswers]
    basis: str
    description: str
    prior: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``answers.json``."""
        return {
            "schema": ANSWERS_SCHEMA,
            "basis": self.basis,
            "description": self.description,
            "prior": self.prior,
            "items": {item: answers.to_dict() for item, answers in self.items.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, instrument: Instrument | None = None) -> AnswerDistributions:
        """The answer model of a bundle's ``answers.json``, checked: every level a valid, distinct answer
        of a known item, every probability finite and positive, each role's summing to 1. Items the file
        does not cover get uniform levels. Raises ValueError naming what is wrong."""
        instrument = instrument or load_instrument()
        if (
            not isinstance(data, dict)
            or data.get("schema") != ANSWERS_SCHEMA
            or type(data["schema"]) is not int
        ):
            raise ValueError(f"the answer distributions need schema {ANSWERS_SCHEMA}")
        raw_items = data.get("items")
        if not isinstance(raw_items, dict):
            raise ValueError("the answer distributions have no items")
        unknown = sorted(str(k) for k in raw_items if k not in instrument)
        if unknown:
            raise ValueError(f"the answer distributions name unknown items: {', '.join(unknown[:5])}")
        items = {}
        for item in instrument.items:
            entry = raw_items.get(item.id)
            items[item.id] = uniform(item) if entry is None else _item_answers(item, entry)
        description = data.get("description")
        prior = data.get("prior")
        if prior is not None and (isinstance(prior, bool) or not isinstance(prior, (int, float))):
            raise ValueError("the answer distributions' prior must be a number")
        missing = [item.id for item in instrument.items if item.id not in raw_items]
        text = str(description)[:500] if isinstance(description, str) else "from the training rows"
        if missing:
            text += f"; uniform for {', '.join(missing)} (not in answers.json)"
        return cls(
            items=items, basis="training", description=text, prior=None if prior is None else float(prior)
        )


def _item_answers(item: Item, entry: Any) -> ItemAnswers:
    what = f"the answer distribution of {item.id!r}"
    levels_ = entry.get("levels") if isinstance(entry, dict) else None
    if not isinstance(levels_, list) or not 1 <= len(levels_) <= MAX_LEVELS:
        raise ValueError(f"{what} needs a list of 1 to {MAX_LEVELS} levels")
    answers, labels, swe, mle = [], [], [], []
    for k, level in enumerate(levels_):
        if not isinstance(level, dict):
            raise ValueError(f"{what}: level {k} is not a JSON object")
        answer = level.get("answer")
        try:
            valid = (
                not isinstance(answer, bool)
                and isinstance(answer, (int, float, str))
                and item.coerce(answer) == answer
            )
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(f"{what}: level {k}'s answer {str(answer)[:40]!r} is not a valid answer")
        label = level.get("label")
        if not isinstance(label, str) or len(label) > 200:
            raise ValueError(f"{what}: level {k} needs a label (text of at most 200 characters)")
        answers.append(answer if item.kind == "choice" else float(answer))
        labels.append(label)
        for role, out in (("swe", swe), ("mle", mle)):
            p = level.get(role)
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0.0 < p <= 1.0):
                raise ValueError(f"{what}: P(level {k} | {role}) must be a number in (0, 1]")
            out.append(float(p))
    if len(set(answers)) != len(answers):
        raise ValueError(f"{what} lists an answer twice")
    for role, ps in (("swe", swe), ("mle", mle)):
        if abs(math.fsum(ps) - 1.0) > _PROBABILITY_SUM_TOLERANCE:
            raise ValueError(f"{what}: the probabilities for {role} sum to {math.fsum(ps):.6g}, not 1")
    return ItemAnswers(item.id, tuple(answers), tuple(labels), tuple(swe), tuple(mle))


def default_levels(item: Item) -> list[tuple[float | str, str]]:
    """``(answer, label)`` of an item's levels when no model table defines its steps: every answer of a
    scale, binary or choice item, the bands of :data:`COUNT_EDGES` / :data:`YEARS_BANDS` otherwise (the
    labels ``reference.json`` uses)."""
    if item.kind == "choice":
        return [(c.id, c.id) for c in item.choices]
    if item.kind in ("scale", "binary"):
        lo, hi = item.bounds
        return [(float(v), f"{v:g}") for v in range(int(lo), int(hi) + 1)]
    answers = COUNT_ANSWERS if item.kind == "count" else YEARS_ANSWERS
    return [(answer, label) for label, answer in answers.items()]


def uniform(item: Item) -> ItemAnswers:
    """Every default level of ``item`` equally likely, whatever the role."""
    found = default_levels(item)
    p = tuple(1.0 / len(found) for _ in found)
    return _levels_of(item, found, p, p)


def _levels_of(item: Item, found: list[tuple[float | str, str]], swe, mle) -> ItemAnswers:
    """Default levels with their probabilities; labels as people read them."""
    answers = tuple(a for a, _ in found)
    if item.kind in ("count", "number"):
        labels = tuple(label + (f" {item.unit}" if item.unit else "") for _, label in found)
    else:
        labels = tuple(item.answer_label(a) for a in answers)
    return ItemAnswers(item.id, answers, labels, tuple(swe), tuple(mle))


def from_reference(
    reference: Mapping[str, Any] | None, instrument: Instrument | None = None
) -> AnswerDistributions:
    """The fallback answer model of a bundle without ``answers.json``: the marginal answer shares of its
    ``reference.json`` (all training sources together), the same for both roles, with the
    :data:`ANSWER_PRIOR`; uniform for items the reference lacks (or all of them, without a reference)."""
    instrument = instrument or load_instrument()
    shares_of = {}
    if isinstance(reference, Mapping) and isinstance(reference.get("all"), Mapping):
        found = reference["all"].get("items")
        shares_of = found if isinstance(found, Mapping) else {}
    items, lacking = {}, []
    for item in instrument.items:
        entry = shares_of.get(item.id)
        shares = entry.get("shares") if isinstance(entry, Mapping) else None
        answered = entry.get("answered") if isinstance(entry, Mapping) else None
        if not isinstance(shares, Mapping) or not isinstance(answered, (int, float)) or answered <= 0:
            items[item.id] = uniform(item)
            lacking.append(item.id)
            continue
        found = default_levels(item)
        counts = []
        for _, label in found:
            share = shares.get(label, 0.0)
            ok = isinstance(share, (int, float)) and not isinstance(share, bool) and math.isfinite(share)
            counts.append(max(0.0, float(share) if ok else 0.0) * float(answered) + ANSWER_PRIOR)
        total = math.fsum(counts)
        p = tuple(c / total for c in counts)
        items[item.id] = _levels_of(item, found, p, p)
    if len(lacking) == len(instrument.items):
        text = "uniform: the bundle has neither answers.json nor answer shares in reference.json"
        return AnswerDistributions(items, "uniform", text)
    text = (
        "the marginal answer shares of the bundle's reference.json (the same for both roles: the bundle "
        "predates answers.json)"
    )
    if lacking:
        text += f"; uniform for {', '.join(lacking)}"
    return AnswerDistributions(items, "reference", text, ANSWER_PRIOR)


def _step_levels(item: Item, edges: Sequence[float]) -> tuple[list[list[float]], list[float]]:
    """The candidate answers of a count or years item grouped by the step ``(e_{k-1}, e_k]`` they fall in
    (steps holding no allowed answer are dropped), and the edges as floats."""
    lo, hi = item.bounds
    edges = sorted({float(e) for e in edges if not math.isnan(float(e))})
    candidates = {float(v) for v in range(math.ceil(lo), math.floor(hi) + 1)}
    if item.kind == "number":
        candidates |= {e for e in edges if lo <= e <= hi}
    groups: dict[int, list[float]] = {}
    for value in sorted(candidates):
        groups.setdefault(bisect_left(edges, value), []).append(value)
    return [groups[k] for k in sorted(groups)], edges


def _step_label(item: Item, values: list[float], edges: list[float], step: int) -> str:
    if item.kind == "count":
        first, last = values[0], values[-1]
        return f"{first:g}" if first == last else f"{first:g}-{last:g}"
    low = edges[step - 1] if step > 0 else None
    high = edges[step] if step < len(edges) and edges[step] < item.bounds[1] else None
    unit = f" {item.unit}" if item.unit else ""
    if low is None and high is None:
        return "any"
    if low is None:
        return f"up to {high:g}{unit}"
    if high is None:
        return f"over {low:g}{unit}"
    return f"over {low:g} up to {high:g}{unit}"


def answer_distributions(
    frame: pd.DataFrame,
    weights: np.ndarray | Sequence[float],
    steps: Mapping[str, Sequence[float]] | None = None,
    *,
    prior: float = ANSWER_PRIOR,
    description: str = "",
    instrument: Instrument | None = None,
) -> dict[str, Any]:
    """``answers.json``: per item and role, ``P(answer level | role)`` among the rows of ``frame`` that
    answered the item, each row counted with its training weight, plus ``prior`` per level.

    ``steps`` gives the step edges of count and years items (the bundle's lookup tables: one level per
    step, standing for it by the step's most common training answer); items without them use
    :data:`DEFAULT_STEPS`. ``frame`` needs ``role`` and the item columns (missing columns: no rows).
    """
    import numpy as np

    instrument = instrument or load_instrument()
    steps = steps or {}
    weights = np.asarray(weights, dtype=float)
    roles = frame["role"].to_numpy()
    is_role = {role: roles == role for role in ("swe", "mle")}
    items: dict[str, Any] = {}
    for item in instrument.items:
        column = frame[item.id] if item.id in frame.columns else None
        if item.kind in ("count", "number"):
            groups, edges = _step_levels(item, steps.get(item.id, DEFAULT_STEPS[item.kind]))
            labels = [_step_label(item, values, edges, bisect_left(edges, values[0])) for values in groups]
            step_of = {bisect_left(edges, values[0]): k for k, values in enumerate(groups)}
            if column is None:
                numbers = np.full(len(frame), np.nan)
            else:
                numbers = np.asarray(pd_numeric(column), dtype=float)
            answered = ~np.isnan(numbers)
            steps_found = np.searchsorted(np.asarray(edges), numbers[answered], side="left")
            level = np.full(len(frame), -1)
            level[np.flatnonzero(answered)] = [step_of.get(int(s), -1) for s in steps_found]
            representative = []
            for k, values in enumerate(groups):
                here = level == k
                if here.any():  # the step's most common answer (by weight); ties: the smallest
                    found, codes = np.unique(numbers[here], return_inverse=True)
                    totals = np.bincount(codes, weights=weights[here])
                    representative.append(float(found[int(np.argmax(totals))]))
                else:
                    representative.append(values[0])
            answers: list[Any] = representative
        else:
            found = default_levels(item)
            answers = [a for a, _ in found]
            labels = [item.answer_label(a) for a in answers]
            index = {a: k for k, a in enumerate(answers)}
            if column is None:
                level = np.full(len(frame), -1)
            elif item.kind == "choice":
                level = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in column.tolist()])
            else:
                numbers = np.asarray(pd_numeric(column), dtype=float)
                level = np.array([index.get(v, -1) for v in numbers.tolist()])
        entry: dict[str, Any] = {"levels": [], "answered": {}, "weight": {}}
        probabilities = {}
        for role, mask in is_role.items():
            rows = mask & (level >= 0)
            totals = np.bincount(level[rows], weights=weights[rows], minlength=len(answers))
            smoothed = totals + prior
            probabilities[role] = smoothed / smoothed.sum()
            entry["answered"][role] = int(rows.sum())
            entry["weight"][role] = float(totals.sum())
        for k, answer in enumerate(answers):
            entry["levels"].append(
                {
                    "answer": answer,
                    "label": labels[k],
                    "swe": float(probabilities["swe"][k]),
                    "mle": float(probabilities["mle"][k]),
                }
            )
        items[item.id] = entry
    return {
        "schema": ANSWERS_SCHEMA,
        "basis": "training",
        "description": description or "P(answer level | role) of the training rows, weighted like training",
        "prior": prior,
        "rows": {role: int(mask.sum()) for role, mask in is_role.items()},
        "items": items,
    }


def pd_numeric(column: pd.Series) -> pd.Series:
    """A column as numbers (anything else as NaN)."""
    import pandas as pd

    return pd.to_numeric(column, errors="coerce")
