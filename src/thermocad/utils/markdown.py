"""Text from data or a model file put into Markdown (tables, the web app's header) as text:
a name must never become a table's column, a link, an image or HTML."""

from __future__ import annotations

import re

# Characters with a meaning in Markdown (and < for HTML), each escaped with a backslash.
_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#!|~])")


def md_text(text: object) -> str:
    """`text` as Markdown that shows it as it is, on one line."""
    return _ACTIVE.sub(r"\\\1", " ".join(str(text).split()))


def md_cell(text: object) -> str:
    """`text` for a Markdown table cell: its | escaped and its lines joined, nothing else
    changed (a number or a name reads the same in the source)."""
    return " ".join(str(text).split()).replace("|", "\\|")
