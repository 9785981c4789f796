"""The questionnaire page in a real headless Chromium (Debian's), driven by Playwright."""

import json
import re
import shutil
import urllib.request

import pytest

from .helpers import BIN, ROOT, Server, env, free_port

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip


@pytest.fixture(scope="module")
def site(champion, tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    port = free_port()
    server = Server(
        [str(BIN / "rolefit"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        url=f"http://127.0.0.1:{port}", cwd=folder, environ=env(ROLEFIT_MODEL=str(champion[1])),
        log=folder / "serve.log",
    )  # fmt: skip
    try:
        server.wait_ready("/healthz")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium") and not (ROOT / CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it with apt-get)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield instance
        instance.close()


def answer(page, lean: str) -> None:
    """Answer every 1-5 item toward ``lean`` (5 for its items, 1 for the other side), pick a goal."""
    import rolefit

    for item in rolefit.questionnaire().items:
        if item.kind == "scale" and item.lean != "none":
            value = 5 if item.lean == lean else 1
            page.click(f"label[for='{item.id}-{value}']")
    goal = "full_stack_developer" if lean == "swe" else "applied_scientist"
    page.check(f"#career_goal-{goal}")
    page.fill("#years_coding", "6")


def check_evidence_badges(page, site) -> None:
    """Every reason shown carries a badge matching its evidence in the API's answer for the same answers."""
    answers = page.evaluate(
        """() => { const out = {}; new FormData(document.getElementById("quiz")).forEach((v, k) => {
                     if (v !== "") out[k] = /^-?[0-9.]+$/.test(v) ? Number(v) : v; }); return out; }"""
    )
    request = urllib.request.Request(
        site.url + "/api/predict",
        data=json.dumps(answers).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        explanations = json.load(response)["explanations"]
    rows = page.locator("#reasons li")
    assert rows.count() == min(8, len(explanations))
    for position in range(rows.count()):
        evidence = explanations[position]["evidence"]
        badge = rows.nth(position).locator(".evidence")
        assert badge.count() == 1 and badge.is_visible()
        assert badge.get_attribute("title") == evidence["summary"]
        label = badge.evaluate("node => node.firstChild.textContent")
        if evidence["basis"] == "real":
            assert "real" in badge.get_attribute("class").split()
            assert label == f"real data · {evidence['respondents']:,} people"
        else:
            assert "assumed" in badge.get_attribute("class").split() and label == "assumed"
    assert page.locator("#evidence-key").is_visible()


@pytest.mark.parametrize(
    ("lean", "expected"), [("swe", "software engineering"), ("mle", "machine learning engineering")]
)
def test_person_answers_and_sees_the_result(site, browser, lean, expected):
    page = browser.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site.url + "/")
    page.click("#mode-all")
    page.wait_for_selector("#section-experience")
    assert page.locator("fieldset.section").count() == 5
    answer(page, lean)
    assert int(page.text_content("#answered")) >= 29
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    verdict = page.text_content("#verdict")
    assert expected in verdict
    reasons = page.locator("#reasons li")
    assert reasons.count() >= 5 and reasons.first.is_visible()
    bar_class = "neg" if lean == "swe" else "pos"
    assert page.locator(f"#reasons .{bar_class}").first.is_visible()
    check_evidence_badges(page, site)
    assert re.fullmatch(
        r"Before your answers: [\d.]+% MLE \(the reference survey's mix of SWE and MLE respondents\)\. "
        r"Your answers moved it to \d+% MLE\.",
        page.text_content("#baseline"),
    )
    assert "not screening" in page.text_content("#result-notice")
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / f"questionnaire-result-{lean}.png"), full_page=True)
    assert all(url.startswith(site.url) for url in requests), "the page must not call external hosts"
    page.close()


def test_keyboard_only_submission(site, browser):
    page = browser.new_page()
    page.goto(site.url + "/")
    page.click("#mode-all")
    page.wait_for_selector("#section-experience")
    page.focus("#interest_math-5")
    page.keyboard.press("Space")
    page.focus("#submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#result:not([hidden])")
    assert "mathematics" in page.text_content("#reasons")
    page.close()


def test_no_answers_say_there_is_no_information(site, browser):
    page = browser.new_page()
    page.goto(site.url + "/")
    page.click("#mode-all")
    page.wait_for_selector("#section-experience")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    assert page.text_content("#verdict").startswith("No answers yet: no information about either role.")
    assert page.text_content("#baseline").startswith("Before your answers: ")
    assert page.locator("#reasons .evidence").count() == 0
    assert "skipped every question" in page.text_content("#reasons")
    assert not page.locator("#evidence-key").is_visible()
    page.close()


def test_quick_mode_asks_the_best_question_first_then_shows_guidance(site, browser):
    """Quick: one question at a time from /api/next-questions (first the best first question, with no
    verdict shown), Skip, "See my result" once settled; the result has certainty words, next steps and
    the fitting role's facts with source and year."""
    import rolefit

    items = {item.id: item for item in rolefit.questionnaire().items}
    page = browser.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site.url + "/")
    page.click("#mode-quick")
    page.wait_for_selector("#quick-item legend, #quick-item label")
    request = urllib.request.Request(
        site.url + "/api/next-questions", data=b"{}", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        best = json.load(response)
    first = best["questions"][0]
    assert page.locator(f"#quick-item [name='q-{first['item']}']").count() >= 1
    assert not page.locator("#result").is_visible() and not page.locator("#quick-settled").is_visible()
    page.click("#quick-skip")  # skipped: never asked again
    progress = "document.querySelector('#quick-progress').textContent"
    page.wait_for_function(f"() => {progress}.includes('skipped 1')")
    asked = [first["item"]]
    while not page.locator("#quick-settled").is_visible():
        name = page.locator("#quick-item input").first.get_attribute("name").removeprefix("q-")
        assert name not in asked and len(asked) < len(items)
        asked.append(name)
        item = items[name]
        if item.kind == "scale":
            page.check(f"#q-{name}-{5 if item.lean == 'mle' else 1 if item.lean == 'swe' else 3}")
        elif item.kind == "binary":
            page.check(f"#q-{name}-{1 if item.lean == 'mle' else 0}")
        elif item.kind == "choice":
            page.check(f"#q-{name}-{'applied_scientist' if name == 'career_goal' else item.choice_ids[-1]}")
        else:
            page.fill(f"#q-{name}", "3")
        page.click("#quick-next")
        page.wait_for_function(
            f"n => {progress}.startsWith('Answered ' + n + ',')",
            arg=len(asked) - 1,
        )
    assert len(asked) < len(items)
    page.click("#quick-result")
    page.wait_for_selector("#result:not([hidden])")
    assert "machine learning engineering" in page.text_content("#verdict")
    assert re.fullmatch(r"How sure: (clear fit|leaning MLE|both fit you)", page.text_content("#certainty"))
    assert "Prediction set" not in page.text_content("#result")
    assert page.locator("#summary").is_visible() and page.locator("#steps").is_visible()
    facts = page.text_content("#facts-mle")
    assert "Daily work" in facts and re.search(r"\(sources?: \u201c[^\u201d]+\u201d, 20\d\d", facts)
    assert all(url.startswith(site.url) for url in requests), "the page must not call external hosts"
    page.screenshot(path=str(ROOT / "reports" / "questionnaire-quick-result.png"), full_page=True)
    page.close()
