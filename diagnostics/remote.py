"""Files read where they live: ``s3://``, ``gs://``, ``az://`` and ``https://`` locations.

A location is opened through pyarrow's filesystems (S3, Google Cloud Storage, Azure) or, for
``https://``, plain HTTP range requests; every read is a range read, so a Parquet file is read
footer first and then only the column chunks a query needs, never copied whole. DuckDB scans a
location through the same files (:func:`register`), since its own remote extension (httpfs) is
downloaded at run time and cannot be here.

Credentials come from where the cloud libraries look for them (for S3 the standard ``AWS_*``
variables, ``AWS_ENDPOINT_URL`` for an S3-compatible server, ``AWS_PROFILE`` and the shared
credentials file; for Azure the Azure SDK's ``AZURE_STORAGE_*`` variables, which
:func:`diagnostics.remote_files.azure_options` hands to pyarrow); this module neither reads nor
keeps them. A location is shown in messages as
:func:`shown_location` writes it, without user information or query string (a signed URL's
signature), and every failure is one :class:`~diagnostics.validation.InputError` line naming
the location and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow as pa

from diagnostics.validation import InputError

if TYPE_CHECKING:
    from diagnostics.remote_files import CountedFile, RemoteFiles

SCHEMES = ("s3", "gs", "az", "https", "http")
AZURE_CREDENTIALS = (
    "AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_CONNECTION_STRING)"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def url_scheme(location: object) -> str | None:
    """The scheme of a ``scheme://…`` location (lower case), or None for a local path."""
    if not isinstance(location, str):
        return None
    match = _SCHEME.match(location)
    return match.group(1).lower() if match else None


def is_remote(location: object) -> bool:
    """True for a location with a scheme (``s3://…``); an unsupported scheme is refused when
    the location is opened, not read as a local path."""
    return url_scheme(location) not in (None, "file")


def shown_location(location: str) -> str:
    """The location as messages show it: no user, password or query string (a signed URL's
    signature stays out of messages, logs and the audit)."""
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    if parts.scheme == "az" and parts.username and parts.password is None:
        host = f"{parts.username}@{host}"  # az://CONTAINER@ACCOUNT/…: the container, no secret
    return f"{parts.scheme}://{host}{parts.path}"


def location_name(location: str) -> str:
    """The file name at the end of a location (what a local file's name would be)."""
    return urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1] or shown_location(location)


@dataclass
class RemoteFile:
    """One remote file: where it is, its size and the filesystem that reads it."""

    location: str
    files: RemoteFiles
    size: int
    name: str = field(default="")
    scan_path: str = field(default="")  # what DuckDB reads it by (:func:`register`)

    def open(self, mode: str = "rb") -> CountedFile:
        """The file, opened for range reads (``mode`` is ``rb``, as a local path's)."""
        try:
            handle = self.files.open(self.location, "rb")
        except (OSError, pa.ArrowException) as exc:
            raise remote_error(self.location, exc) from None
        return handle  # type: ignore[no-any-return]

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes."""
        with self.open() as handle:
            return handle.read(size)


def open_remote(location: str, files: RemoteFiles, what: str = "file") -> RemoteFile:
    """The remote file at ``location`` read through ``files`` (a filesystem of
    :func:`diagnostics.remote_files.remote_files`, with its byte counter), checked to exist
    (InputError naming it otherwise)."""
    try:
        info = files.info(location)
    except FileNotFoundError:
        names = "container and the blob" if url_scheme(location) == "az" else "bucket and the key"
        raise InputError(
            f"{what} not found: {shown_location(location)}; check the {names} "
            "(names are case-sensitive)"
        ) from None
    except (OSError, pa.ArrowException) as exc:
        raise remote_error(location, exc) from None
    if info.get("type") == "directory":
        raise InputError(
            f"{what} {shown_location(location)} is a folder; give the location of a file in it"
        )
    return RemoteFile(location, files, int(info["size"]), location_name(location))


_CAUSES = (
    (
        (
            "ACCESS_DENIED",
            "AccessDenied",
            "HTTP status 403",
            "HTTP status 401",
            "INVALID_ACCESS_KEY",
            "AuthorizationFailure",  # Azure: a wrong key
            "AuthorizationPermissionMismatch",
            "AuthenticationException",  # Azure: no key, and no default credential
        ),
        "access denied (the credentials were refused, or they may not read it)",
        "check {credentials} and ask for read permission on it",
    ),
    (
        ("OAuth2 access token",),  # Google: no credentials found anywhere
        "no credentials were found",
        "set {credentials}",
    ),
    (
        ("NO_SUCH_BUCKET", "NoSuchBucket"),
        "the bucket does not exist",
        "check the bucket's name in the location",
    ),
    (
        ("NO_SUCH_KEY", "NoSuchKey", "HTTP status 404", "does not exist"),
        "no such file",
        "check the key (names are case-sensitive)",
    ),
    (
        ("Base64",),  # Azure: a key cut short or mistyped
        "the account key is not a storage key (base64)",
        "copy AZURE_STORAGE_ACCOUNT_KEY (or the connection string's AccountKey) again from the "
        "storage account's access keys",
    ),
    (
        ("NETWORK", "network error", "curl", "connect", "timeout", "timed out", "resolve"),
        "the storage could not be reached (network error)",
        "check the host ({endpoint}) and the network, then try again",
    ),
)
_ADVICE = {  # the variables each scheme's advice names
    "az": {
        "credentials": AZURE_CREDENTIALS,
        "endpoint": "the BlobEndpoint of AZURE_STORAGE_CONNECTION_STRING",
    },
    "gs": {
        "credentials": "GOOGLE_APPLICATION_CREDENTIALS (a service account's key file, or run "
        "gcloud auth application-default login)",
        "endpoint": "for an emulator, CLOUD_STORAGE_EMULATOR_ENDPOINT",
    },
}
_AWS_ADVICE = {
    "credentials": "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
    "endpoint": "for S3, AWS_ENDPOINT_URL",
}


def remote_error(location: str, exc: BaseException) -> InputError:
    """One line for a failure reading ``location``: what happened and what to do, never the
    library's text (which may hold a signed URL)."""
    if isinstance(exc, InputError):
        return exc
    text = f"{type(exc).__name__} {exc}"
    for markers, cause, advice in _CAUSES:
        if any(marker.lower() in text.lower() for marker in markers):
            advice = advice.format_map(_ADVICE.get(url_scheme(location) or "", _AWS_ADVICE))
            return InputError(f"{shown_location(location)} could not be read: {cause}; {advice}")
    return InputError(
        f"{shown_location(location)} could not be read ({type(exc).__name__}); check the "
        "location and your access to it, then try again"
    )


def register(connection: Any, file: RemoteFile) -> str:
    """Let a DuckDB connection read ``file`` (range reads); the path to give DuckDB."""
    connection.register_filesystem(file.files)
    return file.files.scan_path(file.location)
