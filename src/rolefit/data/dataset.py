"""Combining sources and splitting them so that no respondent is in two splits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from rolefit.config import BuildParams
from rolefit.data.ingest import ingest
from rolefit.data.synthetic import generate, read_marginals
from rolefit.instrument.items import DEMOGRAPHIC_FIELDS, load_instrument

SPLITS = ("train", "calibration", "validation", "test")


def assign_splits(frame: pd.DataFrame, params: BuildParams) -> pd.Series:
    """Split label per row, stratified by source and role, grouped by respondent.

    Rows sharing a ``respondent_id`` within a source always land in the same split. The assignment is
    a deterministic function of the seed and the ids (not of row order).
    """
    fractions = params.fractions
    shares = np.array([getattr(fractions, s) for s in SPLITS])
    edges = np.cumsum(shares)[:-1]
    out = pd.Series(index=frame.index, dtype=object)
    keys = frame["source"].astype(str) + "\x1f" + frame["respondent_id"].astype(str)
    first_role = frame.groupby(keys, sort=False)["role"].transform("first")
    for _, group in frame.groupby([frame["source"], first_role], sort=True):
        group_keys = keys.loc[group.index]
        unique = pd.unique(group_keys)
        # rank respondents by a seeded hash, then cut the ranking at the split fractions
        ranks = np.argsort(np.argsort([_hash(params.seed, k) for k in unique]))
        position = (ranks + 0.5) / len(unique)
        labels = np.array(SPLITS, dtype=object)[np.searchsorted(edges, position, side="right")]
        mapping = dict(zip(unique, labels, strict=True))
        out.loc[group.index] = group_keys.map(mapping).to_numpy()
    return out


def _hash(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "big")


def frame_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a frame (values and column names, not memory layout)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def labels(frame: pd.DataFrame) -> np.ndarray:
    """1 for ``mle``, 0 for ``swe``: the label of every row."""
    return (frame["role"].to_numpy() == "mle").astype(int)


def real_sources(
    params, frame: pd.DataFrame, role: str = "train", *, include_unweighted: bool = False
) -> list[str]:
    """The real sources in ``frame`` that are trained on (``role="train"``) or only evaluated.

    A source is trained on when its ``ingest.sources.<name>.role`` is ``train`` and its
    ``build.source_weights`` entry is above 0 (a weight of 0 keeps it out of training, so it is
    evaluated only); ``include_unweighted`` counts declared training sources whatever their weight. A
    real source missing from ``ingest.sources`` (a frame handed in directly) is declared ``train``;
    ``synthetic`` is never a real source.
    """
    out = []
    for source in sorted(frame["source"].unique()):
        if source == "synthetic":
            continue
        declared = params.ingest.sources.get(source)
        declared_role = declared.role if declared is not None else "train"
        weighted = params.build.source_weights.get(source, 1.0) > 0 or include_unweighted
        effective = "train" if declared_role == "train" and weighted else "evaluate"
        if effective == role:
            out.append(str(source))
    return out


def sample_weights(
    frame: pd.DataFrame, params: BuildParams, shares: dict[str, float] | None = None
) -> np.ndarray:
    """Per-row weight: ``build.source_weights`` times a prior correction per source and role.

    Sources sample the roles at very different rates (Stack Overflow 2017 has 4% ML specialists,
    Kaggle 2021 38% ML engineers). Without a correction a model that cannot see the source would mix
    those priors. Each source's rows are reweighted so that its weighted MLE share equals
    ``build.target_mle_share``; the model then learns P(role | answers) under one prior. ``shares``
    gives each source's MLE share (computed from ``frame`` when omitted).
    """
    source_weight = frame["source"].map(lambda s: params.source_weights.get(s, 1.0)).to_numpy(dtype=float)
    if shares is None:
        shares = mle_shares(frame)
    target = params.target_mle_share
    is_mle = (frame["role"] == "mle").to_numpy()
    share = frame["source"].map(shares).to_numpy(dtype=float)
    correction = np.where(is_mle, target / share, (1 - target) / (1 - share))
    return source_weight * correction


def mle_shares(frame: pd.DataFrame) -> dict[str, float]:
    """The MLE share of every source (clipped away from 0 and 1)."""
    shares = (frame["role"] == "mle").groupby(frame["source"]).mean()
    return {str(k): float(np.clip(v, 1e-3, 1 - 1e-3)) for k, v in shares.items()}


def synthetic_frame(params, root: str | Path = ".") -> pd.DataFrame:
    """The embedded default data: synthetic respondents calibrated by the committed survey marginals."""

    marginals = read_marginals(Path(root) / params.synthesize.marginals)
    return generate(params.synthesize, marginals)


def skip_at_random(
    frame: pd.DataFrame, items: list[str], keep_min: float, keep_max: float, seed: int
) -> pd.DataFrame:
    """A copy of ``frame`` where each row keeps each answer with a probability drawn from
    U(keep_min, keep_max); used to calibrate and evaluate on partial answer sets."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    keep = rng.uniform(keep_min, keep_max, len(frame))
    drop = rng.random((len(frame), len(items))) >= keep[:, None]
    for j, item in enumerate(items):
        if item not in out.columns:
            continue
        column = out[item].copy()
        column[drop[:, j]] = None if column.dtype == object else np.nan
        out[item] = column
    return out


def find_survey(params, name: str, root: str | Path = ".") -> Path | None:
    """The first existing file of survey source ``name`` in ``ingest.search_paths`` (or None)."""
    source = params.ingest.sources[name]
    for folder in params.ingest.search_paths:
        candidate = Path(root) / folder / source.file
        if candidate.is_file():
            return candidate
    return None


def survey_frames(params, root: str | Path = ".", log=lambda _: None) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Ingest every configured survey that is present; returns ``{source: (accepted rows, report)}``."""

    out = {}
    for name, source in params.ingest.sources.items():
        path = find_survey(params, name, root)
        if path is None:
            log(f"survey {name}: {source.file} not found in {', '.join(params.ingest.search_paths)}; skipped")
            continue
        result = ingest(path, source.adapter, source=name, member=source.member)
        report = result.report
        log(
            f"survey {name}: {report['accepted']:,} respondents from {path} "
            f"({report['quarantined']} quarantined, {report['duplicates']} duplicates, "
            f"{report['out_of_scope']:,} out of scope)"
        )
        out[name] = (result.accepted, report)
    return out


def combine(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack sources into one frame: every instrument item column present (missing where a source did
    not ask it), plus ``respondent_id``, ``source``, ``role``, demographics and ``p_true`` when known."""

    instrument = load_instrument()
    parts = []
    for name, frame in frames.items():
        part = pd.DataFrame(index=range(len(frame)))
        part["respondent_id"] = frame["respondent_id"].astype(str).to_numpy()
        part["source"] = name
        for item in instrument.items:
            if item.id in frame.columns:
                values = frame[item.id].to_numpy()
            else:
                values = np.full(len(frame), None if item.kind == "choice" else np.nan, dtype=object)
            part[item.id] = pd.Series(values, dtype=object if item.kind == "choice" else float)
        part["role"] = frame["role"].astype(str).to_numpy()
        for column in DEMOGRAPHIC_FIELDS:
            part[column] = frame[column].to_numpy() if column in frame.columns else None
        for column in ("p_true", "p_true_without_experience"):
            part[column] = frame[column].to_numpy() if column in frame.columns else np.nan
        parts.append(part)
    combined = pd.concat(parts, ignore_index=True)
    for item in instrument.items:
        if item.kind == "choice":
            combined[item.id] = combined[item.id].astype(object).where(combined[item.id].notna(), None)
    return combined


def build(frames: dict[str, pd.DataFrame], params) -> pd.DataFrame:
    """The training dataset: every source stacked (:func:`combine`) with its ``split`` assigned."""
    combined = combine({name: frame for name, frame in frames.items() if len(frame)})
    combined["split"] = assign_splits(combined, params.build).to_numpy()
    return combined


def training_frame(params, root: str | Path = ".", log=lambda _: None) -> tuple[pd.DataFrame, dict]:
    """Synthetic respondents plus every configured survey that is present; returns (frame, reports)."""
    frames = {"synthetic": synthetic_frame(params, root)}
    reports = {}
    for name, (accepted, report) in survey_frames(params, root, log).items():
        frames[name] = accepted
        reports[name] = report
    return build(frames, params), reports


def read_dataset(path: str | Path) -> pd.DataFrame:
    """Read a dataset written by the build stage, restoring None for skipped choice answers."""

    frame = pd.read_parquet(path)
    for item in load_instrument().items:
        if item.kind == "choice" and item.id in frame.columns:
            frame[item.id] = frame[item.id].astype(object).where(frame[item.id].notna(), None)
    return frame
