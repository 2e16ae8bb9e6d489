"""The Diagnose feature without the UI: accept uploads, and turn saved inputs into a diagnosis.

One engine per job: a predictions file is diagnosed by the DuckDB scan
(:func:`diagnostics.fastscan.scan_split_metrics`, which falls back to the exact reader for its
messages), on the page, in ``diagnose FILE`` and in the report alike, so a 10M-row upload
diagnoses as fast in the app as on the command line. Every number comes from
:mod:`diagnostics.waterfall`; this module only wires the saved state
(:class:`~strategy_app.store.DiagnoseState`) to it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from diagnostics.compare import Comparison
from diagnostics.fastcompare import compare_files
from diagnostics.fastscan import ScanResult, scan_split_metrics
from diagnostics.formats import as_file
from diagnostics.ingest import Predictions, check_scores, read_predictions
from diagnostics.mlflow_source import is_mlflow, resolve_run_artifact
from diagnostics.remote import is_remote, shown_location
from diagnostics.slices import (
    SLICE_COLUMN_PREFIX,
    Slice,
    SliceSearch,
    file_with_column,
    find_slices,
    metadata_columns,
    predicate_columns,
    slice_column,
    slice_column_name,
)
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis, HumanLevel, diagnose, diagnose_slices
from strategy_app.auth import User, require
from strategy_app.store import DiagnoseState, ModelVersion, Store
from strategy_app.store.audit import SLICE_COLUMN, UPLOAD, VERSION_DELETE


@dataclass
class DiagnosisResult:
    """What the Diagnose page shows: the diagnosis, per-slice ones, and the file's columns."""

    diagnosis: Diagnosis | None = None
    slices: list[tuple[str, Diagnosis]] = field(default_factory=list)
    slice_columns: list[str] = field(default_factory=list)
    metric: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class FileDiagnosis:
    """The diagnosis of a predictions file, one per slice value, and the scan behind them."""

    diagnosis: Diagnosis
    slices: list[tuple[str, Diagnosis]]
    scan: ScanResult


def diagnose_file(
    path: str | os.PathLike,
    humans: Sequence[HumanLevel] = (),
    *,
    metric: str | None = None,
    unit: str = "",
    slice_column: str | None = None,
    display_name: str | None = None,
) -> FileDiagnosis:
    """The waterfall of a predictions file (and per value of ``slice_column``).

    Raises InputError naming the file, the column or the rows when the file is refused.
    """
    scan = scan_split_metrics(
        path, metric=metric, slice_column=slice_column, display_name=display_name
    )
    return diagnose_scan(scan, humans, unit=unit)


def diagnose_scan(
    scan: ScanResult, humans: Sequence[HumanLevel] = (), *, unit: str = ""
) -> FileDiagnosis:
    """The waterfall of a scanned file, and one per slice value when the scan was sliced."""
    diagnosis = diagnose(scan.splits, humans, metric=scan.metric, unit=unit)
    slices = diagnose_slices(scan.slices, humans, metric=scan.metric, unit=unit)
    return FileDiagnosis(diagnosis, slices, scan)


def check_upload(path: str | os.PathLike, name: str) -> ScanResult:
    """Check a predictions file with the same checks as the CLI (and the score column error
    analysis shows); raises InputError naming ``name``."""
    scan = scan_split_metrics(path, display_name=name)
    check_scores(path, display_name=name)
    return scan


def validate_upload(name: str, data: bytes) -> ScanResult:
    """:func:`check_upload` of uploaded bytes not kept anywhere (a temporary copy)."""
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return check_upload(path, name)


def accept_upload(
    store: Store,
    project_id: int,
    name: str,
    data: bytes,
    user: User,
    *,
    label: str | None = None,
    origin: dict | None = None,
) -> DiagnoseState:
    """Check an upload and, only if it is valid, add it as the project's new current model
    version ("vN · ``label``", default the file's name; ``origin`` says where it came from).

    The bytes are checked where they are kept (one copy); the same file uploaded again reopens
    its version instead. On bad input the InputError propagates, the file is not kept and
    nothing saved changes. The current version's human levels are kept, and its slice column
    when the new file has it too. ``user`` must be an editor (PermissionDenied otherwise); the
    upload is recorded in the audit log.
    """
    require(user, "upload files")
    upload = store.uploads.add(name, data, check=lambda path: check_upload(path, name))
    state = store.diagnose_state.load(project_id)
    columns = slice_candidates(store.uploads.path(upload.sha256))
    state = replace(
        state,
        source="upload",
        upload_sha256=upload.sha256,
        upload_name=name,
        slice_column=state.slice_column if state.slice_column in columns else None,
    )
    state = store.diagnose_state.save(project_id, state, label=label, origin=origin)
    store.audit.record(user.identity, UPLOAD, project_id, name, {"sha256": upload.sha256})
    return state


LOCATION_FIELD = "Location"


def accept_location(
    store: Store, project_id: int, location: str, user: User, *, label: str | None = None
) -> DiagnoseState:
    """Add the predictions file at ``location`` (``s3://``, ``gs://``, ``az://``, ``https://``
    or ``mlflow:runs:/RUN_ID/PATH``) as the project's new current version, as
    :func:`accept_upload` does (a copy is kept with the versions, so the version stays what it
    was when added); its origin records where it came from (the location without credentials
    or signature, and an MLflow run's id). A local path is refused: the server's disk is not
    the user's (upload the file instead). Bad input raises InputError; nothing saved changes.
    """
    require(user, "upload files")
    location = location.strip()
    origin: dict[str, str] = {"kind": "location"}
    if is_mlflow(location):
        artifact = resolve_run_artifact(location)
        source, origin["location"], origin["run_id"] = artifact.source, location, artifact.run_id
    elif is_remote(location):
        source, origin["location"] = location, shown_location(location)
    else:
        raise InputError(
            f"{LOCATION_FIELD}: '{shown_location(location) if '://' in location else location}' "
            "is not a location the app reads; give s3://BUCKET/KEY, gs://, az://, https:// or "
            "mlflow:runs:/RUN_ID/PATH (upload a file from your computer above)"
        )
    file = as_file(source, "predictions file")
    with file.open("rb") as handle:
        data = handle.read()
    return accept_upload(
        store, project_id, file.name, data, user, label=label or file.name, origin=origin
    )


def delete_version(store: Store, version: ModelVersion, user: User) -> None:
    """Delete a model version with its sample and tags (nothing of another version) and prune
    files no version keeps; ``user`` must be an editor; the deletion is audited."""
    require(user, "delete model versions")
    store.versions.delete(version.id)
    store.uploads.prune()
    store.audit.record(user.identity, VERSION_DELETE, version.project_id, version.name)


def save_inputs(store: Store, project_id: int, state: DiagnoseState, user: User) -> None:
    """Save the Diagnose page's inputs (typed levels, human levels, slice column); an editor may."""
    require(user, "change the diagnosis inputs")
    store.diagnose_state.save(project_id, state)


def slice_candidates(path: str | os.PathLike) -> list[str]:
    """Columns of a predictions file that could be slices (not a standard or ``prob_`` one)."""
    return metadata_columns(path)


def compute(store: Store, state: DiagnoseState) -> DiagnosisResult:
    """The diagnosis of the saved inputs (typed levels, or the saved predictions file)."""
    try:
        if state.source == "typed":
            levels = {k: v for k, v in state.typed_levels.items() if v is not None}
            if not levels:
                return DiagnosisResult()
            metric = state.metric or "error"
            diagnosis = diagnose(levels, state.human_levels, metric=metric, unit=state.unit)
            return DiagnosisResult(diagnosis=diagnosis, metric=metric)
        if state.upload_sha256 is None:
            return DiagnosisResult()
        path = store.uploads.path(state.upload_sha256)
        if not path.is_file():
            return DiagnosisResult(
                error=f"the saved file {state.upload_name or ''} is missing from the data "
                f"folder ({path.parent}); upload it again"
            )
        columns = slice_candidates(path)
        column = state.slice_column if state.slice_column in columns else None
        found = diagnose_file(
            path,
            state.human_levels,
            metric=state.metric,
            unit=state.unit,
            slice_column=column,
            display_name=state.upload_name or path.name,
        )
        return DiagnosisResult(found.diagnosis, found.slices, columns, found.scan.metric)
    except InputError as exc:
        return DiagnosisResult(error=str(exc))


def compare_versions(store: Store, before: ModelVersion, after: ModelVersion) -> Comparison:
    """Two versions side by side (:func:`diagnostics.fastcompare.compare_files`): levels with
    paired tests on the ids both share, gaps before/after with AFTER's human levels, the
    verdict, and what AFTER fixed of BEFORE's tagged dev errors when BEFORE has tags.

    Raises InputError for a version without a predictions file, or files that cannot be
    compared (different metrics, no split in common).
    """
    paths: list[Path] = []
    for version in (before, after):
        state = version.state
        if state.source != "upload" or not state.upload_sha256:
            raise InputError(f"{version.name} has typed levels only: comparing needs predictions")
        path = store.uploads.path(state.upload_sha256)
        if not path.is_file():
            raise InputError(f"the predictions file of {version.name} is missing; upload it again")
        paths.append(path)
    table = store.labels.tag_table(before.id)
    before_path, after_path = paths
    return compare_files(
        before_path,
        after_path,
        after.state.human_levels,
        metric=after.state.metric,
        unit=after.state.unit,
        tags=table if table.consensus_tags() else None,
        display_names=(before.name, after.name),
    )


def predictions_path(store: Store, state: DiagnoseState) -> Path | None:
    """The saved predictions file of a version's inputs (None for typed levels); raises
    InputError when the file is missing from the data folder."""
    if state.source != "upload" or not state.upload_sha256:
        return None
    path = store.uploads.path(state.upload_sha256)
    if not path.is_file():
        raise InputError(
            f"the saved file {state.upload_name or ''} is missing from the data folder; "
            "upload it again on Diagnose"
        )
    return path


PredictionsReader = Callable[..., Predictions]


def read_version(
    store: Store,
    state: DiagnoseState,
    extra_columns: Sequence[str] = (),
    *,
    reader: PredictionsReader = read_predictions,
) -> Predictions | None:
    """A version's predictions with ``extra_columns``, read by ``reader`` (the page passes its
    cached reader); None for typed levels. Raises InputError when the file is refused."""
    path = predictions_path(store, state)
    if path is None:
        return None
    return reader(
        path,
        metric=state.metric,
        extra_columns=tuple(extra_columns),
        display_name=state.upload_name or path.name,
    )


def slice_columns(store: Store, state: DiagnoseState) -> list[str]:
    """The metadata columns of a version's file that slices are searched over (the slice
    columns made here excepted); empty for typed levels."""
    path = predictions_path(store, state)
    if path is None:
        return []
    return [c for c in metadata_columns(path) if not c.startswith(SLICE_COLUMN_PREFIX)]


def error_slices(
    store: Store,
    state: DiagnoseState,
    *,
    split: str = "dev",
    reader: PredictionsReader = read_predictions,
) -> SliceSearch | None:
    """Where a version's ``split`` errors concentrate (:func:`diagnostics.slices.find_slices`
    over its :func:`slice_columns`).

    None when there is nothing to search: typed levels, no metadata column, a regression
    metric or no such split. Raises InputError when the file cannot be read.
    """
    columns = slice_columns(store, state)
    predictions = read_version(store, state, columns, reader=reader) if columns else None
    if predictions is None or predictions.metric != "error":
        return None
    if not (predictions.frame["split"] == split).any():
        return None
    return find_slices(predictions, split=split, columns=columns)


def add_slice_column(store: Store, version: ModelVersion, found: Slice, user: User) -> str:
    """Add a ``yes``/``no`` column of ``found`` to the version's predictions file and diagnose
    by it; returns the column's name.

    The version keeps its rows, ids, sample and tags: it now points at its file with one more
    column (the file it replaces is pruned when no other version keeps it). ``user`` must be
    an editor; audited.
    """
    require(user, "change the diagnosis inputs")
    state = version.state
    path = predictions_path(store, state)
    columns = () if path is None else predicate_columns(found.predicates)
    predictions = None if path is None else read_version(store, state, columns)
    if path is None or predictions is None:
        raise InputError(f"{version.name} has typed levels only: a slice column needs predictions")
    name = state.upload_name or path.name
    column = slice_column_name(found, metadata_columns(path))
    values = slice_column(predictions.frame, found.predicates).tolist()
    data = file_with_column(path, column, values)
    upload = store.uploads.add(name, data, check=lambda kept: check_upload(kept, name))
    store.versions.replace_file(
        version.id, replace(state, upload_sha256=upload.sha256, slice_column=column)
    )
    store.uploads.prune()
    store.audit.record(user.identity, SLICE_COLUMN, version.project_id, column, {"of": name})
    return column
