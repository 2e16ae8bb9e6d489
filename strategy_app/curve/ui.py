"""Diagnose's learning-curve widgets: each version's train size in, the curve and verdict out."""

from __future__ import annotations

from typing import Any

import streamlit as st

from diagnostics.charts import learning_curve_chart
from diagnostics.validation import InputError
from strategy_app.curve import service
from strategy_app.shell.markdown import escape_markdown
from strategy_app.store import Project, Store


def _key(project_id: int) -> str:
    return f"_learning_curve_{project_id}"


def current_curve(project_id: int) -> dict[str, Any] | None:
    """The learning curve fitted on this page for the project this session (None: none yet)."""
    curve: dict[str, Any] | None = st.session_state.get(_key(project_id))
    return curve


def curve_chart(curve: dict[str, Any]) -> None:
    """The curve (Altair, the column's width), its verdict and any problem, in one line each."""
    if curve.get("problem"):
        st.error(curve["problem"])
    if curve.get("runs"):
        st.altair_chart(learning_curve_chart(curve), key="learning_curve_chart")
    if curve.get("verdict") and not curve.get("problem"):
        st.caption(curve["verdict"])


def inputs_section(store: Store, project: Project) -> None:
    """Each uploaded version's train size (rows its model was trained on) → the fitted curve."""
    versions = [v for v in store.versions.list(project.id) if v.state.source == "upload"]
    with st.expander(":material/trending_down: Learning curve: what more data is worth"):
        st.caption(
            "Give the number of training rows each version's model saw (leave a version empty "
            "to skip it; versions at the same size count as seeds). The curve "
            "err(n) = a + b·n^(−c) is fitted to their dev errors and forecast at 2×, 4× and 10× "
            "the data; the action plan's more-data line then carries the forecast. "
            "`learning-curve --objective …` measures one by training on fractions of train."
        )
        if not versions:
            st.info("Upload predictions of versions trained on different amounts of data first.")
            return
        sizes: list[tuple[Any, int]] = []
        columns = st.columns(4)
        for i, version in enumerate(versions):
            with columns[i % 4]:
                size = st.number_input(
                    f"Train rows of {escape_markdown(version.name)}",
                    min_value=1,
                    value=None,
                    step=1,
                    key=f"curve_size_{project.id}_{version.id}",
                )
            if size is not None:
                sizes.append((version, int(size)))
        if st.button("Fit the learning curve", key=f"curve_fit_{project.id}"):
            try:
                curve = service.curve_for_versions(store, sizes)
            except InputError as exc:
                st.error(str(exc))
                return
            st.session_state[_key(project.id)] = curve
            st.rerun()
