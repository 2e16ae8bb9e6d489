"""The fsspec filesystems behind :mod:`diagnostics.remote` (imported only when a remote
location is read): pyarrow's S3, GCS and Azure filesystems, and HTTP range requests. Each counts
the bytes it reads (:attr:`RemoteFiles.bytes_read`), for the range-read checks and the bench.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from fsspec.implementations.arrow import ArrowFSWrapper
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from diagnostics.remote import SCHEMES, remote_error, shown_location, url_scheme
from diagnostics.validation import InputError

HTTP_TIMEOUT = 60.0
HTTP_BLOCK = 1 << 20  # fsspec's block size for HTTP files (reads are not cached: one request each)
ALIAS_HOST = "desk-location"


class _Counted:
    """The bytes read through one filesystem, for the range-read checks and the benchmark."""

    bytes_read: int = 0

    def count(self, size: int) -> None:
        """Add ``size`` bytes read."""
        self.bytes_read += size


class CountedFile(io.RawIOBase):
    """A file read through a :class:`RemoteFiles`: reads counted, errors turned into one line."""

    def __init__(self, raw: Any, files: RemoteFiles, location: str, counted: bool = True) -> None:
        super().__init__()
        self._raw, self._files, self._location = raw, files, location
        self._counted = counted  # False when the raw file counts its own transfers

    def readable(self) -> bool:
        """Always: these files are opened for reading."""
        return True

    def seekable(self) -> bool:
        """Always: every read is a range read."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (no request is made)."""
        return int(self._raw.seek(offset, whence))

    def tell(self) -> int:
        """The position in the file."""
        return int(self._raw.tell())

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes from the position (one range request, or a few)."""
        try:
            data = self._raw.read(None if size is None or size < 0 else size)
        except (OSError, pa.ArrowException) as exc:
            raise remote_error(self._location, exc) from None
        data = bytes(data)
        if self._counted:
            self._files.count(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``; the number of bytes read."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the underlying file."""
        self._raw.close()
        super().close()

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return int(self._files.size(self._location))


class RemoteFiles(_Counted, AbstractFileSystem):  # type: ignore[misc]
    """The fsspec filesystem of one scheme, as DuckDB and the readers open it."""

    cachable = False

    def scan_path(self, location: str) -> str:
        """The name DuckDB reads ``location`` by (through this filesystem)."""
        return location

    def size(self, path: str) -> int:
        """The size in bytes of the file at ``path``."""
        return int(self.info(path)["size"])


class ArrowFiles(RemoteFiles, ArrowFSWrapper):  # type: ignore[misc]
    """Objects in S3, Google Cloud Storage or Azure, through pyarrow's filesystem."""

    def __init__(self, scheme: str, filesystem: pafs.FileSystem) -> None:
        ArrowFSWrapper.__init__(self, filesystem)
        self._scheme = scheme

    @property
    def protocol(self) -> tuple[str, ...]:
        """The scheme DuckDB routes to this filesystem."""
        return (self._scheme,)

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path)
        return text.split("://", 1)[1] if "://" in text else text

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> CountedFile:
        if mode != "rb":
            raise InputError(f"{path}: remote locations are read, not written, here")
        raw = self.fs.open_input_file(self._strip_protocol(path))
        return CountedFile(raw, self, f"{self._scheme}://{self._strip_protocol(path)}")


class HttpFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file behind an HTTP(S) URL, read by range requests."""

    def _fetch_range(self, start: int, end: int) -> bytes:
        files: HttpFiles = self.fs
        response = files.request("GET", self.path, {"Range": f"bytes={start}-{end - 1}"})
        if response.status_code not in (200, 206):
            raise OSError(f"HTTP status {response.status_code}")
        data = response.content if response.status_code == 206 else response.content[start:end]
        files.count(len(data))
        return bytes(data)


class HttpFiles(RemoteFiles):
    """Files behind ``https://`` (and ``http://``) URLs, with range requests."""

    protocol = ("https", "http")

    def __init__(self) -> None:
        import httpx

        super().__init__()
        self.client = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True)
        self.aliases: dict[str, str] = {}

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        return str(path)

    def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Any:
        """One HTTP request; a transport failure is an OSError naming its kind only."""
        import httpx

        try:
            return self.client.request(method, url, headers=headers)
        except httpx.HTTPError as exc:
            raise OSError(f"network error ({type(exc).__name__})") from None

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """The URL's size, from a HEAD request (404 is a missing file)."""
        path = self.aliases.get(path, path)
        response = self.request("HEAD", path)
        if response.status_code == 404:
            raise FileNotFoundError(path)
        if response.status_code >= 400:
            raise OSError(f"HTTP status {response.status_code}")
        size = response.headers.get("content-length")
        if size is None:
            raise OSError("the server gives no size (Content-Length) for it")
        return {"name": path, "size": int(size), "type": "file"}

    def modified(self, path: str) -> datetime:
        """The URL's Last-Modified time (the epoch when the server gives none)."""
        stamp = self.request("HEAD", self.aliases.get(path, path)).headers.get("last-modified")
        return parsedate_to_datetime(stamp) if stamp else datetime.fromtimestamp(0, UTC)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> CountedFile:
        path = self.aliases.get(path, path)
        raw = HttpFile(self, path, mode="rb", block_size=HTTP_BLOCK, cache_type="none")
        return CountedFile(raw, self, path, counted=False)

    def scan_path(self, location: str) -> str:
        """A name for ``location`` without a query string, as DuckDB takes it (a ``?`` would be
        a glob pattern to it, and the signature of a signed URL stays out of its messages)."""
        alias = f"{url_scheme(location)}://{ALIAS_HOST}/{len(self.aliases)}"
        self.aliases[alias] = location
        return alias


def remote_files(location: str) -> RemoteFiles:
    """The filesystem that reads ``location`` (one per call: its byte counter is its own)."""
    scheme = url_scheme(location)
    if scheme in ("https", "http"):
        return HttpFiles()
    if scheme not in SCHEMES:
        raise InputError(
            f"{shown_location(location)}: unsupported location scheme '{scheme}://'; give a "
            f"local path or a {', '.join(s + '://' for s in SCHEMES[:4])} URL"
        )
    uri = location
    if scheme == "az":
        container, _, rest = location[len("az://") :].partition("/")
        if "@" not in container:
            raise InputError(
                f"{shown_location(location)}: an az:// location names its storage account: "
                "az://CONTAINER@ACCOUNT/PATH"
            )
        name, _, account = container.partition("@")
        uri = f"abfs://{name}@{account}.dfs.core.windows.net/{rest}"
    try:
        filesystem, _ = pafs.FileSystem.from_uri(uri)
    except (OSError, pa.ArrowException) as exc:
        raise remote_error(location, exc) from None
    return ArrowFiles(scheme, filesystem)
