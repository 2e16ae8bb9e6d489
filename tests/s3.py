"""A real S3-compatible server on 127.0.0.1 for the tests: moto's server, with IAM checks on.

:func:`start_s3` starts it in a subprocess with signature and permission checks enforced after
the first three requests (which create the admin user, its policy and its keys), so refused
credentials and a bucket without permission are the server's own answers. The tests' session
fixture (in each test module that needs it) is :func:`s3_session`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

REGION = "us-east-1"
BUCKET = "desk-data"  # the team's bucket: every user of the tests may read and write it
LOCKED = "desk-locked"  # a bucket the reader may not read
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Keys:
    """An access key pair of the server's IAM."""

    access_key: str
    secret_key: str


@dataclass(frozen=True)
class S3Server:
    """The running server: its endpoint, the admin's keys and a reader's (only ``BUCKET``)."""

    endpoint: str
    admin: Keys
    reader: Keys

    def client(self, keys: Keys | None = None):
        """A boto3 S3 client signed with ``keys`` (the admin's by default)."""
        keys = keys or self.admin
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=keys.access_key,
            aws_secret_access_key=keys.secret_key,
        )

    def environment(self, keys: Keys | None = None) -> dict[str, str]:
        """The standard AWS variables that point the readers at this server with ``keys``."""
        keys = keys or self.admin
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": keys.access_key,
            "AWS_SECRET_ACCESS_KEY": keys.secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def use(self, monkeypatch, keys: Keys | None = None) -> None:
        """Set :meth:`environment` for one test (no profile, no other credentials)."""
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        for name, value in self.environment(keys).items():
            monkeypatch.setenv(name, value)

    def put(self, key: str, path: Path, bucket: str = BUCKET) -> str:
        """Upload a local file; its ``s3://`` location."""
        self.client().upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{key}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the S3 server stopped while starting")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the S3 server did not start within 60 s")


def _iam(endpoint: str, keys: Keys | None = None):
    keys = keys or Keys("bootstrap", "bootstrap")
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
    )


def _user(iam, name: str, policy: dict) -> Keys:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


@contextmanager
def start_s3() -> Iterator[S3Server]:
    """Run the server (IAM enforced after the admin's three set-up requests) until the block
    ends, with the buckets ``BUCKET`` and ``LOCKED`` and a reader allowed ``BUCKET`` only."""
    port = _free_port()
    environment = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": "3",
        "MOTO_CALL_RESET_API": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(port, process)
        endpoint = f"http://127.0.0.1:{port}"
        admin = _user(_iam(endpoint), "admin", ALLOW_ALL)
        team = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                }
            ],
        }
        reader = _user(_iam(endpoint, admin), "reader", team)
        server = S3Server(endpoint, admin, reader)
        for bucket in (BUCKET, LOCKED):
            server.client().create_bucket(Bucket=bucket)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
