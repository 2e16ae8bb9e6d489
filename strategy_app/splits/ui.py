"""The Splits page's widgets: plan inputs and a dataset, saved to the project, and the results.

Inputs are saved only when they make a valid plan (or a readable dataset), so a typo shows an
error naming the problem and the project keeps what it had. Plans come from
:mod:`diagnostics.splits`; assignment and the leakage check from :mod:`diagnostics.split_assign`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from diagnostics.charts import split_plan_chart
from diagnostics.split_assign import SplitAssignment, read_dataset
from diagnostics.splitnames import SPLIT_LABELS, SPLITS
from diagnostics.splits import SplitPlan
from diagnostics.validation import InputError
from strategy_app.search import service as search_service
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.signin import current_user
from strategy_app.shell.uploads import handle_once
from strategy_app.splits import service
from strategy_app.store import Project, SplitPageState, Store

MODES = {"single": "One distribution", "mismatched": "Source + target (mismatched)"}
NONE = "(none)"
MAX_TARGET_CHOICES = 200
KEPT = "Nothing was saved: the project keeps its last valid inputs."


def plan_inputs(store: Store, project: Project) -> SplitPlan | None:
    """Render the size inputs; saves valid changes and returns the plan (None if none)."""
    saved = store.split_plans.load(project.id)
    pid = project.id
    mode = st.segmented_control(
        "Where does the data come from?",
        options=list(MODES),
        format_func=lambda mode: MODES[mode],
        default=saved.mode,
        key=f"split_mode_{pid}",
    )
    state = replace(saved, mode=mode or saved.mode)
    if state.mode == "single":
        size = st.text_input(
            "Number of examples",
            saved.size,
            key=f"split_size_{pid}",
            placeholder="e.g. 1,000,000",
        )
        state = replace(state, size=size)
    else:
        source, source_name, target, target_name = st.columns(4)
        state = replace(
            state,
            source=source.text_input(
                "Source examples", saved.source, key=f"split_source_{pid}", placeholder="200,000"
            ),
            source_name=source_name.text_input(
                "Source name", saved.source_name, key=f"split_source_name_{pid}"
            ),
            target=target.text_input(
                "Target examples", saved.target, key=f"split_target_{pid}", placeholder="10,000"
            ),
            target_name=target_name.text_input(
                "Target name (what the product sees)",
                saved.target_name,
                key=f"split_target_name_{pid}",
            ),
        )
    test_col, train_dev_col, difference_col, baseline_col = st.columns(4)
    state = replace(
        state,
        test=test_col.toggle("Test set", saved.test, key=f"split_test_{pid}", wrap=True),
        train_dev=train_dev_col.toggle(
            "Train-dev set",
            saved.train_dev,
            key=f"split_train_dev_{pid}",
            wrap=True,
            help="Carved out of training: separates variance from data mismatch.",
        ),
        min_difference=difference_col.text_input(
            "Smallest difference dev must detect",
            saved.min_difference,
            key=f"split_difference_{pid}",
            placeholder="e.g. 0.5%",
            help="Sizes dev and test by a two-proportion test at 95% confidence, 80% power.",
        ),
        baseline_error=baseline_col.text_input(
            "Expected error rate",
            saved.baseline_error,
            key=f"split_baseline_{pid}",
            placeholder="e.g. 5%",
            help="For the power calculation; without it the worst case (50%) is used.",
        ),
    )
    try:
        plan = service.page_plan(state)
    except InputError as exc:
        st.error(f"{escape_markdown(exc)}\n\n{KEPT}", icon=":material/error:")
        return None
    if state != saved:
        service.save_choices(store, pid, state, current_user())
    if plan is None:
        st.caption("Type a number of examples (or source and target sizes) to see a plan.")
    return plan


def plan_table(plan: dict) -> pd.DataFrame:
    """The plan as a table: split, count, share and where its examples come from."""
    return pd.DataFrame(
        [
            {
                "split": SPLIT_LABELS[split],
                "count": plan["counts"][split],
                "share": f"{plan['fractions'][split]:.2%}",
                "from": ", ".join(
                    f"{n:,} {source}" for source, n in plan["composition"][split].items() if n
                )
                or "—",
            }
            for split in SPLITS
        ]
    )


def show_plan(plan: dict, title: str = "Split plan") -> None:
    """The plan's table, bar chart, notes and warnings."""
    table_col, chart_col = st.columns([2, 3])
    table_col.dataframe(
        plan_table(plan),
        hide_index=True,
        column_config={"count": st.column_config.NumberColumn(format="localized")},
    )
    chart_col.altair_chart(split_plan_chart(plan, title=title))
    for warning in plan["warnings"]:
        st.warning(warning, icon=":material/warning:")
    st.markdown("\n".join(f"- {note}" for note in plan["notes"]))
    power = plan["power"]
    if power.get("detectable_difference") is not None:
        st.caption(
            f"A dev set of {power['dev']:,} detects an error difference of about "
            f"{power['detectable_difference']:.2%} (95% confidence, 80% power); the rule of "
            f"thumb gives {plan['dev_rule_of_thumb']:,}. Rule: {plan['rule']}."
        )


def handle_dataset_upload(store: Store, project: Project, uploaded) -> str | None:
    """Validate and save a newly uploaded dataset once; returns the refusal (escaped), if any."""

    def accept(name: str, data: bytes) -> str:
        service.accept_dataset(store, project.id, name, data, current_user())
        return f"Saved {name} to {project.name}"

    return handle_once(uploaded, "split datasets", accept)


@st.cache_data(max_entries=4, show_spinner="Reading the dataset…")
def _dataset(path: str, name: str) -> pd.DataFrame:
    return read_dataset(path, display_name=name)


@st.cache_data(max_entries=8, show_spinner="Assigning splits…")
def _assignment(path: str, name: str, state: SplitPageState) -> SplitAssignment:
    return service.page_assignment(_dataset(path, name), state, name)


@st.cache_data(max_entries=2, show_spinner=False)
def assigned_file(path: str, name: str, state: SplitPageState) -> bytes:
    """The dataset with its ``split`` column, in the uploaded file's format (CSV or Parquet)."""
    frame = service.with_split_column(_dataset(path, name), _assignment(path, name, state))
    return service.file_bytes(frame, like=path, name=name)


def _choice(container, label: str, options: list, current, key: str, **kwargs):
    shown = [NONE, *options]
    index = shown.index(current) if current in shown else 0
    value = container.selectbox(label, shown, index=index, key=key, **kwargs)
    return None if value == NONE else value


def dataset_section(store: Store, project: Project) -> None:
    """Upload a dataset, choose its columns, and show the assignment, leakage and download."""
    pid = project.id
    uploaded = st.file_uploader(
        "Dataset (CSV or Parquet): one row per example, any columns",
        type=["csv", "parquet", "pq"],
        key=f"split_upload_{pid}",
    )
    if uploaded is not None:
        error = handle_dataset_upload(store, project, uploaded)
        if error:
            st.error(f"{error}\n\n{KEPT}", icon=":material/error:")
    saved = store.split_plans.load(pid)
    if saved.upload_sha256 is None:
        st.caption("Upload a dataset to write a seeded split column into it.")
        return
    path = str(store.uploads.path(saved.upload_sha256))
    name = saved.upload_name or "dataset"
    try:
        frame = _dataset(path, name)
    except InputError as exc:
        st.error(escape_markdown(exc), icon=":material/error:")
        return
    st.caption(
        f":material/description: Using **{name}** · {len(frame):,} rows, saved in this project."
    )
    columns = [str(c) for c in frame.columns]
    label_col, group_col, hash_col, seed_col = st.columns(4)
    state = replace(
        saved,
        label=_choice(label_col, "Label (stratify by)", columns, saved.label, f"split_label_{pid}"),
        group=_choice(
            group_col,
            "Group (kept in one split)",
            columns,
            saved.group,
            f"split_group_{pid}",
            help="e.g. patient or user id: no group crosses splits.",
        ),
        hash_column=_choice(
            hash_col,
            "Duplicate check by",
            columns,
            saved.hash_column,
            f"split_hash_{pid}",
            help="A column of input hashes; (none) compares whole rows.",
        ),
        seed=int(
            seed_col.number_input("Seed", min_value=0, value=saved.seed, key=f"split_seed_{pid}")
        ),
    )
    source_col, target_col = st.columns(2)
    source_column = _choice(
        source_col,
        "Source/target column (mismatched data)",
        columns,
        saved.source_column,
        f"split_source_column_{pid}",
    )
    target_value = None
    if source_column is not None:
        values = sorted(frame[source_column].astype(str).unique().tolist())[:MAX_TARGET_CHOICES]
        current = saved.target_value if saved.target_value in values else values[0]
        target_value = target_col.selectbox(
            "Target value (what the product sees)",
            values,
            index=values.index(current),
            key=f"split_target_value_{pid}_{source_column}",
        )
    state = replace(state, source_column=source_column, target_value=target_value)
    try:
        result = _assignment(path, name, state)
    except InputError as exc:
        st.error(f"{escape_markdown(exc)}\n\n{KEPT}", icon=":material/error:")
        return
    if state != saved:
        service.save_choices(store, pid, state, current_user())
    _show_assignment(result, len(frame))
    stem = Path(name).stem
    suffix = Path(name).suffix or ".csv"
    st.download_button(
        "Download the dataset with its split column",
        data=lambda: assigned_file(path, name, state),
        file_name=f"{stem}_split{suffix}",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        key=f"split_download_{pid}",
    )
    if (
        st.button(
            "Use it as this project's dataset",
            key=f"split_to_project_{pid}",
            disabled=state.label is None,
            icon=":material/dataset:",
            help="The Search page then trains on exactly these splits and ids (choose the label "
            "column first), so its best model compares paired with the project's versions.",
        )
        and state.label is not None
    ):
        try:
            frame = service.search_frame(_dataset(path, name), result, state.label)
            data = service.file_bytes(frame, like=path, name=name)
            summary = search_service.accept_dataset(store, pid, name, data, current_user())
        except InputError as exc:
            st.error(f"{exc}\n\nThe project keeps its dataset as it was.")
        else:
            st.success(f"Saved {summary} as the project's dataset: search on it from Search.")


def _show_assignment(result: SplitAssignment, rows: int) -> None:
    if isinstance(result.plan, SplitPlan):
        show_plan(result.plan.to_dict(), title="Plan for this dataset")
    st.markdown("**Assigned rows**")
    st.dataframe(
        pd.DataFrame(
            [
                {"split": SPLIT_LABELS[s], "rows": n, "share": f"{n / rows:.2%}"}
                for s, n in result.assigned.items()
            ]
        ),
        hide_index=True,
    )
    for message in result.shortfalls:
        st.warning(message, icon=":material/warning:")
    if result.leakage.clean:
        st.success(
            f"No leakage: no identical {result.leakage.checked} or groups in two splits.",
            icon=":material/check:",
        )
    for message in result.leakage.messages():
        st.error(f"Leakage: {escape_markdown(message)}", icon=":material/error:")
