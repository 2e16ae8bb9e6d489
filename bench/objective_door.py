"""Benchmark: the search's objective doors (issue 26).

1. The command door's overhead. The same training (``bench/objective_trial.py``: NumPy
   softmax regression, its iterations calibrated to about 2 s here) runs as trials of a real
   search twice: called in process (``run_search(objective, ...)``, the anchor) and as a script
   through ``--command`` (a fresh interpreter per trial, progress lines read from stdout, its
   CSV read back). Printed: the median trial duration of each and their ratio. Goal ≤ 1.1×.
2. Scoring one trial's predictions: a 1,000,000-row predictions frame (10 classes, ~8% wrong,
   splits 60/10/15/15) scored by ``score_predictions`` (the checks plus the waterfall of
   Diagnose). Anchor: ``diagnostics.api.diagnose`` on the same frame (Diagnose alone).
   Printed: seconds of each and the ratio. Goal ≤ 0.2 s.

Usage: ``python bench/objective_door.py [--trials K] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from objective_trial import train  # noqa: E402
from timing import median_seconds  # noqa: E402

from diagnostics import run_search  # noqa: E402
from diagnostics.api import diagnose  # noqa: E402
from diagnostics.search.objective import score_predictions  # noqa: E402
from diagnostics.search.script import CommandObjective  # noqa: E402

SPACE = {"lr": {"type": "uniform", "low": 0.5, "high": 1.0}}


def calibrate(seconds: float) -> int:
    """Iterations of the training that take about ``seconds`` here."""
    start = time.perf_counter()
    train(0.5, 50)
    per_iteration = (time.perf_counter() - start) / 50
    return max(50, round(seconds / per_iteration))


def trial_seconds(objective, trials: int, iterations: int) -> float:
    """The median duration of ``trials`` trials of a real search over ``objective``."""
    with tempfile.TemporaryDirectory() as folder:
        result = run_search(
            objective,
            space=SPACE,
            data_dir=folder,
            trials=trials,
            sampler="random",
            pruner="none",
        )
    return statistics.median(t["duration_s"] for t in result["trials"])


def door_overhead(trials: int, seconds: float) -> None:
    """Print the command door's trial time against the same training in process."""
    iterations = calibrate(seconds)

    def in_process(params, context):
        return pd.DataFrame(train(params["lr"], iterations, progress=context.report))

    command = CommandObjective.parse(
        f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'objective_trial.py'))} "
        f"--lr {{lr}} --iterations {iterations} --out {{predictions}}"
    )
    anchor = trial_seconds(in_process, trials, iterations)
    door = trial_seconds(command, trials, iterations)
    print(f"Command door: {trials} trials of {iterations} iterations each")
    print(f"  anchor, the same training called in process: {anchor:.2f} s per trial")
    print(f"  --command (a script per trial):              {door:.2f} s per trial")
    print(f"  ratio: {door / anchor:.2f}x  (goal <= 1.10x)")


def scoring(rows: int) -> None:
    """Print the seconds to score one trial's ``rows`` predictions against Diagnose alone."""
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, rows)
    wrong = rng.random(rows) < 0.08
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "split": np.array(["train", "train_dev", "dev", "test"])[
                rng.choice(4, size=rows, p=[0.6, 0.1, 0.15, 0.15])
            ],
            "y_true": y_true,
            "y_pred": np.where(wrong, (y_true + 1) % 10, y_true),
        }
    )
    anchor = median_seconds(lambda: diagnose(frame), repeats=5)
    scored = median_seconds(lambda: score_predictions(frame), repeats=5)
    print(f"Scoring one trial's {rows:,} predictions (median of 5)")
    print(f"  anchor, diagnostics.api.diagnose (Diagnose alone): {anchor:.3f} s")
    print(f"  score_predictions (checks + the same waterfall):   {scored:.3f} s")
    print(f"  ratio: {scored / anchor:.2f}x; absolute {scored:.3f} s (goal <= 0.2 s)")


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    versions = {p: importlib.metadata.version(p) for p in ("optuna", "numpy", "pandas", "duckdb")}
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    door_overhead(args.trials, args.seconds)
    scoring(args.rows)


if __name__ == "__main__":
    main()
