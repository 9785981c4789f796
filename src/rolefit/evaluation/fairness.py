"""The fairness audit: outcomes by gender and country group (demographics are never model inputs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rolefit.model.metrics import expected_calibration_error

COUNTRY_GROUPS = {
    "India": "India",
    "United States of America": "United States",
    "United States": "United States",
    "Japan": "East Asia",
    "China": "East Asia",
    "South Korea": "East Asia",
    "Republic of Korea": "East Asia",
    "Taiwan": "East Asia",
    "Nigeria": "Africa",
    "Egypt": "Africa",
    "Kenya": "Africa",
    "South Africa": "Africa",
    "Ghana": "Africa",
    "Morocco": "Africa",
    "Tunisia": "Africa",
    "Ethiopia": "Africa",
    "Brazil": "Latin America",
    "Mexico": "Latin America",
    "Colombia": "Latin America",
    "Argentina": "Latin America",
    "Peru": "Latin America",
    "Chile": "Latin America",
}
EUROPE = {
    "United Kingdom of Great Britain and Northern Ireland", "United Kingdom", "Germany", "France", "Spain",
    "Italy", "Russia", "Russian Federation", "Poland", "Netherlands", "Ukraine", "Turkey", "Portugal",
    "Sweden", "Switzerland", "Belgium", "Greece", "Romania", "Austria", "Ireland", "Denmark", "Norway",
    "Finland", "Czech Republic", "Hungary", "Belarus",
}  # fmt: skip


def country_group(country) -> str | None:
    if country is None or (isinstance(country, float) and np.isnan(country)) or country in ("", "nan"):
        return None
    if country in EUROPE:
        return "Europe"
    return COUNTRY_GROUPS.get(str(country), "Other")


def gender_group(gender) -> str | None:
    if gender is None or (isinstance(gender, float) and np.isnan(gender)) or gender in ("", "nan"):
        return None
    text = str(gender)
    if text in ("Man", "Male"):
        return "man"
    if text in ("Woman", "Female"):
        return "woman"
    if text.startswith("Prefer not"):
        return None
    return "another gender"


def fairness_audit(test, y, p, params) -> dict[str, Any]:
    """Group rates and calibration of the model on real respondents (demographics are never inputs).

    Per group of gender and of country: the share given an ``mle`` verdict, observed MLE share, mean
    predicted probability, ECE, true- and false-positive rates. Across groups: the demographic parity
    ratio (smallest / largest verdict rate; the four-fifths rule flags < 0.8) and the equalised-odds
    difference (largest gap in TPR or FPR). Groups with fewer than ``evaluate.fairness_min_group``
    respondents are not compared.
    """
    real = (test["source"] != "synthetic").to_numpy()
    predicted = p >= 0.5
    out: dict[str, Any] = {"respondents": int(real.sum())}
    for attribute, grouping in (("gender", gender_group), ("country", country_group)):
        if attribute not in test.columns:
            continue
        labels = np.array([grouping(v) for v in test[attribute].tolist()], dtype=object)
        groups = {}
        for group in sorted({g for g in labels[real] if g is not None}):
            mask = real & (labels == group)
            if mask.sum() < params.evaluate.fairness_min_group:
                continue
            yt, pt, pr = y[mask], p[mask], predicted[mask]
            groups[group] = {
                "n": int(mask.sum()),
                "mle_verdict_rate": float(pr.mean()),
                "observed_mle_rate": float(yt.mean()),
                "mean_p_mle": float(pt.mean()),
                "ece": expected_calibration_error(yt, pt, params.evaluate.ece_bins),
                "tpr": float(pr[yt == 1].mean()) if (yt == 1).any() else float("nan"),
                "fpr": float(pr[yt == 0].mean()) if (yt == 0).any() else float("nan"),
            }
        rates = [g["mle_verdict_rate"] for g in groups.values()]
        tprs = [g["tpr"] for g in groups.values() if g["tpr"] == g["tpr"]]
        fprs = [g["fpr"] for g in groups.values() if g["fpr"] == g["fpr"]]
        ratio = min(rates) / max(rates) if rates and max(rates) > 0 else float("nan")
        out[attribute] = {
            "groups": groups,
            "demographic_parity_ratio": ratio,
            "equalized_odds_difference": max(
                (max(tprs) - min(tprs)) if tprs else 0.0, (max(fprs) - min(fprs)) if fprs else 0.0
            ),
            "four_fifths_rule": "flagged" if ratio == ratio and ratio < 0.8 else "passes",
        }
    return out
