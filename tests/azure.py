"""A real Azure Storage emulator on 127.0.0.1 for the tests: Azurite's blob service.

:func:`start_azurite` runs ``azurite-blob`` (from the npm registry, installed into ``.tools/``
by ``make system-deps``) in a subprocess, with one storage account whose key is made for the
session, so refused keys are the emulator's own answers. The tests reach it as a user would, by
``AZURE_STORAGE_CONNECTION_STRING`` (its ``BlobEndpoint`` names the emulator). Where Node.js is
absent the tests that need it are skipped (in CI they fail instead); where Azurite is not
installed they fail, asking for ``make system-deps``.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests.app_server import ROOT, free_port

AZURITE_VERSION = "3.37.0"  # as .ci/system-deps installs it
ACCOUNT = "deskaccount"
CONTAINER = "desk-data"
VARIABLES = (
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
)


@dataclass(frozen=True)
class Azurite:
    """The running emulator: its blob endpoint's root and the account's key."""

    root: str  # http://127.0.0.1:PORT (the account is the path's first part)
    key: str

    @property
    def endpoint(self) -> str:
        """The account's blob endpoint, as a connection string's ``BlobEndpoint`` gives it."""
        return f"{self.root}/{ACCOUNT}"

    def connection_string(self, key: str | None = None) -> str:
        """A connection string for the account, signed with ``key`` (its own by default)."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
            f"AccountKey={key or self.key};BlobEndpoint={self.endpoint};"
        )

    def use(self, monkeypatch, variables: dict[str, str] | None = None) -> None:
        """Only ``variables`` of the Azure ones for one test (by default the connection
        string)."""
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        if variables is None:
            variables = {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string()}
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    def filesystem(self) -> pafs.AzureFileSystem:
        """pyarrow's filesystem of the account, with its key (to upload the tests' files)."""
        authority = self.root.removeprefix("http://")
        return pafs.AzureFileSystem(
            account_name=ACCOUNT,
            account_key=self.key,
            blob_storage_authority=authority,
            dfs_storage_authority=authority,
            blob_storage_scheme="http",
            dfs_storage_scheme="http",
        )

    def put(self, name: str, path: Path, container: str = CONTAINER) -> str:
        """Upload a local file as the blob ``name``; its ``az://`` location."""
        pafs.copy_files(
            str(path),
            f"{container}/{name}",
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.filesystem(),
        )
        return f"az://{container}/{name}"


def azurite_command() -> Path:
    """The installed ``azurite-blob``; skips without Node.js (fails in CI), fails without
    Azurite."""
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is missing in CI (`make system-deps` installs it)")
        pytest.skip("Node.js is not installed: no Azure Storage emulator (run `make system-deps`)")
    command = ROOT / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    if not command.exists():
        pytest.fail(f"Azurite {AZURITE_VERSION} is not in .tools/: run `make system-deps`")
    return command


def _wait(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:  # an answer (it refuses an unsigned request): it is up
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("Azurite did not start within 60 s")


@contextmanager
def start_azurite(folder: Path) -> Iterator[Azurite]:
    """Run Azurite's blob service (its files in ``folder``) until the block ends, with the
    account ``ACCOUNT`` and its container ``CONTAINER``."""
    port = free_port()
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    process = subprocess.Popen(
        [
            str(azurite_command()),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(folder),
            "--silent",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ],
        env={**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{key}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = Azurite(f"http://127.0.0.1:{port}", key)
        _wait(server.endpoint, process)
        server.filesystem().create_dir(CONTAINER)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
