"""rolefit benchmarks (``make bench``): every figure is measured in the same run as its baseline.

Baseline: the scikit-learn pipeline a careful data scientist would hand-build for the same model,
``Pipeline(ColumnTransformer(impute + one-hot) -> LogisticRegression)`` for a linear champion and
``... -> HistGradientBoostingClassifier`` for a boosting one, fitted on the same training data.
Writes ``reports/benchmarks.md`` and the table between the benchmark markers of
``docs/explanation/speed.md`` (the docs site's "Speed and scale").
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
PY = sys.executable
BIN = Path(PY).parent


def log(message: str) -> None:
    print(message, flush=True)


def timed_calls(fn, n: int) -> tuple[float, float]:
    """Median and p99 of ``n`` calls, in microseconds."""
    for _ in range(min(200, n)):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples), float(np.percentile(samples, 99))


def hand_built(kind: str, frame: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from rolefit.instrument.items import load_instrument

    instrument = load_instrument()
    choices = [i.id for i in instrument.items if i.kind == "choice"]
    numbers = [i.id for i in instrument.items if i.kind != "choice"]
    pre = ColumnTransformer(
        [("num", SimpleImputer(strategy="mean"), numbers),
         ("cat", Pipeline([("fill", SimpleImputer(strategy="constant", fill_value="missing")),
                           ("onehot", OneHotEncoder(handle_unknown="ignore"))]), choices)]
    )  # fmt: skip
    model = LogisticRegression(max_iter=2000) if kind == "logistic" else HistGradientBoostingClassifier()
    pipe = Pipeline([("pre", pre), ("model", model)])
    X = frame[list(instrument.ids)].copy()
    for c in choices:
        X[c] = X[c].astype(object).where(X[c].notna(), np.nan)
    pipe.fit(X, (frame["role"] == "mle").astype(int))
    return pipe, X.columns


def champion() -> tuple[Path, pd.DataFrame, str]:
    """The champion ``make run`` publishes (models/champion), its training data and its candidate kind.

    Issue #24: the bench times that champion (a real block, the fit and the all-answers model), never a
    bundle trained on synthetic rows alone. Run ``make run`` (or ``dvc repro``) first."""
    from rolefit.data.dataset import read_dataset
    from rolefit.scoring.loader import load_model

    bundle, dataset = ROOT / "models" / "champion", ROOT / "data" / "processed" / "dataset.parquet"
    if not bundle.exists() or not dataset.is_file():
        raise SystemExit(
            f"make bench times the published champion: {bundle} or {dataset} is missing; run `make run` "
            "(or `.venv/bin/dvc repro`) first."
        )
    loaded = load_model(bundle)
    frame = read_dataset(dataset)
    frame = frame[(frame["split"] == "train").to_numpy()] if "split" in frame.columns else frame
    return loaded.path, frame, str(loaded.manifest.get("candidate", "logistic"))


def one_person(results: dict, folder: Path) -> None:
    """rolefit.predict for the 12-answer example and the whole questionnaire on the published champion:
    the fit (its reasons included), the all-answers model's probabilities, set and verdict, and the
    readiness summary when the bundle has readiness tables; and the same with the all-answers model's
    reasons read too (built on first use)."""
    import rolefit
    from rolefit.instrument.items import load_instrument
    from rolefit.scoring.loader import clear_cache

    instrument = load_instrument()
    people = {
        "example": json.loads((ROOT / "examples" / "person.json").read_text()),
        "all": {
            i.id: (4 if i.kind == "scale" else i.choice_ids[2] if i.kind == "choice" else 1)
            for i in instrument.items
        },
    }
    bundle, frame, kind = champion()
    clear_cache()
    pipe, columns = hand_built(kind, frame)

    def with_summary(answers, bundle):
        """What a person is shown first: the fit, the all-answers model and readiness's summary."""
        made = rolefit.predict(answers, model=bundle)
        if made.readiness is not None:
            made.readiness.summary  # noqa: B018 (worked out on first use: the timing must include it)
        return made

    def with_reasons(answers, bundle):
        """... and the fit's reasons (built on first use), as the page and the CLI show them."""
        made = with_summary(answers, bundle)
        made.explanations  # noqa: B018
        return made

    for who, person in people.items():
        median, p99 = timed_calls(lambda b=bundle, a=person: with_summary(a, b), 20_000)
        reasons, reasons_p99 = timed_calls(lambda b=bundle, a=person: with_reasons(a, b), 20_000)
        both, both_p99 = timed_calls(
            lambda b=bundle, a=person: with_reasons(a, b).all_answers.explanations, 20_000
        )
        row = pd.DataFrame([person], columns=columns)
        base_median, base_p99 = timed_calls(lambda pipe=pipe, row=row: pipe.predict_proba(row), 2_000)
        results[f"predict_{who}"] = {"answers": len(person), "kind": kind, "median_us": median, "p99_us": p99,
                                     "with_reasons_median_us": reasons, "with_reasons_p99_us": reasons_p99,
                                     "with_all_answers_reasons_median_us": both,
                                     "with_all_answers_reasons_p99_us": both_p99,
                                     "baseline_median_us": base_median, "baseline_p99_us": base_p99,
                                     "speedup": base_median / median}  # fmt: skip
        log(
            f"one person ({kind} champion, {len(person)} answers): {median:.1f} us median, {p99:.1f} us p99 "
            f"(the fit's reasons read: {reasons:.1f} / {reasons_p99:.1f} us; the all-answers model's too: "
            f"{both:.1f} / {both_p99:.1f} us); hand-built "
            f"pipeline {base_median:.0f} us -> {base_median / median:.0f}x"
        )
    guidance_cost(results, kind, bundle, people)
    results["_bundle"], results["_frame"], results["_pipe"] = bundle, frame, pipe


def guidance_cost(results: dict, kind: str, bundle: Path, people: dict) -> None:
    """Guidance per call, against rolefit.predict measured in the same run on the same answers:
    ``next_questions`` (k=1), ``settled`` (the stopping rule, 256 sampled completions), ``next_steps``
    (every candidate change re-predicted) and ``guide`` (all of a result's guidance)."""
    import rolefit
    from rolefit.guidance.questions import settled

    for who, person in {"none": {}, "example": people["example"]}.items():
        calls = {
            "predict": lambda a=person: rolefit.predict(a, model=bundle),
            "next_questions": lambda a=person: rolefit.next_questions(a, model=bundle),
            "settled": lambda a=person: settled(a, model=bundle),
            "next_steps": lambda a=person: rolefit.next_steps(a, model=bundle),
            "guide": lambda a=person: rolefit.guide(a, model=bundle),
        }
        timed = {name: timed_calls(call, 2_000) for name, call in calls.items()}
        base = timed["predict"][0]
        results[f"guidance_{kind}_{who}"] = {
            "answers": len(person),
            **{f"{name}_median_us": median for name, (median, _) in timed.items()},
            **{f"{name}_p99_us": p99 for name, (_, p99) in timed.items()},
            "next_questions_ratio": timed["next_questions"][0] / base,
            "settled_ratio": timed["settled"][0] / base,
            "next_steps_ratio": timed["next_steps"][0] / base,
            "guide_ratio": timed["guide"][0] / base,
        }
        log(
            f"guidance ({kind}, {len(person)} answers): next_questions {timed['next_questions'][0]:.0f} us "
            f"({timed['next_questions'][0] / base:.1f}x predict), settled {timed['settled'][0]:.0f} us "
            f"({timed['settled'][0] / base:.1f}x predict), next_steps {timed['next_steps'][0]:.0f} us, guide "
            f"{timed['guide'][0]:.0f} us; predict {base:.1f} us"
        )


def adaptive_simulation(results: dict) -> None:
    """The adaptive-questioning simulation on the champion (``reports/adaptive.json`` and ``.md``), when the
    champion and the build stage's dataset are present (``make run`` makes both)."""
    dataset = ROOT / "data" / "processed" / "dataset.parquet"
    champion = ROOT / "models" / "champion"
    if not dataset.is_file() or not champion.exists():
        log(
            "adaptive simulation: skipped (no models/champion or data/processed/dataset.parquet; run make run)"
        )
        return
    from rolefit.data.dataset import read_dataset
    from rolefit.evaluation import adaptive

    report = adaptive.run(read_dataset(dataset), model=champion, log=log)
    adaptive.write(report, ROOT / "reports")
    results["adaptive"] = {"rule": report["rule"], "thresholds": report["thresholds"], "seconds": report["seconds"],
                           "answer_model": report["answer_model"], "sources": report["sources"]}  # fmt: skip


def batch(results: dict, rows: int = 1_000_000) -> None:
    import rolefit

    sys.path.insert(0, str(ROOT / "tests"))
    from tests.model.test_exactness import random_answers

    frame = pd.concat([random_answers(200_000, seed=s) for s in range(rows // 200_000)], ignore_index=True)
    bundle, pipe = results["_bundle"], results["_pipe"]
    rolefit.predict_many(frame.head(100), model=bundle)
    timings = {}
    for k in (0, 3):
        start = time.perf_counter()
        rolefit.predict_many(frame, model=bundle, top_k=k)
        timings[k] = rows / (time.perf_counter() - start)
    X = frame.copy()
    for c in ("career_goal", "education"):
        X[c] = X[c].astype(object).where(X[c].notna(), np.nan)
    start = time.perf_counter()
    pipe.predict_proba(X)
    baseline = rows / (time.perf_counter() - start)
    results["predict_many"] = {"rows": rows, "rows_per_s": timings[0], "rows_per_s_top3": timings[3],
                               "baseline_rows_per_s": baseline, "speedup": timings[0] / baseline}  # fmt: skip
    log(
        f"predict_many: {timings[0]:,.0f} rows/s, {timings[3]:,.0f} rows/s with top-3 reasons; "
        f"hand-built pipeline {baseline:,.0f} rows/s"
    )
    results["_big_frame"] = frame


def run_peak(args: list[str], env=None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a child process, measured by a fresh wrapper."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "r = subprocess.run(sys.argv[1:]); d = time.perf_counter() - t; "
            "print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); sys.exit(r.returncode)")  # fmt: skip
    out = subprocess.run([PY, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    seconds, peak = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak)


def score_file(results: dict, folder: Path) -> None:
    frame = results.pop("_big_frame")
    frame.insert(0, "respondent_id", [f"r{i}" for i in range(len(frame))])
    source = folder / "people.csv"
    frame.to_csv(source, index=False)
    env = {**os.environ, "ROLEFIT_MODEL": str(results["_bundle"])}
    seconds, peak = run_peak([str(BIN / "rolefit"), "score", str(source), str(folder / "scores.csv"),
                              "--reasons", "3", "--no-progress"], env=env)  # fmt: skip
    with (folder / "scores.csv").open() as handle:
        rows = sum(1 for _ in handle) - 1
    pipe_path = folder / "pipe.joblib"
    import joblib

    joblib.dump(results["_pipe"], pipe_path)
    code = ("import joblib, numpy as np, pandas as pd, sys; pipe = joblib.load(sys.argv[1]); "
            "f = pd.read_csv(sys.argv[2]); X = f.drop(columns='respondent_id'); "
            "X[['career_goal','education']] = X[['career_goal','education']].astype(object); "
            "p = pipe.predict_proba(X)[:, 1]; "
            "pd.DataFrame({'respondent_id': f['respondent_id'], 'p_mle': p}).to_csv(sys.argv[3], index=False)")  # fmt: skip
    base_seconds, base_peak = run_peak(
        [PY, "-c", code, str(pipe_path), str(source), str(folder / "base.csv")]
    )
    results["score"] = {"rows": rows, "rows_per_s": rows / seconds, "peak_mb": peak,
                        "baseline_rows_per_s": len(frame) / base_seconds, "baseline_peak_mb": base_peak}  # fmt: skip
    log(
        f"rolefit score 1M-row CSV (top-3 reasons): {rows / seconds:,.0f} rows/s, peak {peak:.0f} MB, "
        f"{rows:,} rows out; pandas + pipeline in memory: {len(frame) / base_seconds:,.0f} rows/s, peak {base_peak:.0f} MB"
    )


def cold_start(results: dict) -> None:
    env = {**os.environ, "ROLEFIT_MODEL": str(results["_bundle"])}
    ours, theirs = [], []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run(
            [PY, "-c", "import rolefit; rolefit.predict({'interest_math': 5})"], env=env, check=True
        )
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([PY, "-c", "import sklearn, pandas"], check=True)
        theirs.append(time.perf_counter() - start)
    results["cold_start"] = {
        "seconds": statistics.median(ours),
        "baseline_seconds": statistics.median(theirs),
    }
    log(
        f"cold start to a first prediction: {statistics.median(ours):.3f} s; import sklearn, pandas: "
        f"{statistics.median(theirs):.3f} s"
    )


def dvc_repro(results: dict, folder: Path) -> None:
    copy = folder / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()  # fmt: skip
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    if (ROOT.parent / "shared").exists() and not (folder / "shared").exists():
        (folder / "shared").symlink_to(ROOT.parent / "shared")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@example.invalid",
                                                  "commit", "-qm", "bench"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=copy, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "dvc"), "repro", "-q"], cwd=copy, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"dvc repro failed in {copy} (exit {done.returncode}):\n{done.stderr[-3000:]}")
    seconds = time.perf_counter() - start
    frame = results["_frame"]
    start = time.perf_counter()
    hand_built("logistic", frame)
    fit = time.perf_counter() - start
    results["dvc_repro"] = {"seconds": seconds, "baseline_fit_seconds": fit}
    log(
        f"dvc repro (whole pipeline, fresh copy): {seconds:.1f} s; hand-built pipeline fit alone: {fit:.1f} s"
    )


def web_server(results: dict) -> None:
    """A real ``rolefit serve`` on the logistic bundle (``benchmarks/stall.py``): ``/healthz`` p99 while 50
    clients send maximal invalid batches, against idle in the same run; how soon slow clients are cut
    off, against the configured limits; and one maximal near-miss batch's cost, against the same batch
    with a "did you mean" for every unknown key (as before the budget). Then, on a fresh server
    (``benchmarks/fair.py``), one person's ``/api/guide`` p99 while 20 clients post maximal valid
    batches, against idle, and the batches' throughput beside that person, against alone."""
    from benchmarks import fair, stall

    with stall.serving(results["_bundle"]) as port:
        s = results["stall"] = stall.measure("127.0.0.1", port, seconds=10, clients=50, idle_seconds=3)
        c = results["cut_off"] = stall.cut_off("127.0.0.1", port)
    b = results["near_miss_batch"] = stall.batch_cost(results["_bundle"])
    with stall.serving(results["_bundle"]) as port:
        load = os.getloadavg()[0]
        f = results["fair"] = fair.measure("127.0.0.1", port, clients=20, seconds=12, windows=6)
        f["load"] = [round(load, 1), round(os.getloadavg()[0], 1)]
    log(
        f"/healthz p99 while {s['clients']} clients send maximal invalid batches: {s['loaded_p99_ms']:.0f} ms "
        f"(idle {s['idle_p99_ms']:.1f} ms, {s['ratio_p99']:.1f}x); attack replies {s['attack_replies']}"
    )
    log("slow clients cut off after " + ", ".join(
        f"{name} {v['seconds']:.1f} s (limit {v['limit_seconds']:g} s, {v['status_line']!r})" for name, v in c["clients"].items()
    ))  # fmt: skip
    log(
        f"maximal near-miss batch ({b['keys']:,} unknown keys): {b['ms']:.1f} ms; with a suggestion for every "
        f"key: {b['baseline_ms']:,.0f} ms -> {b['ratio']:.0f}x"
    )
    log(
        f"one person's /api/guide p99 while {f['clients']} clients post maximal batches: {f['loaded_p99_ms']:.0f} ms "
        f"(idle {f['idle_p99_ms']:.1f} ms); batches {f['batch_people_per_s_shared']:,} people/s beside the person, "
        f"{f['batch_people_per_s_alone']:,} alone ({f['batch_share']:.0%}); load {f['load']}"
    )


def write(results: dict) -> str:
    r = results
    lines = [
        "| measure | rolefit | hand-built scikit-learn pipeline | ratio |",
        "|---|---|---|---|",
    ]
    for who in ("example", "all"):
        p = r[f"predict_{who}"]
        goal = ""
        if who == "all":  # issue #24's goal, for the whole questionnaire
            met = p["median_us"] <= 30 and p["p99_us"] <= 50 and p["speedup"] >= 150
            goal = f"; goal (≤ 30 µs, p99 ≤ 50 µs, ≥ 150×): **{'met' if met else 'not met'}**"
        lines.append(f"| one person, {p['answers']} answers, the published {p['kind']} champion: predict (the fit's "
                     f"probabilities, set and verdict, the all-answers model's, readiness's summary), "
                     f"median / p99 | "
                     f"{p['median_us']:.1f} µs / {p['p99_us']:.0f} µs (the fit's reasons read too: "
                     f"{p['with_reasons_median_us']:.1f} µs / {p['with_reasons_p99_us']:.0f} µs; and the "
                     f"all-answers model's: {p['with_all_answers_reasons_median_us']:.1f} µs / "
                     f"{p['with_all_answers_reasons_p99_us']:.0f} µs) | "
                     f"{p['baseline_median_us']:,.0f} µs / {p['baseline_p99_us']:,.0f} µs (1-row "
                     f"`predict_proba`, no explanations) | **{p['speedup']:.0f}× faster**{goal} |")  # fmt: skip
    for kind in (r["predict_all"]["kind"],):
        for who in ("none", "example"):
            g = r[f"guidance_{kind}_{who}"]
            lines.append(f"| adaptive questioning, {g['answers']} answers ({kind} champion): `next_questions` / "
                         f"`settled` per call, median | {g['next_questions_median_us']:.0f} µs / "
                         f"{g['settled_median_us']:.0f} µs | `rolefit.predict` on the same answers: "
                         f"{g['predict_median_us']:.1f} µs | {g['next_questions_ratio']:.1f}× / "
                         f"{g['settled_ratio']:.1f}× predict |")  # fmt: skip
            lines.append(f"| guidance, {g['answers']} answers ({kind} champion): `next_steps` / `guide` per call, "
                         f"median | {g['next_steps_median_us']:,.0f} µs / {g['guide_median_us']:,.0f} µs | "
                         f"`rolefit.predict` on the same answers: {g['predict_median_us']:.1f} µs | "
                         f"{g['next_steps_ratio']:.0f}× / {g['guide_ratio']:.0f}× predict |")  # fmt: skip
    b = r["predict_many"]
    lines.append(f"| `predict_many`, 1,000,000 rows, the published champion (the fit and the all-answers model) | "
                 f"{b['rows_per_s']:,.0f} rows/s; {b['rows_per_s_top3']:,.0f} rows/s "
                 f"with the fit's top-3 reasons (and readiness's gap columns) | {b['baseline_rows_per_s']:,.0f} "
                 f"rows/s | {b['speedup']:.1f}×; goal (≥ 1,000,000 rows/s with top-3 reasons): "
                 f"**{'met' if b['rows_per_s_top3'] >= 1_000_000 else 'not met'}** |")  # fmt: skip
    s = r["score"]
    lines.append(f"| `rolefit score`, 1,000,000-row CSV, top-3 reasons | {s['rows_per_s']:,.0f} rows/s, peak "
                 f"{s['peak_mb']:.0f} MB, {s['rows']:,} rows out | read all + `predict_proba` + write: "
                 f"{s['baseline_rows_per_s']:,.0f} rows/s, peak {s['baseline_peak_mb']:.0f} MB | "
                 f"{s['baseline_peak_mb'] / s['peak_mb']:.1f}× less memory |")  # fmt: skip
    c = r["cold_start"]
    lines.append(f"| cold start: `import rolefit; rolefit.predict(...)` | {c['seconds']:.2f} s | "
                 f"`import sklearn, pandas`: {c['baseline_seconds']:.2f} s | "
                 f"{c['baseline_seconds'] / c['seconds']:.1f}× faster |")  # fmt: skip
    d = r["dvc_repro"]
    lines.append(f"| `dvc repro`, whole pipeline from a fresh copy | {d['seconds']:.0f} s | fitting the pipeline "
                 f"alone: {d['baseline_fit_seconds']:.1f} s | — |")  # fmt: skip
    s = r["stall"]
    replies = ", ".join(f"{n:,} × {status}" for status, n in sorted(s["attack_replies"].items()))
    all_4xx = (
        "all 4xx" if all(status.startswith("4") for status in s["attack_replies"]) else "**not all 4xx**"
    )
    lines.append(f"| `rolefit serve`: `GET /healthz` p99 while {s['clients']} clients send maximal invalid "
                 f"{s['body_bytes'] / 1024:.0f} KB batches ({s['seconds']:g} s, {s['probes']} probes) | "
                 f"p99 under attack {s['loaded_p99_ms']:.0f} ms (max {s['loaded_max_ms']:.0f} ms); attack "
                 f"replies: {replies} ({all_4xx}) | idle, same server: p99 {s['idle_p99_ms']:.1f} ms | "
                 f"{s['ratio_p99']:.1f}× idle |")  # fmt: skip
    c = r["cut_off"]
    cut = " / ".join(f"{v['seconds']:.1f} s" for v in c["clients"].values())
    limits = " / ".join(f"{v['limit_seconds']:g} s" for v in c["clients"].values())
    met = "met" if c["met"] else "not met"
    lines.append(f"| `rolefit serve`: slow clients cut off (408, connection closed), seconds from connecting; "
                 f"sending nothing / a header line a second / the body a byte a second | cut after {cut} | "
                 f"the configured limits: {limits} | bound (408, closed within {c['slack_seconds']:g} s after "
                 f"the limit): **{met}** |")  # fmt: skip
    b = r["near_miss_batch"]
    lines.append(f"| maximal near-miss batch ({b['body_bytes'] / 1024:.0f} KB, {b['keys']:,} unknown keys), one "
                 f"422 reply, median | {b['ms']:.1f} ms ({b['suggestions']} \"did you mean\" per request) | "
                 f"a suggestion for every unknown key: {b['baseline_ms']:,.0f} ms | {b['ratio']:.0f}× cheaper |")  # fmt: skip
    f = r["fair"]
    met = "met" if f["met"] else "not met"
    lines.append(f"| `rolefit serve`: one person's `POST /api/guide` (12 answers, a new connection each) while "
                 f"{f['clients']} clients post maximal valid batches (1,000 people, 64 KB) back to back "
                 f"({f['seconds']:g} s, {f['probes']} requests; load average {f['load'][0]}–{f['load'][1]}) | "
                 f"p99 {f['loaded_p99_ms']:.0f} ms (p50 {f['loaded_p50_ms']:.0f} ms, max "
                 f"{f['loaded_max_ms']:.0f} ms); batches beside the person: {f['batch_people_per_s_shared']:,} "
                 f"people/s | idle, same server: p99 {f['idle_p99_ms']:.1f} ms; batches alone (windows "
                 f"alternating with the above): {f['batch_people_per_s_alone']:,} people/s | batches keep "
                 f"{f['batch_share']:.0%}; goal (p99 ≤ 50 ms, ≥ 80 %): **{met}** |")  # fmt: skip
    for source, s in r.get("adaptive", {}).get("sources", {}).items():
        lines.append(f"| adaptive questioning, {source} test respondents ({s['n']:,}): same role as all answers, "
                     f"questions median / p90 | {s['role_agreement']:.1%}, {s['questions_median']:g} / "
                     f"{s['questions_p90']:g} | all their questions: {s['all_questions_median']:g} / "
                     f"{s['all_questions_p90']:g} | {s['all_questions_median'] / s['questions_median']:.1f}× "
                     "fewer (median) |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    results: dict = {"_load": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="rolefit-bench-") as tmp:
        folder = Path(tmp)
        one_person(results, folder)
        batch(results)
        score_file(results, folder)
        cold_start(results)
        dvc_repro(results, folder)
        web_server(results)
        adaptive_simulation(results)
    table = write(results)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = ", ".join(f"{x:.1f}" for x in results["_load"])
    header = (f"Measured by `make bench` on {stamp}, {os.cpu_count()} cores, Python "
              f"{sys.version.split()[0]}, load average {load} at the start (a shared machine); each ratio is "
              "against a baseline measured in the same run.")  # fmt: skip
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "benchmarks.md").write_text(f"# Benchmarks\n\n{header}\n\n{table}\n")
    (reports / "benchmarks.json").write_text(json.dumps({k: v for k, v in results.items() if not k.startswith("_")},
                                                       indent=2))  # fmt: skip
    readme = ROOT / "docs" / "explanation" / "speed.md"
    text = readme.read_text()
    start, end = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        readme.write_text(f"{before}{start}\n{header}\n\n{table}\n{end}{after}")
    print(table)


if __name__ == "__main__":
    main()
