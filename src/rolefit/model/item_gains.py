"""Which multi-choice questions of Kaggle 2021 pay their way (issue #26 item 2): each one's gain in
cross-validated log loss, measured with the shipped model's own real block.

Every candidate question of :data:`~rolefit.data.adapters.kaggle2021.KAGGLE_TOOL_QUESTIONS` (ML methods,
frameworks by name, IDEs, hosted notebooks, NLP methods, course platforms, cloud platforms) is tried the
same way: on the non-test Kaggle 2021 rows (the test split is never looked at), a
:class:`~rolefit.model.evidence.RealEvidenceBlock` on the real items that are not tools questions is
compared with one that also reads the question's yes/no items. Both are scored out of fold on the *same*
folds, so every respondent gives one paired difference of log loss; the gain is their weighted mean and
its interval a bootstrap of respondents (the pairs stay together). The block chooses its own penalty
and calibration inside every training fold, as training does: the gain is the shipped model's, not a
plain logistic regression's. A question is kept - asked by the instrument and read by the all-answers
model - only when the whole interval lies above 0 (it lowers log loss beyond what chance explains).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from rolefit.data.adapters.kaggle2021 import KAGGLE_TOOL_QUESTIONS
from rolefit.instrument.items import Instrument, Item, Question, load_instrument

GAINS_SOURCE = "kaggle2021"


def candidate_instrument(instrument: Instrument | None = None) -> Instrument:
    """The shipped instrument plus every candidate question it does not ask, as yes/no tools items.

    A candidate's items are binary, lean none, ``part: experience`` - exactly as a kept question's are -
    so the block measures a candidate the way it would ship.
    """
    instrument = instrument or load_instrument()
    items = list(instrument.items)
    questions = list(instrument.questions)
    asked = {q.id for q in questions}
    for question, (_, tools) in KAGGLE_TOOL_QUESTIONS.items():
        if question in asked:
            continue
        new = [
            Item(
                id=i,
                group="tools",
                kind="binary",
                text=i,
                topic=i,
                lean="none",
                part="experience",
                question=question,
            )
            for i in tools
            if i not in instrument
        ]
        items.extend(new)
        questions.append(
            Question(id=question, group="tools", text=question, topic=question, items=tuple(tools))
        )
    return replace(
        instrument, items=tuple(items), questions=tuple(questions), sha256=f"{instrument.sha256}+candidates"
    )


def _log_losses(block_factory, x: pd.DataFrame, y: np.ndarray, w: np.ndarray, folds) -> np.ndarray:
    """Out-of-fold log loss of every row (each row scored by a block fitted without its fold)."""
    p = np.zeros(len(y))
    for train, held in folds:
        block = block_factory().fit(x.iloc[train], y[train], w[train])
        p[held] = block.predict_proba(x.iloc[held])[:, 1]
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def question_gains(
    rows: pd.DataFrame,
    base_items: Sequence[str],
    *,
    base_log_odds: float,
    weights: np.ndarray,
    alphas: Sequence[float],
    inner_folds: int,
    folds: int = 5,
    seed: int = 0,
    bootstrap: int = 2000,
    level: float = 0.95,
    questions: Sequence[str] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Every candidate question's paired cross-validated gain in log loss (see the module docstring).

    ``rows`` are the real respondents to measure on (non-test rows, answers to ``base_items`` and to
    every candidate item); ``weights`` their training weights. Returns the base block's out-of-fold log
    loss and, per question, ``gain`` (base minus with-question, > 0 is better), ``low``/``high``,
    ``log_loss`` with the question, the respondents who answered it and ``kept``.
    """
    from sklearn.model_selection import StratifiedKFold

    from rolefit.model.evidence import RealEvidenceBlock

    instrument = candidate_instrument()
    chosen = list(questions) if questions is not None else list(KAGGLE_TOOL_QUESTIONS)
    rows = rows.reset_index(drop=True)
    y = (rows["role"].to_numpy() == "mle").astype(int)
    w = np.asarray(weights, dtype=float)
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, y))

    def factory(items):
        return lambda: RealEvidenceBlock(
            items=tuple(items), base_log_odds=base_log_odds, alphas=tuple(alphas),
            n_folds=inner_folds, seed=seed, instrument=instrument,
        )  # fmt: skip

    base = _log_losses(factory(base_items), rows, y, w, splits)
    base_loss = float(np.average(base, weights=w))
    log(f"item gains: base block ({len(base_items)} items) out-of-fold log loss {base_loss:.4f}")
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(y), len(y)) for _ in range(bootstrap)]
    out: dict[str, Any] = {}
    for question in chosen:
        items = tuple(KAGGLE_TOOL_QUESTIONS[question][1])
        with_question = _log_losses(factory((*base_items, *items)), rows, y, w, splits)
        difference = base - with_question
        gain = float(np.average(difference, weights=w))
        boot = np.array([np.average(difference[d], weights=w[d]) for d in draws])
        low, high = (float(v) for v in np.percentile(boot, [(1 - level) / 2 * 100, (1 + level) / 2 * 100]))
        answered = int(rows[list(items)].notna().any(axis=1).sum())
        out[question] = {
            "items": list(items),
            "respondents": answered,
            "log_loss": float(np.average(with_question, weights=w)),
            "gain": gain,
            "low": low,
            "high": high,
            "kept": bool(low > 0),
        }
        log(
            f"  {question}: gain {gain:+.4f} ({low:+.4f} to {high:+.4f}), {'kept' if low > 0 else 'not kept'}"
        )
    return {
        "source": GAINS_SOURCE,
        "rows": len(y),
        "folds": folds,
        "level": level,
        "base_items": list(base_items),
        "base_log_loss": base_loss,
        "questions": out,
    }


def format_gains(gains: dict[str, Any]) -> str:
    """The gains as a Markdown report (reports/item_gains.md)."""
    level = round(gains["level"] * 100)
    lines = [
        "# Tools questions: cross-validated gain in log loss",
        "",
        f"Kaggle 2021 non-test respondents ({gains['rows']:,}), {gains['folds']}-fold cross-validation of "
        f"the all-answers model's real block, paired (same folds); {level}% bootstrap interval "
        f"of respondents. "
        f"Base: the {len(gains['base_items'])} real items that are not tools questions, out-of-fold log loss "
        f"{gains['base_log_loss']:.4f}. A question is kept when its whole interval is above 0.",
        "",
        "| question | items | respondents | log loss with it | gain | interval | kept |",
        "|---|---|---|---|---|---|---|",
    ]
    for question, g in gains["questions"].items():
        lines.append(
            f"| {question} | {len(g['items'])} | {g['respondents']:,} | {g['log_loss']:.4f} "
            f"| {g['gain']:+.4f} | {g['low']:+.4f} to {g['high']:+.4f} | {'yes' if g['kept'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def survey_rows(params, root=".") -> pd.DataFrame | None:
    """Kaggle 2021's ingested respondents (with the training run's splits) plus every candidate item.

    The rows are ingest's (validated, de-duplicated) and the split is the one training assigns; the
    candidate items, which ingest drops unless the instrument asks them, come from the adapter. None
    when the survey is not found.
    """
    from rolefit.data.adapters.kaggle2021 import read_kaggle_2021
    from rolefit.data.dataset import build, find_survey
    from rolefit.data.ingest import ingest

    path = find_survey(params, GAINS_SOURCE, root)
    if path is None:
        return None
    source = params.ingest.sources[GAINS_SOURCE]
    accepted = ingest(path, source.adapter, source=GAINS_SOURCE, member=source.member).accepted
    candidates = [i for _, tools in KAGGLE_TOOL_QUESTIONS.values() for i in tools]
    raw = read_kaggle_2021(path, member=source.member).rows
    extra = raw.set_index("respondent_id")[candidates].astype(float)
    frame = build({GAINS_SOURCE: accepted}, params)
    frame = frame.drop(columns=[c for c in candidates if c in frame.columns])
    return frame.join(extra, on="respondent_id")


def measure_item_gains(
    params, root=".", log: Callable[[str], None] = lambda _: None
) -> dict[str, Any] | None:
    """:func:`question_gains` on Kaggle 2021's non-test rows, as training would weight them (None without
    the survey)."""
    from scipy.special import logit

    from rolefit.data.dataset import mle_shares, sample_weights
    from rolefit.model.evidence import measured_items

    frame = survey_rows(params, root)
    if frame is None:
        log(f"item gains: survey {GAINS_SOURCE} not found; nothing measured")
        return None
    instrument = load_instrument()
    dev = frame.loc[(frame["split"] != "test").to_numpy()]
    evidence = params.train.real_evidence
    not_tools = [i for i in instrument.ids if instrument[i].group != "tools"]
    base_items = list(measured_items(dev, [GAINS_SOURCE], not_tools, evidence.min_respondents))
    weights = sample_weights(dev, params.build, mle_shares(frame))
    settings = params.item_gains
    return question_gains(
        dev,
        base_items,
        base_log_odds=float(logit(params.build.target_mle_share)),
        weights=weights,
        alphas=evidence.alphas,
        inner_folds=evidence.folds,
        folds=settings.folds,
        seed=settings.seed,
        bootstrap=settings.bootstrap,
        level=settings.level,
        log=log,
    )


def write_item_gains(params, root=".", log: Callable[[str], None] = print) -> list[str]:
    """Measure the gains and write ``item_gains.out``.json and .md; the paths written (none without the
    survey, the committed reports then stay as they are)."""
    import json
    from pathlib import Path

    from rolefit import atomic

    gains = measure_item_gains(params, root, log)
    if gains is None:
        return []
    out = Path(root) / params.item_gains.out
    json_path, md_path = out.with_suffix(".json"), out.with_suffix(".md")
    atomic.write_text(json_path, json.dumps(gains, indent=1) + "\n")
    atomic.write_text(md_path, format_gains(gains))
    return [str(json_path), str(md_path)]


def read_item_gains(path) -> dict[str, Any] | None:
    """The gains report at ``path`` (reports/item_gains.json), or None when there is none."""
    import json
    from pathlib import Path

    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None
