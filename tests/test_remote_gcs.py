"""``gs://`` locations read in place, on a Google Cloud Storage emulator on 127.0.0.1
(``tests/gcs.py``): the CLI and the API diagnose a remote file as the local one, a large Parquet
file by range reads, and a missing object is one line naming it."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from diagnostics import api
from diagnostics.fastscan import scan_split_metrics
from diagnostics.formats import as_file
from strategy_app.cli import main
from tests.conftest import write_predictions
from tests.gcs import GS_BUCKET, GcsServer, start_gcs
from tests.test_remote import refused, wide_parquet


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
    local = write_predictions(tmp_path / "predictions.csv")
    parquet = tmp_path / "predictions.parquet"
    pq.write_table(pa.csv.read_csv(local), parquet)
    for path in (local, parquet):
        location = google.put(f"runs/{path.name}", path)
        assert main(["diagnose", str(path), "--human", "1%", "--json"]) == 0
        expected = json.loads(capsys.readouterr().out)
        assert main(["diagnose", location, "--human", "1%", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == expected
        assert api.diagnose(location, "1%").to_dict() == expected


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
