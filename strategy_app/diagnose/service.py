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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from diagnostics.annotators import HumanPanel, measure_annotators, read_annotations
from diagnostics.compare import Comparison
from diagnostics.fastcompare import compare_files
from diagnostics.fastscan import ScanResult, scan_sliced, scan_split_metrics
from diagnostics.formats import as_file, file_columns
from diagnostics.ingest import Predictions, check_scores, read_predictions, split_metrics
from diagnostics.label_issues import label_noise_by_split, probability_columns, read_features
from diagnostics.label_noise import LabelNoise
from diagnostics.mlflow_source import is_mlflow, resolve_run_artifact
from diagnostics.output_files import file_with_column
from diagnostics.remote import is_remote, shown_location
from diagnostics.slices import (
    SLICE_COLUMN_PREFIX,
    Slice,
    SliceSearch,
    find_slices,
    metadata_columns,
    predicate_columns,
    slice_column,
    slice_column_name,
)
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis, HumanLevel, diagnose, diagnose_splits_and_slices
from strategy_app.auth import User, require
from strategy_app.store import DiagnoseState, ModelVersion, Store, one_transaction
from strategy_app.store.audit import INPUTS_CHANGE, SLICE_COLUMN, UPLOAD, changed_fields
from strategy_app.versions.service import (
    VersionFile,
    file_of,
    read_file,
    read_required,
    read_version,
    require_file,
    version_file,
)


@dataclass
class DiagnosisResult:
    """What the Diagnose page shows: the diagnosis, per-slice ones, and the file's columns."""

    diagnosis: Diagnosis | None = None
    slices: list[tuple[str, Diagnosis]] = field(default_factory=list)
    slice_columns: list[str] = field(default_factory=list)
    metric: str | None = None
    error: str | None = None
    floor: FloorReport | None = None
    floor_error: str | None = None


@dataclass(frozen=True)
class FloorReport:
    """What an annotations file measures: the annotators' levels, the team's and the floor,
    and the label noise of dev and test (with the ids offered as likely mislabeled)."""

    panel: HumanPanel
    noise: dict[str, tuple[LabelNoise, list[str]]] = field(default_factory=dict)

    def bands(self) -> dict[str, float]:
        """The label-noise band of each split whose estimate holds (for ``noise_bands``)."""
        return {split: noise.high for split, (noise, _) in self.noise.items() if noise.reliable}

    def to_dict(self) -> dict[str, object]:
        """The parts ``diagnose --annotations --json`` adds."""
        return {
            **self.panel.to_dict(),
            "label_noise": {
                split: noise.to_dict(ids) for split, (noise, ids) in self.noise.items()
            },
        }


def measured_shift(predictions: Predictions) -> bool | None:
    """True when the predictions show a data-mismatch gap beyond the noise, None when it cannot
    be measured (no train-dev or no dev level)."""
    gap = diagnose(split_metrics(predictions), metric=predictions.metric).gaps.get("data_mismatch")
    return None if gap is None else gap.is_priority


def measure_floor(
    predictions_path: str | os.PathLike,
    annotations_path: str | os.PathLike,
    *,
    metric: str | None = None,
    features_path: str | os.PathLike | None = None,
    names: tuple[str | None, str | None, str | None] = (None, None, None),
) -> FloorReport:
    """Read the predictions (with their ``prob_`` columns) and the annotations of their
    dev/test examples; measure the human levels, the floor and each held-out split's label
    noise (cross-validated on ``features_path``'s features under a measured shift). ``names``
    are the three files' display names. Raises InputError naming the file, column and row
    when a file is refused."""
    columns = probability_columns(file_columns(predictions_path))
    predictions = read_predictions(
        predictions_path, metric=metric, extra_columns=tuple(columns), display_name=names[0]
    )
    annotations = read_annotations(annotations_path, predictions, display_name=names[1])
    features = (
        None if features_path is None else read_features(features_path, display_name=names[2])
    )
    noise = label_noise_by_split(predictions, shift=measured_shift(predictions), features=features)
    return FloorReport(measure_annotators(annotations), noise)


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
    scan = scan_sliced(path, metric=metric, slice_column=slice_column, display_name=display_name)
    return diagnose_scan(scan, humans, unit=unit)


def diagnose_scan(
    scan: ScanResult, humans: Sequence[HumanLevel] = (), *, unit: str = ""
) -> FileDiagnosis:
    """The waterfall of a scanned file, and one per slice value when the scan was sliced."""
    diagnosis, slices = diagnose_splits_and_slices(
        scan.splits, scan.slices, humans, metric=scan.metric, unit=unit
    )
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


@one_transaction
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


@one_transaction
def save_inputs(store: Store, project_id: int, state: DiagnoseState, user: User) -> None:
    """Save the Diagnose page's inputs (typed levels, human levels, slice column); an editor
    may; a change is audited with the fields it changed."""
    require(user, "change the diagnosis inputs")
    before = store.diagnose_state.load(project_id)
    if before == state:
        return
    store.diagnose_state.save(project_id, state)
    detail = changed_fields(before, state)
    store.audit.record(user.identity, INPUTS_CHANGE, project_id, None, detail)


def slice_candidates(path: str | os.PathLike) -> list[str]:
    """Columns of a predictions file that could be slices (not a standard or ``prob_`` one)."""
    return metadata_columns(path)


def compute(store: Store, state: DiagnoseState) -> DiagnosisResult:
    """The diagnosis of the saved inputs (typed levels, or the saved predictions file), once
    per inputs: a saved file is named by its content, so the inputs are the key."""
    if state.source == "typed":
        levels = tuple(sorted((k, v) for k, v in state.typed_levels.items() if v is not None))
        return _typed_diagnosis(levels, tuple(state.human_levels), state.metric, state.unit)
    try:
        file = file_of(store, state)
    except InputError as exc:
        return DiagnosisResult(error=str(exc))
    if file is None:
        return DiagnosisResult()
    floor, floor_error = _saved_floor(store, state, file)
    humans = (*state.human_levels, *(floor.panel.human_levels() if floor else ()))
    bands = tuple(sorted(floor.bands().items())) if floor else ()
    result = _file_diagnosis(file, humans, state.unit, state.slice_column, bands)
    return replace(result, floor=floor, floor_error=floor_error)


@lru_cache(maxsize=32)
def _typed_diagnosis(
    levels: tuple[tuple[str, float], ...],
    humans: tuple[HumanLevel, ...],
    metric: str | None,
    unit: str,
) -> DiagnosisResult:
    if not levels:
        return DiagnosisResult()
    metric = metric or "error"
    try:
        diagnosis = diagnose(dict(levels), humans, metric=metric, unit=unit)
    except InputError as exc:
        return DiagnosisResult(error=str(exc))
    return DiagnosisResult(diagnosis=diagnosis, metric=metric)


@lru_cache(maxsize=32)
def _file_diagnosis(
    file: VersionFile,
    humans: tuple[HumanLevel, ...],
    unit: str,
    slice_column: str | None,
    noise_bands: tuple[tuple[str, float], ...] = (),
) -> DiagnosisResult:
    try:
        columns = slice_candidates(file.path)
        found = diagnose_file(
            file.path,
            humans,
            metric=file.metric,
            unit=unit,
            slice_column=slice_column if slice_column in columns else None,
            display_name=file.display_name,
        )
    except InputError as exc:
        return DiagnosisResult(error=str(exc))
    found.diagnosis.noise_bands = dict(noise_bands)
    return DiagnosisResult(found.diagnosis, found.slices, columns, found.scan.metric)


def _saved_floor(
    store: Store, state: DiagnoseState, file: VersionFile
) -> tuple[FloorReport | None, str | None]:
    """The measured human levels of the version's annotations (with the project's dataset as
    features), or why they cannot be measured (the diagnosis goes on without them)."""
    if not state.annotations_sha256:
        return None, None
    annotations = store.uploads.path(state.annotations_sha256)
    if not annotations.is_file():
        return (
            None,
            f"the annotations file {state.annotations_name or ''} is missing; upload it again",
        )
    names = (state.upload_name, state.annotations_name, "the project's dataset")
    try:
        floor = _measured_floor(file, annotations, _project_dataset(store, state), names)
    except InputError as exc:
        return None, str(exc)
    return floor, None


@lru_cache(maxsize=8)
def _measured_floor(
    file: VersionFile,
    annotations: Path,
    features: Path | None,
    names: tuple[str | None, str | None, str],
) -> FloorReport:
    """:func:`measure_floor` once per predictions, annotations and features files (each named
    by its content)."""
    return measure_floor(
        file.path, annotations, metric=file.metric, features_path=features, names=names
    )


def _project_dataset(store: Store, state: DiagnoseState) -> Path | None:
    """The project's dataset file (features by id for label noise), or None."""
    version = store.versions.get(state.version_id) if state.version_id else None
    found = None if version is None else store.projects.dataset(version.project_id)
    return None if found is None or not found[1].is_file() else found[1]


def accept_annotations(
    store: Store,
    project_id: int,
    name: str,
    data: bytes,
    user: User,
    state: DiagnoseState | None = None,
) -> DiagnoseState:
    """Check an annotations file against a version's predictions (``state``: its inputs; the
    project's current version when None) and, only if valid, keep it with that version (its
    human levels are then measured). On bad input the InputError names the file, column and
    row, and nothing saved changes. ``user`` must be an editor; audited as an upload."""
    require(user, "upload files")
    if state is None:
        state = store.diagnose_state.load(project_id)
    shown = state
    if version_file(store, shown) is None:
        raise InputError(f"{name}: upload the predictions first; annotations label their examples")

    def check(path: Path) -> None:
        predictions = read_version(store, shown)
        assert predictions is not None  # version_file found the file
        read_annotations(path, predictions, display_name=name)

    upload = store.uploads.add(name, data, check=check)
    state = replace(state, annotations_sha256=upload.sha256, annotations_name=name)
    state = store.diagnose_state.save(project_id, state)
    store.audit.record(
        user.identity, UPLOAD, project_id, name, {"sha256": upload.sha256, "kind": "annotations"}
    )
    return state


def compare_versions(store: Store, before: ModelVersion, after: ModelVersion) -> Comparison:
    """Two versions side by side (:func:`diagnostics.fastcompare.compare_files`): levels with
    paired tests on the ids both share, gaps before/after with AFTER's human levels, the
    verdict, what AFTER fixed of BEFORE's tagged dev errors when BEFORE has tags, and the
    eyeball check when BEFORE has a tagging sample.

    Raises InputError for a version without a predictions file, or files that cannot be
    compared (different metrics, no split in common).
    """
    before_path, after_path = (require_file(store, v, "comparing") for v in (before, after))
    table = store.labels.tag_table(before.id)
    return compare_files(
        before_path,
        after_path,
        after.state.human_levels,
        metric=after.state.metric,
        unit=after.state.unit,
        tags=table if table.consensus_tags() else None,
        display_names=(before.name, after.name),
        examined=sample_ids(store, before),
    )


def sample_ids(store: Store, version: ModelVersion) -> list[str] | None:
    """The dev examples people were shown in the version's tagging sample (None: no sample)."""
    sample = store.labels.sample(version.id)
    return None if sample is None else sample.ids


def slice_columns(store: Store, state: DiagnoseState) -> list[str]:
    """The metadata columns of a version's file that slices are searched over (the slice
    columns made here excepted); empty for typed levels."""
    path = version_file(store, state)
    return [] if path is None else searched_columns(path)


def searched_columns(path: Path) -> list[str]:
    """The metadata columns of a predictions file that slices are searched over."""
    return [c for c in metadata_columns(path) if not c.startswith(SLICE_COLUMN_PREFIX)]


def error_slices(
    store: Store,
    state: DiagnoseState,
    *,
    split: str = "dev",
) -> SliceSearch | None:
    """Where a version's ``split`` errors concentrate (:func:`diagnostics.slices.find_slices`
    over its :func:`slice_columns`).

    None when there is nothing to search: typed levels, no metadata column, a regression
    metric or no such split. Raises InputError when the file cannot be read.
    """
    file = file_of(store, state)
    return None if file is None else _slices(file, split)


@lru_cache(maxsize=8)
def _slices(file: VersionFile, split: str) -> SliceSearch | None:
    """:func:`error_slices` of a version's file, once per file (its columns never change)."""
    columns = searched_columns(file.path)
    if not columns:
        return None
    predictions = read_file(file, tuple(columns))
    if predictions.metric != "error" or not (predictions.frame["split"] == split).any():
        return None
    return find_slices(predictions, split=split, columns=columns)


@one_transaction
def add_slice_column(store: Store, version: ModelVersion, found: Slice, user: User) -> str:
    """Add a ``yes``/``no`` column of ``found`` to the version's predictions file and diagnose
    by it; returns the column's name.

    The version keeps its rows, ids, sample and tags: it now points at its file with one more
    column (the file it replaces is pruned when no other version keeps it). ``user`` must be
    an editor; audited.
    """
    require(user, "change the diagnosis inputs")
    state = version.state
    path = require_file(store, version, "a slice column")
    predictions = read_required(
        store, version, "a slice column", predicate_columns(found.predicates)
    )
    name = state.upload_name or path.name
    existing = metadata_columns(path)
    made = slice_column_name(found)
    if made in existing:  # made by an earlier press for this file: choose it, add no copy
        store.diagnose_state.save(version.project_id, replace(state, slice_column=made))
        store.audit.record(user.identity, SLICE_COLUMN, version.project_id, made, {"of": name})
        return made
    column = slice_column_name(found, existing)
    values = slice_column(predictions.frame, found.predicates).tolist()
    data = file_with_column(path, column, values)
    upload = store.uploads.add(name, data, check=lambda kept: check_upload(kept, name))
    store.versions.replace_file(
        version.id, replace(state, upload_sha256=upload.sha256, slice_column=column)
    )
    store.uploads.prune()
    store.audit.record(user.identity, SLICE_COLUMN, version.project_id, column, {"of": name})
    return column
