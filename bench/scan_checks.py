"""Benchmark: where the Parquet scan's time goes against DuckDB, in one process, checks apart.

``diagnose FILE`` runs :func:`~diagnostics.fastscan.scan_split_metrics`: one DuckDB query for
the sums and every check the exact reader makes, then the estimates in Python. This bench
times, in the same process and taking turns (best of ``--repeat``, with the slowest beside it):

- ``duckdb``: the anchor, a bare DuckDB query of the per-split error rates and counts (what
  ``bench/ingest.py`` and ``bench/process.py`` time as DuckDB's work);
- ``checks``: the scan's own SQL for the file without its id column (every other check);
- ``checks + ids``: the scan's own queries exactly, the id check included (ids that are their
  row numbers plus an offset get a query of their own; the check's cost on its own is the
  difference with ``checks``);
- ``ours``: the whole scan (the file's description and metadata, the query, the estimates).

All run on the same file with the same DuckDB settings (threads, memory limit) as the scan.
The file: ``before.parquet`` of ``bench/process.py`` (10M rows: id, split, y_true, y_pred,
score), made there if absent.

Usage: ``python bench/scan_checks.py [--rows N] [--repeat K]``. Goal (issue 32): ours ≤ 1.5×
DuckDB with the same checks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from the repository root

import duckdb

from bench.process import files
from diagnostics import fastscan
from diagnostics.fastcompare import _connect as connection  # the scan's DuckDB settings

BARE = (
    "SELECT split, avg(CAST(y_true <> y_pred AS DOUBLE)), count(*) FROM read_parquet($path) "
    "GROUP BY split"
)


def scan_sql(path: Path, with_ids: bool) -> list[str]:
    """The scan's queries for the file, as ``_scan`` builds them, with or without the id column
    (and so its check, which ids that are their row numbers get as a query of its own)."""
    with connection() as con:
        source, types, metadata = fastscan._source(path, con)
    id_check = None
    if with_ids:
        id_check = fastscan._id_check(path, types, metadata, sliced=False)
    else:
        types = {c: kind for c, kind in types.items() if c != "id"}
    query = fastscan._Query(types, None, None, False, id_check)
    if query._row_offset_ids and not query.ids_apart:
        source = fastscan.PARQUET_SOURCE_WITH_ROW_NUMBERS
    return [query.sql(source), *([query.ids_sql()] if query.ids_apart else [])]


def main() -> None:
    """Time the four contenders in turns; print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    path = files(args.rows)[0].resolve()
    params = {"path": str(path)}
    checks, checks_ids = scan_sql(path, with_ids=False), scan_sql(path, with_ids=True)
    con = connection()
    contenders: dict[str, Callable[[], object]] = {
        "duckdb": lambda: con.execute(BARE, params).fetchall(),
        "checks": lambda: [con.execute(sql, params).fetchall() for sql in checks],
        "checks + ids": lambda: [con.execute(sql, params).fetchall() for sql in checks_ids],
        "ours": lambda: fastscan.scan_split_metrics(path),
    }
    assert fastscan.scan_split_metrics(path).engine == "duckdb", "the scan fell back"
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat + 1):  # the first round warms the file cache, not counted
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    best = {name: min(runs[1:]) for name, runs in times.items()}
    print(
        f"Python {sys.version.split()[0]}; duckdb {duckdb.__version__}; {args.rows:,} rows "
        f"Parquet; best of {args.repeat} turns (slowest beside); load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'contender':<14}{'best s':>8}{'slowest s':>11}{'/ duckdb':>10}")
    for name, runs in times.items():
        print(
            f"{name:<14}{best[name]:>8.3f}{max(runs[1:]):>11.3f}"
            f"{best[name] / best['duckdb']:>9.2f}×"
        )
    print(
        f"id check on its own: {best['checks + ids'] - best['checks']:+.3f} s; "
        f"ours / DuckDB with the same checks: {best['ours'] / best['checks + ids']:.2f}× "
        f"(goal ≤ 1.5×); ours / bare DuckDB: {best['ours'] / best['duckdb']:.2f}×"
    )


if __name__ == "__main__":
    main()
