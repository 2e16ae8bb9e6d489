"""A Google Cloud Storage emulator on 127.0.0.1 for the ``gs://`` tests (``gcp-storage-emulator``).

:func:`start_gcs` runs it in a subprocess (in this process, a pyarrow call that keeps the GIL
would wait forever on a server thread that needs it), one thread per connection. pyarrow's GCS
client (google-cloud-cpp) reaches it through ``CLOUD_STORAGE_EMULATOR_ENDPOINT``, its own
variable, with a service account key made for the test (it signs its own tokens: no token
server). So the readers take the standard Google variables as in production, and nothing in
the project names the emulator.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("gcp_storage_emulator")

GS_BUCKET = "desk-gs"


@dataclass(frozen=True)
class GcsServer:
    """The running emulator: its port and a service account key file for the client."""

    port: int
    key_file: Path

    def use(self, monkeypatch) -> None:
        """Point pyarrow's GCS client at the emulator, with the test's service account."""
        monkeypatch.setenv("CLOUD_STORAGE_EMULATOR_ENDPOINT", f"http://127.0.0.1:{self.port}")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(self.key_file))

    def put(self, key: str, path: Path) -> str:
        """Upload a local file to the bucket; its ``gs://`` location."""
        import pyarrow.fs as pafs

        files = pafs.GcsFileSystem(
            anonymous=True,
            endpoint_override=f"127.0.0.1:{self.port}",
            scheme="http",
            retry_time_limit=timedelta(seconds=5),
        )
        with files.open_output_stream(f"{GS_BUCKET}/{key}") as out:
            out.write(path.read_bytes())
        return f"gs://{GS_BUCKET}/{key}"


def _service_account(path: Path) -> Path:
    """A service account key of the test's own (a fresh RSA key; no Google project)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "project_id": "desk-tests",
        "private_key_id": "tests",
        "private_key": pem,
        "client_email": "desk@desk-tests.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",  # never asked: the client signs its own tokens
    }
    path.write_text(json.dumps(account))
    return path


# The emulator's request handler in a threading server: its own server answers one connection
# at a time, and pyarrow's client, which may leave a large answer unread on one connection while
# it asks on another, would then wait forever.
_SERVE = f"""
import sys
from functools import partial
from http.server import ThreadingHTTPServer
from gcp_storage_emulator.handlers.buckets import create_bucket
from gcp_storage_emulator.server import RequestHandler
from gcp_storage_emulator.storage import Storage
storage = Storage(use_memory_fs=True)
create_bucket("{GS_BUCKET}", storage)
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), partial(RequestHandler, storage))
server.serve_forever()
"""


@contextmanager
def start_gcs(folder: Path) -> Iterator[GcsServer]:
    """Run the emulator (in memory, with the bucket ``GS_BUCKET``) until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the GCS emulator did not start") from None
                time.sleep(0.1)
        yield GcsServer(port, _service_account(folder / "service-account.json"))
    finally:
        process.terminate()
        process.wait(timeout=30)
