"""Real-block comparison (issue #26 item 4): the logistic block against the boosted one, and pair terms.

On Kaggle 2021's non-test respondents - the rows the real block is fitted on (``fit_additive``'s
``real_dev``), weighted toward ``build.target_mle_share`` as in training - it prints:

1. the out-of-fold log loss of :class:`rolefit.model.evidence.RealEvidenceBlock` and
   :class:`rolefit.model.boosted.BoostedEvidenceBlock` on the same folds, the paired difference with a
   bootstrap 95% interval (:func:`rolefit.model.boosted.choose_real_block`), and fit times;
2. whether pairwise interactions pay: in every fold the additive boosting is fitted, the item pairs are
   ranked by the Newton gain of a per-cell step on its residuals (training rows only), and the top
   ``K`` pairs get boosted pair tables (one value per pair of answer levels with ``min_leaf``
   respondents, the block's L2 and shrinkage) on top of it; the best ``K`` and rounds by out-of-fold
   log loss (favouring pairs: chosen on the same scores) against the additive block, paired;
3. with ``--hgb``, scikit-learn's HistGradientBoosting on the same folds as a reference: additive
   (``interaction_cst="no_interactions"``), depth 2 and depth 3 (every interaction), rounds chosen by
   out-of-fold log loss; it treats a skipped answer as information, which rolefit never does;
4. with ``--test``, once, both blocks fitted on the non-test rows and scored on Kaggle 2021's test split.

``python benchmarks/real_block.py [--hgb] [--test]`` (reads the survey exports of ``ingest.search_paths``)
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.model_selection import StratifiedKFold

from rolefit.config import load_params
from rolefit.data.dataset import assign_splits, combine, labels, mle_shares, sample_weights, survey_frames
from rolefit.instrument.items import load_instrument
from rolefit.model.boosted import (
    BoostedEvidenceBlock,
    answer_codes,
    answered_blend,
    choose_real_block,
    cyclic_boost,
    item_levels,
    paired_log_loss_difference,
    platt,
    shape_sum,
)
from rolefit.model.evidence import RealEvidenceBlock, measured_items

SOURCE = "kaggle2021"


def kaggle_rows(params):
    """Kaggle 2021's rows (as the build stage splits them), the measured items and the weights."""
    frames = survey_frames(params)
    if SOURCE not in frames:
        raise SystemExit(f"{SOURCE} not found in {', '.join(params.ingest.search_paths)}")
    frame = combine({SOURCE: frames[SOURCE][0]})
    frame["split"] = assign_splits(frame, params.build).to_numpy()
    dev = frame[frame["split"] != "test"]
    items = tuple(
        measured_items(dev, [SOURCE], load_instrument().ids, params.train.real_evidence.min_respondents)
    )
    shares = mle_shares(frame)

    def part(rows: pd.DataFrame):
        return (
            rows[list(items)].reset_index(drop=True),
            labels(rows),
            sample_weights(rows, params.build, shares),
        )

    return items, part(dev), part(frame[frame["split"] == "test"])


def calibrated_loss(z, coverage, y, w, base):
    a, shift = platt(z, coverage, y, w, base)
    t = base + a * z + shift * coverage
    return t, float(np.average(np.logaddexp(0.0, t) - y * t, weights=w))


def pairs_experiment(block, X, y, w, ks=(1, 2, 3, 5, 10), rounds=range(0, 301, 10)):
    """Out-of-fold log loss of the additive block plus the top-K boosted pair tables (see the module)."""
    levels = item_levels(block.items)
    codes = answer_codes(X, levels)
    _, coverage = answered_blend(codes)
    base = block.base_log_odds
    settings = {
        "learning_rate": block.learning_rate_,
        "rounds": block.rounds_,
        "max_leaves": block.max_leaves,
        "min_leaf": block.min_leaf,
        "l2": float(block.l2),
    }
    folds = StratifiedKFold(block.n_folds, shuffle=True, random_state=block.seed).split(codes, y)
    rounds = list(rounds)
    z_add = np.zeros(len(y))
    z_pair = {(k, r): np.zeros(len(y)) for k in ks for r in rounds}
    top, ranked = [], []

    def cells(cc, j, k):
        ok = (cc[:, j] >= 0) & (cc[:, k] >= 0)
        return ok, np.where(ok, cc[:, j] * levels[k].size + cc[:, k], 0)

    for train, held in folds:
        ct, yt, wt = codes[train], y[train], w[train]
        zeros = np.zeros(len(train))
        joint = cyclic_boost(ct, yt, wt, zeros, levels, **settings)
        singles = [cyclic_boost(ct[:, [j]], yt, wt, zeros, [lv], **settings) for j, lv in enumerate(levels)]
        c_held, _ = answered_blend(codes[held])
        z_add[held] = c_held * shape_sum(codes[held], joint.shapes) + (1 - c_held) * shape_sum(
            codes[held], [s.shapes[0] for s in singles]
        )
        F = joint.intercept + shape_sum(ct, joint.shapes)
        p = expit(F)
        g, h = wt * (p - yt), wt * p * (1 - p)
        gains = []
        for j, k in itertools.combinations(range(len(levels)), 2):
            size = levels[j].size * levels[k].size
            ok, cell = cells(ct, j, k)
            G = np.bincount(cell[ok], g[ok], size)
            H = np.bincount(cell[ok], h[ok], size)
            keep = np.bincount(cell[ok], minlength=size) >= block.min_leaf
            gains.append((float(np.sum(G[keep] ** 2 / (H[keep] + block.l2))), j, k))
        gains.sort(reverse=True)
        top.append([f"{block.items[j]} x {block.items[k]}" for _, j, k in gains[:3]])
        ranked.append([(j, k) for _, j, k in gains])
        for K in ks:
            pairs = [(j, k) for _, j, k in gains[:K]]
            fit_cells = {pk: cells(ct, *pk) for pk in pairs}
            held_cells = {pk: cells(codes[held], *pk) for pk in pairs}
            size = {pk: levels[pk[0]].size * levels[pk[1]].size for pk in pairs}
            enough = {
                pk: np.bincount(c[o], minlength=size[pk]) >= block.min_leaf
                for pk, (o, c) in fit_cells.items()
            }
            tables = {pk: np.zeros(size[pk]) for pk in pairs}
            Ft, shift = F.copy(), 0.0
            for r in range(rounds[-1] + 1):
                if r:
                    for pk in pairs:
                        ok, cell = fit_cells[pk]
                        p = expit(Ft)
                        G = np.bincount(cell[ok], (wt * (p - yt))[ok], size[pk])
                        H = np.bincount(cell[ok], (wt * p * (1 - p))[ok], size[pk])
                        step = np.where(enough[pk], -block.learning_rate_ * G / (H + block.l2), 0.0)
                        tables[pk] += step
                        Ft[ok] += step[cell[ok]]
                    p = expit(Ft)
                    s = -float(wt @ (p - yt)) / float(wt @ (p * (1 - p)))
                    Ft, shift = Ft + s, shift + s
                if (K, r) in z_pair:
                    zh = z_add[held] + shift
                    for pk in pairs:
                        ok, cell = held_cells[pk]
                        zh[ok] += tables[pk][cell[ok]]
                    z_pair[(K, r)][held] = zh
    t_add, l_add = calibrated_loss(z_add, coverage, y, w, base)
    out = {"additive": l_add, "top_pairs_per_fold": top, "ranked_pairs_per_fold": ranked, "pairs": []}
    for K in ks:
        loss, r = min((calibrated_loss(z_pair[(K, r)], coverage, y, w, base)[1], r) for r in rounds)
        t_pair, _ = calibrated_loss(z_pair[(K, r)], coverage, y, w, base)
        d = paired_log_loss_difference(y, t_pair, t_add, w)
        out["pairs"].append({"pairs": K, "rounds": r, "out_of_fold_log_loss": loss, **d})
    return out


def hgb_reference(block, X, y, w, ranked=None, steps=range(10, 801, 10)):
    """Out-of-fold log loss of scikit-learn's HistGradientBoosting, additive and with interactions.

    Each model's difference is given against the boosted block and against HGB's own additive model
    (``vs_additive``: what its interactions add, paired). With ``ranked`` (each fold's item pairs, best
    first, from :func:`pairs_experiment`) depth-2 trees restricted to each fold's top 5 pairs are tried.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    levels = item_levels(block.items)
    codes = answer_codes(X, levels)
    _, coverage = answered_blend(codes)
    features = np.where(codes >= 0, codes, np.nan).astype(float)
    monotone = [0 if lv.is_choice else lv.monotone for lv in levels]
    configs = {
        "additive, monotone": {
            "interaction_cst": "no_interactions",
            "max_leaf_nodes": 3,
            "monotonic_cst": monotone,
        },
        "depth 2 (pairs)": {"max_depth": 2},
        "depth 2 (pairs), monotone": {"max_depth": 2, "monotonic_cst": monotone},
        "depth 3": {"max_depth": 3},
    }
    if ranked is not None:
        configs["depth 2, the fold's top 5 pairs only"] = {"max_depth": 2, "interaction_cst": "top5"}
    steps = list(steps)
    out = []
    for name, kwargs in configs.items():
        started = time.perf_counter()
        z = {s: np.zeros(len(y)) for s in steps}
        split = StratifiedKFold(block.n_folds, shuffle=True, random_state=block.seed).split(codes, y)
        for fold, (train, held) in enumerate(split):
            options = dict(kwargs)
            if options.get("interaction_cst") == "top5":
                allowed = [list(pair) for pair in ranked[fold][:5]] + [[j] for j in range(len(levels))]
                options["interaction_cst"] = allowed
            model = HistGradientBoostingClassifier(
                learning_rate=0.05,
                max_iter=steps[-1],
                min_samples_leaf=block.min_leaf,
                l2_regularization=1.0,
                early_stopping=False,
                categorical_features=[lv.is_choice for lv in levels],
                random_state=0,
                **options,
            ).fit(features[train], y[train], sample_weight=w[train])
            for s, d in enumerate(model.staged_decision_function(features[held]), start=1):
                if s in z:
                    z[s][held] = d
        loss, s = min((calibrated_loss(z[s], coverage, y, w, 0.0)[1], s) for s in steps)
        t, _ = calibrated_loss(z[s], coverage, y, w, 0.0)
        d = paired_log_loss_difference(y, t, block.out_of_fold_log_odds_, w)
        if not out:
            additive = t
        vs = paired_log_loss_difference(y, t, additive, w)
        out.append(
            {
                "vs_additive": vs,
                "model": name,
                "rounds": s,
                "out_of_fold_log_loss": loss,
                **d,
                "seconds": time.perf_counter() - started,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hgb", action="store_true", help="also scikit-learn's HistGradientBoosting")
    parser.add_argument("--test", action="store_true", help="also score both blocks on the test split, once")
    parser.add_argument(
        "--no-pairs", action="store_true", help="skip the pair terms (and the HGB pair subset)"
    )
    args = parser.parse_args()
    params = load_params()
    items, (X, y, w), (X_test, y_test, _) = kaggle_rows(params)
    base = float(logit(params.build.target_mle_share))
    evidence = params.train.real_evidence
    print(f"{SOURCE}: {len(y):,} non-test rows, {len(items)} items; {evidence.folds}-fold cross-fitting")
    started = time.perf_counter()
    logistic = RealEvidenceBlock(
        items=items,
        base_log_odds=base,
        alphas=evidence.alphas,
        n_folds=evidence.folds,
        seed=params.train.seed,
    ).fit(X, y, w)
    t_logistic = time.perf_counter() - started
    started = time.perf_counter()
    boosted = BoostedEvidenceBlock(
        items=items, base_log_odds=base, n_folds=evidence.folds, seed=params.train.seed
    ).fit(X, y, w)
    t_boosted = time.perf_counter() - started
    print(
        f"fit with cross-fitting: logistic {t_logistic:.1f} s (alpha {logistic.alpha_:g}), boosted {t_boosted:.1f} s "
        f"(learning rate {boosted.learning_rate_:g}, {boosted.rounds_} rounds)"
    )
    choose_real_block({"logistic": logistic, "boosting": boosted}, y, w, log=print)
    started = time.perf_counter()
    boosted.bootstrap_tables(X, y, w, n_boot=10)
    print(f"boosted bootstrap: {(time.perf_counter() - started) / 10:.2f} s per resample")

    ranked = None
    if not args.no_pairs:
        print("pairwise interactions on top of the additive boosting (same folds):")
        pairs = pairs_experiment(boosted, X, y, w)
        ranked = pairs["ranked_pairs_per_fold"]
        print(f"  additive: out-of-fold log loss {pairs['additive']:.4f}")
        for fold, top in enumerate(pairs["top_pairs_per_fold"]):
            print(f"  fold {fold} top pairs: {', '.join(top)}")
        for row in pairs["pairs"]:
            print(
                f"  top {row['pairs']:2d} pairs, {row['rounds']:3d} rounds: {row['out_of_fold_log_loss']:.4f}, "
                f"minus additive {row['difference']:+.4f} (95% interval {row['low']:+.4f} to {row['high']:+.4f})"
            )
    if args.hgb:
        print("scikit-learn HistGradientBoosting (skipped answers as information), minus the boosted block")
        print("and minus its own additive model:")
        for row in hgb_reference(boosted, X, y, w, ranked):
            vs = row["vs_additive"]
            print(
                f"  {row['model']}: {row['rounds']} rounds, {row['out_of_fold_log_loss']:.4f}, "
                f"{row['difference']:+.4f} ({row['low']:+.4f} to {row['high']:+.4f}); minus HGB additive "
                f"{vs['difference']:+.4f} ({vs['low']:+.4f} to {vs['high']:+.4f}); {row['seconds']:.0f} s"
            )
    if args.test:
        test_split(logistic, boosted, X, y, w, X_test, y_test)


def test_split(logistic, boosted, X, y, w, X_test, y_test) -> None:
    """Once: both blocks and the plain baseline (fitted on the non-test rows) on the test split, with
    bootstrap intervals and paired differences (unweighted, as the evaluation reports each source)."""
    from rolefit.evaluation.metrics import bootstrap_intervals, paired_differences
    from rolefit.model.evidence import PlainBaseline
    from rolefit.model.metrics import expected_calibration_error, log_loss, roc_auc

    baseline = PlainBaseline(items=logistic.items).fit(X, y, w)
    p = {
        "logistic block": expit(logistic.decision_function(X_test)),
        "boosted block": expit(boosted.decision_function(X_test)),
        "plain baseline": baseline.predict_proba(X_test)[:, 1],
    }
    print(f"test split ({len(y_test)} rows), each fitted on the non-test rows:")
    for name, q in p.items():
        ci = bootstrap_intervals(y_test, q)
        print(
            f"  {name}: log loss {log_loss(y_test, q):.4f} ({ci['log_loss'][0]:.4f}-{ci['log_loss'][1]:.4f}), "
            f"ECE {expected_calibration_error(y_test, q, 10):.4f} ({ci['ece'][0]:.4f}-{ci['ece'][1]:.4f}), "
            f"ROC AUC {roc_auc(y_test, q):.4f} ({ci['roc_auc'][0]:.4f}-{ci['roc_auc'][1]:.4f})"
        )
    for other in ("logistic block", "plain baseline"):
        d = paired_differences(y_test, p["boosted block"], p[other])
        print(
            f"  boosted block minus {other}: "
            + ", ".join(
                f"{k} {v['difference']:+.4f} ({v['low']:+.4f} to {v['high']:+.4f})" for k, v in d.items()
            )
        )


if __name__ == "__main__":
    main()
