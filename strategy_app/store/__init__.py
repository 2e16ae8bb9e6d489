"""Persistence: projects and their saved page state, through SQLAlchemy 2.

The embedded default is a SQLite file ``strategy.db`` in the data folder
(``STRATEGY_DATA_DIR``, else ``./data``); ``STRATEGY_DB_URL`` points at PostgreSQL for a team.
The schema is created and upgraded by Alembic when a store opens (see
:mod:`strategy_app.store.migrate`), so a newer app upgrades an older database in place.

Usage::

    store = open_store()
    project = store.projects.create("my model")
    store.versions.add(project.id, DiagnoseState(...), label="logistic regression")  # v1
    store.diagnose_state.save(project.id, DiagnoseState(...))  # the current version's inputs
    store.labels.save_edit(version.id, LabelEdit(...), expected_version)  # error analysis
    store.split_plans.save(project.id, SplitPageState(...))  # splits
    store.search_runs.add(project.id, "caviar", name, storage, settings, out_dir)  # search
    store.search_state.save_space(project.id, space)  # the Search page's space

Other pages add their own tables with a new Alembic revision in ``migrations/versions`` and a
small repository module beside :mod:`~strategy_app.store.projects`, attached to :class:`Store`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from diagnostics.validation import InputError
from strategy_app.store.audit import AuditRepository
from strategy_app.store.diagnose_state import DiagnoseState, DiagnoseStateRepository
from strategy_app.store.engine import (
    atomic,
    check_sqlite_file,
    damaged,
    data_dir,
    database_url,
    is_locked,
    make_engine,
    storage_url,
    unreadable,
)
from strategy_app.store.labels import LabelRepository
from strategy_app.store.migrate import upgrade
from strategy_app.store.objects import ObjectStorage
from strategy_app.store.projects import Project, ProjectRepository
from strategy_app.store.search_runs import SearchRun, SearchRunRepository
from strategy_app.store.search_state import SearchPageState, SearchStateRepository
from strategy_app.store.settings import SettingsRepository
from strategy_app.store.shares import ShareRepository
from strategy_app.store.split_plans import SplitPageState, SplitPlanRepository
from strategy_app.store.suggestions import SuggestionRepository
from strategy_app.store.uploads import UploadRepository
from strategy_app.store.versions import ModelVersion, VersionRepository

__all__ = [
    "DiagnoseState",
    "ModelVersion",
    "Project",
    "SearchPageState",
    "SearchRun",
    "SplitPageState",
    "Store",
    "data_dir",
    "database_url",
    "one_transaction",
    "open_store",
]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Store:
    """The application's database and data folder, with one repository per kind of record."""

    engine: Engine
    folder: Path
    projects: ProjectRepository
    diagnose_state: DiagnoseStateRepository
    uploads: UploadRepository
    settings: SettingsRepository
    labels: LabelRepository
    shares: ShareRepository
    split_plans: SplitPlanRepository
    search_runs: SearchRunRepository
    search_state: SearchStateRepository
    audit: AuditRepository
    versions: VersionRepository
    suggestions: SuggestionRepository

    @property
    def location(self) -> str:
        """Where the data lives, for display: the SQLite file path or the URL without password."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database is not None:
            return str(Path(url.database).resolve())
        return url.render_as_string(hide_password=True)

    def atomic(self, work: Callable[[], T]) -> T:
        """Run ``work`` so that all its writes are one transaction (see :func:`engine.atomic`)."""
        return atomic(self.engine, work)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def one_transaction(
    service: Callable[Concatenate[Store, P], T],
) -> Callable[Concatenate[Store, P], T]:
    """Make a service (its first argument the :class:`Store`) save its change and its audit
    entry in one transaction: both are saved, or neither is and the message says so."""

    @functools.wraps(service)
    def run(store: Store, *args: P.args, **kwargs: P.kwargs) -> T:
        return store.atomic(lambda: service(store, *args, **kwargs))

    return run


def open_store(url: str | None = None, folder: Path | None = None) -> Store:
    """Open (and create or upgrade) the store at ``url`` (default: :func:`database_url`)."""
    folder = Path(folder) if folder is not None else data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    url = url or database_url(folder)
    check_sqlite_file(url)
    engine = make_engine(url)
    try:
        upgrade(engine)
    except DatabaseError as exc:
        engine.dispose()
        if isinstance(exc, OperationalError) and is_locked(exc):  # busy, not damaged
            raise unreadable(engine, exc) from None
        reason = (str(exc.orig).strip().splitlines() or [type(exc).__name__])[0]
        database = engine.url.database
        if engine.url.get_backend_name() == "sqlite" and database is not None:
            raise damaged(Path(database), f"cannot be read ({reason})") from None
        raise InputError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)} "
            f"({reason}); check STRATEGY_DB_URL and that the server is running"
        ) from None
    shared = storage_url()
    uploads = UploadRepository(
        engine, folder / "uploads", ObjectStorage(shared) if shared is not None else None
    )
    uploads.remove_leftovers()
    return Store(
        engine=engine,
        folder=folder,
        projects=ProjectRepository(engine, uploads),
        diagnose_state=DiagnoseStateRepository(engine),
        uploads=uploads,
        settings=SettingsRepository(engine),
        labels=LabelRepository(engine),
        shares=ShareRepository(engine),
        split_plans=SplitPlanRepository(engine, uploads),
        search_runs=SearchRunRepository(engine),
        search_state=SearchStateRepository(engine),
        audit=AuditRepository(engine),
        versions=VersionRepository(engine),
        suggestions=SuggestionRepository(engine),
    )
