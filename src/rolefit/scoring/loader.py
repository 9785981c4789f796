"""Finding, verifying and caching the model that :func:`rolefit.predict` scores with.

The model is loaded lazily on first use, verified by checksum (and signature, when a key is found: see
:mod:`rolefit.scoring.signing`), and cached; ``ROLEFIT_MODEL`` may point to another bundle folder or an
MLflow model URI. Every prediction carries :attr:`LoadedModel.info` (:class:`ModelInfo`): which model
answered and whether it was verified, computed once at load.
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
    file record)"`` or ``"checksums only: no signing key configured"``.
    """

    version: str
    verified: bool
    verified_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "verified": self.verified, "verified_by": self.verified_by}


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

    def __post_init__(self) -> None:
        instrument = load_instrument()
        additive = self.additive
        trust = self.verification
        if trust is None:
            from rolefit.scoring.signing import UNVERIFIED, Verification

            trust = Verification(False, UNVERIFIED)
        object.__setattr__(self, "info", ModelInfo(self.version, trust.verified, trust.by))
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


def resolve_model_path(location: str | os.PathLike | None = None) -> Path:
    """Where the model comes from: the argument, else ``ROLEFIT_MODEL``, else ``models/champion``.

    The default is looked up in the working directory first, then in the source checkout this package
    is installed from (editable installs).
    """
    if location is None:
        location = os.environ.get("ROLEFIT_MODEL") or None
    if location is not None:
        return Path(location).expanduser()
    here = Path.cwd() / DEFAULT_BUNDLE
    if here.exists():
        return here
    checkout = Path(__file__).resolve().parents[2] / DEFAULT_BUNDLE
    if checkout.exists():
        return checkout
    return here


def _is_mlflow_uri(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("models:/", "runs:/"))


def load_model(location: str | os.PathLike | None = None) -> LoadedModel:
    """Load (once) and return the verified model; thread-safe.

    ``location`` (or ``ROLEFIT_MODEL``) is a bundle folder or an MLflow model URI such as
    ``models:/rolefit@champion``; MLflow is imported only in the second case. Once loaded, the same
    request is answered from memory with no file-system access: a newly published champion is picked
    up after :func:`clear_cache` (or a restart), never half-way through.
    """
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
    if location is None and _is_mlflow_uri(os.environ.get("ROLEFIT_MODEL")):
        location = os.environ["ROLEFIT_MODEL"]
    if _is_mlflow_uri(location):
        key = str(location)
        model = _cache.get(key)
        if model is None:
            with _lock:
                model = _cache.get(key)
                if model is None:
                    from rolefit.scoring.registry import configure, download_champion

                    configure(Path.cwd())
                    model = load_model(download_champion(str(location)))
                    _cache[key] = model
        return model
    path = resolve_model_path(location)
    key = str(path)
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
