"""The Diagnose page's widgets: inputs saved to the project, and the diagnosis display.

Inputs are saved as soon as they change; the display shows only what
:mod:`diagnostics.waterfall` computed (values formatted with the diagnosis's own units).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from diagnostics.annotators import annotator_rows, floor_lines
from diagnostics.charts import waterfall_chart
from diagnostics.compare_rows import (
    category_lines,
    eyeball_line,
    gap_change_rows,
    level_rows,
    method_note,
    pairing_line,
)
from diagnostics.learning_curve import with_forecast
from diagnostics.metrics import NO_INTERVAL, NO_SPREAD
from diagnostics.rates import METRICS, from_percent, is_rate_metric
from diagnostics.slices import concentration_line, representation_line
from diagnostics.splitnames import LEVEL_LABELS, SPLITS
from diagnostics.target_curve import with_target_forecast
from diagnostics.validation import InputError
from diagnostics.waterfall import (
    GAP_LABELS,
    MIN_SLICE_ROWS,
    Diagnosis,
    HumanLevel,
    check_human_levels,
    gap_rows,
)
from strategy_app.diagnose.service import (
    DiagnosisResult,
    FloorReport,
    accept_annotations,
    accept_location,
    accept_upload,
    add_slice_column,
    compare_versions,
    error_slices,
    sample_ids,
    save_inputs,
)
from strategy_app.errors.service import draw_sample
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.navigation import NEXT_PAGE_FOR_GAP
from strategy_app.shell.page import page_link
from strategy_app.shell.signin import current_user
from strategy_app.shell.uploads import handle_once
from strategy_app.store import DiagnoseState, ModelVersion, Project, Store
from strategy_app.versions.service import read_required

SOURCES = {"upload": "Upload predictions", "typed": "Type split errors"}
METRIC_NAMES = {"error": "error rate (%)", "mae": "MAE", "rmse": "RMSE"}
AUTO_METRIC = "auto"
NO_SLICE = "(no slices)"
MADE_SLICE_KEY = "_made_slice_{}"  # the column "Diagnose by this slice" chose, for its box
MAX_SLICE_TABS = 12  # waterfalls shown per slice column (the largest gaps first)
SUGGESTED_HUMANS = "student 5% · expert 2% · team of experts 0.7%"


def _to_shown(value: float | None, metric: str) -> float | None:
    return None if value is None else (value * 100 if is_rate_metric(metric) else value)


def _from_shown(value: float, metric: str) -> float:
    return from_percent(value) if is_rate_metric(metric) else value


def _unit_label(metric: str, unit: str) -> str:
    return "%" if is_rate_metric(metric) else (unit or metric.upper())


def input_summary(state: DiagnoseState) -> str:
    """One line naming what the diagnosis is computed from (the inputs expander's label)."""
    if not state.has_input:
        return "Inputs"
    source = state.upload_name if state.source == "upload" else "typed levels"
    humans = len(state.human_levels)
    return f"Inputs · {source} · {humans} human level{'s' if humans != 1 else ''}"


def handle_upload(
    store: Store, project: Project, uploaded, state: DiagnoseState | None = None
) -> str | None:
    """Validate and save a newly uploaded file once: predictions (a new version), or with
    ``state`` an annotations file of that version; returns the refusal (escaped), if any.

    A bad file leaves the project's saved data untouched.
    """

    def accept(name: str, data: bytes) -> str:
        if state is None:
            accept_upload(store, project.id, name, data, current_user())
        else:
            accept_annotations(store, project.id, name, data, current_user(), state)
        return f"Saved {name} to {project.name}"

    return handle_once(uploaded, "predictions" if state is None else "annotations", accept)


def location_field(store: Store, project: Project) -> bool:
    """The field that adds a version from a location (object storage, a URL, an MLflow run);
    True when one was added. A refusal is shown under it and nothing saved changes."""
    with st.form(key=f"location_{project.id}", border=False, enter_to_submit=True):
        column, button = st.columns([5, 1], vertical_alignment="bottom")
        location = column.text_input(
            "…or add a version from a location",
            key=f"location_text_{project.id}",
            placeholder="s3://bucket/predictions.parquet · mlflow:runs:/RUN_ID/predictions.parquet",
            help="Read where it lives (s3://, gs://, az://, https://, mlflow:runs:/…), with the "
            "server's credentials (AWS_* variables, MLFLOW_TRACKING_URI); a copy is kept with "
            "the version.",
        )
        added = button.form_submit_button("Add version")
    if not (added and location.strip()):
        return False
    try:
        state = accept_location(store, project.id, location, current_user())
    except InputError as exc:
        st.error(
            f"{escape_markdown(exc)}\n\nNothing was changed: the project keeps its saved data."
        )
        return False
    st.toast(f"Added {escape_markdown(state.upload_name)}", icon=":material/check:")
    return True


def inputs(
    store: Store, project: Project, state: DiagnoseState, result: DiagnosisResult
) -> DiagnoseState:
    """Render the input widgets for the inputs of the version shown (``state``); saves and
    returns the (possibly changed) state."""
    pid = project.id
    source = st.segmented_control(
        "Where do the levels come from?",
        options=list(SOURCES),
        format_func=lambda source: SOURCES[source],
        default=state.source,
        key=f"source_{pid}",
    )
    new = replace(state, source=source or state.source)
    if new.source == "upload":
        new = _upload_inputs(store, project, new, result)
    else:
        new = _typed_inputs(new, pid)
    new = _human_inputs(new, pid, result.metric or new.metric or "error")
    if new.source == "upload" and new.upload_sha256:
        new = _annotation_inputs(store, project, new, result)
    if new != state:
        try:
            save_inputs(store, pid, new, current_user())
        except InputError as exc:
            st.error(escape_markdown(exc))
            return state
        st.rerun()
    return new


def _upload_inputs(
    store: Store, project: Project, state: DiagnoseState, result: DiagnosisResult
) -> DiagnoseState:
    pid = project.id
    uploaded = st.file_uploader(
        "Predictions file (CSV or Parquet): one row per example with split, y_true, y_pred",
        type=["csv", "parquet", "pq"],
        key=f"upload_{pid}",
        help="Columns: split (train, train_dev, dev, test), y_true, y_pred; optional id, "
        "weight, score, input and any slice column (e.g. device).",
    )
    if uploaded is not None:
        error = handle_upload(store, project, uploaded)
        if error:
            st.error(f"{error}\n\nNothing was changed: the project keeps its saved data.")
        state = replace(store.diagnose_state.load(pid), source="upload")
    if location_field(store, project):
        state = replace(store.diagnose_state.load(pid), source="upload")
    if state.upload_sha256:
        upload = store.uploads.get(state.upload_sha256)
        size = f" · {upload.size / 1024:,.0f} KB" if upload else ""
        st.caption(
            f":material/description: Using **{escape_markdown(state.upload_name)}**{size}, "
            "saved in this project."
        )
    col_metric, col_slice, col_unit = st.columns(3)
    metric_options = [AUTO_METRIC, *METRICS]
    metric = col_metric.selectbox(
        "Metric",
        metric_options,
        index=metric_options.index(state.metric or AUTO_METRIC),
        format_func=lambda m: "detect from labels" if m == AUTO_METRIC else METRIC_NAMES[m],
        key=f"upload_metric_{pid}",
    )
    slice_options = [NO_SLICE, *result.slice_columns]
    current = state.slice_column if state.slice_column in result.slice_columns else NO_SLICE
    key = f"slice_{pid}"
    made = st.session_state.pop(MADE_SLICE_KEY.format(pid), None)
    if made in slice_options:  # "Diagnose by this slice" chose it: the box shows it
        st.session_state[key] = made
    elif st.session_state.get(key, NO_SLICE) not in slice_options:  # a column now gone
        st.session_state.pop(key, None)
    column = col_slice.selectbox(
        "Slice column (one waterfall per value)",
        slice_options,
        index=None if key in st.session_state else slice_options.index(current),
        key=key,
        disabled=not result.slice_columns,
    )
    unit = state.unit
    if result.metric and not is_rate_metric(result.metric):
        unit = col_unit.text_input(
            "Unit", state.unit, key=f"upload_unit_{pid}", placeholder="e.g. ₹"
        )
    return replace(
        state,
        metric=None if metric == AUTO_METRIC else metric,
        slice_column=None if column == NO_SLICE else column,
        unit=unit,
    )


def _typed_inputs(state: DiagnoseState, pid: int) -> DiagnoseState:
    col_metric, col_unit = st.columns(2)
    metric = col_metric.selectbox(
        "Metric",
        METRICS,
        index=METRICS.index(state.metric or "error"),
        format_func=lambda name: METRIC_NAMES[name],
        key=f"typed_metric_{pid}",
    )
    unit = state.unit
    if not is_rate_metric(metric):
        unit = col_unit.text_input(
            "Unit", state.unit, key=f"typed_unit_{pid}", placeholder="e.g. ₹"
        )
    st.caption("Leave a level empty when you do not have that set.")
    levels = {}
    for column, split in zip(st.columns(len(SPLITS)), SPLITS, strict=True):
        shown = column.number_input(
            f"{LEVEL_LABELS[split]} ({_unit_label(metric, unit)})",
            min_value=0.0,
            max_value=100.0 if is_rate_metric(metric) else None,
            value=_to_shown(state.typed_levels.get(split), metric),
            step=0.1,
            format="%.2f",
            key=f"typed_{split}_{metric}_{pid}",
        )
        if shown is not None:
            levels[split] = _from_shown(shown, metric)
    return replace(state, metric=metric, unit=unit, typed_levels=levels)


def _human_inputs(state: DiagnoseState, pid: int, metric: str) -> DiagnoseState:
    st.markdown("**Human-level error** · the best one is the proxy for the Bayes error")
    humans = list(state.human_levels)
    best = min(humans, key=lambda h: h.value) if humans else None
    for i, human in enumerate(humans):
        name_col, value_col, remove_col = st.columns([4, 2, 1], vertical_alignment="center")
        name_col.markdown(
            escape_markdown(human.name) + ("  :green-badge[proxy]" if human is best else "")
        )
        value_col.markdown(f"{_to_shown(human.value, metric):g} {_unit_label(metric, state.unit)}")
        if remove_col.button("Remove", key=f"remove_human_{i}_{pid}", icon=":material/delete:"):
            humans.pop(i)
            return replace(state, human_levels=humans)
    if not humans:
        st.caption(f"None yet. Add the people you know of, e.g. {SUGGESTED_HUMANS}.")
    name_col, value_col, add_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    name_col.text_input("Who", key=f"human_name_{pid}", placeholder="e.g. expert")
    value_col.number_input(
        f"Error ({_unit_label(metric, state.unit)})",
        min_value=0.0,
        value=None,
        step=0.1,
        format="%.2f",
        key=f"human_value_{pid}",
    )
    add_col.button(
        "Add",
        key=f"add_human_{pid}",
        icon=":material/add:",
        on_click=_add_human,
        args=(pid, [h.name for h in humans]),
    )
    added = st.session_state.pop(ADDED_HUMAN_KEY.format(pid), None)
    if isinstance(added, str):
        st.error(added)
    elif added is not None:
        name, value = added
        humans.append(HumanLevel(name, _from_shown(value, metric)))
        return replace(state, human_levels=humans)
    return state


ADDED_HUMAN_KEY = "_added_human_{}"


def _annotation_inputs(
    store: Store, project: Project, state: DiagnoseState, result: DiagnosisResult
) -> DiagnoseState:
    """Upload the labels several people gave some dev/test examples: measured human levels."""
    pid = project.id
    st.markdown("**Annotators' labels** · measure the human levels instead of typing them")
    uploaded = st.file_uploader(
        "Annotations (CSV or Parquet): id, annotator, label; optional reference, soft_<class>",
        type=["csv", "parquet", "pq"],
        key=f"annotations_{pid}",
        help="One row per (example, person) for some dev or test examples of the predictions "
        "file, matched by its id. Each annotator's error, the typical and best annotator, the "
        "team's majority vote and the measured floor become human levels.",
    )
    if uploaded is not None:
        error = handle_upload(store, project, uploaded, state)
        if error:
            st.error(f"{error}\n\nNothing was changed: the project keeps its saved data.")
        version = store.versions.get(state.version_id) if state.version_id else None
        if version is not None:  # the file as saved with the version shown
            state = replace(
                state,
                annotations_sha256=version.state.annotations_sha256,
                annotations_name=version.state.annotations_name,
            )
    if state.annotations_sha256:
        name_col, remove_col = st.columns([5, 1], vertical_alignment="center")
        name_col.caption(
            f":material/groups: Human levels measured from "
            f"**{escape_markdown(state.annotations_name or '')}**"
        )
        if remove_col.button("Remove", key=f"remove_annotations_{pid}", icon=":material/delete:"):
            return replace(state, annotations_sha256=None, annotations_name=None)
    if result.floor_error:
        st.error(f"{escape_markdown(result.floor_error)}\n\nThe waterfall goes on without them.")
    return state


def floor_section(floor: FloorReport) -> None:
    """The measured human levels (each annotator, the team, the floor) and the label noise."""
    data = floor.to_dict()
    st.subheader(":material/groups: Human levels from annotators", anchor=False)
    st.caption(
        f"From {escape_markdown(floor.panel.source)}; errors against "
        f"{escape_markdown(floor.panel.reference)}, with Wilson 95% intervals; kappa is each "
        "annotator's agreement with the others (near 0: no better than chance)."
    )
    st.dataframe(pd.DataFrame(annotator_rows(data)), hide_index=True, key="human_levels")
    for line in floor_lines(data):
        st.caption(escape_markdown(line))
    for noise, _ in floor.noise.values():
        if not noise.reliable:
            st.warning(escape_markdown(noise.note), icon=":material/warning:")


def _add_human(pid: int, names: list[str]) -> None:
    """The Add button's callback: take the typed level and clear the form for the next one, or
    leave the form as typed with the reason it was refused (no error, a name already there)."""
    name_key, value_key = f"human_name_{pid}", f"human_value_{pid}"
    value = st.session_state.get(value_key)
    name = (st.session_state.get(name_key) or "").strip() or f"human {len(names) + 1}"
    if value is None:
        outcome: object = "Give the human level's error, e.g. 2 for 2%."
    elif (refusal := _duplicate_name(names, name)) is not None:
        outcome = refusal
    else:
        outcome = (name, value)
        st.session_state[name_key], st.session_state[value_key] = "", None
    st.session_state[ADDED_HUMAN_KEY.format(pid)] = outcome


def _duplicate_name(names: list[str], name: str) -> str | None:
    """Why ``name`` cannot join the human levels ``names`` (the library's rule), or None."""
    try:
        check_human_levels([HumanLevel(n, 0.0) for n in [*names, name]])
    except InputError:
        return (
            f"'{escape_markdown(name)}' is already a human level: remove it first to change "
            "its error."
        )
    return None


# The gap table's status in a word (the whole wording is the column's help): with the levels
# each gap lies between left to the chart, the table fits beside the action plan at 1024 px.
SHORT_STATUS = {
    "within noise": "noise",
    NO_INTERVAL: "n/a",
    NO_SPREAD: "n/a",
    "not a problem": "ok",
}
ORDINALS = ("1st", "2nd", "3rd", "4th")
STATUS_HELP = (
    "1st: fix this first; 2nd, 3rd, 4th: the order to fix the others in; noise: within "
    "statistical noise; n/a: no interval (one example, or all losses equal); ok: not a problem"
)


def gap_table(diagnosis: Diagnosis) -> pd.DataFrame:
    """The gaps as a table: name, size, 95% interval, status in a word (:data:`STATUS_HELP`)."""
    rows = gap_rows(diagnosis)
    return pd.DataFrame(
        {
            "gap": [row["gap"] for row in rows],
            "size": [row["size"] for row in rows],
            "95% interval": [row["interval"] for row in rows],
            "status": [_short_status(diagnosis, row) for row in rows],
        }
    )


def _short_status(diagnosis: Diagnosis, row: dict) -> str:
    """A gap's status in a word: its rank among the gaps to fix, else :data:`SHORT_STATUS`."""
    if row["name"] in diagnosis.priority:
        return ORDINALS[diagnosis.priority.index(row["name"])]
    return SHORT_STATUS[str(row["status"])]


def action_plan(
    diagnosis: Diagnosis,
    curve: Mapping[str, Any] | None = None,
    target: Mapping[str, Any] | None = None,
) -> None:
    """The ordered action plan: each gap's reason and knobs (the more-data knob with the
    learning curve's forecast when ``curve`` exists, the target-data knob with the target-data
    curve's when ``target`` does)."""
    if not diagnosis.recommendations:
        st.success("No gap stands out above the noise: there is no clear knob to turn.")
        return
    for i, rec in enumerate(diagnosis.recommendations, start=1):
        with st.container(border=True):
            label = GAP_LABELS[rec["gap"]]
            size = diagnosis.fmt(diagnosis.gaps[rec["gap"]].value)  # as in the chart and table
            st.markdown(f"#### {i}. {label.capitalize()} · {size}")
            st.markdown(rec["reason"])
            actions = with_forecast(rec["gap"], rec["actions"], curve)
            actions = with_target_forecast(rec["gap"], actions, target)
            st.markdown("\n".join(f"- {action}" for action in actions))


def show(diagnosis: Diagnosis, *, key: str, title: str = "Error waterfall") -> None:
    """The waterfall chart, gap table, plan and warnings of one diagnosis."""
    st.altair_chart(waterfall_chart(diagnosis, title=title), key=f"chart_{key}")
    st.dataframe(
        gap_table(diagnosis),
        hide_index=True,
        key=f"gaps_{key}",
        column_config={"status": st.column_config.TextColumn(help=STATUS_HELP)},
    )
    notes = [f"{row['gap']}: {row['note']}" for row in gap_rows(diagnosis) if row["note"]]
    if diagnosis.noise_bands:
        notes.append(
            "the gold top of a dev or test bar is the most of its error that may be label error"
        )
    if any(h.estimate is not None for h in diagnosis.human_levels):
        notes.append("purple ticks on the human bar: the measured human levels")
    if notes:
        st.caption(escape_markdown(" · ".join(notes)))
    for warning in diagnosis.warnings:
        st.warning(warning, icon=":material/warning:")


def results(
    result: DiagnosisResult,
    state: DiagnoseState,
    curve: Mapping[str, Any] | None = None,
    show_curve: Callable[[Any], None] | None = None,
    target: Mapping[str, Any] | None = None,
    show_target: Callable[[Any], None] | None = None,
) -> None:
    """The whole output: waterfall, gap table, action plan (with ``curve``'s and ``target``'s
    forecasts, the curves beside it via ``show_curve`` and ``show_target``), warnings, slices."""
    if result.error:
        st.error(result.error)
        return
    if result.diagnosis is None:
        with st.container(border=True):
            st.markdown("### :material/upload_file: Nothing to diagnose yet")
            st.markdown(
                "Upload a predictions file above (one row per example with `split`, `y_true`, "
                "`y_pred`), or switch to **Type split errors** and enter your train, train-dev, "
                "dev and test errors. Add a human level to measure the avoidable bias."
            )
        return
    diagnosis = result.diagnosis
    chart_col, plan_col = st.columns([3, 2], gap="medium")  # the gap table's room at 1024 px
    with chart_col:
        show(diagnosis, key="main")
    with plan_col:
        st.subheader(":material/checklist: Action plan", anchor=False)
        action_plan(diagnosis, curve, target)
        if curve is not None and show_curve is not None:
            show_curve(curve)
        if target is not None and show_target is not None:
            show_target(target)
        gap = diagnosis.largest_gap()
        if gap is not None:
            page_link(NEXT_PAGE_FOR_GAP[gap.name][0])
    if result.floor is not None:
        floor_section(result.floor)
    if result.slices:
        st.subheader(
            f":material/view_column: By {escape_markdown(state.slice_column)}", anchor=False
        )
        shown = result.slices[:MAX_SLICE_TABS]
        more = len(result.slices) - len(shown)
        st.caption(
            "One waterfall per value (a numeric column in the slice finder's quantile bins); "
            "the slice with the largest significant gap first; a gap on fewer than "
            f"{MIN_SLICE_ROWS} rows of a slice is no priority."
            + (
                f" The first {len(shown)} of {len(result.slices)} values are shown: "
                "`diagnose --slice` lists them all."
                if more
                else ""
            )
        )
        tabs = st.tabs(
            [
                f"{escape_markdown(state.slice_column)} = {escape_markdown(value)}"
                for value, _ in shown
            ]
        )
        for tab, (value, sliced) in zip(tabs, shown, strict=True):
            with tab:
                show(sliced, key=f"slice_{value}", title=f"{state.slice_column} = {value}")
                gap = sliced.largest_gap()
                if gap is not None:
                    st.markdown(
                        f"Fix first here: **{GAP_LABELS[gap.name]}** ({sliced.fmt(gap.value)})"
                    )


CONCENTRATIONS_SHOWN = 5


def concentration_section(store: Store, project: Project, state: DiagnoseState) -> None:
    """Where the dev errors concentrate: the strongest significant slices of the metadata
    columns, each with what gap it drives and a button to diagnose by a column of it."""
    try:
        search = error_slices(store, state)
    except InputError as exc:
        st.caption(f":material/grain: Slices could not be searched: {escape_markdown(exc)}")
        return
    if search is None:
        return
    st.subheader(":material/grain: Where errors concentrate", anchor=False)
    shown = search.slices[:CONCENTRATIONS_SHOWN]
    st.caption(
        f"{search.significant:,} of {search.tried:,} slices of dev have an error rate "
        f"significantly above the rest ({search.base_rate:.1%} overall)"
        + (
            f"; below the {len(shown)} strongest distinct ones (variants mostly inside a "
            "stronger slice are left out)"
            if search.significant > len(shown)
            else ""
        )
        + f". {escape_markdown(search.method[0].upper() + search.method[1:])}."
    )
    if not shown:
        st.info("No slice of dev stands out: the errors are spread evenly over the metadata.")
        return
    version = store.versions.get(state.version_id) if state.version_id else None
    may_edit = current_user().can("change the diagnosis inputs") and version is not None
    for rank, found in enumerate(shown):
        with st.container(border=True):
            st.markdown(f"**{rank + 1}.** {escape_markdown(concentration_line(found))}")
            notes = [representation_line(found)]
            gap = (found.waterfall or {}).get("largest_gap")
            if gap:
                notes.append(f"within the slice, the largest gap is {GAP_LABELS[gap]}")
            notes.append(
                f"95% interval {found.interval[0]:.1%}–{found.interval[1]:.1%}, "
                f"adjusted p {found.p_adjusted:.2g}"
            )
            st.caption(escape_markdown(" · ".join(n for n in notes if n)))
            if (
                st.button(
                    "Diagnose by this slice",
                    key=f"make_slice_{project.id}_{rank}",
                    icon=":material/view_column:",
                    disabled=not may_edit,
                    help="Adds a yes/no column of this slice to the version's predictions and "
                    "shows one waterfall per value",
                )
                and version is not None
            ):
                try:
                    column = add_slice_column(store, version, found, current_user())
                except InputError as exc:
                    st.error(escape_markdown(exc))
                    continue
                st.session_state[MADE_SLICE_KEY.format(project.id)] = column  # box shows it
                st.toast(f"Diagnosing by {escape_markdown(column)}", icon=":material/check:")
                st.rerun()


@st.cache_data(max_entries=16, show_spinner="Comparing versions…")
def _comparison_cached(
    _store: Store, before: ModelVersion, after: ModelVersion, tags, examined
) -> dict:
    """The comparison's JSON form; the key is both versions (their saved inputs), the tags of
    the earlier one and its sample's ids, so a new tag, a new sample or a changed human level
    compares again."""
    return compare_versions(_store, before, after).to_dict()


def comparison_section(store: Store, project: Project, state: DiagnoseState) -> None:
    """Compare the current version with another one: each level before/after with its paired
    test, the gaps before/after, a verdict, and what it fixed of the other's tagged errors."""
    versions = [v for v in store.versions.list(project.id) if v.state.source == "upload"]
    current = next((v for v in versions if v.id == state.version_id), None)
    others = [v for v in versions if current is not None and v.id != current.id]
    if current is None or not others:
        return
    st.subheader(":material/compare: Compare versions", anchor=False)
    earlier = [v for v in others if v.number < current.number] or others
    names = {v.id: v.name for v in others}
    chosen = st.selectbox(
        f"Compare {current.name} with",
        list(names),
        index=list(names).index(earlier[0].id),
        format_func=lambda version_id: names[version_id],
        key=f"compare_with_{project.id}_{current.id}",
    )
    other = next(v for v in others if v.id == chosen)
    before, after = (other, current) if other.number < current.number else (current, other)
    try:
        data = _comparison_cached(
            store, before, after, store.labels.tag_table(before.id), sample_ids(store, before)
        )
    except InputError as exc:
        st.error(f"{escape_markdown(exc)}\n\nThese two versions cannot be compared.")
        return
    st.markdown(f"**{before.name} → {after.name}** · {data['verdict']} · {pairing_line(data)}")
    st.dataframe(pd.DataFrame(level_rows(data)), hide_index=True, key="compare_levels")
    st.dataframe(pd.DataFrame(gap_change_rows(data)), hide_index=True, key="compare_gaps")
    fixed = category_lines(data)
    if fixed:
        st.markdown(f"**What the new model fixed** (of {before.name}'s tagged dev errors)")
        st.markdown("\n".join(f"- {line}" for line in fixed))
    eyeball_section(store, data, before, after)
    for note in data["notes"]:
        st.caption(f":material/info: {note}")
    st.caption(method_note())


def eyeball_section(store: Store, data: dict, before: ModelVersion, after: ModelVersion) -> None:
    """Examined vs the rest of the earlier version's dev errors; when the examined ones improved
    significantly more, the warning and a button drawing a fresh sample from the rest."""
    line = eyeball_line(data)
    if line is None:
        return
    st.markdown(f"**Eyeball vs blackbox** · {escape_markdown(line)}")
    warning = data["eyeball"]["warning"]
    if not warning:
        return
    st.warning(escape_markdown(warning), icon=":material/visibility:")
    examined = sample_ids(store, before) or []
    busy = store.labels.has_reviews(after.id)
    may = current_user().can("draw a sample") and not busy
    if st.button(
        f"Draw a fresh sample of {after.name}'s dev errors from the rest",
        key=f"fresh_sample_{after.id}",
        icon=":material/shuffle:",
        disabled=not may,
        help=(
            f"{after.name} already has tagged examples: drawing would replace them"
            if busy
            else f"Draws {after.name}'s sample from the dev errors no one examined in "
            f"{before.name}'s sample, for tagging on Error analysis"
        ),
    ):
        try:
            predictions = read_required(store, after, "drawing a sample")
            drawn = draw_sample(
                store,
                after.id,
                predictions,
                max(len(examined), 1),
                seed=0,
                user=current_user(),
                exclude=examined,
            )
        except InputError as exc:
            st.error(escape_markdown(exc))
            return
        st.toast(
            f"Drew {drawn.size} fresh dev errors of {escape_markdown(after.name)}",
            icon=":material/check:",
        )
        page_link("error_analysis")
