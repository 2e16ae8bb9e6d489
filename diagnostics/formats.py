"""What kind of file a user gave: the one place that sniffs Parquet from CSV, and its columns.

A file is a local path, a remote location (``s3://…``, :mod:`diagnostics.remote`) or an MLflow
run's artifact (``mlflow:runs:/…``, :mod:`diagnostics.mlflow_source`); all are read through
:func:`readable`, remote ones by range reads.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO, TypeAlias, cast

import pyarrow.parquet as pq

from diagnostics.mlflow_source import is_mlflow
from diagnostics.remote import RemoteFile, is_remote, open_remote, shown_location
from diagnostics.validation import InputError, refuse_not_a_file

PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 65536
FileInput: TypeAlias = str | os.PathLike[str] | RemoteFile


def as_file(path: FileInput, what: str = "file") -> Path | RemoteFile:
    """A local path as a :class:`~pathlib.Path`, a remote location opened (checked to exist),
    an MLflow run's artifact (``mlflow:runs:/RUN_ID/PATH``) where its run keeps it."""
    if isinstance(path, RemoteFile):
        return path
    if is_mlflow(path):
        from diagnostics.mlflow_source import resolve_run_artifact

        path = resolve_run_artifact(str(path)).source
    if is_remote(path):
        from diagnostics.remote_files import remote_files  # pyarrow's filesystems: when used

        return open_remote(str(path), remote_files(str(path)), what)
    return Path(path)


def existing_file(path: FileInput, what: str = "file") -> Path | RemoteFile:
    """:func:`as_file`, refusing a local path that is missing or not a regular file."""
    file = as_file(path, what)
    if isinstance(file, Path):
        refuse_not_a_file(file, what)
    return file


def readable(path: FileInput) -> str | IO[bytes]:
    """What pyarrow's readers take: a local path, or a remote file opened for range reads."""
    file = as_file(path)
    return cast(IO[bytes], file.open()) if isinstance(file, RemoteFile) else os.fspath(file)


def file_size(path: FileInput) -> int:
    """The file's size in bytes."""
    file = as_file(path)
    return file.size if isinstance(file, RemoteFile) else file.stat().st_size


def file_label(path: FileInput) -> str:
    """The file as messages name it (a remote location without credentials or signature)."""
    if isinstance(path, RemoteFile):
        return shown_location(path.location)
    return shown_location(str(path)) if is_remote(path) else os.fspath(path)


def read_head(path: FileInput, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the file (what the readers sniff)."""
    file = as_file(path)
    if isinstance(file, RemoteFile):
        return file.head(size)
    with file.open("rb") as handle:
        return handle.read(size)


def is_parquet(head: bytes) -> bool:
    """True when the file's first bytes (:func:`read_head`) are Parquet's magic number."""
    return head.startswith(PARQUET_MAGIC)


def is_parquet_file(path: FileInput) -> bool:
    """True for a Parquet file (by its magic number, not its name)."""
    return is_parquet(read_head(path, len(PARQUET_MAGIC)))


def file_columns(path: FileInput) -> list[str]:
    """The column names of a Parquet file's schema or a CSV file's header row (InputError
    naming the file when it cannot be read)."""
    try:
        head = read_head(path)
        if is_parquet(head):
            names: list[str] = pq.read_schema(readable(path)).names
            return names
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"{file_label(path)} could not be read ({exc})") from None
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    return [name.strip() for name in next(csv.reader([first_line.rstrip("\r")]), [])]
