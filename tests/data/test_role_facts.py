"""The role facts packaged with rolefit (issue #16): the schema, the sources, the shared file they copy."""

import json
import re
import tomllib
from importlib import resources

import pytest
import yaml

from rolefit.guidance.facts import (
    FACTS_FILE,
    RoleFactsError,
    load_role_facts,
    parse_role_facts,
    role_facts,
)

from ..conftest import ROOT

SHARED = ROOT.parent / "shared" / "data" / "role_facts.yaml"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside this clone")


def packaged_text() -> str:
    return resources.files("rolefit.guidance").joinpath(FACTS_FILE).read_text(encoding="utf-8")


def words(text: str) -> list[str]:
    """The words of a YAML file, comments and punctuation (quotes, brackets, commas) left out."""
    body = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())
    return re.findall(r"\w+", body)


def test_packaged_facts_match_the_schema_and_every_fact_names_its_source_and_year():
    facts = load_role_facts()
    assert set(facts.sources) == {"guide_2026_track", "guide_2026_lifecycle"}
    assert all(s.year == 2026 for s in facts.sources.values())
    for role in ("swe", "mle"):
        about = facts.roles[role]
        assert about.role == role and about.name
        topics = [f.topic for f in about.facts]
        assert topics[:9] == ["builds", "daily_work", "core_skills", "typical_tools", "growth_path",
                              "long_term_goals", "interview_focus", "market", "salary"]  # fmt: skip
        for fact in about.facts:
            assert fact.lines and all(line.strip() for line in fact.lines), (role, fact.topic)
            assert fact.sources, (role, fact.topic)
            for source in fact.sources:
                assert source.id in facts.sources and source.year == 2026 and source.label
        # the salary ranges name their own source; the other groups come from both guides
        assert [s.id for s in about.fact("salary").sources] == ["guide_2026_track"]
        assert {s.id for s in about.fact("daily_work").sources} == set(facts.sources)
    # lists are read as lists of whole items, not split at the commas inside them
    skills = facts.roles["swe"].fact("core_skills").value
    assert skills[0] == "one language in depth (Java, Python, JavaScript, C++)"
    assert facts.mistakes["skip_fundamentals"] == "skipping fundamentals — algorithms for SWE, maths for MLE"


def test_role_facts_give_the_fitting_role_first_and_both_on_request():
    assert [r.role for r in role_facts()] == ["swe", "mle"]
    assert [r.role for r in role_facts("mle")] == ["mle"]
    assert [r.role for r in role_facts("mle", both=True)] == ["mle", "swe"]
    assert [r.role for r in role_facts("swe", both=True)] == ["swe", "mle"]
    with pytest.raises(ValueError, match="role must be one of swe, mle"):
        role_facts("data_scientist")
    shown = json.loads(json.dumps([r.to_dict() for r in role_facts()]))
    salary = next(f for f in shown[1]["facts"] if f["topic"] == "salary")
    assert (
        salary["sources"][0]["year"] == 2026
        and "ML Engineers vs Software Engineers" in salary["sources"][0]["title"]
    )
    assert "USA, base salary: $110,000–$200,000 (upper end open)" in salary["lines"]
    assert "not measured data" in shown[0]["notice"] or "rather than measured data" in shown[0]["notice"]


def test_the_facts_file_ships_in_the_wheel():
    """setuptools only packages data files it is told about (pyproject's package-data)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]
    assert any(re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), FACTS_FILE)
               for p in package_data.get("rolefit.guidance", ())), package_data  # fmt: skip


@needs_shared
def test_packaged_facts_say_what_the_shared_file_says():
    """Same words in the same order; only YAML punctuation differs (the shared file's flow lists split
    items at their inner commas, so the packaged copy quotes those items). Its attribution is kept."""
    shared_text, ours = SHARED.read_text(encoding="utf-8"), packaged_text()
    assert words(ours) == words(shared_text)
    shared, packaged = yaml.safe_load(shared_text), yaml.safe_load(ours)
    assert packaged["sources"] == shared["sources"]
    for role in ("swe", "mle"):
        for key in ("name", "builds", "typical_tools", "growth_path", "long_term_goals", "interview_focus",
                    "market", "salary"):  # fmt: skip
            assert packaged["roles"][role][key] == shared["roles"][role][key], (role, key)
        for key in ("daily_work", "core_skills"):  # the same text once the split items are joined again
            assert ", ".join(packaged["roles"][role][key]) == ", ".join(shared["roles"][role][key])
    for key in ("beginners", "swe_to_mle", "hired_faster", "scenarios"):
        assert packaged["advice"][key] == shared["advice"][key]
    header = [line for line in shared_text.splitlines() if line.startswith("#")]
    assert header and all(line in ours.splitlines() for line in header)  # attribution, "not measured data"
    assert "one publisher's view, not measured data" in ours


def broken(old: str, new: str) -> str:
    text = packaged_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    name: Software engineering\n", "    name: Software engineering\n    colour: blue\n",
         "roles.swe.colour: unknown key"),
        ("      source: guide_2026_track\n  mle:", "      source: guide_2099\n  mle:",
         "roles.swe.salary.source names 'guide_2099', which is not one of the sources"),
        ("    kind: career blog post of an online learning platform\n    year: 2026\n",
         "    kind: career blog post of an online learning platform\n",
         "sources.guide_2026_track.year: missing"),
        ('text: "skipping fundamentals — algorithms for SWE, maths for MLE"',
         "text: skipping fundamentals — algorithms for SWE, maths for MLE",
         "advice.common_mistakes.1.maths for MLE: unknown key"),
        ("      usa_base_usd: {low: 90000, high: 180000}", "      usa_base_usd: {low: 190000, high: 180000}",
         "roles.swe.salary.usa_base_usd: low (190000) is above high (180000)"),
        ("    interview_focus: coding problems (algorithms) and system design\n", "",
         "roles.swe.interview_focus: missing"),
    ],
    ids=["unknown-key", "unknown-source", "source-without-year", "comma-split-flow-map", "range", "missing"],
)  # fmt: skip
def test_a_broken_copy_is_refused_with_a_message_naming_the_problem(old, new, message):
    with pytest.raises(RoleFactsError) as caught:
        parse_role_facts(broken(old, new), "copy.yaml")
    text = str(caught.value)
    assert text.startswith("copy.yaml does not match the role facts schema: ")
    assert message in text, text


def test_a_file_that_is_not_yaml_is_refused():
    with pytest.raises(RoleFactsError, match=r"copy\.yaml is not valid YAML"):
        parse_role_facts("sources: [unclosed", "copy.yaml")
    with pytest.raises(RoleFactsError, match=r"copy\.yaml does not match the role facts schema"):
        parse_role_facts("just a string", "copy.yaml")
