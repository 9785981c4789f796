"""The documentation site in a real headless Chromium that may reach nothing but the site's own server:
every page loads with its styles, scripts and images, nothing is requested from another host, and the
search (Material's own, run in the browser) finds a page."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import pytest

from ..docs_site import build_site
from .helpers import ROOT, Server, env, free_port

pytestmark = pytest.mark.slow
#: Schemes that never leave the browser.
LOCAL_SCHEMES = {"data", "blob", "about"}


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    """The built site, served by a plain static file server on a free loopback port."""
    folder = build_site(tmp_path_factory.mktemp("site"))
    port = free_port()
    server = Server([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                     str(folder)], url=f"http://127.0.0.1:{port}", cwd=ROOT, environ=env(),
                    log=tmp_path_factory.mktemp("log") / "http.log")  # fmt: skip
    try:
        server.wait_ready("/index.html")
        yield server.url, folder
    finally:
        server.stop()


@pytest.fixture
def offline(browser, docs):
    """A browser context whose requests to any other origin are aborted and recorded."""
    origin = docs[0]
    context = browser.new_context()
    aborted: list[str] = []

    def route(route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in LOCAL_SCHEMES or f"{parts.scheme}://{parts.netloc}" == origin:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    try:
        yield context, aborted
    finally:
        context.close()


def test_every_page_loads_whole_with_nothing_from_another_host(offline, docs):
    context, aborted = offline
    origin, folder = docs
    pages = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html") if p.name != "404.html")
    assert "reference/api.html" in pages and len(pages) >= 25
    failed, errors = [], []
    page = context.new_page()
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in pages:
        response = page.goto(f"{origin}/{path}")
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        # Material's stylesheet applied (its header is fixed at the top), every image decoded
        position = page.locator("header.md-header").evaluate("h => getComputedStyle(h).position")
        assert position in {"sticky", "fixed"}, f"{path}: Material's stylesheet is not applied"
        broken = page.locator("img").evaluate_all("imgs => imgs.filter(i => !i.naturalWidth).map(i => i.src)")
        assert broken == [], f"{path}: images that did not load: {broken}"
    assert aborted == [], f"requests to other hosts: {aborted}"
    assert failed == [] and errors == []


def test_the_search_finds_a_page_offline(offline, docs):
    context, aborted = offline
    page = context.new_page()
    page.goto(f"{docs[0]}/index.html")
    search = page.locator("input.md-search__input")
    search.click()
    page.keyboard.type("recalibrate")  # as a person types: the search runs on key presses
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(state="attached", timeout=30_000)
    links = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("how-to/recalibrate.html" in link for link in links), links
    assert aborted == []
