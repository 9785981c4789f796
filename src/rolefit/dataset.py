"""Combining sources and splitting them so that no respondent is in two splits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from rolefit.params import BuildParams

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


def sample_weights(frame: pd.DataFrame, params: BuildParams) -> np.ndarray:
    """Per-row weight from ``build.source_weights`` (sources not listed weigh 1)."""
    return frame["source"].map(lambda s: params.source_weights.get(s, 1.0)).to_numpy(dtype=float)


def synthetic_frame(params, root: str | Path = ".") -> pd.DataFrame:
    """The embedded default data: synthetic respondents calibrated by the committed survey marginals."""
    from rolefit.synthetic import generate, read_marginals

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
