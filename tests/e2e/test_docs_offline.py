"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), in a real headless Chromium
that may reach nothing but the server: every request to another origin is aborted and recorded."""

import json
import re
import urllib.request
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow
#: Schemes that never leave the browser (inline images, generated files, empty frames).
LOCAL_SCHEMES = {"data", "blob", "about"}
#: ReDoc 2.5's side menu asks for its maker's logo from a CDN; the pages' Content-Security-Policy makes
#: the browser refuse it before it is requested (and ReDoc then hides the image).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def operations(site):
    """(path, summary) of every operation in the server's OpenAPI document."""
    with urllib.request.urlopen(site.url + "/openapi.json", timeout=30) as response:
        spec = json.load(response)
    found = [(path, op["summary"]) for path, methods in spec["paths"].items() for op in methods.values()]
    assert {"/api/predict", "/api/guide", "/healthz"} <= {path for path, _ in found}
    return found


class Offline:
    """A browser context that lets requests reach the server's origin only: any other that reaches the
    network is aborted and recorded (so is any WebSocket). Requests the page's Content-Security-Policy
    refuses inside the browser, and the pages' uncaught script errors, are recorded apart."""

    def __init__(self, browser, origin: str):
        self.origin = origin
        self.context = browser.new_context()
        self.aborted: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self.route)

    def route(self, route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.aborted.append(url)
            route.abort()

    def failed(self, request) -> None:
        if request.failure == "csp":
            self.refused.append(request.url)

    def open(self, path: str):
        page = self.context.new_page()
        page.on("websocket", lambda socket: self.aborted.append(socket.url))
        page.on("requestfailed", self.failed)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(self.origin + path)
        return page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser, site):
    context = Offline(browser, site.url)
    try:
        yield context
    finally:
        context.close()


def test_swagger_ui_shows_every_operation_offline(offline, operations):
    page = offline.open("/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    shown = page.locator(".opblock-summary-path").evaluate_all("spans => spans.map(s => s.textContent)")
    assert sorted(shown) == sorted(path for path, _ in operations)
    for path in ("/api/predict", "/api/guide"):
        assert page.locator(f'.opblock-summary-path[data-path="{path}"]').is_visible(), path
    title = page.locator(".swagger-ui .info .title")
    assert title.is_visible() and "rolefit" in title.text_content()
    page.wait_for_load_state("networkidle")
    assert not offline.aborted, f"requests to other hosts: {offline.aborted}"
    assert not offline.refused, f"refused by the Content-Security-Policy: {offline.refused}"
    assert not offline.errors, offline.errors


def test_redoc_shows_every_operation_offline(offline, operations):
    page = offline.open("/redoc")
    page.locator("h2").first.wait_for(timeout=30_000)
    for path, summary in operations:
        # an operation's heading is its summary (after an empty anchor link)
        heading = page.locator("h2").filter(has_text=re.compile(rf"^\s*{re.escape(summary)}\s*$"))
        assert heading.first.is_visible(), summary
        assert page.get_by_text(path, exact=True).first.is_visible(), path
    assert page.get_by_role("heading", name="rolefit").first.is_visible()
    page.wait_for_load_state("networkidle")
    assert not offline.aborted, f"requests to other hosts: {offline.aborted}"
    assert set(offline.refused) <= {REDOC_LOGO}, f"refused by the Content-Security-Policy: {offline.refused}"
    assert not offline.errors, offline.errors
