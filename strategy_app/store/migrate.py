"""Create or upgrade the schema with Alembic, programmatically, when the store opens.

Revisions live in ``migrations/versions``; each one only adds or transforms (never drops user
data), so a newer app opens an older database and keeps everything in it. To add tables for a
new page: add the model to :mod:`strategy_app.store.schema` and a revision whose
``down_revision`` is the current head (``alembic_config()`` works with Alembic's own commands).
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"
ATTEMPTS = 5


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
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest); a no-op when already there.

    Two processes starting at once may race on an empty SQLite file; the loser retries and
    then finds the schema already in place.
    """
    for attempt in range(ATTEMPTS):
        try:
            command.upgrade(alembic_config(engine), revision)
            return
        except OperationalError:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.1 * 2**attempt)
