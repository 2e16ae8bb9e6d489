"""Benchmark: the app's Diagnose of a 10-million-row Parquet upload against the CLI's.

Issue 14's goal: one engine per job, so an upload diagnoses as fast in the app as on the
command line. The anchor is what ``diagnose FILE --json`` runs (the DuckDB scan and the
diagnosis, :func:`strategy_app.diagnose.service.diagnose_file`); ours are the app's two steps on
the same file, in the same process, alternating with the anchor:

- *upload*: :func:`~strategy_app.diagnose.service.accept_upload` (the scan's checks, the score
  column check, the bytes kept in the data folder, the state saved), then
- *diagnose*: :func:`~strategy_app.diagnose.service.compute` of the saved state (what the
  Diagnose page runs, before its cache).

Usage: ``python bench/app_diagnose.py [--rows N] [--repeat K]`` (default 10,000,000 rows, 5
alternating runs; medians printed as ratios against the anchor).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from the repository root

from bench.ingest import make_files
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, compute, diagnose_file
from strategy_app.store import open_store


def timed(function) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    """Alternate the CLI's diagnosis with the app's upload and diagnosis; print the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        make_files(folder, args.rows)
        path = folder / "predictions.parquet"
        data = path.read_bytes()
        cli, upload, diagnose = [], [], []
        for round_ in range(args.repeat):
            # a store of its own each round: the saved file's path is new, so the page's
            # diagnosis (cached per file) is computed, not found in the cache
            store = open_store(f"sqlite:///{folder / f'bench{round_}.db'}", folder / f"{round_}")
            project = store.projects.create("bench")
            cli.append(timed(lambda: diagnose_file(path)))
            upload.append(
                timed(partial(accept_upload, store, project.id, path.name, data, LOCAL_USER))
            )
            state = store.diagnose_state.load(project.id)
            diagnose.append(timed(partial(compute, store, state)))
            store.close()
    anchor = statistics.median(cli)
    duckdb = importlib.metadata.version("duckdb")
    load = os.getloadavg()[0]
    print(
        f"rows {args.rows:,}, {args.repeat} alternating runs (medians; DuckDB {duckdb}); "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"anchor: the CLI's diagnose FILE {anchor:.3f} s")
    for name, times in (("app upload (checks + save)", upload), ("app diagnose", diagnose)):
        median = statistics.median(times)
        print(f"{name}: {median:.3f} s = {median / anchor:.2f}x the CLI's diagnose")
    both = statistics.median([u + d for u, d in zip(upload, diagnose, strict=True)])
    print(f"app upload + diagnose: {both:.3f} s = {both / anchor:.2f}x the CLI's diagnose")


if __name__ == "__main__":
    main()
