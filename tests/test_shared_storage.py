"""A team's servers share files: ``STRATEGY_STORAGE_URL=s3://bucket/prefix`` on the tests' S3
server, with one PostgreSQL database; each server has its own data folder (its cache)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, compute
from strategy_app.errors.service import accept_images_zip, images_here
from strategy_app.store import open_store
from strategy_app.store.objects import ObjectStorage
from strategy_app.versions.service import version_file
from tests.conftest import write_predictions
from tests.s3 import BUCKET, LOCKED, S3Server, start_s3

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def s3() -> S3Server:
    """The tests' S3 server (one for the module)."""
    with start_s3() as server:
        yield server


@pytest.fixture
def team(s3, monkeypatch, postgres_url, tmp_path):
    """The reader's keys, the shared storage under a fresh prefix, and one database."""
    s3.use(monkeypatch, s3.reader)
    prefix = f"s3://{BUCKET}/{tmp_path.name}"
    monkeypatch.setenv("STRATEGY_STORAGE_URL", prefix)
    monkeypatch.setenv("STRATEGY_DB_URL", postgres_url)
    return prefix


def _keys(s3: S3Server, prefix: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix.split(f"{BUCKET}/")[1])
    return sorted(
        item["Key"].rsplit("/", 2)[-2] + "/" + item["Key"].rsplit("/", 1)[-1]
        for item in listed.get("Contents", [])
    )


def _images_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in ("dev_00001.png", "dev_00002.png"):
            png = io.BytesIO()
            Image.new("RGB", (8, 8), (200, 10, 10)).save(png, format="PNG")
            archive.writestr(f"images/{name}", png.getvalue())
    return out.getvalue()


def test_an_upload_on_one_server_is_a_version_on_another(team, s3, tmp_path):
    data = write_predictions(tmp_path / "predictions.csv").read_bytes()
    first = open_store(folder=tmp_path / "server-a")
    project = first.projects.create("shared")
    state = accept_upload(first, project.id, "predictions.csv", data, LOCAL_USER)
    digest = state.upload_sha256
    assert f"uploads/{digest}" in _keys(s3, team)
    second = open_store(folder=tmp_path / "server-b")
    assert not (tmp_path / "server-b" / "uploads" / digest).exists()
    (version,) = second.versions.list(project.id)
    path = version_file(second, version.state)
    assert path == tmp_path / "server-b" / "uploads" / digest and path.read_bytes() == data
    assert compute(second, version.state).diagnosis == compute(first, state).diagnosis
    count = accept_images_zip(first, project.id, "images.zip", _images_zip(), LOCAL_USER)
    root = first.labels.snapshot(version.id).images_root
    shutil.rmtree(tmp_path / "server-a" / "images")  # server B cannot see server A's disk
    here = images_here(second, second.labels.snapshot(version.id).images_root)
    assert count == 2 and here != root and Path(here).is_dir()
    assert sorted(p.name for p in Path(here).rglob("*.png")) == ["dev_00001.png", "dev_00002.png"]
    first.versions.delete(version.id)
    assert first.uploads.prune() == 1
    assert f"uploads/{digest}" not in _keys(s3, team)


def test_a_bucket_the_server_may_not_write_saves_nothing(team, s3, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_STORAGE_URL", f"s3://{LOCKED}/team")
    store = open_store(folder=tmp_path / "server")
    project = store.projects.create("locked")
    data = write_predictions(tmp_path / "predictions.csv").read_bytes()
    with pytest.raises(InputError) as refused:
        accept_upload(store, project.id, "predictions.csv", data, LOCAL_USER)
    message = str(refused.value)
    assert "access denied" in message and f"s3://{LOCKED}/team/uploads/" in message
    assert s3.reader.secret_key not in message and "\n" not in message
    assert store.versions.list(project.id) == []
    assert list((tmp_path / "server" / "uploads").iterdir()) == []


def test_the_storage_url_must_be_object_storage():
    with pytest.raises(InputError, match="STRATEGY_STORAGE_URL: '/srv/files' is not object"):
        ObjectStorage("/srv/files")


SERVER = """
import json, sys
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, compute
from strategy_app.store import open_store
store = open_store()
if sys.argv[1] == "upload":
    project = store.projects.create("team")
    data = open(sys.argv[2], "rb").read()
    accept_upload(store, project.id, "predictions.csv", data, LOCAL_USER)
    print(json.dumps({"project": project.id}))
else:
    project = store.projects.list()[0]
    version = store.versions.current(project.id)
    levels = compute(store, version.state).diagnosis.levels
    print(json.dumps({"version": version.name, "levels": levels}))
"""


@pytest.mark.slow  # two interpreters with the app's imports
def test_two_app_processes_share_one_database_and_one_bucket(team, tmp_path):
    source = write_predictions(tmp_path / "predictions.csv")

    def server(name: str, *argv: str) -> dict:
        environment = {**os.environ, "STRATEGY_DATA_DIR": str(tmp_path / name)}
        done = subprocess.run(
            [sys.executable, "-c", SERVER, *argv],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=240,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    server("server-a", "upload", str(source))
    seen = server("server-b", "read")
    assert seen["version"] == "v1 · predictions.csv"
    assert seen["levels"]["dev"] is not None
    assert len(list((tmp_path / "server-b" / "uploads").iterdir())) == 1
