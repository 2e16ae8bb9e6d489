"""Home: the projects (create, rename, switch, delete) and where the data lives."""

import streamlit as st

from diagnostics.validation import InputError
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import open_page, page_link, switch_project
from strategy_app.shell.projects import create_project, delete_project, rename_project
from strategy_app.shell.signin import auth_configured, roles_path
from strategy_app.shell.team import roles_text, save_roles

context = open_page("home")
project, store, user = context.project, context.store, context.user
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
                created = create_project(store, name, user)
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
                    rename_project(store, project.id, new_name, user)
                    st.rerun()
                except InputError as exc:
                    st.error(escape_markdown(exc))
            confirm = st.checkbox(
                f"Yes, delete '{escape_markdown(project.name)}' and everything saved in it",
                key=f"confirm_delete_{project.id}",
            )
            if st.button("Delete project", disabled=not confirm, icon=":material/delete:"):
                try:
                    delete_project(store, project.id, user)
                    st.session_state.pop("project_id", None)
                    st.rerun()
                except InputError as exc:
                    st.error(escape_markdown(exc))
        page_link("diagnose", label="Open the diagnosis")
    if auth_configured() and user.can("manage roles"):
        st.subheader(":material/admin_panel_settings: Roles", anchor=False)
        with st.form("roles", border=True):
            text = st.text_area("roles.toml", value=roles_text(roles_path()), height=260)
            if st.form_submit_button("Save roles"):
                try:
                    save_roles(store, roles_path(), text, user)
                    st.success("Roles saved: they apply from each person's next page load.")
                except InputError as exc:
                    st.error(escape_markdown(exc))

st.divider()
st.caption(f":material/database: Data is saved in `{store.location}`")
