"""The one base of every rolefit error.

Each domain error subclasses :class:`RolefitError` *and* keeps its builtin base, so callers may catch
either ``rolefit.errors.RolefitError`` (anything rolefit refused) or the builtin they caught before:

* ``rolefit.InvalidAnswers`` (``ValueError``): answers that are not allowed, naming every offending item;
* ``SurveyError`` (``ValueError``, :mod:`rolefit.data.io`): a survey file refused as a whole;
* ``BundleError`` (``RuntimeError``, :mod:`rolefit.scoring.bundle`) and its ``ChampionError``
  (:mod:`rolefit.scoring.champion`): a model bundle missing, malformed, tampered with or for another
  instrument; ``SignatureError`` (``RuntimeError``, :mod:`rolefit.scoring.signing`);
* ``TrackingError`` and ``GateRefused`` (``RuntimeError``, :mod:`rolefit.ops.tracking`).
"""

from __future__ import annotations


class RolefitError(Exception):
    """Base of every error rolefit raises on purpose."""
