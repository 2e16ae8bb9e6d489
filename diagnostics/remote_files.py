"""The fsspec filesystems behind :mod:`diagnostics.remote` (imported only when a remote
location is read): pyarrow's S3, GCS and Azure filesystems, and HTTP range requests. Each counts
the bytes it reads (:attr:`RemoteFiles.bytes_read`), for the range-read checks and the bench.

pyarrow's S3 and GCS filesystems read their credentials from the standard variables themselves;
its Azure filesystem does not, so :func:`azure_options` maps the Azure SDK's variables onto its
arguments (the one place where an environment is read for a library, as AWS's SDK reads its own).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
from fsspec.implementations.arrow import ArrowFSWrapper
from fsspec.spec import AbstractFileSystem

from diagnostics.remote import (
    AZURE_CREDENTIALS,
    SCHEMES,
    remote_error,
    shown_location,
    url_scheme,
)
from diagnostics.validation import InputError

HTTP_TIMEOUT = 60.0
GCS_RETRY_LIMIT = timedelta(seconds=15)  # Google's client retries transient errors this long
ALIAS_HOST = "desk-location"


class _Counted:
    """The bytes read through one filesystem, for the range-read checks and the benchmark."""

    bytes_read: int = 0
    _counting = threading.Lock()  # DuckDB reads from several threads: no count may be lost

    def count(self, size: int) -> None:
        """Add ``size`` bytes read."""
        with self._counting:
            self.bytes_read += size


class CountedFile(io.RawIOBase):
    """A file read through a :class:`RemoteFiles`: reads counted, errors turned into one line.

    Every read is positional (``read_range(start, end)``: pyarrow's thread-safe ``read_at`` or
    one HTTP range request), so no read moves another. DuckDB's threads share one open file and
    ask for a range as two calls, ``seek`` then ``read``, with other threads running between
    them: so a seek is remembered for the thread that made it and that thread's next read starts
    there, whatever other threads did meanwhile. A read with no seek of its own before it (a
    reader going on, as pyarrow's CSV reader does from its own threads) starts where the file's
    last read or seek left it.
    """

    def __init__(
        self,
        read_range: Callable[[int, int], bytes],
        size: int,
        files: RemoteFiles,
        location: str,
        counted: bool = True,
        close: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self._read_range, self.size = read_range, size
        self._files, self._location = files, location
        self._counted = counted  # False when ``read_range`` counts its own transfers
        self._close = close
        self._position = 0  # where a read with no seek of its own starts
        self._sought = threading.local()  # a thread's last seek, until its read
        self._moving = threading.Lock()

    def readable(self) -> bool:
        """Always: these files are opened for reading."""
        return True

    def seekable(self) -> bool:
        """Always: every read is a range read."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (no request is made); this thread's next read starts there."""
        with self._moving:
            base = {io.SEEK_SET: 0, io.SEEK_CUR: self._here(), io.SEEK_END: self.size}[whence]
            self._position = self._sought.at = max(base + offset, 0)
            return self._position

    def tell(self) -> int:
        """Where this thread's next read starts."""
        with self._moving:
            return self._here()

    def _here(self) -> int:
        at = getattr(self._sought, "at", None)
        return self._position if at is None else int(at)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all to the end when negative) from where this thread's next read
        starts: one range request, or a few."""
        with self._moving:
            start = self._here()
            end = self.size if size is None or size < 0 else min(start + size, self.size)
            self._sought.at = None
            self._position = max(end, start)  # a reader going on starts after this read
        if end <= start:
            return b""
        try:
            data = bytes(self._read_range(start, end))
        except (OSError, pa.ArrowException) as exc:
            raise remote_error(self._location, exc) from None
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
        if self._close is not None:
            self._close()
        super().close()


class RemoteFiles(_Counted, AbstractFileSystem):  # type: ignore[misc]
    """The fsspec filesystem of one scheme, as DuckDB and the readers open it."""

    cachable = False

    def scan_path(self, location: str) -> str:
        """The name DuckDB reads ``location`` by (through this filesystem)."""
        return location

    def size(self, path: str) -> int:
        """The size in bytes of the file at ``path``."""
        return int(self.info(path)["size"])

    def folder_files(self, location: str) -> list[str]:
        """The files under the folder ``location``, as sorted relative POSIX paths (a folder of
        object storage: every object under its prefix)."""
        raise InputError(
            f"{shown_location(location)}: an {url_scheme(location)}:// location cannot be listed "
            "as a folder; give a folder in object storage (s3://, gs://, az://) or a zip archive"
        )


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

    def folder_files(self, location: str) -> list[str]:
        """The objects under the prefix ``location`` names, relative to it (sorted)."""
        base = self._strip_protocol(location).rstrip("/")
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except (OSError, pa.ArrowException) as exc:
            raise remote_error(location, exc) from None
        return sorted(
            info.path[len(base) + 1 :] for info in infos if info.type == pafs.FileType.File
        )

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> CountedFile:
        if mode != "rb":
            raise InputError(f"{path}: remote locations are read, not written, here")
        raw = self.fs.open_input_file(self._strip_protocol(path))
        return CountedFile(
            lambda start, end: raw.read_at(end - start, start),
            raw.size(),
            self,
            f"{self._scheme}://{self._strip_protocol(path)}",
            close=raw.close,
        )


class AzureFiles(ArrowFiles):
    """Blobs in Azure storage (``az://CONTAINER[@ACCOUNT]/PATH``): the account is the
    filesystem's, so a path inside it is ``CONTAINER/PATH``."""

    def __init__(self, filesystem: pafs.FileSystem) -> None:
        super().__init__("az", filesystem)

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        container, slash, rest = super()._strip_protocol(path).partition("/")
        return container.partition("@")[0] + slash + rest


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

    def read_range(self, url: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of the file at ``url``: one range request."""
        response = self.request("GET", url, {"Range": f"bytes={start}-{end - 1}"})
        if response.status_code not in (200, 206):
            raise OSError(f"HTTP status {response.status_code}")
        data = response.content if response.status_code == 206 else response.content[start:end]
        self.count(len(data))
        return bytes(data)

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
        url = self.aliases.get(path, path)
        return CountedFile(
            lambda start, end: self.read_range(url, start, end),
            self.size(url),
            self,
            url,
            counted=False,
        )

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
    try:
        if scheme == "az":
            return AzureFiles(pafs.AzureFileSystem(**azure_options(location, os.environ)))
        if scheme == "gs":  # bounded retries: without credentials or network, a line, no hang
            return ArrowFiles(scheme, pafs.GcsFileSystem(retry_time_limit=GCS_RETRY_LIMIT))
        filesystem, _ = pafs.FileSystem.from_uri(location)
    except (OSError, pa.ArrowException) as exc:
        raise remote_error(location, exc) from None
    return ArrowFiles(scheme, filesystem)


def _connection_string(environment: Mapping[str, str], location: str) -> dict[str, str]:
    """The ``NAME=VALUE;…`` pairs of ``AZURE_STORAGE_CONNECTION_STRING`` (empty when unset),
    for reading ``location``."""
    text = environment.get("AZURE_STORAGE_CONNECTION_STRING", "").strip()
    pairs = [part.partition("=") for part in text.split(";") if part.strip()]
    if any(not sep or not name.strip() for name, sep, _ in pairs):
        raise InputError(
            f"{shown_location(location)} could not be read: AZURE_STORAGE_CONNECTION_STRING is "
            "not a connection string; give NAME=VALUE pairs separated by ';', as the storage "
            "account's access keys give it"
        )
    return {name.strip(): value.strip() for name, _, value in pairs if value.strip()}


def _endpoint(url: str, account: str, location: str) -> tuple[str, str, str]:
    """The scheme and the blob and Data Lake authorities of a ``BlobEndpoint`` URL, as pyarrow
    takes them: ``.blob.SUFFIX`` where the host starts with the account's name (Azure's cloud),
    else ``HOST:PORT``, the account then being the path's first part (an emulator)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if not parts.scheme or not host:
        raise InputError(
            f"{shown_location(location)} could not be read: the BlobEndpoint of "
            "AZURE_STORAGE_CONNECTION_STRING is not a URL; give http(s)://HOST[:PORT][/ACCOUNT]"
        )
    if host.lower().startswith(f"{account.lower()}."):
        blob = host[len(account) :]
        return parts.scheme, blob, blob.replace(".blob.", ".dfs.", 1)
    return parts.scheme, host, host


def azure_options(location: str, environment: Mapping[str, str]) -> dict[str, str]:
    """The arguments of :class:`pyarrow.fs.AzureFileSystem` for an ``az://CONTAINER/PATH`` (or
    ``az://CONTAINER@ACCOUNT/PATH``) location, from the Azure SDK's variables in
    ``environment``: ``AZURE_STORAGE_ACCOUNT_NAME`` with ``AZURE_STORAGE_ACCOUNT_KEY`` (or
    ``AZURE_STORAGE_SAS_TOKEN``), and ``AZURE_STORAGE_CONNECTION_STRING``, whose parts win
    where both give one and whose ``BlobEndpoint`` (or ``EndpointSuffix``) points at a server
    other than Azure's cloud. The keys apply to their own account only; for another account,
    or without keys, pyarrow uses Azure's default credential."""
    settings = {
        name: environment[variable]
        for name, variable in (
            ("AccountName", "AZURE_STORAGE_ACCOUNT_NAME"),
            ("AccountKey", "AZURE_STORAGE_ACCOUNT_KEY"),
            ("SharedAccessSignature", "AZURE_STORAGE_SAS_TOKEN"),
        )
        if environment.get(variable)
    }
    settings.update(_connection_string(environment, location))
    own = settings.get("AccountName", "")
    account = location[len("az://") :].partition("/")[0].partition("@")[2] or own
    if not account:
        raise InputError(
            f"{shown_location(location)}: an az:// location names its storage account "
            f"(az://CONTAINER@ACCOUNT/PATH), or set {AZURE_CREDENTIALS}"
        )
    options = {"account_name": account}
    if account == own and settings.get("AccountKey"):
        options["account_key"] = settings["AccountKey"]
    elif account == own and settings.get("SharedAccessSignature"):
        options["sas_token"] = settings["SharedAccessSignature"]
    scheme = settings.get("DefaultEndpointsProtocol", "https")
    if settings.get("BlobEndpoint"):
        scheme, blob, dfs = _endpoint(settings["BlobEndpoint"], account, location)
    elif settings.get("EndpointSuffix"):
        blob, dfs = (f".{kind}.{settings['EndpointSuffix']}" for kind in ("blob", "dfs"))
    else:
        return options
    options.update(
        blob_storage_authority=blob,
        dfs_storage_authority=dfs,
        blob_storage_scheme=scheme,
        dfs_storage_scheme=scheme,
    )
    return options
