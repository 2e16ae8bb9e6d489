"""Benchmark: ``diagnose`` of a 10M-row Parquet file on a local S3 server against the same file
on local disk, and the bytes the remote diagnosis reads against the file's size.

The file has the usual columns (id, split at 97/1/1/1, y_true/y_pred with 10 classes and ~5%
errors, a float32 score) and an ``input`` column of image paths, as an image model's predictions
do. The S3 server is moto's (``requirements-dev.txt``), on 127.0.0.1 in a subprocess, as in the
tests (``tests/s3.py``); the anchor is :func:`~diagnostics.fastscan.scan_split_metrics` of the
local copy, in the same process, alternating with the remote runs (median of ``--repeat``). A
second anchor separates the server's speed (moto is a Python server) from ours: pyarrow's own S3
reader fetching the four columns the diagnosis needs (``pq.read_table`` with its filesystem).

Usage: ``python bench/remote.py [--rows N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_file(path: Path, rows: int) -> None:
    """Write the synthetic predictions file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    split_codes = rng.choice(4, size=rows, p=[0.97, 0.01, 0.01, 0.01]).astype(np.int8)
    y_true = rng.integers(0, 10, size=rows, dtype=np.int64)
    wrong = rng.random(rows) < 0.05
    ids = pa.array(np.arange(rows, dtype=np.int64))
    table = pa.table(
        {
            "id": ids,
            "split": pa.DictionaryArray.from_arrays(
                split_codes, ["train", "train_dev", "dev", "test"]
            ).cast(pa.string()),
            "y_true": y_true,
            "y_pred": np.where(wrong, (y_true + rng.integers(1, 10, size=rows)) % 10, y_true),
            "score": rng.random(rows, dtype=np.float32),
            "input": pc.binary_join_element_wise("images/", pc.cast(ids, pa.string()), ".png", ""),
        }
    )
    pq.write_table(table, path, row_group_size=1 << 20)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import duckdb

    from diagnostics.fastscan import scan_split_metrics
    from diagnostics.formats import as_file
    from tests.s3 import BUCKET, start_s3

    with tempfile.TemporaryDirectory() as folder, start_s3() as s3:
        path = Path(folder) / "predictions.parquet"
        make_file(path, args.rows)
        location = s3.put("bench/predictions.parquet", path)
        os.environ.update(s3.environment(s3.reader))
        import pyarrow as pa
        import pyarrow.fs as pafs
        import pyarrow.parquet as pq

        pa_version = pa.__version__
        filesystem, key = pafs.FileSystem.from_uri(location)
        local_times, remote_times, direct_times, read = [], [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            local = scan_split_metrics(path)
            local_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            remote_file = as_file(location)
            remote = scan_split_metrics(remote_file)
            remote_times.append(time.perf_counter() - start)
            read.append(remote_file.files.bytes_read)
            assert remote.splits == local.splits and remote.engine == local.engine == "duckdb"
            start = time.perf_counter()
            pq.read_table(key, filesystem=filesystem, columns=["id", "split", "y_true", "y_pred"])
            direct_times.append(time.perf_counter() - start)
        size = path.stat().st_size
        local_s, remote_s = statistics.median(local_times), statistics.median(remote_times)
        print(f"file: {args.rows:,} rows, {size / 2**20:.1f} MiB Parquet, s3://{BUCKET} on moto")
        print(f"anchor: diagnose of the local file (DuckDB {duckdb.__version__}): {local_s:.3f} s")
        print(f"ours: diagnose of the s3:// location: {remote_s:.3f} s")
        direct_s = statistics.median(direct_times)
        print(f"ratio: {remote_s / local_s:.2f}x the local time (median of {args.repeat})")
        print(
            f"anchor 2: pyarrow {pa_version} S3 read of the 4 columns: "
            f"{direct_s:.3f} s; ours {remote_s / direct_s:.2f}x that"
        )
        print(
            f"bytes read: {max(read) / 2**20:.1f} MiB of {size / 2**20:.1f} MiB "
            f"({max(read) / size:.1%} of the file)"
        )


if __name__ == "__main__":
    main()
