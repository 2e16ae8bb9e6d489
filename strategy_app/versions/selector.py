"""The version a session looks at, and the sidebar's selector of it (Streamlit).

A project's *current* version (saved with the project) is the newest upload or search result,
or what remains after a deletion: every new session opens it. Choosing another version in the
sidebar changes what *this* session shows, on every page, and nothing saved; a version added
or deleted after the choice (by anyone) makes the saved current version the one shown again.
"""

from __future__ import annotations

import streamlit as st

from diagnostics.validation import InputError
from strategy_app.auth import User
from strategy_app.shell.markdown import escape_markdown
from strategy_app.store import ModelVersion, Project, Store
from strategy_app.versions.service import delete_version

CHOICE_KEY = "_version_choice_{}"  # (chosen version id, the project's current id at the time)
WIDGET_KEY = "sidebar_version_{}"


def session_version(project: Project, versions: list[ModelVersion]) -> ModelVersion | None:
    """The version this session shows among the project's ``versions`` (newest first): the
    one chosen in the sidebar while the project's current version is still the one it was
    then, else the project's current version (else the newest)."""
    by_id = {v.id: v for v in versions}
    choice = st.session_state.get(CHOICE_KEY.format(project.id))
    if choice is not None:
        chosen, current_then = choice
        if chosen in by_id and current_then == project.current_version_id:
            return by_id[chosen]
        st.session_state.pop(CHOICE_KEY.format(project.id), None)
    if project.current_version_id in by_id:
        return by_id[project.current_version_id]
    return versions[0] if versions else None


def _choose(project: Project) -> None:
    chosen = st.session_state[WIDGET_KEY.format(project.id)]
    st.session_state[CHOICE_KEY.format(project.id)] = (chosen, project.current_version_id)


def version_selector(
    store: Store,
    project: Project,
    versions: list[ModelVersion],
    shown: ModelVersion | None,
    user: User | None = None,
) -> None:
    """The sidebar's "Model version" box (any role: it changes only what this session shows)
    and, for an editor, "Delete this version" naming exactly the version shown."""
    if shown is None:
        return
    names = {v.id: v.name for v in versions}
    key = WIDGET_KEY.format(project.id)
    # set before the widget on every run: a widget of the same key on another page would
    # otherwise start from its own default and show another version than the page
    st.session_state[key] = shown.id
    st.selectbox(
        "Model version",
        options=list(names),
        format_func=lambda version_id: names[version_id],
        key=key,
        help="Each upload or search result is a new version; every page shows the one chosen "
        "here (in this session only).",
        on_change=_choose,
        args=(project,),
    )
    if len(versions) > 1 and user is not None and user.can("delete model versions"):
        with st.popover("Delete this version", icon=":material/delete:"):
            sure = st.checkbox(
                f"Delete {escape_markdown(shown.name)}, its error-analysis sample and its tags",
                key=f"confirm_delete_version_{shown.id}",
            )
            if st.button("Delete", key=f"delete_version_{shown.id}", disabled=not sure):
                try:
                    delete_version(store, shown, user)
                except InputError as exc:
                    st.error(escape_markdown(exc))
                else:
                    st.session_state.pop(CHOICE_KEY.format(project.id), None)
                    st.rerun()
