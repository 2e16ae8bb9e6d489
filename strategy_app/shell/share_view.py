"""The read-only view behind a share link (``?report=<token>``): the snapshot and nothing else.

No sidebar, no navigation, no project selector: a viewer sees the stored report only. An
unknown or revoked token shows one plain sentence.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from strategy_app.shell.navigation import PAGES
from strategy_app.store import Store

QUERY_KEY = "report"
NOT_VALID = "This link is not valid."
VIEWER_HEIGHT = "calc(100vh - 7rem)"
FALLBACK_HEIGHT = 900
PAGE_PATHS = {page.url_path for page in PAGES}


def share_token() -> str | None:
    """The share token in the page's URL, or None when the URL has none."""
    return st.query_params.get(QUERY_KEY)


def share_url(token: str, page_url: str | None = None) -> str:
    """The link that opens a share: the app's root address with ``?report=<token>``.

    ``page_url`` (default: the current page's address) loses its query and any page path.
    """
    parts = urlsplit(page_url if page_url is not None else st.context.url or "")
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last in PAGE_PATHS:
        path = head
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/", f"{QUERY_KEY}={token}", ""))


def show_shared_report(store: Store, token: str) -> None:
    """Render the snapshot stored under ``token`` read-only, or say the link is not valid."""
    share = store.shares.get(token)
    st.set_page_config(
        page_title=share.title if share else "Report",
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    if share is None:
        st.markdown(NOT_VALID)
        return
    # The snapshot is our own rendered report: escaped text and a CSP that forbids scripts and
    # network loads. It is shown in an iframe (its styles stay out of the app) as tall as the
    # window, scrolling inside like a document viewer.
    st.html(f"<style>iframe {{ height: {VIEWER_HEIGHT} !important; }}</style>")
    st.iframe(share.html, height=FALLBACK_HEIGHT)
