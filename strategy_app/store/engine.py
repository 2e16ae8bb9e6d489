"""The database engine: SQLite in the data folder by default, any SQLAlchemy URL by setting.

SQLite runs in WAL mode (readers never wait for the writer) with a busy timeout, and every
write is a short transaction retried with backoff when the file is locked by another process.
"""

from __future__ import annotations

import importlib.util
import os
import random
import time
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from diagnostics.validation import InputError, one_line, shown

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
    "database is locked": "another program kept the database locked for too long",
    "database is busy": "another program kept the database locked for too long",
}
INTEGRITY_RETRIES = 2
READ_ATTEMPTS = 4

T = TypeVar("T")
_ENGINES: dict[Path, weakref.WeakSet[Engine]] = {}  # this process's engines per SQLite file


class StoreSession(Session):
    """The store's sessions: every text is checked before it is written (:func:`check_texts`)."""


COLUMN_LABELS = {
    "uploads.name": "the file name",
    "projects.name": "the project name",
    "projects.dataset_name": "the dataset's file name",
    "model_versions.name": "the version name",
    "model_versions.slice_column": "the slice column",
    "model_versions.unit": "the unit",
    "label_examples.example_id": "the example id",
    "label_rows.example_id": "the example id",
    "label_tags.example_id": "the example id",
    "label_suggestions.example_id": "the example id",
    "label_rows.annotator": "the annotator",
    "label_tags.annotator": "the annotator",
    "label_categories.name": "the category name",
    "label_rows.notes": "the notes",
    "report_shares.title": "the report title",
    "search_runs.name": "the search name",
}


def _texts(value: object) -> list[str]:
    """Every text in a column value (a JSON column's nested strings and keys too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


def check_text(label: str, value: object, limit: int | None = None) -> None:
    """Refuse a value with a NUL character in any of its texts, or a text over ``limit``."""
    for text in _texts(value):
        if "\x00" in text:
            raise InputError(
                f"{label} '{shown(text, 40)}' holds a NUL character (\\x00); remove it "
                "and try again — nothing was saved"
            )
    if isinstance(value, str) and limit is not None and len(value) > limit:
        raise InputError(
            f"{label} '{shown(value, 40)}' is {len(value):,} characters long; at most "
            f"{limit:,} fit — shorten it and try again (nothing was saved)"
        )


def check_texts(row: object) -> None:
    """Refuse, before any database sees it, a row's text holding NUL or longer than its column.

    PostgreSQL refuses both (SQLite would keep them), so both stores refuse them the same
    way, with :func:`check_text`'s one-line message naming the field and the fix.
    """
    table = getattr(row, "__table__", None)
    if table is None:
        return
    for column in table.columns:
        label = COLUMN_LABELS.get(f"{table.name}.{column.name}", column.name.replace("_", " "))
        check_text(label, getattr(row, column.key, None), getattr(column.type, "length", None))


@event.listens_for(StoreSession, "before_flush")
def _check_flushed_texts(session: Session, _context: object, _instances: object) -> None:
    for row in [*session.new, *session.dirty]:
        check_texts(row)


@dataclass
class _Unit:
    """The transaction of one :func:`atomic` call: its session and what waits for its commit."""

    session: StoreSession
    after_commit: list[Callable[[], object]] = field(default_factory=list)


_UNITS: ContextVar[dict[int, _Unit] | None] = ContextVar("store_units", default=None)


class StoreUnreadable(InputError):
    """A read the database could not answer after its retries (connection lost, file locked);
    one line, and nothing was changed."""


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


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    name = parsed.database.removeprefix("file:")
    if name == ":memory:" or parsed.query.get("mode") == "memory":
        return None
    return Path(name)


def _holds_connections(path: Path) -> bool:
    """True while an engine of this process keeps a connection to the SQLite file open."""
    pools = [engine.pool for engine in _ENGINES.get(path.resolve(), ())]
    return any(pool.checkedin() + pool.checkedout() for pool in pools)  # type: ignore[attr-defined]


def check_sqlite_file(url: str) -> None:
    """Refuse a SQLite database path that holds a folder, an empty file, a file that is not
    SQLite, or one cut shorter than its header says, so no fresh database is made over it.

    The header is read only before this process connects to the file: closing any descriptor
    of a file drops every POSIX lock the process holds on it, which would let another process
    write inside this one's transaction (SQLite's documented way to corrupt a database). Once
    connected, SQLite itself reports a damaged file.
    """
    path = sqlite_path(url)
    if path is None or _holds_connections(path):
        return
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
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", _refuse_nul_parameters)
        return engine
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    path = sqlite_path(url)
    if path is not None:
        _ENGINES.setdefault(path.resolve(), weakref.WeakSet()).add(engine)

    event.listen(engine, "before_cursor_execute", _refuse_nul_parameters)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _refuse_nul_parameters(_conn, _cursor, _statement, parameters, _context, _many) -> None:
    """Refuse a statement with a NUL character in a text parameter, on every database alike:
    PostgreSQL cannot take one even in a lookup, and no saved text holds one."""
    rows = parameters if isinstance(parameters, list) else [parameters]
    for row in rows:
        if isinstance(row, dict):
            values = list(row.values())
        else:
            values = list(row) if isinstance(row, list | tuple) else [row]
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise InputError(
                "a text holding a NUL character (\\x00) cannot be saved or looked up; remove "
                "it and try again — nothing was saved"
            )


def is_locked(error: OperationalError) -> bool:
    """True when SQLite reports another writer holding the file."""
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


def unwritable(engine: Engine, error: DBAPIError) -> StoreUnwritable | None:
    """A clear :class:`StoreUnwritable` for a write the database refused, else None."""
    text = str(error.orig).lower()
    reason = next((why for cause, why in UNWRITABLE.items() if cause in text), None)
    advice = "make the data folder writable (or free space) and try again"
    if reason is None and error.connection_invalidated:
        reason = f"the connection to the database was lost ({one_line(error.orig, 120)})"
    if reason is None:
        return None
    if reason.startswith(("another program", "the connection")):
        advice = "try again in a moment"
    where = engine.url.render_as_string(hide_password=True)
    return StoreUnwritable(
        f"not saved: {reason} ({where}); {advice} — everything saved before is intact"
    )


def write(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one short write transaction, retried with backoff while locked.

    Inside :func:`atomic` the work joins that call's transaction instead (flushed at once, so a
    constraint it breaks is raised here), and commits with it or not at all. A write the
    database refuses for good (read-only file, full disk) raises :class:`StoreUnwritable`; the
    transaction is rolled back, so nothing is half-saved.
    """
    unit = (_UNITS.get() or {}).get(id(engine))
    if unit is not None:
        result = work(unit.session)
        unit.session.flush()
        return result
    return _retried(engine, lambda: _in_session(engine, work))


def atomic(engine: Engine, work: Callable[[], T]) -> T:
    """Run ``work`` (repository calls) so that every write in it is one transaction: a change
    and its audit entry commit together or not at all. Retried whole while SQLite is locked;
    callbacks registered with :func:`after_commit` (file deletions) run once it committed."""
    units = _UNITS.get() or {}
    if id(engine) in units:
        return work()

    def attempt() -> T:
        with StoreSession(engine, expire_on_commit=False) as session, session.begin():
            unit = _Unit(session)
            token = _UNITS.set({**units, id(engine): unit})
            try:
                result = work()
            finally:
                _UNITS.reset(token)
        for callback in unit.after_commit:
            callback()
        return result

    return _retried(engine, attempt)


def after_commit(engine: Engine, callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current :func:`atomic` transaction committed (now outside one):
    files are deleted only after the rows naming them are gone for good."""
    unit = (_UNITS.get() or {}).get(id(engine))
    if unit is None:
        callback()
    else:
        unit.after_commit.append(callback)


def _in_session(engine: Engine, work: Callable[[Session], T]) -> T:
    with StoreSession(engine, expire_on_commit=False) as session, session.begin():
        return work(session)


def _retried(engine: Engine, attempt: Callable[[], T]) -> T:
    """``attempt()`` retried with backoff while SQLite reports the file locked or a dropped
    database connection rolled the transaction back (the whole attempt runs again, so nothing
    is written twice); a key another writer took first is retried twice (a version number, a
    suggestion offered by two sessions at once), then reported as it is."""
    clashes = 0
    for number in range(WRITE_ATTEMPTS):
        try:
            return attempt()
        except IntegrityError as exc:
            clashes += 1
            if clashes > INTEGRITY_RETRIES:
                refused = unwritable(engine, exc)
                if refused is None:
                    raise
                raise refused from exc
            time.sleep(0.01 * (1 + random.random()))
        except DBAPIError as exc:
            locked = isinstance(exc, OperationalError) and is_locked(exc)
            if (locked or exc.connection_invalidated) and number < WRITE_ATTEMPTS - 1:
                time.sleep(0.05 * 2**number * (1 + random.random()))
                continue
            refused = unwritable(engine, exc)
            if refused is None:
                raise
            raise refused from exc
    raise StoreUnwritable(
        "not saved: other sessions kept changing the same records; try again — everything "
        "saved before is intact"
    )


def unreadable(engine: Engine, error: DBAPIError) -> StoreUnreadable:
    """The one line for a read that a lock or a lost connection kept from an answer."""
    locked = isinstance(error, OperationalError) and is_locked(error)
    why = (
        "another program kept the database locked for too long"
        if locked
        else f"the connection to the database was lost ({one_line(error.orig, 120)})"
    )
    where = engine.url.render_as_string(hide_password=True)
    return StoreUnreadable(
        f"not read: {why} ({where}); try again in a moment — nothing was changed"
    )


def read(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a read-only session (objects stay usable after it closes); inside
    :func:`atomic`, in that call's transaction, so it sees what the call wrote so far (and is
    retried with it).

    A read whose connection was lost mid-query (a restarted PostgreSQL, a dropped network) or
    whose SQLite file stayed locked is run again on a fresh connection (reading twice changes
    nothing); after :data:`READ_ATTEMPTS` it raises :class:`StoreUnreadable`, one line.
    """
    unit = (_UNITS.get() or {}).get(id(engine))
    if unit is not None:
        return work(unit.session)
    for number in range(READ_ATTEMPTS):
        try:
            with StoreSession(engine, expire_on_commit=False) as session:
                return work(session)
        except DBAPIError as exc:
            locked = isinstance(exc, OperationalError) and is_locked(exc)
            if not (locked or exc.connection_invalidated):
                raise
            if number < READ_ATTEMPTS - 1:
                time.sleep(0.05 * 2**number * (1 + random.random()))
                continue
            raise unreadable(engine, exc) from None
    raise AssertionError("unreachable: the last attempt returns or raises")
