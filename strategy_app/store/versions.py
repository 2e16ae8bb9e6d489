"""Model versions: each one a predictions upload (or typed levels) with its diagnosis inputs.

A project holds versions v1, v2, ...; one is its *current* version (what Diagnose, error
analysis and the report show). An upload or a search's best model adds a version and never
replaces one; a version's error-analysis sample and tags belong to it
(:mod:`strategy_app.store.labels`, keyed by the version's id), so deleting a version deletes
them and nothing of another version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, func, select

from diagnostics.validation import InputError
from diagnostics.waterfall import HumanLevel
from strategy_app.store.engine import read, write
from strategy_app.store.labels import delete_version_labels
from strategy_app.store.schema import ModelVersionRow, Project, Upload, utcnow

SOURCES = ("upload", "typed")
ORIGINS = ("upload", "search", "typed", "migrated", "location")
CURVE_COLUMNS = ("learning_curve", "target_curve")


@dataclass
class DiagnoseState:
    """A version's diagnosis inputs: a predictions upload or typed levels, and the settings.

    ``typed_levels`` maps split names to values (fractions for the error rate); ``metric`` is
    None to detect it from an upload; ``upload_sha256`` names a file kept by the upload store;
    ``annotations_sha256`` names a kept annotations file (several people's labels of dev/test
    examples: measured human levels); ``version_id`` is the version these inputs are saved in
    (None: not saved yet).
    """

    source: str = "upload"
    upload_sha256: str | None = None
    upload_name: str | None = None
    typed_levels: dict[str, float] = field(default_factory=dict)
    human_levels: list[HumanLevel] = field(default_factory=list)
    metric: str | None = None
    unit: str = ""
    slice_column: str | None = None
    annotations_sha256: str | None = None
    annotations_name: str | None = None
    version_id: int | None = field(default=None, compare=False)

    @property
    def has_input(self) -> bool:
        """True when there is something to diagnose."""
        if self.source == "upload":
            return self.upload_sha256 is not None
        return any(v is not None for v in self.typed_levels.values())


@dataclass(frozen=True)
class ModelVersion:
    """One saved version: its number and name, where it came from, and its inputs; how many
    train rows its model saw (None: not given), its measured learning curve and its
    target-data curve (None: none)."""

    id: int
    project_id: int
    number: int
    name: str
    origin: dict
    created_at: datetime
    state: DiagnoseState
    train_size: int | None = None
    learning_curve: dict | None = field(default=None, compare=False, repr=False)
    target_curve: dict | None = field(default=None, compare=False, repr=False)


class VersionRepository:
    """Add, list, switch, update and delete a project's model versions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(
        self, project_id: int, state: DiagnoseState, *, label: str, origin: dict | None = None
    ) -> ModelVersion:
        """Save ``state`` as the project's next version ("vN · label") and make it current.

        ``origin`` says where it came from: ``{"kind": "upload"}``, ``{"kind": "search", "run":
        name, "trial": n}``, ``{"kind": "location", "location": …, "run_id": …}`` (added from
        object storage or an MLflow run) or ``{"kind": "typed"}`` (default: from the state's
        source).
        """
        origin = origin or {"kind": "typed" if state.source == "typed" else "upload"}
        if origin.get("kind") not in ORIGINS:
            raise ValueError(f"origin kind must be one of {ORIGINS}")
        return write(self._engine, lambda s: _add(s, project_id, state, label, origin))

    def list(self, project_id: int) -> list[ModelVersion]:
        """The project's versions, newest first."""
        return read(self._engine, lambda session: project_versions(session, project_id))

    def get(self, version_id: int) -> ModelVersion | None:
        """The version with this id, or None."""

        def load(session) -> ModelVersion | None:
            row = session.get(ModelVersionRow, version_id)
            return None if row is None else _version(session, row)

        return read(self._engine, load)

    def current(self, project_id: int) -> ModelVersion | None:
        """The project's current version (None before its first)."""
        return read(self._engine, lambda s: current_version(s, project_id))

    def set_current(self, project_id: int, version_id: int) -> None:
        """Make ``version_id`` (a version of this project) the current one."""

        def switch(session) -> None:
            row = session.get(ModelVersionRow, version_id)
            if row is None or row.project_id != project_id:
                raise InputError("that version no longer exists; pick another one")
            session.get(Project, project_id).current_version_id = version_id

        write(self._engine, switch)

    def save_inputs(self, version_id: int, state: DiagnoseState) -> None:
        """Change a version's diagnosis settings (human levels, slice column, metric, unit,
        typed levels); its predictions file stays the one it was made from."""

        def change(session) -> None:
            row = session.get(ModelVersionRow, version_id)
            if row is None:
                raise InputError("that version no longer exists; pick another one")
            _fill(row, state, keep_upload=True)

        write(self._engine, change)

    def replace_file(self, version_id: int, state: DiagnoseState) -> None:
        """Point a version at ``state``'s file, the same predictions with one more column (a
        slice column made of them), and save its settings: the version's sample, tags and
        comparisons stay valid, as its rows and ids are unchanged."""

        def change(session) -> None:
            row = session.get(ModelVersionRow, version_id)
            if row is None:
                raise InputError("that version no longer exists; pick another one")
            _fill(row, state)

        write(self._engine, change)

    def set_train_size(self, version_id: int, train_size: int | None) -> None:
        """Save how many train rows the version's model saw (None: forget it)."""
        if train_size is not None and (isinstance(train_size, bool) or train_size < 1):
            raise InputError(f"train size {train_size!r}: give a count of rows, at least 1")
        self._change(version_id, lambda row: setattr(row, "train_size", train_size))

    def save_curve(
        self, version_id: int, curve: dict | None, column: str = "learning_curve"
    ) -> None:
        """Keep ``curve`` with the version in ``column`` (``learning_curve``: a
        ``learning-curve --json`` result; ``target_curve``: a ``--target-pool`` one), replacing
        the one it had (None: remove it)."""
        if column not in CURVE_COLUMNS:
            raise ValueError(f"column must be one of {CURVE_COLUMNS}")
        self._change(version_id, lambda row: setattr(row, column, curve))

    def _change(self, version_id: int, change) -> None:
        def apply(session) -> None:
            row = session.get(ModelVersionRow, version_id)
            if row is None:
                raise InputError("that version no longer exists; pick another one")
            change(row)
            row.updated_at = utcnow()

        write(self._engine, apply)

    def delete(self, version_id: int) -> int | None:
        """Delete a version and what belongs only to it (its sample, categories and tags);
        returns the project's current version afterwards (the newest left, or None)."""

        def remove(session) -> int | None:
            row = session.get(ModelVersionRow, version_id)
            if row is None:
                raise InputError("that version no longer exists")
            project = session.get(Project, row.project_id)
            delete_version_labels(session, version_id)
            session.execute(delete(ModelVersionRow).where(ModelVersionRow.id == version_id))
            if project.current_version_id == version_id:
                newest = session.scalar(
                    select(ModelVersionRow.id)
                    .where(ModelVersionRow.project_id == project.id)
                    .order_by(ModelVersionRow.number.desc())
                )
                project.current_version_id = newest
            return project.current_version_id

        return write(self._engine, remove)


def _fill(row: ModelVersionRow, state: DiagnoseState, keep_upload: bool = False) -> None:
    if state.source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    if not keep_upload:
        row.source, row.upload_sha256 = state.source, state.upload_sha256
    row.typed_levels = {k: v for k, v in state.typed_levels.items() if v is not None}
    row.human_levels = [{"name": h.name, "value": h.value} for h in state.human_levels]
    row.metric, row.unit, row.slice_column = state.metric, state.unit or "", state.slice_column
    row.annotations_sha256 = state.annotations_sha256
    row.updated_at = utcnow()


def _add(
    session, project_id: int, state: DiagnoseState, label: str | None, origin: dict
) -> ModelVersion:
    last = session.scalar(
        select(func.max(ModelVersionRow.number)).where(ModelVersionRow.project_id == project_id)
    )
    number = (last or 0) + 1
    row = ModelVersionRow(
        project_id=project_id,
        number=number,
        name=f"v{number} · {(label or '').strip() or 'model'}"[:200],
        origin=origin,
        created_at=utcnow(),
    )
    _fill(row, state)
    session.add(row)
    session.flush()
    project = session.get(Project, project_id)
    project.current_version_id, project.updated_at = row.id, utcnow()
    return _version(session, row)


def _version(session, row: ModelVersionRow) -> ModelVersion:
    upload = session.get(Upload, row.upload_sha256) if row.upload_sha256 else None
    annotations = session.get(Upload, row.annotations_sha256) if row.annotations_sha256 else None
    state = DiagnoseState(
        source=row.source,
        upload_sha256=row.upload_sha256,
        upload_name=upload.name if upload else None,
        typed_levels=dict(row.typed_levels or {}),
        human_levels=[HumanLevel(h["name"], h["value"]) for h in row.human_levels or []],
        metric=row.metric,
        unit=row.unit or "",
        slice_column=row.slice_column,
        annotations_sha256=row.annotations_sha256,
        annotations_name=annotations.name if annotations else None,
        version_id=row.id,
    )
    return ModelVersion(
        row.id,
        row.project_id,
        row.number,
        row.name,
        dict(row.origin or {}),
        row.created_at,
        state,
        row.train_size,
        row.learning_curve,
        row.target_curve,
    )


def project_versions(session, project_id: int) -> list[ModelVersion]:
    """Within a read, the project's versions, newest first."""
    query = (
        select(ModelVersionRow)
        .where(ModelVersionRow.project_id == project_id)
        .order_by(ModelVersionRow.number.desc())
    )
    return [_version(session, row) for row in session.scalars(query)]


def current_version(session, project_id: int) -> ModelVersion | None:
    """Within a read, the project's current version (None before its first)."""
    project = session.get(Project, project_id)
    if project is None or project.current_version_id is None:
        return None
    row = session.get(ModelVersionRow, project.current_version_id)
    return None if row is None else _version(session, row)


def find_version(session, project_id: int, state: DiagnoseState) -> ModelVersionRow | None:
    """Within a session, the newest version made from the same predictions file (uploads) or
    the newest typed-levels version (typed), else None."""
    if state.source == "upload":
        return _newest(session, project_id, ModelVersionRow.upload_sha256 == state.upload_sha256)
    return _newest(session, project_id, ModelVersionRow.source == "typed")


def save_state(
    session, project_id: int, state: DiagnoseState, label: str | None = None, origin=None
) -> int:
    """Within a write, save the Diagnose inputs; returns the version they were saved in.

    Settings of the same predictions (or typed levels) change that version in place; other
    predictions are a new version (named "vN · ``label``", default the file's name, from
    ``origin``), except that they fill the version they were saved from when it had no file
    yet. Choosing uploads before any file reopens the newest version with a file (else keeps
    an empty one to fill). The version saved in becomes the current one.
    """
    row = session.get(ModelVersionRow, state.version_id) if state.version_id else None
    if row is not None and row.project_id != project_id:
        row = None
    label = label or ("typed levels" if state.source == "typed" else state.upload_name)
    origin = origin or {"kind": "typed" if state.source == "typed" else "upload"}
    if state.source == "upload" and not state.upload_sha256:
        target = _newest(session, project_id, ModelVersionRow.source == "upload")
        if target is None:
            return _add(session, project_id, state, "no predictions yet", origin).id
    elif row is not None and _holds(row, state):
        target = row
        _fill(target, state)
    else:
        target = find_version(session, project_id, state)
        if target is None and row is not None and row.source == "upload" and not row.upload_sha256:
            target = row  # the empty version waiting for its first file
            target.name, target.origin = f"v{row.number} · {label}"[:200], origin
        if target is None:
            return _add(session, project_id, state, label, origin).id
        _fill(target, state)
    session.get(Project, project_id).current_version_id = target.id
    return target.id


def _holds(row: ModelVersionRow, state: DiagnoseState) -> bool:
    """True when ``row`` is the version of these inputs (same typed levels or same file)."""
    if row.source != state.source:
        return False
    return state.source == "typed" or row.upload_sha256 == state.upload_sha256


def _newest(session, project_id: int, *where) -> ModelVersionRow | None:
    query = (
        select(ModelVersionRow)
        .where(ModelVersionRow.project_id == project_id, *where)
        .order_by(ModelVersionRow.number.desc())
    )
    return session.scalars(query).first()
