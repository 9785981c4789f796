"""``make mutate``: apply realistic bugs one at a time and check that the tests named for each catch it.

A test suite can pass while guarding nothing (an expectation taken from the production function, a list
compared with itself). Each file ``tests/mutations/<slug>.yaml`` describes one realistic bug that breaks
one of the guarantees of docs/explanation/guarantees.md::

    guarantee: "one sentence: the guarantee this bug breaks"
    file: src/rolefit/....py      # relative to the repository root
    find: |                       # exact text; must occur exactly once in the file
      ...
    replace: |                    # the buggy version
      ...
    tests:                        # pytest node ids that must catch it
      - tests/unit/test_x.py::test_y

For each mutation the repository's files (``git ls-files``: tracked and untracked-but-not-ignored, so
uncommitted work is included) are copied into a temporary folder, the bug is applied there, and the
named tests run in the copy with ``ROLEFIT_TEST_CHAMPION=small`` and ``PYTHONPATH`` pointing at the
copy's ``src`` (checked: ``rolefit.__file__`` must be inside the copy, since the virtualenv's editable
install points at the checkout). The bug is *caught* when a named test fails. Before any bug is
applied, the named tests run once on an unchanged copy (the baseline): a test that fails without the bug
proves nothing about it, so its mutations are reported as broken.

Results: ``caught`` (with the first test that failed), ``NOT CAUGHT``, or ``BROKEN`` (``find`` not found
exactly once, a malformed file, pytest unable to run the tests, a named test failing without the bug,
or no test run at all). The exit status is 0 only when every mutation run was caught.

Usage: ``python tools/mutate.py [--list] [--only SLUG ...] [--jobs N] [--no-baseline] [--keep]``.
Not part of ``make test``: every mutation runs its tests from scratch, training the small champion
again when a named test needs it (about a minute each on a 2-core machine).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = ROOT / "tests" / "mutations"
KEYS = ("guarantee", "file", "find", "replace", "tests")
#: Seconds one mutation's tests may take before the run is stopped (and the mutation reported).
TIMEOUT = 1800


@dataclass
class Mutation:
    slug: str
    guarantee: str = ""
    file: str = ""
    find: str = ""
    replace: str = ""
    tests: list[str] = field(default_factory=list)
    problem: str | None = None  # why the file itself is broken


@dataclass
class Outcome:
    mutation: Mutation
    status: str  # "caught", "NOT CAUGHT", "BROKEN", "TIMEOUT"
    detail: str = ""
    seconds: float = 0.0


def load(path: Path) -> Mutation:
    """One mutation file, with ``problem`` set when it cannot be used as it is."""
    mutation = Mutation(slug=path.stem)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        mutation.problem = f"cannot be read as YAML ({' '.join(str(exc).split())[:200]})"
        return mutation
    if not isinstance(data, dict):
        mutation.problem = "is not a mapping of guarantee, file, find, replace and tests"
        return mutation
    # replace may be empty (a mutation may delete lines); the rest may not
    missing = [key for key in KEYS if key not in data or (key != "replace" and not data[key])]
    unknown = sorted(set(data) - set(KEYS))
    if missing or unknown:
        mutation.problem = "; ".join(
            part
            for part in (
                f"lacks {', '.join(missing)}" if missing else "",
                f"has unknown keys {', '.join(unknown)}" if unknown else "",
            )
            if part
        )
        return mutation
    if not all(isinstance(data[key], str) for key in ("file", "find", "replace")):
        mutation.problem = 'file, find and replace must be text (an empty replace is written "")'
        return mutation
    tests = data["tests"]
    if not isinstance(tests, list) or not all(isinstance(t, str) and t.startswith("tests/") for t in tests):
        mutation.problem = "tests must be a list of pytest node ids under tests/"
        return mutation
    mutation.guarantee = " ".join(str(data["guarantee"]).split())
    mutation.file, mutation.find = str(data["file"]), str(data["find"])
    mutation.replace = str(data["replace"])
    mutation.tests = tests
    if mutation.find == mutation.replace:
        mutation.problem = "find and replace are the same text"
        return mutation
    target = ROOT / mutation.file
    if not target.is_file():
        mutation.problem = f"its file {mutation.file} does not exist"
        return mutation
    count = target.read_text(encoding="utf-8").count(mutation.find)
    if count != 1:
        mutation.problem = (
            f"its find text occurs {count} times in {mutation.file} (it must occur exactly once)"
        )
    return mutation


def repository_files() -> list[str]:
    """The checkout's files as git sees them: tracked and untracked-but-not-ignored (work in progress)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def copy_repository(base: Path, files: list[str]) -> Path:
    """``base/repo``: a copy of ``files`` with the checkout's virtualenv and, beside it, ``../shared``
    (the real survey exports the tests read from ``../shared/data/surveys``)."""
    copy = base / "repo"
    for name in files:
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    if (ROOT / ".venv").exists():
        (copy / ".venv").symlink_to((ROOT / ".venv").resolve())
    if (ROOT.parent / "shared").exists():
        (base / "shared").symlink_to((ROOT.parent / "shared").resolve())
    return copy


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def environment(copy: Path) -> dict[str, str]:
    """The tests' environment in ``copy``: its own src first, the small champion, no MLflow or rolefit
    settings of the caller's (as tests/environment.py does for the processes tests start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ROLEFIT_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(copy / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(ROLEFIT_TEST_CHAMPION="small", MLFLOW_DISABLE_TELEMETRY="true", PYTHONDONTWRITEBYTECODE="1")
    return env


def check_import(copy: Path) -> None:
    """Stop unless ``import rolefit`` in the copy's environment imports the copy's own src."""
    found = subprocess.run(
        [python(), "-c", "import rolefit; print(rolefit.__file__)"],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
    )
    where = Path(found.stdout.strip() or "?").resolve()
    if found.returncode != 0 or not where.is_relative_to((copy / "src").resolve()):
        sys.exit(
            f"error: in the copy, rolefit is imported from {where} instead of {copy / 'src'}; the "
            f"mutations would not be tested ({found.stderr.strip()[-300:]})"
        )


def run_tests(
    copy: Path, tests: list[str], *, stop_first: bool, timeout: float
) -> tuple[int | None, list[str], str]:
    """Run ``tests`` in ``copy``; returns (pytest's exit status or None on timeout, failed node ids, tail)."""
    junit = copy.parent / "junit.xml"
    command = [python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(junit)]
    command += ["-x"] if stop_first else []
    log = copy.parent / "pytest.log"
    with log.open("wb") as out:
        # its own session: on a timeout the whole group (pytest and the processes its tests started) stops
        process = subprocess.Popen(
            [*command, *tests], cwd=copy, env=environment(copy), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            status: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            status = None
    tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
    return status, failed_tests(junit), tail


def failed_tests(junit: Path) -> list[str]:
    """Node ids of the failed or erroring tests in a JUnit XML report (none when it is absent)."""
    if not junit.is_file():
        return []
    failed = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            failed.append(f"{module}.py::{case.get('name')}" if module else str(case.get("name")))
    return failed


def mutate(mutation: Mutation, files: list[str], keep: bool, timeout: float) -> Outcome:
    """Apply one mutation in a fresh copy and run its tests."""
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix=f"rolefit-mutate-{mutation.slug}-"))
    try:
        copy = copy_repository(base, files)
        target = copy / mutation.file
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace(mutation.find, mutation.replace, 1), encoding="utf-8")
        status, failed, tail = run_tests(copy, mutation.tests, stop_first=True, timeout=timeout)
    finally:
        if keep:
            print(f"  kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    seconds = time.monotonic() - started
    if status is None:
        return Outcome(mutation, "TIMEOUT", f"the tests ran for more than {timeout:g} s", seconds)
    if status == 1 and failed:
        return Outcome(mutation, "caught", failed[0], seconds)
    if status == 0:
        return Outcome(mutation, "NOT CAUGHT", "every named test passed with the bug in place", seconds)
    if status == 5:
        return Outcome(mutation, "BROKEN", "no test ran (deselected, e.g. full_model, or not found)", seconds)
    last = tail.splitlines()[-1] if tail else ""
    return Outcome(
        mutation, "BROKEN", f"pytest could not run the tests (exit {status}): {last[:160]}", seconds
    )


def baseline(mutations: list[Mutation], files: list[str], timeout: float) -> dict[str, str]:
    """Run every named test once without any bug; returns {mutation slug: why it is broken} for the
    mutations naming a test that fails (or cannot run) on the unchanged code."""
    tests = list(dict.fromkeys(t for m in mutations for t in m.tests))
    if not tests:
        return {}
    print(f"baseline: {len(tests)} named tests on the unchanged code ...", file=sys.stderr, flush=True)
    base = Path(tempfile.mkdtemp(prefix="rolefit-mutate-baseline-"))
    try:
        copy = copy_repository(base, files)
        status, failed, tail = run_tests(copy, tests, stop_first=False, timeout=timeout * 2)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if status == 0:
        return {}
    if status is None or not failed:
        sys.exit(f"error: the named tests do not run on the unchanged code (exit {status}):\n{tail}")
    broken = {}
    for mutation in mutations:
        named = [f for f in failed if any(f == t or f.startswith(t + "[") for t in mutation.tests)]
        if named:
            broken[mutation.slug] = f"{named[0]} fails without the bug"
    return broken


def table(outcomes: list[Outcome]) -> str:
    rows = ["| mutation | result | caught by / why | guarantee |", "|---|---|---|---|"]
    for o in outcomes:
        detail = o.detail + (f" ({o.seconds:.0f} s)" if o.seconds else "")
        rows.append(f"| {o.mutation.slug} | {o.status} | {detail} | {o.mutation.guarantee} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="List the mutations and check their files.")
    parser.add_argument("--only", action="append", default=[], metavar="SLUG", help="Run only these.")
    parser.add_argument("--jobs", type=int, default=1, help="Mutations run at once (default 1).")
    parser.add_argument("--no-baseline", action="store_true", help="Skip the run without any bug.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary copies.")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="Seconds per mutation.")
    args = parser.parse_args(argv)

    mutations = [load(path) for path in sorted(MUTATIONS.glob("*.yaml"))]
    wanted = {slug for option in args.only for slug in option.split(",") if slug}
    unknown = wanted - {m.slug for m in mutations}
    if unknown:
        print(f"error: no mutation named {', '.join(sorted(unknown))} in {MUTATIONS}", file=sys.stderr)
        return 2
    if wanted:
        mutations = [m for m in mutations if m.slug in wanted]
    if not mutations:
        print(f"error: no mutations in {MUTATIONS}", file=sys.stderr)
        return 2
    if args.list:
        for m in mutations:
            state = f"BROKEN: {m.problem}" if m.problem else f"{m.file}; {len(m.tests)} test(s)"
            print(f"{m.slug:<40} {state}\n    {m.guarantee}")
        return 1 if any(m.problem for m in mutations) else 0

    files = repository_files()
    check = Path(tempfile.mkdtemp(prefix="rolefit-mutate-check-"))
    try:
        check_import(copy_repository(check, files))
    finally:
        shutil.rmtree(check, ignore_errors=True)
    outcomes = [Outcome(m, "BROKEN", m.problem or "") for m in mutations if m.problem]
    runnable = [m for m in mutations if not m.problem]
    if runnable and not args.no_baseline:
        for slug, why in baseline(runnable, files, args.timeout).items():
            mutation = next(m for m in runnable if m.slug == slug)
            outcomes.append(Outcome(mutation, "BROKEN", why))
            runnable.remove(mutation)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(mutate, m, files, args.keep, args.timeout): m for m in runnable}
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()
            print(f"{outcome.mutation.slug}: {outcome.status} {outcome.detail}", file=sys.stderr, flush=True)
            outcomes.append(outcome)
    order = {m.slug: i for i, m in enumerate(mutations)}
    outcomes.sort(key=lambda o: order[o.mutation.slug])
    print(table(outcomes))
    caught = sum(o.status == "caught" for o in outcomes)
    print(f"\n{caught} of {len(outcomes)} mutations caught.")
    return 0 if caught == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
