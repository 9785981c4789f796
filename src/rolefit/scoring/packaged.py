"""The model packaged with rolefit: where it is, and the sha256 of its manifest pinned in the code.

``src/rolefit/packaged_model/`` holds a *scoring-only* copy of a promoted champion (its manifest lists
``model.skops`` as null: everything :func:`rolefit.predict`, :func:`rolefit.predict_many` and guidance
read, not the full estimator), with the notes on its data sources (``DATA_SOURCES.md``). It answers when
nothing else is chosen (:func:`rolefit.scoring.loader.choose_model`). ``make package-model``
(:mod:`rolefit.ops.package_model`) refreshes the copy from the project's champion and rewrites
:data:`MANIFEST_SHA256` below.

How it is trusted (:func:`rolefit.scoring.signing.packaged`): installed from a wheel, by the installed
distribution's file record; in a source checkout (or an editable install, which has no record of it), by
this pin: the manifest's bytes must have this sha256, and the manifest holds every file's sha256. Both
are part of the code that is already trusted to run. Nothing here runs at import.
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the packaged model, inside the ``rolefit`` package.
FOLDER_NAME = "packaged_model"
#: The data-source notes (attribution and licence) shipped beside the model.
NOTES = "DATA_SOURCES.md"
#: sha256 of ``packaged_model/manifest.json``: written by ``make package-model`` with the copy.
MANIFEST_SHA256 = "641d5bd5182e156c8e857583ed3d94bf4a00a7919498094129c64e575ceebdf1"


def folder() -> Path:
    """Where the packaged model is (whether or not it exists)."""
    return Path(__file__).resolve().parents[1] / FOLDER_NAME
