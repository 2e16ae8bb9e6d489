"""What the user set on the Search page, saved per project: the space and the LR range test."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine

from strategy_app.store.engine import read
from strategy_app.store.projects import save_project_row
from strategy_app.store.schema import SearchStateRow, utcnow


@dataclass(frozen=True)
class SearchPageState:
    """The search space being edited (a space dict) and the last LR range test (its JSON form);
    None where nothing was saved yet."""

    space: dict | None = None
    lr_finder: dict | None = None


class SearchStateRepository:
    """Save and load :class:`SearchPageState` per project."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self, project_id: int) -> SearchPageState:
        """The project's saved Search page state (empty when nothing was saved)."""
        row = read(self._engine, lambda s: s.get(SearchStateRow, project_id))
        if row is None:
            return SearchPageState()
        return SearchPageState(space=row.space, lr_finder=row.lr_finder)

    def save(self, project_id: int, state: SearchPageState) -> None:
        """Replace the project's saved Search page state."""
        row = SearchStateRow(
            project_id=project_id,
            space=state.space,
            lr_finder=state.lr_finder,
            updated_at=utcnow(),
        )
        save_project_row(self._engine, project_id, row)

    def save_space(self, project_id: int, space: dict) -> None:
        """Keep ``space`` as the project's search space."""
        self.save(project_id, replace(self.load(project_id), space=space))

    def save_lr_finder(self, project_id: int, result: dict) -> None:
        """Keep ``result`` as the project's last LR range test."""
        self.save(project_id, replace(self.load(project_id), lr_finder=result))
