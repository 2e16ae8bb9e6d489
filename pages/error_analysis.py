"""Error analysis: tag a sample of misclassified dev examples and see each category's ceiling."""

import streamlit as st

from diagnostics.validation import InputError
from strategy_app import labeling_ui
from strategy_app.ui import (
    get_store,
    page_link,
    page_setup,
    project_confusion_pairs,
    project_predictions,
    require_project,
)

project = require_project(page_setup("error_analysis"))
store = get_store()
st.caption(
    f"Project **{project.name}** · review about 100 misclassified dev examples, tag what each "
    "one shows, and see which category is worth fixing. Every edit is saved as you make it."
)
try:
    predictions = project_predictions(store, project.id)
except InputError as exc:
    st.error(f"{exc}\n\nError analysis needs a classification predictions file with dev rows.")
    page_link("diagnose", label="Open Diagnose to fix the predictions")
    st.stop()
if predictions is None:
    st.info(
        "Error analysis samples misclassified dev examples from the project's predictions, and "
        "this project has none (typed levels only). Upload a predictions file with split, "
        "y_true, y_pred (and ideally id, score, input) on Diagnose.",
        icon=":material/info:",
    )
    page_link("diagnose", label="Open Diagnose to upload predictions")
    st.stop()

labels = labeling_ui.load_labels(store, project)  # read once per run, shared below
annotator = labeling_ui.annotator_input(project)
view = labeling_ui.current_view(store, project, annotator, labels)
if view is None:
    labeling_ui.sample_controls(store, project, predictions, labels)
    st.stop()
panel = labeling_ui.panel_choice(project)
if panel == labeling_ui.DETAIL:
    labeling_ui.detail(project, view, labels)
elif panel == labeling_ui.CATEGORIES:
    labeling_ui.category_controls(store, project, labels)
elif panel == labeling_ui.SAMPLE:
    labeling_ui.sample_controls(store, project, predictions, labels)
elif panel == labeling_ui.PAIRS:
    labeling_ui.confusion_table(project_confusion_pairs(store, project.id))
elif panel == labeling_ui.AGREEMENT:
    labeling_ui.agreement_section(labels)
elif panel == labeling_ui.CSV:
    labeling_ui.csv_section(store, project)
labeling_ui.images_upload(store, project, view)
labeling_ui.notices(project)
progress = st.empty()
st.caption("Tagging an example counts as reviewing it; mark untaggable ones *reviewed*.")
if labeling_ui.editor(store, project, view):
    labels = labeling_ui.load_labels(store, project)
with progress:
    labeling_ui.progress_bar(labels, annotator)
labeling_ui.ceiling_section(labels, predictions)
