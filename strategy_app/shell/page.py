"""The app shell shared by every page: store, project selection, sidebar, next-step hint.

Navigation, page set-up and shared widgets only: each feature keeps its own readers and
caches, and the version a session shows is :mod:`strategy_app.versions`'.

Each page starts with :func:`page_setup`, so it also runs on its own
(``AppTest.from_file("pages/x.py")``) with the same sidebar and project.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from diagnostics.validation import InputError
from diagnostics.waterfall import GAP_LABELS
from strategy_app.auth import User
from strategy_app.diagnose.service import compute
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.navigation import APP_ICON, NEXT_PAGE_FOR_GAP, PAGES_BY_KEY
from strategy_app.shell.sample import ensure_sample_project
from strategy_app.shell.signin import account_box, require_sign_in
from strategy_app.store import ModelVersion, Project, Store, database_url, open_store
from strategy_app.store.diagnose_state import DiagnoseState
from strategy_app.store.engine import read
from strategy_app.store.projects import list_projects
from strategy_app.store.versions import project_versions
from strategy_app.versions.selector import session_version, version_selector

PROJECT_KEY = "project_id"
NAV_PAGES_KEY = "_nav_pages"


@st.cache_resource(show_spinner=False)
def _store_for(url: str) -> Store:
    store = open_store(url)
    ensure_sample_project(store)
    return store


def get_store() -> Store:
    """The app's store (opened, upgraded and seeded with the sample project once per URL).

    A database that cannot be opened (a damaged SQLite file, an unreachable server) stops the
    page with ``st.error`` saying which and what to do.
    """
    try:
        return _store_for(database_url())
    except InputError as refusal:
        st.error(escape_markdown(refusal))
        st.stop()


def current_project(projects: list[Project]) -> Project | None:
    """The project selected in this session among ``projects``, else the most recently opened."""
    chosen = st.session_state.get(PROJECT_KEY)
    by_id = {p.id: p for p in projects}
    if chosen in by_id:
        return by_id[chosen]
    if projects:
        st.session_state[PROJECT_KEY] = projects[0].id
        return projects[0]
    return None


def switch_project(store: Store, project_id: int) -> None:
    """Make ``project_id`` the current project (and the one opened first next time)."""
    st.session_state[PROJECT_KEY] = project_id
    store.projects.mark_opened(project_id)


def page_link(key: str, label: str | None = None, icon: str | None = None) -> None:
    """A link to a page, working both under the router and when a page runs on its own."""
    info = PAGES_BY_KEY[key]
    pages = st.session_state.get(NAV_PAGES_KEY)
    if pages and key in pages:
        st.page_link(pages[key], label=label or info.title, icon=icon or info.icon)
    else:
        st.markdown(f"→ **{label or info.title}**")


def next_step(
    store: Store, project: Project | None, state: DiagnoseState
) -> tuple[str, str | None]:
    """The sidebar's hint: (text, page key to open) derived from the inputs of the version
    the session shows (``state``)."""
    if project is None:
        return "Create a project on Home to start.", "home"
    result = compute(store, state)
    if result.error:
        return "The saved predictions cannot be read: open Diagnose to fix them.", "diagnose"
    if result.diagnosis is None:
        return "Upload predictions or type your split errors.", "diagnose"
    gap = result.diagnosis.largest_gap()
    if gap is None:
        return "No gap stands out above the noise: share the result as a report.", "report"
    page, knob = NEXT_PAGE_FOR_GAP[gap.name]
    size = result.diagnosis.fmt(gap.value)
    return f"Largest gap is **{GAP_LABELS[gap.name]}** ({size}): work on {knob}.", page


def sidebar(
    store: Store,
    project: Project | None,
    projects: list[Project],
    versions: list[ModelVersion],
    version: ModelVersion | None,
    user: User | None = None,
) -> None:
    """Project selector, the version selector and the next-step hint, the same on every page
    (``versions``: the project's, newest first; ``version``: the one this session shows;
    ``user``: who is signed in)."""
    with st.sidebar:
        if user is not None:
            account_box(user)
        if projects and project is not None:
            names = {p.id: p.name for p in projects}
            st.session_state["sidebar_project"] = project.id
            st.selectbox(
                "Project",
                options=list(names),
                format_func=lambda project_id: names[project_id],
                key="sidebar_project",
                on_change=lambda: switch_project(store, st.session_state["sidebar_project"]),
            )
        if project is not None:
            version_selector(store, project, versions, version, user)
        hint, page = next_step(store, project, version.state if version else DiagnoseState())
        with st.container(border=True):
            st.markdown(":material/lightbulb: **What to do next**")
            st.markdown(hint)
            if page:
                page_link(page, label=f"Open {PAGES_BY_KEY[page].title}")


@dataclass(frozen=True)
class PageContext:
    """What :func:`open_page` read for this run, for the page to reuse: the store, the current
    project (None if none exist), the model version this session shows (None before the
    first), its inputs (an empty state without one) and the acting user."""

    store: Store
    project: Project | None
    version: ModelVersion | None
    state: DiagnoseState
    user: User


def open_page(key: str) -> PageContext:
    """Set up a page (title, icon, sidebar) and hand over what the sidebar read."""
    info = PAGES_BY_KEY[key]
    st.set_page_config(
        page_title=f"{info.title} · ML-strategy desk", page_icon=str(APP_ICON), layout="wide"
    )
    user = require_sign_in()
    store = get_store()

    def load(session) -> tuple[list[Project], Project | None, list[ModelVersion]]:
        projects = list_projects(session)
        project = current_project(projects)
        versions = [] if project is None else project_versions(session, project.id)
        return projects, project, versions

    projects, project, versions = read(store.engine, load)  # one session on every page
    version = None if project is None else session_version(project, versions)
    sidebar(store, project, projects, versions, version, user)
    st.title(info.title, anchor=False)
    if info.versioned and version is not None:
        st.caption(f":material/layers: Model version **{escape_markdown(version.name)}**")
    state = version.state if version is not None else DiagnoseState()
    return PageContext(store, project, version, state, user)


def page_setup(key: str) -> Project | None:
    """Set up a page: title, icon, sidebar; returns the current project (None if none exist)."""
    return open_page(key).project


def require_project(project: Project | None) -> Project:
    """Stop the page with a pointer to Home when no project exists."""
    if project is None:
        st.info("There is no project yet. Create one on Home first.", icon=":material/info:")
        page_link("home")
        st.stop()
    return project


def switch_to(key: str, message: str) -> None:
    """Open another page (under the router), or say where to go when a page runs on its own."""
    pages = st.session_state.get(NAV_PAGES_KEY)
    if pages and key in pages:
        st.switch_page(pages[key])
    st.success(message)
    page_link(key)
