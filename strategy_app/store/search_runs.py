"""The Search page's runs, per project: what was started, where its study and files live."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from strategy_app.store.engine import read, write
from strategy_app.store.schema import Project, SearchRunRow, utcnow

KINDS = ("caviar", "panda")


@dataclass(frozen=True)
class SearchRun:
    """One run: ``kind`` caviar (an Optuna search) or panda (one model), its study and files."""

    id: int
    project_id: int
    kind: str
    name: str
    storage: str
    settings: dict
    out_dir: str
    pid: int | None


def _run(row: SearchRunRow) -> SearchRun:
    return SearchRun(
        row.id,
        row.project_id,
        row.kind,
        row.name,
        row.storage,
        dict(row.settings),
        row.out_dir,
        row.pid,
    )


class SearchRunRepository:
    """Add, list and update the project's runs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(
        self, project_id: int, kind: str, name: str, storage: str, settings: dict, out_dir: str
    ) -> SearchRun:
        """Record a new run (before its process starts)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")

        def insert(session) -> SearchRun:
            project = session.get(Project, project_id)
            if project is None:
                raise LookupError(f"project {project_id} does not exist")
            project.updated_at = utcnow()
            row = SearchRunRow(
                project_id=project_id,
                kind=kind,
                name=name,
                storage=storage,
                settings=settings,
                out_dir=out_dir,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _run(row)

        return write(self._engine, insert)

    def list(self, project_id: int) -> list[SearchRun]:
        """The project's runs, newest first."""
        query = (
            select(SearchRunRow)
            .where(SearchRunRow.project_id == project_id)
            .order_by(SearchRunRow.id.desc())
        )
        return read(self._engine, lambda s: [_run(r) for r in s.scalars(query)])

    def get(self, run_id: int) -> SearchRun | None:
        """One run by id."""
        row = read(self._engine, lambda s: s.get(SearchRunRow, run_id))
        return _run(row) if row is not None else None

    def update(self, run_id: int, *, pid: int | None = None, settings: dict | None = None) -> None:
        """Record the process now working on the run and/or its new settings."""

        def change(session) -> None:
            row = session.get(SearchRunRow, run_id)
            if row is None:
                raise LookupError(f"search run {run_id} does not exist")
            row.pid = pid
            if settings is not None:
                row.settings = settings

        write(self._engine, change)
