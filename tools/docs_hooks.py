"""MkDocs hooks (mkdocs.yml `hooks:`): the README is the site's front page.

``docs/index.md`` is a placeholder; its page is the README itself, with the README's links into
``docs/`` made relative to the site (``docs/tutorials/app.md`` -> ``tutorials/app.md``), so one text
serves GitHub and the site and the two cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def front_page(readme: str) -> str:
    """The README's text with its links into docs/ made relative to the site's root."""
    return re.sub(r"\]\(docs/", "](", readme)


def on_page_markdown(markdown: str, *, page, config, files) -> str:
    """Replace the front page's placeholder with the README."""
    if page.file.src_uri == "index.md":
        return front_page(README.read_text(encoding="utf-8"))
    return markdown


#: Sphinx cross-reference roles in docstrings (``:func:`rolefit.predict```): mkdocstrings shows the
#: code, the role's name would be noise.
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|const):(<code>)")


def on_page_content(html: str, *, page, config, files) -> str:
    """Drop the Sphinx role names that docstrings put before their code."""
    return SPHINX_ROLE.sub(r"\1", html)
