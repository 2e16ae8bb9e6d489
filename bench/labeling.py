"""Benchmark: sampling 100 dev errors from 10M predictions vs a pandas filter + ``sample``.

Both sides start from the same validated predictions in memory (what the app and the CLI hold
after ingest) and return the same kind of table (id, labels, score of 100 dev errors). The
printed ratio is ours / pandas' (goal ≤ 1.0), the median of several runs in this process.
Run: ``python bench/labeling.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diagnostics.errors import sample_errors
from diagnostics.ingest import read_predictions

REPEATS = 7


def make_file(rows: int, folder: Path) -> Path:
    """A Parquet predictions file: 10 classes, 1/4 dev, about 10% wrong."""
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, rows)
    wrong = rng.random(rows) < 0.1
    y_pred = np.where(wrong, (y_true + rng.integers(1, 10, rows)) % 10, y_true)
    split = pa.DictionaryArray.from_arrays(
        pa.array(rng.integers(0, 4, rows).astype(np.int32)),
        pa.array(["train", "train_dev", "dev", "test"]),
    )
    table = pa.table(
        {
            "id": np.arange(rows),
            "split": split,
            "y_true": y_true,
            "y_pred": y_pred,
            "score": rng.random(rows),
        }
    )
    path = folder / "predictions.parquet"
    pq.write_table(table, path)
    return path


def median_seconds(function) -> float:
    """Median wall time of ``function()`` over REPEATS runs (after one warm-up)."""
    function()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Build the file, load it once, time both samplers and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as folder:
        predictions = read_predictions(make_file(rows, Path(folder)))
    frame = predictions.frame

    def ours():
        return sample_errors(predictions, 100, seed=1)

    def pandas_anchor():
        errors = frame[(frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])]
        return errors.sample(100, random_state=1)[["id", "y_true", "y_pred", "score"]]

    assert len(ours()) == len(pandas_anchor()) == 100
    mine, anchor = median_seconds(ours), median_seconds(pandas_anchor)
    print(f"labeling: sample 100 dev errors from {rows:,} predictions")
    print(f"  anchor pandas {pd.__version__}: boolean filter + sample   {anchor * 1000:8.1f} ms")
    print(f"  diagnostics.errors.sample_errors                 {mine * 1000:8.1f} ms")
    print(f"  ratio ours/pandas = {mine / anchor:.2f} (goal ≤ 1.0)")


if __name__ == "__main__":
    main()
