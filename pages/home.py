"""Home: the projects (create, rename, switch, delete) and where the data lives."""

import streamlit as st

from diagnostics.validation import InputError
from strategy_app.markdown import escape_markdown
from strategy_app.ui import get_store, page_link, page_setup, switch_project

project = page_setup("home")
store = get_store()
st.markdown(
    "What should you fix next in your model? Upload its predictions per split, add the "
    "human-level error, and the desk tells you which gap is largest and which knob to turn."
)

projects = store.projects.list()
left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(":material/folder_open: Projects", anchor=False)
    if not projects:
        st.info("No project yet: create one to start (one project per model you work on).")
    for item in projects:
        with st.container(border=True):
            name_col, open_col = st.columns([4, 1], vertical_alignment="center")
            current = project is not None and item.id == project.id
            badge = "  :blue-badge[current]" if current else ""
            name_col.markdown(f"**{escape_markdown(item.name)}**{badge}")
            name_col.caption(f"updated {item.updated_at:%Y-%m-%d %H:%M} UTC")
            if not current and open_col.button("Open", key=f"open_{item.id}"):
                switch_project(store, item.id)
                st.rerun()

with right:
    st.subheader(":material/add_circle: New project", anchor=False)
    with st.form("create_project", clear_on_submit=True, border=True):
        name = st.text_input("Name", placeholder="e.g. cat detector v3")
        if st.form_submit_button("Create project", type="primary"):
            try:
                created = store.projects.create(name)
                switch_project(store, created.id)
                st.rerun()
            except InputError as exc:
                st.error(escape_markdown(exc))
    if project is not None:
        st.subheader(":material/edit: Current project", anchor=False)
        with st.container(border=True):
            new_name = st.text_input("Rename", value=project.name, key=f"rename_{project.id}")
            if st.button("Save name", key="rename_button"):
                try:
                    store.projects.rename(project.id, new_name)
                    st.rerun()
                except InputError as exc:
                    st.error(escape_markdown(exc))
            confirm = st.checkbox(
                f"Yes, delete '{escape_markdown(project.name)}' and everything saved in it",
                key=f"confirm_delete_{project.id}",
            )
            if st.button("Delete project", disabled=not confirm, icon=":material/delete:"):
                store.projects.delete(project.id)
                st.session_state.pop("project_id", None)
                st.rerun()
        page_link("diagnose", label="Open the diagnosis")

st.divider()
st.caption(f":material/database: Data is saved in `{store.location}`")
