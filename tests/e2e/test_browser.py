"""The questionnaire page in a real headless Chromium (Debian's), driven by Playwright.

Every test that uses ``visit`` runs at 1280x800 and at 390x844, records every request the page makes
and fails if one leaves the server's origin, if the page throws a JavaScript error, or if the browser
refuses anything under the server's Content-Security-Policy (no inline scripts or styles). Screenshots of the
form and the result at both widths go to ``reports/screenshots/`` (git-ignored); ``make screenshots``
copies them to ``docs/images/`` for the docs site (the questionnaire tutorial and the README).
"""

from __future__ import annotations

import json
import math
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.model.test_fit_acceptance import MATHS_GRADUATE, STUDENT

from .helpers import ROOT

pytestmark = pytest.mark.slow
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
SHOTS = ROOT / "reports" / "screenshots"


@pytest.fixture(scope="module")
def items() -> dict[str, Any]:
    import rolefit

    return {item.id: item for item in rolefit.questionnaire().items}


@dataclass
class Visit:
    """One browser context at one width, with every request and JavaScript error it saw."""

    site: Any
    browser: Any
    width: str
    contexts: list = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def page(self, fresh: bool = False):
        """A page in this visit's context, or in a fresh context (no history, no local storage)."""
        if fresh or not self.contexts:
            width, height = WIDTHS[self.width]
            context = self.browser.new_context(viewport={"width": width, "height": height})
            context.on("request", lambda request: self.requests.append(request.url))
            self.contexts.append(context)
        page = self.contexts[-1].new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        return page

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.refused.append(message.text)

    def url(self, fragment: str = "") -> str:
        return self.site.url + "/" + fragment

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(params=list(WIDTHS))
def visit(request, site, browser):
    """A visit at each width; afterwards no request may have left the origin and no script error occurred."""
    seen = Visit(site, browser, request.param)
    yield seen
    seen.close()
    outside = [url for url in seen.requests if not url.startswith(site.url + "/")]
    assert not outside, f"the page called other hosts: {outside}"
    assert not seen.errors, f"JavaScript errors: {seen.errors}"
    assert not seen.refused, f"refused by the Content-Security-Policy: {seen.refused}"


#: The bootcamp graduate of issue #25, as he answered Quick mode: half a year of coding, JavaScript, web
#: development 4, enjoys building products 5, wants a job fast 5, low maths and ML ratings.
BOOTCAMP = {
    "years_coding": 0.5, "uses_javascript": 1, "skill_web_development": 4, "interest_building_products": 5,
    "pref_fast_job_entry": 5, "skill_ml_algorithms": 1, "years_ml": 0, "interest_math": 2,
}  # fmt: skip
PERSONAS = {"student": STUDENT, "bootcamp": BOOTCAMP, "maths-graduate": MATHS_GRADUATE}


def start_steps(page, visit) -> None:
    page.goto(visit.url())
    page.wait_for_selector("#mode-steps:not([disabled])")
    page.click("#mode-steps")
    page.wait_for_selector("#section-interests:not([hidden])")


def choose(page, item_id: str, value: Any) -> None:
    page.click(f"label[for='{item_id}-{value}']")


def lean_value(item, lean: str) -> Any:
    """The answer that leans toward ``lean``: 5 or 1 on scales, yes/no, a goal, some years."""
    if item.kind == "scale":
        return 3 if item.lean == "none" else 5 if item.lean == lean else 1
    if item.kind == "binary":
        return 1 if item.lean == lean else 0
    if item.id == "career_goal":
        return "applied_scientist" if lean == "mle" else "full_stack_developer"
    if item.kind == "choice":
        return item.choice_ids[-1] if lean == "mle" else item.choice_ids[2]
    return 6 if item.kind == "number" else 3


def answers_in(url: str) -> dict[str, str]:
    return dict(parse_qsl(url.split("#", 1)[1].split("?", 1)[1])) if "?" in url else {}


def active(page) -> dict[str, str]:
    return page.evaluate(
        "() => { const a = document.activeElement; return {id: a.id, name: a.name || '', tag: a.tagName}; }"
    )


def axe_serious(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shot(page, name: str, visit) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{visit.width}.png"), full_page=True)


def test_a_whole_stepped_flow_by_keyboard_alone(visit, items):
    """Tab to a start button, answer all 44 questions with Tab, arrows, Space and typing, Enter on Next
    at each step; focus goes to each step's heading and to the result; axe finds nothing serious on the
    form or the result; the answers leaning MLE give an MLE result."""
    page = visit.page()
    page.goto(visit.url())
    page.wait_for_selector("#mode-steps:not([disabled])")
    for _ in range(30):
        page.keyboard.press("Tab")
        if active(page)["id"] == "mode-steps":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#section-interests:not([hidden])")
    for step in range(5):
        assert active(page)["id"] == "step-title"
        section = page.locator(".step:not([hidden])")
        for item_id in section.locator("[data-item]").evaluate_all("nodes => nodes.map(n => n.dataset.item)"):
            item = items[item_id]
            page.keyboard.press("Tab")
            assert active(page)["name"] == item_id, f"focus should move to {item_id}, not {active(page)}"
            value = lean_value(item, "mle")
            if item.kind in ("number", "count"):
                page.keyboard.type(str(value))
                continue
            values = (
                [str(v) for v in range(item.scale.min, item.scale.max + 1)] if item.kind == "scale"
                else ["1", "0"] if item.kind == "binary" else list(item.choice_ids)
            )  # fmt: skip
            position = values.index(str(value))
            for key in ["Space"] if position == 0 else ["ArrowRight"] * position:
                page.keyboard.press(key)
            assert page.is_checked(f"#{item_id}-{value}")
        if step == 0:
            assert axe_serious(page) == []
            shot(page, "form", visit)
        page.keyboard.press("Tab")  # Back
        page.keyboard.press("Tab")  # Next (or See my result)
        assert active(page)["id"] == "step-next"
        title = page.text_content("#step-title")
        page.keyboard.press("Enter")
        if step < 4:
            page.wait_for_function(
                "title => document.querySelector('#step-title').textContent !== title", arg=title
            )
    page.wait_for_selector("#result-view:not([hidden])")
    assert active(page)["id"] == "result-title"
    assert "machine learning engineering" in page.text_content("#verdict")
    shares = {page.text_content("#p-swe"), page.text_content("#p-mle")}
    assert not shares & {"0%", "100%"}, shares  # this person is near-certain: "under 1%", "over 99%"
    # every question of the five steps (the tools questions are asked in Quick mode only)
    assert len(answers_in(page.url)) == len([i for i in items.values() if i.group != "tools"])
    assert axe_serious(page) == []
    shot(page, "result", visit)


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_the_docs_show_current_screenshots():
    """The questionnaire tutorial shows the form at 390 px and the result at 1280 px from docs/images/
    (the README, the site's front page, the result); the committed form has the size of the one the
    keyboard test just took (so a changed page needs `make screenshots`)."""
    tutorial = (ROOT / "docs" / "tutorials" / "questionnaire.md").read_text()
    assert "](docs/images/result-desktop.png)" in (ROOT / "README.md").read_text()
    for name, width in (("form-phone", 390), ("result-desktop", 1280)):
        committed = ROOT / "docs" / "images" / f"{name}.png"
        assert f"](../images/{name}.png)" in tutorial
        assert png_size(committed)[0] == width
    fresh = SHOTS / "form-phone.png"
    assert fresh.exists(), "run test_a_whole_stepped_flow_by_keyboard_alone first (it takes the screenshots)"
    assert png_size(ROOT / "docs" / "images" / "form-phone.png") == png_size(fresh), "run make screenshots"


def test_reload_midway_resumes_and_start_over_forgets(visit):
    page = visit.page()
    start_steps(page, visit)
    choose(page, "interest_math", 5)
    choose(page, "interest_building_products", 2)
    choose(page, "interest_coding_puzzles", "skip")
    page.click("#step-next")
    page.wait_for_selector("#section-skills:not([hidden])")
    choose(page, "skill_python", 4)
    page.reload()
    page.wait_for_selector("#section-skills:not([hidden])")
    assert page.text_content("#step-title") == "Skills"
    assert page.is_checked("#skill_python-4")
    page.click("#goto-interests")
    page.wait_for_selector("#section-interests:not([hidden])")
    assert page.is_checked("#interest_math-5") and page.is_checked("#interest_building_products-2")
    assert page.is_checked("#interest_coding_puzzles-skip")
    # the same browser opening the bare address is offered its kept answers
    again = visit.page()
    again.goto(visit.url())
    again.wait_for_selector("#resume:not([hidden])")
    assert again.text_content("#resume-text").startswith("3 answers are kept in this browser")
    again.click("#resume-go")
    again.wait_for_selector("#steps-view:not([hidden])")
    assert again.is_checked("#interest_math-5") or again.is_checked("#skill_python-4")
    again.click("#goto-skills")
    assert again.is_checked("#skill_python-4")
    # the kept answers' result, from the start view: the fit and where they stand today
    kept = visit.page()
    kept.goto(visit.url())
    kept.wait_for_selector("#resume:not([hidden])")
    kept.click("#resume-result")
    kept.wait_for_selector("#result-view:not([hidden])")
    assert {"interest_math": "5", "skill_python": "4"}.items() <= answers_in(kept.url).items()
    assert kept.locator("#fit").is_visible() and kept.locator("#standing").is_visible()
    again.goto(visit.url("#start"))
    again.wait_for_selector("#start-over")
    again.click("#start-over")
    again.reload()
    again.wait_for_selector("#mode-steps:not([disabled])")
    assert again.locator("#resume").is_hidden()


def finish(page, visit) -> None:
    """From any step: Next until the result is shown."""
    while page.locator("#result-view").is_hidden():
        page.click("#step-next")
        page.wait_for_function("() => !document.querySelector('#step-next').disabled")


def test_the_result_link_shows_the_same_result_in_a_fresh_browser_and_back_returns(visit):
    page = visit.page()
    start_steps(page, visit)
    choose(page, "interest_math", 5)
    choose(page, "interest_research", 4)
    page.click("#step-next")
    choose(page, "skill_python", 5)
    finish(page, visit)
    link = page.url
    assert link.startswith(visit.url("#result?"))
    shown = {
        key: page.text_content(key) for key in ("#p-mle", "#verdict", "#certainty", "#reasons", "#standing")
    }
    assert (
        page.locator("#standing").is_visible() and page.locator("#standing-mle, #standing-swe").count() == 2
    )
    other = visit.page(fresh=True)
    other.goto(link)
    other.wait_for_selector("#result-view:not([hidden])")
    assert {key: other.text_content(key) for key in shown} == shown
    # Back returns to the answers (the last step), Forward to the result
    page.go_back()
    page.wait_for_selector("#steps-view:not([hidden])")
    assert page.text_content("#step-title") == "Experience"
    checked = "ids => ids.every(id => document.getElementById(id).checked)"
    assert page.evaluate(checked, ["interest_math-5", "interest_research-4", "skill_python-5"])
    page.go_forward()
    page.wait_for_selector("#result-view:not([hidden])")
    assert page.text_content("#p-mle") == shown["#p-mle"]
    # "Change my answers" moves focus to the first step's heading
    page.click("#again")
    page.wait_for_selector("#section-interests:not([hidden])")
    assert active(page)["id"] == "step-title"


def test_an_out_of_range_answer_is_marked_and_focused(visit):
    page = visit.page()
    start_steps(page, visit)
    page.click("#goto-experience")
    page.wait_for_selector("#section-experience:not([hidden])")
    page.fill("#years_coding", "99")
    page.click("#step-next")
    box = page.locator("#item-years_coding")
    assert "invalid" in box.get_attribute("class").split()
    assert page.text_content("#years_coding-error") == (
        "99 is more than 50. A number from 0 to 50 (years), like 2 or 1.5. Leave it empty to skip."
    )
    assert (
        active(page)["id"] == "years_coding" and page.get_attribute("#years_coding", "aria-invalid") == "true"
    )
    assert page.locator("#result-view").is_hidden()
    assert axe_serious(page) == []
    shot(page, "error", visit)
    page.fill("#years_coding", "3e")
    page.click("#step-next")
    assert page.text_content("#years_coding-error").startswith("\u201c3e\u201d is not a number.")
    page.fill("#years_coding", "1,5")  # a decimal comma is read as a decimal point
    page.fill("#ml_frameworks_used", "1.5")
    page.click("#step-next")
    assert page.text_content("#ml_frameworks_used-error").startswith("1.5 is not a whole number.")
    assert active(page)["id"] == "ml_frameworks_used"
    page.fill("#ml_frameworks_used", "2")
    page.click("#step-next")
    page.wait_for_selector("#result-view:not([hidden])")
    assert answers_in(page.url)["years_coding"] == "1.5"


def test_an_answer_the_server_refuses_is_shown_beside_its_question(visit):
    """A hand-edited result link with an answer out of range: the server's 422 is shown in words (no item
    id) beside the question, on its step, and focused."""
    page = visit.page()
    page.goto(visit.url("#result?interest_math=5&skill_python=9"))
    page.wait_for_selector("#item-skill_python.invalid")
    assert page.text_content("#step-title") == "Skills"
    error = page.text_content("#skill_python-error")
    assert error.startswith("This answer (9) is not allowed. Allowed: an integer from 1 to 5")
    assert "skill_python" not in error
    assert active(page)["name"] == "skill_python"
    assert "One answer needs a change" in page.text_content("#problem")
    assert page.text_content("#step-next") == "Next"  # the Skills step's button, not the last step's
    assert axe_serious(page) == []


def test_a_refusal_from_the_last_step_opens_the_step_of_the_question(visit):
    """ "See my result" on the last step, the server refuses a Skills answer: the Skills step is shown
    with that question marked, and its button reads Next again (not the last step's label)."""
    page = visit.page()
    start_steps(page, visit)
    page.click("#goto-experience")
    problems = [{"item": "skill_python", "problem": "got 9; allowed: an integer from 1 to 5"}]
    page.route(
        "**/api/guide",
        lambda route: route.fulfill(status=422, json={"detail": "invalid answers", "problems": problems}),
    )
    assert page.text_content("#step-next") == "See my result"
    page.click("#step-next")
    page.wait_for_selector("#item-skill_python.invalid")
    assert page.text_content("#step-title") == "Skills" and page.text_content("#step-next") == "Next"
    assert active(page)["name"] == "skill_python"


def test_a_quick_link_with_a_refused_answer_goes_on_without_it(visit):
    page = visit.page()
    page.goto(visit.url("#quick?interest_math=9&skill_python=4"))
    page.wait_for_selector("#problem:not([hidden])")
    text = page.text_content("#problem-text")
    assert "were left out" in text and "How much do you enjoy mathematics?" in text
    assert "interest_math" not in text
    page.click("#retry")
    page.wait_for_selector("#quick-item input")
    assert answers_in(page.url) == {"skill_python": "4"}
    assert page.locator("#problem").is_hidden()


@pytest.mark.parametrize("name", ["constructor", "__proto__", "toString", "hasOwnProperty"])
def test_a_link_naming_a_prototype_property_is_an_unknown_question(visit, name):
    """A shared link with ``constructor=1`` (and the like) once threw a JavaScript error: such a name is
    a question this version does not ask, left out and named like any other (as an answer, as a skipped
    question, in Quick and in a result)."""
    page = visit.page()
    page.goto(visit.url(f"#result?interest_math=5&{name}=1"))
    page.wait_for_selector("#result-view:not([hidden])")
    note = page.text_content("#note")
    assert f"questions this version does not ask ({name})" in note and "left out" in note
    assert answers_in(page.url) == {"interest_math": "5"}
    assert "mathematics" in page.text_content("#reasons")
    quick = visit.page()
    quick.goto(visit.url(f"#quick?{name}=2&skipped={name},interest_math"))
    quick.wait_for_selector("#quick-item input")
    assert f"does not ask ({name})" in quick.text_content("#note")
    assert answers_in(quick.url) == {"skipped": "interest_math"}


def test_numbers_a_link_cannot_hold_exactly_are_refused_beside_their_question(visit):
    """A 400-digit number in a link was dropped without a word (it became Infinity, then null). Numbers
    of more than 15 digits (beyond Number.MAX_SAFE_INTEGER, or too precise) and non-finite ones are
    refused as the server refuses an answer out of range: marked beside their questions, in words."""
    page = visit.page()
    huge = "1" * 400
    page.goto(visit.url(f"#result?interest_math=5&years_coding={huge}&ml_frameworks_used=9007199254740993"
                        "&years_ml=Infinity&interest_research=4.0000000000000000001"))  # fmt: skip
    page.wait_for_selector("#item-years_coding.invalid")
    assert page.text_content("#step-title") == "Experience"  # the first refused question's step
    assert page.text_content("#years_coding-error") == (
        "This answer (a number with 400 digits) is not allowed. Allowed: a number from 0 to 50 (years)."
    )
    assert page.text_content("#ml_frameworks_used-error").startswith("This answer (a number with 16 digits)")
    assert page.text_content("#years_ml-error").startswith("This answer (Infinity) is not allowed.")
    assert "4 answers need a change" in page.text_content("#problem")
    assert page.locator("#result-view").is_hidden()
    page.click("#goto-interests")
    assert page.locator("#item-interest_research.invalid").count() == 1
    assert page.text_content("#interest_research-error") == (
        "This answer (a number with 20 digits) is not allowed. Allowed: an integer from 1 to 5."
    )
    # in Quick they are left out, named, and Try again goes on without them
    quick = visit.page()
    quick.goto(visit.url(f"#quick?years_coding={huge}&skill_python=4"))
    quick.wait_for_selector("#problem:not([hidden])")
    text = quick.text_content("#problem-text")
    assert "were left out" in text and "How many years have you been writing code?" in text
    assert "a number with 400 digits" in text
    quick.click("#retry")
    quick.wait_for_selector("#quick-item input")
    assert answers_in(quick.url) == {"skill_python": "4"}


def test_a_network_failure_says_so_and_try_again_works(visit):
    page = visit.page()
    start_steps(page, visit)
    choose(page, "interest_math", 5)
    page.route("**/api/guide", lambda route: route.abort())
    page.click("#goto-experience")
    page.click("#step-next")
    page.wait_for_selector("#problem:not([hidden])")
    assert "Could not reach the rolefit server" in page.text_content("#problem-text")
    assert active(page)["id"] == "retry"
    page.unroute("**/api/guide")
    page.route(
        "**/api/guide",
        lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>", content_type="text/html"),
    )
    page.click("#retry")
    page.wait_for_function("() => document.querySelector('#problem-text').textContent.includes('error 502')")
    page.unroute("**/api/guide")
    page.click("#retry")
    page.wait_for_selector("#result-view:not([hidden])")
    assert page.locator("#problem").is_hidden()
    assert "mathematics" in page.text_content("#reasons")


def test_a_questionnaire_that_fails_to_load_says_so_and_cannot_be_started(visit):
    page = visit.page()
    page.route("**/api/questionnaire", lambda route: route.abort())
    page.goto(visit.url())
    page.wait_for_selector("#problem:not([hidden])")
    assert "questionnaire could not be loaded" in page.text_content("#problem-text")
    assert page.is_disabled("#mode-steps") and page.is_disabled("#mode-quick")
    page.unroute("**/api/questionnaire")
    page.click("#retry")
    page.wait_for_selector("#mode-steps:not([disabled])")
    assert page.locator("#problem").is_hidden()


def test_while_waiting_the_button_is_busy_and_a_double_click_sends_one_request(visit):
    page = visit.page()
    start_steps(page, visit)
    choose(page, "interest_math", 5)
    page.click("#goto-experience")
    held = []
    page.route("**/api/guide", lambda route: held.append(route))
    page.dblclick("#step-next")
    page.wait_for_function("() => document.querySelector('#step-next').getAttribute('aria-busy') === 'true'")
    assert page.is_disabled("#step-next") and page.text_content("#step-next") == "Working\u2026"
    assert page.locator("#waiting").is_visible()
    page.click("#step-next", force=True)
    page.wait_for_timeout(300)
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector("#result-view:not([hidden])")
    assert len(held) == 1


def test_phone_layout_nothing_prechecked_chips_and_focus(site, browser, items):
    """At 360 px: a 1-5 scale on one row, tap targets of 44 px, nothing checked at the start, Skip looks
    unlike an answer, a chosen chip is filled, and the focus ring has at least 3:1 contrast."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        page.goto(site.url + "/")
        page.wait_for_selector("#mode-steps:not([disabled])")
        page.click("#mode-steps")
        page.wait_for_selector("#section-interests:not([hidden])")
        assert page.locator("#steps-view input:checked").count() == 0
        tops = {
            round(page.locator(f"label[for='interest_math-{v}']").bounding_box()["y"]) for v in range(1, 6)
        }
        assert len(tops) == 1, f"the 1-5 scale wraps at 360 px: {tops}"
        sizes = page.locator(".step:not([hidden]) .opt, #steps-view button").evaluate_all(
            "nodes => nodes.map(n => { const r = n.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert sizes and all(w >= 44 and h >= 44 for w, h in sizes), sizes
        style = "([sel, prop]) => getComputedStyle(document.querySelector(sel))[prop]"
        assert page.evaluate(style, ["label[for='interest_math-skip']", "borderTopStyle"]) == "dashed"
        assert page.evaluate(style, ["label[for='interest_math-3']", "borderTopStyle"]) == "solid"
        plain = page.evaluate(style, ["label[for='interest_math-3']", "backgroundColor"])
        choose(page, "interest_math", 3)
        assert page.evaluate(style, ["label[for='interest_math-3']", "backgroundColor"]) != plain
        page.focus("#interest_math-3")
        page.keyboard.press("ArrowRight")
        ring = page.evaluate(style, ["label[for='interest_math-4']", "outlineColor"])
        assert contrast(ring, "rgb(255, 255, 255)") >= 3, ring
        page.keyboard.press("Tab")
        ring = page.evaluate("() => getComputedStyle(document.activeElement.closest('label')).outlineColor")
        assert contrast(ring, "rgb(255, 255, 255)") >= 3, ring
    finally:
        context.close()


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        r, g, b = (int(x) / 255 for x in re.findall(r"\d+", colour)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_chart_has_a_centre_line_values_and_all_reasons_on_request(visit, items):
    page = visit.page()
    start_steps(page, visit)
    for group in ("interests", "skills"):
        for item_id, item in items.items():
            if item.group == group:
                choose(page, item_id, 5)  # SWE items push one way, MLE items the other
        page.click("#step-next")
    finish(page, visit)
    rows = page.locator("#reasons li")
    shown = page.locator("#reasons li:not([hidden])")
    assert shown.count() == 8 < rows.count()
    values = shown.locator(".value").all_text_contents()
    assert len(values) == 8 and set(values) <= {"strong", "clear", "small", "slight"}, values
    strengths = shown.locator(".strength").all_text_contents()
    words = {
        "strong": "A strong reason",
        "clear": "A clear reason",
        "small": "A small reason",
        "slight": "Hardly a reason",
    }
    assert strengths == [words[v] for v in values]
    assert (
        page.locator("#reasons li:not([hidden]) .half.swe").first.evaluate(
            "n => getComputedStyle(n).borderRightStyle"
        )
        == "solid"
    )  # the centre line
    fills = page.locator("#reasons .fill").evaluate_all(
        "ns => ns.map(n => getComputedStyle(n).backgroundColor)"
    )
    swe, mle = sorted(set(fills))[:2] if len(set(fills)) == 2 else (None, None)
    assert swe and contrast(swe, mle) >= 3, set(fills)
    page.click("#all-reasons")
    assert page.locator("#reasons li:not([hidden])").count() == rows.count()
    assert page.get_attribute("#all-reasons", "aria-expanded") == "true"


def test_no_answers_say_there_is_no_information(visit):
    page = visit.page()
    start_steps(page, visit)
    finish(page, visit)
    assert page.text_content("#verdict").startswith("No answers yet: no information about either role.")
    assert page.text_content("#baseline").startswith("Starting point, before your answers: ")
    assert page.locator("#reasons .evidence").count() == 0
    assert "skipped every question" in page.text_content("#reasons")
    page.wait_for_selector("#ask-next:not([hidden])")
    assert page.locator("#ask-next-list li").count() == 3


def post_json(site, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        site.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def typed(answers: dict[str, str]) -> dict[str, Any]:
    """A link's answers as the API takes them (numbers as numbers)."""
    return {k: (v if not re.fullmatch(r"-?[\d.]+", v) else float(v)) for k, v in answers.items()}


#: Where each group's reasons are shown: what you enjoy, are good at, want.
REASON_BLOCKS = {"interests": "enjoy", "preferences": "enjoy", "skills": "good", "goal": "want"}
STRENGTH_WORDS = (  # (smallest effect, words): ln 3 and logit(0.6), as the page reads them
    (math.log(3), "A strong reason"), (math.log(1.5), "A clear reason"), (0.04, "A small reason"),
    (0.0, "Hardly a reason"),
)  # fmt: skip


def test_each_reason_says_how_strong_it_is_and_what_backs_it_as_the_api_does(visit, items):
    """Every reason sits in its group (what you enjoy, are good at, want), with its strength in words and
    what backs it in words matching its evidence in the API's answer for the same answers: "based on N
    people working as ..." for measured effects, "what career guides say" for assumed ones."""
    page = visit.page()
    start_steps(page, visit)
    for group in ("interests", "skills", "preferences", "goal"):  # the steps' order
        for item_id, item in items.items():
            if item.group == group:
                choose(page, item_id, lean_value(item, "swe"))
        page.click("#step-next")
        page.wait_for_function("() => !document.querySelector('#step-next').disabled")
    finish(page, visit)
    explanations = post_json(visit.site, "/api/predict", typed(answers_in(page.url)))["explanations"]
    assert page.locator("#reasons li").count() == len(explanations) > 8
    assert {items[e["item"]].group for e in explanations} == set(REASON_BLOCKS)
    page.click("#all-reasons")
    for e in explanations:
        row = page.locator(f"#why-{REASON_BLOCKS[items[e['item']].group]} li[data-item='{e['item']}']")
        assert row.count() == 1 and row.is_visible(), e["item"]
        words = next(w for least, w in STRENGTH_WORDS if abs(e["effect"]) >= least)
        assert row.locator(".strength").text_content() == words
        backing = row.locator(".evidence").text_content()
        if e["evidence"]["basis"] == "real":
            assert backing.startswith(f"based on {e['evidence']['respondents']:,} people working as ")
        else:
            assert backing == "what career guides say \u2014 not yet measured on people"
    assert "software engineering" in page.text_content("#verdict")
    # one frame: both numbers are the fitting role's
    assert re.fullmatch(
        r"Starting point, before your answers: 50% SWE, an even start\. Your answers moved it to \d+% SWE\.",
        page.text_content("#baseline"),
    )
    assert "not screening" in page.text_content("#result-notice")


def quick_words_follow(page, body: dict[str, Any]) -> None:
    """The Quick view says what /api/next-questions said (contract C2): progress from ``expected_left``
    (never a fixed number), and "See my result" as the main button once the fit is settled (``phase``
    "readiness" or "done"; a server without phases: ``settled``)."""
    text = page.text_content("#quick-progress")
    assert "dozen" not in text, text
    if body["questions"] and "expected_left" in body:
        left = max(1, round(body["expected_left"]))
        assert text.endswith(f"; about {left} question{'' if left == 1 else 's'} left."), text
    settled = body["phase"] in ("readiness", "done") if "phase" in body else body["settled"]["settled"]
    answered = bool(re.match(r"Answered [1-9]", text))
    main = "secondary" not in (page.get_attribute("#quick-result", "class") or "").split()
    assert main == ((settled and answered) or not body["questions"]), (text, body.get("phase"))
    assert page.locator("#quick-settled").is_visible() == (settled and answered)
    if body.get("phase") == "readiness" and body["questions"]:  # C2's readiness block
        assert page.text_content("#quick-title") == "Where you stand today"


def test_quick_mode_asks_the_best_question_first_then_shows_guidance(visit, items):
    """Quick: one question at a time from /api/next-questions (first the best first question, with no
    verdict shown), Skip, Back undoes, progress from the server's estimate, "See my result" the main
    button once settled; the result has certainty words, where you stand today and the fitting role's
    facts with source and year."""
    page = visit.page()
    page.goto(visit.url())
    page.wait_for_selector("#mode-quick:not([disabled])")
    with page.expect_response("**/api/next-questions*") as answer:
        page.click("#mode-quick")
    page.wait_for_selector("#quick-item legend, #quick-item label")
    first = post_json(visit.site, "/api/next-questions", {})["questions"][0]
    assert page.locator(f"#quick-item [name='q-{first['item']}']").count() >= 1
    assert page.locator("#result-view").is_hidden() and page.locator("#quick-settled").is_hidden()
    quick_words_follow(page, answer.value.json())
    page.click(f"label[for='q-{first['item']}-skip']")
    progress = "document.querySelector('#quick-progress').textContent"
    with page.expect_response("**/api/next-questions*") as answer:
        page.click("#quick-next")
    page.wait_for_function(f"() => {progress}.includes('skipped 1')")
    quick_words_follow(page, answer.value.json())
    assert answers_in(page.url) == {"skipped": first["item"]}
    asked = [first["item"]]
    while page.locator("#quick-settled").is_hidden():
        name = page.locator("#quick-item input").first.get_attribute("name").removeprefix("q-")
        assert name not in asked and len(asked) < len(items)
        asked.append(name)
        item = items[name]
        if item.kind in ("number", "count"):
            page.fill(f"#q-{name}", "3")
        else:
            page.click(f"label[for='q-{name}-{lean_value(item, 'mle')}']")
        with page.expect_response("**/api/next-questions*") as answer:
            page.click("#quick-next")
        page.wait_for_function(f"n => {progress}.startsWith('Answered ' + n + ',')", arg=len(asked) - 1)
        quick_words_follow(page, answer.value.json())
    assert len(asked) < len(items)
    # Back undoes the last answer and asks that question again
    page.click("#quick-back")
    page.wait_for_function(f"n => {progress}.startsWith('Answered ' + n + ',')", arg=len(asked) - 2)
    assert page.locator(f"#quick-item [name='q-{asked[-1]}']").count() >= 1
    page.go_forward()
    page.wait_for_selector("#quick-settled:not([hidden])")
    assert axe_serious(page) == []
    page.click("#quick-result")
    page.wait_for_selector("#result-view:not([hidden])")
    assert "machine learning engineering" in page.text_content("#verdict")
    assert re.fullmatch(r"How sure: (clear fit|leaning MLE|both fit you)", page.text_content("#certainty"))
    assert "Prediction set" not in page.text_content("#result-view")
    assert page.locator("#summary").is_visible() and page.locator("#standing").is_visible()
    facts = page.text_content("#facts-mle")
    assert "Daily work" in facts and re.search(r"\(sources?: \u201c[^\u201d]+\u201d, 20\d\d", facts)
    shot(page, "quick-result", visit)


def test_the_result_prints_on_one_page(visit, items):
    """The print stylesheet: a whole questionnaire's result (the fit with its top reasons, where you stand
    toward the fitting role with its gaps and steps, the fitting role's facts) on one A4 page, with no
    buttons or questions."""
    from urllib.parse import urlencode

    page = visit.page()
    link = visit.url("#result?" + urlencode({i: lean_value(item, "mle") for i, item in items.items()}))
    page.goto(link)
    page.wait_for_selector("#result-view:not([hidden])")
    page.emulate_media(media="print")
    assert page.locator("#again").is_hidden() and page.locator("#steps-view").is_hidden()
    assert page.locator("#reasons li:not(.more)").first.is_visible()
    assert page.locator("#facts-mle").is_visible()
    assert page.locator("#fit #prob-bar").is_visible() and page.locator("#standing-mle").is_visible()
    assert page.locator("#standing-mle .standing-summary").is_visible()
    assert page.locator("#other-role").is_hidden()  # the other role waits on the screen, one click away
    pdf = page.pdf(format="A4", print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def result_link(visit, answers: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return visit.url("#result?" + urlencode(answers))


def percents(text: str) -> list[str]:
    return re.findall(r"(?:less than |more than )?\d+%", text)


@pytest.mark.parametrize("persona", ["student", "bootcamp"])
def test_the_result_shows_the_fit_then_where_you_stand_then_the_facts(visit, items, persona):
    """The result in people's order: the fit (bar, verdict, reasons by what you enjoy / are good at / want),
    then "Where you stand today" per role (the fitting role first and open, the other offered folded):
    its gaps as the API lists them, each with its share and its source; its next steps in order (contract
    C1, once the server gives them); then the roles' facts. axe finds nothing serious, folded or open,
    and nothing is wider than the screen."""
    answers = PERSONAS[persona]
    api = post_json(visit.site, "/api/guide", answers)
    page = visit.page()
    page.goto(result_link(visit, answers))
    page.wait_for_selector("#result-view:not([hidden])")
    tops = [page.locator(s).bounding_box()["y"] for s in ("#fit", "#standing", "#facts")]
    assert tops == sorted(tops), tops
    # (1) the fit
    name = {"swe": "software engineering", "mle": "machine learning engineering"}[api["role"]]
    assert page.text_content("#verdict").startswith(f"Best fit: {name}")
    assert page.text_content("#p-mle") == f"{round(100 * api['probabilities']['mle'])}%"
    top = api["explanations"][0]
    block = REASON_BLOCKS[items[top["item"]].group]
    assert page.locator(f"#why-{block} li[data-item='{top['item']}']").is_visible()
    people = {"swe": "software engineers", "mle": "machine learning engineers"}[api["all_answers"]["role"]]
    assert people in page.text_content("#all-answers")  # a line of its own, never the headline
    assert "People" not in page.text_content("#verdict")
    # (2) where you stand today, per role
    steps = api["guidance"]["next_steps"]
    c1 = isinstance(steps, dict) and "roles" in steps  # contract C1 (helper "steps"); not on main yet
    first = steps["first"] if c1 else api["role"]
    other = "swe" if first == "mle" else "mle"
    assert page.locator(f"#standing-roles > #standing-{first}").is_visible()
    assert page.locator(f"#other-role #standing-{other}").count() == 1
    assert (
        page.get_attribute("#other-role", "open") is None and page.locator(f"#standing-{other}").is_hidden()
    )
    page.click("#other-role summary")
    for role in ("swe", "mle"):
        standing = api["readiness"]["roles"][role]
        shown = page.locator(f"#gaps-{role} li")
        assert shown.evaluate_all("ns => ns.map(n => n.dataset.item)") == [
            g["item"] for g in standing["gaps"]
        ]
        for position, gap in enumerate(standing["gaps"]):
            text = shown.nth(position).text_content()
            assert percents(text) == percents(gap["text"]) and gap["source_name"] in text, text
            assert f"{gap['n']:,} {people_of(role)}" in text or gap["n"] == 1
        if not standing["gaps"]:
            assert page.text_content(f"#standing-{role} .standing-summary") == standing["summary"]
        # C1: the steps in order, each with its share or guide; without C1 none are shown
        listed = page.locator(f"#steps-{role} li")
        if c1:
            wanted = steps["roles"][role]
            assert listed.count() == len(wanted)
            for position, step in enumerate(wanted):
                text = listed.nth(position).text_content()
                assert text.startswith(step["action"].rstrip(".")) and step["why"].rstrip(".") in text, text
        else:
            assert listed.count() == 0
    if c1 and steps.get("plan"):
        assert steps["plan"].rstrip(".") in page.text_content("#plan")  # C1's timing advice
    assert page.locator(f"#gaps-{first} li").count() > 0  # both personas lack years of experience
    # (3) the roles' facts, the fitting role's first
    assert page.locator(f"#facts > dl#facts-{api['role']}").is_visible()
    wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"the result is {wide} px wider than the screen"
    assert axe_serious(page) == []
    shot(page, f"result-{persona}", visit)
    # the folded role opens and closes from the keyboard too
    page.click("#other-role summary")
    page.focus("#other-role summary")
    page.keyboard.press("Enter")
    assert page.get_attribute("#other-role", "open") is not None


def people_of(role: str) -> str:
    return {"swe": "software engineers", "mle": "machine learning engineers"}[role]


#: What the page's result must never say (issue #25: words people use).
JARGON = [r"log-odds", r"\bbits\b", r"\bpriors?\b", r"synthetic", r"\u00d7\s*\d", r"--base-rate", r"odds"]


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_the_result_speaks_plain_words_for_the_personas(visit, items, persona):
    """The whole result (every reason, both roles, the facts, folded parts included) has no model words,
    no odds factors, no item or option ids, and counts agree with their nouns."""
    page = visit.page()
    page.goto(result_link(visit, PERSONAS[persona]))
    page.wait_for_selector("#result-view:not([hidden])")
    if page.locator("#all-reasons").is_visible():
        page.click("#all-reasons")
    page.click("#other-role summary")
    text = page.text_content("#result-view")
    found = [pattern for pattern in JARGON if re.search(pattern, text, flags=re.IGNORECASE)]
    assert not found, f"{found} in: {text}"
    ids = {i for i in items if "_" in i} | {
        c for item in items.values() if item.kind == "choice" for c in item.choice_ids if "_" in c
    }
    assert not [i for i in ids if re.search(rf"\b{i}\b", text)], [i for i in ids if i in text]
    assert not re.search(r"\b1 (answers|people|questions|frameworks)\b", text), text
    assert not re.search(r"\b([02-9]|\d\d+) (answer|question|framework)\b", text), text


def kept_answers(page) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(localStorage.getItem('rolefit.answers.v1')).answers")


def test_a_friends_result_link_shows_their_result_and_offers_yours_back(visit):
    """A tab holding the person's answers opens a friend's result link: the friend's result is shown (as
    a fresh browser shows it), the person's kept answers stay as they were, and "Back to my result"
    brings theirs back; in a new tab of the same browser too, where the friend's answers can also be
    made the person's own."""
    mine, friend = STUDENT, BOOTCAMP
    fresh = visit.page(fresh=True)
    fresh.goto(result_link(visit, friend))
    fresh.wait_for_selector("#result-view:not([hidden])")
    theirs = {key: fresh.text_content(key) for key in ("#p-mle", "#verdict", "#reasons", "#standing")}
    assert fresh.locator("#visiting").is_hidden()  # nothing kept in that browser: simply the result
    page = visit.page(fresh=True)
    page.goto(result_link(visit, mine))
    page.wait_for_selector("#result-view:not([hidden])")
    own = page.text_content("#p-mle")
    assert own != theirs["#p-mle"]
    # the friend's link, pasted into the same tab
    page.goto(result_link(visit, friend))
    page.wait_for_selector("#visiting:not([hidden])")
    page.wait_for_function("p => document.querySelector('#p-mle').textContent === p", arg=theirs["#p-mle"])
    assert {key: page.text_content(key) for key in theirs} == theirs
    assert kept_answers(page).keys() == mine.keys()
    assert page.locator("#again").is_hidden() and page.locator("#result-start-over").is_hidden()
    assert axe_serious(page) == []
    page.click("#visiting-back")
    page.wait_for_selector("#visiting", state="hidden")
    page.wait_for_function("p => document.querySelector('#p-mle').textContent === p", arg=own)
    assert answers_in(page.url) == {k: str(v) for k, v in mine.items()}
    assert page.locator("#again").is_visible() and kept_answers(page).keys() == mine.keys()
    # opened in a new tab of the same browser
    tab = visit.page()
    tab.goto(result_link(visit, friend))
    tab.wait_for_selector("#visiting:not([hidden])")
    assert tab.text_content("#p-mle") == theirs["#p-mle"]
    assert kept_answers(tab).keys() == mine.keys()
    tab.click("#visiting-keep")
    assert tab.locator("#visiting").is_hidden() and tab.locator("#again").is_visible()
    assert kept_answers(tab).keys() == friend.keys()
