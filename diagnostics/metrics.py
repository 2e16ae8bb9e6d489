"""Per-split metrics with 95% intervals, from per-row losses grouped by split.

Every metric is the weighted mean of a per-row loss: the 0/1 error for ``error``, the absolute
error for ``mae``, the squared error for ``rmse`` (square-rooted at the end). The sufficient
statistics per group (counts, Σw, Σw², Σw·loss and the second and third central moments) are
accumulated with ``numpy.bincount`` in two passes (the mean, then the deviations from it), so
ten million rows cost a few vectorized passes and losses of 1e6 ± 0.001 keep their spread.
Weights use Kish's effective sample size ``n_eff = (Σw)² / Σw²`` for the intervals.

Interval methods (:data:`INTERVAL_METHODS`; simulated coverage: ``bench/coverage.py``):
- ``error``: Wilson score interval.
- ``mae``: Student's t on the sample standard deviation (n_eff − 1 degrees of freedom),
  corrected for the losses' skewness by Hall's (1992) monotone transformation of Johnson's t.
- ``rmse``: the same on the mean squared error, both bounds square-rooted.
A level measured on one example (n_eff − 1 < MIN_DEGREES) has no interval: nothing says how much
it varies. Nor has an MAE/RMSE level whose losses are all equal (no spread to scale a t interval
by: a zero-width interval would claim certainty that three equal losses do not give).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit

Z_95 = 1.959963984540054
CONFIDENCE = 0.95

INTERVAL_METHODS = {
    "error": "Wilson score interval, 95%",
    "mae": "Student t on the sample sd, skewness-corrected (Hall 1992), 95%",
    "rmse": "Student t on the mean squared error, skewness-corrected (Hall 1992), "
    "square-rooted, 95%",
}
NO_INTERVAL = "one example: no interval"
NO_SPREAD = "all losses equal: no interval"
MIN_DEGREES = 0.1  # n_eff − 1 below this is one example (t has no usable quantile there)


@dataclass(frozen=True)
class LevelEstimate:
    """A measured level: the metric's value on one set, its 95% interval and sample size.

    ``low``/``high`` are None when the set is too small for an interval (one example) or, for
    MAE/RMSE, its losses are all equal (``equal_losses``).
    ``se`` and ``df`` are the standard error of the value and its degrees of freedom where the
    value is a mean of continuous losses (MAE), for a Welch–Satterthwaite gap; otherwise None.
    """

    value: float
    low: float | None
    high: float | None
    n: int
    se: float | None = None
    df: float | None = None
    equal_losses: bool = False

    @property
    def no_interval_text(self) -> str:
        """Why the level has no interval, as shown: one example, or all losses equal."""
        return NO_SPREAD if self.equal_losses else NO_INTERVAL

    @property
    def has_interval(self) -> bool:
        """False when the set holds too few examples for an interval."""
        return self.low is not None and self.high is not None

    @property
    def half_width(self) -> float | None:
        """Half the interval's width, or None without an interval."""
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2

    def bounds(self) -> tuple[float, float]:
        """The interval's (low, high); raises ValueError when the set has no interval."""
        if self.low is None or self.high is None:
            raise ValueError("this level has no interval (one example)")
        return (self.low, self.high)


def t_quantile(df: float | np.ndarray, level: float = CONFIDENCE) -> np.float64 | np.ndarray:
    """The two-sided Student t critical value for ``df`` degrees of freedom (arrays allowed)."""
    quantile: np.float64 | np.ndarray = stdtrit(df, 0.5 + level / 2)
    return quantile


def wilson_interval(p: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` on ``n`` (possibly effective) trials."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    spread = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return (max(0.0, centre - spread), min(1.0, centre + spread))


def skew_corrected_t_interval(
    mean: np.ndarray,
    se: np.ndarray,
    skewness: np.ndarray,
    n_eff: np.ndarray,
    df: np.ndarray,
    level: float = CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray]:
    """Hall's (1992) skewness-corrected Student t interval for a mean (arrays allowed).

    With T = (mean − μ)/se and b = γ/(3√n), Johnson's corrected statistic made monotone,
    g(T) = ((1 + bT)³ − 1)/(3b) + γ/(6√n), is t-distributed; inverting it gives bounds that
    lean towards the long tail. Returns (low, high); γ = 0 gives mean ± t·se.
    """
    mean, se, skewness = np.asarray(mean, float), np.asarray(se, float), np.asarray(skewness)
    root_n = np.sqrt(np.asarray(n_eff, float))
    b, c = skewness / (3 * root_n), skewness / (6 * root_n)
    t = t_quantile(df, level)
    flat = np.abs(b) < 1e-12
    safe_b = np.where(flat, 1.0, b)

    def inverse(y: np.float64 | np.ndarray) -> np.ndarray:
        inverted: np.ndarray = np.where(
            flat, y - c, (np.cbrt(1 + 3 * safe_b * (y - c)) - 1) / safe_b
        )
        return inverted

    return mean - inverse(t) * se, mean - inverse(-t) * se


def per_row_loss(y_true: np.ndarray, y_pred: np.ndarray, metric: str) -> np.ndarray:
    """The per-row loss whose (weighted) mean is the metric (the 0/1 error as booleans)."""
    if metric == "error":
        wrong: np.ndarray = y_true != y_pred
        return wrong
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


def _central_moments(
    codes: np.ndarray,
    loss: np.ndarray,
    weights: np.ndarray | None,
    mean: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Σw·(loss − mean)² and Σw·(loss − mean)³ per group, in slices (the second pass)."""
    m2, m3 = np.zeros(n_groups), np.zeros(n_groups)
    for start in range(0, len(codes), BINCOUNT_ROWS):
        part = slice(start, start + BINCOUNT_ROWS)
        group = codes[part]
        deviation = loss[part] - mean[group]
        square = deviation * deviation
        if weights is not None:
            square *= weights[part]
        m2 += np.bincount(group, square, minlength=n_groups)
        m3 += np.bincount(group, square * deviation, minlength=n_groups)
    return m2, m3


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, 0 where bottom is 0."""
    ratio: np.ndarray = np.divide(
        top, bottom, out=np.zeros_like(top, dtype=np.float64), where=bottom != 0
    )
    return ratio


@dataclass(frozen=True)
class GroupSums:
    """Sufficient statistics per group: counts, Σw, Σw², Σw·loss, Σw·d², Σw·d³ (d = loss − mean).

    The central moments ``m2`` and ``m3`` are kept instead of raw power sums, so a spread far
    below the mean is not lost to rounding; groups merge by Chan's pairwise formulas.
    """

    n: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    s1: np.ndarray
    m2: np.ndarray
    m3: np.ndarray

    @classmethod
    def from_rows(
        cls, codes: np.ndarray, loss: np.ndarray, n_groups: int, weights: np.ndarray | None = None
    ) -> GroupSums:
        """Accumulate the sums of ``loss`` for each group code in ``0..n_groups-1``."""
        n = _bincount(codes, None, n_groups).astype(np.int64)
        if weights is None and loss.dtype == np.bool_:
            # 0/1 losses: the moments follow from the error count, counted without floats
            errors = _bincount(codes[loss], None, n_groups)
            sw = n.astype(np.float64)
            return cls.from_power_sums(n, sw, sw, errors, errors, errors)
        loss = loss.astype(np.float64, copy=False)
        if weights is None:
            sw = sw2 = n.astype(np.float64)
            s1 = _bincount(codes, loss, n_groups)
        else:
            sw = _bincount(codes, weights, n_groups)
            sw2 = _bincount(codes, weights * weights, n_groups)
            s1 = _bincount(codes, weights * loss, n_groups)
        m2, m3 = _central_moments(codes, loss, weights, _ratio(s1, sw), n_groups)
        return cls(n, sw, sw2, s1, m2, m3)

    @classmethod
    def from_power_sums(
        cls,
        n: np.ndarray,
        sw: np.ndarray,
        sw2: np.ndarray,
        p1: np.ndarray,
        p2: np.ndarray,
        p3: np.ndarray,
    ) -> GroupSums:
        """From raw sums Σw·loss, Σw·loss², Σw·loss³ (exact for 0/1 losses; rounding cancels
        digits when the spread is far below the mean: see :func:`lost_spread`)."""
        mean = _ratio(p1, sw)
        m2 = np.maximum(p2 - mean * p1, 0.0)
        m3 = p3 - 3 * mean * p2 + 2 * mean * mean * p1
        return cls(np.asarray(n, dtype=np.int64), sw, sw2, p1, m2, m3)

    def __add__(self, other: GroupSums) -> GroupSums:
        """The statistics of each group's rows of both (Chan et al.'s pairwise merge)."""
        sw = self.sw + other.sw
        mean_a, mean_b = _ratio(self.s1, self.sw), _ratio(other.s1, other.sw)
        delta = mean_b - mean_a
        share_a, share_b = _ratio(self.sw, sw), _ratio(other.sw, sw)
        between = delta * delta * self.sw * share_b
        m2 = self.m2 + other.m2 + between
        m3 = (
            self.m3
            + other.m3
            + between * delta * (share_a - share_b)
            + 3 * delta * (share_a * other.m2 - share_b * self.m2)
        )
        return GroupSums(self.n + other.n, sw, self.sw2 + other.sw2, self.s1 + other.s1, m2, m3)

    def estimates(self, metric: str) -> list[LevelEstimate | None]:
        """The metric with its 95% interval for every group (None for empty groups)."""
        value, low, high, se, df = _interval_arrays(self, metric)
        flat = _equal_losses(self, _ratio(self.s1, self.sw))
        result: list[LevelEstimate | None] = []
        for g in range(len(self.n)):
            if self.n[g] == 0 or self.sw[g] <= 0:
                result.append(None)
                continue
            bounded = bool(np.isfinite(low[g]))
            equal = metric != "error" and not bounded and self.n[g] >= 2 and bool(flat[g])
            result.append(
                LevelEstimate(
                    float(value[g]),
                    float(low[g]) if bounded else None,
                    float(high[g]) if bounded else None,
                    int(self.n[g]),
                    float(se[g]) if se is not None and metric == "mae" and bounded else None,
                    float(df[g]) if df is not None and metric == "mae" and bounded else None,
                    equal,
                )
            )
        return result

    def estimate(self, group: int, metric: str) -> LevelEstimate | None:
        """The metric with its 95% interval for one group, or None when the group is empty."""
        one = slice(group, group + 1)
        return GroupSums(*(field[one] for field in self._fields())).estimates(metric)[0]

    def _fields(self) -> tuple[np.ndarray, ...]:
        return (self.n, self.sw, self.sw2, self.s1, self.m2, self.m3)


def lost_spread(sums: GroupSums, p2: np.ndarray, tolerance: float = 1e-4) -> np.ndarray:
    """Groups whose raw Σw·loss² cancels too many digits for their spread to be trusted
    (a one-row group has no spread to lose)."""
    lost: np.ndarray = (sums.n >= 2) & (sums.m2 < tolerance * np.abs(p2))
    return lost


def _equal_losses(sums: GroupSums, mean: np.ndarray) -> np.ndarray:
    """Groups whose losses are all equal (their spread is rounding next to the mean)."""
    flat: np.ndarray = sums.m2 <= (1e-12 * mean) ** 2 * sums.sw
    return flat


def _interval_arrays(
    sums: GroupSums, metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Value, bounds (NaN where no interval), standard error and degrees of freedom per group."""
    sw = sums.sw
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = _ratio(sums.s1, sw)
        n_eff = _ratio(sw * sw, sums.sw2)
        if metric == "error":
            bounds = np.array([wilson_interval(p, k) for p, k in zip(mean, n_eff, strict=True)])
            low = np.minimum(bounds[:, 0], mean) if len(mean) else mean
            high = np.maximum(bounds[:, 1], mean) if len(mean) else mean
            return mean, low, high, None, None
        df = n_eff - 1
        measurable = (sums.n >= 2) & (df >= MIN_DEGREES) & ~_equal_losses(sums, mean)
        # unbiased for reliability weights: Σw·d² / (Σw − Σw²/Σw) = m2/Σw · n_eff/(n_eff − 1)
        variance = np.where(measurable, sums.m2 / sw * n_eff / df, np.nan)
        se = np.sqrt(variance / n_eff)
        population_sd = np.sqrt(sums.m2 / sw)
        skewness = np.where(population_sd > 0, sums.m3 / sw / population_sd**3, 0.0)
        skewness = np.where(np.isfinite(skewness), skewness, 0.0)
        df_or_1 = np.where(measurable, df, 1.0)
        low, high = skew_corrected_t_interval(mean, se, skewness, n_eff, df_or_1)
        low = np.where(measurable, np.maximum(low, 0.0), np.nan)
        high = np.where(measurable, high, np.nan)
        if metric == "mae":
            return mean, low, high, se, df
        return np.sqrt(mean), np.sqrt(low), np.sqrt(high), None, None


GAP_INTERVAL_METHODS = {
    "error": "Newcombe's hybrid score interval (from the two Wilson intervals), 95%",
    "mae": "Welch–Satterthwaite t on the difference of the two means, 95%",
    "rmse": "MOVER (Zou & Donner 2008) from the two RMSE intervals, 95%",
    "typed": "the measured level's interval minus the typed level (which has no sampling noise)",
}


def mover_interval(lower: LevelEstimate, upper: LevelEstimate) -> tuple[float, float]:
    """The 95% interval of ``upper − lower`` from the two levels' own intervals.

    L = d − √((u − l_u)² + (h_l − v_l)²), U = d + √((h_u − u)² + (v_l − l_l)²): with Wilson
    intervals this is Newcombe's (1998) hybrid score interval, which keeps the asymmetry of
    rates near 0 (0/300 against 5/300 is a real gap).
    """
    gap = upper.value - lower.value
    (upper_low, upper_high), (lower_low, lower_high) = upper.bounds(), lower.bounds()
    down = math.hypot(upper.value - upper_low, lower_high - lower.value)
    up = math.hypot(upper_high - upper.value, lower.value - lower_low)
    return (gap - down, gap + up)


def welch_interval(lower: LevelEstimate, upper: LevelEstimate) -> tuple[float, float]:
    """The 95% Welch–Satterthwaite t interval of the difference of two independent means."""
    if lower.se is None or upper.se is None or lower.df is None or upper.df is None:
        raise ValueError(
            "a Welch interval needs both levels' standard errors and degrees of freedom"
        )
    v_lower, v_upper = lower.se**2, upper.se**2
    total = v_lower + v_upper
    gap = upper.value - lower.value
    if total == 0:
        return (gap, gap)
    df = total**2 / (v_lower**2 / lower.df + v_upper**2 / upper.df)
    spread = float(t_quantile(df)) * math.sqrt(total)
    return (gap - spread, gap + spread)


def gap_interval(
    lower: LevelEstimate | float, upper: LevelEstimate, metric: str
) -> tuple[tuple[float, float], str] | None:
    """The 95% interval of the gap ``upper − lower`` and its method, or None without one.

    ``lower`` may be a typed level (a float: the human level), which has no sampling noise, so
    the measured level's interval alone is shifted. None when a level has no interval.
    """
    if upper.low is None or upper.high is None:
        return None
    if not isinstance(lower, LevelEstimate):
        return (upper.low - lower, upper.high - lower), GAP_INTERVAL_METHODS["typed"]
    if not lower.has_interval:
        return None
    if metric == "mae" and lower.se is not None and upper.se is not None:
        return welch_interval(lower, upper), GAP_INTERVAL_METHODS["mae"]
    return mover_interval(lower, upper), GAP_INTERVAL_METHODS[metric]
