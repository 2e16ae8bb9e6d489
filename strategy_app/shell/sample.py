"""The sample project a new user sees on first start (from ``sample_data/predictions.csv``)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from diagnostics.validation import InputError
from diagnostics.waterfall import HumanLevel
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, slice_candidates
from strategy_app.errors.service import set_images_root
from strategy_app.store import Store

SAMPLE_NAME = "Sample: handwritten digits"
SAMPLE_FLAG = "sample_project_created"
SAMPLE_HUMANS = [HumanLevel("expert reader", 0.005), HumanLevel("untrained reader", 0.02)]
SAMPLE_SLICE = "device"
SAMPLE_MODEL = "logistic regression"
SAMPLE_DATASET = "dataset.csv"


def sample_predictions_path() -> Path:
    """``STRATEGY_SAMPLE_PREDICTIONS`` or the shipped ``sample_data/predictions.csv``."""
    configured = os.environ.get("STRATEGY_SAMPLE_PREDICTIONS")
    if configured:
        return Path(configured)
    package = Path(__file__).resolve().parents[1]
    # installed from the wheel, the sample lives in strategy_app/sample_data; in a checkout, at
    # its root
    folder = package / "sample_data"
    if not folder.is_dir():
        folder = package.parent / "sample_data"
    return folder / "predictions.csv"


def ensure_sample_project(store: Store, path: Path | None = None) -> int | None:
    """Create the sample project once per database; returns its id, or None if not created.

    Does nothing when it was created before (even if the user deleted it since) or when the
    sample file is missing or invalid: the app then starts without it.
    """
    if store.settings.get(SAMPLE_FLAG):
        return None
    path = path or sample_predictions_path()
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        project = store.projects.create(SAMPLE_NAME)
    except InputError:
        store.settings.set(SAMPLE_FLAG, "1")
        return None
    try:
        state = accept_upload(  # the desk seeds it
            store, project.id, path.name, data, LOCAL_USER, label=SAMPLE_MODEL
        )
    except InputError:
        store.projects.delete(project.id)
        return None
    assert state.upload_sha256 is not None  # accept_upload kept the file
    columns = slice_candidates(store.uploads.path(state.upload_sha256))
    state = replace(
        state,
        human_levels=list(SAMPLE_HUMANS),
        slice_column=SAMPLE_SLICE if SAMPLE_SLICE in columns else None,
    )
    store.diagnose_state.save(project.id, state)
    set_images_root(store, project.id, path.parent)
    dataset = path.parent / SAMPLE_DATASET
    if dataset.is_file():  # the features the search trains on: same ids and splits
        store.projects.set_dataset(project.id, dataset.name, dataset.read_bytes())
    store.settings.set(SAMPLE_FLAG, "1")
    return project.id
