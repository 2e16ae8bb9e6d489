"""Diagnose's target-data widgets: a ``learning-curve --target-pool --json`` result in, its
curve beside the plan and its forecast on the plan's data-mismatch line out."""

from __future__ import annotations

from typing import Any

import streamlit as st

from diagnostics.charts import target_curve_chart
from strategy_app.curve import target_service
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.uploads import handle_once


def _key(project_id: int) -> str:
    return f"_target_curve_{project_id}"


def current_target(project_id: int) -> dict[str, Any] | None:
    """The target-data curve given on this page for the project this session (None: none)."""
    curve: dict[str, Any] | None = st.session_state.get(_key(project_id))
    return curve


def target_chart(curve: dict[str, Any]) -> None:
    """The curve (Altair, the column's width) and its verdict or problem, one line each."""
    if curve.get("problem"):
        st.error(escape_markdown(curve["problem"]))
    if curve.get("runs"):
        st.altair_chart(target_curve_chart(curve), key="target_curve_chart")
    if curve.get("verdict") and not curve.get("problem"):
        st.caption(escape_markdown(curve["verdict"]))
    for line in (curve.get("failures") or []) + (curve.get("warnings") or []):
        st.caption(f":material/warning: {escape_markdown(line)}")


def target_section(project_id: int) -> None:
    """The uploader of a target-data curve (JSON, read as JSON only; nothing saved changes)."""
    with st.expander(":material/move_down: Target data: what moving target examples in is worth"):
        st.caption(
            "For data mismatch: give the JSON of `learning-curve --dataset csv:FILE "
            "--target-pool pool|COLUMN=VALUE [--objective …] --json`, which trains with k "
            "target examples moved from the pool into training (k = 0 up to the whole pool). "
            "The curve err(k) = a + b·(k + m)^(−c) is drawn beside the plan, and the plan's "
            "target-data line carries how many target examples close half the mismatch gap. "
            "It stays in this session."
        )
        uploaded = st.file_uploader(
            "Target-data curve (JSON)", type=["json"], key=f"target_upload_{project_id}"
        )
        if uploaded is None:
            return

        def accept(name: str, data: bytes) -> str:
            st.session_state[_key(project_id)] = target_service.parse_target_curve(data, name)
            return f"target-data curve {name} read"

        refusal = handle_once(uploaded, f"target_curve_{project_id}", accept, rerun=True)
        if refusal:
            st.error(refusal)
