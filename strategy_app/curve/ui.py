"""Diagnose's learning-curve widgets: each version's saved train size in, the curve and verdict
out (the version's own measured curve first, else the fit on the saved sizes)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from diagnostics.charts import learning_curve_chart
from diagnostics.validation import InputError
from strategy_app.curve import saved
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.signin import current_user
from strategy_app.store import DiagnoseState, Project, Store


def _key(project_id: int) -> str:
    return f"_learning_curve_{project_id}"


def current_curve(store: Store, project: Project, state: DiagnoseState) -> dict[str, Any] | None:
    """The curve beside the plan of the version shown: the curve measured for that version
    (``learning-curve --project``), else this session's fit, else the fit on the saved train
    sizes when it holds (None: none). A saved curve that cannot be read comes back as its
    one-line problem."""
    version = store.versions.get(state.version_id) if state.version_id else None
    try:
        measured = saved.version_curve(version)
    except InputError as exc:
        return saved.problem_curve(str(exc))
    session: dict[str, Any] | None = st.session_state.get(_key(project.id))
    if measured is not None or session is not None:
        return measured or session
    try:
        fitted = saved.sizes_curve(store, project.id)
    except InputError:
        return None  # the learning-curve section says why
    return fitted if fitted and not fitted.get("problem") else None


def curve_chart(curve: dict[str, Any]) -> None:
    """The curve (Altair, the column's width), its verdict and any problem, in one line each."""
    if curve.get("problem"):
        st.error(curve["problem"])
    if curve.get("runs"):
        st.altair_chart(learning_curve_chart(curve), key="learning_curve_chart")
    if curve.get("verdict") and not curve.get("problem"):
        st.caption(curve["verdict"])
    notes = [curve.get("source"), curve.get("left_out")]
    if any(notes):
        st.caption(escape_markdown(" · ".join(n for n in notes if n)))


def inputs_section(store: Store, project: Project, state: DiagnoseState) -> None:
    """Each uploaded version's train size (rows its model was trained on, saved with it) →
    the fitted curve; says when the version shown has a measured curve instead."""
    versions = [v for v in store.versions.list(project.id) if v.state.source == "upload"]
    with st.expander(":material/trending_down: Learning curve: what more data is worth"):
        st.caption(
            "Give the number of training rows each version's model saw (saved with the "
            "version; leave a version empty to leave it out; versions at the same size count "
            "as seeds). The curve err(n) = a + b·n^(−c) is fitted to their dev errors and "
            "forecast at 2×, 4× and 10× the data; the action plan's more-data line then "
            "carries the forecast. `learning-curve --objective … --project NAME` measures one "
            "by training on fractions of train and keeps it with the current version."
        )
        shown = next((v for v in versions if v.id == state.version_id), None)
        if shown is not None and shown.learning_curve is not None:
            st.info(
                f"{escape_markdown(shown.name)} has a learning curve measured by "
                "`learning-curve`: it is the one shown beside the plan.",
                icon=":material/info:",
            )
        if not versions:
            st.info("Upload predictions of versions trained on different amounts of data first.")
            return
        sizes: dict[int, int | None] = {}
        columns = st.columns(4)
        for i, version in enumerate(versions):
            with columns[i % 4]:
                size = st.number_input(
                    f"Train rows of {escape_markdown(version.name)}",
                    min_value=1,
                    value=version.train_size,
                    step=1,
                    key=f"curve_size_{project.id}_{version.id}",
                )
            sizes[version.id] = None if size is None else int(size)
        may_edit = current_user().can(saved.EDIT)
        if st.button(
            "Fit the learning curve", key=f"curve_fit_{project.id}", disabled=not may_edit
        ):
            try:
                saved.save_train_sizes(store, project.id, sizes, current_user())
                curve = saved.sizes_curve(store, project.id)
            except InputError as exc:
                st.error(f"{escape_markdown(exc)}\n\nNothing was changed.")
                return
            if curve is None:
                st.error("Give the train size of at least four versions to fit a curve.")
                return
            st.session_state[_key(project.id)] = curve
            st.rerun()
