"""``gs://`` locations read in place, on a Google Cloud Storage emulator on 127.0.0.1
(``tests/gcs.py``): the CLI and the API diagnose a remote file as the local one, a large Parquet
file by range reads, and a missing object is one line naming it."""

from __future__ import annotations

import logging

import pytest

from diagnostics.fastscan import scan_split_metrics
from diagnostics.formats import as_file
from tests.gcs import GS_BUCKET, GcsServer, start_gcs
from tests.test_remote import diagnosed_as_local, refused, wide_parquet


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
    placed = diagnosed_as_local(google.put, tmp_path, capsys)
    assert [location for _, location in placed] == [
        f"gs://{GS_BUCKET}/runs/predictions.csv",
        f"gs://{GS_BUCKET}/runs/predictions.parquet",
    ]


def test_a_large_gs_parquet_file_is_read_by_ranges(google, tmp_path, caplog):
    path = wide_parquet(tmp_path / "wide.parquet", 200_000)
    remote = as_file(google.put("wide.parquet", path))
    with caplog.at_level(logging.DEBUG, logger="diagnostics.fastscan"):
        scan = scan_split_metrics(remote)
    assert not caplog.records  # no fallback to the exact reader
    assert scan.engine == "duckdb" and scan.splits == scan_split_metrics(path).splits
    assert 0 < remote.files.bytes_read < remote.size / 5


def test_a_missing_gs_object_is_one_line(google, capsys):
    message = refused(capsys, "diagnose", f"gs://{GS_BUCKET}/no/such.parquet")
    assert "predictions file not found: gs://desk-gs/no/such.parquet" in message
