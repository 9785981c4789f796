"""Finding, verifying and caching the model that :func:`rolefit.predict` scores with.

Which model answers: one rule, the same from whichever folder a process starts in
-----------------------------------------------------------------------------------

The first that applies (:func:`choose_model`):

1. ``argument``: the model the caller names (``model=`` of every function, ``--model`` of every command);
2. ``ROLEFIT_MODEL``: the deployment's setting, a bundle folder or an MLflow model URI
   (``models:/rolefit@champion``);
3. ``project``: the published champion (``export.dir`` of its ``params.yaml``, default ``models/champion``)
   of the rolefit project this rolefit is installed in, when it has one: the nearest folder above the
   installed package that holds ``params.yaml`` or ``dvc.yaml`` (:func:`rolefit.scoring.signing.
   nearest_project`, the rule that finds a project's signing key), i.e. the source checkout of an
   editable install or the project whose ``.venv`` holds it;
4. ``packaged``: the model packaged with rolefit (:mod:`rolefit.scoring.packaged`), so ``pip install
   rolefit`` predicts at once.

The working directory is never consulted (before, ``./models/champion`` came first, so the same call
answered with another model from another folder). The model is loaded lazily on first use, verified by
checksum (and signature, when a key is found: see :mod:`rolefit.scoring.signing`), and cached. Every
prediction carries :attr:`LoadedModel.info` (:class:`ModelInfo`): which model answered (version, how it
was chosen, its training sources and date) and whether it was verified, computed once at load.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rolefit.instrument.items import load_instrument
from rolefit.model.tables import AdditiveModel
from rolefit.model.uncertainty import FitModel, ItemUncertainty
from rolefit.scoring.compiled import CompiledItem, CompiledItems
from rolefit.scoring.decision import Decisions

if TYPE_CHECKING:
    from rolefit.scoring.signing import Verification

DEFAULT_BUNDLE = Path("models") / "champion"
#: Display names of the known real sources (others are shown by their name in params.yaml).
SOURCE_NAMES = {"kaggle2021": "Kaggle ML & DS Survey 2021", "stackoverflow2017": "Stack Overflow 2017"}


def evidence_entry(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """What backs an item's effect, with a sentence a person can read (``summary``).

    A pooled effect (issue #26) also has ``real_share``, the share of its precision that comes from real
    respondents: "70% from 2,911 real respondents (...)".
    """
    record = dict(record or {"basis": "assumed", "respondents": 0, "sources": {}})
    names = ", ".join(SOURCE_NAMES.get(s, s) for s in record.get("sources", {}))
    share = record.get("real_share")
    if record.get("basis") == "real" and share is not None and share < 0.995:
        summary = f"{share:.0%} from {record['respondents']:,} real respondents ({names}), the rest assumed"
    elif record.get("basis") == "real":
        summary = f"learned from {record['respondents']:,} real respondents ({names})"
    elif share:
        summary = (
            f"mostly from the synthetic prior (assumed); {share:.0%} from {record['respondents']:,} real "
            f"respondents ({names})"
        )
    else:
        summary = "from the synthetic prior (assumed, not yet measured on real people)"
    entry = {
        "basis": str(record.get("basis", "assumed")),
        "respondents": int(record.get("respondents", 0)),
        "sources": dict(record.get("sources", {})),
        "summary": summary,
    }
    if share is not None:
        entry["real_share"] = float(share)
    return entry


def fit_evidence(record: Mapping[str, Any] | None, uncertainty: ItemUncertainty) -> dict[str, Any]:
    """:func:`evidence_entry` of a fit item, with its effect's uncertainty (a relative width; a real
    effect's sd is added per answer level by :class:`rolefit.scoring.compiled.Level`)."""
    entry = evidence_entry(record)
    if uncertainty.kind == "relative":
        entry["uncertainty"] = {"kind": "relative", "width": uncertainty.width}
    return entry


@dataclass(frozen=True)
class ModelInfo:
    """Which model answered, and whether rolefit verified where it came from.

    ``version`` is the bundle's model version (also ``Prediction.model_version``). ``verified`` is True
    when a signature made with the configured key (or, for a model packaged with rolefit, the installed
    package's file record) vouches for every file; False when no signing key was configured, so only the
    checksums were checked (corruption is detected, deliberate edits are not). ``verified_by`` says
    which, in words: ``"signature (key id 0123456789abcdef)"``, ``"package (installed rolefit 1.2.0: its
    file record)"`` or ``"checksums only: no signing key configured"``. ``chosen_by`` says how it was
    chosen (the rule of :func:`choose_model`), ``trained_at``/``published_at`` when it was made, and
    ``training_sources`` what it was built from; :meth:`describe` says all that in words.
    """

    version: str
    verified: bool
    verified_by: str
    #: how it was chosen (:data:`CHOSEN_BY`): argument, ROLEFIT_MODEL, project or packaged
    chosen_by: str = "argument"
    #: when it was trained (the bundle's ``created_at``, ISO 8601); "" for bundles that do not record it
    #: (reproducible builds leave the time to the MLflow run)
    trained_at: str = ""
    #: the data sources its build read (ids, as in ``params.yaml``: kaggle2021, synthetic, ...)
    training_sources: tuple[str, ...] = ()
    #: for the packaged model: when the champion it copies was published (ISO 8601); else ""
    published_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "verified": self.verified,
            "verified_by": self.verified_by,
            "chosen_by": self.chosen_by,
            "trained_at": self.trained_at,
            "training_sources": list(self.training_sources),
            "published_at": self.published_at,
        }

    def describe(self) -> str:
        """In words, for people: "the model packaged with rolefit (version ..., trained 2026-12-07 on
        ...)"."""
        where = CHOSEN_WORDS.get(self.chosen_by, self.chosen_by)
        sources = ", ".join(SOURCE_NAMES.get(s, s) for s in self.training_sources if s != "synthetic")
        if self.trained_at:
            trained = f", trained {self.trained_at[:10]}"
        else:
            trained = f", published {self.published_at[:10]}" if self.published_at else ""
        on = f" on {sources}" if sources else ""
        return f"{where} (version {self.version}{trained}{on})"


@dataclass(frozen=True)
class LoadedModel:
    """A verified bundle ready to score: every item's answers precompiled and the decision tables built.

    ``additive`` is the all-answers model and ``fit`` the fit (rebuilt from ``additive`` when not given:
    :meth:`rolefit.model.uncertainty.FitModel.rebuilt`); ``fit_items`` are the fit items compiled with
    the fit's tables (each all-answers :class:`~rolefit.scoring.compiled.Level` of a fit item links to
    its fit level as ``Level.fit``) and ``fit_decisions`` the fit's decision table.
    """

    additive: AdditiveModel
    manifest: dict[str, Any]
    path: Path
    compiled: dict[str, CompiledItem] = field(default_factory=dict, repr=False)
    decisions: Decisions | None = field(default=None, repr=False)
    #: how the bundle was verified (None: the caller did not say, and it counts as unverified)
    verification: Verification | None = None
    #: which model this is and how it was verified: made once here, the one immutable object every
    #: prediction refers to (never rebuilt per call)
    info: ModelInfo = field(init=False, repr=False)
    fit: FitModel | None = field(default=None, repr=False)
    fit_items: CompiledItems | None = field(default=None, repr=False)
    fit_decisions: Decisions | None = field(default=None, repr=False)
    #: the coverage of the fit's whole questionnaire, summed as predict sums it (item id order)
    fit_coverage: float = field(default=0.0, repr=False)
    #: readiness.json's tables (:func:`rolefit.scoring.readiness.load_readiness`); None: the bundle has none
    readiness: Any = field(default=None, repr=False)
    #: how the model was chosen (:data:`CHOSEN_BY`)
    chosen_by: str = "argument"

    def __post_init__(self) -> None:
        instrument = load_instrument()
        additive = self.additive
        trust = self.verification
        if trust is None:
            from rolefit.scoring.signing import UNVERIFIED, Verification

            trust = Verification(False, UNVERIFIED)
        training = self.manifest.get("training_data") or {}
        sources = tuple(sorted((training.get("rows") or {}).get("by_source") or {}))
        created = str(self.manifest.get("created_at", ""))
        trained = created if created[:4].isdigit() else ""  # else "not recorded: see the MLflow run"
        published = str((self.manifest.get("packaged") or {}).get("published_at") or "")
        info = ModelInfo(self.version, trust.verified, trust.by, self.chosen_by, trained, sources,
                         published)  # fmt: skip
        object.__setattr__(self, "info", info)
        ranks = {item_id: rank for rank, item_id in enumerate(sorted(instrument.ids))}
        if self.fit is None:
            version = str(self.manifest.get("model_version", ""))
            object.__setattr__(self, "fit", FitModel.rebuilt(additive, instrument, version=version))
        if self.fit_items is None:
            object.__setattr__(self, "fit_items", _compile_fit(self.fit, instrument, ranks))
        if not self.compiled:
            # the blend weight for every count of answered real-block items (the index; 0 never occurs)
            weights = (1.0, *(additive.blend(count) for count in range(1, len(additive.alone) + 1)))
            coverage = 0.0
            for item in instrument.items:  # summed as predict sums the whole questionnaire, in its order
                coverage += additive.coverage.get(item.id, 0.0)
            whole = additive.scale_at(coverage)
            fit_items = self.fit_items
            compiled = CompiledItems({item.id: CompiledItem(item, additive.tables[item.id],
                                                            additive.coverage.get(item.id, 0.0),
                                                            None if item.id in additive.fixed
                                                            else additive.offsets.get(item.id, 0.0),
                                                            additive.alone.get(item.id),
                                                            evidence_entry(additive.evidence.get(item.id)),
                                                            ranks[item.id], weights, whole,
                                                            fit=fit_items.get(item.id))
                                      for item in instrument.items}, whole, len(additive.alone))  # fmt: skip
            object.__setattr__(self, "compiled", compiled)
        if self.readiness is not None:
            for entry in self.compiled.values():
                entry.link_readiness(self.readiness)
        if self.decisions is None:
            decisions = Decisions.build(additive.conformal, len(instrument.items))
            object.__setattr__(self, "decisions", decisions)
        if self.fit_decisions is None:
            decisions = Decisions.build(self.fit.additive.conformal, len(self.fit.additive.tables))
            object.__setattr__(self, "fit_decisions", decisions)

    @cached_property
    def answer_distributions(self):
        """P(answer level | role) per item, for adaptive questioning
        (:func:`rolefit.scoring.bundle.answer_distributions`: ``answers.json``, or the fallback of a bundle
        without it); read and checked on first use, so :func:`rolefit.predict` never pays for it."""
        from rolefit.scoring.bundle import answer_distributions

        return answer_distributions(self.path, self.manifest)

    @property
    def version(self) -> str:
        return str(self.manifest.get("model_version", "unknown"))

    @property
    def base_log_odds(self) -> float:
        """Log-odds of the population the model was calibrated for (the empty answer set's)."""
        rate = self.additive.base_rate
        return self.additive.intercept if rate is None else math.log(rate / (1.0 - rate))

    def intercept_for(self, rate: float | None) -> float:
        """The starting log-odds for a population whose MLE share is ``rate`` (None: the model's own).

        Only the starting point moves, by ``logit(rate) - logit(model's base rate)``."""
        if rate is None:
            return self.additive.intercept
        return self.additive.intercept + math.log(rate / (1.0 - rate)) - self.base_log_odds

    def fit_start(self, rate: float | None) -> float:
        """The fit's starting log-odds: even, or ``logit(rate)`` for a population whose MLE share is
        ``rate``."""
        return self.fit.starting_log_odds(rate)


def _compile_fit(fit: FitModel, instrument, ranks: dict[str, int]) -> CompiledItems:
    """The fit's items compiled with the fit's own tables, coverage scale and uncertainty."""
    additive = fit.additive
    weights = (1.0, *(additive.blend(count) for count in range(1, len(additive.alone) + 1)))
    # summed as predict sums the fit's answers: in item id order (sum() adds left to right)
    whole = additive.scale_at(sum(additive.coverage.get(item, 0.0) for item in sorted(additive.coverage)))
    return CompiledItems({item.id: CompiledItem(item, additive.tables[item.id],
                                                additive.coverage.get(item.id, 0.0),
                                                None if item.id in additive.fixed
                                                else additive.offsets.get(item.id, 0.0),
                                                additive.alone.get(item.id),
                                                fit_evidence(additive.evidence.get(item.id),
                                                             fit.uncertainty[item.id]),
                                                ranks[item.id], weights, whole,
                                                uncertainty=fit.uncertainty[item.id])
                          for item in instrument.items if item.id in additive.tables},
                         whole, len(additive.alone))  # fmt: skip


_cache: dict[str, LoadedModel] = {}
#: The model each request resolved to, keyed by what the caller gave (the location as a string, or
#: ``(None, ROLEFIT_MODEL)`` without one), so that a loaded model is found without touching the file
#: system; :func:`clear_cache` forgets it.
_requested: dict[Any, LoadedModel] = {}
_lock = threading.RLock()  # re-entrant: an MLflow URI load nests a bundle load


#: How the model that answers was chosen, in the order the rule tries them (see the module docstring).
CHOSEN_BY = ("argument", "ROLEFIT_MODEL", "project", "packaged")
CHOSEN_WORDS = {
    "argument": "the model you named",
    "ROLEFIT_MODEL": "the model ROLEFIT_MODEL names",
    "project": "the project's published champion",
    "packaged": "the model packaged with rolefit",
}
MODEL_ENV = "ROLEFIT_MODEL"


@dataclass(frozen=True)
class Choice:
    """Which model answers: ``location`` (a folder, or an MLflow model URI) and ``chosen_by``, how."""

    location: str | Path
    chosen_by: str


def project_champion(package_dir: str | Path | None = None) -> Path | None:
    """The published champion of the rolefit project this rolefit is installed in, if it has one.

    The project is the nearest folder above the package (``package_dir``, default the installed
    ``rolefit``) holding ``params.yaml`` or ``dvc.yaml``; its champion is its ``export.dir`` (default
    ``models/champion``), counted only when it holds a published model (``CURRENT`` or a manifest)."""
    from rolefit.scoring.signing import nearest_project

    package_dir = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parents[1]
    project = nearest_project(package_dir)
    if project is None:
        return None
    folder = project / DEFAULT_BUNDLE
    params = project / "params.yaml"
    if params.is_file():
        try:
            import yaml

            named = ((yaml.safe_load(params.read_text(encoding="utf-8")) or {}).get("export") or {}).get(
                "dir"
            )
        except (OSError, ValueError, AttributeError, yaml.YAMLError):
            named = None  # a broken params.yaml is the training's to report: use the default folder
        if isinstance(named, str) and named:
            folder = project / named
    if (folder / "CURRENT").is_file() or (folder / "manifest.json").is_file():
        return folder
    return None


def choose_model(location: str | os.PathLike | None = None) -> Choice:
    """Which model answers, by the rule of the module docstring (never the working directory)."""
    if location is not None:
        return Choice(location if isinstance(location, str) else Path(location), "argument")
    named = os.environ.get(MODEL_ENV) or None
    if named is not None:
        return Choice(named, MODEL_ENV)
    champion = project_champion()
    if champion is not None:
        return Choice(champion, "project")
    from rolefit.scoring.packaged import folder

    return Choice(folder(), "packaged")


def resolve_model_path(location: str | os.PathLike | None = None) -> Path:
    """The bundle folder :func:`choose_model` chooses (an MLflow URI is not a folder: see load_model)."""
    return Path(choose_model(location).location).expanduser()


def _is_mlflow_uri(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("models:/", "runs:/"))


def load_model(location: str | os.PathLike | LoadedModel | None = None) -> LoadedModel:
    """Load (once) and return the verified model; thread-safe.

    ``location`` (or ``ROLEFIT_MODEL``) is a bundle folder or an MLflow model URI such as
    ``models:/rolefit@champion``; MLflow is imported only in the second case. A :class:`LoadedModel` is
    returned as it is (a server scores with the model it loaded and reports, never a second load).
    Once loaded, the same request is answered from memory with no file-system access: a newly published
    champion is picked up after :func:`clear_cache` (or a restart), never half-way through.
    """
    if isinstance(location, LoadedModel):  # already loaded and verified (e.g. the server's own model)
        return location
    # an explicit location is its own key (ROLEFIT_MODEL does not change where it points); without one,
    # the key is the environment variable, in a tuple so that it never equals an explicit location
    if location is None:
        request: Any = (None, os.environ.get("ROLEFIT_MODEL"))
    elif isinstance(location, str):
        request = location
    else:
        request = os.fspath(location)
    model = _requested.get(request)
    if model is not None:
        return model
    model = _load_model(location)
    _requested[request] = model
    return model


def _load_model(location: str | os.PathLike | None) -> LoadedModel:
    choice = choose_model(location)
    if _is_mlflow_uri(choice.location):
        key: Any = (choice.chosen_by, str(choice.location))
        model = _cache.get(key)
        if model is None:
            with _lock:
                model = _cache.get(key)
                if model is None:
                    from rolefit.scoring.registry import configure, download_champion

                    configure(Path.cwd())
                    model = _load_folder(Path(download_champion(str(choice.location))), choice.chosen_by)
                    _cache[key] = model
        return model
    return _load_folder(Path(choice.location).expanduser(), choice.chosen_by)


def _load_folder(path: Path, chosen_by: str) -> LoadedModel:
    key = (chosen_by, str(path))
    model = _cache.get(key)
    if model is not None:
        return model
    with _lock:
        model = _cache.get(key)
        if model is None:
            from rolefit.scoring import champion
            from rolefit.scoring.bundle import BundleError, load_fit, load_trusted
            from rolefit.scoring.readiness import load_readiness

            if not path.exists():
                raise BundleError(
                    f"No trained model at {path}. Train one with `rolefit train` (or `make run`), "
                    "or point ROLEFIT_MODEL at a model bundle folder."
                )

            def load(folder: Path) -> LoadedModel:
                additive, manifest, trust = load_trusted(folder)
                fit = load_fit(folder, manifest, additive)
                readiness = load_readiness(folder, manifest)
                return LoadedModel(
                    additive=additive,
                    manifest=manifest,
                    path=folder,
                    verification=trust,
                    fit=fit,
                    readiness=readiness,
                    chosen_by=chosen_by,
                )

            # a champion folder is resolved once to one published version (never a mix of two)
            model = champion.load_consistent(path, load)
            _cache[key] = model
    return model


def clear_cache() -> None:
    """Forget loaded models (the next call reloads and re-verifies)."""
    with _lock:
        _cache.clear()
        _requested.clear()
