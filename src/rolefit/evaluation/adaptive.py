"""Adaptive questioning measured by simulation on held-out respondents.

Each held-out respondent is asked adaptively: the best question by expected information gain
(:func:`rolefit.guidance.questions.next_questions`), their own answer revealed, until
:func:`~rolefit.guidance.questions.settled` says the role is unlikely to change. Items the respondent
did not answer are never asked (real survey respondents answered only what their survey asked). The
result at the stop is compared with the result of all their answers: the share whose predicted role is
the same, the share whose verdict (clear / leaning / toss-up) is the same, and how many questions were
asked (median and 90th percentile) beside how many they answered in all. The curve gives the agreement
after a fixed number of questions, asked in the order of information gain or in the questionnaire's
order.

The stopping threshold is chosen on the synthetic *validation* split (:func:`choose_threshold`), and the
report measures it on the test split: a sample of synthetic respondents and every test respondent of
the real sources. Everything is seeded. Run it with ``python -m rolefit.evaluation.adaptive`` (writes
``reports/adaptive.json`` and ``reports/adaptive.md``); ``make bench`` runs it too.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rolefit.guidance.questions import SETTLE_ON, SETTLE_THRESHOLDS_OF, next_questions, settled
from rolefit.instrument.items import load_instrument
from rolefit.scoring.predictor import predict as predict_one

#: Stopping thresholds measured on every path (the rule stops at the first answer with
#: ``p_change < threshold``); the path's p_change is computed until it falls below the smallest.
THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2)
#: The stopping rules compared: on the role alone, or on the role and the verdict
#: (:func:`rolefit.guidance.questions.settled`'s ``on``), and the agreement each is judged by.
RULES = {"role": "role_agreement", "verdict": "verdict_agreement"}
#: The agreement a chosen threshold must reach on validation: the issue's 95% goal plus a point for the
#: sampling error of 2,000 respondents (about 0.5 points) and the step from validation to test.
TARGET_AGREEMENT = 0.96
#: Synthetic respondents sampled from a split (the real sources' test rows are all used).
SYNTHETIC_SAMPLE = 2000
SEED = 0
#: The goal of issue #16: agreement and median questions.
GOAL = {"agreement": 0.95, "median_questions": 15}


@dataclass(frozen=True)
class Interview:
    """One respondent asked adaptively, question by question, to the end of what they answered.

    ``roles[k - 1]`` / ``verdicts[k - 1]`` are the result after ``k`` questions in the order of
    information gain (``asked``), ``fixed_roles`` / ``fixed_verdicts`` after the first ``k`` of their
    answered items in the questionnaire's order; ``p_change["role"][k - 1]`` (``["verdict"]``: the role
    or the verdict) is :func:`settled`'s estimate after ``k`` questions (computed until both fall below
    the smallest threshold measured). ``breadth[k - 1]`` says whether the fit's breadth rule held after
    ``k`` questions (:mod:`rolefit.guidance.questions`; empty: always, as for the all-answers model):
    the rule stops only where it holds.
    """

    source: str
    full_role: str
    full_verdict: str
    asked: tuple[str, ...]
    roles: tuple[str, ...]
    verdicts: tuple[str, ...]
    p_change: Mapping[str, tuple[float, ...]]
    fixed_roles: tuple[str, ...]
    fixed_verdicts: tuple[str, ...]
    breadth: tuple[bool, ...] = ()

    @property
    def available(self) -> int:
        """How many items the respondent answered (all questions)."""
        return len(self.asked)

    def stop(self, threshold: float, on: str = "role") -> int:
        """The number of questions asked when stopping at the first ``p_change[on] < threshold`` where
        the breadth rule holds (all of them when there is none)."""
        for k, p in enumerate(self.p_change[on], start=1):
            if p < threshold and (k > len(self.breadth) or self.breadth[k - 1]):
                return k
        return self.available


def respondent_answers(row: Mapping[str, Any], items: Sequence[str]) -> dict[str, Any]:
    """A survey row's answered items (None and NaN mean not answered)."""
    out = {}
    for item in items:
        value = row.get(item)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out[item] = value
    return out


def simulate_person(
    answers: Mapping[str, Any],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
    source: str = "",
    smallest: float = min(THRESHOLDS),
    of: str = "all_answers",
) -> Interview:
    """Ask one respondent adaptively among the items in ``answers`` (their answers), to the end.

    ``of="fit"`` asks about the fit (the headline): only the respondent's fit items, chosen and stopped
    by the fit's gain and stopping rule, and judged by the fit's role and verdict; ``"all_answers"``
    (the default) does all of that for the all-answers model, over every item."""
    instrument = load_instrument()
    answers = dict(answers)
    if of == "fit":
        answers = {item: value for item, value in answers.items() if item in instrument.fit_ids}
    skipped = [item for item in instrument.ids if item not in answers]

    def predict(answers, model, base_rate):
        found = predict_one(answers, model=model, base_rate=base_rate)
        return found if of == "fit" else found.all_answers

    full = predict(answers, model=model, base_rate=base_rate)
    asked, roles, verdicts = [], [], []
    changes: dict[str, list[float]] = {"role": [], "verdict": []}
    breadth: list[bool] = []
    so_far: dict[str, Any] = {}
    watching = True
    pending: list[str] = []  # the other options of the multi-choice question being answered
    while len(so_far) < len(answers):
        if pending:
            item = pending.pop(0)
        else:
            best = next_questions(so_far, 1, model=model, base_rate=base_rate, skipped=skipped, of=of)[0]
            item = best.item
            # a multi-choice question is answered whole: its options follow, one step each
            pending = [o for o in best.options if o != item and o in answers and o not in so_far]
        so_far[item] = answers[item]
        asked.append(item)
        now = predict(so_far, model=model, base_rate=base_rate)
        roles.append(now.role)
        verdicts.append(now.verdict)
        if watching:
            found = settled(so_far, model=model, base_rate=base_rate, skipped=skipped, on="verdict", of=of)
            changes["role"].append(found.p_role_change)
            changes["verdict"].append(found.p_change)
            breadth.append(found.breadth)
            watching = max(found.p_role_change, found.p_change) >= smallest or not found.breadth
    fixed_roles, fixed_verdicts = [], []
    prefix: dict[str, Any] = {}
    for item in (i for i in instrument.ids if i in answers):
        prefix[item] = answers[item]
        now = predict(prefix, model=model, base_rate=base_rate)
        fixed_roles.append(now.role)
        fixed_verdicts.append(now.verdict)
    return Interview(
        source=source,
        full_role=full.role,
        full_verdict=full.verdict,
        asked=tuple(asked),
        roles=tuple(roles),
        verdicts=tuple(verdicts),
        p_change={rule: tuple(values) for rule, values in changes.items()},
        fixed_roles=tuple(fixed_roles),
        fixed_verdicts=tuple(fixed_verdicts),
        breadth=tuple(breadth) if of == "fit" else (),
    )


def simulate(
    people: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    model: str | os.PathLike | None = None,
    base_rate: float | None = None,
    of: str = "all_answers",
) -> list[Interview]:
    """:func:`simulate_person` for every ``(source, answers)`` with at least one answer (one fit answer
    for ``of="fit"``)."""
    fit_ids = set(load_instrument().fit_ids)
    return [
        simulate_person(answers, model=model, base_rate=base_rate, source=source, of=of)
        for source, answers in people
        if (answers if of == "all_answers" else fit_ids.intersection(answers))
    ]


def wilson(successes: int, n: int, z: float = 1.96) -> list[float]:
    """The 95% Wilson score interval of a share."""
    if n == 0:
        return [0.0, 1.0]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def summarise(paths: Sequence[Interview], threshold: float, on: str = "role") -> dict[str, Any]:
    """Agreement with the all-answers result and questions asked when stopping by rule ``on`` at
    ``threshold``."""
    if not paths:
        return {"n": 0}
    stops = np.array([path.stop(threshold, on) for path in paths])
    same_role = [path.roles[k - 1] == path.full_role for path, k in zip(paths, stops, strict=True)]
    same_verdict = [path.verdicts[k - 1] == path.full_verdict for path, k in zip(paths, stops, strict=True)]
    available = np.array([path.available for path in paths])
    estimated = [
        path.p_change[on][k - 1] if k <= len(path.p_change[on]) else 0.0
        for path, k in zip(paths, stops, strict=True)
    ]
    n = len(paths)
    return {
        "n": n,
        "on": on,
        "threshold": threshold,
        "role_agreement": sum(same_role) / n,
        "role_agreement_95": wilson(sum(same_role), n),
        "verdict_agreement": sum(same_verdict) / n,
        "verdict_agreement_95": wilson(sum(same_verdict), n),
        "questions_median": float(np.median(stops)),
        "questions_p90": float(np.percentile(stops, 90)),
        "questions_mean": float(stops.mean()),
        "all_questions_median": float(np.median(available)),
        "all_questions_p90": float(np.percentile(available, 90)),
        "stopped_early": float(np.mean(stops < available)),
        "mean_estimated_p_change_at_stop": float(np.mean(estimated)),
    }


def curve(paths: Sequence[Interview], most: int | None = None) -> list[dict[str, float]]:
    """Agreement with the all-answers role and verdict after ``k`` questions (or all of a respondent's
    answers when they gave fewer), asked by information gain and in the questionnaire's order."""
    if not paths:
        return []
    most = most or max(path.available for path in paths)
    out = []
    for k in range(1, most + 1):
        row: dict[str, float] = {"questions": k}
        for name, roles, verdicts in (
            ("adaptive", "roles", "verdicts"),
            ("questionnaire", "fixed_roles", "fixed_verdicts"),
        ):
            role = verdict = 0
            for path in paths:
                at = min(k, path.available) - 1
                role += getattr(path, roles)[at] == path.full_role
                verdict += getattr(path, verdicts)[at] == path.full_verdict
            row[f"{name}_role"] = role / len(paths)
            row[f"{name}_verdict"] = verdict / len(paths)
        out.append(row)
    return out


def choose_threshold(
    paths: Sequence[Interview],
    thresholds: Sequence[float] = THRESHOLDS,
    target: float = TARGET_AGREEMENT,
    on: str = "role",
) -> tuple[float, list[dict[str, Any]]]:
    """The largest threshold whose agreement on ``paths`` (the validation split) reaches ``target``
    (the smallest measured when none does), and every threshold's summary. The rule ``on="role"`` is
    judged by role agreement, ``on="verdict"`` by verdict agreement."""
    table = [summarise(paths, t, on) for t in sorted(thresholds)]
    reaching = [row["threshold"] for row in table if row[RULES[on]] >= target]
    return (max(reaching) if reaching else min(thresholds)), table


def held_out(frame, split: str, n_synthetic: int = SYNTHETIC_SAMPLE, seed: int = SEED, sources=None):
    """``(source, answers)`` of the respondents of ``split``: a seeded sample of ``n_synthetic``
    synthetic ones and every respondent of the other sources (all of ``sources`` when given)."""
    items = list(load_instrument().ids)
    rows = frame[frame["split"] == split]
    out = []
    for source in sorted(rows["source"].unique()):
        if sources is not None and source not in sources:
            continue
        part = rows[rows["source"] == source]
        if source == "synthetic" and len(part) > n_synthetic:
            part = part.sample(n=n_synthetic, random_state=seed)
        for record in part[[c for c in items if c in part.columns]].to_dict(orient="records"):
            out.append((str(source), respondent_answers(record, items)))
    return out


def run(
    frame,
    *,
    model: str | os.PathLike | None = None,
    n_synthetic: int = SYNTHETIC_SAMPLE,
    thresholds: Mapping[str, float] | None = None,
    choose: bool = True,
    log=lambda _: None,
    of: str = "all_answers",
) -> dict[str, Any]:
    """The whole simulation report: each rule's threshold chosen on validation (when ``choose``), then
    the test split measured at ``thresholds`` (default: ``of``'s thresholds in
    :data:`rolefit.guidance.questions.SETTLE_THRESHOLDS_OF`, the ones rolefit uses); the tables show what
    every threshold would give. ``of="fit"`` simulates the fit (synthetic respondents only: real ones
    answered no fit item).
    """
    from rolefit.scoring.loader import load_model

    started = time.perf_counter()
    loaded = load_model(model)
    thresholds = {**SETTLE_THRESHOLDS_OF[of], **(thresholds or {})}
    report: dict[str, Any] = {
        "model_version": loaded.version,
        "answer_model": loaded.answer_distributions.basis,
        "answer_model_description": loaded.answer_distributions.description,
        "rule": SETTLE_ON,
        "of": of,
        "thresholds": thresholds,
        "goal": GOAL,
        "seed": SEED,
        "rules": {on: {"threshold": thresholds[on], "judged_by": metric} for on, metric in RULES.items()},
    }
    if choose:
        log(f"validation: {n_synthetic:,} synthetic respondents")
        people = held_out(frame, "validation", n_synthetic, sources={"synthetic"})
        validation = simulate(people, model=model, of=of)
        for on, metric in RULES.items():
            chosen, table = choose_threshold(validation, on=on)
            report["rules"][on]["choice"] = {
                "split": "validation",
                "source": "synthetic",
                "n": len(validation),
                "target": TARGET_AGREEMENT,
                "chosen": chosen,
                "by_threshold": table,
            }
            log(
                f"  rule {on}: threshold reaching {TARGET_AGREEMENT:.0%} {metric.replace('_', ' ')}: {chosen}"
            )
    log(f"test: {n_synthetic:,} synthetic respondents and every real test respondent")
    sources = {"synthetic"} if of == "fit" else None
    paths = simulate(held_out(frame, "test", n_synthetic, sources=sources), model=model, of=of)
    sources = sorted({path.source for path in paths})
    report["curves"] = {}
    for on in RULES:
        report["rules"][on]["sources"] = {}
        report["rules"][on]["by_threshold"] = {}
    for source in sources:
        mine = [path for path in paths if path.source == source]
        report["curves"][source] = curve(mine)
        for on in RULES:
            s = report["rules"][on]["sources"][source] = summarise(mine, thresholds[on], on)
            report["rules"][on]["by_threshold"][source] = [summarise(mine, t, on) for t in THRESHOLDS]
            log(
                f"  {source}, rule {on} at {thresholds[on]:g}: n {s['n']:,}, role agreement "
                f"{s['role_agreement']:.1%}, verdict agreement {s['verdict_agreement']:.1%}, "
                f"questions median {s['questions_median']:g} / p90 {s['questions_p90']:g} "
                f"(all: {s['all_questions_median']:g})"
            )
    report["sources"] = report["rules"][SETTLE_ON]["sources"]
    report["seconds"] = time.perf_counter() - started
    report["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report["machine"] = {"cores": os.cpu_count(), "load_average": list(os.getloadavg())}
    return report


NAMES = {"synthetic": "synthetic (test split sample)", "kaggle2021": "Kaggle 2021 (test split)",
         "stackoverflow2017": "Stack Overflow 2017 (test split)"}  # fmt: skip
RULE_WORDS = {
    "role": "the estimated probability that answering every remaining item changes the predicted role",
    "verdict": "the estimated probability that answering every remaining item changes the predicted role "
    "or the verdict (clear / leaning / toss-up)",
}


def markdown(report: Mapping[str, Any]) -> str:
    """``adaptive.md``: each rule's results, its threshold choice, and the curves."""
    lines = [
        "# Adaptive questioning: simulation on held-out respondents",
        "",
        f"Model {report['model_version']}; answer model: {report['answer_model_description']}. Measured "
        f"{report['measured_at']} on {report['machine']['cores']} cores in {report['seconds']:.0f} s. Goal: "
        f"at least {GOAL['agreement']:.0%} agreement with the all-answers result at a median of at most "
        f"{GOAL['median_questions']} questions. rolefit stops by the rule on the **{report['rule']}**.",
    ]
    for on, rule in report["rules"].items():
        lines += [
            "",
            f"## Stopping on the {on}: stop when {RULE_WORDS.get(on, on)} is below {rule['threshold']:g}",
            "",
            "| respondents | n | same role as all answers | same verdict | questions: median / p90 "
            "| all questions: median / p90 |",
            "|---|---|---|---|---|---|",
        ]
        for source, s in rule.get("sources", {}).items():
            low, high = s["role_agreement_95"]
            vlow, vhigh = s["verdict_agreement_95"]
            lines.append(
                f"| {NAMES.get(source, source)} | {s['n']:,} | {s['role_agreement']:.1%} "
                f"({low:.1%}–{high:.1%}) | {s['verdict_agreement']:.1%} ({vlow:.1%}–{vhigh:.1%}) | "
                f"{s['questions_median']:g} / {s['questions_p90']:g} | "
                f"{s['all_questions_median']:g} / {s['all_questions_p90']:g} |"
            )
        choice = rule.get("choice")
        if choice:
            judged = rule["judged_by"].replace("_", " ")
            lines += [
                "",
                f"Every threshold on the synthetic validation split ({choice['n']:,} respondents); the "
                f"largest reaching {choice['target']:.0%} {judged}: **{choice['chosen']:g}**.",
                "",
                "| threshold | same role | same verdict | questions: median / p90 "
                "| mean estimated P(change) at stop |",
                "|---|---|---|---|---|",
            ]
            for row in choice["by_threshold"]:
                lines.append(
                    f"| {row['threshold']:g} | {row['role_agreement']:.1%} | "
                    f"{row['verdict_agreement']:.1%} | {row['questions_median']:g} / "
                    f"{row['questions_p90']:g} | {row['mean_estimated_p_change_at_stop']:.3f} |"
                )
    for source, rows in report["curves"].items():
        lines += [
            "",
            f"## Fixed number of questions: {NAMES.get(source, source)}",
            "",
            "Agreement with the all-answers role (verdict) after k questions, asked by information gain "
            "or in the questionnaire's order (a respondent who answered fewer than k items: all of them).",
            "",
            "| k | by information gain | questionnaire order |",
            "|---|---|---|",
        ]
        for row in rows:
            k = int(row["questions"])
            if k <= 20 or k % 4 == 0 or k == len(rows):
                lines.append(
                    f"| {k} | {row['adaptive_role']:.1%} ({row['adaptive_verdict']:.1%}) | "
                    f"{row['questionnaire_role']:.1%} ({row['questionnaire_verdict']:.1%}) |"
                )
    return "\n".join(lines) + "\n"


def write(report: Mapping[str, Any], out_dir: str | os.PathLike) -> dict[str, Path]:
    """``adaptive.json`` and ``adaptive.md`` in ``out_dir``."""
    from rolefit import atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "adaptive.json", "md": out / "adaptive.md"}
    atomic.write_text(paths["json"], json.dumps(report, indent=2, sort_keys=True) + "\n")
    atomic.write_text(paths["md"], markdown(report))
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    from rolefit.data.dataset import read_dataset

    parser = argparse.ArgumentParser(
        prog="python -m rolefit.evaluation.adaptive", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--model",
        default=None,
        help="bundle folder (default: as rolefit.predict chooses: ROLEFIT_MODEL, the project's champion, "
        "the packaged model)",
    )
    parser.add_argument(
        "--dataset", default="data/processed/dataset.parquet", help="the build stage's dataset"
    )
    parser.add_argument("--out", default="reports", help="folder for adaptive.json and adaptive.md")
    parser.add_argument(
        "--synthetic", type=int, default=SYNTHETIC_SAMPLE, help="synthetic respondents per split"
    )
    parser.add_argument("--role-threshold", type=float, default=None, help="the role rule's threshold")
    parser.add_argument("--verdict-threshold", type=float, default=None, help="the verdict rule's threshold")
    parser.add_argument("--no-choose", action="store_true", help="skip the validation run")
    parser.add_argument(
        "--of", choices=("all_answers", "fit"), default="all_answers", help="which answer to simulate"
    )
    args = parser.parse_args(argv)
    frame = read_dataset(args.dataset)
    report = run(
        frame,
        model=args.model,
        n_synthetic=args.synthetic,
        thresholds={
            on: value
            for on, value in (("role", args.role_threshold), ("verdict", args.verdict_threshold))
            if value is not None
        },
        choose=not args.no_choose,
        log=lambda message: print(message, flush=True),
        of=args.of,
    )
    for path in write(report, args.out).values():
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
