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
the path the scan falls back to when a check fails), then the same diagnosis. Each runs
``--repeat`` times (best kept).

Usage: ``python bench/ingest.py [--rows N] [--repeat K]`` (anchors: ``pip install -r
bench/requirements.txt``). Goals: Parquet within 1.5x DuckDB's time and under polars' peak
memory; CSV at least 2x faster than the naive pandas path.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ("pyarrow", "pandas", "duckdb", "polars", "ours", "exact")
LIBRARY = {"pyarrow": "pyarrow", "pandas": "pandas", "duckdb": "duckdb", "polars": "polars"}


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
    if name == "exact":
        from diagnostics.ingest import read_predictions
        from diagnostics.waterfall import HumanLevel, diagnose_predictions

        predictions = read_predictions(path, metrics_only=True)
        return diagnose_predictions(predictions, [HumanLevel("human", 0.01)]).to_dict()
    raise ValueError(name)


def run_child(name: str, path: Path, fmt: str) -> None:
    """In the child: import the contender's library, time the work, print time and peak RSS."""
    if name in LIBRARY:
        __import__(LIBRARY[name])
    else:
        sys.path.insert(0, str(ROOT))
        import diagnostics.fastscan
        import diagnostics.waterfall  # noqa: F401
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
    parser.add_argument("--format", choices=("parquet", "csv"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.file, args.format)
        return
    if args.make:
        make_files(args.make, args.rows)
        return

    versions = ", ".join(f"{lib} {version(lib)}" for lib in LIBRARY.values())
    print(f"Python {sys.version.split()[0]}; {versions}")
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
            (fmt, name): measure(name, path, fmt, args.repeat)
            for fmt, path in paths.items()
            for name in CONTENDERS
        }
    header = (
        f"{'format':<8}{'contender':<10}{'time s':>8}{'cpu s':>7}{'peak MB':>9}"
        f"{'t/duckdb':>10}{'t/pandas':>10}{'mem/polars':>12}"
    )
    print(header)
    print("-" * len(header))
    for (fmt, name), result in results.items():
        if result is None:
            print(f"{fmt:<8}{name:<10}{'not installed':>17}")
            continue
        t, mb = result["seconds"], result["peak_mb"]
        print(
            f"{fmt:<8}{name:<10}{t:>8.2f}{result['cpu']:>7.2f}{mb:>9.0f}"
            f"{ratio(t, results[(fmt, 'duckdb')], 'seconds'):>10}"
            f"{ratio(t, results[(fmt, 'pandas')], 'seconds'):>10}"
            f"{ratio(mb, results[(fmt, 'polars')], 'peak_mb'):>12}"
        )
    ours_parquet, ours_csv = results[("parquet", "ours")], results[("csv", "ours")]
    duck, polars, pandas_csv = (
        results[("parquet", "duckdb")],
        results[("parquet", "polars")],
        results[("csv", "pandas")],
    )
    print("Goals:")
    if duck:
        t = ours_parquet["seconds"] / duck["seconds"]
        print(f"  Parquet time ≤ 1.5x DuckDB: {t:.2f}x {'met' if t <= 1.5 else 'NOT met'}")
    if polars:
        m = ours_parquet["peak_mb"] / polars["peak_mb"]
        print(f"  Parquet peak memory < polars: {m:.2f}x {'met' if m < 1 else 'NOT met'}")
    speedup = pandas_csv["seconds"] / ours_csv["seconds"]
    print(f"  CSV ≥ 2x faster than pandas: {speedup:.2f}x {'met' if speedup >= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
