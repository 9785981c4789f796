"""Why the gate refused a challenger, in terms of what changed, and which settings would address it.

:func:`explain` compares the challenger's manifest with the champion's (sources and their roles, the
sources' weights, row counts, the items whose real evidence moved) and turns each failed check of the
verdict (:mod:`rolefit.evaluation.gate`) into the settings of ``params.yaml`` a data scientist can
change: a source's weight, its role, the gate's tolerances for that source, pooling. It suggests; it
never changes a setting. Pure: no files, no MLflow.
"""

from __future__ import annotations

from typing import Any

from rolefit.config import dotted

#: An item's effect (log-odds, at any answer) must move at least this much to be listed as moved.
MOVED = 0.1
#: At most this many moved items are listed (largest moves first).
MOST_ITEMS = 10


def _rows(manifest: dict[str, Any] | None) -> dict[str, int]:
    return dict(((manifest or {}).get("training_data") or {}).get("rows", {}).get("by_source") or {})


def _params(manifest: dict[str, Any] | None) -> dict[str, Any]:
    return (manifest or {}).get("params") or {}


def _weights(manifest: dict[str, Any] | None) -> dict[str, float]:
    return dict((_params(manifest).get("build") or {}).get("source_weights") or {})


def _roles(manifest: dict[str, Any] | None) -> dict[str, str]:
    sources = (_params(manifest).get("ingest") or {}).get("sources") or {}
    return {name: str((spec or {}).get("role", "train")) for name, spec in sources.items()}


def _effects(manifest: dict[str, Any] | None) -> dict[str, dict[Any, float]]:
    out: dict[str, dict[Any, float]] = {}
    real = (manifest or {}).get("real_evidence") or {}
    for row in real.get("effects") or []:
        out.setdefault(str(row["item"]), {})[row.get("answer")] = float(row["effect"])
    for row in (real.get("pooled") or {}).get("levels") or []:  # a pooled item: its correction
        out.setdefault(str(row["item"]), {})[("pooled", row.get("level"))] = float(row["correction"])
    return out


def _measured(manifest: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """Respondents per source behind each item's real evidence; a pooled item's under its sources."""
    real = (manifest or {}).get("real_evidence") or {}
    measured = {item: dict(counts) for item, counts in (real.get("measured_items") or {}).items()}
    pooled = real.get("pooled") or {}
    label = f"{'+'.join(pooled.get('sources') or ['real'])} (pooled)"
    for level in pooled.get("levels") or []:
        if level.get("respondents") and label in measured.setdefault(level["item"], {label: 0}):
            measured[level["item"]][label] += int(level["respondents"])
    return measured


def _settings(challenger: dict[str, Any], champion: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every parameter (dotted key) whose value differs, but the weights and sources listed apart."""
    new, old = dotted(_params(challenger)), dotted(_params(champion))
    apart = ("build.source_weights.", "ingest.sources.")
    return {
        key: {"champion": old.get(key), "challenger": new.get(key)}
        for key in sorted(set(new) | set(old))
        if old.get(key) != new.get(key) and not key.startswith(apart)
    }


def changes(challenger: dict[str, Any], champion: dict[str, Any] | None) -> dict[str, Any]:
    """What differs between the two models' training: sources, roles, weights, rows, moved items."""
    if champion is None:
        return {"champion": None}
    new_rows, old_rows = _rows(challenger), _rows(champion)
    new_roles, old_roles = _roles(challenger), _roles(champion)
    new_weights, old_weights = _weights(challenger), _weights(champion)
    out: dict[str, Any] = {
        "sources_added": sorted(set(new_rows) - set(old_rows)),
        "sources_removed": sorted(set(old_rows) - set(new_rows)),
        "rows": {
            s: {"champion": old_rows.get(s, 0), "challenger": new_rows.get(s, 0)}
            for s in sorted(set(new_rows) | set(old_rows))
            if old_rows.get(s, 0) != new_rows.get(s, 0)
        },
        "roles": {
            s: {"champion": old_roles.get(s), "challenger": new_roles.get(s)}
            for s in sorted(set(new_roles) | set(old_roles))
            if old_roles.get(s) != new_roles.get(s)
        },
        "weights": {
            s: {"champion": old_weights.get(s, 1.0), "challenger": new_weights.get(s, 1.0)}
            for s in sorted(set(new_weights) | set(old_weights))
            if old_weights.get(s, 1.0) != new_weights.get(s, 1.0)
        },
    }
    out["settings"] = _settings(challenger, champion)
    new_effects, old_effects = _effects(challenger), _effects(champion)
    new_measured, old_measured = _measured(challenger), _measured(champion)
    moved = []
    for item in sorted(set(new_effects) | set(old_effects) | set(new_measured) | set(old_measured)):
        a, b = new_effects.get(item, {}), old_effects.get(item, {})
        shift = max((abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)), default=0.0)
        sources_now, sources_before = new_measured.get(item, {}), old_measured.get(item, {})
        if shift >= MOVED or set(sources_now) != set(sources_before):
            moved.append({"item": item, "largest_effect_change": round(shift, 4),
                          "sources_champion": sources_before, "sources_challenger": sources_now})  # fmt: skip
    moved.sort(key=lambda m: (-m["largest_effect_change"], m["item"]))
    out["items_moved"] = moved[:MOST_ITEMS]
    out["items_moved_total"] = len(moved)
    return out


def suggestions(verdict, challenger: dict[str, Any], changed: dict[str, Any], params) -> list[dict[str, str]]:
    """Settings that would address each failed check: ``setting``, its value ``now`` and ``why``."""
    out: list[dict[str, str]] = []
    gate = params.export.gate
    weights = params.build.source_weights
    sources = params.ingest.sources
    new_sources = set(changed.get("sources_added") or []) | set(changed.get("weights") or {})
    worse = [r for r in verdict.table if r.get("worse")]  # beyond the tolerance and shown worse (gate)
    for row in worse:
        source, metric = row["source"], row["metric"]
        own = gate.per_source.get(source)
        tolerance = (own.log_loss_tolerance if metric == "log_loss" else own.ece_tolerance) if own else None
        out.append({
            "setting": f"export.gate.per_source.{source}.{metric}_tolerance",
            "now": f"{tolerance:g}" if tolerance is not None else f"the default {row['tolerance']:g}",
            "why": f"accept {source}'s {metric.replace('_', ' ')} moving by {row['difference']:+.4f} "
                   f"(95% CI {row['low']:+.4f} to {row['high']:+.4f}) when the change is intended: set "
                   f"it above {row['high']:.4f} only if you accept the worse figure on {source}",
        })  # fmt: skip
        for name in sorted(new_sources & set(sources)):
            spec = sources[name]
            if spec.role == "train":
                pair = (changed.get("weights") or {}).get(name)
                if pair and pair["challenger"] < pair["champion"]:
                    why = (
                        f"{name}'s weight went from {pair['champion']:g} to {pair['challenger']:g} and "
                        f"{source} got worse: the champion's weight gave its respondents more say"
                    )
                else:
                    why = (
                        f"{name} is new or weighs more in this training and {source} got worse: a lower "
                        f"weight lets {name} speak less (0 leaves it out of training)"
                    )
                setting = f"build.source_weights.{name}"
                out.append({"setting": setting, "now": f"{weights.get(name, 1.0):g}", "why": why})
                out.append({
                    "setting": f"ingest.sources.{name}.role",
                    "now": spec.role,
                    "why": f"`role: evaluate` keeps {name} out of training and still reports how the "
                           "model does on it",
                })  # fmt: skip
        train_params = params.train.real_evidence
        if hasattr(train_params, "pooled_sources"):
            out.append({
                "setting": "train.real_evidence.pooled_sources",
                "now": str(train_params.pooled_sources),
                "why": "pooling the real sources' evidence with the synthetic prior lets a source that "
                       "disagrees with the others move the shared items less",
            })  # fmt: skip
    if any(r.startswith("no real respondents in training") for r in verdict.reasons):
        out.append({
            "setting": "build.source_weights / ingest.sources.<source>.role",
            "now": ", ".join(f"{k}: {v:g}" for k, v in sorted(weights.items())),
            "why": "the gate needs real respondents in training: give a real source `role: train` "
                   "and a weight above 0",
        })  # fmt: skip
    if any("baseline" in r for r in verdict.reasons):
        out.append({
            "setting": "export.gate.baseline_tolerance",
            "now": f"{gate.baseline_tolerance:g}",
            "why": "the model does not beat the plain baseline on a real training source; look at that "
                   "source's items and weight first, the tolerance last",
        })  # fmt: skip
    failed = [r for r in verdict.reasons if r.startswith(("behaviour check failed", "no real respondents"))]
    for key, pair in (changed.get("settings") or {}).items():
        if worse or failed:  # a setting changed since the champion: setting it back tells if it was that
            out.append({
                "setting": key,
                "now": str(pair["challenger"]),
                "why": f"changed since the champion (it had {pair['champion']}): set it back to see whether "
                       "this change caused the refusal",
            })  # fmt: skip
    if any(r.startswith("behaviour check failed") for r in verdict.reasons):
        out.append({
            "setting": "(none)",
            "now": "",
            "why": "a behaviour check failed: the model contradicts an item's lean; no setting should "
                   "override that, look at the items whose evidence moved",
        })  # fmt: skip
    seen, unique = set(), []
    for s in out:
        if s["setting"] not in seen:
            seen.add(s["setting"])
            unique.append(s)
    return unique


def explain(verdict, challenger: dict[str, Any], champion: dict[str, Any] | None, params) -> dict[str, Any]:
    """The refusal as data: the verdict's reasons, what changed since the champion, suggested settings."""
    changed = changes(challenger, champion)
    return {
        "passed": verdict.passed,
        "challenger": challenger.get("model_version"),
        "champion": None if champion is None else champion.get("model_version"),
        "reasons": list(verdict.reasons),
        "changed": changed,
        "suggestions": [] if verdict.passed else suggestions(verdict, challenger, changed, params),
    }


def markdown(explained: dict[str, Any], gate_markdown: str = "") -> str:
    """The refusal for people: reasons, what changed, what to try (``reports/challenger/refusal.md``)."""
    lines = [
        f"# Challenger {explained['challenger']} was refused",
        "",
        f"The champion ({explained['champion'] or 'none'}) stays; `reports/` still describes it and this "
        "folder describes the challenger.",
        "",
        "## Why",
        "",
        *[f"- {r}" for r in explained["reasons"]],
        "",
        "## What changed since the champion",
        "",
    ]
    changed = explained["changed"]
    if changed.get("champion", "") is None:
        lines.append("- there is no champion to compare with")
    for key, label in (("sources_added", "sources added"), ("sources_removed", "sources removed")):
        if changed.get(key):
            lines.append(f"- {label}: {', '.join(changed[key])}")
    for key, label in (("rows", "rows"), ("roles", "role"), ("weights", "weight")):
        for source, pair in (changed.get(key) or {}).items():
            lines.append(f"- {source} {label}: {pair['champion']} → {pair['challenger']}")
    for key, pair in (changed.get("settings") or {}).items():
        lines.append(f"- setting `{key}`: {pair['champion']} → {pair['challenger']}")
    moved = changed.get("items_moved") or []
    if moved:
        lines.append(
            f"- items whose real evidence moved ({changed['items_moved_total']}; largest first, log-odds):"
        )
        for m in moved:
            before = ", ".join(f"{s} {n:,}" for s, n in sorted(m["sources_champion"].items())) or "none"
            now = ", ".join(f"{s} {n:,}" for s, n in sorted(m["sources_challenger"].items())) or "none"
            lines.append(
                f"  - {m['item']}: up to {m['largest_effect_change']:.2f}; respondents {before} → {now}"
            )
    if len(lines) and lines[-1] == "":
        lines.append("- nothing in the sources, weights or items (the code or other settings changed)")
    lines += ["", "## Settings that would address it", ""]
    for s in explained["suggestions"]:
        lines.append(f"- `{s['setting']}` (now {s['now'] or '-'}): {s['why']}")
    if not explained["suggestions"]:
        lines.append("- none: read the reasons above")
    lines += [
        "",
        "Change one in params.yaml and run `make run` again; "
        "`rolefit promote <version> --force --reason ...` publishes this challenger anyway, "
        "recorded as forced.",
    ]
    if gate_markdown:
        lines += ["", "## The gate's table", "", gate_markdown]
    return "\n".join(lines) + "\n"
