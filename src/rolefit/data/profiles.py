r"""Experience profiles: how a survey's experience answers hang together, for the synthetic generator.

Matching each experience item's role-conditional rates (the marginals) is not enough for the
synthetic data to teach real relationships: in the Kaggle 2021 survey the items are correlated (people
who use several ML frameworks also build ML services), so what one item says about the role depends on
the others. A model learning from items drawn independently learns the wrong weights for real people.

This module keeps the joint structure in a small, committed form:

* :func:`fit_profiles` fits a latent-class model to the answers of all respondents, roles pooled: *K*
  profiles, each with a weight :math:`\pi_k` and an independent distribution :math:`C_{kj}` over the
  levels of every item *j* (EM; skipped answers are left out of the likelihood).
* :func:`tilt` turns the pooled profiles into the answer distribution of one role: the distribution
  closest to the pooled one (smallest Kullback-Leibler divergence) whose item rates equal that role's
  marginals,

  .. math:: P_r(b) \propto \sum_k \pi_k \prod_j C_{kj}(b_j)\, e^{u_{rj}(b_j)},

  with the tilts :math:`u_{rj}` found by iterative proportional fitting. Because both roles share the
  profiles, :math:`\log P_{mle}(b) / P_{swe}(b) = \sum_j (u_{mle,j} - u_{swe,j})(b_j) + \text{const}`:
  the evidence of a whole answer set is additive in the items, as the candidate models assume.
* :meth:`RoleAnswers.sample` draws answer sets; :meth:`RoleAnswers.log_likelihood` gives
  :math:`\log P_r(\text{answered items})` with skipped items summed out (exactly: each tilted profile
  is a product of per-item distributions), so the synthetic ``p_true`` stays the exact posterior.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Largest tolerated gap between a tilted role's item rates and its marginals.
TILT_TOLERANCE = 1e-6

PROFILES_HEADER = (
    "# Experience profiles: a {k}-class latent-class model of the experience answers, roles pooled "
    "(weights in the _weight row, then each item's level shares per profile).\n"
    "# Source: Kaggle Machine Learning & Data Science Survey 2021, training split (Q5 Software Engineer "
    "n={swe} -> swe, Machine Learning Engineer n={mle} -> mle).\n"
    '# Licence: CC BY 2.0; attribution "Kaggle ML & DS Survey 2021". Regenerate with the marginals stage '
    "(dvc repro marginals).\n"
)


def level_string(value: object) -> str:
    """The level label of an answer: choice ids as they are, numbers as ``f"{v:g}"`` (1.0 -> "1")."""
    return value if isinstance(value, str) else f"{float(value):g}"


@dataclass(frozen=True)
class Profiles:
    """A latent-class model of the experience answers (roles pooled).

    ``levels[item]`` lists the level labels of each item; ``shares[item]`` is a (K, levels) array of
    each profile's distribution over them; ``weights`` the K profile weights.
    """

    items: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    weights: np.ndarray
    shares: dict[str, np.ndarray]
    source: str = ""

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Integer level codes of ``frame``'s answers (-1 where skipped or not a known level)."""
        out = np.full((len(frame), len(self.items)), -1, dtype=int)
        for j, item in enumerate(self.items):
            index = {level: k for k, level in enumerate(self.levels[item])}
            values = frame[item].to_numpy(dtype=object)
            out[:, j] = [
                -1 if v is None or (isinstance(v, float) and np.isnan(v)) else index.get(level_string(v), -1)
                for v in values
            ]
        return out

    def values(self, item: str, codes: np.ndarray, numeric: bool) -> np.ndarray:
        """Answers of ``item`` for level codes (numbers as floats when ``numeric``)."""
        labels = np.array(self.levels[item], dtype=object)[codes]
        return labels.astype(float) if numeric else labels


def fit_profiles(
    frame: pd.DataFrame, items: list[str], n_profiles: int, *, seed: int = 0, max_iter: int = 2000
) -> Profiles:
    """Fit the latent-class model to ``frame`` (one row per respondent) by EM.

    Levels are those seen in ``frame`` (binary items always have "0" and "1"). A Dirichlet(0.5) prior
    on every distribution keeps rare levels away from zero. The result is deterministic for a seed;
    profiles are ordered by weight.
    """
    levels = {}
    for item in items:
        seen = [level_string(v) for v in frame[item].dropna().unique()]
        numeric = all(_is_number(s) for s in seen)
        levels[item] = tuple(sorted(set(seen), key=float if numeric else None))
    empty = Profiles(tuple(items), levels, np.ones(1), {i: np.ones((1, len(levels[i]))) for i in items})
    codes = empty.codes(frame)
    sizes = [len(levels[i]) for i in items]
    rng = np.random.default_rng(seed)
    weights = np.full(n_profiles, 1.0 / n_profiles)
    shares = [rng.dirichlet(np.full(size, 5.0), size=n_profiles) for size in sizes]
    previous = -np.inf
    for _ in range(max_iter):
        log_r = _log_joint(codes, weights, shares)
        top = log_r.max(axis=1, keepdims=True)
        r = np.exp(log_r - top)
        total = r.sum(axis=1, keepdims=True)
        log_likelihood = float((np.log(total) + top).sum())
        r /= total
        weights = r.sum(axis=0) + 1e-3
        weights /= weights.sum()
        for j, size in enumerate(sizes):
            answered = codes[:, j] >= 0
            counts = np.full((n_profiles, size), 0.5 / size)
            np.add.at(counts.T, codes[answered, j], r[answered])
            shares[j] = counts / counts.sum(axis=1, keepdims=True)
        if log_likelihood - previous < 1e-7 * abs(log_likelihood):
            break
        previous = log_likelihood
    order = np.argsort(-weights, kind="stable")
    return Profiles(
        items=tuple(items),
        levels=levels,
        weights=weights[order],
        shares={item: shares[j][order] for j, item in enumerate(items)},
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _log_joint(codes: np.ndarray, weights: np.ndarray, shares: list[np.ndarray]) -> np.ndarray:
    """log(weight_k * prod over answered items of share_kj(code)), per row and profile."""
    out = np.tile(np.log(weights), (codes.shape[0], 1))
    for j, table in enumerate(shares):
        answered = codes[:, j] >= 0
        out[answered] += np.log(table[:, codes[answered, j]]).T
    return out


@dataclass(frozen=True)
class RoleAnswers:
    """The experience-answer distribution of one role: the shared profiles, tilted (:func:`tilt`)."""

    profiles: Profiles
    weights: np.ndarray
    shares: list[np.ndarray]
    max_error: float

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` answer sets as level codes (n, items)."""
        profile = rng.choice(len(self.weights), size=n, p=self.weights)
        out = np.empty((n, len(self.shares)), dtype=int)
        for j, table in enumerate(self.shares):
            cumulative = np.cumsum(table, axis=1)[profile]
            draws = rng.random(n)[:, None]
            out[:, j] = np.minimum((draws > cumulative).sum(axis=1), table.shape[1] - 1)
        return out

    def log_likelihood(self, codes: np.ndarray) -> np.ndarray:
        """log P(answered items) per row; skipped items (code -1) are summed out."""
        log_r = _log_joint(codes, self.weights, self.shares)
        top = log_r.max(axis=1, keepdims=True)
        return np.log(np.exp(log_r - top).sum(axis=1)) + top[:, 0]


def tilt(profiles: Profiles, targets: dict[str, np.ndarray], *, max_sweeps: int = 2000) -> RoleAnswers:
    """The distribution closest to ``profiles`` whose item rates are ``targets`` (one role's marginals).

    ``targets[item]`` is a distribution over ``profiles.levels[item]``. Solved by iterative proportional
    fitting of one additive tilt per item; raises if the rates cannot be met.
    """
    tilts = [np.zeros(len(profiles.levels[item])) for item in profiles.items]
    wanted = [np.clip(np.asarray(targets[item], float), 1e-9, None) for item in profiles.items]
    wanted = [w / w.sum() for w in wanted]
    error = np.inf
    for _ in range(max_sweeps):
        error = 0.0
        for j in range(len(tilts)):
            weights, shares = _tilted(profiles, tilts)
            rates = weights @ shares[j]
            gap = float(np.abs(rates - wanted[j]).max())
            if not np.isfinite(gap) or (rates <= 0).any():
                error = np.inf
                break
            error = max(error, gap)
            tilts[j] = tilts[j] + np.log(wanted[j] / rates)
        if error < TILT_TOLERANCE or not np.isfinite(error):
            break
    if not error < TILT_TOLERANCE * 100:
        raise ValueError(
            f"The experience profiles cannot reproduce the marginals (largest gap {error:.2g}); "
            "regenerate both with the marginals stage."
        )
    weights, shares = _tilted(profiles, tilts)
    return RoleAnswers(profiles=profiles, weights=weights, shares=shares, max_error=error)


def _tilted(profiles: Profiles, tilts: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    raw = [profiles.shares[item] * np.exp(tilts[j])[None, :] for j, item in enumerate(profiles.items)]
    mass = np.stack([table.sum(axis=1) for table in raw], axis=1)
    log_weights = np.log(profiles.weights) + np.log(mass).sum(axis=1)
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    return weights, [table / mass[:, [j]] for j, table in enumerate(raw)]


def profiles_path(marginals_path: str | Path) -> Path:
    """The experience-profiles file committed beside a marginals file (``<name>.profiles.csv``)."""
    path = Path(marginals_path)
    return path.with_name(f"{path.stem}.profiles.csv")


def format_profiles(profiles: Profiles, counts: dict[str, int]) -> str:
    """The profiles CSV, with its source and licence header (``counts``: respondents per role)."""
    k = len(profiles.weights)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["item", "level", *(f"profile_{i}" for i in range(k))])
    writer.writerow(["_weight", "", *(f"{w:.6f}" for w in profiles.weights)])
    for item in profiles.items:
        for index, level in enumerate(profiles.levels[item]):
            writer.writerow([item, level, *(f"{s:.6f}" for s in profiles.shares[item][:, index])])
    header = PROFILES_HEADER.format(k=k, swe=counts.get("swe", 0), mle=counts.get("mle", 0))
    return header + buffer.getvalue()


def read_profiles(path: str | Path) -> Profiles:
    """Read a profiles CSV (:func:`format_profiles`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"The experience profiles file {path} is missing; it is committed beside the survey marginals "
            "and regenerated by the marginals stage (dvc repro marginals)."
        )
    source, rows = [], []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("#"):
            source.append(line[1:].strip())
        else:
            rows.append(line)
    reader = csv.reader(rows)
    next(reader)
    weights = None
    columns: dict[str, list[tuple[str, list[float]]]] = {}
    for row in reader:
        values = [float(v) for v in row[2:]]
        if row[0] == "_weight":
            weights = np.array(values)
        else:
            columns.setdefault(row[0], []).append((row[1], values))
    if weights is None:
        raise ValueError(f"The experience profiles file {path} has no _weight row.")
    return Profiles(
        items=tuple(columns),
        levels={item: tuple(level for level, _ in entries) for item, entries in columns.items()},
        weights=weights / weights.sum(),
        shares={item: _normalised(np.array([v for _, v in entries]).T) for item, entries in columns.items()},
        source=" ".join(source),
    )


def _normalised(table: np.ndarray) -> np.ndarray:
    return table / table.sum(axis=1, keepdims=True)
