"""Benchmark: simulated coverage of every 95% interval the desk reports.

Levels (error rate: Wilson; MAE, RMSE: skewness-corrected Student t) and gaps between two
independent levels (rates: Newcombe; MAE: Welch–Satterthwaite; RMSE: MOVER), each at n = 2, 5,
20, 100, 1,000 and 10,000 examples per level, 2,000 replicates per cell, with per-example errors
drawn from a normal, a skewed, a heavy-tailed and a lognormal distribution; and regression gaps
between levels of unequal size (5 rows against 50, both ways). Each cell is the share of
replicates whose interval holds the true value (the Monte Carlo standard error is about 0.5
points at 95%); the goal is 93–97% everywhere. The anchor, run in the same process, is the
method before (normal approximation, 1.96 × the population sd, no skewness correction) for the
regression levels.
All intervals come from the library itself (``GroupSums`` with one group per replicate).

Run: ``python bench/coverage.py [REPLICATES]`` (default 2,000; a few minutes on 2 cores, most
of them at n = 10,000).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/coverage.py`

import numpy as np
import scipy

from diagnostics.metrics import (
    Z_95,
    GroupSums,
    gap_interval,
    per_row_loss,
)

SIZES = (2, 5, 20, 100, 1_000, 10_000)
UNEQUAL = ((5, 50), (50, 5))  # (lower level's rows, upper level's rows) of a regression gap
RATES = (0.02, 0.10, 0.30)
RATE_GAPS = ((0.01, 0.03), (0.05, 0.10), (0.20, 0.30))


def _normal_mae(mu: float, sigma: float) -> float:
    """E|X| for X ~ N(mu, sigma²)."""
    phi = 0.5 * (1 + math.erf(-mu / (sigma * math.sqrt(2))))
    return sigma * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * sigma**2)) + mu * (1 - 2 * phi)


# name: (draw(rng, shape, scale), true MAE at scale 1, true MSE at scale 1)
DISTRIBUTIONS = {
    "normal N(0.3, 1)": (lambda rng, shape: rng.normal(0.3, 1, shape), _normal_mae(0.3, 1), 1.09),
    "skewed Exp(1) − 0.5": (
        lambda rng, shape: rng.exponential(1, shape) - 0.5,
        2 * math.exp(-0.5) - 0.5,
        1.25,
    ),
    "heavy-tailed t₃": (lambda rng, shape: rng.standard_t(3, shape), 2 * math.sqrt(3) / math.pi, 3),
    "lognormal LN(0, 1)": (
        lambda rng, shape: rng.lognormal(0, 1, shape),
        math.exp(0.5),
        math.exp(2),
    ),
}
GAP_SCALES = (1.0, 1.3)  # the two levels' errors: the same distribution, scaled


def _levels(loss: np.ndarray, metric: str):
    """The library's estimates, one group per replicate (rows of ``loss``)."""
    replicates, n = loss.shape
    codes = np.repeat(np.arange(replicates), n)
    return GroupSums.from_rows(codes, loss.ravel(), replicates).estimates(metric)


def _covered(estimates, truth: float) -> float:
    return float(np.mean([e.low <= truth <= e.high for e in estimates]))


def _gap_covered(lower, upper, metric: str, truth: float) -> float:
    hits = []
    for low_level, high_level in zip(lower, upper, strict=True):
        (low, high), _ = gap_interval(low_level, high_level, metric)
        hits.append(low <= truth <= high)
    return float(np.mean(hits))


def _before(loss: np.ndarray, truth: float, metric: str) -> float:
    """The anchor: mean ± 1.96 × population sd / √n (RMSE: on the MSE, square-rooted)."""
    mean, spread = loss.mean(axis=1), Z_95 * loss.std(axis=1) / math.sqrt(loss.shape[1])
    low, high = np.maximum(mean - spread, 0), mean + spread
    if metric == "rmse":
        low, high, truth = np.sqrt(low), np.sqrt(high), math.sqrt(truth)
    return float(np.mean((low <= truth) & (truth <= high)))


def _row(label: str, cells: list[float], anchors: list[float] | None = None) -> str:
    shown = "".join(f"{c:>9.1%}" for c in cells)
    flag = "" if all(0.93 <= c <= 0.97 for c in cells) else "  ← outside 93–97%"
    text = f"  {label:<44}{shown}{flag}"
    if anchors is not None:
        text += (
            "\n  "
            + f"{'    before (1.96·population sd)':<44}"
            + "".join(f"{a:>9.1%}" for a in anchors)
        )
    return text


def _regression_gaps(
    rng: np.random.Generator, replicates: int, sizes: list[tuple[int, int]]
) -> None:
    """One row per metric and distribution: the gap's coverage at each (lower, upper) size."""
    for metric, method in (("mae", "Welch"), ("rmse", "MOVER")):
        for name, (draw, mae, mse) in DISTRIBUTIONS.items():
            one = mae if metric == "mae" else math.sqrt(mse)
            truth = one * (GAP_SCALES[1] - GAP_SCALES[0])
            cells = []
            for pair in sizes:
                lower, upper = (
                    _levels(
                        per_row_loss(
                            np.zeros((replicates, n)), scale * draw(rng, (replicates, n)), metric
                        ),
                        metric,
                    )
                    for scale, n in zip(GAP_SCALES, pair, strict=True)
                )
                cells.append(_gap_covered(lower, upper, metric, truth))
            print(_row(f"{metric.upper()} ×1 → ×1.3, {name} ({method})", cells))


def main() -> None:
    replicates = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    rng = np.random.default_rng(2026)
    started = time.perf_counter()
    print(
        f"Coverage of the desk's 95% intervals, {replicates:,} replicates per cell "
        f"(numpy {np.__version__}, scipy {scipy.__version__}); nominal 95.0%"
    )
    header = f"  {'interval':<44}" + "".join(f"{'n=' + format(n, ','):>9}" for n in SIZES)
    print("\nLevels\n" + header)
    for p in RATES:
        cells = [_covered(_levels(rng.random((replicates, n)) < p, "error"), p) for n in SIZES]
        print(_row(f"error rate {p:.0%} (Wilson)", cells))
    for metric in ("mae", "rmse"):
        for name, (draw, mae, mse) in DISTRIBUTIONS.items():
            truth = mae if metric == "mae" else mse
            cells, anchors = [], []
            for n in SIZES:
                loss = per_row_loss(np.zeros((replicates, n)), draw(rng, (replicates, n)), metric)
                level_truth = truth if metric == "mae" else math.sqrt(truth)
                cells.append(_covered(_levels(loss, metric), level_truth))
                anchors.append(_before(loss, truth, metric))
            print(_row(f"{metric.upper()}, {name}", cells, anchors))
    print("\nGaps between two independent levels (n each)\n" + header)
    for p1, p2 in RATE_GAPS:
        cells = []
        for n in SIZES:
            lower = _levels(rng.random((replicates, n)) < p1, "error")
            upper = _levels(rng.random((replicates, n)) < p2, "error")
            cells.append(_gap_covered(lower, upper, "error", p2 - p1))
        print(_row(f"error {p1:.0%} → {p2:.0%} (Newcombe)", cells))
    _regression_gaps(rng, replicates, [(n, n) for n in SIZES])
    print(
        "\nRegression gaps between levels of unequal size\n"
        + f"  {'interval':<44}"
        + "".join(f"{f'{a} vs {b}':>9}" for a, b in UNEQUAL)
    )
    _regression_gaps(rng, replicates, list(UNEQUAL))
    print(f"\nran in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
