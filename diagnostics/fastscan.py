"""The fast diagnosis of a predictions file: one DuckDB query for the sums and the checks.

:func:`scan_split_metrics` is what ``diagnose FILE`` runs. DuckDB reads only the needed
columns (Parquet or CSV, multithreaded) and one SQL query returns, per split (and slice), the
sums of :meth:`~diagnostics.metrics.GroupSums.from_power_sums` (n, Σw, Σw², Σw·loss, Σw·loss²,
Σw·loss³) together with counters of everything :func:`~diagnostics.ingest.read_predictions`
would refuse:
empty or unknown split values (aliases as in :mod:`diagnostics.splitnames`), empty or
non-finite labels, text that the CSV reader of the exact path would read differently (empty
cells, surrounding whitespace, line breaks, NUL, and text it would type as a number, a boolean or
a date: ``01``, ``+1``, ``true``), negative, non-finite or extreme weights, empty ids and
possibly repeated ids (then a second query counts the duplicates). The id check is the cheapest
the file allows (:func:`_id_check`): Parquet ids whose statistics say they are the row numbers
plus an offset are compared with DuckDB's row numbers; other integer ids set a bitmap per split
over their range (the range from a Parquet file's statistics, or for CSV from its first and last
rows — a guess the bitmap checks, as an id outside it raises); otherwise (or when the guess was
wrong) ids that are not strictly increasing are counted. The metric is detected by the rule of
the exact path (fractional numeric labels mean MAE). CSV labels DuckDB's sniffer types as
integers are read as floats, so a fraction further down (which DuckDB's integer cast would
round) is seen. Both paths thus type every cell by one rule, the exact reader's: numeric-looking
text is a number (``tests/test_reader_parity.py`` checks a corpus of tricky values).

Whenever a counter signals anything, a split's raw Σw·loss² has rounded its spread away
(:func:`~diagnostics.metrics.lost_spread`: losses far larger than their spread), a type is not
one the query handles exactly, or DuckDB cannot read the file, the exact pyarrow path
(``read_predictions(..., metrics_only=True)``) runs instead: it raises the precise
:class:`~diagnostics.validation.InputError`, so messages are the same on both paths, and the
numbers are equal (to float summation order). User text never becomes SQL: the file path is a
bound parameter and column names are quoted identifiers.
The scan's own path loads no pandas (its columns and limits come from :mod:`diagnostics.schema`);
the exact reader loads when it is needed. Speed and memory: ``bench/ingest.py``; whole
processes: ``bench/process.py``.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from diagnostics.formats import (
    FileInput,
    as_file,
    file_label,
    file_size,
    is_parquet,
    read_head,
    readable,
)
from diagnostics.hf_datasets import is_hf
from diagnostics.metrics import GroupSums, LevelEstimate, lost_spread
from diagnostics.rates import METRICS
from diagnostics.remote import RemoteFile, register
from diagnostics.schema import (
    CSV_NULL_VALUES,
    DISCRETE_LIMIT,
    EXTREME_WEIGHT,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SCORE_COLUMNS,
    TooManySliceValues,
    check_slice_count,
    split_estimates,
)
from diagnostics.splitnames import SPLIT_ALIASES, SPLITS
from diagnostics.validation import InputError, refuse_cr_only_lines, refuse_non_csv_text

if TYPE_CHECKING:
    from diagnostics.ingest import InMemoryTable

MAX_ID_SPAN = 1 << 26  # a 8 MiB bitmap per split
EDGE_BYTES = 65536  # read at each end of a CSV file for the ids of its first and last rows
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
FLOAT_TYPES = ("FLOAT", "DOUBLE")
# A CSV label column DuckDB's sniffer saw as integers, read as DOUBLE: a fraction further down
# (which the exact reader would keep, and DuckDB's integer cast would round) sends the file
# to the exact path.
WHOLE_DOUBLE = "DOUBLE (whole)"
TEXT_TYPE = "VARCHAR"
MEMORY_LIMIT = "1GB"
EXACT_FLOAT_INTEGERS = 2.0**53  # beyond, float labels would not compare as the integers they are
PARQUET_SOURCE = "read_parquet($path)"
ROW_NUMBER = "file_row_number"  # DuckDB's row number within a Parquet file, from 0
PARQUET_SOURCE_WITH_ROW_NUMBERS = f"read_parquet($path, {ROW_NUMBER} = true)"
CSV_OPTIONS = (
    "header = true, delim = ',', quote = '\"', escape = '\"', skip = 0, "
    "strict_mode = true, null_padding = false, ignore_errors = false, encoding = 'utf-8'"
)
# Python's str.strip() characters, as an RE2 class: text the exact path would strip. Every one is
# at most U+3000 (ideographic space), so the search stops there: 12,289 code points, not 1.1M
# (test_fastscan checks the whole range gives the same class).
LAST_SPACE = 0x3000
PYTHON_SPACES = "".join(f"\\x{{{c:X}}}" for c in range(LAST_SPACE + 1) if chr(c).isspace())
# Text a CSV reader could type as a number, a boolean or a date: after any spaces it starts like
# a number (01, +1, .5, 1e3, 0x1f, 2024-01-01, 12:30, inf, nan) or it is true or false.
TYPED_TEXT = f"^[{PYTHON_SPACES}]*([-+]?([.]?[0-9]|inf|nan)|(true|false)[{PYTHON_SPACES}]*$)"

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())  # a developer's logging shows it; the CLI's stderr not


def log_fallback(label: str, exc: BaseException) -> None:
    """Log (a warning) that the fast path failed on ``label`` and the exact reader takes over:
    the numbers stay right, but a fast path lost for an unexpected error must not go unseen."""
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    logger.warning(
        "%s: the fast scan failed (%s: %s); the exact reader computes it",
        label,
        type(exc).__name__,
        first,
    )


@dataclass(frozen=True)
class ScanResult:
    """The per-split (and per-slice) estimates of a predictions file.

    ``slices`` maps each value of the slice column (sorted) to its per-split estimates, empty
    without a slice column. ``engine`` says which path computed them: ``duckdb`` (the fast
    scan) or ``pyarrow`` (the exact reader, after the scan found something to refuse or check).
    ``id_bits`` (only when asked for, on the DuckDB path): per split, two bitmaps over the asked
    id range, one bit per id from the low end (packed, most significant bit first, the first
    byte's ``8 × bytes − span`` leading bits unused): the ids present and the ids misclassified;
    ``id_range`` is that range (low, high), None without bitmaps.
    """

    splits: dict[str, LevelEstimate]
    slices: dict[str, dict[str, LevelEstimate]]
    metric: str
    source: str
    rows: int
    engine: str
    id_bits: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    id_range: tuple[int, int] | None = None


class _Unsure(Exception):
    """The scan cannot vouch for the file; the exact path decides."""


def scan_split_metrics(
    path: FileInput | InMemoryTable,
    *,
    metric: str | None = None,
    slice_column: str | None = None,
    display_name: str | None = None,
    id_bits: tuple[int, int] | None = None,
    memory_limit: int | None = None,
) -> ScanResult:
    """Per-split (and per-slice) metrics of a predictions file, with every check of the reader.

    Same arguments and refusals as :func:`~diagnostics.ingest.read_predictions` (with the
    slice column as the one extra column; ``memory_limit`` caps the exact path's read); the
    result equals :func:`split_metrics` and :func:`slice_metrics` of the exact path.
    ``id_bits`` (low, high) asks the same query for the bitmaps of integer ids in that range
    (:attr:`ScanResult.id_bits`), as a comparison of two versions needs; an id outside it sends
    the file to the exact path. An in-memory table goes to the exact path. A remote location
    (``s3://…``) is scanned by range reads, through :mod:`diagnostics.remote`; a Hugging Face
    dataset (``hf:…``) is read as a table.
    """
    if isinstance(path, (str, os.PathLike, RemoteFile)) and not is_hf(path):
        path = as_file(path, "predictions file")
        try:
            return _scan(path, metric, slice_column, display_name or path.name, id_bits)
        except _Unsure as exc:
            logger.debug("%s: the exact reader reads it (%s)", file_label(path), exc)
        except (duckdb.Error, pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as exc:
            log_fallback(file_label(path), exc)
    # the exact reader (pandas) loads only when the scan cannot vouch for the file
    from diagnostics.ingest import read_predictions, slice_metrics, split_metrics

    predictions = read_predictions(
        path,
        metric=metric,
        extra_columns=(slice_column,) if slice_column else (),
        display_name=display_name,
        metrics_only=True,
        memory_limit=memory_limit,
    )
    return ScanResult(
        splits=split_metrics(predictions),
        slices=slice_metrics(predictions, slice_column) if slice_column else {},
        metric=predictions.metric,
        source=predictions.source,
        rows=len(predictions.frame),
        engine="pyarrow",
    )


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _where(path: Path | RemoteFile) -> str:
    """The path or location DuckDB is given (as the bound parameter ``$path``)."""
    return path.scan_path if isinstance(path, RemoteFile) else str(path)


def _source(
    path: Path | RemoteFile, connection: duckdb.DuckDBPyConnection, name: str | None = None
) -> tuple[str, dict[str, str], pq.FileMetaData | None]:
    """The table function reading the file (path as parameter ``$path``), the column types
    DuckDB reads, and a Parquet file's metadata (None for CSV)."""
    if set("*?[{") & set(_where(path)):
        raise _Unsure("pattern characters")  # DuckDB would expand them as a glob
    head = read_head(path)
    if is_parquet(head):
        source = PARQUET_SOURCE
        types = _describe(connection, source, path)
        metadata = pq.read_metadata(readable(path))
        if list(types) != metadata.schema.to_arrow_schema().names:  # e.g. a repeated column
            raise _Unsure("columns read differently")
        return source, types, metadata
    if Path(name or path.name).suffix.lower() in (".parquet", ".pq") or b"\x00" in head:
        raise _Unsure("not Parquet, not text")
    try:
        refuse_non_csv_text(head, path.name)
        refuse_cr_only_lines(head, path.name)
    except InputError:
        raise _Unsure("not CSV") from None
    if head.startswith(b"\xef\xbb\xbf"):
        raise _Unsure("byte order mark")
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    header = next(csv.reader([first_line]), [])
    source = f"read_csv($path, {CSV_OPTIONS})"
    types = _describe(connection, source, path)
    if list(types) != header or any(c != c.strip() for c in header):
        raise _Unsure("header read differently")
    whole = [c for c in ("y_true", "y_pred") if types.get(c) in INTEGER_TYPES]
    if whole:  # DuckDB would round a later 1.5 into a sniffed integer column: read floats
        overrides = ", ".join(f"'{c}': 'DOUBLE'" for c in whole)
        source = f"read_csv($path, {CSV_OPTIONS}, types = {{{overrides}}})"
        types = {c: WHOLE_DOUBLE if c in whole else kind for c, kind in types.items()}
    return source, types, None


@dataclass(frozen=True)
class _IdCheck:
    """How the scan proves the ids unique within each split.

    ``row_offset``: every id equals its row number plus ``low`` (Parquet, when the statistics
    say so), so no id repeats anywhere; ``bitmap``: one bit per possible id in [``low``,
    ``high``], per split; ``order``: ids strictly increasing in file order.
    """

    kind: str
    low: int = 0
    high: int = 0


ORDER_CHECK = _IdCheck("order")


def _id_check(
    path: Path | RemoteFile, types: dict[str, str], metadata: pq.FileMetaData | None, sliced: bool
) -> _IdCheck:
    """The cheapest check the file allows; a wrong guess costs no correctness.

    Integer ids: the bounds come from a Parquet file's ``metadata`` (per row group), or for CSV
    from its first and last rows (ids are usually written in order). Ids that look like row
    numbers plus an offset are checked row by row against that (each a subtraction); otherwise
    a bitmap per split over the range, when small enough (:data:`MAX_ID_SPAN`) and the groups
    are splits (a slice splits them further). A CSV id outside its guessed range makes DuckDB's
    bitmap raise, and the scan checks the ids' order instead.
    """
    if types.get("id") not in INTEGER_TYPES:
        return ORDER_CHECK
    bounds: Sequence[tuple[int, int, int | None]] | None
    if metadata is None:
        bounds = _csv_id_ends(path, list(types).index("id"))
    else:
        groups = _parquet_id_bounds(metadata)
        offset = _row_offset(groups) if groups and ROW_NUMBER not in types else None
        if offset is not None:
            return _IdCheck("row_offset", offset)
        bounds = groups
    if not bounds:
        return ORDER_CHECK
    low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
    if sliced or high - low >= MAX_ID_SPAN:
        return ORDER_CHECK
    return _IdCheck("bitmap", low, high)


def _parquet_id_bounds(metadata: pq.FileMetaData) -> list[tuple[int, int, int]] | None:
    """(min, max, rows) of the ids of each row group, if every row group has them, no nulls."""
    paths = [metadata.schema.column(i).path for i in range(metadata.num_columns)]
    column = paths.index("id")  # the top-level column, not a nested field named id
    bounds = []
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        stats = group.column(column).statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            return None
        bounds.append((int(stats.min), int(stats.max), group.num_rows))
    return bounds


def _row_offset(groups: Sequence[tuple[int, int, int]]) -> int | None:
    """The offset when the row groups' (min, max, rows) say every id is its row number plus it
    (the first id), else None."""
    offset, first_row = groups[0][0], 0
    for low, high, rows in groups:
        if low != first_row + offset or high != low + rows - 1:
            return None
        first_row += rows
    return offset


def _csv_id_ends(path: Path | RemoteFile, column: int) -> list[tuple[int, int, None]] | None:
    """The ids of the first and last rows of a CSV file, as a range, or None if unreadable."""
    with as_file(path).open("rb") as handle:
        head = handle.read(EDGE_BYTES)
        handle.seek(max(0, file_size(path) - EDGE_BYTES))
        tail = handle.read()
    lines = head.split(b"\n", 2)
    if len(lines) < 3:
        return None
    rows = [lines[1], tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]]
    try:
        ids = [int(next(csv.reader([row.decode("utf-8").rstrip("\r")]))[column]) for row in rows]
    except (ValueError, IndexError, StopIteration, UnicodeDecodeError, csv.Error):
        return None
    return [(min(ids), max(ids), None)]


def _describe(
    connection: duckdb.DuckDBPyConnection, source: str, path: Path | RemoteFile
) -> dict[str, str]:
    """Column name → DuckDB type of what the source reads."""
    query = f"DESCRIBE SELECT * FROM {source}"
    rows = connection.execute(query, {"path": _where(path)}).fetchall()
    return {row[0]: row[1] for row in rows}


def _split_code() -> str:
    """SQL: the index in SPLITS of a row's split name or alias (trimmed, any case), else NULL."""
    cases = " ".join(
        f"WHEN '{alias}' THEN {SPLITS.index(split)}" for alias, split in SPLIT_ALIASES.items()
    )
    return f"CASE lower(trim(split)) {cases} END"


def _split_index(written: str | None) -> int:
    """The index in SPLITS of a split value as written, by the exact path's rule.

    Only values that DuckDB's ``lower(trim(...))`` maps the same way (ASCII, spaces only
    around) are accepted, so the duplicate-id query groups splits as the exact path does.
    """
    if written is None or not written.isascii() or written.strip() != written.strip(" "):
        raise _Unsure("empty split, or one the duplicate-id query would group differently")
    canonical = SPLIT_ALIASES.get(written.strip().lower())
    if canonical is None:
        raise _Unsure("unknown split")
    return SPLITS.index(canonical)


def _text_trouble(column: str, is_csv: bool, *, stripped: bool) -> str:
    """SQL aggregate: rows whose text the exact path would read as empty or differently.

    In a CSV file that includes text the exact reader could type as a number, a boolean or a
    date (``01``, ``+1``, ``1e3``, ``true``, :data:`TYPED_TEXT`): by its rule a column of such
    text is not text, and a column of numbers but for a few words is refused, so the exact path
    decides. One regular expression per column tests every pattern at once.
    """
    checks = [f"{column} IS NULL"]
    patterns = []
    if is_csv:  # the exact CSV reader takes these as null and has no line breaks in values
        markers = ", ".join("'" + m.replace("'", "''") + "'" for m in CSV_NULL_VALUES)
        checks.append(f"{column} IN ({markers})")
        patterns += ["[\\r\\n\\x00]", TYPED_TEXT]
    if stripped:  # labels are compared stripped; an empty one is refused
        checks.append(f"{column} = ''")  # Parquet text: the exact path refuses an empty label
        patterns += [f"^[{PYTHON_SPACES}]", f"[{PYTHON_SPACES}]$"]
    if patterns:
        checks.append(f"regexp_matches({column}, '(?i){'|'.join(patterns)}')")
    return f"count(*) FILTER (WHERE {' OR '.join(checks)})"


def _number_trouble(column: str, kind: str) -> str:
    """SQL aggregate: rows whose number is empty, or a float that is not finite or not exact
    (and, in a column of whole numbers read as floats, a fraction)."""
    if kind in (*FLOAT_TYPES, WHOLE_DOUBLE):
        bad = f"NOT isfinite({column}) OR abs({column}) >= {EXACT_FLOAT_INTEGERS}"
        if kind == WHOLE_DOUBLE:
            bad += f" OR {column} <> round({column})"
        return f"count(*) - count({column}) + count(*) FILTER (WHERE {bad})"
    return f"count(*) - count({column})"  # counting non-empty values is cheaper than a filter


def _scan(
    path: Path | RemoteFile,
    metric: str | None,
    slice_column: str | None,
    name: str,
    id_bits: tuple[int, int] | None = None,
) -> ScanResult:
    if metric is not None and metric not in METRICS:
        raise _Unsure("unknown metric")
    if isinstance(path, RemoteFile):
        if path.size == 0:
            raise _Unsure("empty")
    elif not path.is_file() or path.stat().st_size == 0:
        raise _Unsure("missing or empty")
    else:
        path = path.resolve()
    with duckdb.connect(":memory:") as connection:
        if isinstance(path, RemoteFile):
            path = replace(path, scan_path=register(connection, path))
        where = {"path": _where(path)}
        connection.execute(f"SET threads = {os.cpu_count() or 1}")
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute("SET enable_progress_bar = false")
        source, types, metadata = _source(path, connection, name)
        is_csv = metadata is None
        id_check = None
        if "id" in types:
            id_check = _id_check(path, types, metadata, sliced=slice_column is not None)
        if types.get("id") not in INTEGER_TYPES:
            id_bits = None
        query = _Query(types, metric, slice_column, is_csv, id_check, id_bits)
        if query._row_offset_ids and not query.ids_apart:
            source = PARQUET_SOURCE_WITH_ROW_NUMBERS
        try:
            cursor = connection.execute(query.sql(source), where)
        except duckdb.OutOfRangeException:
            if id_check in (None, ORDER_CHECK) and id_bits is None:
                raise
            # an id outside the guessed range (CSV ids not in order, or outside the asked id
            # bitmaps): check their order instead, without bitmaps
            query = _Query(types, metric, slice_column, is_csv, ORDER_CHECK)
            cursor = connection.execute(query.sql(source), where)
        names = [column[0] for column in cursor.description]
        groups = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        suspects = any(group.get("suspect_ids") for group in groups)
        if query.ids_apart:
            ids = connection.execute(query.ids_sql(), where).fetchone()
            if ids is None or ids[0]:
                raise _Unsure("empty ids")
            suspects = ids[1:] != (query.ids_apart.low, query.ids_apart.low)
        result = query.result(groups, name)
        if suspects:
            duplicates = connection.execute(query.duplicates_sql(source), where)
            row = duplicates.fetchone()  # one row: the count
            if row is None or row[0]:
                raise _Unsure("duplicate ids")
    return result


class _Query:
    """The SQL of one scan, built from the column types, and the reading of its result rows."""

    def __init__(
        self,
        types: dict[str, str],
        metric: str | None,
        slice_column: str | None,
        is_csv: bool,
        id_check: _IdCheck | None = None,
        id_bits: tuple[int, int] | None = None,
        *,
        table: str = "",
    ) -> None:
        if any(c not in types for c in REQUIRED_COLUMNS):
            raise _Unsure("missing column")
        if slice_column is not None and (
            slice_column not in types
            or slice_column in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *SCORE_COLUMNS)
            or types[slice_column] not in (*INTEGER_TYPES, TEXT_TYPE)
        ):
            raise _Unsure("slice column")
        labels = (types["y_true"], types["y_pred"])
        numeric = all(k in (*INTEGER_TYPES, *FLOAT_TYPES, WHOLE_DOUBLE) for k in labels)
        if types["split"] != TEXT_TYPE or not (numeric or labels == (TEXT_TYPE, TEXT_TYPE)):
            raise _Unsure("types")
        if not numeric and metric not in (None, "error"):
            raise _Unsure("text labels for a regression metric")
        self.types, self.is_csv, self.slice_column = types, is_csv, slice_column
        self.id_check, self.id_bits = id_check, id_bits
        self.table = table  # the aggregates name their columns table.column (a join's side)
        # ids that are their row numbers plus an offset, without bitmaps, are checked by a
        # query of their own (:meth:`ids_sql`): without grouping, a pass over the id column
        # costs a fraction of the same checks as aggregates per split
        self.ids_apart = id_check if self._row_offset_ids and id_bits is None else None
        self.float_labels = [c for c in ("y_true", "y_pred") if types[c] in FLOAT_TYPES]
        self.metric = metric
        if metric is None:
            self.candidates = ("error", "mae") if numeric and self.float_labels else ("error",)
        else:
            self.candidates = (metric,)
        self.weighted = "weight" in types
        if self.weighted and types["weight"] not in INTEGER_TYPES + FLOAT_TYPES:
            raise _Unsure("weight type")
        if "id" in types and types["id"] not in INTEGER_TYPES + FLOAT_TYPES + (TEXT_TYPE,):
            raise _Unsure("id type")

    def _column(self, name: str) -> str:
        """SQL: a column of the rows the aggregates read (qualified by :attr:`table`, if any)."""
        return f"{self.table}.{_quote(name)}" if self.table else _quote(name)

    def wrong(self) -> str:
        """SQL: the row is misclassified."""
        return f"{self._column('y_true')} <> {self._column('y_pred')}"

    def _trouble(self) -> dict[str, str]:
        """Counter name → SQL aggregate: rows the exact path refuses or reads differently."""
        types, is_csv, column_sql = self.types, self.is_csv, self._column
        checks = {}
        for column in ("y_true", "y_pred"):
            if types[column] == TEXT_TYPE:
                checks[column] = _text_trouble(column_sql(column), is_csv, stripped=True)
            else:
                checks[column] = _number_trouble(column_sql(column), types[column])
        if self.weighted:
            weight = f"CAST({column_sql('weight')} AS DOUBLE)"
            bad = f"{weight} IS NULL OR NOT isfinite({weight}) OR {weight} < 0"
            # extreme weights: the exact path rescales them before squaring
            tiny = f"({weight} > 0 AND {weight} < {1 / EXTREME_WEIGHT})"
            bad += f" OR {weight} > {EXTREME_WEIGHT} OR {tiny}"
            checks["weight"] = f"count(*) FILTER (WHERE {bad})"
        if "id" in types and not self.ids_apart:
            checks["id"] = (
                _text_trouble(column_sql("id"), is_csv, stripped=False)
                if types["id"] == TEXT_TYPE
                else _number_trouble(column_sql("id"), types["id"])
            )
        if self.slice_column is not None:
            value = column_sql("slice_value")
            checks["slice"] = (
                _text_trouble(value, is_csv, stripped=False)
                if types[self.slice_column] == TEXT_TYPE
                else f"count(*) - count({value})"
            )
        return checks

    def _sums(self) -> dict[str, str]:
        """SQL aggregates: Σw, Σw², then Σw·loss, Σw·loss², Σw·loss³ of each candidate metric.

        Unweighted with id bitmaps, the error counts are left out: :meth:`result` counts the
        bits of each group's bitmap of wrong ids instead (one filtered aggregate less a row).
        """
        y_true, y_pred = self._column("y_true"), self._column("y_pred")
        difference = f"(CAST({y_pred} AS DOUBLE) - CAST({y_true} AS DOUBLE))"
        loss = {"mae": f"abs{difference}", "rmse": f"({difference} * {difference})"}
        if not self.weighted:
            sums = {"sw": "count(*)", "sw2": "count(*)"}
            for metric in self.candidates:
                if metric == "error" and self.id_bits is None:
                    errors = f"count(*) FILTER (WHERE {self.wrong()})"
                    sums |= {"s1_error": errors, "s2_error": errors, "s3_error": errors}
                elif metric == "error":  # the popcount of the bitmap of wrong ids (:meth:`result`)
                    continue
                else:
                    value = loss[metric]
                    sums[f"s1_{metric}"] = f"sum({value})"
                    sums[f"s2_{metric}"] = f"sum({value} * {value})"
                    sums[f"s3_{metric}"] = f"sum({value} * {value} * {value})"
            return sums
        raw = self._column("weight")
        weight = f"CAST({raw} AS DOUBLE)"
        # float32 weights are squared in float32, as NumPy does on the exact path
        square = f"{raw} * {raw}" if self.types["weight"] == "FLOAT" else f"{weight} * {weight}"
        sums = {"sw": f"sum({weight})", "sw2": f"sum(CAST({square} AS DOUBLE))"}
        for metric in self.candidates:
            if metric == "error":
                errors = f"coalesce(sum({weight}) FILTER (WHERE {self.wrong()}), 0)"
                sums |= {"s1_error": errors, "s2_error": errors, "s3_error": errors}
            else:
                value, weighted_loss = loss[metric], f"({weight} * {loss[metric]})"
                sums[f"s1_{metric}"] = f"sum({weighted_loss})"
                sums[f"s2_{metric}"] = f"sum({weighted_loss} * {value})"
                sums[f"s3_{metric}"] = f"sum({weighted_loss} * {value} * {value})"
        return sums

    @property
    def _row_offset_ids(self) -> bool:
        """True when every id is its row number plus an offset (:func:`_id_check`)."""
        return self.id_check is not None and self.id_check.kind == "row_offset"

    def _id_suspects(self, check: _IdCheck) -> tuple[list[str], str]:
        """The columns and the SQL aggregate counting rows whose id may repeat in its split."""
        id_sql, row = self._column("id"), self._column(ROW_NUMBER)
        if check.kind == "row_offset":  # each id its row number plus the offset: all differ
            suspects = f"CAST({id_sql} AS BIGINT) - {row} <> {check.low:d}"
            return ["id", ROW_NUMBER], f"count(*) FILTER (WHERE {suspects})"
        if check.kind == "bitmap":  # one bit per possible id, per split: fewer bits than rows
            bitmap = f"bitstring_agg(CAST({id_sql} AS BIGINT), {check.low:d}, {check.high:d})"
            return ["id"], f"count(*) - bit_count({bitmap})"
        # ids in strictly increasing order are unique without hashing
        previous = self._column("previous_id")
        columns = ["id", "lag(id) OVER () AS previous_id"]
        return columns, f"count(*) FILTER (WHERE {id_sql} <= {previous})"

    @property
    def keys(self) -> list[str]:
        """The columns the query groups by: the split as written (the aliases are mapped on
        the few groups), and the slice value."""
        return ["split"] if self.slice_column is None else ["split", "slice_value"]

    def rows(self, source: str) -> str:
        """SQL: the rows the aggregates read, from the table function ``source``."""
        columns = [*self.keys, "y_true", "y_pred"]
        if self.slice_column is not None:
            columns[1] = f"CAST({_quote(self.slice_column)} AS VARCHAR) AS slice_value"
        if self.weighted:
            columns.append("weight")
        if self.id_check is not None and not self.ids_apart:
            columns += self._id_suspects(self.id_check)[0]
        used = [*REQUIRED_COLUMNS, *(c for c in ("weight", "id") if c in self.types)]
        if self.ids_apart:
            used.remove("id")
        elif self._row_offset_ids:
            used.append(ROW_NUMBER)
        if self.slice_column is not None:
            used.append(self.slice_column)
        read = ", ".join(map(_quote, used))
        return f"SELECT {', '.join(columns)} FROM (SELECT {read} FROM {source})"

    def aggregates(self) -> dict[str, str]:
        """Name → SQL aggregate over :meth:`rows`: the row count, the counters, the sums and
        the id bitmaps asked for."""
        aggregates = {"n": "count(*)"}
        aggregates |= {f"trouble_{name}": count for name, count in self._trouble().items()}
        if self.id_check is not None and not self.ids_apart:
            aggregates["suspect_ids"] = self._id_suspects(self.id_check)[1]
        if self.metric is None and self.float_labels:
            labels = map(self._column, self.float_labels)
            fractional = " OR ".join(f"{c} <> round({c})" for c in labels)
            aggregates["fractional"] = f"count(*) FILTER (WHERE {fractional})"
        aggregates |= self._sums()
        if self.id_bits is not None:
            low, high = self.id_bits
            bitmap = f"bitstring_agg(CAST({self._column('id')} AS BIGINT), {low:d}, {high:d})"
            aggregates["wrong_bits"] = f"CAST({bitmap} FILTER (WHERE {self.wrong()}) AS BLOB)"
            # ids that are their row numbers plus an offset are all there: the train ids (most
            # rows) are the ones no other split has, so only the other splits need bits
            only = f" FILTER (WHERE {self._column('split')} <> 'train')"
            aggregates["present_bits"] = (
                f"CAST({bitmap}{only if self._row_offset_ids else ''} AS BLOB)"
            )
        return aggregates

    def sql(self, source: str) -> str:
        """The one query: per split code (and slice value) the counters and the sums."""
        aggregates = (f"{sql} AS {name}" for name, sql in self.aggregates().items())
        selected = ", ".join([*self.keys, *aggregates])
        return f"SELECT {selected} FROM ({self.rows(source)}) GROUP BY {', '.join(self.keys)}"

    def ids_sql(self) -> str:
        """The check of :attr:`ids_apart`, one row: the empty ids, and the least and the most
        of id − row number (both the offset when every id is its row number plus it)."""
        difference = f"CAST(id AS BIGINT) - {ROW_NUMBER}"
        return (
            f"SELECT count(*) - count(id), min({difference}), max({difference}) FROM "
            f"(SELECT id, {ROW_NUMBER} FROM {PARQUET_SOURCE_WITH_ROW_NUMBERS})"
        )

    def duplicates_sql(self, source: str) -> str:
        """How many (split, id) pairs occur more than once (ids of different splits may repeat)."""
        return (
            f"SELECT count(*) FROM (SELECT {_split_code()} AS split_code, id "
            f"FROM {source} GROUP BY ALL HAVING count(*) > 1)"
        )

    def result(self, groups: list[dict[str, Any]], name: str) -> ScanResult:
        """The estimates from the query's groups, or :class:`_Unsure` when a counter is non-zero."""
        total = sum(group["n"] for group in groups)
        if total == 0:
            raise _Unsure("no rows")
        if self.id_bits is not None and not self.weighted and "error" in self.candidates:
            for group in groups:  # ids repeated within a split send the file to the exact path
                wrong = np.frombuffer(group["wrong_bits"] or b"", dtype=np.uint8)
                errors = int(np.bitwise_count(wrong).sum(dtype=np.int64))
                group |= {"s1_error": errors, "s2_error": errors, "s3_error": errors}
        if any(v for group in groups for k, v in group.items() if k.startswith("trouble_")):
            raise _Unsure("a check failed")
        metric = self.metric or (
            "mae" if sum(group.get("fractional", 0) for group in groups) else "error"
        )
        sliced = self.slice_column is not None
        values = sorted({group["slice_value"] for group in groups}) if sliced else [None]
        if self.slice_column is not None:
            check_slice_count(len(values), name, self.slice_column)
        position = {value: v for v, value in enumerate(values)}
        keys = ("n", "sw", "sw2", f"s1_{metric}", f"s2_{metric}", f"s3_{metric}")
        fields = np.zeros((len(keys), len(values) * len(SPLITS)), dtype=np.float64)
        for group in groups:
            index = position[group["slice_value"]] * len(SPLITS) if sliced else 0
            fields[:, index + _split_index(group["split"])] += [group[key] for key in keys]
        per_split = fields.reshape(len(keys), len(values), len(SPLITS)).sum(axis=1)
        by_split = GroupSums.from_power_sums(*per_split)
        if np.any((by_split.n > 0) & (by_split.sw <= 0)):
            raise _Unsure("a split whose weights are all 0")
        by_group = GroupSums.from_power_sums(*fields)
        lost = lost_spread(by_group, fields[4]).any() or lost_spread(by_split, per_split[4]).any()
        if metric != "error" and lost:
            raise _Unsure("losses far larger than their spread: the exact path keeps the digits")
        slices = {
            value: split_estimates(by_group, metric, v * len(SPLITS))
            for v, value in enumerate(values)
            if sliced
        }
        return ScanResult(
            splits=split_estimates(by_split, metric),
            slices=slices,
            metric=metric,
            source=name,
            rows=int(total),
            engine="duckdb",
            **self._bits(groups, int(total)),
        )

    def _bits(self, groups: list[dict[str, Any]], total: int) -> dict[str, Any]:
        """Per split, the groups' id bitmaps OR-ed (a split may be written several ways).

        Groups written exactly ``train`` carry no presence bits when the ids are the row
        numbers plus an offset (:meth:`sql`): their ids are the file's ids that no other split
        has. When the ids turned out not to be that, no bitmaps are returned.
        """
        if self.id_bits is None:
            return {}
        low, high = self.id_bits
        size = (high - low) // 8 + 1
        padding = 8 * size - (high - low + 1)
        present: dict[str, np.ndarray] = {}
        wrong: dict[str, np.ndarray] = {}
        derive = []
        for group in groups:
            split = SPLITS[_split_index(group["split"])]
            for bits, key in ((present, "present_bits"), (wrong, "wrong_bits")):
                if group[key] is None:
                    if key == "present_bits":
                        derive.append(split)
                    continue
                value = np.frombuffer(group[key], dtype=np.uint8)
                bits[split] = value | bits[split] if split in bits else value
        if derive:
            if self.id_check is None or any(group.get("suspect_ids") for group in groups):
                return {}  # not the row numbers plus an offset after all
            start = self.id_check.low - low + padding
            others = [bits for split, bits in present.items() if split not in derive]
            taken = np.bitwise_or.reduce(others) if others else np.zeros(size, np.uint8)
            present[derive[0]] = _range_bits(size, start, start + total - 1) & ~taken
        empty = np.zeros(size, np.uint8)
        return {
            "id_bits": {split: (bits, wrong.get(split, empty)) for split, bits in present.items()},
            "id_range": self.id_bits,
        }


def _range_bits(size: int, first: int, last: int) -> np.ndarray:
    """A packed bitmap of ``size`` bytes with bit positions ``first`` … ``last`` set."""
    bits = np.zeros(size, dtype=np.uint8)
    bits[first // 8 : last // 8 + 1] = 0xFF
    bits[first // 8] &= 0xFF >> (first % 8)
    bits[last // 8] &= (0xFF << (7 - last % 8)) & 0xFF
    return bits


def scan_sliced(
    path: str | os.PathLike[str],
    *,
    metric: str | None = None,
    slice_column: str | None = None,
    display_name: str | None = None,
) -> ScanResult:
    """:func:`scan_split_metrics`, with a numeric slice column of many
    values (a brightness, a timestamp) cut into the slice finder's quantile bins instead of one
    waterfall per value (:func:`diagnostics.slices.binned_values`); other columns slice by value."""
    try:
        scan = scan_split_metrics(
            path, metric=metric, slice_column=slice_column, display_name=display_name
        )
        if slice_column is None or len(scan.slices) <= DISCRETE_LIMIT:
            return scan
        refusal = None
    except TooManySliceValues as exc:
        refusal = exc
    assert slice_column is not None
    # pandas and the slice finder's bins load only for a column that needs them
    from diagnostics.ingest import Predictions, read_predictions, slice_metrics, split_metrics
    from diagnostics.slices import binned_values

    predictions = read_predictions(
        path,
        metric=metric,
        extra_columns=(slice_column,),
        display_name=display_name,
        metrics_only=True,
    )
    binned = binned_values(predictions.frame[slice_column])
    if binned is None:
        if refusal is not None:
            raise refusal
        return scan
    cut = Predictions(
        predictions.frame.assign(**{slice_column: binned}),
        predictions.metric,
        predictions.source,
    )
    return ScanResult(
        splits=split_metrics(predictions),
        slices=slice_metrics(cut, slice_column),
        metric=predictions.metric,
        source=predictions.source,
        rows=len(predictions.frame),
        engine="pyarrow",
    )
