"""Diagnose's target-data widgets: a ``learning-curve --target-pool --json`` result in (kept
with the version shown, audited), its curve beside the plan and its forecast on the plan's
data-mismatch line out, for that version only."""

from __future__ import annotations

from typing import Any

import streamlit as st

from diagnostics.charts import target_curve_chart
from strategy_app.curve import saved, target_service
from strategy_app.curve.service import TARGET
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.signin import current_user
from strategy_app.shell.uploads import handle_once
from strategy_app.store import DiagnoseState, Project, Store


def current_target(store: Store, state: DiagnoseState) -> dict[str, Any] | None:
    """The target-data curve kept with the version shown (None: none); a saved curve that
    cannot be read comes back as its one-line problem."""
    version = store.versions.get(state.version_id) if state.version_id else None
    return saved.readable_curve(store, version, TARGET)


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
    if curve.get("source"):
        st.caption(escape_markdown(curve["source"]))


def target_section(store: Store, project: Project, state: DiagnoseState) -> None:
    """The uploader of the shown version's target-data curve (JSON, read as JSON only; kept
    with that version and audited; a refused file changes nothing saved)."""
    version = store.versions.get(state.version_id) if state.version_id else None
    with st.expander(":material/move_down: Target data: what moving target examples in is worth"):
        st.caption(
            "For data mismatch: give the JSON of `learning-curve --dataset csv:FILE "
            "--target-pool pool|COLUMN=VALUE [--objective …] --json`, which trains with k "
            "target examples moved from the pool into training (k = 0 up to the whole pool). "
            "The curve err(k) = a + b·(k + m)^(−c) is drawn beside the plan, and the plan's "
            "target-data line carries how many target examples close half the mismatch gap. "
            "It is kept with the version shown (`--project NAME` on the command line keeps it "
            "there too)."
        )
        if version is None:
            st.info("Upload predictions first: a target-data curve is kept with a version.")
            return
        if version.target_curve is not None:
            st.info(
                f"{escape_markdown(version.name)} has a target-data curve: it is the one shown "
                "beside the plan; a new file replaces it.",
                icon=":material/info:",
            )
        uploaded = st.file_uploader(
            f"Target-data curve of {escape_markdown(version.name)} (JSON)",
            type=["json"],
            key=f"target_upload_{project.id}_{version.id}",
            disabled=not current_user().can(saved.EDIT),
        )
        if uploaded is None:
            return

        def accept(name: str, data: bytes) -> str:
            curve = target_service.parse_target_curve(data, name)
            saved.save_version_curve(store, version, curve, current_user(), TARGET)
            return f"target-data curve {name} kept with {version.name}"

        kind = f"target_curve_{project.id}_{version.id}"
        refusal = handle_once(uploaded, kind, accept, rerun=True)
        if refusal:
            st.error(refusal)
