"""The questionnaire page says whether the server collects contributions (issue #29), so the page asks
about contributions only on a server that takes them."""

from importlib import resources

from fastapi import FastAPI

from rolefit.apps.web import COLLECT_META, collecting, page_html


def page() -> str:
    return resources.files("rolefit.apps").joinpath("static", "index.html").read_text(encoding="utf-8")


def test_the_page_holds_the_off_switch_once():
    assert page().count(COLLECT_META) == 1


def test_the_page_says_on_only_for_a_collecting_server():
    on, off = page_html(page(), True), page_html(page(), False)
    assert '<meta name="rolefit-collect" content="on">' in on and COLLECT_META not in on
    assert off == page() and 'content="on"' not in off


def test_a_server_collects_when_it_has_the_get_contributions_route():
    plain, posting_only, collecting_app = FastAPI(), FastAPI(), FastAPI()
    posting_only.post("/api/contributions")(lambda: None)
    collecting_app.get("/api/contributions")(lambda: None)
    assert not collecting(plain) and not collecting(posting_only)
    assert collecting(collecting_app)
