"""What kind of file a user gave: the one place that sniffs Parquet from CSV, and its columns."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pyarrow.parquet as pq

from diagnostics.validation import InputError

PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 65536


def read_head(path: str | os.PathLike[str], size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the file (what the readers sniff)."""
    with Path(path).open("rb") as handle:
        return handle.read(size)


def is_parquet(head: bytes) -> bool:
    """True when the file's first bytes (:func:`read_head`) are Parquet's magic number."""
    return head.startswith(PARQUET_MAGIC)


def is_parquet_file(path: str | os.PathLike[str]) -> bool:
    """True for a Parquet file (by its magic number, not its name)."""
    return is_parquet(read_head(path, len(PARQUET_MAGIC)))


def file_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a Parquet file's schema or a CSV file's header row (InputError
    naming the file when it cannot be read)."""
    try:
        head = read_head(path)
        if is_parquet(head):
            names: list[str] = pq.read_schema(path).names
            return names
    except (OSError, ValueError) as exc:
        raise InputError(f"{os.fspath(path)} could not be read ({exc})") from None
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    return [name.strip() for name in next(csv.reader([first_line.rstrip("\r")]), [])]
