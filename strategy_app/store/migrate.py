"""Create or upgrade the schema with Alembic, programmatically, when the store opens.

Revisions live in ``migrations/versions``; each one only adds or transforms (never drops user
data), so a newer app opens an older database and keeps everything in it. To add tables for a
new page: add the model to :mod:`strategy_app.store.schema` and a revision whose
``down_revision`` is the current head (``alembic_config()`` works with Alembic's own commands).

The app keeps its revision in its own table, :data:`VERSION_TABLE`, not Alembic's default
``alembic_version``: Optuna's RDB storage keeps *its* schema version there, and a team's searches
share the app's PostgreSQL database. A database from before the move has its revision moved over
when it opens (:func:`adopt_legacy_version`).
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, inspect, select
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"
ATTEMPTS = 5
VERSION_TABLE = "strategy_alembic_version"
LEGACY_VERSION_TABLE = "alembic_version"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration for our migrations folder (bound to ``engine`` if given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        # the option is ConfigParser text: a literal % (an escaped password, a file: URI) is %%
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    """The newest revision this app knows (None only without any migration)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None for an empty database."""
    with engine.connect() as connection:
        return migration_context(connection).get_current_revision()


def migration_context(connection: Connection) -> MigrationContext:
    """Alembic's view of ``connection`` with the app's own version table."""
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})


def adopt_legacy_version(engine: Engine) -> None:
    """Move the app's revision out of ``alembic_version`` into :data:`VERSION_TABLE`.

    Only rows naming one of the app's revisions move (Optuna's stay); the old table is dropped
    when nothing is left in it, so Optuna can then create its own.
    """
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        if LEGACY_VERSION_TABLE not in tables or VERSION_TABLE in tables:
            return
        legacy = Table(LEGACY_VERSION_TABLE, MetaData(), Column("version_num", String(32)))
        ours = [
            revision
            for revision in connection.execute(select(legacy.c.version_num)).scalars()
            if revision in known
        ]
        if not ours:
            return
        context = migration_context(connection)
        for revision in ours:
            context.stamp(scripts, revision)
        connection.execute(legacy.delete().where(legacy.c.version_num.in_(ours)))
        if connection.execute(select(legacy.c.version_num)).first() is None:
            legacy.drop(connection)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest); a no-op when already there.

    Two processes starting at once may race on an empty SQLite file; the loser retries and
    then finds the schema already in place.
    """
    for attempt in range(ATTEMPTS):
        try:
            adopt_legacy_version(engine)
            command.upgrade(alembic_config(engine), revision)
            return
        except OperationalError:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.1 * 2**attempt)
