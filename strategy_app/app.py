"""The Streamlit entry script: a thin router over the pages in ``pages/``.

Run with ``python -m strategy_app serve`` (or ``streamlit run strategy_app/app.py`` from the
repository root). It lives outside ``pages/`` so Streamlit's legacy auto-discovery never mixes in.
A URL with ``?report=<token>`` shows that share link's snapshot and nothing else, without
sign-in; everything else waits for sign-in when it is configured.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from strategy_app.shell.navigation import APP_ICON, PAGES  # noqa: E402
from strategy_app.shell.page import NAV_PAGES_KEY, get_store  # noqa: E402
from strategy_app.shell.share_view import share_token, show_shared_report  # noqa: E402
from strategy_app.shell.signin import require_sign_in  # noqa: E402

st.set_page_config(page_icon=str(APP_ICON))  # before st.navigation, whose page icons it replaces
token = share_token()
if token is not None:  # a share link shows its snapshot only: no navigation, no projects
    show_shared_report(get_store(), token)
    st.stop()
require_sign_in()  # with sign-in on, nothing below shows before it

# the app opens on the diagnosis (the sample project's, already diagnosed) once a project
# exists; on an empty database it opens on Home, where projects are made
landing = "diagnose" if get_store().projects.list() else "home"
pages = {
    info.key: st.Page(
        info.path,
        title=info.title,
        icon=info.icon,
        url_path=info.url_path,
        default=info.key == landing,
    )
    for info in PAGES
}
st.session_state[NAV_PAGES_KEY] = pages
st.navigation(list(pages.values())).run()
