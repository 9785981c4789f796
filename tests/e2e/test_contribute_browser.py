"""Contributed answers (issue #29) on the page, in a real headless Chromium driven by Playwright.

A real `rolefit serve --collect` writes to a SQLite file of the test's own; the test reads that file
itself to see that a contribution is there and that deleting it by code removes it. Without
``--collect`` the page shows no contribution step and asks nothing about contributions. As in
tests/e2e/test_browser.py, every visit fails on a request leaving the server's origin, a JavaScript error
or anything the Content-Security-Policy refuses, and axe-core must find nothing serious.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .helpers import rolefit_serve
from .test_browser import WIDTHS, Visit, active, axe_serious, choose, finish, shot, start_steps

pytestmark = pytest.mark.slow
#: four groups of four letters or digits (the contract's "XXXX-XXXX-XXXX-XXXX")
CODE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$")
RESULT = "#result?interest_math=5&interest_research=4&skill_python=4&years_coding=3"


@pytest.fixture(scope="module")
def collect_site(champion, tmp_path_factory):
    """`rolefit serve --collect` of the session champion, its contributions in a SQLite file."""
    folder = tmp_path_factory.mktemp("collect")
    database = folder / "contributions.sqlite"
    # the module sends about 12 contribution and deletion requests from one address within a minute or
    # two: above the default rate limit (10 a minute), which is not what these tests are about
    options = ("--collect", "--collect-db", f"sqlite:///{database}", "--collect-rate", "100")
    with rolefit_serve(champion[1], folder, *options) as server:
        server.database = database
        yield server


@pytest.fixture(params=list(WIDTHS))
def collect_visit(request, collect_site, browser):
    """A visit of the collecting server at each width, checked afterwards as test_browser's visits are."""
    seen = Visit(collect_site, browser, request.param)
    yield seen
    seen.close()
    outside = [url for url in seen.requests if not url.startswith(collect_site.url + "/")]
    assert not outside, f"the page called other hosts: {outside}"
    assert not seen.errors, f"JavaScript errors: {seen.errors}"
    assert not seen.refused, f"refused by the Content-Security-Policy: {seen.refused}"


def stored(database: Path, table: str = "contributions") -> list[dict]:
    """Every row of ``table`` in the server's database, read with sqlite3 itself."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def contribution_posts(page) -> list:
    """The page's POST /api/contributions requests, from now on."""
    posts: list = []
    page.on(
        "request",
        lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/api/contributions") else None,
    )
    return posts


def wait_text(page, selector: str, start: str = "") -> str:
    """The text of ``selector`` once it is not empty (and starts with ``start``)."""
    page.wait_for_function(
        "([s, start]) => { const t = document.querySelector(s).textContent; "
        "return t && t.startsWith(start); }",
        arg=[selector, start],
    )
    return page.text_content(selector)


def test_an_ml_engineer_contributes_sees_the_deletion_code_and_deletes_with_it(collect_visit, collect_site):
    """Answer, get a result, read what is kept and what is not (the server's own words), add the answers as
    an ML engineer only after confirming, see and copy the deletion code, then delete: a wrong code is
    refused and the row stays, the right one removes the row from the database."""
    database = collect_site.database
    page = collect_visit.page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    before = stored(database)
    start_steps(page, collect_visit)
    choose(page, "interest_math", 5)
    choose(page, "interest_research", 4)
    page.click("#step-next")
    page.wait_for_selector("#section-skills:not([hidden])")
    choose(page, "skill_python", 5)
    finish(page, collect_visit)
    page.wait_for_selector("#contribute:not([hidden])")
    assert page.locator("#collect-notice").is_visible()
    question = "Do you work as a software engineer or an ML engineer today?"
    assert question in page.text_content("#contribute-title")
    status, info = get_json(collect_site.url + "/api/contributions")
    assert status == 200 and info["enabled"] is True
    assert page.locator("#contribute-kept li").all_text_contents() == info["kept"]
    assert page.locator("#contribute-not-kept li").all_text_contents() == info["not_kept"]
    assert page.text_content("#contribute-statement") == info["statement"]
    assert axe_serious(page) == []

    # a role chosen but not confirmed: nothing is sent, and the page says what is missing
    posts = contribution_posts(page)
    page.click("label[for='contribute-role-mle']")
    page.click("#contribute-send")
    assert "tick the box to confirm" in page.text_content("#contribute-error")
    assert active(page)["id"] == "contribute-consent"
    assert posts == [] and stored(database) == before
    assert not [url for url in collect_visit.requests if url.endswith("/api/predict")], "asked for a token"

    page.check("#contribute-consent")
    page.click("#contribute-send")
    page.wait_for_selector("#contribute-done:not([hidden])")
    code = page.text_content("#deletion-code").strip()
    assert CODE.match(code), code
    assert active(page)["id"] == "contribute-done-title"
    assert page.locator("#contribute-form").is_hidden()
    sent = json.loads(posts[0].post_data)
    assert sent["role"] == "mle" and sent["consent"] is True and sent["token"]
    assert sent["answers"] == {"interest_math": 5, "interest_research": 4, "skill_python": 5}
    after = stored(database)
    added = [row for row in after if row not in before]
    assert len(after) == len(before) + 1 and len(added) == 1
    assert "mle" in added[0].values()
    assert not any(code in str(value) for value in added[0].values()), "the deletion code is kept in clear"
    held = [str(value) for row in [*after, *stored(database, "tokens")] for value in row.values()]
    assert not any(sent["token"] in value for value in held), "the token is kept in clear"

    page.click("#copy-code")
    assert "copied" in wait_text(page, "#copy-status")
    assert page.evaluate("() => navigator.clipboard.readText()") == code
    assert axe_serious(page) == []
    shot(page, "contributed", collect_visit)

    # later, in another browser, the address given with the code opens "Delete a contribution": a wrong
    # code is refused, and nothing is deleted
    later = collect_visit.page(fresh=True)
    later.goto(page.text_content("#delete-address"))
    later.wait_for_selector("#delete-section:not([hidden])")
    later.wait_for_function("() => document.activeElement.id === 'delete-code'")
    wrong = ("B" if code[0] != "B" else "C") + code[1:]
    later.fill("#delete-code", wrong)
    later.click("#delete-send")
    assert wait_text(later, "#delete-status").startswith("No contribution matches this code")
    assert later.get_attribute("#delete-code", "aria-invalid") == "true"
    assert stored(database) == after
    assert axe_serious(later) == []
    # "Delete a contribution" at the foot of the result's page, with the right code
    page.click("#to-delete")
    assert active(page)["id"] == "delete-code"
    page.fill("#delete-code", code)
    page.click("#delete-send")
    wait_text(page, "#delete-status", "Deleted")
    assert stored(database) == before
    assert axe_serious(page) == []


def test_the_same_result_cannot_be_contributed_twice(collect_visit, collect_site):
    """A double click sends one contribution; the result's token, once used, is refused (409) whether a
    request is replayed or a page sends it again, and the page says so instead of adding it twice."""
    database = collect_site.database
    page = collect_visit.page()
    page.goto(collect_visit.url(RESULT))
    page.wait_for_selector("#contribute:not([hidden])")
    before = len(stored(database))
    posts = contribution_posts(page)
    page.click("label[for='contribute-role-swe']")
    page.check("#contribute-consent")
    page.dblclick("#contribute-send")
    page.wait_for_selector("#contribute-done:not([hidden])")
    page.wait_for_timeout(300)
    assert len(posts) == 1 and len(stored(database)) == before + 1
    token = json.loads(posts[0].post_data)["token"]
    assert page.locator("#contribute-form").is_hidden()

    replay = {**json.loads(posts[0].post_data)}
    status, body = post_json(collect_site.url + "/api/contributions", replay)
    assert status == 409 and body["detail"], body

    # another page of the same result, whose contribution carries the used token: refused, and said so
    other = collect_visit.page(fresh=True)
    other.goto(collect_visit.url(RESULT))
    other.wait_for_selector("#contribute:not([hidden])")

    def used_token(route) -> None:
        if route.request.method != "POST":
            return route.continue_()
        return route.continue_(post_data=json.dumps({**json.loads(route.request.post_data), "token": token}))

    other.route("**/api/contributions", used_token)
    other.click("label[for='contribute-role-swe']")
    other.check("#contribute-consent")
    other.click("#contribute-send")
    other.wait_for_selector("#contribute-closed:not([hidden])")
    assert "already added" in other.text_content("#contribute-closed")
    assert other.locator("#contribute-done").is_hidden() and other.locator("#contribute-form").is_hidden()
    assert len(stored(database)) == before + 1


def test_a_contribution_kept_apart_says_why_and_keeps_the_row(collect_visit, collect_site):
    """More years of ML than of coding, added by keyboard alone: the contribution is stored, kept apart
    with the server's reason, and the page says so and why, with the deletion code as for any other."""
    database = collect_site.database
    page = collect_visit.page()
    page.goto(collect_visit.url("#result?interest_math=5&years_coding=1&years_ml=4"))
    page.wait_for_selector("#contribute:not([hidden])")
    before = stored(database)
    # by keyboard alone: the role by arrow key, the box by Space, Enter sends
    page.focus("#contribute-role-swe")
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#contribute-role-mle") and active(page)["id"] == "contribute-role-mle"
    page.keyboard.press("Tab")
    assert active(page)["id"] == "contribute-consent"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert active(page)["id"] == "contribute-send"
    page.keyboard.press("Enter")
    page.wait_for_selector("#contribute-done:not([hidden])")
    assert active(page)["id"] == "contribute-done-title"
    page.keyboard.press("Tab")
    assert active(page)["id"] == "copy-code"
    added = [row for row in stored(database) if row not in before]
    assert len(added) == 1 and added[0]["status"] == "kept_apart" and added[0]["reason"]
    assert "for a check" in page.text_content("#contribute-done-title")
    assert added[0]["reason"].rstrip(".") in page.text_content("#contribute-thanks")
    assert CODE.match(page.text_content("#deletion-code").strip())
    assert axe_serious(page) == []


def test_a_friends_result_link_is_not_offered_for_adding(collect_visit):
    """Someone else's result link (answers other than the ones this browser keeps) shows their result
    without the contribution step: only a person's own answers can be added, and "Make these answers
    mine" offers it."""
    own = collect_visit.page()
    own.goto(collect_visit.url(RESULT))
    own.wait_for_selector("#contribute:not([hidden])")
    friend = collect_visit.page()  # the same browser: it keeps the first person's answers
    friend.goto(collect_visit.url("#result?interest_building_products=5&skill_web_development=5"))
    friend.wait_for_selector("#visiting:not([hidden])")
    friend.wait_for_load_state("networkidle")
    assert friend.locator("#contribute").is_hidden()
    friend.click("#visiting-keep")
    friend.wait_for_selector("#contribute:not([hidden])")
    assert friend.locator("#contribute-form").is_visible()


def contribute_as(page, url: str, role: str) -> None:
    """Open the result at ``url``, choose ``role``, confirm and send."""
    page.goto(url)
    page.wait_for_selector("#contribute:not([hidden])")
    page.click(f"label[for='contribute-role-{role}']")
    page.check("#contribute-consent")
    page.click("#contribute-send")


def test_a_full_table_and_the_rate_limit_are_said_in_words(champion, browser, tmp_path):
    """A server that keeps one contribution and takes two contribution requests a minute: the first is
    added, the second is refused as the store being full, the third as too many from this network with
    the wait the server gives; nothing more is stored."""
    database = tmp_path / "full.sqlite"
    options = ("--collect", "--collect-db", f"sqlite:///{database}", "--collect-max-rows", "1")
    with rolefit_serve(champion[1], tmp_path, *options, "--collect-rate", "2") as server:
        seen = Visit(server, browser, "desktop")
        try:
            contribute_as(seen.page(), seen.url(RESULT), "mle")
            seen.contexts[-1].pages[-1].wait_for_selector("#contribute-done:not([hidden])")
            full = seen.page(fresh=True)
            contribute_as(full, seen.url(RESULT), "swe")
            full.wait_for_selector("#contribute-closed:not([hidden])")
            assert "store is full" in full.text_content("#contribute-closed")
            limited = seen.page(fresh=True)
            contribute_as(limited, seen.url(RESULT), "swe")
            text = wait_text(limited, "#contribute-error")
            assert re.search(r"Try again in \d+ seconds?\.", text), text
            assert limited.locator("#contribute-form").is_visible()  # the person may try again later
            assert seen.errors == [] and seen.refused == []
        finally:
            seen.close()
        assert len(stored(database)) == 1


def test_without_collect_the_page_shows_no_contribution_step_and_asks_nothing(site, browser):
    """A server started without --collect: no contribution step, no deletion form, no request about
    contributions from the page; the routes answer 404 and a result carries no token."""
    seen = Visit(site, browser, "desktop")
    try:
        page = seen.page()
        page.goto(seen.url(RESULT))
        page.wait_for_selector("#result-view:not([hidden])")
        page.wait_for_load_state("networkidle")
        assert page.get_attribute("meta[name='rolefit-collect']", "content") == "off"
        assert page.locator("#contribute").is_hidden() and page.locator("#delete-section").is_hidden()
        assert page.locator("#collect-notice").is_hidden()
        assert not [url for url in seen.requests if "/api/contributions" in url]
        assert not [url for url in seen.requests if url.endswith("/api/predict")]
        assert seen.errors == [] and seen.refused == []
    finally:
        seen.close()
    assert get_json(site.url + "/api/contributions")[0] == 404
    wrong = {"deletion_code": "AAAA-AAAA-AAAA-AAAA"}
    assert post_json(site.url + "/api/contributions/delete", wrong)[0] == 404
    status, result = post_json(site.url + "/api/predict", {"interest_math": 5})
    assert status == 200 and "contribution_token" not in result
