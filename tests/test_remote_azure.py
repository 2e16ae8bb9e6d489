"""``az://`` locations read for real, offline: Azurite, Microsoft's Azure Storage emulator, on
127.0.0.1 (:mod:`tests.azure`), reached through the Azure SDK's variables.

The CLI, the notebook API, the DuckDB scan, the exact reader and the search's datasets read a
blob by range reads and give the same numbers as the local file; every failure is one line that
names the location and what to do, never the account's key or the connection string.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets

import numpy as np
import pandas as pd
import pytest

from diagnostics import api
from diagnostics.remote import shown_location
from diagnostics.remote_files import azure_options
from diagnostics.search.datasets import load_dataset
from diagnostics.validation import InputError
from tests.azure import ACCOUNT, CONTAINER, Azurite, start_azurite
from tests.conftest import write_predictions
from tests.test_remote import (
    predictions_pair,
    read_by_ranges,
    reads_as_local,
    refused,
    wide_parquet,
)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> Azurite:
    """The tests' Azure Storage emulator (one for the session)."""
    with start_azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture
def azure(azurite, monkeypatch) -> Azurite:
    """The emulator, named by ``AZURE_STORAGE_CONNECTION_STRING`` (no other Azure variable)."""
    azurite.use(monkeypatch)
    return azurite


def secrets_of(server: Azurite) -> tuple[str, ...]:
    """What must never appear in a message, a log or the audit."""
    return (server.key, server.key[:16], server.connection_string(), "AccountKey=")


def test_cli_and_api_diagnose_a_blob_as_the_local_file(azure, tmp_path, capsys):
    for path in predictions_pair(tmp_path):
        reads_as_local(azure.put(f"runs/{path.name}", path), path, capsys)


def test_the_account_variables_and_a_location_naming_its_account(azure, monkeypatch, tmp_path):
    path = write_predictions(tmp_path / "predictions.csv")
    location = azure.put("named/predictions.csv", path)
    expected = api.diagnose(path).to_dict()
    endpoint_only = f"BlobEndpoint={azure.endpoint}"
    azure.use(
        monkeypatch,
        {
            "AZURE_STORAGE_ACCOUNT_NAME": ACCOUNT,
            "AZURE_STORAGE_ACCOUNT_KEY": azure.key,
            "AZURE_STORAGE_CONNECTION_STRING": endpoint_only,
        },
    )
    assert api.diagnose(location).to_dict() == expected
    named = location.replace(CONTAINER, f"{CONTAINER}@{ACCOUNT}", 1)
    assert api.diagnose(named).to_dict() == expected
    assert shown_location(named) == f"az://{CONTAINER}@{ACCOUNT}/named/predictions.csv"


def test_a_large_parquet_blob_is_read_by_ranges(azure, tmp_path, caplog):
    path = wide_parquet(tmp_path / "wide.parquet", 200_000)
    read_by_ranges(azure.put("wide.parquet", path), path, caplog)


def test_a_parquet_blob_is_a_search_dataset(azure, tmp_path):
    rng = np.random.default_rng(0)
    rows = 400
    pd.DataFrame(
        {
            "id": np.arange(rows),
            "split": np.repeat(["train", "train_dev", "dev", "test"], rows // 4),
            "x1": rng.normal(size=rows),
            "x2": rng.normal(size=rows),
            "label": rng.integers(0, 3, rows),
        }
    ).to_parquet(tmp_path / "features.parquet")
    location = azure.put("features.parquet", tmp_path / "features.parquet")
    ours = load_dataset(f"parquet:{location}", label="label")
    expected = load_dataset(f"parquet:{tmp_path / 'features.parquet'}", label="label")
    assert ours.sizes() == expected.sizes()
    for split in expected.x:
        assert np.array_equal(ours.ids[split], expected.ids[split])
        assert np.array_equal(ours.x[split], expected.x[split])
        assert np.array_equal(ours.y[split], expected.y[split])


@pytest.mark.parametrize(
    ("location", "variables", "expected"),
    [
        (f"az://{CONTAINER}/no/such.parquet", "own", "predictions file not found"),
        ("az://desk-dta/predictions.csv", "own", "not found"),  # a typo in the container
        (f"az://{CONTAINER}/predictions.csv", "wrong key", "access denied"),
        (f"az://{CONTAINER}/predictions.csv", "cut key", "not a storage key"),
        (f"az://{CONTAINER}/predictions.csv", "no key", "access denied"),
        (f"az://{CONTAINER}@otheraccount/predictions.csv", "own", "access denied"),
        (f"az://{CONTAINER}/predictions.csv", "no server", "network error"),
        (f"az://{CONTAINER}/predictions.csv", "none", "names its storage account"),
        (f"az://{CONTAINER}/predictions.csv", "not a string", "is not a connection string"),
        (f"az://{CONTAINER}/predictions.csv", "not an endpoint", "BlobEndpoint of"),
    ],
)
def test_azure_refusals_are_one_line_without_the_key(
    azurite, monkeypatch, tmp_path, capsys, caplog, location, variables, expected
):
    azurite.put("predictions.csv", write_predictions(tmp_path / "predictions.csv"))
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    setting = {
        "own": azurite.connection_string(),
        "wrong key": azurite.connection_string(wrong),
        "cut key": azurite.connection_string(azurite.key[:-3]),
        "no key": f"AccountName={ACCOUNT};BlobEndpoint={azurite.endpoint}",
        "no server": azurite.connection_string().replace(azurite.root, "http://127.0.0.1:9"),
        "not a string": azurite.endpoint,  # the endpoint alone
        "not an endpoint": azurite.connection_string().replace("http://", ""),
    }.get(variables)
    azurite.use(monkeypatch, {"AZURE_STORAGE_CONNECTION_STRING": setting} if setting else {})
    caplog.set_level(logging.DEBUG)
    message = refused(capsys, "diagnose", location)
    assert expected in message
    assert shown_location(location) in message
    if expected in ("access denied", "network error"):
        assert "AZURE_STORAGE" in message and "AWS" not in message
    for secret in (*secrets_of(azurite), wrong):
        assert secret not in message and secret not in caplog.text
    with pytest.raises(InputError, match=expected):
        api.diagnose(location)


def test_a_version_from_a_blob_keeps_no_key_in_its_origin_or_the_audit(azure, data_dir, tmp_path):
    from strategy_app.auth import LOCAL_USER
    from strategy_app.diagnose.service import accept_location
    from strategy_app.store import open_store

    location = azure.put("models/v1.csv", write_predictions(tmp_path / "v1.csv"))
    store = open_store()
    project = store.projects.create("azure")
    accept_location(store, project.id, location, LOCAL_USER)
    (version,) = store.versions.list(project.id)
    assert version.origin == {"kind": "location", "location": location}
    history = store.audit.history(project.id)
    assert history
    saved = json.dumps([version.origin, repr(history), repr(version)])
    assert not any(secret in saved for secret in secrets_of(azure))


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (  # Azure's cloud: the account's own key, pyarrow's default endpoints
            {"AZURE_STORAGE_ACCOUNT_NAME": "team", "AZURE_STORAGE_ACCOUNT_KEY": "a2V5"},
            {"account_name": "team", "account_key": "a2V5"},
        ),
        (  # a SAS token
            {"AZURE_STORAGE_ACCOUNT_NAME": "team", "AZURE_STORAGE_SAS_TOKEN": "sv=1&sig=x"},
            {"account_name": "team", "sas_token": "sv=1&sig=x"},
        ),
        (  # a connection string for Azure's cloud elsewhere (a national cloud)
            {
                "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;"
                "AccountName=team;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn"
            },
            {
                "account_name": "team",
                "account_key": "a2V5",
                "blob_storage_authority": ".blob.core.chinacloudapi.cn",
                "dfs_storage_authority": ".dfs.core.chinacloudapi.cn",
                "blob_storage_scheme": "https",
                "dfs_storage_scheme": "https",
            },
        ),
        (  # a BlobEndpoint on the account's own host
            {
                "AZURE_STORAGE_CONNECTION_STRING": "AccountName=team;AccountKey=a2V5;"
                "BlobEndpoint=https://team.blob.core.windows.net/"
            },
            {
                "account_name": "team",
                "account_key": "a2V5",
                "blob_storage_authority": ".blob.core.windows.net",
                "dfs_storage_authority": ".dfs.core.windows.net",
                "blob_storage_scheme": "https",
                "dfs_storage_scheme": "https",
            },
        ),
        (  # another account than the key's: no key (Azure's default credential)
            {"AZURE_STORAGE_ACCOUNT_NAME": "other", "AZURE_STORAGE_ACCOUNT_KEY": "a2V5"},
            {"account_name": "team"},
        ),
    ],
)
def test_the_azure_variables_become_pyarrows_arguments(variables, expected):
    location = "az://models@team/v1.parquet" if "other" in variables.values() else "az://m/v1"
    assert azure_options(location, variables) == expected
