r"""Synthetic respondents from a latent-trait model, with experience answers derived from a real survey.

The model
---------
Every respondent *i* has four latent traits, drawn jointly normal with unit variances and the
correlations of ``params.synthesize.trait_correlations``:

.. math:: \theta_i = (\text{builder}, \text{analytical}, \text{research}, \text{pace}) \sim N(0, \Sigma)

*pace* is the wish for fast, predictable, broadly useful work. The role is drawn from a logistic
function of the traits:

.. math:: t_i = b_0 + w^\top \theta_i, \qquad role_i \sim \text{Bernoulli}(\sigma(t_i))

Every interest, skill and preference item reads the trait *tendency*, never the drawn role: item *j*
gets its own draw :math:`s_{ij} = \pm 1` with :math:`P(s_{ij} = +1) = \sigma(t_i)`, so these items are
independent of the role given the traits. The four items behind the career guides' rules of thumb
(:data:`RULES_OF_THUMB`) are the exception: the guides decide on them directly, so their
:math:`s_{ij}` is the drawn role itself and their shift is ``rule_of_thumb_effect``; their answers'
evidence of the role, :math:`\log P(x_{ij} \mid mle, \theta_i) / P(x_{ij} \mid swe, \theta_i)` (a
difference of normal CDFs between the item's cut points), is part of ``p_true``. A 1-5 item is a noisy
reading of the traits and of that draw, through the person's response style:

.. math::
    y^*_{ij} = \lambda_j^\top \theta_i + \gamma\, \ell_j\, s_{ij} + \varepsilon_{ij},
    \quad \varepsilon_{ij} \sim N(0, \sigma^2)

.. math:: y_{ij} = e_i\, y^*_{ij} + a_i + c_j, \qquad x_{ij} = 1 + \#\{k : y_{ij} > \tau_k\}

with loadings :math:`\lambda_j` (table ``LOADINGS``), the item's lean :math:`\ell_j \in \{-1, 0, +1\}`
(swe, none, mle), role effect :math:`\gamma` (``role_effect``; ``rule_of_thumb_effect`` for the items
behind the career guides' four rules of thumb, :data:`RULES_OF_THUMB`), extremity :math:`e_i = \exp(N(0,
\text{extremity\_sd}^2))`, acquiescence :math:`a_i \sim N(0, \text{acquiescence\_sd}^2)` (added to
agreement items only), an item offset :math:`c_j` per scale and four cut points :math:`\tau`.

The career goal is the choice with the highest random utility
:math:`u_{ic} = \kappa_c^\top \theta_i + \gamma_g \ell_c r_i + \text{Gumbel}` (``undecided`` has a
constant utility), where :math:`r_i = \pm 1` is the drawn role itself: an aim is part of what makes
someone fit a role, so the goal carries evidence of its own beyond the traits.

The experience items (years, education, languages, frameworks, activities) are facts, and real people's
facts hang together: they are drawn as one answer set from the drawn role's distribution
:math:`P_{role}(b)`, the survey's experience profiles tilted to that role's marginals
(:mod:`rolefit.data.profiles`, ``data/reference/survey_marginals*.csv``, derived from the Kaggle 2021
training split). So each experience item's rates given the role equal the survey's, and what a whole
answer set says about the role follows the survey's joint structure, not a product of single items.

Each item is skipped with probability :math:`\min(0.9, \pi_j m_i)`: an item rate
:math:`\pi_j \sim U(\text{skip\_rate\_min}, \text{skip\_rate\_max})` times a person's propensity
:math:`m_i \sim \text{Gamma}(4, 1/4)`. Skips do not depend on the role, so a skipped answer carries no
information by itself.

``p_true`` is the exact posterior given the traits, the answered goal and the answered experience
items,

.. math:: \text{logit}\, p^{true}_i = t_i + \log \frac{P(g_i \mid \theta_i, mle)}{P(g_i \mid \theta_i, swe)}
    + \log \frac{P_{mle}(b_i^{answered})}{P_{swe}(b_i^{answered})},

the Bayes-optimal prediction from more than any respondent's answers reveal (the other items only
read the traits, noisily): no model can beat its log loss in expectation, so "log loss / Bayes log
loss" is an honest measure of what is left to learn.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rolefit.config import SynthesizeParams
from rolefit.data.profiles import Profiles, RoleAnswers, profiles_path, read_profiles, tilt
from rolefit.instrument.items import Instrument, load_instrument

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
    # the two roles themselves (instrument 1.2): a builder's aim, the pace of a quick entry for SWE;
    # builder and analytical for MLE (engineering plus maths, less research than a researcher's aim)
    "software_engineer": (0.35, 0.0, 0.0, 0.2),
    "software_architect": (0.4, 0.1, 0.0, 0.0),
    "engineering_manager": (0.15, 0.0, 0.0, 0.2),
    "full_stack_developer": (0.3, 0.0, 0.0, 0.25),
    "cloud_engineer": (0.25, 0.0, 0.0, 0.15),
    "ai_researcher": (0.0, 0.2, 0.5, -0.1),
    "applied_scientist": (0.0, 0.4, 0.2, 0.0),
    "ml_platform_engineer": (0.2, 0.25, 0.0, 0.0),
    "ml_engineer": (0.2, 0.4, 0.1, 0.0),
}
UNDECIDED_UTILITY = 0.2

#: Offsets c_j by scale: people rate their skills lower than their interests.
SCALE_OFFSET = {"interest": 0.15, "skill": -0.25, "agreement": 0.2}
CUT_POINTS = np.array([-1.8, -0.65, 0.5, 1.7])

_LEAN_SIGN = {"swe": -1.0, "none": 0.0, "mle": 1.0}

#: The items behind the career guides' rules of thumb (role_facts.yaml ``scenarios``), by scenario: the
#: guides decide on them directly, so each reads the drawn role itself (as the goal does), shifted by
#: ``rule_of_thumb_effect``, instead of its own draw of the trait tendency; their answers' evidence of
#: the role is part of ``p_true``.
RULES_OF_THUMB = {
    "interest_coding_puzzles": "enjoys solving coding puzzles",
    "interest_data_patterns": "enjoys analysing data and finding patterns",
    "pref_fast_job_entry": "wants a job quickly after studies",
    "pref_niche_specialization": "wants a highly paid niche role",
}


@dataclass(frozen=True)
class Marginals:
    """Role-conditional distributions of the experience items, and how the items hang together.

    ``table[item]`` maps each level (a number or a choice id) to its share among respondents of each
    role who answered; binary items are stored as the share of level 1. ``profiles`` is the survey's
    latent-class model of whole answer sets (:mod:`rolefit.data.profiles`).
    """

    table: dict[str, dict[str, dict[str, float]]]
    source: str
    profiles: Profiles | None = None

    def distribution(self, item: str, role: str) -> tuple[list[str], np.ndarray]:
        levels = list(self.table[item])
        shares = np.array([self.table[item][level][role] for level in levels], dtype=float)
        return levels, shares

    def targets(self, role: str, levels: dict[str, tuple[str, ...]]) -> dict[str, np.ndarray]:
        """Each item's distribution for ``role`` over ``levels[item]`` (binary items: "0", "1")."""
        out = {}
        for item, labels in levels.items():
            if item not in self.table:
                raise ValueError(
                    f"The survey marginals file has no rows for item {item!r}; regenerate it with the "
                    "marginals stage."
                )
            rows = self.table[item]
            if set(rows) == {"1"}:
                share = rows["1"][role]
                out[item] = np.array([1 - share if label == "0" else share for label in labels])
            else:
                out[item] = np.array([rows[label][role] if label in rows else 0.0 for label in labels])
        return out


def read_marginals(path: str | Path) -> Marginals:
    """Read the survey marginals CSV and its profiles (:func:`profiles_path`).

    Comment lines starting with ``#`` carry source and licence.
    """
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
    return Marginals(table=table, source=" ".join(source_lines), profiles=read_profiles(profiles_path(path)))


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
    marginals: Marginals | None,
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
        Role-conditional distributions of the experience items (:func:`read_marginals`); None draws no
        experience answers (every experience item skipped, ``p_true`` without their evidence): the
        respondents of the fit, which reads no experience item (:mod:`rolefit.model.fit`).
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
    trait_log_odds = params.fit_intercept + theta @ weights
    p_trait = 1.0 / (1.0 + np.exp(-trait_log_odds))
    is_mle = rng.random(n) < p_trait
    answers = experience_answers(marginals) if marginals is not None else None
    if answers is not None:
        experience = np.empty((n, len(answers["mle"].profiles.items)), dtype=int)
        for role, rows in (("mle", is_mle), ("swe", ~is_mle)):
            experience[rows] = answers[role].sample(int(rows.sum()), rng)

    acquiescence = rng.normal(0.0, params.acquiescence_sd, n)
    extremity = np.exp(rng.normal(0.0, params.extremity_sd, n))
    skip_propensity = rng.gamma(4.0, 0.25, n)

    columns: dict[str, object] = {
        "respondent_id": [f"{id_prefix}-{i:07d}" for i in range(n)],
        "source": np.full(n, "synthetic", dtype=object),
    }
    profiles = answers["mle"].profiles if answers is not None else None
    goal_evidence = np.zeros(n)
    rule_evidence: dict[str, np.ndarray] = {}  # the rules of thumb's evidence of the role, per item
    for item in instrument.items:
        if item.group == "tools":
            # the tools questions (issue #26 item 2) take their effects from real respondents only: the
            # generator draws no answer to them (and no random number, so the other items' draws stay)
            columns[item.id] = np.full(n, np.nan)
            continue
        lean = _LEAN_SIGN[item.lean]
        # a 1-5 item reads its own draw of the trait tendency, not the drawn role (the goal, the rules of
        # thumb and the experience answers do read the role; the draw is made for every item to keep the
        # stream)
        sign = np.where(rng.random(n) < p_trait, 1.0, -1.0)
        if item.id in RULES_OF_THUMB:
            # the guides decide on these directly: they read the drawn role itself, as the goal does
            sign = np.where(is_mle, 1.0, -1.0)
        if item.kind == "scale":
            assert item.scale is not None
            rule = item.id in RULES_OF_THUMB
            shift = (params.rule_of_thumb_effect if rule else params.role_effect) * lean
            mean = theta @ np.array(LOADINGS[item.id])
            latent = mean + shift * sign + rng.normal(0.0, params.item_noise, n)
            offset = SCALE_OFFSET[item.scale.id] + (acquiescence if item.scale.id == "agreement" else 0.0)
            observed = extremity * latent + offset
            values: np.ndarray = 1.0 + (observed[:, None] > CUT_POINTS[None, :]).sum(axis=1)
            if rule and shift:
                rule_evidence[item.id] = _answer_evidence(
                    values, mean, shift, offset, extremity, params.item_noise
                )
        elif item.id == "career_goal":
            values, goal_evidence = _draw_goal(item, theta, is_mle, params, rng)
        else:
            if profiles is None:  # no experience answers: skipped by everyone
                values = np.full(n, None, dtype=object) if item.kind == "choice" else np.full(n, np.nan)
            else:
                j = profiles.items.index(item.id)
                values = profiles.values(item.id, experience[:, j], numeric=item.kind != "choice")
        skip_rate = rng.uniform(params.skip_rate_min, params.skip_rate_max)
        skipped = rng.random(n) < np.minimum(0.9, skip_rate * skip_propensity)
        if values.dtype == object:
            values = values.copy()
            values[skipped] = None
        else:
            values = values.astype(float)
            values[skipped] = np.nan
        if profiles is not None and item.id in profiles.items:
            experience[skipped, profiles.items.index(item.id)] = -1
        if item.id == "career_goal":
            goal_evidence[skipped] = 0.0
        if item.id in rule_evidence:
            rule_evidence[item.id][skipped] = 0.0
        columns[item.id] = values
    columns["role"] = np.where(is_mle, "mle", "swe").astype(object)
    evidence = np.zeros(n)
    if answers is not None:
        evidence = answers["mle"].log_likelihood(experience) - answers["swe"].log_likelihood(experience)
    # the goal and the rules of thumb read the drawn role: their answers are evidence beyond the traits
    answered_evidence = goal_evidence + sum(rule_evidence.values(), np.zeros(n))
    evidence += answered_evidence
    columns["p_true"] = _posterior(trait_log_odds + evidence)
    # the posterior of someone who skipped every experience item: the Bayes reference for the
    # synthetic block alone (the experience effects come from real respondents)
    columns["p_true_without_experience"] = _posterior(trait_log_odds + answered_evidence)
    frame = pd.DataFrame(columns)
    for item in instrument.items:
        if item.kind == "choice":
            frame[item.id] = frame[item.id].astype(object)
    return frame


#: Decimals ``p_true`` keeps (far finer than any log loss it enters). Its last bits depend on the
#: machine: numpy's vectorised exp and OpenBLAS pick their kernels by CPU, and the same seed gave values
#: up to 3e-15 apart (and another synthetic.parquet) with and without AVX-512. Rounded, both machines
#: write the same file, unless one of its 200,000 values falls within that distance of a rounding
#: boundary: about 1e-15 / 1e-7 per value, 1 run in 500.
P_TRUE_DECIMALS = 7


def _posterior(log_odds: np.ndarray) -> np.ndarray:
    """The logistic of ``log_odds``, rounded to :data:`P_TRUE_DECIMALS` and kept strictly inside (0, 1)."""
    step = 10.0**-P_TRUE_DECIMALS
    return np.clip(np.round(1.0 / (1.0 + np.exp(-log_odds)), P_TRUE_DECIMALS), step, 1.0 - step)


def _answer_evidence(values, mean, shift, offset, extremity, noise) -> np.ndarray:
    """``log P(answer | mle) / P(answer | swe)`` of a 1-5 item whose latent reads the drawn role.

    Given the traits, the latent is normal with mean ``mean + shift * r`` (``r = +1`` for MLE, -1 for
    SWE) and sd ``noise``; the answer is the band of cut points the observed value
    ``extremity * latent + offset`` falls in, so its probability is a difference of normal CDFs.
    """
    from scipy.special import log_ndtr, ndtr

    edges = np.concatenate(([-np.inf], CUT_POINTS, [np.inf]))
    k = values.astype(int) - 1
    low = (edges[k] - offset) / extremity
    high = (edges[k + 1] - offset) / extremity

    def log_p(r: float) -> np.ndarray:
        centre = mean + shift * r
        a, b = (low - centre) / noise, (high - centre) / noise
        # P(a < Z <= b) computed on the side where it does not cancel to zero
        upper = a > 0
        p = np.where(upper, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
        return np.where(p > 0, np.log(np.maximum(p, 1e-300)), log_ndtr(np.where(upper, -a, b)))

    return log_p(1.0) - log_p(-1.0)


def _draw_goal(item, theta, is_mle, params: SynthesizeParams, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw the career goal (multinomial logit) and its evidence ``log P(goal | mle) / P(goal | swe)``.

    The goal reads the drawn role, not only the traits: an aim is part of what makes someone fit a role.
    """
    choice_ids = item.choice_ids
    base = np.empty((theta.shape[0], len(choice_ids)))
    lean = np.zeros(len(choice_ids))
    for k, choice in enumerate(item.choices):
        if choice.id in GOAL_LOADINGS:
            base[:, k] = theta @ np.array(GOAL_LOADINGS[choice.id])
            lean[k] = params.goal_role_effect * _LEAN_SIGN[choice.lean]
        else:
            base[:, k] = UNDECIDED_UTILITY
    sign = np.where(is_mle, 1.0, -1.0)
    picks = (base + lean * sign[:, None] + rng.gumbel(size=base.shape)).argmax(axis=1)
    log_p = {
        s: (base + lean * s) - np.logaddexp.reduce(base + lean * s, axis=1, keepdims=True) for s in (1, -1)
    }
    rows = np.arange(len(picks))
    evidence = log_p[1][rows, picks] - log_p[-1][rows, picks]
    return np.array(choice_ids, dtype=object)[picks], evidence


def experience_answers(marginals: Marginals) -> dict[str, RoleAnswers]:
    """Each role's experience-answer distribution: the survey profiles tilted to its marginals."""
    if marginals.profiles is None:
        raise ValueError("The survey marginals were read without their experience profiles.")
    profiles = marginals.profiles
    return {role: tilt(profiles, marginals.targets(role, profiles.levels)) for role in ("mle", "swe")}
