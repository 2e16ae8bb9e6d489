"""The fast comparison of two predictions files: two DuckDB scans that also pair the ids.

:func:`compare_files` is what ``compare BEFORE AFTER`` runs. Each file is diagnosed by
:func:`~diagnostics.fastscan.scan_split_metrics` (every check of the exact reader, the levels
with their intervals). When both files have integer ids in a common range of at most
:data:`~diagnostics.fastscan.MAX_ID_SPAN` (the range from a Parquet file's statistics, or a CSV
file's first and last rows) and the metric is the error rate, the same scan also returns, per
split, a bitmap of the ids present and one of the ids misclassified; the paired counts
(:class:`~diagnostics.paired.PairedSums`: shared examples, McNemar's b and c, both sides'
errors) are then a few AND and popcount passes over those bitmaps, so pairing costs no join and
no second read. Otherwise (text ids, a wider range, MAE/RMSE) one DuckDB query joins the rows on
(split, id) (a hash join) for the same sums. Two Parquet files whose ids are their row numbers
plus one offset, as many rows in both (what a model's two runs over one data set write), pair by
position: :func:`scan_by_position` reads both files side by side in one query (a ``POSITIONAL
JOIN``) that has each file's checks and sums, grouped by both rows' splits, and the paired
counts; the id checks run beside it.

Whenever a scan took the exact path (something to refuse or check precisely), or DuckDB cannot
run the paired query, both files are read by :func:`~diagnostics.ingest.read_predictions` and
:func:`diagnostics.compare.compare` decides, so messages and numbers are those of the exact
path. The file paths are bound parameters; column names never come from user text.
Speed and memory: ``bench/compare.py``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from diagnostics.compare import (
    WHOLE_NUMBER_SQL,
    Comparison,
    canonical_id,
    check_comparable,
    check_tags_usable,
    compare,
    compare_levels,
    eyeball_check,
    outcomes_by_tag,
    pairing_note,
    tagged_ids,
    tags_note,
    what_fixed,
)
from diagnostics.fastscan import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    MAX_ID_SPAN,
    MEMORY_LIMIT,
    PARQUET_SOURCE_WITH_ROW_NUMBERS,
    ROW_NUMBER,
    ScanResult,
    _csv_id_ends,
    _id_check,
    _parquet_id_bounds,
    _Query,
    _row_offset,
    _source,
    _split_code,
    _split_index,
    _Unsure,
    log_fallback,
    logger,
    scan_split_metrics,
)
from diagnostics.formats import is_parquet_file
from diagnostics.paired import PairedSums
from diagnostics.remote import is_remote
from diagnostics.splitnames import SPLITS
from diagnostics.tags import TagTable
from diagnostics.waterfall import HumanLevel

NUMBER_TYPES = INTEGER_TYPES + FLOAT_TYPES
# The Arrow types of Parquet columns DuckDB reads as one of INTEGER_TYPES
ARROW_IDS = (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32())


@dataclass(frozen=True)
class PairedScan(ScanResult):
    """A file's scan made beside the other file's, row by row (:func:`scan_by_position`).

    ``paired``: per split both files have, the paired sums of the two files (the same object in
    both scans).
    """

    paired: dict[str, PairedSums] = field(default_factory=dict)


class _File:
    """One side of the comparison: its path, scan, DuckDB connection, source and column types."""

    def __init__(
        self, path: Path, scan: ScanResult, parameter: str, connection: duckdb.DuckDBPyConnection
    ) -> None:
        self.path, self.scan, self.parameter = path.resolve(), scan, parameter
        self.connection = connection
        source, self.types, _ = _source(self.path, connection)
        self.source = source.replace("$path", f"${parameter}")

    def rows(self, metric: str, key: str) -> str:
        """SQL: split code, id (as the expression ``key``) and per-row loss of every row."""
        difference = "(CAST(y_pred AS DOUBLE) - CAST(y_true AS DOUBLE))"
        loss = {
            "error": "CAST(y_true <> y_pred AS TINYINT)",
            "mae": f"abs{difference}",
            "rmse": f"({difference} * {difference})",
        }[metric]
        return (
            f"SELECT CAST({_split_code()} AS TINYINT) AS s, {key} AS id, {loss} AS loss "
            f"FROM {self.source}"
        )


def scan_both(
    before: str | os.PathLike[str],
    after: str | os.PathLike[str],
    *,
    metric: str | None = None,
    display_names: tuple[str | None, str | None] = (None, None),
) -> tuple[ScanResult, ScanResult]:
    """Diagnose-scan both files (with id bitmaps when they can pair) and refuse different metrics.

    A caller that parses typed human levels in the files' metric scans first, then passes the
    scans to :func:`compare_files`.
    """
    paths = (_local(before), _local(after))
    remote = any(isinstance(path, str) for path in paths)
    scans: tuple[ScanResult, ScanResult] | None = None
    if not remote:
        scans = scan_by_position(paths, metric, display_names)  # type: ignore[arg-type]
    if scans is None:
        id_range = None if remote else _shared_id_range(paths)  # type: ignore[arg-type]
        scans = (
            scan_split_metrics(
                paths[0], metric=metric, display_name=display_names[0], id_bits=id_range
            ),
            scan_split_metrics(
                paths[1], metric=metric, display_name=display_names[1], id_bits=id_range
            ),
        )
    check_comparable(scans[0].metric, scans[1].metric, (scans[0].source, scans[1].source))
    return scans


def scan_by_position(
    paths: tuple[Path, Path],
    metric: str | None = None,
    display_names: tuple[str | None, str | None] = (None, None),
) -> tuple[PairedScan, PairedScan] | None:
    """Both files' scans and their paired counts from one pass over their rows side by side.

    Only for two Parquet files whose footers say every id is its row number plus one offset,
    as many rows in both, unweighted and for the error rate: pairing by id is then pairing by
    row. A query reads the two files row beside row (a ``POSITIONAL JOIN``) with each file's
    checks and sums (:class:`~diagnostics.fastscan._Query`), grouped by both rows' splits as
    written; each file's ids are checked row by row at the same time. None when the footers say
    otherwise, or whenever a file needs a closer look: the caller then scans each file as
    :func:`~diagnostics.fastscan.scan_split_metrics` does, which decides (and words a refusal).
    """
    resolved = (paths[0].resolve(), paths[1].resolve())
    try:
        if not _ids_are_row_numbers(resolved):
            return None
        with _connect() as connection:
            return _by_position(connection, resolved, metric, display_names)
    except _Unsure as exc:
        logger.debug("%s and %s: each file is scanned alone (%s)", *paths, exc)
    except (duckdb.Error, pa.ArrowException, OSError, ValueError) as exc:
        log_fallback(f"{paths[0]} and {paths[1]}", exc)
    return None


def _ids_are_row_numbers(paths: Sequence[Path]) -> bool:
    """True when both files are Parquet, as many rows, and their footers say every id is its
    row number plus one offset (the same in both); the ids are checked row by row later."""
    ends = set()
    for path in paths:
        if not path.is_file():
            return False  # the scan says what is missing
        groups = _parquet_id_ends(path) if is_parquet_file(path) else None
        offset = _row_offset(groups) if groups else None
        if groups is None or offset is None:
            return False
        ends.add((offset, sum(rows for *_, rows in groups)))
    return len(ends) == 1


def _by_position(
    connection: duckdb.DuckDBPyConnection,
    paths: tuple[Path, Path],
    metric: str | None,
    display_names: tuple[str | None, str | None],
) -> tuple[PairedScan, PairedScan]:
    """:func:`scan_by_position` on one connection (:class:`_Unsure` when it cannot vouch).

    A positional join runs on one thread, so the rows of both files are cut into one range per
    core (at least two), each joined on a cursor of its own, all but the last in a thread; the
    first two also check one file's ids each.
    """
    queries = []
    for path, table in zip(paths, ("b", "a"), strict=True):
        _, types, metadata = _source(path, connection)
        query = _Query(
            types, metric, None, False, _id_check(path, types, metadata, False), table=table
        )
        if not query.ids_apart or query.weighted or query.candidates != ("error",):
            raise _Unsure("not ids as row numbers, or not the error rate unweighted")
        if metadata is None:
            raise _Unsure("not Parquet")
        queries.append(query)
        rows = metadata.num_rows  # the same in both (:func:`_ids_are_row_numbers`)
    before, after = queries
    selected = [f"{q.table}.split AS {q.table}_split" for q in queries]
    selected += [
        f"{sql} AS {q.table}_{name}" for q in queries for name, sql in q.aggregates().items()
    ]
    selected.append(f"count(*) FILTER (WHERE {before.wrong()} AND {after.wrong()}) AS both_wrong")

    parts = max(2, os.cpu_count() or 1)
    connection.execute("SET threads = 1")  # a thread per part: DuckDB's own would only wait

    def part(index: int) -> tuple[list[dict[str, Any]], list[tuple[Any, ...] | None]]:
        """The groups of range ``index`` of the rows of both files, and the id check
        (:meth:`~diagnostics.fastscan._Query.ids_sql`) of file ``index``, if any."""
        low, high = index * rows // parts, (index + 1) * rows // parts
        sides = [f"({q.rows(_row_range(q.table, low, high))}) {q.table}" for q in queries]
        sql = (
            f"SELECT {', '.join(selected)} FROM {sides[0]} POSITIONAL JOIN {sides[1]} GROUP BY ALL"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, {"b": str(paths[0]), "a": str(paths[1])})
            names = [column[0] for column in cursor.description]
            groups = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
            if index >= len(paths):
                return groups, []
            ids = cursor.execute(queries[index].ids_sql(), {"path": str(paths[index])})
            return groups, [ids.fetchone()]

    others = [_Beside(partial(part, index)) for index in range(parts - 1)]
    try:
        last = part(parts - 1)
    finally:
        for other in others:
            other.join()  # the connection closes only after every part
    done = [*(other.result() for other in others), last]
    offset = before.ids_apart.low  # type: ignore[union-attr]
    if any(ids != (0, offset, offset) for _, checks in done for ids in checks):
        raise _Unsure("ids not their row numbers plus the offset")
    groups = [group for found, _ in done for group in found]
    scans = [
        q.result(_side(groups, q.table), name or path.name)
        for q, path, name in zip(queries, paths, display_names, strict=True)
    ]
    paired = _paired_by_position(groups, scans)
    return tuple(  # type: ignore[return-value]
        PairedScan(**{f.name: getattr(scan, f.name) for f in fields(scan)}, paired=paired)
        for scan in scans
    )


def _row_range(table: str, low: int, high: int) -> str:
    """SQL: the rows ``low`` … ``high`` − 1 of the Parquet file bound as parameter ``table``."""
    every = PARQUET_SOURCE_WITH_ROW_NUMBERS.replace("$path", f"${table}")
    return f"(SELECT * FROM {every} WHERE {ROW_NUMBER} >= {low:d} AND {ROW_NUMBER} < {high:d})"


def _side(groups: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """One file's groups (by its split as written) from the groups of both files' splits: its
    aggregates (all counts) summed over the other file's splits."""
    prefix = f"{table}_"
    side: dict[str | None, dict[str, Any]] = {}
    for group in groups:
        split = group[f"{prefix}split"]
        summed = side.setdefault(split, {"split": split})
        for key, value in group.items():
            if key.startswith(prefix) and key != f"{prefix}split":
                name = key.removeprefix(prefix)
                summed[name] = summed.get(name, 0) + value
    return list(side.values())


def _paired_by_position(
    groups: list[dict[str, Any]], scans: Sequence[ScanResult]
) -> dict[str, PairedSums]:
    """Per split both scans have, the paired counts of the rows in that split in both files."""
    paired = {
        split: PairedSums(0, 0, 0, 0.0, 0.0, 0.0)
        for split in SPLITS
        if all(split in scan.splits for scan in scans)
    }
    for group in groups:
        split = SPLITS[_split_index(group["b_split"])]
        if split in paired and _split_index(group["a_split"]) == SPLITS.index(split):
            errors = (group["b_s1_error"], group["a_s1_error"], group["both_wrong"])
            paired[split] += PairedSums.of_errors(group["b_n"], *errors)
    return paired


class _Beside(threading.Thread):
    """A function run in a thread beside the caller's work (DuckDB lets go of the GIL while a
    query runs, so a second query keeps the other core busy)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.work, self.value = work, None
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        """Run the work, keeping its value or its exception."""
        try:
            self.value = self.work()
        except Exception as exc:  # raised again in the caller's thread
            self.error = exc

    def result(self) -> Any:
        """The work's value, once done (its exception raised here)."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


def _shared_id_range(paths: Sequence[Path]) -> tuple[int, int] | None:
    """The integer id range covering both files (cheap: statistics or a file's two ends).

    None when the files cannot pair through bitmaps: no integer ids, weights, or a range wider
    than :data:`MAX_ID_SPAN`. A Parquet file's footer says it all; only a CSV file needs
    DuckDB's column types (a connection costs as much as a few million rows of the scans).
    """
    bounds: list[tuple[int, int, int | None]] = []
    try:
        with ExitStack() as stack:
            connections: list[duckdb.DuckDBPyConnection] = []

            def connection() -> duckdb.DuckDBPyConnection:
                """One DuckDB connection, opened for the first CSV file."""
                if not connections:
                    connections.append(stack.enter_context(_connect()))
                return connections[0]

            for path in paths:
                ends = _id_ends(path.resolve(), connection)
                if not ends:
                    return None
                bounds += ends
    except (_Unsure, duckdb.Error, pa.ArrowException, OSError, UnicodeDecodeError, ValueError):
        return None  # the scans will say what is wrong with the file
    low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
    return (low, high) if high - low < MAX_ID_SPAN else None


def _id_ends(
    path: Path, connection: Callable[[], duckdb.DuckDBPyConnection]
) -> Sequence[tuple[int, int, int | None]] | None:
    """(min, max, rows or None) of a file's integer ids: per Parquet row group, or a CSV file's
    first and last rows; None without integer ids or with weights."""
    if is_parquet_file(path):
        return _parquet_id_ends(path)
    _, types, _ = _source(path, connection())
    if types.get("id") not in INTEGER_TYPES or "weight" in types:
        return None
    return _csv_id_ends(path, list(types).index("id"))


def _parquet_id_ends(path: Path) -> list[tuple[int, int, int]] | None:
    """(min, max, rows) of a Parquet file's integer ids per row group, from its footer; None
    without integer ids (by DuckDB's column types) or with weights."""
    metadata = pq.read_metadata(path)
    schema = metadata.schema.to_arrow_schema()
    column = schema.get_field_index("id")  # -1: none, or repeated
    if column < 0 or "weight" in schema.names or schema.field(column).type not in ARROW_IDS:
        return None
    return _parquet_id_bounds(metadata)


def compare_files(
    before: str | os.PathLike[str],
    after: str | os.PathLike[str],
    humans: Sequence[HumanLevel] = (),
    *,
    metric: str | None = None,
    unit: str = "",
    tags: TagTable | None = None,
    display_names: tuple[str | None, str | None] = (None, None),
    scans: tuple[ScanResult, ScanResult] | None = None,
    examined: Collection[str] | None = None,
) -> Comparison:
    """Compare two predictions files (BEFORE, AFTER): the same result as the exact path.

    Same refusals as :func:`~diagnostics.ingest.read_predictions` for each file, and those of
    :func:`~diagnostics.compare.compare`. ``tags`` are the tags of BEFORE's dev errors;
    ``scans`` are :func:`scan_both` of the same files and arguments, when already made;
    ``examined`` (ids of BEFORE's dev errors people looked at) adds the eyeball check.
    """
    paths = (_local(before), _local(after))
    if scans is None:
        scans = scan_both(*paths, metric=metric, display_names=display_names)
    local = tuple(path for path in paths if isinstance(path, Path))
    if all(scan.engine == "duckdb" for scan in scans) and len(local) == 2:
        try:
            return _fast((local[0], local[1]), scans, humans, unit, tags, examined)
        except (duckdb.Error, OSError) as exc:
            log_fallback(f"{local[0]} and {local[1]}", exc)
    from diagnostics.ingest import read_predictions  # the exact path (pandas) only when needed

    sides = [
        read_predictions(path, metric=metric, display_name=name)
        for path, name in zip(paths, display_names, strict=True)
    ]
    return compare(sides[0], sides[1], humans, unit=unit, tags=tags, examined=examined)


def _local(path: str | os.PathLike[str]) -> Path | str:
    """A local file as a Path; a remote location (``s3://…``) as it is: its scan reads it by
    range reads, and the comparison pairs its rows through the exact reader."""
    return str(path) if is_remote(path) else Path(path)


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET enable_progress_bar = false")
    return connection


def _fast(
    paths: tuple[Path, Path],
    scans: tuple[ScanResult, ScanResult],
    humans: Sequence[HumanLevel],
    unit: str,
    tags: TagTable | None,
    examined: Collection[str] | None = None,
) -> Comparison:
    metric = scans[0].metric
    sources = (scans[0].source, scans[1].source)
    with ExitStack() as stack:
        files: list[_File] = []

        def sides() -> list[_File]:
            """Both files' DuckDB sources and types, described once, when needed.

            The connection opens then too: pairing by bitmaps without tags needs none, and a
            DuckDB connection costs as much as a few million rows of the scans.
            """
            if not files:
                connection = stack.enter_context(_connect())
                names = ("before", "after")
                files.extend(map(_File, paths, scans, names, [connection] * 2))
            return files

        note = None
        paired: dict[str, PairedSums] | None
        if isinstance(scans[0], PairedScan) and isinstance(scans[1], PairedScan):
            if scans[0].paired is not scans[1].paired:
                raise ValueError("scans paired by position with other files")
            paired = scans[0].paired  # made beside the scans (:func:`scan_by_position`)
        elif metric == "error" and scans[0].id_range and scans[0].id_range == scans[1].id_range:
            paired = paired_sums_from_bits(*scans)  # integer ids, no weights: bitmaps pair
        else:
            has_ids = ("id" in sides()[0].types, "id" in sides()[1].types)
            weighted = any("weight" in f.types for f in sides())
            note = pairing_note(has_ids, weighted, sources)
            paired = None if note else paired_sums_sql(sides()[0].connection, sides(), metric)
        comparison = compare_levels(
            scans[0].splits,
            scans[1].splits,
            paired,
            metric=metric,
            humans=humans,
            unit=unit,
            sources=sources,
            notes=[note] if note else [],
        )
        if tags is not None:
            check_tags_usable(sources[1], metric, "id" in sides()[1].types)
            reviewed = tagged_ids(tags)
            outcomes = [_dev_outcomes_sql(file.connection, file, reviewed) for file in sides()]
            comparison.categories = what_fixed(tags, outcomes[1])
            note = tags_note(reviewed, outcomes[0], sources[0])
            comparison.notes += [note] if note else []
        if examined is not None:
            for source, file in zip(sources, sides(), strict=True):
                check_tags_usable(source, metric, "id" in file.types)
            first, second = sides()
            errors = [i for i, wrong in _dev_outcomes_sql(first.connection, first).items() if wrong]
            after_wrong = _dev_outcomes_sql(second.connection, second, errors)
            comparison.eyeball = eyeball_check(errors, after_wrong, examined, sources[0])
    return comparison


def paired_sums_from_bits(before: ScanResult, after: ScanResult) -> dict[str, PairedSums]:
    """Per split both scans have, the paired error counts from their id bitmaps (same range)."""
    if before.id_range is None:
        raise ValueError(f"{before.source}: scanned without id bitmaps, so it cannot pair by them")
    span = before.id_range[1] - before.id_range[0] + 1
    result: dict[str, PairedSums] = {}
    for split in SPLITS:
        if split not in before.id_bits or split not in after.id_bits:
            continue
        (present_b, wrong_b), (present_a, wrong_a) = before.id_bits[split], after.id_bits[split]
        shared = present_b & present_a
        shared[0] &= 0xFF >> (8 * shared.size - span)  # the leading bits are no ids
        wrong_before, wrong_after = wrong_b & shared, wrong_a & shared
        errors_before, errors_after = _count(wrong_before), _count(wrong_after)
        both = _count(np.bitwise_and(wrong_before, wrong_after, out=wrong_before))
        result[split] = PairedSums.of_errors(_count(shared), errors_before, errors_after, both)
    return result


def _count(bits: np.ndarray) -> int:
    """The number of set bits of a packed bitmap (popcounts of 64-bit words, then the tail)."""
    whole = bits.size // 8 * 8
    words = np.bitwise_count(bits[:whole].view(np.uint64)).sum(dtype=np.int64)
    return int(words + np.bitwise_count(bits[whole:]).sum(dtype=np.int64))


def paired_sums_sql(
    connection: duckdb.DuckDBPyConnection, files: Sequence[_File], metric: str
) -> dict[str, PairedSums]:
    """Per split both files have, the sums over the shared (split, id) pairs (a DuckDB join)."""
    numbers = [f.types["id"] in NUMBER_TYPES for f in files]
    keys = ["id", "id"]
    if not all(numbers):
        keys = ["CAST(id AS VARCHAR)"] * 2
        if any(numbers) and _all_numbers(connection, files[numbers.index(False)]):
            # text ids that all read as numbers (Parquet's '00001') pair with numeric ids
            keys = ["id" if number else "CAST(id AS DOUBLE)" for number in numbers]
    before, after = (f.rows(metric, key) for f, key in zip(files, keys, strict=True))
    parameters = {f.parameter: str(f.path) for f in files}
    joined = (
        "SELECT b.s, count(*) AS n, count(*) FILTER (WHERE a.loss < b.loss) AS improved, "
        "count(*) FILTER (WHERE a.loss > b.loss) AS worsened, "
        "sum(b.loss) AS before, sum(a.loss) AS after, "
        "sum(CAST(a.loss - b.loss AS DOUBLE) * (a.loss - b.loss)) AS diff2 "
        f"FROM ({before}) b JOIN ({after}) a ON b.s = a.s AND b.id = a.id GROUP BY b.s"
    )
    cursor = connection.execute(joined, parameters)
    names = [column[0] for column in cursor.description]
    result = {
        split: PairedSums(0, 0, 0, 0.0, 0.0, 0.0)
        for split in SPLITS
        if all(split in f.scan.splits for f in files)
    }
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        result[SPLITS[row["s"]]] = _paired_sums(row)
    return result


def _all_numbers(connection: duckdb.DuckDBPyConnection, file: _File) -> bool:
    """True when every id of ``file`` (a text column) reads as a number."""
    sql = f"SELECT count(*) FROM {file.source} WHERE TRY_CAST(id AS DOUBLE) IS NULL"
    row = connection.execute(sql, {file.parameter: str(file.path)}).fetchone()
    return row is not None and row[0] == 0


def _paired_sums(row: Mapping[str, Any]) -> PairedSums:
    """The sums of one joined split (a NULL sum, from no shared rows, is 0)."""
    return PairedSums(
        int(row["n"] or 0),
        int(row["improved"] or 0),
        int(row["worsened"] or 0),
        float(row["before"] or 0.0),
        float(row["after"] or 0.0),
        float(row["diff2"] or 0.0),
    )


def _dev_outcomes_sql(
    connection: duckdb.DuckDBPyConnection, file: _File, ids: Collection[str] | None = None
) -> dict[str, bool]:
    """The file's outcome (True: wrong) for each of ``ids`` found in its dev split (None: every
    dev id, keyed as written; a tagged whole number matches however it is written:
    :func:`~diagnostics.compare.canonical_id`)."""
    dev = f"FROM {file.source} WHERE {_split_code()} = {SPLITS.index('dev')}"
    if ids is None:
        sql = f"SELECT CAST(id AS VARCHAR) AS id, y_true <> y_pred AS wrong {dev}"
        rows = connection.execute(sql, {file.parameter: str(file.path)}).fetchall()
        return {str(i): bool(wrong) for i, wrong in rows}
    text = "CAST(id AS VARCHAR)"
    canonical = (
        f"CASE WHEN regexp_full_match(trim({text}), '{WHOLE_NUMBER_SQL}') "
        f"THEN CAST(CAST(trim({text}) AS DECIMAL(38, 0)) AS VARCHAR) ELSE {text} END"
    )
    sql = (
        f"SELECT * FROM (SELECT {canonical} AS id, y_true <> y_pred AS wrong {dev}) "
        "WHERE id IN (SELECT unnest($ids))"
    )
    wanted = list({canonical_id(i) for i in ids})
    rows = connection.execute(sql, {file.parameter: str(file.path), "ids": wanted}).fetchall()
    return outcomes_by_tag({str(i): bool(wrong) for i, wrong in rows}, ids)
