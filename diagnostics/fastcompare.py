"""The fast comparison of two predictions files: DuckDB scans, then one paired query.

:func:`compare_files` is what ``compare BEFORE AFTER`` runs. Each file is first diagnosed by
:func:`~diagnostics.fastscan.scan_split_metrics` (every check of the exact reader, the levels
with their intervals); then one DuckDB query pairs the rows on (split, id) and returns, per
split, the sufficient statistics of :class:`~diagnostics.paired.PairedSums` (shared examples,
improved, worsened, both sides' loss sums, Σ squared differences). When both files hold the
same number of rows the query first tries them row by row (a positional join: no hash table,
streaming): if every row has the same split and id on both sides, that *is* the join on
(split, id), since ids are unique within a split; otherwise (or when the row counts differ) a
hash join on (split, id) runs.

Whenever a scan took the exact path (something to refuse or check precisely), or DuckDB cannot
run the paired query, both files are read by :func:`~diagnostics.ingest.read_predictions` and
:func:`diagnostics.compare.compare` decides, so messages and numbers are those of the exact
path. The file paths are bound parameters; column names never come from user text.
Speed and memory: ``bench/compare.py``.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

import duckdb

from diagnostics.compare import (
    Comparison,
    check_comparable,
    check_tags_usable,
    compare,
    compare_levels,
    pairing_note,
    tagged_ids,
    what_fixed,
)
from diagnostics.fastscan import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    MEMORY_LIMIT,
    ScanResult,
    _source,
    _split_code,
    scan_split_metrics,
)
from diagnostics.ingest import read_predictions
from diagnostics.paired import PairedSums
from diagnostics.splitnames import SPLITS
from diagnostics.tags import TagTable
from diagnostics.waterfall import HumanLevel

NUMBER_TYPES = INTEGER_TYPES + FLOAT_TYPES
SUM_COLUMNS = ("n", "improved", "worsened", "before", "after", "diff2")


class _File:
    """One side of the comparison: its path, scan, DuckDB source and column types."""

    def __init__(self, path: Path, scan: ScanResult, parameter: str, connection):
        self.path, self.scan, self.parameter = path.resolve(), scan, parameter
        source, self.types, _ = _source(self.path, connection)
        self.source = source.replace("$path", f"${parameter}")

    def rows(self, metric: str, id_as_text: bool) -> str:
        """SQL: split code, id and per-row loss of every row."""
        difference = "(CAST(y_pred AS DOUBLE) - CAST(y_true AS DOUBLE))"
        loss = {
            "error": "CAST(y_true <> y_pred AS TINYINT)",
            "mae": f"abs{difference}",
            "rmse": f"({difference} * {difference})",
        }[metric]
        key = "CAST(id AS VARCHAR)" if id_as_text else "id"
        return (
            f"SELECT CAST({_split_code()} AS TINYINT) AS s, {key} AS id, {loss} AS loss "
            f"FROM {self.source}"
        )


def scan_both(
    before: str | os.PathLike,
    after: str | os.PathLike,
    *,
    metric: str | None = None,
    display_names: tuple[str | None, str | None] = (None, None),
) -> tuple[ScanResult, ScanResult]:
    """Diagnose-scan both files and refuse them when their metrics differ.

    A caller that parses typed human levels in the files' metric scans first, then passes the
    scans to :func:`compare_files`.
    """
    scans = tuple(
        scan_split_metrics(path, metric=metric, display_name=name)
        for path, name in zip((before, after), display_names, strict=True)
    )
    check_comparable(scans[0].metric, scans[1].metric, (scans[0].source, scans[1].source))
    return scans


def compare_files(
    before: str | os.PathLike,
    after: str | os.PathLike,
    humans: Sequence[HumanLevel] = (),
    *,
    metric: str | None = None,
    unit: str = "",
    tags: TagTable | None = None,
    display_names: tuple[str | None, str | None] = (None, None),
    scans: tuple[ScanResult, ScanResult] | None = None,
) -> Comparison:
    """Compare two predictions files (BEFORE, AFTER): the same result as the exact path.

    Same refusals as :func:`~diagnostics.ingest.read_predictions` for each file, and those of
    :func:`~diagnostics.compare.compare`. ``tags`` are the tags of BEFORE's dev errors;
    ``scans`` are :func:`scan_both` of the same files and arguments, when already made.
    """
    paths = (Path(before), Path(after))
    if scans is None:
        scans = scan_both(*paths, metric=metric, display_names=display_names)
    if all(scan.engine == "duckdb" for scan in scans):
        try:
            return _fast(paths, scans, humans, unit, tags)
        except (duckdb.Error, OSError):
            pass
    sides = [
        read_predictions(path, metric=metric, display_name=name)
        for path, name in zip(paths, display_names, strict=True)
    ]
    return compare(*sides, humans, unit=unit, tags=tags)


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET enable_progress_bar = false")
    return connection


def _fast(paths, scans, humans, unit, tags) -> Comparison:
    metric = scans[0].metric
    with _connect() as connection:
        files = [
            _File(path, scan, name, connection)
            for path, scan, name in zip(paths, scans, ("before", "after"), strict=True)
        ]
        sources = (scans[0].source, scans[1].source)
        has_ids = tuple("id" in f.types for f in files)
        weighted = any("weight" in f.types for f in files)
        note = pairing_note(has_ids, weighted, sources)
        paired = None if note else paired_sums_sql(connection, files, metric)
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
            check_tags_usable(sources[1], metric, has_ids[1])
            outcomes = _dev_outcomes_sql(connection, files[1], tagged_ids(tags))
            comparison.categories = what_fixed(tags, outcomes)
    return comparison


def paired_sums_sql(connection, files: Sequence[_File], metric: str) -> dict[str, PairedSums]:
    """Per split both files have, the sums over the shared (split, id) pairs (DuckDB)."""
    id_as_text = not all(f.types["id"] in NUMBER_TYPES for f in files)
    before, after = (f.rows(metric, id_as_text) for f in files)
    parameters = {f.parameter: str(f.path) for f in files}
    aggregates = (
        "count(*) AS n, count(*) FILTER (WHERE a.loss < b.loss) AS improved, "
        "count(*) FILTER (WHERE a.loss > b.loss) AS worsened, "
        "sum(b.loss) AS before, sum(a.loss) AS after, "
        "sum(CAST(a.loss - b.loss AS DOUBLE) * (a.loss - b.loss)) AS diff2"
    )
    groups = None
    if files[0].scan.rows == files[1].scan.rows:
        positional = (
            f"SELECT b.s, {aggregates}, count(*) FILTER (WHERE b.s <> a.s OR b.id <> a.id) "
            f"AS unmatched FROM ({before}) b POSITIONAL JOIN ({after}) a GROUP BY b.s"
        )
        rows = _fetch(connection, positional, parameters)
        if not any(row["unmatched"] for row in rows):
            groups = rows
    if groups is None:
        joined = (
            f"SELECT b.s, {aggregates} FROM ({before}) b JOIN ({after}) a "
            "ON b.s = a.s AND b.id = a.id GROUP BY b.s"
        )
        groups = _fetch(connection, joined, parameters)
    splits = {f: set(f.scan.splits) for f in files}
    result = {
        split: PairedSums(0, 0, 0, 0.0, 0.0, 0.0)
        for split in SPLITS
        if all(split in s for s in splits.values())
    }
    for row in groups:
        split = SPLITS[row["s"]]
        result[split] = PairedSums(*(_number(row[c], c) for c in SUM_COLUMNS))
    return result


def _number(value, column: str):
    if column in ("n", "improved", "worsened"):
        return int(value or 0)
    return float(value or 0.0)


def _fetch(connection, sql: str, parameters: dict) -> list[dict]:
    cursor = connection.execute(sql, parameters)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _dev_outcomes_sql(connection, file: _File, ids: Collection[str]):
    """AFTER's outcome (True: wrong) for each tagged id found in its dev split."""
    sql = (
        f"SELECT CAST(id AS VARCHAR) AS id, y_true <> y_pred AS wrong FROM {file.source} "
        f"WHERE {_split_code()} = {SPLITS.index('dev')} "
        "AND CAST(id AS VARCHAR) IN (SELECT unnest($ids))"
    )
    rows = connection.execute(sql, {file.parameter: str(file.path), "ids": list(ids)}).fetchall()
    return {str(i): bool(wrong) for i, wrong in rows}
