"""Where studies live: an Optuna journal file by default, or an RDB URL that workers join.

Optuna's journal file in the data folder is its advice for several processes on one machine
(SQLite locks under parallel writers); a PostgreSQL URL (the team's database) lets workers on
many machines share a study. RDB storages get Optuna's heartbeat and its retry callback.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalStorage

from diagnostics.validation import InputError, check_journal_file, one_line, redact_url

JOURNAL_NAME = "optuna-journal.log"
HEARTBEAT_INTERVAL_S = 10


def resolve_storage(
    storage: str | None, data_dir: str | Path, team_storage: str | None = None
) -> str:
    """The storage spec: an Optuna URL as given, else a journal file path.

    Without ``storage``: ``team_storage`` when it names PostgreSQL (the team set-up; the app's
    database URL), else the journal file in ``data_dir``. A SQLite app database is not used,
    because SQLite locks under parallel writers.
    """
    if storage:
        return storage if "://" in storage else str(Path(storage).expanduser().resolve())
    if team_storage and team_storage.startswith(("postgresql", "postgres")):
        return team_storage
    return str((Path(data_dir) / JOURNAL_NAME).resolve())


def open_storage(spec: str, max_retry: int = 3) -> optuna.storages.BaseStorage:
    """Open the storage: RDB (heartbeat + retry) for a URL, a journal file otherwise."""
    if "://" in spec:
        try:
            with warnings.catch_warnings():  # Optuna marks heartbeats experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    spec,
                    heartbeat_interval=HEARTBEAT_INTERVAL_S,
                    grace_period=3 * HEARTBEAT_INTERVAL_S,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry),
                )
        except Exception as exc:  # sqlalchemy's many connection errors
            raise InputError(f"cannot open storage {redact(spec)}: {one_line(exc)}") from exc
    path = check_journal_file(spec)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = JournalFileBackend(str(path))
    except OSError as exc:
        raise InputError(f"cannot open journal file {path}: {exc}") from exc
    return JournalStorage(backend)


def redact(spec: str) -> str:
    """A storage URL without its password, for messages and JSON."""
    return redact_url(spec)
