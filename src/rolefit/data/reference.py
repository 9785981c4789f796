"""Survey-derived reference facts for the synthetic generator (stage ``marginals``).

From the *training split* of an ingested survey: the role-conditional marginals of the experience items
(``data/reference/survey_marginals.csv``) and latent-class profiles of whole experience answer sets
(:mod:`rolefit.data.profiles`), both with their source and licence.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from rolefit import atomic
from rolefit.data.dataset import assign_splits
from rolefit.data.profiles import fit_profiles, format_profiles, profiles_path
from rolefit.instrument.items import Instrument, load_instrument

MARGINAL_ITEMS = (
    "years_coding", "years_ml", "education", "uses_python", "uses_sql", "uses_java", "uses_javascript",
    "uses_cpp", "ml_frameworks_used", "activity_data_analysis", "activity_data_infrastructure",
    "activity_ml_prototypes", "activity_ml_service", "activity_ml_experiments", "activity_ml_research",
)  # fmt: skip


def derive_marginals(frame: pd.DataFrame, instrument: Instrument | None = None) -> pd.DataFrame:
    """Role-conditional shares of every experience level among respondents who answered.

    Binary items give one row (level 1); other items one row per level seen, in order.
    """
    instrument = instrument or load_instrument()
    rows = []
    for item_id in MARGINAL_ITEMS:
        item = instrument[item_id]
        values = frame[item_id]
        if item.kind == "binary":
            levels = ["1"]
        elif item.kind == "choice":
            levels = [c for c in item.choice_ids if (values == c).any()]
        else:
            levels = [f"{v:g}" for v in sorted(values.dropna().unique())]
        for level in levels:
            shares = []
            for role in ("swe", "mle"):
                answered = values[(frame["role"] == role) & values.notna()]
                target = level if item.kind == "choice" else float(level)
                shares.append(round(float((answered == target).mean()), 4))
            rows.append({"item": item_id, "level": level, "swe": shares[0], "mle": shares[1]})
    return pd.DataFrame(rows, columns=["item", "level", "swe", "mle"])


MARGINALS_HEADER = (
    "# Role-conditional marginals of the experience items (share among respondents who answered).\n"
    "# Source: Kaggle Machine Learning & Data Science Survey 2021, training split "
    "(Q5 Software Engineer n={swe} -> swe, Machine Learning Engineer n={mle} -> mle).\n"
    '# Licence: CC BY 2.0; attribution "Kaggle ML & DS Survey 2021". Regenerate with the marginals stage '
    "(dvc repro marginals).\n"
)


def write_marginals(frame: pd.DataFrame, table: pd.DataFrame, path: str | Path) -> Path:
    """Write the marginals CSV with its source and licence header (atomically)."""
    path = Path(path)
    counts = frame["role"].value_counts()
    text = MARGINALS_HEADER.format(swe=int(counts.get("swe", 0)), mle=int(counts.get("mle", 0)))
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return atomic.write_text(path, text + buffer.getvalue())


def reference_rows(frame: pd.DataFrame, params, source: str) -> pd.DataFrame:
    """The rows of ingested ``source`` respondents that the build stage puts in the training split.

    Marginals and profiles are derived from these only, so that nothing the synthetic generator learns
    from a survey comes from that survey's held-out respondents.
    """
    labelled = frame.assign(source=source)
    return frame[(assign_splits(labelled, params.build) == "train").to_numpy()]


def write_reference(frame: pd.DataFrame, params) -> dict[str, Path]:
    """Derive and write the survey marginals and experience profiles (stage ``marginals``).

    ``frame`` holds the ingested rows of ``params.marginals.source``; only its training split is used
    (:func:`reference_rows`). Returns the two paths written.
    """
    rows = reference_rows(frame, params, params.marginals.source)
    out = Path(params.marginals.out)
    write_marginals(rows, derive_marginals(rows), out)
    profiles = fit_profiles(rows, list(MARGINAL_ITEMS), params.marginals.profiles, seed=params.marginals.seed)
    counts = {str(k): int(v) for k, v in rows["role"].value_counts().items()}
    text = format_profiles(profiles, counts)
    return {"marginals": out, "profiles": atomic.write_text(profiles_path(out), text)}
