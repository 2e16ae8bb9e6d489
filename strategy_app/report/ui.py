"""The Report page's UI: choose sections, preview, download, and manage share links."""

from __future__ import annotations

import re

import streamlit as st

from diagnostics.report import (
    SECTION_TITLES,
    SECTIONS,
    ReportInputs,
    export,
    render_html,
)
from diagnostics.validation import InputError
from strategy_app.report.service import create_share, project_inputs, revoke_share
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import page_link
from strategy_app.shell.share_view import share_url
from strategy_app.shell.signin import current_user
from strategy_app.store import ModelVersion, Project, Store

DOWNLOADS = (
    ("html", "HTML report", "text/html", "html"),
    ("json", "JSON data", "application/json", "json"),
    ("csv", "CSV tables (zip)", "application/zip", "zip"),
)
PREVIEW_HEIGHT = 900


def report_inputs(
    store: Store, project: Project, version: ModelVersion | None
) -> ReportInputs | None:
    """The report inputs of the project at the version this session shows (every section it
    has content for), or None with an explanation shown when there is nothing to report."""
    try:
        inputs = project_inputs(
            store,
            project,
            version,
        )
    except InputError as exc:
        st.error(escape_markdown(exc), icon=":material/error:")
        page_link("diagnose", label="Fix it on Diagnose")
        return None
    if not inputs.available_sections():
        st.info(
            "Nothing to report yet: upload predictions or type your split errors on Diagnose, "
            "design a split, tag errors or run a search.",
            icon=":material/info:",
        )
        page_link("diagnose")
        return None
    return inputs


def choose_sections(inputs: ReportInputs, pid: int) -> list[str]:
    """One checkbox per section; sections without content are shown disabled and unticked.

    What is ticked is what is in the file: a box whose section gained content (a version
    switch brings "What changed") starts ticked, and one that lost it starts unticked, instead
    of keeping the old box's value (ticked and disabled, or silently unticked).
    """
    available = inputs.available_sections()
    chosen = []
    columns = st.columns(4)
    for i, section in enumerate(SECTIONS):
        has = section in available
        key = f"report_section_{pid}_{section}"
        if st.session_state.get(f"{key}_had") != has:  # content came or went: a fresh box
            st.session_state.pop(key, None)
            st.session_state[f"{key}_had"] = has
        with columns[i % 4]:
            ticked = st.checkbox(
                SECTION_TITLES[section],
                value=has,
                disabled=not has,
                key=key,
                help=None if has else "No results for this section in this project yet.",
                wrap=True,
            )
        if ticked and has:
            chosen.append(section)
    return chosen


def file_stem(title: str) -> str:
    """A safe file name stem from the report title."""
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:60] or "report"


def downloads(inputs: ReportInputs, sections: list[str], html: str) -> None:
    """Download buttons: the HTML file, its content as JSON, its tables as a zip of CSVs."""
    stem = file_stem(inputs.title)
    for column, (fmt, label, mime, suffix) in zip(
        st.columns(len(DOWNLOADS)), DOWNLOADS, strict=True
    ):
        data = html.encode("utf-8") if fmt == "html" else export(inputs, fmt, sections)
        column.download_button(
            label,
            data=data,
            file_name=f"{stem}.{suffix}",
            mime=mime,
            icon=":material/download:",
            key=f"download_{fmt}",
            width="stretch",
        )


def share_links(store: Store, project: Project, inputs: ReportInputs, sections, html) -> None:
    """Create a read-only link to a snapshot of this report; list and revoke the links."""
    st.caption(
        "A share link opens a snapshot of the report as it is now, read-only, without the "
        "rest of the app. Anyone with the link can open it until you revoke it."
    )
    if st.button("Create share link", icon=":material/link:", key="create_share"):
        try:
            share = create_share(store, project.id, inputs, sections, html, current_user())
            st.success(
                f"Share link created for “{escape_markdown(share.title)}”: it is the first below.",
                icon=":material/check:",
            )
        except InputError as exc:
            st.error(escape_markdown(exc))
    shares = store.shares.list(project.id)
    if not shares:
        st.caption("No share links yet.")
        return
    for share in shares:
        created = share.created_at.strftime("%Y-%m-%d %H:%M")
        with st.container(border=True):
            left, right = st.columns([5, 1])
            status = "revoked" if share.revoked else "live"
            left.markdown(f"**{escape_markdown(share.title)}** · {created} · {status}")
            if not share.revoked:
                left.code(share_url(share.token), language=None)
                if right.button("Revoke", key=f"revoke_{share.token}"):
                    try:
                        revoke_share(store, project.id, share.token, current_user())
                        st.rerun()
                    except InputError as exc:
                        st.error(escape_markdown(exc))


def report_page(store: Store, project: Project, version: ModelVersion | None) -> None:
    """The whole Report page below its title (``version``: the one this session shows)."""
    inputs = report_inputs(store, project, version)
    if inputs is None:
        return
    inputs.title = st.text_input("Title", value=inputs.title, key=f"report_title_{project.id}")
    sections = choose_sections(inputs, project.id)
    if not sections:
        st.warning("Choose at least one section.", icon=":material/warning:")
        return
    html = render_html(inputs, sections)
    st.caption(f"One self-contained file, {len(html.encode()) / 1024:,.0f} KB, works offline.")
    downloads(inputs, sections, html)
    preview, share = st.tabs(["Preview", "Share links"])
    with preview:
        st.iframe(html, height=PREVIEW_HEIGHT)
    with share:
        share_links(store, project, inputs, sections, html)
