"""Benchmark: the search's objective doors (issue 26).

1. The command door's overhead. The same training (``bench/objective_trial.py``: NumPy
   softmax regression, its iterations calibrated so the whole warm training takes about 2 s
   here) runs as trials of a real search: called in process (``run_search(objective, ...)``,
   the anchor: it reports and asks ``should_prune`` at each progress step, as the door does
   for each progress line) and as a script through ``--command`` (a fresh interpreter per
   trial, progress lines read from stdout, its CSV read back). The two take turns
   (``--repeats`` searches of ``--trials`` trials each), so a change in the machine's load
   falls on both. Printed: the median trial duration of each, their ratio (goal ≤ 1.1×), the
   load average before and after, and what any per-trial process pays here: the interpreter's
   start, ``import numpy`` and the script with a single iteration. BLAS runs one thread on
   both sides (``--blas-threads``; set before NumPy loads, the script inherits it).
2. Scoring one trial's predictions: a 1,000,000-row predictions frame (10 classes, ~8% wrong,
   splits 60/10/15/15) scored by ``score_predictions`` (the checks plus the waterfall of
   Diagnose). Anchor: ``diagnostics.api.diagnose`` on the same frame (Diagnose alone).
   Printed: seconds of each and the ratio. Goal ≤ 0.2 s.

Usage: ``python bench/objective_door.py [--trials K] [--repeats R] [--seconds S] [--rows N]``
(``--rows 0``: the command door only).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
if __name__ == "__main__":  # before NumPy loads: the in-process side and every script alike
    threads = (
        sys.argv[sys.argv.index("--blas-threads") + 1] if "--blas-threads" in sys.argv else "1"
    )
    for name in BLAS_THREADS:
        os.environ[name] = threads

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
    """Iterations that make the whole training (data, iterations, predictions) take about
    ``seconds`` here: timed warm (median of 3) at two lengths, the fixed part and the
    per-iteration part solved from both."""

    def timed(iterations: int) -> float:
        return median_seconds(lambda: train(0.5, iterations), repeats=3)

    short, long = 100, 400
    fixed_and_short, fixed_and_long = timed(short), timed(long)
    per_iteration = max(1e-6, (fixed_and_long - fixed_and_short) / (long - short))
    fixed = max(0.0, fixed_and_short - short * per_iteration)
    return max(short, round((seconds - fixed) / per_iteration))


def trial_seconds(objective, trials: int) -> list[float]:
    """The durations of the ``trials`` trials of a real search over ``objective``."""
    with tempfile.TemporaryDirectory() as folder:
        result = run_search(
            objective,
            space=SPACE,
            data_dir=folder,
            trials=trials,
            sampler="random",
            pruner="none",
        )
    return [t["duration_s"] for t in result["trials"]]


def process_seconds(*argv: str, repeats: int = 5) -> float:
    """Median wall time of running ``argv`` as a fresh process (what a per-trial process pays)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


CALLS: dict[str, list[float]] = {"anchor": [], "door": []}


class TimedCommand(CommandObjective):
    """The command door, its call (start the script, follow it, until it exits) timed."""

    def __call__(self, params, context):
        start = time.perf_counter()
        try:
            return super().__call__(params, context)
        finally:
            CALLS["door"].append(time.perf_counter() - start)


def door_overhead(trials: int, repeats: int, seconds: float) -> None:
    """Print the command door's trial time against the same training in process."""
    load_before = os.getloadavg()
    iterations = calibrate(seconds)

    def in_process(params, context):
        def progress(step: int, dev_error: float) -> None:
            context.report(dev_error, step)  # as the door reports each progress line
            context.should_prune()  # as the door asks while the script runs

        start = time.perf_counter()
        frame = pd.DataFrame(train(params["lr"], iterations, progress=progress))
        CALLS["anchor"].append(time.perf_counter() - start)
        return frame

    script = str(HERE / "objective_trial.py")
    command = TimedCommand.parse(
        f"{shlex.quote(sys.executable)} {shlex.quote(script)} "
        f"--lr {{lr}} --iterations {iterations} --out {{predictions}}"
    )
    anchor: list[float] = []
    door: list[float] = []
    for _ in range(repeats):  # taking turns: a change of load falls on both
        anchor += trial_seconds(in_process, trials)
        door += trial_seconds(command, trials)
    load_after = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "p.csv")
        start = process_seconds(sys.executable, "-c", "pass")
        numpy = process_seconds(sys.executable, "-c", "import numpy")
        one = process_seconds(
            sys.executable, script, "--lr", "0.5", "--iterations", "1", "--out", out
        )
    middle, middle_door = statistics.median(anchor), statistics.median(door)
    print(
        f"Command door: {repeats} x {trials} trials of {iterations} iterations each (calibrated "
        f"to {seconds:g} s warm), BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
    )
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(f"  anchor, the same training called in process: {middle:.2f} s per trial (median)")
    print(f"  --command (a script per trial):              {middle_door:.2f} s per trial (median)")
    print(
        f"  ratio: {middle_door / middle:.2f}x  (goal <= 1.10x); "
        f"difference {middle_door - middle:+.2f} s"
    )
    call, call_door = statistics.median(CALLS["anchor"]), statistics.median(CALLS["door"])
    print(
        f"  the objective's call: in process {call:.2f} s, the door's (start the script, "
        f"follow it to its exit) {call_door:.2f} s"
    )
    print(
        f"  the desk's side (trial time outside the call: suggest, read, score, keep, Optuna): "
        f"in process {middle - call:.3f} s, door {middle_door - call_door:.3f} s"
    )
    print("  what any per-trial process pays here (median of 5 fresh processes):")
    print(f"    interpreter start {start:.3f} s; + import numpy {numpy:.3f} s; the script with one")
    print(f"    iteration (start, import, data, CSV written) {one:.3f} s")


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
    parser.add_argument("--repeats", type=int, default=3, help="searches of each, in turns")
    parser.add_argument("--blas-threads", default="1", help="BLAS threads of both sides")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    versions = {p: importlib.metadata.version(p) for p in ("optuna", "numpy", "pandas", "duckdb")}
    print("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    door_overhead(args.trials, args.repeats, args.seconds)
    if args.rows:
        scoring(args.rows)


if __name__ == "__main__":
    main()
