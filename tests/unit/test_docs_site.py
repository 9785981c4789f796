"""The documentation site (issue #28, item 4): `mkdocs build --strict` passes with nothing fetched from
another host at build or view time, the README is its front page and stays short, every section of the
README it replaced has a page, and the API reference shows the public functions with their docstrings."""

from __future__ import annotations

import html
import inspect
import re
from urllib.parse import urlsplit

import pytest
import yaml

import rolefit

from ..conftest import ROOT
from ..docs_site import build_site

#: Building the site takes 10-30 s on the shared 2-core machine.
pytestmark = pytest.mark.slow

#: Every heading of the README at f2d8ee6, the last one before it became the site (`git show
#: f2d8ee6:README.md`, outside code blocks); docs/readme-map.yml says where each one's text is now.
OLD_README_HEADINGS = (
    "rolefit",
    "Use it",
    "Guidance: fewer questions, what the result means, what would move it",
    "The questionnaire page, the REST API and the terminal quiz",
    "How it works",
    "Real survey data",
    "Recalibrating for your population",
    "Retrain with new survey data",
    "My survey was refused",
    "Reproducible by construction",
    "How sure, how fair, how stable",
    "Adaptive questioning: how it works and how well",
    "Speed and scale",
    "Review runs",
    "Guarantees",
    "Layout",
    "Develop",
)
#: What the API reference must show (issue #28's acceptance): name -> the object documented.
PUBLIC = ("predict", "predict_many", "questionnaire", "Prediction", "InvalidAnswers", "next_questions",
          "settled", "guide", "next_steps", "what_if", "role_facts")  # fmt: skip
#: Elements and attributes through which a page makes the browser fetch something.
FETCHING = re.compile(
    r"<(script|link|img|iframe|source|audio|video|embed|object)\b[^>]*?\b(src|href|data)=\"([^\"]*)\"", re.I
)
#: Text in a page that loads something itself: CSS imports, Google's font hosts.
LOADING = re.compile(r"@import[^;]*|fonts\.(?:googleapis|gstatic)")


def remote(url: str) -> bool:
    """Whether the browser would fetch ``url`` from another host (http(s), or protocol-relative)."""
    return url.startswith("//") or urlsplit(url).scheme in {"http", "https", "ftp", "ws", "wss"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built as `make docs` builds it, with --strict, into a temporary folder."""
    return build_site(tmp_path_factory.mktemp("site"))


def headings(page_html: str) -> dict[str, str]:
    """id -> text of every heading of a built page."""
    found = re.findall(r"<h([1-6])[^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</h\1>", page_html, re.S)
    text_of = {anchor: html.unescape(re.sub(r"<[^>]+>", "", text)) for _, anchor, text in found}
    return {anchor: text.replace("¶", "").strip() for anchor, text in text_of.items()}


def words(text: str) -> str:
    """The words of a text, without markup or Sphinx roles: a docstring and its rendering compare equal."""
    return " ".join(re.findall(r"[A-Za-z0-9]+", re.sub(r":\w+:`", "`", text)))


def built(site, page: str) -> str:
    path = site / page.replace(".md", ".html")
    assert path.is_file(), f"{page} is not in the built site"
    return path.read_text(encoding="utf-8")


def test_the_readme_is_the_front_page_and_under_200_lines(site):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    front = built(site, "index.md")
    # the README's own words, as the site shows them (its first paragraph)
    first = re.sub(r"\s+", " ", readme.split("\n\n")[1]).split("**")[0].strip()
    assert first and first in re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", front)))
    # its links into docs/ lead to built pages
    for link in re.findall(r"\]\(docs/([^)#]+\.md)", readme):
        built(site, link)


def test_every_section_of_the_old_readme_has_a_page_in_the_site(site):
    mapping = yaml.safe_load((ROOT / "docs" / "readme-map.yml").read_text(encoding="utf-8"))
    assert tuple(mapping["sections"]) == OLD_README_HEADINGS, "docs/readme-map.yml must map every old heading"
    for heading, target in mapping["sections"].items():
        page, _, anchor = target.partition("#")
        assert headings(built(site, page)).get(anchor) == heading, f"{heading!r}: no such heading at {target}"
    for part, target in {**(mapping.get("later") or {}), **mapping["parts"]}.items():
        page, _, anchor = target.partition("#")
        assert anchor in headings(built(site, page)), f"{part!r}: {target} is not in the site"


def test_the_built_site_fetches_nothing_from_another_host(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 25
    offending = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        fetched = [f"<{tag} {attr}={url}>" for tag, attr, url in FETCHING.findall(text) if remote(url)]
        offending += [f"{path.name}: {what}" for what in fetched + LOADING.findall(text)]
    for path in sorted(site.rglob("*.css")):
        text = path.read_text(encoding="utf-8")
        urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(r"@import\s+['\"]([^'\"]+)", text)
        offending += [f"{path.name}: {url}" for url in urls if remote(url)]
    assert offending == []


def test_the_api_reference_shows_every_public_function_with_its_docstring(site):
    page = built(site, "reference/api.md")
    assert ":func:" not in page and ":class:" not in page, "Sphinx roles are shown as text"
    text = words(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    for name in PUBLIC:
        obj = getattr(rolefit, name)
        assert f'id="{obj.__module__}.{name}"' in page, f"{name} is not in the API reference"
        summary = words(inspect.getdoc(obj).split("\n\n")[0])
        assert len(summary) > 20 and summary in text, f"{name}'s docstring is not on the page: {summary!r}"
    assert set(PUBLIC) == set(rolefit.__all__)


def prose(markdown: str) -> str:
    """A Markdown text without its code blocks, code spans (also across lines) and HTML comments."""
    text = re.sub(r"^\s*```.*?^\s*```", "", markdown, flags=re.S | re.M)
    return re.sub(r"<!--.*?-->", "", re.sub(r"`[^`]*`", "", text, flags=re.S), flags=re.S)


def test_no_words_in_angle_brackets_are_taken_for_html(site):
    """`<title>` in a sentence is an HTML element to Python-Markdown (GitHub shows it as text): it would
    swallow the rest of the page. Pages write such words in code or as &lt;...&gt;."""
    sources = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    raw = [
        f"{path.name}: {tag}"
        for path in sources
        for tag in re.findall(r"<[A-Za-z/][^>]*>", prose(path.read_text()))
    ]
    assert raw == []


def test_the_command_reference_shows_every_command_with_its_help(site):
    import typer.main

    from rolefit.apps.cli import app

    page = built(site, "reference/cli.md")
    anchors, text = headings(page), words(html.unescape(re.sub(r"<[^>]+>", " ", page)))

    def check(group, prefix: str) -> int:
        count = 0
        for name, command in group.commands.items():
            if command.hidden:
                continue
            path = f"{prefix} {name}"
            assert anchors.get(path.replace(" ", "-")) == path, f"{path} is not in the command reference"
            assert words((command.help or "").split("\n\n")[0]) in text, f"{path}'s help is not shown"
            count += 1 + check(command, path) if getattr(command, "commands", None) else 1
        return count

    assert check(typer.main.get_command(app), "rolefit") >= 15
