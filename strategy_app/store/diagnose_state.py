"""What the user entered on the Diagnose page: the current model version's inputs.

The inputs live in the project's versions (:mod:`strategy_app.store.versions`); this repository
reads the current version's and saves changed settings into it, or a new version when the
predictions are new.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine

from strategy_app.store.engine import read, write
from strategy_app.store.versions import DiagnoseState, current_version, save_state

__all__ = ["DiagnoseState", "DiagnoseStateRepository", "load_state"]


class DiagnoseStateRepository:
    """Save and load the current version's :class:`DiagnoseState` per project."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(
        self,
        project_id: int,
        state: DiagnoseState,
        *,
        label: str | None = None,
        origin: dict | None = None,
    ) -> DiagnoseState:
        """Save ``state``: in its version when it has the same predictions (or typed levels),
        else as a new version (``label`` and ``origin`` name it: see
        :func:`~strategy_app.store.versions.save_state`); that version becomes current.
        Returns the state as saved."""
        version_id = write(
            self._engine, lambda session: save_state(session, project_id, state, label, origin)
        )
        return replace(state, version_id=version_id)

    def load(self, project_id: int) -> DiagnoseState:
        """The current version's inputs, or an empty state before the project's first."""
        return read(self._engine, lambda session: load_state(session, project_id))


def load_state(session, project_id: int) -> DiagnoseState:
    """Within a read, the current version's inputs (an empty state before the first)."""
    version = current_version(session, project_id)
    return DiagnoseState() if version is None else version.state
