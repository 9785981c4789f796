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


class MissingExtra(RolefitError, ImportError):
    """A feature was called whose optional dependencies (an extra: ``rolefit[batch]``, ...) are not
    installed; the message names the ``pip install`` to run."""


#: The top-level modules each extra brings (pyproject.toml's optional dependencies), so that a feature
#: called without them is named with the extra to install rather than failing on an import deep inside.
EXTRA_MODULES = {
    "batch": ("pandas", "pyarrow"),
    "serve": ("fastapi", "fastapi_offline", "uvicorn", "starlette"),
    "train": ("sklearn", "scipy", "joblib", "skops", "openpyxl", "matplotlib", "mlflow", "dvc"),
    "spark": ("pyspark",),
    "collect": ("sqlalchemy", "alembic", "psycopg"),
}


def missing_extra_message(extra: str, missing: list[str] | tuple[str, ...], feature: str) -> str:
    return (
        f"{feature} needs the optional dependencies of rolefit[{extra}] ({', '.join(missing)} not "
        f'installed): pip install "rolefit[{extra}]"'
    )


def require(extra: str, feature: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise :class:`MissingExtra` naming ``pip install "rolefit[<extra>]"`` unless every module of
    ``extra`` (or ``modules``) can be imported; looks them up without importing them."""
    from importlib.util import find_spec

    missing = [name for name in (modules or EXTRA_MODULES[extra]) if find_spec(name) is None]
    if missing:
        raise MissingExtra(missing_extra_message(extra, missing, feature))


def as_missing_extra(exc: ModuleNotFoundError, feature: str, extra: str | None = None) -> MissingExtra | None:
    """The :class:`MissingExtra` for a failed import of a module some extra brings, or None when the
    missing module belongs to no extra (then it is a real bug, not a missing install). ``extra``: the
    extra the feature needs as a whole (e.g. ``train`` for a pipeline command that failed on pandas,
    which ``train`` brings through ``batch``); by default the extra that brings the module."""
    top = (exc.name or "").split(".")[0]
    for owner, modules in EXTRA_MODULES.items():
        if top in modules:
            return MissingExtra(missing_extra_message(extra or owner, [top], feature))
    return None
