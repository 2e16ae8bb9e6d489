"""Benchmark: reading and diagnosing a 10-million-row predictions file, against anchors.

Generates a predictions file (id, split at 97/1/1/1, y_true/y_pred with 10 classes and ~5%
errors, a float32 score) as Parquet and CSV in a temporary folder, then runs every contender in
its own child process, so each peak RSS (``resource.getrusage`` in the child, interpreter and
imports included) is its own. The files are made in a child too: a child's peak RSS starts at
its parent's size, so the parent stays small. Wall time covers the work only, not the
interpreter's start; CPU seconds (user + system) are printed beside it, since on a shared,
busy machine they move less than wall time does.

Contenders: (a) pyarrow's reader alone, (b) the naive pandas path (read + groupby), (c) DuckDB
SQL over the file, (d) polars (lazy scan + group_by), (e) ours: what ``diagnose FILE`` runs,
``scan_split_metrics`` (one DuckDB query for the sums and every check), then the full diagnosis
with intervals, (f) exact: ``read_predictions`` (pyarrow, every check with its precise message,
the path the scan falls back to when a check fails), then the same diagnosis. CSV only, the
issue 32 measurements: (g) ``polars+duckdb``, polars' parser streaming the CSV's columns (typed
as DuckDB's sniffer types them, the others as text so that a row with extra fields is refused)
as Arrow batches into the very query of (e), checks included; (h) ``polars+checks``, an
anchor: polars alone doing, in one lazy pass, the checks that apply to this file (empty,
non-finite, inexact or fractional labels, empty ids, ids repeated within a split, rows missing
fields) beside the error counts, the price of the checks in polars' own engine. Each runs
``--repeat`` times (best kept); the load average is printed, since the machine may be shared.

Usage: ``python bench/ingest.py [--rows N] [--repeat K] [--format parquet|csv]`` (anchors:
``pip install -r bench/requirements.txt``). Goals (issue 32): Parquet within 1.5x DuckDB's time;
CSV within 1.0x polars' time; peak memory under polars'.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = (
    "pyarrow", "pandas", "duckdb", "polars", "ours", "exact", "polars+duckdb", "polars+checks"
)  # fmt: skip
CSV_ONLY = ("polars+duckdb", "polars+checks")
LIBRARY = {"pyarrow": "pyarrow", "pandas": "pandas", "duckdb": "duckdb", "polars": "polars"}
FORMATS = ("parquet", "csv")


def make_files(folder: Path, rows: int) -> None:
    """Write the synthetic predictions file as ``predictions.parquet`` and ``.csv``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    split_codes = rng.choice(4, size=rows, p=[0.97, 0.01, 0.01, 0.01]).astype(np.int8)
    y_true = rng.integers(0, 10, size=rows, dtype=np.int64)
    wrong = rng.random(rows) < 0.05
    y_pred = np.where(wrong, (y_true + rng.integers(1, 10, size=rows)) % 10, y_true)
    table = pa.table(
        {
            "id": np.arange(rows, dtype=np.int64),
            "split": pa.DictionaryArray.from_arrays(
                split_codes, ["train", "train_dev", "dev", "test"]
            ).cast(pa.string()),
            "y_true": y_true,
            "y_pred": y_pred,
            "score": rng.random(rows, dtype=np.float32),
        }
    )
    pq.write_table(table, folder / "predictions.parquet")
    pacsv.write_csv(table, folder / "predictions.csv")


def contender(name: str, path: Path, fmt: str):
    """Run one contender on one file; returns a small summary so nothing is optimized away."""
    if name == "pyarrow":
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).num_rows
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path).num_rows
    if name == "pandas":
        import pandas as pd

        frame = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, engine="c")
        errors = (frame["y_true"] != frame["y_pred"]).groupby(frame["split"]).agg(["mean", "size"])
        return errors.to_dict()
    if name == "duckdb":
        import duckdb

        reader = "read_parquet" if fmt == "parquet" else "read_csv"
        query = (
            "SELECT split, avg(CAST(y_true <> y_pred AS DOUBLE)), count(*) "
            f"FROM {reader}('{path}') GROUP BY split"
        )
        return duckdb.sql(query).fetchall()
    if name == "polars":
        import polars as pl

        scan = pl.scan_parquet(path) if fmt == "parquet" else pl.scan_csv(path)
        error = (pl.col("y_true") != pl.col("y_pred")).cast(pl.Float64)
        result = scan.group_by("split").agg(error.mean(), pl.len()).collect()
        return result.to_dicts()
    if name == "ours":
        from diagnostics.fastscan import scan_split_metrics
        from diagnostics.waterfall import HumanLevel, diagnose

        scan = scan_split_metrics(path)  # what `diagnose FILE` runs
        assert scan.engine == "duckdb", "the scan fell back to the exact path"
        return diagnose(scan.splits, [HumanLevel("human", 0.01)], metric=scan.metric).to_dict()
    if name == "polars+checks":
        return polars_with_checks(path)
    if name == "polars+duckdb":
        return polars_then_checks(path)
    if name == "exact":
        from diagnostics.ingest import read_predictions
        from diagnostics.waterfall import HumanLevel, diagnose_predictions

        predictions = read_predictions(path, metrics_only=True)
        return diagnose_predictions(predictions, [HumanLevel("human", 0.01)]).to_dict()
    raise ValueError(name)


def polars_with_checks(path: Path) -> list[dict]:
    """(h): per split, the error count and counters of the checks that apply to the bench's file,
    in one lazy polars pass (the text checks of text columns do not apply to it)."""
    import polars as pl

    def inexact(label: str) -> pl.Expr:  # empty, non-finite, beyond 2**53 or a fraction
        value = pl.col(label)
        return (value.is_null() | ~(value.abs() < 2.0**53) | (value != value.round())).sum()

    # the file's columns in order; score, unused, as text (a row missing fields leaves it empty)
    schema = {
        "id": pl.Int64, "split": pl.String, "y_true": pl.Float64, "y_pred": pl.Float64,
        "score": pl.String,
    }  # fmt: skip
    checks = [
        pl.len().alias("n"),
        (pl.col("y_true") != pl.col("y_pred")).sum().alias("errors"),
        inexact("y_true").alias("trouble_y_true"),
        inexact("y_pred").alias("trouble_y_pred"),
        pl.col("id").null_count().alias("trouble_id"),
        (pl.len() - pl.col("id").n_unique()).alias("repeated_ids"),
        pl.col("score").null_count().alias("missing_fields"),
    ]
    scan = pl.scan_csv(path, schema=schema).group_by("split").agg(checks)
    return scan.collect(engine="streaming").to_dicts()


def polars_then_checks(path: Path) -> dict:
    """(g): polars parses the CSV into Arrow batches, DuckDB runs ``diagnose``'s query on them.

    The column types are DuckDB's sniffer's, as in the scan (integers as Int64, doubles and the
    labels read as doubles as Float64); every other column is read as text, so that polars
    refuses a row with more fields than the header (it ignores them in a column it skips).
    """
    import duckdb
    import polars as pl
    import pyarrow as pa

    from diagnostics import fastscan

    number = {"BIGINT": pl.Int64, "DOUBLE": pl.Float64, fastscan.WHOLE_DOUBLE: pl.Float64}
    newest = pl.CompatLevel.newest()
    with duckdb.connect(":memory:") as connection:
        _, types, _ = fastscan._source(path, connection)
        check = fastscan._id_check(path, types, None, sliced=False)
        query = fastscan._Query(types, None, None, True, check)
        schema = {column: number.get(kind, pl.String) for column, kind in types.items()}
        frames = pl.scan_csv(path, schema=schema).collect_batches()
        batches = (b for frame in frames for b in frame.to_arrow(compat_level=newest).to_batches())
        arrow_schema = pl.DataFrame(schema=schema).to_arrow(compat_level=newest).schema
        connection.register("batches", pa.RecordBatchReader.from_batches(arrow_schema, batches))
        cursor = connection.execute(query.sql("batches"))
        names = [column[0] for column in cursor.description]
        groups = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return query.result(groups, path.name).splits


def load() -> str:
    """The 1-minute load average and the core count, printed beside the figures."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def run_child(name: str, path: Path, fmt: str) -> None:
    """In the child: import the contender's library, time the work, print time and peak RSS."""
    if name in LIBRARY or name == "polars+checks":
        __import__(LIBRARY.get(name, "polars"))
    else:
        sys.path.insert(0, str(ROOT))
        import diagnostics.fastscan
        import diagnostics.waterfall  # noqa: F401

        if name == "polars+duckdb":
            __import__("polars")
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    contender(name, path, fmt)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak_mb = after.ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb}))


def measure(name: str, path: Path, fmt: str, repeat: int) -> dict | None:
    """Best time and lowest peak RSS of ``repeat`` child runs; None when the library is absent."""
    runs = []
    for _ in range(repeat):
        child = subprocess.run(
            [sys.executable, __file__, "--child", name, "--file", str(path), "--format", fmt],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            if "ModuleNotFoundError" in child.stderr:
                return None
            raise RuntimeError(f"{name} on {fmt} failed:\n{child.stderr}")
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return {
        "seconds": min(r["seconds"] for r in runs),
        "cpu": min(r["cpu"] for r in runs),
        "peak_mb": min(r["peak_mb"] for r in runs),
    }


def version(library: str) -> str:
    """Installed version of a library, or 'not installed'."""
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def ratio(value: float, anchor: dict | None, key: str) -> str:
    """``value / anchor[key]`` formatted as ``1.23x``, or ``—`` without the anchor."""
    return f"{value / anchor[key]:.2f}x" if anchor else "—"


def main() -> None:
    """Generate the files, run every contender, print one table and the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", choices=FORMATS, help="only this format (default: both)")
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.file, args.format)
        return
    formats = (args.format,) if args.format else FORMATS
    if args.make:
        make_files(args.make, args.rows)
        return

    versions = ", ".join(f"{lib} {version(lib)}" for lib in LIBRARY.values())
    print(f"Python {sys.version.split()[0]}; {versions}; {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        start = time.perf_counter()
        command = [sys.executable, __file__, "--make", folder, "--rows", str(args.rows)]
        subprocess.run(command, check=True)
        paths = {
            "parquet": Path(folder, "predictions.parquet"),
            "csv": Path(folder, "predictions.csv"),
        }
        sizes = {fmt: path.stat().st_size / 2**20 for fmt, path in paths.items()}
        print(
            f"{args.rows:,} rows: Parquet {sizes['parquet']:.0f} MB, CSV {sizes['csv']:.0f} MB "
            f"(made in {time.perf_counter() - start:.1f} s); best of {args.repeat} runs"
        )
        results = {
            (fmt, name): measure(name, paths[fmt], fmt, args.repeat)
            for fmt in formats
            for name in CONTENDERS
            if fmt == "csv" or name not in CSV_ONLY
        }
    print(f"measured at {load()}")
    header = (
        f"{'format':<8}{'contender':<15}{'time s':>8}{'cpu s':>7}{'peak MB':>9}"
        f"{'t/duckdb':>10}{'t/polars':>10}{'t/pandas':>10}{'mem/polars':>12}"
    )
    print(header)
    print("-" * len(header))
    for (fmt, name), result in results.items():
        if result is None:
            print(f"{fmt:<8}{name:<15}{'not installed':>17}")
            continue
        t, mb = result["seconds"], result["peak_mb"]
        print(
            f"{fmt:<8}{name:<15}{t:>8.2f}{result['cpu']:>7.2f}{mb:>9.0f}"
            f"{ratio(t, results[(fmt, 'duckdb')], 'seconds'):>10}"
            f"{ratio(t, results[(fmt, 'polars')], 'seconds'):>10}"
            f"{ratio(t, results[(fmt, 'pandas')], 'seconds'):>10}"
            f"{ratio(mb, results[(fmt, 'polars')], 'peak_mb'):>12}"
        )
    print("Goals (issue 32):")
    for fmt in formats:
        ours, polars = results[(fmt, "ours")], results[(fmt, "polars")]
        anchor, limit = ("duckdb", 1.5) if fmt == "parquet" else ("polars", 1.0)
        if results[(fmt, anchor)]:
            t = ours["seconds"] / results[(fmt, anchor)]["seconds"]
            cpu = ratio(ours["cpu"], results[(fmt, anchor)], "cpu")
            print(
                f"  {fmt} time ≤ {limit}x {anchor} {version(anchor)}: {t:.2f}x (CPU {cpu}) "
                f"{'met' if t <= limit else 'NOT met'}"
            )
        if polars:
            m = ours["peak_mb"] / polars["peak_mb"]
            print(f"  {fmt} peak memory < polars: {m:.2f}x {'met' if m < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
