"""Read and validate a predictions file (CSV or Parquet) into canonical columns.

Required columns: ``split``, ``y_true``, ``y_pred``. Optional: ``id``, ``weight``, a score
column (``score``, ``prob``, ``probability`` or ``confidence``), ``input`` (text or an image
path) and any other column, read only when asked for (e.g. as a slice). Only the needed columns
are read, through pyarrow's multithreaded readers, in record batches that are converted at once
into compact NumPy columns (class labels in int8, splits as int8 codes), so a Parquet file never
exists in memory as a whole Arrow table; every check is vectorized. ``metrics_only`` is the lean
path that ``diagnose`` falls back to when its DuckDB scan (:mod:`diagnostics.fastscan`) finds
something to refuse. Speed and memory against DuckDB, polars and pandas: ``bench/ingest.py``.

Typing: numeric-looking CSV text is a number (``01`` is 1, ``1.0`` equals ``1``, ``true``
against ``1`` is 1), decimals are floats, and only an empty cell is missing (a class called
``NA`` is a class); a label column of numbers but for a few words is refused, naming the cells.
The DuckDB scan types cells by the same rule.

Every refusal is an :class:`~diagnostics.validation.InputError` naming the file, the column, the
rows (1-based data rows, the header not counted) and the fix.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from diagnostics.formats import (
    HEAD_BYTES,
    FileInput,
    as_file,
    existing_file,
    file_columns,
    file_size,
    is_parquet,
    read_head,
    readable,
)
from diagnostics.hf_datasets import is_hf, read_hf_table
from diagnostics.metrics import GroupSums, LevelEstimate, per_row_loss
from diagnostics.rates import METRICS
from diagnostics.remote import RemoteFile

# re-exported: the reader's columns and limits, where callers have always found them
from diagnostics.schema import CSV_NULL_VALUES as CSV_NULL_VALUES
from diagnostics.schema import EXTREME_WEIGHT as EXTREME_WEIGHT
from diagnostics.schema import MAX_SLICE_VALUES as MAX_SLICE_VALUES
from diagnostics.schema import OPTIONAL_COLUMNS as OPTIONAL_COLUMNS
from diagnostics.schema import REQUIRED_COLUMNS as REQUIRED_COLUMNS
from diagnostics.schema import SCORE_COLUMNS as SCORE_COLUMNS
from diagnostics.schema import TooManySliceValues as TooManySliceValues
from diagnostics.schema import check_slice_count as check_slice_count
from diagnostics.schema import split_estimates as split_estimates
from diagnostics.splitnames import SPLIT_ALIASES, SPLITS, accepted_split_names
from diagnostics.validation import (
    InputError,
    format_rows,
    one_line,
    refuse_cr_only_lines,
    refuse_non_csv_text,
    shown,
    shown_columns,
)

SPLIT_DTYPE = pd.CategoricalDtype(list(SPLITS))
DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
BATCH_ROWS = 1 << 18
INT8 = np.dtype(np.int8)
MAX_REGRESSION_VALUE = 1e150  # beyond, squared errors overflow to infinity


@dataclass(frozen=True)
class Predictions:
    """Validated predictions: a frame with a categorical ``split`` (canonical names) and labels.

    ``frame`` holds ``split``, ``y_true``, ``y_pred`` and whichever of ``id``, ``weight``,
    ``score``, ``input`` and requested extra columns were present. ``metric`` is ``error``,
    ``mae`` or ``rmse``.
    """

    frame: pd.DataFrame
    metric: str
    source: str

    @property
    def split_codes(self) -> np.ndarray:
        """Index of each row's split in :data:`SPLITS`."""
        codes: np.ndarray = self.frame["split"].cat.codes.to_numpy()
        return codes

    def loss(self) -> np.ndarray:
        """Per-row loss of the metric (0/1 error, absolute or squared error)."""
        return per_row_loss(
            self.frame["y_true"].to_numpy(), self.frame["y_pred"].to_numpy(), self.metric
        )

    def weights(self) -> np.ndarray | None:
        """Row weights, or None when the file had no ``weight`` column."""
        return self.frame["weight"].to_numpy() if "weight" in self.frame else None


def split_metrics(predictions: Predictions) -> dict[str, LevelEstimate]:
    """The metric with its 95% interval for each split present in the predictions."""
    sums = GroupSums.from_rows(
        predictions.split_codes, predictions.loss(), len(SPLITS), predictions.weights()
    )
    return split_estimates(sums, predictions.metric)


def slice_metrics(predictions: Predictions, column: str) -> dict[str, dict[str, LevelEstimate]]:
    """Per value of ``column``, the metric of each split (as :func:`split_metrics`)."""
    if column not in predictions.frame:
        raise InputError(
            f"{predictions.source}: no slice column '{column}'; columns found: "
            f"{', '.join(predictions.frame.columns)}"
        )
    value_codes, values = pd.factorize(predictions.frame[column].astype(str), sort=True)
    check_slice_count(len(values), predictions.source, column)
    codes = value_codes * len(SPLITS) + predictions.split_codes
    sums = GroupSums.from_rows(
        codes, predictions.loss(), len(values) * len(SPLITS), predictions.weights()
    )
    return {
        str(value): split_estimates(sums, predictions.metric, v * len(SPLITS))
        for v, value in enumerate(values)
    }


InMemoryTable: TypeAlias = pd.DataFrame | pa.Table | Mapping[str, Any]
TABLE_NAMES = {pd.DataFrame: "the DataFrame", pa.Table: "the Arrow table"}


def read_predictions(
    path: FileInput | InMemoryTable,
    *,
    metric: str | None = None,
    extra_columns: tuple[str, ...] = (),
    display_name: str | None = None,
    metrics_only: bool = False,
    memory_limit: int | None = None,
) -> Predictions:
    """Read, validate and canonicalize a predictions file or an in-memory table.

    ``path`` is a CSV or Parquet file (a local path or a remote location, ``s3://…``, read by
    range reads: :mod:`diagnostics.remote`), or a pandas DataFrame, a pyarrow Table or a dict of
    equal-length arrays (column name → values), which go through the same checks as a Parquet
    file, with the same messages, or a Hugging Face dataset (``hf:PATH#HF_SPLIT=SPLIT,…``:
    :mod:`diagnostics.hf_datasets`). ``metric`` forces ``error``, ``mae`` or ``rmse``; by default
    labels with fractional numbers mean regression (MAE) and anything else classification
    (error rate). ``extra_columns`` are read too (slices, inputs for labeling).
    ``display_name`` names the file in messages (an uploaded file's original name).
    ``metrics_only`` is the lean path for a diagnosis of a big file: it reads and checks only
    what the metrics depend on (split, labels, weight, and the ids, since a duplicated row
    would count twice) and keeps no id, score or input. ``memory_limit`` caps the bytes the
    read may use (default: half the free memory); a file that would need more is refused from
    its header or metadata, before it is read.

    >>> table = {"split": ["train", "dev"], "y_true": [1, 2], "y_pred": [1, 3]}
    >>> predictions = read_predictions(table)
    >>> predictions.metric, predictions.source, list(predictions.frame["split"])
    ('error', 'the dict of arrays', ['train', 'dev'])
    """
    if metric is not None and metric not in METRICS:
        raise InputError(f"unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    if is_hf(path):  # a Hugging Face dataset: its splits as one table
        display_name, path = display_name or str(path), read_hf_table(str(path))
    if isinstance(path, (str, os.PathLike, RemoteFile)):
        file = existing_file(path, "predictions file")
        name = display_name or file.name
        if file_size(file) == 0:
            raise InputError(f"{name} is empty (0 bytes); export the predictions again")
        columns = _open_columns(file, name, extra_columns, metrics_only, memory_limit)
    else:
        name = display_name or TABLE_NAMES.get(type(path), "the dict of arrays")
        columns = _open_table(path, name, extra_columns, metrics_only)
    if columns.num_rows == 0:
        raise InputError(f"{name} has a header but no rows; it needs one row per prediction")
    frame = _canonical_frame(columns, name, metrics_only)
    if metric is None:
        _refuse_numbers_with_a_few_words(frame, name)
        metric = _detect_metric(frame)
    frame = _check_labels(frame, name, metric)
    return Predictions(frame=frame, metric=metric, source=name)


def check_scores(path: FileInput, *, display_name: str | None = None) -> None:
    """Refuse a file whose score column holds text or non-finite values, reading that column only.

    The metrics do not use scores, so the fast diagnosis does not read them; the app checks them
    at upload, since error analysis shows them (the same refusal as :func:`read_predictions`).
    """
    path = as_file(path, "predictions file")
    name = display_name or path.name
    score = next((c for c in SCORE_COLUMNS if c in file_columns(path)), None)
    if score is None:
        return
    try:
        if is_parquet(read_head(path)):
            column = pq.read_table(readable(path), columns=[score]).column(0)
        else:
            options = pacsv.ConvertOptions(include_columns=[score], strings_can_be_null=True)
            column = pacsv.read_csv(readable(path), convert_options=options).column(0)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{name}, column '{score}': cannot be read ({exc})") from None
    _as_number(column.to_pandas(), name, score)


# -- reading ----------------------------------------------------------------------------------


def _sniff(path: Path | RemoteFile, name: str) -> bytes:
    head = read_head(path)
    refuse_non_csv_text(head, name)
    return head


@dataclass
class _Columns:
    """The wanted columns of a file, to be read in record batches of :data:`BATCH_ROWS` rows.

    A Parquet file is decoded batch by batch (all wanted columns at once, in parallel), so the
    raw Arrow data alive at any time is one batch, not the whole table.
    """

    names: list[str]
    types: dict[str, pa.DataType]
    num_rows: int
    batches: Callable[[], Iterable[pa.RecordBatch]]


def memory_budget(limit: int | None = None) -> int:
    """Bytes a single read may use: ``limit`` when given, else half the free memory."""
    if limit is not None:
        return limit
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _check_memory(
    needed: int, name: str, what: str, limit: int | None, metrics_only: bool = False
) -> None:
    """Refuse, before reading, a file whose wanted columns would not fit in memory.

    ``metrics_only`` is the fallback of ``diagnose FILE`` itself, so the advice differs.
    """
    budget = memory_budget(limit)
    if needed > budget:
        advice = (
            "convert it to Parquet (read in batches) or diagnose a sample of it"
            if metrics_only
            else "diagnose it with `python -m strategy_app diagnose FILE`, which streams it, "
            "or upload a sample"
        )
        raise InputError(
            f"{name} would need about {needed / 2**30:.1f} GiB of memory to read ({what}), more "
            f"than the {budget / 2**30:.1f} GiB this machine can spare; {advice}"
        )


def _open_columns(
    path: Path | RemoteFile,
    name: str,
    extra: tuple[str, ...],
    metrics_only: bool,
    limit: int | None,
) -> _Columns:
    head = _sniff(path, name)
    if is_parquet(head):
        return _open_parquet(path, name, extra, metrics_only, limit)
    if Path(name).suffix.lower() in (".parquet", ".pq"):  # the name the user gave the file
        raise InputError(f"{name} is not a valid Parquet file (no PAR1 header); re-export it")
    size = file_size(path)
    _check_memory(size, name, "a CSV file is at least its size in memory", limit, metrics_only)
    table = _read_csv(path, name, head, size, extra, metrics_only)
    types = {field.name: field.type for field in table.schema}
    batches = partial(table.to_batches, max_chunksize=BATCH_ROWS)
    return _Columns(table.column_names, types, table.num_rows, batches)


def _wanted(columns: list[str], name: str, extra: tuple[str, ...], metrics_only: bool) -> list[str]:
    """The columns to read: required, optional (all but score and input when metrics only)."""
    repeated = sorted(c for c, count in Counter(columns).items() if count > 1)
    if repeated:
        raise InputError(
            f"{name} has the column {', '.join(repr(shown(c, 40)) for c in repeated[:5])} more "
            "than once; keep one column per name"
        )
    missing = [c for c in REQUIRED_COLUMNS + tuple(extra) if c not in columns]
    if missing:
        raise InputError(
            f"{name} has no column {', '.join(repr(shown(c, 40)) for c in missing)}; columns "
            f"found: {shown_columns(columns)}. Required: split, y_true, y_pred"
        )
    optional = [c for c in OPTIONAL_COLUMNS if c in columns]
    score = [c for c in SCORE_COLUMNS if c in columns][:1]
    if metrics_only:
        optional, score = [c for c in optional if c != "input"], []
    return list(dict.fromkeys([*REQUIRED_COLUMNS, *optional, *score, *extra]))


def _open_parquet(
    path: Path | RemoteFile,
    name: str,
    extra: tuple[str, ...],
    metrics_only: bool,
    limit: int | None,
) -> _Columns:
    def unreadable(exc: Exception) -> InputError:
        return InputError(f"{name} is not a readable Parquet file ({one_line(exc)}); re-export it")

    try:
        source = readable(path)
        columns = _wanted(pq.ParquetFile(source).schema_arrow.names, name, extra, metrics_only)
        remote = isinstance(path, RemoteFile)  # coalesced range reads: fewer requests
        parquet = pq.ParquetFile(source, read_dictionary=["split"], pre_buffer=remote)
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(exc) from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(exc) from None

    metadata = parquet.metadata
    encoded = sum(
        group.column(c).total_uncompressed_size
        for group in (metadata.row_group(i) for i in range(metadata.num_row_groups))
        for c in range(group.num_columns)
        if group.column(c).path_in_schema in columns
    )
    needed = max(encoded, metadata.num_rows * 8 * len(columns))  # 8 bytes a decoded value
    _check_memory(
        needed, name, f"{metadata.num_rows:,} rows of {shown_columns(columns)}", limit, metrics_only
    )
    types = {field.name: field.type for field in parquet.schema_arrow}
    return _Columns(columns, types, metadata.num_rows, batches)


def _open_table(
    data: InMemoryTable, name: str, extra: tuple[str, ...], metrics_only: bool
) -> _Columns:
    """An in-memory table's wanted columns, checked as a Parquet file's schema is."""
    if isinstance(data, pd.DataFrame):
        data = data.rename(columns=str)
        names = list(data.columns)
    elif isinstance(data, pa.Table):
        names = data.column_names
    elif isinstance(data, Mapping):
        names = [str(key) for key in data]
        data = {str(key): values for key, values in data.items()}
    else:
        raise InputError(
            f"predictions must be a file path, a pandas DataFrame, a pyarrow Table or a dict "
            f"of arrays, not {type(data).__name__}"
        )
    columns = _wanted(names, name, extra, metrics_only)
    try:
        if isinstance(data, pd.DataFrame):
            # a frame under one batch converts on this thread: pyarrow would start (and join)
            # a pool of threads for it on every call, which costs more than it saves
            threads = 1 if len(data) < BATCH_ROWS else None
            table = pa.Table.from_pandas(data[columns], preserve_index=False, nthreads=threads)
        elif isinstance(data, pa.Table):
            table = data.select(columns)
        else:  # through pandas, so NaN in a column of strings is an empty value, as in a file
            frame = pd.DataFrame({column: data[column] for column in columns})
            table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InputError(
            f"{name} cannot be read as a table ({exc}); give each column one type and every "
            "column the same length"
        ) from None
    types = {field.name: field.type for field in table.schema}
    batches = partial(table.to_batches, max_chunksize=BATCH_ROWS)
    return _Columns(columns, types, table.num_rows, batches)


def csv_convert_options(include: list[str], split: str | None = None) -> pacsv.ConvertOptions:
    """How the exact reader types CSV cells (numeric-looking text is a number, only an empty
    cell is missing); ``split`` names the column read as dictionary-encoded text."""
    return pacsv.ConvertOptions(
        include_columns=include,
        null_values=list(CSV_NULL_VALUES),
        strings_can_be_null=True,
        column_types={split: pa.dictionary(pa.int32(), pa.string())} if split else None,
    )


def _read_csv(
    path: Path | RemoteFile,
    name: str,
    head: bytes,
    size: int,
    extra: tuple[str, ...],
    metrics_only: bool,
) -> pa.Table:
    if b"\x00" in head:
        raise InputError(f"{name} contains NUL bytes: it is binary, not CSV text")
    if b"\n" not in head and size > len(head):
        raise InputError(
            f"{name}: its header line is longer than {HEAD_BYTES // 1024} KiB; is it a CSV "
            "file with one header row (split, y_true, y_pred, ...)?"
        )
    refuse_cr_only_lines(head, name)
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    raw_header = next(csv.reader([first_line.rstrip("\r")]), [])
    header = [c.strip() for c in raw_header]
    if len(header) == 1:
        for delimiter, word in DELIMITERS.items():
            if delimiter in first_line:
                raise InputError(
                    f"{name} uses the {word} character as delimiter; save it as comma-separated "
                    "CSV (columns split, y_true, y_pred, ...)"
                )
    columns = _wanted(header, name, extra, metrics_only)
    raw_names = dict(zip(header, raw_header, strict=True))
    try:
        table = pacsv.read_csv(
            readable(path),
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            convert_options=csv_convert_options(
                [raw_names[c] for c in columns], raw_names["split"]
            ),
        ).rename_columns(columns)
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message.lower():
            raise InputError(f"{name} is not UTF-8 text; re-save it as UTF-8 CSV") from None
        ragged = re.match(r"CSV parse error: Expected (\d+) columns, got (\d+): (.*)", message)
        if ragged:
            expected, got, line = ragged.groups()
            raise InputError(
                f"{name}: a row has {got} cells but the header has {expected} columns "
                f"(row text: {shown(line)!r}); fix the row or its quoting"
            ) from None
        if "straddling" in message or "maximum" in message.lower():
            raise InputError(f"{name} has a field too large to read; check its quoting") from None
        raise InputError(f"{name} could not be read as CSV: {shown(message, 200)}") from None
    for column_name, column in zip(columns, table.columns, strict=True):
        if pa.types.is_binary(column.type):
            raise InputError(
                f"{name}, column '{column_name}': not UTF-8 text (first at row "
                f"{_first_non_utf8_row(column)}); re-save the file as UTF-8 CSV"
            )
        _refuse_nul_text(column, name, column_name)
    return table


def _refuse_nul_text(column: pa.ChunkedArray, name: str, column_name: str) -> None:
    """Refuse a text column holding a NUL character anywhere (binary data in a CSV file)."""
    if pa.types.is_dictionary(column.type):
        texts = pa.chunked_array([chunk.dictionary for chunk in column.chunks], pa.string())
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        texts = column
    else:
        return
    if texts.length() and pc.any(pc.match_substring(texts, "\x00")).as_py():
        raise InputError(f"{name}, column '{column_name}' contains NUL bytes: it is binary data")


def _first_non_utf8_row(column: pa.ChunkedArray) -> int:
    """1-based row of the first value that is not valid UTF-8 (only called on refusal)."""
    row = 0
    for chunk in column.chunks:
        for value in chunk.to_pylist():
            row += 1
            try:
                if value is not None:
                    value.decode("utf-8")
            except UnicodeDecodeError:
                return row
    return row


# -- canonical columns ------------------------------------------------------------------------


def _first_rows(mask: np.ndarray, offset: int = 0) -> list[int]:
    """The first 1-based rows where ``mask`` holds (one more than shown, so "…" follows)."""
    rows: list[int] = (np.flatnonzero(mask)[:6] + offset + 1).tolist()
    return rows


class _SplitCodes:
    """Builds the split column: names and aliases mapped to codes in :data:`SPLITS`."""

    def __init__(self, num_rows: int, name: str):
        self.codes = np.empty(num_rows, dtype=np.int8)
        self.name = name
        self.empty_rows: list[int]
        self.empty_count, self.empty_rows = 0, []

    def add(self, piece: pa.Array, start: int) -> None:
        """Map one piece (rows ``start``…) of the split column."""
        if not pa.types.is_dictionary(piece.type):
            piece = pc.dictionary_encode(piece.cast(pa.string()))
        indices = piece.indices.fill_null(0).to_numpy()
        filled = np.ones(len(piece), dtype=bool)
        if piece.null_count:
            filled = ~np.asarray(piece.is_null())
            self.empty_count += int((~filled).sum())
            self.empty_rows += _first_rows(~filled, offset=start)[: 6 - len(self.empty_rows)]
        mapping = np.zeros(
            max(len(piece.dictionary), 1), dtype=np.int8
        )  # all-empty piece: no names
        for i, value in enumerate(piece.dictionary.to_pylist()):
            key = str(value).strip().lower()
            if key in SPLIT_ALIASES:
                mapping[i] = SPLITS.index(SPLIT_ALIASES[key])
                continue
            used = (indices == i) & filled
            if used.any():
                raise InputError(
                    f"{self.name}, column 'split': unknown split '{value}' (first at row "
                    f"{start + int(np.argmax(used)) + 1}); accepted: {accepted_split_names()}"
                )
        self.codes[start : start + len(piece)] = mapping[indices]

    def finish(self) -> pd.Categorical:
        """The categorical split column, or the refusal of its empty values."""
        if self.empty_count:
            raise InputError(
                f"{self.name}, column 'split': {self.empty_count} empty values (rows "
                f"{format_rows(self.empty_rows)}); every row needs one of "
                f"{accepted_split_names()}"
            )
        return pd.Categorical.from_codes(self.codes, dtype=SPLIT_DTYPE, validate=False)


class _Numbers:
    """Builds a numeric column as one compact NumPy array.

    Integers start as int8 and widen only when a piece needs it, so a column of class labels
    never exists in int64; a piece with missing values turns the column into float64 (NaN).
    """

    def __init__(self, num_rows: int, kind: pa.DataType):
        integer = pa.types.is_integer(kind)
        self.values = np.empty(num_rows, dtype=INT8 if integer else kind.to_pandas_dtype())

    def add(self, piece: pa.Array, start: int) -> None:
        """Copy one piece (rows ``start``…) into the column."""
        if piece.null_count and not np.issubdtype(self.values.dtype, np.floating):
            self.values = self.values.astype(np.float64)
        elif np.issubdtype(self.values.dtype, np.integer) and len(piece):
            bounds = pc.min_max(piece)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            self.values = self.values.astype(
                _integer_type(low, high, self.values.dtype), copy=False
            )
        self.values[start : start + len(piece)] = piece.to_numpy(zero_copy_only=False)

    def finish(self) -> np.ndarray:
        """The filled column."""
        return self.values


class _Other:
    """Builds any other column (text, booleans, dates) through pandas."""

    def __init__(self, kind: pa.DataType):
        self.pieces: list[pa.Array]
        self.kind, self.pieces = kind, []

    def add(self, piece: pa.Array, start: int) -> None:
        """Keep one piece."""
        self.pieces.append(piece)

    def finish(self) -> pd.Series:
        """The column as pandas converts it."""
        return pa.chunked_array(self.pieces, type=self.kind).to_pandas()


class _Decimals(_Numbers):
    """Builds a decimal column as float64 (``1.00`` equals the integer ``1``)."""

    def __init__(self, num_rows: int):
        super().__init__(num_rows, pa.float64())

    def add(self, piece: pa.Array, start: int) -> None:
        """Copy one piece (rows ``start``…) into the column, as floats."""
        super().add(piece.cast(pa.float64()), start)


def _builder(
    column: str, kind: pa.DataType, num_rows: int, name: str
) -> _SplitCodes | _Numbers | _Other:
    if pa.types.is_nested(kind.value_type if pa.types.is_dictionary(kind) else kind):
        raise InputError(
            f"{name}, column '{shown(column, 40)}' holds {kind} values (nested data); it needs "
            "one number or text per row"
        )
    if column == "split":
        return _SplitCodes(num_rows, name)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _Numbers(num_rows, kind)
    if pa.types.is_decimal(kind):
        return _Decimals(num_rows)
    return _Other(kind)


def _canonical_frame(columns: _Columns, name: str, metrics_only: bool) -> pd.DataFrame:
    """All wanted columns, converted batch by batch; ids and scores checked once complete.

    With ``metrics_only`` the ids are checked and then let go (the metrics do not use them).
    """
    builders = {
        column: _builder(column, columns.types[column], columns.num_rows, name)
        for column in columns.names
    }
    start = 0
    for batch in columns.batches():
        for column, builder in builders.items():
            builder.add(batch.column(column), start)
        start += batch.num_rows
    split = builders.pop("split").finish()
    data = {"split": split}
    for column, builder in builders.items():
        values = builder.finish()
        if column == "id":
            _check_unique_ids(values, split, name)
            if metrics_only:
                continue
        elif column in SCORE_COLUMNS:
            column, values = "score", _as_number(values, name, column)
        data[column] = values
    return pd.DataFrame(data, copy=False)


def _integer_type(low: int, high: int, at_least: np.dtype = INT8) -> np.dtype:
    """The smallest integer type, no narrower than ``at_least``, that holds ``low..high``."""
    for kind in (np.int8, np.int16, np.int32, np.int64, np.uint64):
        dtype, info = np.dtype(kind), np.iinfo(kind)
        if dtype.itemsize >= at_least.itemsize and info.min <= low and high <= info.max:
            return dtype
    return np.dtype(np.float64)  # beyond 64 bits: only a float holds them


def _compact_integers(values: np.ndarray) -> np.ndarray:
    """Integers in the smallest integer type that holds them all (class labels in int8)."""
    if values.size == 0:
        return values
    return values.astype(_integer_type(int(values.min()), int(values.max())), copy=False)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _refuse_numbers_with_a_few_words(frame: pd.DataFrame, name: str) -> None:
    """Refuse a label column of numbers but for a few cells (``1.5, oops``).

    Such a column is read as text, which would silently turn a regression file into classes with
    100% error; the cells to fix are named instead. Forcing ``--metric error`` accepts the
    labels as class names.
    """
    for column in ("y_true", "y_pred"):
        series = frame[column]
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            continue
        text = series.astype("string").str.strip()
        filled = text.notna() & (text != "")
        words = (pd.to_numeric(text.where(filled), errors="coerce").isna() & filled).to_numpy()
        numbers = int(filled.sum()) - int(words.sum())
        if words.any() and numbers >= 2 * int(words.sum()):
            rows = _first_rows(words)
            raise InputError(
                f"{name}, column '{column}': numbers but for {_cells(int(words.sum()))} (rows "
                f"{format_rows(rows)}, first '{shown(series.iloc[rows[0] - 1], 40)}'); fix those "
                "cells, or choose the metric error (--metric error) if the labels are class names"
            )


def _cells(count: int) -> str:
    return f"{count} cell" + "s" * (count > 1)


def _detect_metric(frame: pd.DataFrame) -> str:
    y_true, y_pred = frame["y_true"], frame["y_pred"]
    if _is_numeric(y_true) and _is_numeric(y_pred):
        for series in (y_true, y_pred):
            if pd.api.types.is_float_dtype(series):
                values = series.to_numpy()
                finite = values[np.isfinite(values)]
                if finite.size and not np.all(finite == np.round(finite)):
                    return "mae"
    return "error"


def _check_empty(frame: pd.DataFrame, name: str, column: str) -> None:
    series = frame[column]
    if pd.api.types.is_integer_dtype(series):
        return  # integers have no missing values
    empty = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        empty = empty | (series.astype("string").str.strip() == "").fillna(False).to_numpy()
    if empty.any():
        raise InputError(
            f"{name}, column '{column}': {int(empty.sum())} empty values (rows "
            f"{format_rows(_first_rows(empty))}); fill them in or drop those rows"
        )


def _as_number(values: Any, name: str, column: str) -> np.ndarray:
    series = pd.Series(values, copy=False)
    numbers: np.ndarray
    if pd.api.types.is_float_dtype(series):
        numbers = series.to_numpy()  # float32 scores stay float32
    elif _is_numeric(series):
        numbers = series.to_numpy(dtype=np.float64)
    else:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(numbers)
        if bad.any():
            first = int(np.argmax(bad))
            raise InputError(
                f"{name}, column '{column}': mixes numbers and text (first text "
                f"'{series.iloc[first]}' at row {first + 1}); regression needs numbers only"
            )
    infinite = ~np.isfinite(numbers)
    if infinite.any():
        raise InputError(
            f"{name}, column '{column}': {int(infinite.sum())} infinite or NaN values (rows "
            f"{format_rows(_first_rows(infinite))}); it needs finite numbers"
        )
    return numbers


def _whole_in_int64(values: np.ndarray) -> bool:
    """True when every float is a whole number that int64 holds exactly."""
    return bool(np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**63))


def _class_labels(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    y_true, y_pred = frame["y_true"], frame["y_pred"]
    if pd.api.types.is_bool_dtype(y_true) and _is_numeric(y_pred):
        y_true = y_true.astype(np.int8)  # true/false against 1/0: booleans are 1 and 0
    if pd.api.types.is_bool_dtype(y_pred) and _is_numeric(y_true):
        y_pred = y_pred.astype(np.int8)
    if _is_numeric(y_true) and _is_numeric(y_pred):
        both = [s.to_numpy() for s in (y_true, y_pred)]
        floats = [v for v in both if np.issubdtype(v.dtype, np.floating)]
        if all(_whole_in_int64(v) for v in floats):
            as_integers = [
                v if np.issubdtype(v.dtype, np.integer) else v.astype(np.int64) for v in both
            ]
            return tuple(pd.Series(_compact_integers(v), index=frame.index) for v in as_integers)
        if floats:  # whole numbers beyond int64 (or fractions): compared as floats
            return tuple(pd.Series(v.astype(np.float64), index=frame.index) for v in both)
        return y_true, y_pred

    def as_text(series: pd.Series) -> pd.Series:
        if pd.api.types.is_float_dtype(series):
            values = series.to_numpy()
            if _whole_in_int64(values):
                series = series.astype(np.int64)
        return series.astype(str).str.strip()

    return as_text(y_true), as_text(y_pred)


def _check_labels(frame: pd.DataFrame, name: str, metric: str) -> pd.DataFrame:
    for column in ("y_true", "y_pred"):
        _check_empty(frame, name, column)
    if metric == "error":
        frame["y_true"], frame["y_pred"] = _class_labels(frame)
    else:
        for column in ("y_true", "y_pred"):
            frame[column] = _as_number(frame[column], name, column)
            huge = np.abs(frame[column].to_numpy()) > MAX_REGRESSION_VALUE
            if huge.any():
                raise InputError(
                    f"{name}, column '{column}': {int(huge.sum())} values beyond ±"
                    f"{MAX_REGRESSION_VALUE:.0e} (rows {format_rows(_first_rows(huge))}), whose "
                    "squared errors overflow; express the values in a larger unit"
                )
    if "weight" in frame:
        weights = _as_number(frame["weight"], name, "weight")
        negative = weights < 0
        if negative.any():
            raise InputError(
                f"{name}, column 'weight': {int(negative.sum())} negative weights (rows "
                f"{format_rows(_first_rows(negative))}); weights must be ≥ 0"
            )
        frame["weight"] = _rescaled(weights)
        weights = frame["weight"].to_numpy()
        totals = np.bincount(frame["split"].cat.codes, weights=weights, minlength=len(SPLITS))
        counts = np.bincount(frame["split"].cat.codes, minlength=len(SPLITS))
        for i, split in enumerate(SPLITS):
            if counts[i] and totals[i] <= 0:
                raise InputError(
                    f"{name}: split '{split}' has {counts[i]} rows but all their weights are 0"
                )
    return frame


def _rescaled(weights: np.ndarray) -> np.ndarray:
    """Weights divided by their largest when extreme (1e-170, 1e308), so their squares and sums
    stay finite and non-zero; the metrics and effective sizes do not change with the scale."""
    largest = float(weights.max()) if weights.size else 0.0
    if largest > EXTREME_WEIGHT or 0 < largest < 1 / EXTREME_WEIGHT:
        return weights.astype(np.float64) / largest
    return weights


def _check_unique_ids(values: Any, split: pd.Categorical, name: str) -> None:
    ids = pd.Series(values, copy=False)
    if ids.isna().any():
        empty = ids.isna().to_numpy()
        raise InputError(
            f"{name}, column 'id': {int(empty.sum())} empty ids (rows "
            f"{format_rows(_first_rows(empty))}); give every row an id or drop the column"
        )
    values = ids.to_numpy()
    if _is_numeric(ids) and values.size > 1 and np.all(values[1:] > values[:-1]):
        return  # strictly increasing ids: unique without hashing
    duplicated = pd.DataFrame({"split": split.codes, "id": ids}, copy=False).duplicated()
    if duplicated.any():
        row = int(np.argmax(duplicated.to_numpy()))
        same = np.flatnonzero((values == values[row]) & (split.codes == split.codes[row]))
        raise InputError(
            f"{name}, column 'id': id '{values[row]}' appears {same.size} times in split "
            f"'{split[row]}' (rows {format_rows(same + 1)}); ids must be unique within a split"
        )
