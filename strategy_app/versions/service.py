"""A project's model versions without the UI: their files, read once, and their deletion.

A version's predictions file is kept by the upload store under its SHA-256, so a path names
its bytes for good: :func:`read_version` reads each (file, columns) once per process and every
feature (Diagnose, error analysis, evidence, the report, the CLI) reads through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from diagnostics.ingest import Predictions, read_predictions
from diagnostics.validation import InputError
from strategy_app.auth import User, require
from strategy_app.store import DiagnoseState, ModelVersion, Store
from strategy_app.store.audit import VERSION_DELETE

READ_CACHE_SIZE = 4  # a 10M-row file's frame is large


def version_file(store: Store, state: DiagnoseState) -> Path | None:
    """The saved predictions file of a version's inputs (None for typed levels or before the
    first upload); raises InputError when the file is missing from the data folder."""
    if state.source != "upload" or not state.upload_sha256:
        return None
    path = store.uploads.path(state.upload_sha256)
    if not path.is_file():
        raise InputError(
            f"the saved file {state.upload_name or ''} is missing from the data folder; "
            "upload it again on Diagnose"
        )
    return path


def require_file(store: Store, version: ModelVersion, needed_for: str) -> Path:
    """:func:`version_file` of a version that must have one: a version of typed levels only
    is refused in one line naming it and ``needed_for`` (e.g. "comparing")."""
    path = version_file(store, version.state)
    if path is None:
        raise InputError(f"{version.name} has typed levels only: {needed_for} needs predictions")
    return path


@dataclass(frozen=True)
class VersionFile:
    """A version's predictions file as it is read: the path (named by its content hash, so it
    never changes), the metric (None: detected) and the name messages give it. Hashable: the
    key of every per-file cache."""

    path: Path
    metric: str | None
    display_name: str


def file_of(store: Store, state: DiagnoseState) -> VersionFile | None:
    """:func:`version_file` with how it is read (None for typed levels)."""
    path = version_file(store, state)
    if path is None:
        return None
    return VersionFile(path, state.metric, state.upload_name or path.name)


@lru_cache(maxsize=READ_CACHE_SIZE)
def read_file(file: VersionFile, extra_columns: tuple[str, ...] = ()) -> Predictions:
    """The predictions of ``file`` with ``extra_columns``, read once per file and columns in
    this process (callers must not change the frame). Raises InputError when refused."""
    return read_predictions(
        file.path,
        metric=file.metric,
        extra_columns=extra_columns,
        display_name=file.display_name,
    )


def read_version(
    store: Store, state: DiagnoseState, extra_columns: Sequence[str] = ()
) -> Predictions | None:
    """A version's predictions with ``extra_columns`` (None for typed levels), through
    :func:`read_file`. Raises InputError when the file is refused or missing."""
    file = file_of(store, state)
    return None if file is None else read_file(file, tuple(extra_columns))


def read_required(
    store: Store, version: ModelVersion, needed_for: str, extra_columns: Sequence[str] = ()
) -> Predictions:
    """:func:`read_version` of a version that must have predictions, refused as
    :func:`require_file` refuses (``needed_for``: what needs them, e.g. "drawing a sample")."""
    require_file(store, version, needed_for)
    found = read_version(store, version.state, extra_columns)
    assert found is not None  # require_file refused typed levels
    return found


def delete_version(store: Store, version: ModelVersion, user: User) -> None:
    """Delete a model version with its sample and tags (nothing of another version) and prune
    files no version keeps; ``user`` must be an editor; the deletion is audited."""
    require(user, "delete model versions")
    store.versions.delete(version.id)
    store.uploads.prune()
    store.audit.record(user.identity, VERSION_DELETE, version.project_id, version.name)
