"""The Diagnose page's logic without the UI: accept uploads, turn saved inputs into a diagnosis.

Every number comes from :mod:`diagnostics.waterfall`; this module only wires the saved state
(:class:`~strategy_app.store.DiagnoseState`) to it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from diagnostics.ingest import Predictions, read_predictions, slice_metrics
from diagnostics.slices import metadata_columns
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis, diagnose, diagnose_predictions, diagnose_slices
from strategy_app.store import DiagnoseState, Store

Reader = Callable[..., Predictions]


@dataclass
class DiagnosisResult:
    """What the Diagnose page shows: the diagnosis, per-slice ones, and the file's columns."""

    diagnosis: Diagnosis | None = None
    slices: list[tuple[str, Diagnosis]] = field(default_factory=list)
    slice_columns: list[str] = field(default_factory=list)
    metric: str | None = None
    error: str | None = None


def validate_upload(name: str, data: bytes) -> Predictions:
    """Read uploaded bytes with the same checks as the CLI; raises InputError naming ``name``."""
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return read_predictions(path, display_name=name)


def accept_upload(store: Store, project_id: int, name: str, data: bytes) -> DiagnoseState:
    """Validate an upload and, only if it is valid, save it as the project's predictions.

    On bad input the InputError propagates and the project's saved state stays as it was.
    A slice column saved earlier is kept when the new file has it too.
    """
    validate_upload(name, data)
    upload = store.uploads.add(name, data)
    state = store.diagnose_state.load(project_id)
    columns = slice_candidates(store.uploads.path(upload.sha256))
    state = replace(
        state,
        source="upload",
        upload_sha256=upload.sha256,
        upload_name=name,
        slice_column=state.slice_column if state.slice_column in columns else None,
    )
    store.diagnose_state.save(project_id, state)
    return state


def slice_candidates(path: str | os.PathLike) -> list[str]:
    """Columns of a predictions file that could be slices (not a standard or prob_ column)."""
    return metadata_columns(path)


def compute(
    store: Store, state: DiagnoseState, reader: Reader = read_predictions
) -> DiagnosisResult:
    """The diagnosis of the saved inputs (``reader`` may be a cached read_predictions)."""
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
        predictions = reader(
            path,
            metric=state.metric,
            extra_columns=(column,) if column else (),
            display_name=state.upload_name or path.name,
        )
        diagnosis = diagnose_predictions(predictions, state.human_levels, unit=state.unit)
        slices = []
        if column:
            slices = diagnose_slices(
                slice_metrics(predictions, column),
                state.human_levels,
                metric=predictions.metric,
                unit=state.unit,
            )
        return DiagnosisResult(diagnosis, slices, columns, predictions.metric)
    except InputError as exc:
        return DiagnosisResult(error=str(exc))
