"""The database engine: SQLite in the data folder by default, any SQLAlchemy URL by setting.

SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, and every
write is a short transaction retried with backoff when the file is locked by another process.
"""

from __future__ import annotations

import importlib.util
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from diagnostics.validation import InputError

DB_FILE = "strategy.db"
BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 6
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_HEADER_BYTES = 100

UNWRITABLE = {
    "readonly database": "the database file is read-only",
    "read-only transaction": "the database is read-only",
    "disk is full": "the disk holding the database is full",
    "no space left": "the disk holding the database is full",
    "unable to open database file": "the data folder cannot be written",
    "disk i/o error": "the disk holding the database failed to write",
}

T = TypeVar("T")


class StoreUnwritable(InputError):
    """The database refused a write (read-only file or folder, full disk); nothing was saved.

    An :class:`InputError` so that every page already shows it with ``st.error``.
    """


class StoreDamaged(InputError):
    """The SQLite file is not a readable database; it is left exactly as it is."""


def damaged(path: Path, what: str) -> StoreDamaged:
    """The refusal of a damaged database file: which file, what is wrong, what to do."""
    return StoreDamaged(
        f"the database file {path} {what}; nothing was changed. Restore it from a backup, or "
        "move it away to start a fresh database (or set STRATEGY_DATA_DIR to another folder)"
    )


def check_sqlite_file(url: str) -> None:
    """Refuse a SQLite database path that holds a folder, an empty file, a file that is not
    SQLite, or one cut shorter than its header says, so no fresh database is made over it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    name = parsed.database.removeprefix("file:")
    if name == ":memory:" or parsed.query.get("mode") == "memory":
        return
    path = Path(name)
    if path.is_dir():
        raise damaged(path, "is a folder, not a database")
    if not path.exists():
        return
    with path.open("rb") as handle:
        header = handle.read(SQLITE_HEADER_BYTES)
    size = path.stat().st_size
    if size == 0:
        raise damaged(path, "is empty (0 bytes), not a database")
    if not header.startswith(SQLITE_MAGIC):
        raise damaged(path, "is not a SQLite database (damaged, or another kind of file)")
    if len(header) < SQLITE_HEADER_BYTES:
        raise damaged(path, f"is cut short ({size} bytes)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and size < pages * page_size:  # the size field is valid
        raise damaged(path, f"is cut short ({size:,} of {pages * page_size:,} bytes)")


def data_dir() -> Path:
    """The data folder: ``STRATEGY_DATA_DIR`` or ``./data``."""
    return Path(os.environ.get("STRATEGY_DATA_DIR") or "data").resolve()


def storage_url() -> str | None:
    """``STRATEGY_STORAGE_URL`` (``s3://bucket/prefix``: files a team's servers share), or None
    to keep files in the data folder only."""
    return os.environ.get("STRATEGY_STORAGE_URL", "").strip() or None


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
    if url.startswith("postgresql+psycopg") and importlib.util.find_spec("psycopg") is None:
        raise InputError(
            "a PostgreSQL database URL needs psycopg: pip install 'strategy-desk[postgres]'"
        )
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


def unwritable(engine: Engine, error: DBAPIError) -> StoreUnwritable | None:
    """A clear :class:`StoreUnwritable` for a write the database refused, else None."""
    text = str(error.orig).lower()
    reason = next((why for cause, why in UNWRITABLE.items() if cause in text), None)
    if reason is None:
        return None
    where = engine.url.render_as_string(hide_password=True)
    return StoreUnwritable(
        f"not saved: {reason} ({where}); make the data folder writable (or free space) and "
        "try again — everything saved before is intact"
    )


def write(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one short write transaction, retried with backoff while locked.

    A write the database refuses for good (read-only file, full disk) raises
    :class:`StoreUnwritable`; the transaction is rolled back, so nothing is half-saved.
    """
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)
        except DBAPIError as exc:
            retry = isinstance(exc, OperationalError) and is_locked(exc)
            if retry and attempt < WRITE_ATTEMPTS - 1:
                time.sleep(0.05 * 2**attempt * (1 + random.random()))
                continue
            refused = unwritable(engine, exc)
            if refused is None:
                raise
            raise refused from exc
    raise AssertionError("unreachable")


def read(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a read-only session (objects stay usable after it closes)."""
    with Session(engine, expire_on_commit=False) as session:
        return work(session)
