"""Splits: a split plan for the data size (or source/target sizes), applied to a dataset."""

import streamlit as st

from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import get_store, page_setup, require_project
from strategy_app.splits import ui as splits_ui

project = require_project(page_setup("splits"))
store = get_store()
st.caption(
    f"Project **{escape_markdown(project.name)}** · "
    "how many examples go to train, train-dev, dev and test, and "
    "where each comes from."
)
plan = splits_ui.plan_inputs(store, project)
if plan is not None:
    splits_ui.show_plan(plan.to_dict())
st.subheader("Apply a plan to a dataset", anchor=False)
splits_ui.dataset_section(store, project)
