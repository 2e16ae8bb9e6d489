"""The app shell shared by every page: store, project selection, sidebar, next-step hint.

Each page starts with :func:`page_setup`, so it also runs on its own
(``AppTest.from_file("pages/x.py")``) with the same sidebar and project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from diagnostics.errors import confusion_pairs, dev_error_summary
from diagnostics.image_flags import ImageFlags
from diagnostics.ingest import Predictions, read_predictions
from diagnostics.label_issues import LabelIssues
from diagnostics.slices import SliceSearch
from diagnostics.validation import InputError
from diagnostics.waterfall import GAP_LABELS
from strategy_app.auth import User
from strategy_app.diagnose.service import DiagnosisResult, compute, delete_version, error_slices
from strategy_app.diagnose.service import switch_version as change_version
from strategy_app.errors import evidence
from strategy_app.errors.evidence import Evidence, image_flags_of, label_issues_of
from strategy_app.errors.service import full_image, predictions_for, thumbnail_url
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.navigation import APP_ICON, NEXT_PAGE_FOR_GAP, PAGES_BY_KEY
from strategy_app.shell.sample import ensure_sample_project
from strategy_app.shell.signin import account_box, require_sign_in
from strategy_app.store import ModelVersion, Project, Store, database_url, open_store
from strategy_app.store.diagnose_state import DiagnoseState, load_state
from strategy_app.store.engine import read
from strategy_app.store.labels import LabelSnapshot, Sample
from strategy_app.store.projects import list_projects

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


@st.cache_data(max_entries=8, show_spinner="Reading predictions…")
def cached_read_predictions(
    path: Path, *, metric: str | None, extra_columns: tuple[str, ...], display_name: str | None
) -> Predictions:
    """:func:`~diagnostics.ingest.read_predictions`, once per file (named by its hash) and
    columns: what a page passes as a service's ``reader``."""
    return read_predictions(
        path, metric=metric, extra_columns=extra_columns, display_name=display_name
    )


def project_result(
    store: Store, project_id: int, state: DiagnoseState | None = None
) -> DiagnosisResult:
    """The project's current diagnosis from its saved inputs (files read once, cached by hash).

    Uploads are stored under their SHA-256, so the file path is the content hash and the
    cache entry is keyed by the bytes. ``state``: the saved inputs when already read this run.
    """
    if state is None:
        state = store.diagnose_state.load(project_id)
    present = state.upload_sha256 is not None and store.uploads.path(state.upload_sha256).is_file()
    return _result_cached(store, state, str(store.folder), present)


@st.cache_data(max_entries=32, show_spinner="Diagnosing…")
def _result_cached(_store: Store, state, folder: str, present: bool) -> DiagnosisResult:
    """The diagnosis of ``state``; a saved state and its upload (named by hash) never change,
    so the key is the state, the data folder and whether the file is there."""
    return compute(_store, state)


def project_predictions(
    store: Store, project_id: int, state: DiagnoseState | None = None
) -> Predictions | None:
    """A version's uploaded predictions (``state``; else the current version's), read once
    and cached by the file's hash."""
    return predictions_for(store, project_id, reader=cached_read_predictions, state=state)


@st.cache_data(max_entries=8, show_spinner=False)
def _dev_error_summary_cached(path, *, metric, extra_columns, display_name) -> dict:
    predictions = cached_read_predictions(
        path, metric=metric, extra_columns=extra_columns, display_name=display_name
    )
    return dev_error_summary(predictions)


def project_dev_error_summary(
    store: Store, project_id: int, state: DiagnoseState | None = None
) -> dict | None:
    """:func:`~diagnostics.errors.dev_error_summary` of the project's predictions, computed
    once per file (by its hash) and small to copy out of the cache on each rerun; None when
    the project has no predictions file. ``state``: the saved inputs when already read.

    Raises InputError when the file cannot be read or has no dev errors to analyse.
    """
    return predictions_for(store, project_id, reader=_dev_error_summary_cached, state=state)


@st.cache_data(max_entries=8, show_spinner=False)
def _confusion_pairs_cached(path, *, metric, extra_columns, display_name) -> pd.DataFrame:
    predictions = cached_read_predictions(
        path, metric=metric, extra_columns=extra_columns, display_name=display_name
    )
    return confusion_pairs(predictions)


def project_confusion_pairs(
    store: Store, project_id: int, state: DiagnoseState | None = None
) -> pd.DataFrame | None:
    """The confusion pairs of a version's dev errors (``state``; else the current version's),
    computed once per file (by its hash)."""
    return predictions_for(store, project_id, reader=_confusion_pairs_cached, state=state)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_full_image(root: str | None, relative: str) -> bytes | None:
    """:func:`~strategy_app.errors.service.full_image`, cached (image folders never change)."""
    return full_image(root, relative)


@st.cache_data(max_entries=20_000, show_spinner=False)
def cached_thumbnail(root: str, relative: str) -> str | None:
    """:func:`~strategy_app.errors.service.thumbnail_url`, cached (image folders never change)."""
    return thumbnail_url(root, relative)


@st.cache_data(max_entries=8, show_spinner="Finding where the errors concentrate…")
def _error_slices_cached(_store: Store, state: DiagnoseState, folder: str) -> SliceSearch | None:
    return error_slices(_store, state, reader=cached_read_predictions)


def project_error_slices(store: Store, state: DiagnoseState) -> SliceSearch | None:
    """:func:`~strategy_app.diagnose.service.error_slices` of a version, once per saved inputs
    (their file is named by its hash, so the inputs are the key)."""
    return _error_slices_cached(store, state, str(store.folder))


@st.cache_data(max_entries=8, show_spinner="Looking for likely label errors…")
def _label_issues_cached(_store: Store, state: DiagnoseState, folder: str) -> LabelIssues | None:
    return label_issues_of(_store, state)


def project_label_issues(store: Store, state: DiagnoseState) -> LabelIssues | None:
    """:func:`~strategy_app.errors.evidence.label_issues_of` of a version, once per inputs."""
    return _label_issues_cached(store, state, str(store.folder))


@st.cache_data(max_entries=16, show_spinner="Checking the images…")
def _image_flags_cached(root: str, paths: tuple[str, ...], drawn: str, _sample: Sample):
    return image_flags_of(root, _sample)


def sample_image_flags(root: str | None, sample: Sample) -> ImageFlags | None:
    """:func:`~strategy_app.errors.evidence.image_flags_of` of a sample, once per draw and
    images folder (image folders never change)."""
    if root is None:
        return None
    paths = tuple(str(p) for p in sample.examples["input"].tolist())
    return _image_flags_cached(root, paths, sample.drawn_at.isoformat(), sample)


def version_evidence(store: Store, version: ModelVersion, labels: LabelSnapshot) -> Evidence:
    """:func:`~strategy_app.errors.evidence.version_evidence` with the cached searches."""
    return evidence.version_evidence(
        store,
        version,
        labels,
        slices=project_error_slices,
        label_issues=project_label_issues,
        image_flags=sample_image_flags,
    )


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
    store: Store, project: Project | None, state: DiagnoseState | None = None
) -> tuple[str, str | None]:
    """The sidebar's hint: (text, page key to open) derived from the project's saved state
    (``state``, when already read this run)."""
    if project is None:
        return "Create a project on Home to start.", "home"
    result = project_result(store, project.id, state)
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
    state: DiagnoseState | None = None,
    user: User | None = None,
) -> None:
    """Project selector and the next-step hint, the same on every page (``state``: the
    project's saved Diagnose inputs, when already read this run; ``user``: who is signed in)."""
    with st.sidebar:
        if user is not None:
            account_box(user)
        if projects and project is not None:
            names = {p.id: p.name for p in projects}
            if st.session_state.get("sidebar_project") != project.id:
                st.session_state["sidebar_project"] = project.id
            st.selectbox(
                "Project",
                options=list(names),
                format_func=lambda project_id: names[project_id],
                key="sidebar_project",
                on_change=lambda: switch_project(store, st.session_state["sidebar_project"]),
            )
        if project is not None:
            version_selector(store, project, state.version_id if state else None, user)
        hint, page = next_step(store, project, state)
        with st.container(border=True):
            st.markdown(":material/lightbulb: **What to do next**")
            st.markdown(hint)
            if page:
                page_link(page, label=f"Open {PAGES_BY_KEY[page].title}")


def switch_version(store: Store, project_id: int, version_id: int, user: User | None) -> None:
    """Make ``version_id`` the project's current version (what every page shows); a refusal is
    shown on the next run."""
    try:
        if user is None:
            raise InputError("sign in as an editor to choose the current version")
        change_version(store, project_id, version_id, user)
    except InputError as exc:
        st.session_state["version_switch_refused"] = str(exc)


def version_selector(
    store: Store, project: Project, current: int | None, user: User | None = None
) -> None:
    """The project's model versions: the current one chosen here (reading: any role), an old
    one deleted after confirmation by an editor (with its sample and tags, and nothing of
    another version; audited)."""
    versions = store.versions.list(project.id)
    if not versions:
        return
    by_id = {v.id: v for v in versions}
    names = {v.id: v.name for v in versions}
    current = current if current in names else versions[0].id
    key = f"sidebar_version_{project.id}"
    if st.session_state.get(key) != current:
        st.session_state[key] = current
    st.selectbox(
        "Model version",
        options=list(names),
        format_func=lambda version_id: names[version_id],
        key=key,
        help="Each upload or search result is a new version; pages show the one chosen here, "
        "to everyone (an editor chooses it).",
        on_change=lambda: switch_version(store, project.id, st.session_state[key], user),
        disabled=user is None or not user.can("switch the current version"),
    )
    refused = st.session_state.pop("version_switch_refused", None)
    if refused:
        st.error(escape_markdown(refused))
    if len(versions) > 1 and user is not None and user.can("delete model versions"):
        with st.popover("Delete this version", icon=":material/delete:"):
            sure = st.checkbox(
                f"Delete {names[current]}, its error-analysis sample and its tags",
                key=f"confirm_delete_version_{current}",
            )
            if st.button("Delete", key=f"delete_version_{current}", disabled=not sure):
                try:
                    delete_version(store, by_id[current], user)
                except InputError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()


@dataclass(frozen=True)
class PageContext:
    """What :func:`open_page` read for this run, for the page to reuse: the store, the current
    project (None if none exist), its saved Diagnose inputs (None without a project) and the
    acting user."""

    store: Store
    project: Project | None
    state: DiagnoseState | None
    user: User


def open_page(key: str) -> PageContext:
    """Set up a page (title, icon, sidebar) and hand over what the sidebar read."""
    info = PAGES_BY_KEY[key]
    st.set_page_config(
        page_title=f"{info.title} · ML-strategy desk", page_icon=str(APP_ICON), layout="wide"
    )
    user = require_sign_in()
    store = get_store()

    def load(session) -> tuple[list[Project], Project | None, DiagnoseState | None]:
        projects = list_projects(session)
        project = current_project(projects)
        return projects, project, None if project is None else load_state(session, project.id)

    projects, project, state = read(store.engine, load)  # one session on every page
    sidebar(store, project, projects, state, user)
    st.title(info.title, anchor=False)
    return PageContext(store, project, state, user)


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
