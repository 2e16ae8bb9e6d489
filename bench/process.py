"""Benchmark: whole processes, start-up included: ``diagnose``, ``compare``, ``--help``, a bad flag.

What a user waits for at the shell is the whole process: the interpreter's start, the imports,
the work and the exit. Each contender here is one fresh ``python`` process, timed from outside
(wall clock of ``subprocess.run``, and the child's CPU seconds beside it, which a busy shared
machine moves less); the contenders take turns, round after round, so a change in
the machine's load falls on all of them alike. Best of ``--repeat`` rounds, with the spread
(slowest run) beside it.

Files (made once, kept in ``bench/out/process/``, git-ignored): BEFORE and AFTER as in
``bench/compare.py``: 10M rows (id, split at 97/1/1/1, y_true/y_pred with 10 classes and ~5%
errors, a float32 score); AFTER has the same ids, 40% of the errors fixed, 1% of the right
answers broken.

Contenders:

- ``python -c pass``: the interpreter alone, the floor every process pays;
- ``--help`` and a bad flag (``diagnose --no-such-flag``): ``python -m strategy_app``;
- ``diagnose BEFORE --json``: the waterfall of a 10M-row Parquet file;
- ``compare BEFORE AFTER --json``: both files, paired on their ids;
- anchors doing the same work as ``diagnose`` in their own process: DuckDB (``import duckdb``,
  one SQL query of the per-split error rates and counts) and polars (lazy scan + group_by).

Usage: ``python bench/process.py [--rows N] [--repeat K]``. Goals (issue 32): ``diagnose`` ≤ 2×
DuckDB's whole process; ``--help`` and a bad flag ≤ 0.3 s beyond ``python -c pass``; ``compare``
≤ 1.5× one ``diagnose``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "process"
DUCKDB = (
    'import duckdb, sys; print(duckdb.sql("SELECT split, avg(CAST(y_true <> y_pred AS DOUBLE)), '
    'count(*) FROM read_parquet(\'" + sys.argv[1] + "\') GROUP BY split").fetchall())'
)
POLARS = (
    "import polars as pl, sys; e = (pl.col('y_true') != pl.col('y_pred')).cast(pl.Float64); "
    "print(pl.scan_parquet(sys.argv[1]).group_by('split').agg(e.mean(), pl.len()).collect())"
)


def files(rows: int) -> tuple[Path, Path]:
    """BEFORE and AFTER with ``rows`` rows, made by ``bench/compare.py``'s generator if absent."""
    folder = OUT / f"{rows}"
    before, after = folder / "before.parquet", folder / "after.parquet"
    if not (before.is_file() and after.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        make = ROOT / "bench" / "compare.py"
        subprocess.run(
            [sys.executable, str(make), "--make", "--folder", str(folder), "--rows", str(rows)],
            check=True,
        )
        print(f"made {rows:,}-row files in {time.perf_counter() - start:.1f} s")
    return before, after


def contenders(before: Path, after: Path) -> dict[str, list[str]]:
    """Name → the command line of each contender (every one a fresh interpreter)."""
    python, app = sys.executable, [sys.executable, "-m", "strategy_app"]
    return {
        "python -c pass": [python, "-c", "pass"],
        "--help": [*app, "--help"],
        "bad flag": [*app, "diagnose", "--no-such-flag"],
        "diagnose": [*app, "diagnose", str(before), "--json"],
        "compare": [*app, "compare", str(before), str(after), "--json"],
        "duckdb": [python, "-c", DUCKDB, str(before)],
        "polars": [python, "-c", POLARS, str(before)],
    }


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds of one process, from spawn to exit, and its CPU seconds (user + system, all
    its threads); its output is discarded."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 2):  # 2: the bad flag, refused on purpose
        raise RuntimeError(f"{command} failed:\n{done.stderr.decode()}")
    return seconds, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def version(library: str) -> str:
    """Installed version of a library, or 'not installed'."""
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> None:
    """Make the files, run the contenders in turns, print the table, the ratios and the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    before, after = files(args.rows)
    commands = contenders(before, after)
    for command in commands.values():  # one warm-up each: the files and libraries in the cache
        run_once(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            wall, used = run_once(command)
            times[name].append(wall)
            cpu[name].append(used)
    best = {name: min(runs) for name, runs in times.items()}
    load = os.getloadavg()[0]
    print(
        f"Python {sys.version.split()[0]}; duckdb {version('duckdb')}, polars {version('polars')}; "
        f"{args.rows:,} rows; best of {args.repeat} rounds (spread: slowest); "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'process':<16}{'best s':>8}{'slowest s':>11}{'cpu s':>8}")
    for name, runs in times.items():
        print(f"{name:<16}{min(runs):>8.3f}{max(runs):>11.3f}{min(cpu[name]):>8.3f}")
    floor = best["python -c pass"]
    ratios = {
        "diagnose / duckdb process": (best["diagnose"] / best["duckdb"], 2.0),
        "diagnose / polars process": (best["diagnose"] / best["polars"], None),
        "compare / diagnose": (best["compare"] / best["diagnose"], 1.5),
    }
    print("Ratios and goals:")
    for label, (value, goal) in ratios.items():
        verdict = f" (goal ≤ {goal}×: {'met' if value <= goal else 'NOT met'})" if goal else ""
        print(f"  {label}: {value:.2f}×{verdict}")
    for name in ("--help", "bad flag"):
        beyond = best[name] - floor
        verdict = "met" if beyond <= 0.3 else "NOT met"
        print(f"  {name}: {beyond:.3f} s beyond python -c pass (goal ≤ 0.3 s: {verdict})")
    print(
        "  CPU (user + system, best run): diagnose / duckdb "
        f"{min(cpu['diagnose']) / min(cpu['duckdb']):.2f}×, compare / diagnose "
        f"{min(cpu['compare']) / min(cpu['diagnose']):.2f}×"
    )


if __name__ == "__main__":
    main()
