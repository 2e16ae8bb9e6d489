"""Benchmark: comparing two 10-million-row Parquet predictions files, against diagnosing them.

Generates BEFORE (id, split at 97/1/1/1, y_true/y_pred with 10 classes and ~5% errors, a
float32 score, as ``bench/ingest.py``) and AFTER (the same ids and splits; 40% of the errors
fixed, 1% of the right answers broken), once in the same row order and once shuffled, as
Parquet in a temporary folder. Every contender runs in its own child process, so each peak RSS
(interpreter and imports included) is its own; wall time covers the work only, CPU seconds
(user + system) are printed beside it, since on a shared, busy machine they move less.

Anchor: our own ``scan_split_metrics`` of BEFORE and of AFTER in one child (what two
``diagnose FILE`` runs cost). Contenders: ``compare_files`` (what ``compare BEFORE AFTER``
runs: both scans and the paired counts, both waterfalls) on the files in the same order (one
pass over both files side by side, pairing by position), and on the shuffled AFTER (both scans
with the id bitmaps). Each runs ``--repeat`` times (best kept).

Usage: ``python bench/compare.py [--rows N] [--repeat K]``. Goal: compare ≤ 1.5× the two
scans together, peak memory < 500 MB.
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
CONTENDERS = ("diagnose both", "compare", "compare shuffled")


def make_files(folder: Path, rows: int) -> None:
    """Write ``before.parquet``, ``after.parquet`` and ``after_shuffled.parquet``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    codes = rng.choice(4, size=rows, p=[0.97, 0.01, 0.01, 0.01]).astype(np.int8)
    split = pa.DictionaryArray.from_arrays(codes, ["train", "train_dev", "dev", "test"])
    y_true = rng.integers(0, 10, size=rows, dtype=np.int64)
    wrong = rng.random(rows) < 0.05
    before = np.where(wrong, (y_true + rng.integers(1, 10, size=rows)) % 10, y_true)
    fixed = wrong & (rng.random(rows) < 0.4)
    broken = ~wrong & (rng.random(rows) < 0.01)
    after = np.where(fixed, y_true, np.where(broken, (y_true + 1) % 10, before))

    def table(y_pred):
        return pa.table(
            {
                "id": np.arange(rows, dtype=np.int64),
                "split": split.cast(pa.string()),
                "y_true": y_true,
                "y_pred": y_pred,
                "score": rng.random(rows, dtype=np.float32),
            }
        )

    pq.write_table(table(before), folder / "before.parquet")
    pq.write_table(table(after), folder / "after.parquet")
    pq.write_table(table(after).take(rng.permutation(rows)), folder / "after_shuffled.parquet")


def contender(name: str, folder: Path):
    """Run one contender; returns a small summary so nothing is optimized away."""
    from diagnostics.fastcompare import compare_files
    from diagnostics.fastscan import scan_split_metrics
    from diagnostics.waterfall import HumanLevel

    before = folder / "before.parquet"
    if name == "diagnose both":
        scans = [scan_split_metrics(path) for path in (before, folder / "after.parquet")]
        assert all(scan.engine == "duckdb" for scan in scans), "a scan fell back"
        return [scan.splits["dev"].value for scan in scans]
    after = folder / ("after.parquet" if name == "compare" else "after_shuffled.parquet")
    comparison = compare_files(before, after, [HumanLevel("human", 0.01)])
    dev = comparison.levels["dev"]
    assert dev.paired and dev.n_shared == dev.before.n, "not paired on every dev id"
    return comparison.to_dict()


def run_child(name: str, folder: Path) -> None:
    """In the child: import, time the work, print wall time, CPU time and peak RSS."""
    sys.path.insert(0, str(ROOT))
    import diagnostics.fastcompare  # noqa: F401

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    contender(name, folder)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": after.ru_maxrss / 1024}))


def measure(name: str, folder: Path, repeat: int) -> dict:
    """Best time, CPU time and lowest peak RSS of ``repeat`` child runs."""
    runs = []
    for _ in range(repeat):
        command = [sys.executable, __file__, "--child", name, "--folder", str(folder)]
        child = subprocess.run(command, capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{child.stderr}")
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return {key: min(run[key] for run in runs) for key in ("seconds", "cpu", "peak_mb")}


def main() -> None:
    """Generate the files, run the anchor and the contenders, print one table and the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.folder)
        return
    if args.make:
        make_files(args.folder, args.rows)
        return
    versions = ", ".join(
        f"{lib} {importlib.metadata.version(lib)}" for lib in ("duckdb", "pyarrow", "numpy")
    )
    print(f"Python {sys.version.split()[0]}; {versions}")
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as folder:
        folder = Path(folder)
        start = time.perf_counter()
        command = [sys.executable, __file__, "--make", "--folder", str(folder)]
        subprocess.run([*command, "--rows", str(args.rows)], check=True)
        size = (folder / "before.parquet").stat().st_size / 2**20
        print(
            f"{args.rows:,} rows a file: Parquet {size:.0f} MB each (made in "
            f"{time.perf_counter() - start:.1f} s); best of {args.repeat} runs"
        )
        results = {name: measure(name, folder, args.repeat) for name in CONTENDERS}
    anchor = results["diagnose both"]
    header = f"{'contender':<18}{'wall s':>8}{'× anchor':>10}{'CPU s':>8}{'× anchor':>10}"
    print(f"{header}{'peak MB':>9}")
    for name, result in results.items():
        print(
            f"{name:<18}{result['seconds']:>8.2f}{result['seconds'] / anchor['seconds']:>9.2f}x"
            f"{result['cpu']:>8.2f}{result['cpu'] / anchor['cpu']:>9.2f}x"
            f"{result['peak_mb']:>9.0f}"
        )
    print(
        "anchor: scan_split_metrics of BEFORE and of AFTER (two `diagnose` scans, DuckDB "
        f"{importlib.metadata.version('duckdb')}); goal: compare ≤ 1.50x, peak < 500 MB"
    )


if __name__ == "__main__":
    main()
