"""User text inside Streamlit markdown: shown as typed, never as markup.

Streamlit renders markdown in ``st.markdown``, ``st.caption``, the alerts (``st.error``…),
toasts, tab and widget labels. A project, file, category, annotator or run name, a note, a
refusal quoting a file's cells, goes through :func:`escape_markdown` first, so
``![t](http://…)`` is text (no image the browser would fetch), ``**x**`` is not bold, ``:red[x]``
directives, ``$…$`` formulas and HTML entities do not apply, and a leading ``-`` or ``#`` is no
list or heading. Plain words, file names and ``snake_case`` columns read as they are.
"""

from __future__ import annotations

import re

# Characters that open markup anywhere in a line; an underscore only at a word's edge.
INLINE_SPECIAL = re.compile(r"[\\`*\[\]<>$~|&{}]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# What makes a line a list item, a heading, a quote or a setext underline.
LINE_START = re.compile(r"^(\s*)([-+#>=]|[0-9]+[.)])")


def escape_markdown(text: object) -> str:
    """``text`` on one line (line breaks become spaces) with its markup backslash-escaped."""
    flat = " ".join(str(text).splitlines())
    escaped = INLINE_SPECIAL.sub(lambda match: "\\" + match.group(0), flat)
    return LINE_START.sub(lambda match: f"{match.group(1)}{_escaped_mark(match.group(2))}", escaped)


def _escaped_mark(mark: str) -> str:
    return f"{mark[:-1]}\\{mark[-1]}" if mark[0].isdigit() else f"\\{mark}"
