"""Handling a file uploader's file once per session (a Streamlit widget helper).

``st.file_uploader`` hands the same file to every rerun until the user removes it; the file is
checked and saved on the first run that sees it, and later runs only repeat the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from diagnostics.validation import InputError
from strategy_app.shell.markdown import escape_markdown

HANDLED_KEY = "_handled_uploads_{}"


def handle_once(
    uploaded: Any, kind: str, accept: Callable[[str, bytes], str], *, rerun: bool = False
) -> str | None:
    """Call ``accept(name, data)`` once for this uploaded file (per ``kind`` of upload in this
    session) and toast the success line it returns; returns the refusal, escaped for markdown,
    or None when the file was accepted. A refused file changes nothing saved.

    ``rerun``: after a success is recorded, rerun the script once, so that what the page drew
    before the upload in this run shows the accepted file (the next run finds it handled and
    does not accept it again; ``accept`` itself must never rerun)."""
    handled = st.session_state.setdefault(HANDLED_KEY.format(kind), {})
    if uploaded.file_id not in handled:
        try:
            done = accept(uploaded.name, uploaded.getvalue())
        except InputError as exc:
            handled[uploaded.file_id] = escape_markdown(exc)
        else:
            handled[uploaded.file_id] = None
            st.toast(escape_markdown(done), icon=":material/check:")
            if rerun:
                st.rerun()
    refusal: str | None = handled[uploaded.file_id]
    return refusal
