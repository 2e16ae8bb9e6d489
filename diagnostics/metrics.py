"""Per-split metrics with 95% intervals, from per-row losses grouped by split.

Every metric is the weighted mean of a per-row loss: the 0/1 error for ``error``, the absolute
error for ``mae``, the squared error for ``rmse`` (square-rooted at the end). Sums are
accumulated per group with ``numpy.bincount``, so ten million rows cost a few vectorized passes.
Weights use Kish's effective sample size ``(Σw)² / Σw²`` for the intervals.

Interval methods:
- ``error``: Wilson score interval.
- ``mae``: normal approximation, mean ± z·sd/√n_eff.
- ``rmse``: normal approximation on the mean squared error, both bounds square-rooted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054

INTERVAL_METHODS = {
    "error": "Wilson score interval, 95%",
    "mae": "normal approximation (mean ± 1.96·sd/√n), 95%",
    "rmse": "normal approximation on the mean squared error, square-rooted, 95%",
}


@dataclass(frozen=True)
class LevelEstimate:
    """A measured level: the metric's value on one set, its 95% interval and sample size."""

    value: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the interval's width: the noise to compare gaps against."""
        return (self.high - self.low) / 2


def wilson_interval(p: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` on ``n`` (possibly effective) trials."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    spread = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return (max(0.0, centre - spread), min(1.0, centre + spread))


def per_row_loss(y_true: np.ndarray, y_pred: np.ndarray, metric: str) -> np.ndarray:
    """The per-row loss whose (weighted) mean is the metric (the 0/1 error as booleans)."""
    if metric == "error":
        return y_true != y_pred
    diff = y_pred.astype(np.float64) - y_true.astype(np.float64)
    return np.abs(diff) if metric == "mae" else diff * diff


BINCOUNT_ROWS = 1 << 20


def _bincount(codes: np.ndarray, weights: np.ndarray | None, n_groups: int) -> np.ndarray:
    """``np.bincount`` in slices, so small codes (int8) are never widened all at once."""
    total = np.zeros(n_groups, dtype=np.float64)
    for start in range(0, len(codes), BINCOUNT_ROWS):
        part = slice(start, start + BINCOUNT_ROWS)
        total += np.bincount(
            codes[part], None if weights is None else weights[part], minlength=n_groups
        )
    return total


@dataclass(frozen=True)
class GroupSums:
    """Sufficient statistics per group: counts, Σw, Σw², Σw·loss, Σw·loss²."""

    n: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    s1: np.ndarray
    s2: np.ndarray

    @classmethod
    def from_rows(
        cls, codes: np.ndarray, loss: np.ndarray, n_groups: int, weights: np.ndarray | None = None
    ) -> GroupSums:
        """Accumulate the sums of ``loss`` for each group code in ``0..n_groups-1``."""

        def total(values: np.ndarray) -> np.ndarray:
            return _bincount(codes, values, n_groups)

        n = _bincount(codes, None, n_groups).astype(np.int64)
        if weights is None:
            sw = n.astype(np.float64)
            if loss.dtype == np.bool_:  # 0/1 losses: Σloss = Σloss², counted without floats
                errors = _bincount(codes[loss], None, n_groups)
                return cls(n, sw, sw, errors, errors)
            return cls(n, sw, sw, total(loss), total(loss * loss))
        wl = weights * loss
        return cls(n, total(weights), total(weights * weights), total(wl), total(wl * loss))

    def __add__(self, other: GroupSums) -> GroupSums:
        return GroupSums(*(a + b for a, b in zip(self._fields(), other._fields(), strict=True)))

    def _fields(self) -> tuple[np.ndarray, ...]:
        return (self.n, self.sw, self.sw2, self.s1, self.s2)

    def estimate(self, group: int, metric: str) -> LevelEstimate | None:
        """The metric with its 95% interval for one group, or None when the group is empty."""
        n, sw, sw2 = int(self.n[group]), float(self.sw[group]), float(self.sw2[group])
        if n == 0 or sw <= 0:
            return None
        mean = float(self.s1[group]) / sw
        n_eff = sw * sw / sw2
        if metric == "error":
            low, high = wilson_interval(mean, n_eff)
            return LevelEstimate(mean, min(low, mean), max(high, mean), n)
        variance = max(float(self.s2[group]) / sw - mean * mean, 0.0)
        spread = Z_95 * math.sqrt(variance / n_eff)
        if metric == "mae":
            return LevelEstimate(mean, max(mean - spread, 0.0), mean + spread, n)
        return LevelEstimate(
            math.sqrt(mean), math.sqrt(max(mean - spread, 0.0)), math.sqrt(mean + spread), n
        )
