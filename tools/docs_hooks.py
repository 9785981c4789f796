"""MkDocs hooks (mkdocs.yml `hooks:`): the README is the site's front page, the command reference is
read from the command-line app.

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
    if COMMANDS_MARK in markdown:
        return markdown.replace(COMMANDS_MARK, command_reference())
    return markdown


#: Sphinx cross-reference roles in docstrings (``:func:`rolefit.predict```): mkdocstrings shows the
#: code, the role's name would be noise.
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|const):(<code>)")


def on_page_content(html: str, *, page, config, files) -> str:
    """Drop the Sphinx role names that docstrings put before their code."""
    return SPHINX_ROLE.sub(r"\1", html)


#: Where the command reference goes in docs/reference/cli.md.
COMMANDS_MARK = "<!-- commands: generated from rolefit's command-line app by tools/docs_hooks.py -->"


def command_reference() -> str:
    """Every `rolefit` command with its help and options, read from the command-line app itself."""
    import sys

    import typer.main

    src = str(README.parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    from rolefit.apps.cli import app

    return "\n".join(describe(typer.main.get_command(app), "rolefit"))


def describe(group, prefix: str) -> list[str]:
    """Markdown for every visible command of a command group, sub-groups' commands included (typer may
    carry its own copy of click, so the group's own classes are used, not click's)."""
    out = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = f"{prefix} {name}"
        ctx = command.context_class(command, info_name=path)
        usage = " ".join(command.collect_usage_pieces(ctx))
        out += [f"### `{path}`", "", "```text", f"{path} {usage}".rstrip(), "```", ""]
        out += [help_markdown(command.help or ""), ""]
        rows = [record for param in command.params if (record := param.get_help_record(ctx))]
        if rows:
            out += ["| option | what |", "|---|---|"]
            out += [f"| `{cell(opts)}` | {escape(cell(what))} |" for opts, what in rows]
            out.append("")
        if getattr(command, "commands", None):
            out += describe(command, path)
    return out


def help_markdown(text: str) -> str:
    """A command's help as Markdown: its paragraphs, words in angle brackets shown as text."""
    import inspect

    return escape(inspect.cleandoc(text).replace("\b\n", ""))


def escape(text: str) -> str:
    """``<word>`` shown as text, not taken for an HTML element."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
