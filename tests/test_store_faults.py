"""Fault tests for the store: a read-only database file, an unwritable data folder, a full disk.

Each refused write must raise :class:`StoreUnwritable` (a clear message, shown by pages with
``st.error``) and leave the database intact: reopened normally, it passes SQLite's integrity
check and holds everything saved before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pandas as pd
import pytest
from sqlalchemy import text

from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.store import DiagnoseState, open_store
from strategy_app.store.engine import StoreUnwritable
from strategy_app.store.labels import LabelEdit
from tests.conftest import write_predictions


@pytest.fixture
def saved(data_dir, tmp_path):
    """A SQLite store with a project, an upload, a sample and a tag; closed again."""
    store = open_store()
    project = store.projects.create("p")
    data = write_predictions(tmp_path / "p.csv").read_bytes()
    accept_upload(store, project.id, "p.csv", data, LOCAL_USER)
    examples = pd.DataFrame({"id": ["a", "b"], "y_true": ["1", "1"], "y_pred": ["2", "2"]})
    store.labels.save_sample(project.id, examples, seed=0, stratified=False)
    store.labels.save_edit(project.id, LabelEdit("a", "", notes="kept", reviewed=True), 0)
    store.close()
    return data_dir


def assert_intact(folder) -> None:
    """The database reopens read-write, passes integrity_check and holds the saved rows."""
    store = open_store()
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert [p.name for p in store.projects.list()] == ["p"]
    review = store.labels.review(1, "a", "")
    assert (review.notes, review.version) == ("kept", 1)
    assert store.diagnose_state.load(1).upload_name == "p.csv"
    store.labels.save_edit(1, LabelEdit("b", "", reviewed=True), 0)  # writable again
    store.close()


def test_read_only_database_file_is_a_clear_error_and_nothing_is_corrupted(saved, tmp_path):
    # root ignores chmod, so the file is opened read-only through SQLite's URI mode
    url = f"sqlite:///file:{saved / 'strategy.db'}?mode=ro&uri=true"
    store = open_store(url)
    assert [p.name for p in store.projects.list()] == ["p"]  # reading still works
    attempts = [
        lambda: store.projects.create("q"),
        lambda: store.labels.save_edit(1, LabelEdit("a", "", notes="lost?"), 1),
        lambda: accept_upload(
            store,
            1,
            "q.csv",
            write_predictions(tmp_path / "q.csv", seed=3).read_bytes(),
            LOCAL_USER,
        ),
    ]
    for attempt in attempts:
        with pytest.raises(StoreUnwritable, match="not saved: the database file is read-only"):
            attempt()
    store.close()
    assert_intact(saved)


def test_unwritable_data_folder_is_a_clear_error(saved, tmp_path):
    store = open_store()
    uploads = store.uploads.folder
    if os.geteuid() == 0:
        # root writes through any permission bits: make the folder impossible to create instead
        shutil.rmtree(uploads)
        uploads.write_text("not a folder")
    else:
        uploads.chmod(0o500)
    try:
        data = write_predictions(tmp_path / "q.csv", seed=3).read_bytes()
        with pytest.raises(StoreUnwritable, match="could not be written to"):
            accept_upload(store, 1, "q.csv", data, LOCAL_USER)
        assert store.diagnose_state.load(1).upload_name == "p.csv"
    finally:
        if uploads.is_dir():
            uploads.chmod(0o700)
    store.close()


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """A data folder on a 4 MB tmpfs (root only; skipped where mounting is not allowed)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(folder))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_full_disk_is_a_clear_error_and_nothing_is_corrupted(small_disk):
    store = open_store()
    project = store.projects.create("p")
    version = store.versions.add(project.id, DiagnoseState(source="typed"), label="model")
    examples = pd.DataFrame({"id": ["a", "b"], "y_true": ["1", "1"], "y_pred": ["2", "2"]})
    store.labels.save_sample(version.id, examples, seed=0, stratified=False)
    store.labels.save_edit(version.id, LabelEdit("a", "", notes="kept", reviewed=True), 0)
    filler = small_disk / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):  # fill it to the last byte
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    with pytest.raises(StoreUnwritable, match="not saved: the disk holding the database is full"):
        store.labels.save_edit(version.id, LabelEdit("b", "", notes="x" * 1_000_000), 0)
    filler.unlink()
    store.close()
    reopened = open_store()
    with reopened.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    review = reopened.labels.review(version.id, "a", "")
    assert (review.notes, review.version) == ("kept", 1)
    assert (
        reopened.labels.review(version.id, "b", "") is None
        or not reopened.labels.review(version.id, "b", "").notes
    )
    reopened.labels.save_edit(version.id, LabelEdit("b", "", notes="after"), 0)  # writable again
    reopened.close()


def test_image_zip_on_a_full_disk_is_a_clear_error_and_keeps_nothing(small_disk):
    from diagnostics.images import extract_images_zip
    from diagnostics.validation import InputError
    from tests.test_bad_inputs import png, zip_of

    entries = {f"img{i}.png": png() + os.urandom(1 << 20) for i in range(6)}  # 6 MB, 4 MB disk
    dest = small_disk / "images"
    with pytest.raises(InputError, match=r"could not be written .*free disk space"):
        extract_images_zip(zip_of(entries), dest, name="images.zip")
    assert not dest.exists() and not list(small_disk.glob(".extract-*"))


@pytest.mark.slow
def test_search_on_a_full_disk_is_one_line_and_exit_2(small_disk, capsys):
    from strategy_app.cli import main

    filler = small_disk / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    code = main(["search", "--trials", "1", "--epochs", "1"])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in err, err
    assert last.startswith("error: No space left on device") and "free some disk space" in last
