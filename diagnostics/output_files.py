"""Writing a command's output file: never over one of its inputs, never half-written.

Every command that writes a file (``report``, ``errors --out``, ``split assign``, ``search``'s
output folder) goes through
:func:`write_output`: the output path is refused when it is one of the command's inputs (the
same path once links are resolved, or the same file through a hard link), and the content is
written to a temporary file beside it and renamed over it, so a failure or a kill midway leaves
the old file (or nothing) and never a partial one.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from diagnostics.formats import is_parquet_file
from diagnostics.validation import InputError, check_output_file

Writer = Callable[[BinaryIO], None]
NEW_FILE_MODE = 0o644  # a new output: readable by all, as a plain write would make it


def refuse_input_as_output(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str] | None],
    flag: str = "--out",
) -> None:
    """Refuse ``out`` when it is one of ``inputs``: the same resolved path or the same inode."""
    target = Path(out)
    for given in inputs:
        if given is None or "://" in os.fspath(given):
            continue
        source = Path(given)
        same = target.resolve() == source.resolve()
        if not same and target.exists() and source.exists():
            same = os.path.samefile(target, source)
        if same:
            raise InputError(
                f"{flag} {target} is the input {source} (the same file); write the output to "
                "another file — an input is never overwritten"
            )


def check_output(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    flag: str = "--out",
) -> Path:
    """An output file path, checked before any work: not a folder, in a folder that exists, and
    none of ``inputs``."""
    path = check_output_file(out, flag)
    refuse_input_as_output(path, inputs, flag)
    return path


def write_output(
    out: str | os.PathLike[str],
    content: bytes | Writer,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    flag: str = "--out",
) -> Path:
    """Write ``content`` (bytes, or a function writing to a binary file) to ``out`` atomically.

    Refuses a folder, a missing folder and any of ``inputs``; the bytes go to a temporary file in
    the output's folder, which is synced and renamed over ``out`` only once complete.
    """
    path = check_output(out, inputs, flag)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            if isinstance(content, bytes):
                stream.write(content)
            else:
                content(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE)
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot write ({exc.strerror})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def write_with_column(
    path: str | os.PathLike[str],
    name: str,
    values: Sequence[str],
    stream: BinaryIO,
    rename: Mapping[str, str] | None = None,
) -> None:
    """Write the CSV or Parquet file ``path`` to ``stream`` with one more column, ``values`` in
    row order (and columns named in ``rename`` renamed).

    Every other value stays exactly as written: a CSV is copied field by field (``0.10``,
    ``00042``, ``2024-01-01T10:00`` and ids above 2⁶³ as they are; only the new column is added,
    quoting where needed), a Parquet file keeps its schema and its columns (structs, lists).
    """
    rename = dict(rename or {})
    if is_parquet_file(path):
        table = pq.read_table(path)
        if table.num_rows != len(values):
            raise InputError(f"{name}: {len(values)} values for {table.num_rows} rows")
        table = table.rename_columns([rename.get(c, c) for c in table.column_names])
        pq.write_table(table.append_column(name, pa.array(list(values), pa.string())), stream)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    with open(path, newline="", encoding="utf-8-sig") as source:
        rows = (row for row in csv.reader(source) if row)
        writer.writerow([*(rename.get(c, c) for c in next(rows)), name])
        try:
            for row, value in zip(rows, values, strict=True):
                writer.writerow([*row, value])
        except ValueError:
            raise InputError(
                f"{os.fspath(path)}: its rows do not match the {len(values)} values of '{name}'"
            ) from None
    text.flush()
    text.detach()


def file_with_column(
    path: str | os.PathLike[str],
    name: str,
    values: Sequence[str],
    rename: Mapping[str, str] | None = None,
) -> bytes:
    """The bytes of :func:`write_with_column`: ``path`` with one more column, values as written."""
    out = io.BytesIO()
    write_with_column(path, name, values, out, rename)
    return out.getvalue()
