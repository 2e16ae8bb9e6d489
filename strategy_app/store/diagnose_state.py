"""What the user entered on the Diagnose page, saved per project."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from diagnostics.waterfall import HumanLevel
from strategy_app.store.engine import read
from strategy_app.store.projects import save_project_row
from strategy_app.store.schema import DiagnoseStateRow, Upload, utcnow

SOURCES = ("upload", "typed")


@dataclass
class DiagnoseState:
    """The Diagnose page's inputs: a predictions upload or typed levels, and the settings.

    ``typed_levels`` maps split names to values (fractions for the error rate); ``metric`` is
    None to detect it from an upload; ``upload_sha256`` names a file kept by the upload store.
    """

    source: str = "upload"
    upload_sha256: str | None = None
    upload_name: str | None = None
    typed_levels: dict[str, float] = field(default_factory=dict)
    human_levels: list[HumanLevel] = field(default_factory=list)
    metric: str | None = None
    unit: str = ""
    slice_column: str | None = None

    @property
    def has_input(self) -> bool:
        """True when there is something to diagnose."""
        if self.source == "upload":
            return self.upload_sha256 is not None
        return any(v is not None for v in self.typed_levels.values())


class DiagnoseStateRepository:
    """Save and load :class:`DiagnoseState` per project."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, project_id: int, state: DiagnoseState) -> None:
        """Replace the project's saved Diagnose inputs with ``state``."""
        if state.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        row = DiagnoseStateRow(
            project_id=project_id,
            source=state.source,
            upload_sha256=state.upload_sha256,
            typed_levels={k: v for k, v in state.typed_levels.items() if v is not None},
            human_levels=[{"name": h.name, "value": h.value} for h in state.human_levels],
            metric=state.metric,
            unit=state.unit or "",
            slice_column=state.slice_column,
            updated_at=utcnow(),
        )
        save_project_row(self._engine, project_id, row)

    def load(self, project_id: int) -> DiagnoseState:
        """The project's saved inputs, or an empty state when nothing was saved."""
        return read(self._engine, lambda session: load_state(session, project_id))


def load_state(session, project_id: int) -> DiagnoseState:
    """Within a read, the project's saved inputs (an empty state when nothing was saved)."""
    row = session.get(DiagnoseStateRow, project_id)
    if row is None:
        return DiagnoseState()
    upload = session.get(Upload, row.upload_sha256) if row.upload_sha256 else None
    return DiagnoseState(
        source=row.source,
        upload_sha256=row.upload_sha256,
        upload_name=upload.name if upload else None,
        typed_levels=dict(row.typed_levels or {}),
        human_levels=[HumanLevel(h["name"], h["value"]) for h in row.human_levels or []],
        metric=row.metric,
        unit=row.unit or "",
        slice_column=row.slice_column,
    )
