"""Search: caviar (many models in the background), panda (one model), LR range test."""

import streamlit as st

from strategy_app.search import ui as search_ui
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import get_store, page_setup, require_project

project = require_project(page_setup("search"))
store = get_store()
st.caption(
    f"Project **{escape_markdown(project.name)}** · "
    "searches run in background processes: refresh or close the "
    "page and they carry on."
)
caviar, panda, lr_finder = st.tabs(
    ["Caviar: many models", "Panda: one model", "Learning-rate finder"]
)
with caviar:
    search_ui.dataset_section(store, project.id)
    st.subheader("Search space", anchor=False)
    space = search_ui.space_editor(store, project.id)
    st.subheader("Budget and strategy", anchor=False)
    search_ui.caviar_form(store, project.id, space)
    st.subheader("Runs", anchor=False)
    search_ui.caviar_runs(store, project.id)
with panda:
    search_ui.panda_section(store, project.id)
with lr_finder:
    search_ui.lr_finder_panel(store, project.id)
