"""The Streamlit entry script: a thin router over the pages in ``pages/``.

Run with ``python -m strategy_app serve`` (or ``streamlit run strategy_app/app.py`` from the
repository root). It lives outside ``pages/`` so Streamlit's legacy auto-discovery never mixes in.
A URL with ``?report=<token>`` shows that share link's snapshot and nothing else, without
sign-in; everything else waits for sign-in when it is configured.
"""

import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from strategy_app.shell.navigation import APP_ICON, PAGES, PAGES_BY_KEY  # noqa: E402
from strategy_app.shell.page import NAV_PAGES_KEY, get_store  # noqa: E402
from strategy_app.shell.share_view import share_token, show_shared_report  # noqa: E402
from strategy_app.shell.signin import require_sign_in  # noqa: E402

st.set_page_config(page_icon=str(APP_ICON))  # before st.navigation, whose page icons it replaces
token = share_token()
if token is not None:  # a share link shows its snapshot only: no navigation, no projects
    show_shared_report(get_store(), token)
    st.stop()
require_sign_in()  # with sign-in on, nothing below shows before it

LANDED_KEY = "_landed"  # the session's first page was chosen

pages = {
    info.key: st.Page(
        info.path, title=info.title, icon=info.icon, url_path=info.url_path, default=i == 0
    )
    for i, info in enumerate(PAGES)
}
st.session_state[NAV_PAGES_KEY] = pages
page = st.navigation(list(pages.values()))
# A session's first page at the root URL is the diagnosis once a project exists (the sample,
# already diagnosed); Home stays the root page (every page keeps its URL), one click away, and
# a typed /home stays Home.
if not st.session_state.get(LANDED_KEY):
    st.session_state[LANDED_KEY] = True
    typed = urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    at_root = typed != PAGES_BY_KEY["home"].url_path
    if page is pages["home"] and at_root and get_store().projects.list():
        st.switch_page(pages["diagnose"])
page.run()
