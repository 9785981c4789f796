"""The typed schema of a bundle's ``manifest.json``, as pydantic models: the reference that
:func:`rolefit.scoring.bundle._manifest_fits` mirrors without pydantic (change the two together), and
the source of the messages that say what is wrong with a manifest that does not fit. Imported only
then: loading a good bundle never imports pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

# rolefit.scoring.bundle's constants, written out: that module imports this one (when a manifest does not
# fit), so this one cannot import it
SCHEMA_VERSION = 1
SCORING, ESTIMATOR, REFERENCE = "scoring.json", "model.skops", "reference.json"
ANSWERS, READINESS, FIT = "answers.json", "readiness.json", "fit.json"

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Schema(BaseModel):
    # strict: a number is not a string and "1" is not 1; extra keys are tolerated because the manifest
    # also records the caller's facts (params, ingest reports, selection), which grow over time and
    # are bounded by the size and depth limits; what rolefit itself reads is typed below
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class InstrumentRef(_Schema):
    version: Name
    sha256: Sha256


class FileChecksums(BaseModel):
    # exactly the bundle's files: a file that is not listed would not be verified
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    scoring: Sha256 = Field(alias=SCORING)
    estimator: Sha256 | None = Field(alias=ESTIMATOR)  # null: a scoring-only bundle (the packaged model)
    reference: Sha256 = Field(alias=REFERENCE)
    answers: Sha256 | None = Field(None, alias=ANSWERS)  # absent in bundles exported before it existed
    fit: Sha256 | None = Field(None, alias=FIT)  # likewise; the fit is then rebuilt from scoring.json
    readiness: Sha256 | None = Field(None, alias=READINESS)  # the same


class Rows(_Schema):
    total: Annotated[int, Field(ge=0)]
    by_source: dict[Name, Annotated[int, Field(ge=0)]] = {}


class TrainingData(_Schema):
    sha256: Sha256
    rows: Rows


class RealEvidence(_Schema):
    training_sources: list[Name] = []
    evaluation_sources: list[Name] = []


class Manifest(_Schema):
    """What rolefit reads from ``manifest.json`` (the gate, reports, tracking, the champion folder)."""

    schema_version: Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]  # strict: not True, not 1.0
    # used as a folder name when published (rolefit.scoring.champion): no separators, no leading dot
    model_version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")]
    created_at: Annotated[str, StringConstraints(max_length=64)]
    instrument: InstrumentRef
    files: FileChecksums
    libraries: dict[Name, Annotated[str, StringConstraints(max_length=200)]] = {}
    candidate: Name | None = None
    calibration: Name | None = None
    training_data: TrainingData | None = None
    metrics: dict[Name, dict[Name, float | None]] = {}
    real_evidence: RealEvidence | None = None
    max_table_error: float | None = None


def schema_problems(manifest: Any) -> str:
    """What is wrong with ``manifest``, for a message: its first three schema errors (and how many more)."""
    try:
        Manifest.model_validate(manifest)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:  # pragma: no cover - the plain checks refused what the models accept: they disagree
        return "it fails rolefit's checks of the manifest's fields"
    shown = []
    for error in errors[:3]:
        location = ".".join(str(part) for part in error["loc"]) or "the top level"
        shown.append(f"{location}: {error['msg']}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(shown) + more
