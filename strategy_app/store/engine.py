"""The database engine: SQLite in the data folder by default, any SQLAlchemy URL by setting.

SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, and every
write is a short transaction retried with backoff when the file is locked by another process.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

DB_FILE = "strategy.db"
BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 6

T = TypeVar("T")


def data_dir() -> Path:
    """The data folder: ``STRATEGY_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("STRATEGY_DATA_DIR") or "data").resolve()


def database_url(folder: Path | None = None) -> str:
    """``STRATEGY_DB_URL`` or the SQLite file ``strategy.db`` in the data folder."""
    configured = os.environ.get("STRATEGY_DB_URL")
    if configured:
        return configured
    return f"sqlite:///{(folder or data_dir()) / DB_FILE}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def is_locked(error: OperationalError) -> bool:
    """True when SQLite reports another writer holding the file."""
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


def write(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one short write transaction, retried with backoff while locked."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)
        except OperationalError as exc:
            if not is_locked(exc) or attempt == WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def read(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a read-only session (objects stay usable after it closes)."""
    with Session(engine, expire_on_commit=False) as session:
        return work(session)
