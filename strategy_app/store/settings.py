"""Application-wide key/value settings."""

from __future__ import annotations

from sqlalchemy import Engine

from strategy_app.store.engine import read, write
from strategy_app.store.schema import Setting


class SettingsRepository:
    """Get and set string settings by key."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, key: str, default: str | None = None) -> str | None:
        """The setting's value, or ``default`` when unset."""
        row = read(self._engine, lambda s: s.get(Setting, key))
        return row.value if row else default

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        write(self._engine, lambda s: s.merge(Setting(key=key, value=value)))
