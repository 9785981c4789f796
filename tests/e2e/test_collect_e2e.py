"""Issue #29 end to end: a few hundred people drawn by rolefit's generator contribute through the REST
API of a real `rolefit serve --collect`, into SQLite and into a real PostgreSQL (started by the test as
an unprivileged user; skipped, saying why, where it cannot be had); `rolefit contributions export`;
the export added as a source with the docs' one edit; a retraining; the challenger's evidence for
the interest items names the contributions source (whether or not the gate promotes it)."""

import csv
import json
import subprocess
import time

import pytest
import yaml

from .collect_helpers import contribute_many, postgresql, synthetic_people
from .helpers import BIN, env, free_port, rolefit_serve_collecting, small_params

pytestmark = pytest.mark.slow

PEOPLE = 400
SOURCE = "contributions"


def rolefit(folder, *args, timeout=300):
    command = [str(BIN / "rolefit"), *args]
    return subprocess.run(command, cwd=folder, env=env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def people():
    return synthetic_people(PEOPLE, seed=2029)


def collect(champion, folder, people, db):
    """Contribute ``people`` through a real server writing to ``db``; export; (replies, export rows)."""
    with rolefit_serve_collecting(champion[1], folder, "--client-limit", "0", "--collect-rate", "0",
                                  db=db) as server:  # fmt: skip
        replies = contribute_many(server.url, people, clients=8)
    month = time.strftime("%Y-%m", time.gmtime())
    target = folder / "raw" / f"contributions-{month}.csv"
    exported = rolefit(folder, "contributions", "export", str(target), "--db", db)
    assert exported.returncode == 0, exported.stderr
    stats = rolefit(folder, "contributions", "stats", "--db", db, "--json")
    assert stats.returncode == 0, stats.stderr
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return replies, rows, json.loads(stats.stdout), target


@pytest.fixture(scope="module")
def collected(champion, people, tmp_path_factory):
    """The contributions in each database: {backend: (replies, export rows, stats, export file)}; the
    PostgreSQL entry is the reason it was skipped when it could not be had."""
    out = {}
    sqlite = tmp_path_factory.mktemp("sqlite")
    out["sqlite"] = collect(champion, sqlite, people, str(sqlite / "contributions.sqlite"))
    folder = tmp_path_factory.mktemp("postgresql")
    try:
        with postgresql(free_port()) as url:
            out["postgresql"] = collect(champion, folder, people, url)
    except pytest.skip.Exception as exc:
        out["postgresql"] = str(exc)
    return out


def check_backend(result, people):
    replies, rows, stats, _ = result
    assert len(replies) == PEOPLE and {status for status, *_ in replies} == {201}
    accepted = [(role, answers) for _, role, answers, reply in replies if reply["status"] == "accepted"]
    kept_apart = [reply["reason"] for *_, reply in replies if reply["status"] == "kept_apart"]
    assert stats["accepted"] == len(accepted) == len(rows) and stats["kept_apart"] == len(kept_apart)
    assert len(accepted) >= PEOPLE // 2
    # the export holds exactly the accepted people's roles and answers
    exported = sorted(json.dumps([r["role"], {k: v for k, v in r.items() if v and k not in ("role",
                      "submitted_at")}], sort_keys=True) for r in rows)  # fmt: skip
    sent = sorted(json.dumps([role, {k: str(v) for k, v in answers.items()}], sort_keys=True)
                  for role, answers in accepted)  # fmt: skip
    assert exported == sent
    assert {r["submitted_at"] for r in rows} == {time.strftime("%Y-%m", time.gmtime())}  # groups of >= 10


def test_contributions_go_through_the_api_into_sqlite_and_out_as_an_export(collected, people):
    check_backend(collected["sqlite"], people)


def test_contributions_go_through_the_api_into_postgresql_and_out_as_an_export(collected, people):
    if isinstance(collected["postgresql"], str):
        pytest.skip(collected["postgresql"])
    check_backend(collected["postgresql"], people)
    assert collected["postgresql"][1] and sorted(map(str, collected["postgresql"][1])) == sorted(
        map(str, collected["sqlite"][1]))  # fmt: skip


def test_the_export_trains_and_the_challengers_interest_evidence_names_it(collected, tmp_path):
    backend = "sqlite" if isinstance(collected["postgresql"], str) else "postgresql"
    export = collected[backend][3]
    project = tmp_path / "project"
    raw = project / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / export.name).write_bytes(export.read_bytes())
    params_path = small_params(project / "params.yaml")
    params = yaml.safe_load(params_path.read_text())
    params["ingest"]["search_paths"] = ["data/raw"]
    params["train"]["real_evidence"]["bootstrap"] = 5
    # the docs' one edit
    params["ingest"]["sources"] = {SOURCE: {"adapter": "instrument", "file": export.name, "role": "train"}}
    params["build"]["source_weights"][SOURCE] = 1.0
    params_path.write_text(yaml.safe_dump(params))
    trained = rolefit(project, "train", "--params", str(params_path), "--out", "challenger", timeout=2400)
    assert trained.returncode in (0, 4), trained.stdout[-3000:] + trained.stderr[-3000:]  # 4: not promoted
    assert SOURCE in trained.stdout
    interests = {"interest_math": 5, "interest_model_training": 5, "interest_research": 4,
                 "interest_building_products": 2, "interest_debugging": 1}  # fmt: skip
    answers = project / "answers.json"
    answers.write_text(json.dumps(interests))
    predicted = rolefit(project, "predict", "--json", "--answers", str(answers), "--model", "challenger")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    # the pooled effects are the all-answers model's (the fit keeps the prior's: issue #26)
    result = json.loads(predicted.stdout)
    explanations = {e["item"]: e["evidence"] for e in result["all_answers"]["explanations"]}
    assert set(interests) <= set(explanations)
    for item in interests:
        evidence = explanations[item]
        assert evidence["sources"].get(SOURCE, 0) > 0 and evidence["respondents"] > 0, (item, evidence)
        assert f"real respondents ({SOURCE})" in evidence["summary"], (item, evidence)
