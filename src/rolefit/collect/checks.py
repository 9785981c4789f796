"""What makes a contribution kept apart instead of accepted: answers that cannot all be meant.

Kept-apart rows are stored with their reason and counted by ``rolefit contributions stats``; they are
never silently dropped and never exported as training rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from rolefit.instrument.items import Instrument, load_instrument

#: Scale answers needed before "every scale answer is the same" counts as straight-lining.
MIN_SCALE_ANSWERS = 6

STRAIGHT_LINED = "Every scale answer is the same, which is how answers given without reading look."
MORE_ML_THAN_CODING = (
    "More years of machine learning than years of coding (by more than a year), which cannot both be true."
)
#: Years of ML beyond years of coding that still count as consistent: answers given in ranges
#: ("1-2 years") round both ways. On Kaggle 2021's engineers, 4.9% answer more years of ML than of
#: coding, nearly all by less than this; 0.7% by more.
YEARS_SLACK = 1.0
FRAMEWORKS_WITHOUT_ML = "Machine learning frameworks used, but no years of machine learning at all."
#: Every reason a contribution can be kept apart for (a reason is one of these sentences exactly).
REASONS = (STRAIGHT_LINED, MORE_ML_THAN_CODING, FRAMEWORKS_WITHOUT_ML)


def kept_apart_reason(answers: Mapping[str, float | str], instrument: Instrument | None = None) -> str | None:
    """Why validated ``answers`` are kept apart (one of :data:`REASONS`), or None to accept them.

    Straight-lined: at least :data:`MIN_SCALE_ANSWERS` scale answers, all the same. Inconsistent
    (the instrument's experience items): more years of ML than of coding (by more than
    :data:`YEARS_SLACK`), or ML frameworks used with zero years of ML."""
    instrument = instrument or load_instrument()
    scales = [
        value for key, value in answers.items() if key in instrument and instrument[key].kind == "scale"
    ]
    if len(scales) >= MIN_SCALE_ANSWERS and len(set(scales)) == 1:
        return STRAIGHT_LINED
    coding, ml = answers.get("years_coding"), answers.get("years_ml")
    if isinstance(coding, float | int) and isinstance(ml, float | int) and ml > coding + YEARS_SLACK:
        return MORE_ML_THAN_CODING
    frameworks = answers.get("ml_frameworks_used")
    if isinstance(frameworks, float | int) and frameworks > 0 and ml == 0:
        return FRAMEWORKS_WITHOUT_ML
    return None
