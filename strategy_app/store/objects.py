"""Files a team shares: object storage under ``STRATEGY_STORAGE_URL`` (``s3://bucket/prefix``).

With it set, the bytes of uploads (and so of every version's predictions and the projects'
datasets) and of image zips are written to the bucket before anything refers to them, and each
app server keeps a local copy in its data folder as a cache: the files are content-addressed
(their SHA-256 is their name), so a cached copy is never stale, and a server that lacks one
fetches it on first use. Several app servers behind a load balancer thus see the same files.
Credentials come from the standard AWS variables (``AWS_ENDPOINT_URL`` for an S3-compatible
server, ``AWS_PROFILE``), never from the URL, and never appear in a message.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from diagnostics.remote import remote_error, shown_location, url_scheme
from diagnostics.validation import InputError
from strategy_app.store.engine import StoreUnwritable

STORAGE_SCHEMES = ("s3", "gs")


class ObjectStorage:
    """A bucket and prefix that holds the team's files under keys (``uploads/SHA256``)."""

    def __init__(self, url: str) -> None:
        scheme = url_scheme(url)
        if scheme not in STORAGE_SCHEMES:
            raise InputError(
                f"STRATEGY_STORAGE_URL: '{shown_location(url) if scheme else url}' is not object "
                "storage; use s3://BUCKET/PREFIX (or gs://BUCKET/PREFIX), or unset it to keep "
                "files in the data folder"
            )
        self.url = url.rstrip("/")
        try:
            self._files, root = pafs.FileSystem.from_uri(self.url)
        except (OSError, pa.ArrowException) as exc:
            raise self._failed(self.url, exc) from None
        self._root = root.rstrip("/")

    def __str__(self) -> str:
        return shown_location(self.url)

    def _key(self, key: str) -> str:
        return f"{self._root}/{key}"

    def _failed(self, where: str, exc: BaseException) -> InputError:
        return remote_error(where, exc)

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` (StoreUnwritable naming the location on failure)."""
        try:
            with self._files.open_output_stream(self._key(key)) as out:
                out.write(data)
        except (OSError, pa.ArrowException) as exc:
            raise StoreUnwritable(f"not saved: {self._failed(f'{self.url}/{key}', exc)}") from None

    def put_file(self, key: str, path: Path) -> None:
        """Write the file at ``path`` under ``key``, streamed (StoreUnwritable on failure)."""
        try:
            with path.open("rb") as source, self._files.open_output_stream(self._key(key)) as out:
                while chunk := source.read(1 << 22):
                    out.write(chunk)
        except (OSError, pa.ArrowException) as exc:
            raise StoreUnwritable(f"not saved: {self._failed(f'{self.url}/{key}', exc)}") from None

    def exists(self, key: str) -> bool:
        """True when an object is stored under ``key``."""
        try:
            info = self._files.get_file_info(self._key(key))
        except (OSError, pa.ArrowException) as exc:
            raise self._failed(f"{self.url}/{key}", exc) from None
        return bool(info.type == pafs.FileType.File)

    def fetch(self, key: str, target: Path) -> bool:
        """Copy the object ``key`` to ``target`` (atomically); False when there is none."""
        if not self.exists(key):
            return False
        self._download(key, target)
        return True

    def fetch_newer(self, key: str, target: Path) -> bool:
        """Copy the object ``key`` to ``target`` unless ``target`` is already the object's
        latest copy (a file that may be written again: its time is the object's); False when
        there is none."""
        try:
            info = self._files.get_file_info(self._key(key))
        except (OSError, pa.ArrowException) as exc:
            raise self._failed(f"{self.url}/{key}", exc) from None
        if info.type != pafs.FileType.File:
            return False
        stamp = info.mtime.timestamp() if info.mtime is not None else None
        if stamp is not None and target.is_file() and abs(target.stat().st_mtime - stamp) < 1e-3:
            return True
        self._download(key, target)
        if stamp is not None:
            os.utime(target, (stamp, stamp))
        return True

    def _download(self, key: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        try:
            with (
                os.fdopen(handle, "wb") as out,
                self._files.open_input_stream(self._key(key)) as source,
            ):
                while chunk := source.read(1 << 22):
                    out.write(chunk)
            os.replace(temporary, target)
        except (OSError, pa.ArrowException) as exc:
            Path(temporary).unlink(missing_ok=True)
            raise self._failed(f"{self.url}/{key}", exc) from None

    def delete(self, key: str) -> None:
        """Remove the object ``key`` (nothing when there is none)."""
        try:
            self._files.delete_file(self._key(key))
        except FileNotFoundError:
            return
        except (OSError, pa.ArrowException) as exc:
            raise self._failed(f"{self.url}/{key}", exc) from None
