"""One change to the champion at a time, and a gate that fails closed: quick projects (synthetic data
only, tests/e2e/helpers.small_params) trained with a real `rolefit train` and a real MLflow SQLite
store. A champion damaged in the registry refuses the next challenger until `promote --force`; two
trainings at once make one champion change; a rollback goes back to an earlier champion without the gate.

Split from test_release.py (the `dvc repro` / `dvc exp run` scenario on the real surveys) so that the two
halves can run on two pytest-xdist workers at once (``--dist loadfile`` keeps a file on one worker)."""

import getpass
import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .helpers import BIN, env, small_params
from .release_helpers import champion_digest, client, run

pytestmark = pytest.mark.slow


def quick_project(base):
    project = base / "project"
    project.mkdir()
    small_params(project / "params.yaml")
    return project


def train_command(project, *extra):
    return [str(BIN / "rolefit"), "train", "--params", str(project / "params.yaml"), *extra]


def registered_file(registry, version, name):
    """The path of bundle file ``name`` of registered ``version`` in the store's artifact folder."""
    from urllib.parse import urlparse

    model_id = registry.get_model_version("rolefit", version).source.rsplit("/", 1)[-1]
    location = registry.get_logged_model(model_id).artifact_location
    folder = Path(urlparse(location).path if location.startswith("file:") else location)
    # the model's own bundle, not the one packaged with rolefit's code (code/rolefit/packaged_model)
    [path] = [
        p
        for p in folder.rglob(name)
        if (p.parent / "manifest.json").is_file() and "code" not in p.relative_to(folder).parts
    ]
    return path


def test_a_champion_changed_in_the_registry_refuses_the_next_challenger_until_promote_force(tmp_path):
    """The attack of issue 23: one byte appended to a file of the registry's champion. The next
    challenger (trained exactly as the champion was, so every absolute check passes) used to be promoted
    with every comparison skipped; it is refused, naming why, and only `promote --force` gets past."""
    project = quick_project(tmp_path)
    first = run(project, *train_command(project))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    registry = client(project)
    before = champion_digest(project)
    with registered_file(registry, "1", "scoring.json").open("ab") as handle:
        handle.write(b" ")

    second = run(project, *train_command(project))
    assert second.returncode == 4, second.stdout[-2000:] + second.stderr[-3000:]
    assert (
        "the champion v1 could not be loaded and verified (scoring.json in the model bundle at"
        in second.stderr
    )
    assert "does not match its checksum" in second.stderr
    assert "so it is not promoted; `rolefit promote 2 --force` overrides" in second.stderr
    assert "the champion was not changed" in second.stderr
    refused = registry.get_model_version("rolefit", "2")
    assert refused.tags["gate.verdict"] == "refused"
    assert "champion v1 could not be loaded and verified" in refused.tags["gate.reasons"]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"
    assert champion_digest(project) == before

    plain = run(project, str(BIN / "rolefit"), "promote", "2", "--params", str(project / "params.yaml"))
    assert plain.returncode == 4 and "could not be loaded and verified" in plain.stderr, plain.stderr[-2000:]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"

    started = datetime.now(UTC).replace(microsecond=0)
    forced = run(
        project, str(BIN / "rolefit"), "promote", "2", "--params", str(project / "params.yaml"), "--force",
        "--reason", "version 1 was damaged in the artifact store",
    )  # fmt: skip
    assert forced.returncode == 0, forced.stdout[-2000:] + forced.stderr[-3000:]
    assert "FORCED: version 2 is published although the quality gate refused it" in forced.stdout
    assert "version 2 is the champion (forced past the quality gate)" in forced.stdout
    tags = registry.get_model_version("rolefit", "2").tags
    assert tags["forced"] == "true" and tags["forced_by"] == getpass.getuser()
    assert started <= datetime.fromisoformat(tags["forced_at"]) <= datetime.now(UTC)
    assert tags["forced_reason"] == "version 1 was damaged in the artifact store"
    assert "champion v1 could not be loaded and verified" in tags["forced_over"]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "2"
    assert published_state(project).mlflow_version == "2"
    # trained exactly as version 1 was: the same content, so the same (content-derived) model version
    assert champion_digest(project) == before


def published_state(project):
    from rolefit.scoring.champion import state

    return state(project / "models/champion")


def test_two_trainings_started_together_make_one_champion_change(tmp_path):
    """Two `rolefit train` at once: one trains, gates and promotes; the other stops at once naming it.
    A third, told to wait, starts once the first holds the lock, and is gated against the champion the
    first promoted (not against the champion it would have seen without the lock: none)."""
    project = quick_project(tmp_path)
    logs = {name: (tmp_path / f"{name}.out", tmp_path / f"{name}.err") for name in "abc"}

    def start(name, *extra):
        out, err = logs[name]
        return subprocess.Popen(
            train_command(project, *extra), cwd=project, env=env(), stdout=out.open("w"), stderr=err.open("w")
        )

    together = {"a": start("a"), "b": start("b")}
    lock = project / ".rolefit" / "champion.lock"
    deadline = time.monotonic() + 300
    while not (lock.is_file() and lock.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    holder = json.loads(lock.read_text())["pid"]
    waiting = start("c", "--wait", "900")
    for process in (*together.values(), waiting):
        process.wait(timeout=1200)

    codes = {name: p.returncode for name, p in together.items()}
    assert sorted(codes.values()) == [0, 6], {n: logs[n][1].read_text()[-2000:] for n in codes}
    [winner] = [n for n, code in codes.items() if code == 0]
    [loser] = [n for n, code in codes.items() if code == 6]
    assert together[winner].pid == holder
    said = logs[loser][1].read_text().strip().splitlines()
    assert len(said) == 1, said
    assert said[0].startswith("error: another change to the champion is in progress: rolefit train (pid ")
    assert f"(pid {holder} on " in said[0]

    assert waiting.returncode in (0, 4), logs["c"][1].read_text()[-3000:]
    assert f"waiting up to 900 s for rolefit train (pid {holder} " in logs["c"][0].read_text()
    registry = client(project)
    versions = {str(v.version): v for v in registry.search_model_versions("name = 'rolefit'")}
    assert sorted(versions) == ["1", "2"], "the run that stopped registered nothing"
    runs = {v: registry.get_run(versions[v].run_id).data.tags["rolefit.pid"] for v in versions}
    assert runs == {"1": str(holder), "2": str(waiting.pid)}
    assert "gate.champion" not in versions["1"].tags  # the first model: no champion to compare with
    assert versions["2"].tags["gate.champion"] == "champion v1"  # gated against the new champion
    alias = str(registry.get_model_version_by_alias("rolefit", "champion").version)
    assert alias == ("2" if waiting.returncode == 0 else "1")
    assert published_state(project).mlflow_version == alias


def test_rollback_moves_the_champion_back_to_an_earlier_version_without_the_gate(tmp_path):
    """Issue 27: `rolefit promote 1 --rollback` after version 2 was promoted moves the alias and the
    folder back to version 1 without gating it again, and version 1's tags say it was a rollback, from
    which version, by whom, when and why. Only an earlier version that was champion before qualifies."""
    project = quick_project(tmp_path)
    params = str(project / "params.yaml")
    first = run(project, *train_command(project))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    registry = client(project)
    one = champion_digest(project)
    small_params(project / "v2.yaml", **{
        "logistic: {alpha: 1.0, max_iter: 1000}": "logistic: {alpha: 1.5, max_iter: 1000}",
    })  # fmt: skip
    second = run(project, str(BIN / "rolefit"), "train", "--params", str(project / "v2.yaml"))
    assert second.returncode in (0, 4), second.stdout[-2000:] + second.stderr[-3000:]
    if second.returncode == 4:  # the scenario needs version 2 promoted, whatever the gate said of it
        forced = run(project, str(BIN / "rolefit"), "promote", "2", "--params", params, "--force")
        assert forced.returncode == 0, forced.stdout[-2000:] + forced.stderr[-3000:]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "2"
    assert published_state(project).mlflow_version == "2" and champion_digest(project) != one

    started = datetime.now(UTC).replace(microsecond=0)
    back = run(
        project, str(BIN / "rolefit"), "promote", "1", "--rollback", "--params", params,
        "--reason", "version 2 answers worse for our spring survey",
    )  # fmt: skip
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-3000:]
    assert "ROLLBACK: version 1 is the champion again in place of version 2" in back.stdout
    assert "version 1 is the champion again (rolled back from version 2, no gate)" in back.stdout
    assert "Quality gate" not in back.stdout  # no gate ran
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"
    assert published_state(project).mlflow_version == "1" and champion_digest(project) == one
    version = registry.get_model_version("rolefit", "1")
    tags = version.tags
    assert tags["rollback"] == "true" and tags["rollback_from"] == "2"
    assert tags["rollback_reason"] == "version 2 answers worse for our spring survey"
    assert tags["rollback_by"] == getpass.getuser()
    assert started <= datetime.fromisoformat(tags["rollback_at"]) <= datetime.now(UTC)
    assert version.description.startswith(
        "Champion again by a rollback (no gate): rolled back from version 2"
    )
    assert registry.get_registered_model("rolefit").tags["champion_version"] == "1"

    # only an earlier version that was champion before: not the champion, not a newer one
    for target, why in (
        ("1", "Version 1 is already the champion"),
        ("2", "version 2 is newer than the champion"),
    ):
        refused = run(project, str(BIN / "rolefit"), "promote", target, "--rollback", "--params", params)
        assert refused.returncode == 2 and why in refused.stderr, refused.stderr[-2000:]
    assert str(registry.get_model_version_by_alias("rolefit", "champion").version) == "1"
    # the numbers to use: `rolefit versions` lists every version, which is champion and which were
    listed = run(project, str(BIN / "rolefit"), "versions", "--params", params)
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "now, rolled back to (from v2)" in rows["1"] and "before" in rows["2"]
    history = json.loads(run(project, str(BIN / "rolefit"), "versions", "--json", "--params", params).stdout)
    assert [(h["version"], h["aliases"], h["promoted"]) for h in history] == [
        (1, ["champion"], True), (2, ["challenger"], True)
    ]  # fmt: skip
