"""Diagnose: the error waterfall and the ordered action plan for the current project."""

import streamlit as st

from strategy_app.curve import target_ui
from strategy_app.curve import ui as curve_ui
from strategy_app.diagnose import ui as diagnose_ui
from strategy_app.diagnose.service import compute
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.page import open_page, require_project

context = open_page("diagnose")
project, store, saved = require_project(context.project), context.store, context.state
st.caption(
    f"Project **{escape_markdown(project.name)}** · "
    "human → train → train-dev → dev → test: which gap is "
    "largest, and which knob closes it."
)
result = compute(store, saved)
st.caption(diagnose_ui.input_summary(saved))
# the label and the first state stay the same all session: a change of either makes a new
# panel in the browser, closed again after an upload, an added human level or a new slice
first_open = st.session_state.setdefault(f"_inputs_open_{project.id}", result.diagnosis is None)
with st.expander(":material/input: Inputs", expanded=first_open):
    state = diagnose_ui.inputs(store, project, saved, result)
diagnose_ui.results(
    result,
    state,
    curve_ui.current_curve(store, project, state),
    curve_ui.curve_chart,
    target_ui.current_target(store, state),
    target_ui.target_chart,
)
curve_ui.inputs_section(store, project, state)
target_ui.target_section(store, project, state)
diagnose_ui.concentration_section(store, project, saved)
diagnose_ui.comparison_section(store, project, saved)
