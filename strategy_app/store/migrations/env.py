"""Alembic environment: runs on the engine handed over by :func:`strategy_app.store.migrate`."""

from alembic import context
from sqlalchemy import create_engine

from strategy_app.store.migrate import VERSION_TABLE
from strategy_app.store.schema import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url", "")
)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
