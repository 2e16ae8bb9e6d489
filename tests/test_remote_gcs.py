"""``gs://`` locations read in place, on a Google Cloud Storage emulator on 127.0.0.1
(``tests/gcs.py``): the CLI and the API diagnose a remote file as the local one, a large Parquet
file by range reads, a missing object is one line naming it, and so is a machine without Google
credentials (bounded retries, no hang)."""

from __future__ import annotations

import pytest

from tests.gcs import GS_BUCKET, GcsServer, start_gcs
from tests.test_remote import (
    predictions_pair,
    read_by_ranges,
    reads_as_local,
    refused,
    wide_parquet,
)


@pytest.fixture(scope="module")
def gcs(tmp_path_factory) -> GcsServer:
    """The emulator (one for the module)."""
    with start_gcs(tmp_path_factory.mktemp("gcs")) as server:
        yield server


@pytest.fixture
def google(gcs, monkeypatch) -> GcsServer:
    """The emulator, with the standard Google variables pointing the readers at it."""
    gcs.use(monkeypatch)
    return gcs


def test_cli_and_api_diagnose_a_gs_file_as_the_local_one(google, tmp_path, capsys):
    for path in predictions_pair(tmp_path):
        location = google.put(f"runs/{path.name}", path)
        assert location == f"gs://{GS_BUCKET}/runs/{path.name}"
        reads_as_local(location, path, capsys)


def test_a_large_gs_parquet_file_is_read_by_ranges(google, tmp_path, caplog):
    path = wide_parquet(tmp_path / "wide.parquet", 200_000)
    read_by_ranges(google.put("wide.parquet", path), path, caplog)


def test_a_missing_gs_object_is_one_line(google, capsys):
    message = refused(capsys, "diagnose", f"gs://{GS_BUCKET}/no/such.parquet")
    assert "predictions file not found: gs://desk-gs/no/such.parquet" in message


@pytest.mark.slow  # Google's client retries for GCS_RETRY_LIMIT before it gives up
def test_no_google_credentials_is_one_line_not_a_hang(monkeypatch, tmp_path, capsys):
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUD_STORAGE_EMULATOR_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no gcloud application-default credentials
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    message = refused(capsys, "diagnose", "gs://some-bucket/runs/predictions.parquet")
    assert message == (
        "error: gs://some-bucket/runs/predictions.parquet could not be read: no credentials were "
        "found; set GOOGLE_APPLICATION_CREDENTIALS (a service account's key file, or run gcloud "
        "auth application-default login)"
    )
