r"""Synthetic respondents from a latent-trait model, with experience items calibrated to real surveys.

The model
---------
Every respondent *i* has four latent traits, drawn jointly normal with unit variances and the
correlations of ``params.synthesize.trait_correlations``:

.. math:: \theta_i = (\text{builder}, \text{analytical}, \text{research}, \text{pace}) \sim N(0, \Sigma)

*pace* is the wish for fast, predictable, broadly useful work. The true probability that the person fits
MLE better than SWE is a logistic function of the traits, and the role is drawn from it:

.. math:: p^{true}_i = \sigma(b_0 + w^\top \theta_i), \qquad role_i \sim \text{Bernoulli}(p^{true}_i)

Every item reads the role *tendency*, never the drawn role: item *j* gets its own draw
:math:`s_{ij} = \pm 1` with :math:`P(s_{ij} = +1) = p^{true}_i`. Items are therefore independent of
the role given the traits, and ``p_true`` is the Bayes-optimal prediction from everything a respondent
could answer: no model can beat its log loss in expectation, so "log loss / Bayes log loss" is an
honest measure of what is left to learn. A 1-5 item *j* (interest, skill, preference) is a noisy
reading of the traits and of the role tendency, through the person's response style:

.. math::
    y^*_{ij} = \lambda_j^\top \theta_i + \gamma\, \ell_j\, s_{ij} + \varepsilon_{ij},
    \quad \varepsilon_{ij} \sim N(0, \sigma^2)

.. math:: y_{ij} = e_i\, y^*_{ij} + a_i + c_j, \qquad x_{ij} = 1 + \#\{k : y_{ij} > \tau_k\}

with loadings :math:`\lambda_j` (table ``LOADINGS``), the item's lean :math:`\ell_j \in \{-1, 0, +1\}`
(swe, none, mle), role effect :math:`\gamma` (``role_effect``), extremity :math:`e_i = \exp(N(0,
\text{extremity\_sd}^2))`, acquiescence :math:`a_i \sim N(0, \text{acquiescence\_sd}^2)` (added to
agreement items only), an item offset :math:`c_j` per scale and four cut points :math:`\tau`.

The career goal is the choice with the highest random utility
:math:`u_{ic} = \kappa_c^\top \theta_i + \gamma_g \ell_c s_{ij} + \text{Gumbel}` (``undecided`` has a
constant utility). The experience items (years, education, languages, frameworks, activities) are drawn
from their own draw of a sharper role tendency
:math:`r'_{ij} \sim \text{Bernoulli}(\sigma(\kappa\, \text{logit}\, p^{true}_i))` (``experience_sharpness``):
the distributions given :math:`r'` are solved so that the distributions given the *role* equal the
role-conditional survey marginals (``data/reference/survey_marginals.csv``, derived from the Kaggle 2021
survey) - see :func:`_draw_experience`.

Each item is skipped with probability :math:`\min(0.9, \pi_j m_i)`: an item rate
:math:`\pi_j \sim U(\text{skip\_rate\_min}, \text{skip\_rate\_max})` times a person's propensity
:math:`m_i \sim \text{Gamma}(4, 1/4)`. Skips do not depend on the role, so a skipped answer carries no
information by itself.

``p_true`` is written beside each row.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rolefit.params import SynthesizeParams
from rolefit.questionnaire import Instrument, load_instrument

TRAITS = ("builder", "analytical", "research", "pace")

#: Trait loadings of every 1-5 item: (builder, analytical, research, pace).
LOADINGS: dict[str, tuple[float, float, float, float]] = {
    "interest_building_products": (1.12, 0.0, 0.0, 0.14),
    "interest_system_design": (0.98, 0.28, 0.0, 0.0),
    "interest_coding_puzzles": (0.84, 0.42, 0.0, 0.0),
    "interest_debugging": (0.84, 0.0, 0.0, 0.28),
    "interest_data_patterns": (0.0, 0.98, 0.42, 0.0),
    "interest_model_training": (0.0, 0.7, 0.56, 0.0),
    "interest_research": (0.0, 0.28, 1.12, -0.14),
    "interest_math": (0.0, 1.12, 0.28, 0.0),
    "interest_ai_products": (0.42, 0.42, 0.42, 0.0),
    "skill_dsa": (0.7, 0.42, 0.0, 0.0),
    "skill_system_design": (0.98, 0.14, 0.0, 0.0),
    "skill_clean_code": (0.98, 0.0, 0.0, 0.14),
    "skill_web_development": (0.98, 0.0, 0.0, 0.42),
    "skill_databases_apis": (0.84, 0.14, 0.0, 0.14),
    "skill_devops": (0.56, 0.0, 0.0, 0.14),
    "skill_python": (0.28, 0.7, 0.14, 0.0),
    "skill_statistics": (0.0, 1.12, 0.28, 0.0),
    "skill_linear_algebra": (0.0, 1.12, 0.28, 0.0),
    "skill_ml_algorithms": (0.0, 0.84, 0.42, 0.0),
    "skill_data_wrangling": (0.14, 0.84, 0.0, 0.0),
    "skill_model_deployment": (0.56, 0.56, 0.0, 0.0),
    "pref_predictable_work": (0.0, 0.0, -0.42, 0.98),
    "pref_immediate_results": (0.14, 0.0, -0.28, 1.12),
    "pref_fast_job_entry": (0.0, 0.0, -0.28, 1.12),
    "pref_career_flexibility": (0.42, 0.0, 0.0, 0.56),
    "pref_experimentation": (0.0, 0.28, 0.98, -0.28),
    "pref_long_learning": (0.0, 0.28, 0.84, -0.56),
    "pref_niche_specialization": (0.0, 0.56, 0.56, -0.14),
}

#: Trait weights of every career goal's utility (builder, analytical, research, pace).
GOAL_LOADINGS: dict[str, tuple[float, float, float, float]] = {
    "software_architect": (0.8, 0.2, 0.0, 0.0),
    "engineering_manager": (0.3, 0.0, 0.0, 0.4),
    "full_stack_developer": (0.6, 0.0, 0.0, 0.5),
    "cloud_engineer": (0.5, 0.0, 0.0, 0.3),
    "ai_researcher": (0.0, 0.4, 1.0, -0.2),
    "applied_scientist": (0.0, 0.8, 0.4, 0.0),
    "ml_platform_engineer": (0.4, 0.5, 0.0, 0.0),
}
UNDECIDED_UTILITY = 0.2

#: Offsets c_j by scale: people rate their skills lower than their interests.
SCALE_OFFSET = {"interest": 0.15, "skill": -0.25, "agreement": 0.2}
CUT_POINTS = np.array([-1.8, -0.65, 0.5, 1.7])

_LEAN_SIGN = {"swe": -1.0, "none": 0.0, "mle": 1.0}


@dataclass(frozen=True)
class Marginals:
    """Role-conditional distributions of the experience items.

    ``table[item]`` maps each level (a number or a choice id) to its share among respondents of each
    role who answered; binary items are stored as the share of level 1.
    """

    table: dict[str, dict[str, dict[str, float]]]
    source: str

    def distribution(self, item: str, role: str) -> tuple[list[str], np.ndarray]:
        levels = list(self.table[item])
        shares = np.array([self.table[item][level][role] for level in levels], dtype=float)
        return levels, shares


def read_marginals(path: str | Path) -> Marginals:
    """Read the survey marginals CSV (comment lines starting with ``#`` carry source and licence)."""
    path = Path(path)
    table: dict[str, dict[str, dict[str, float]]] = {}
    source_lines: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = []
        for line in handle:
            if line.startswith("#"):
                source_lines.append(line[1:].strip())
            else:
                rows.append(line)
    for row in csv.DictReader(rows):
        table.setdefault(row["item"], {})[row["level"]] = {
            "swe": float(row["swe"]),
            "mle": float(row["mle"]),
        }
    return Marginals(table=table, source=" ".join(source_lines))


def _trait_covariance(params: SynthesizeParams) -> np.ndarray:
    corr = params.trait_correlations
    sigma = np.eye(len(TRAITS))
    pairs = {
        ("builder", "analytical"): corr.builder_analytical,
        ("analytical", "research"): corr.analytical_research,
        ("builder", "pace"): corr.builder_pace,
        ("research", "pace"): corr.research_pace,
    }
    for (a, b), value in pairs.items():
        i, j = TRAITS.index(a), TRAITS.index(b)
        sigma[i, j] = sigma[j, i] = value
    if np.linalg.eigvalsh(sigma).min() <= 0:
        raise ValueError("The trait correlations do not form a valid correlation matrix.")
    return sigma


def generate(
    params: SynthesizeParams,
    marginals: Marginals,
    *,
    n: int | None = None,
    seed: int | None = None,
    instrument: Instrument | None = None,
    id_prefix: str = "syn",
) -> pd.DataFrame:
    """Draw synthetic respondents.

    Parameters
    ----------
    params
        The ``synthesize`` section of ``params.yaml``.
    marginals
        Role-conditional distributions of the experience items (:func:`read_marginals`).
    n, seed
        Override ``params.n_respondents`` / ``params.seed``; same seed, same frame.
    id_prefix
        Prefix of the generated ``respondent_id`` values.

    Returns
    -------
    DataFrame with ``respondent_id``, ``source`` ("synthetic"), one column per item (float for numeric
    kinds, choice id strings for choices, NaN/None for skipped), ``role`` and ``p_true``.
    """
    instrument = instrument or load_instrument()
    n = params.n_respondents if n is None else n
    rng = np.random.default_rng(params.seed if seed is None else seed)

    theta = rng.multivariate_normal(np.zeros(len(TRAITS)), _trait_covariance(params), size=n)
    weights = np.array([getattr(params.fit_weights, t) for t in TRAITS])
    true_log_odds = params.fit_intercept + theta @ weights
    p_true = 1.0 / (1.0 + np.exp(-true_log_odds))
    is_mle = rng.random(n) < p_true
    # Experience items read a sharper role tendency q (same traits, kappa times the log-odds) so that
    # the reading-conditional distributions solved in _draw_experience stay inside [0, 1].
    q_experience = 1.0 / (1.0 + np.exp(-params.experience_sharpness * true_log_odds))
    # E[q | role]: how often a respondent's experience reading says mle, for each true role
    share_mle = float(np.mean(q_experience * p_true) / np.mean(p_true))
    share_swe = float(np.mean(q_experience * (1 - p_true)) / np.mean(1 - p_true))

    acquiescence = rng.normal(0.0, params.acquiescence_sd, n)
    extremity = np.exp(rng.normal(0.0, params.extremity_sd, n))
    skip_propensity = rng.gamma(4.0, 0.25, n)

    columns: dict[str, object] = {
        "respondent_id": [f"{id_prefix}-{i:07d}" for i in range(n)],
        "source": np.full(n, "synthetic", dtype=object),
    }
    for item in instrument.items:
        lean = _LEAN_SIGN[item.lean]
        # each item reads its own draw of the role tendency, never the drawn role itself
        reads_mle = rng.random(n) < (q_experience if item.group == "experience" else p_true)
        sign = np.where(reads_mle, 1.0, -1.0)
        if item.kind == "scale":
            assert item.scale is not None
            latent = (
                theta @ np.array(LOADINGS[item.id])
                + params.role_effect * lean * sign
                + rng.normal(0.0, params.item_noise, n)
            )
            observed = extremity * latent + SCALE_OFFSET[item.scale.id]
            if item.scale.id == "agreement":
                observed = observed + acquiescence
            values: np.ndarray = 1.0 + (observed[:, None] > CUT_POINTS[None, :]).sum(axis=1)
        elif item.id == "career_goal":
            values = _draw_goal(item, theta, sign, params, rng)
        else:
            values = _draw_experience(item.id, item.kind, marginals, reads_mle, (share_mle, share_swe), rng)
        skip_rate = rng.uniform(params.skip_rate_min, params.skip_rate_max)
        skipped = rng.random(n) < np.minimum(0.9, skip_rate * skip_propensity)
        if values.dtype == object:
            values = values.copy()
            values[skipped] = None
        else:
            values = values.astype(float)
            values[skipped] = np.nan
        columns[item.id] = values
    columns["role"] = np.where(is_mle, "mle", "swe").astype(object)
    columns["p_true"] = p_true
    frame = pd.DataFrame(columns)
    for item in instrument.items:
        if item.kind == "choice":
            frame[item.id] = frame[item.id].astype(object)
    return frame


def _draw_goal(item, theta, sign, params: SynthesizeParams, rng) -> np.ndarray:
    choice_ids = item.choice_ids
    utilities = np.empty((theta.shape[0], len(choice_ids)))
    for k, choice in enumerate(item.choices):
        if choice.id in GOAL_LOADINGS:
            utilities[:, k] = theta @ np.array(GOAL_LOADINGS[choice.id])
            utilities[:, k] += params.goal_role_effect * _LEAN_SIGN[choice.lean] * sign
        else:
            utilities[:, k] = UNDECIDED_UTILITY
    utilities += rng.gumbel(size=utilities.shape)
    return np.array(choice_ids, dtype=object)[utilities.argmax(axis=1)]


def _draw_experience(item_id, kind, marginals: Marginals, reads_mle, shares_matching, rng) -> np.ndarray:
    """Draw an experience item given each respondent's role-like reading.

    The reading is ``mle`` with probability ``p_true``, so among true MLEs a share ``a = E[p | mle]``
    read ``mle`` and among SWEs a share ``b = E[p | swe]`` do. Solving
    ``a D_mle + (1 - a) D_swe = M`` and ``b D_mle + (1 - b) D_swe = S`` for the reading-conditional
    distributions makes the *role*-conditional distributions equal the survey's ``M`` and ``S``.
    """
    if item_id not in marginals.table:
        raise ValueError(
            f"The survey marginals file has no rows for item {item_id!r}; regenerate it with the "
            "marginals stage."
        )
    a, b = shares_matching
    n = reads_mle.shape[0]
    out = np.empty(n, dtype=object if kind == "choice" else float)
    levels, target_mle = marginals.distribution(item_id, "mle")
    _, target_swe = marginals.distribution(item_id, "swe")
    if kind != "binary":
        target_mle, target_swe = target_mle / target_mle.sum(), target_swe / target_swe.sum()
    d_mle = np.clip(((1 - b) * target_mle - (1 - a) * target_swe) / (a - b), 0.0, 1.0)
    d_swe = np.clip((a * target_swe - b * target_mle) / (a - b), 0.0, 1.0)
    for shares, mask in ((d_mle, reads_mle), (d_swe, ~reads_mle)):
        if kind == "binary":
            out[mask] = (rng.random(mask.sum()) < shares[0]).astype(float)
            continue
        picks = rng.choice(len(levels), size=mask.sum(), p=shares / shares.sum())
        if kind == "choice":
            out[mask] = np.array(levels, dtype=object)[picks]
        else:
            out[mask] = np.array([float(level) for level in levels])[picks]
    return out
