"""Tests and 95% intervals for the change of a level between two model versions.

Paired (both versions scored the same examples):
- error rate: exact McNemar test on the discordant pairs (``b`` = wrong before and right after,
  ``c`` = right before and wrong after; two-sided p = min(1, 2·P[Bin(b + c, ½) ≤ min(b, c)]),
  p = 1 when b = c = 0) and Newcombe's interval for the difference of paired proportions
  (Newcombe 1998, Statistics in Medicine 17:2635, method 10: the two Wilson intervals combined
  with the correlation φ of the paired table, φ as in Altman et al., *Statistics with
  Confidence*, 2nd ed., §6);
- MAE / RMSE: Student's t on the per-example loss differences.

Unpaired (no shared ids): the difference of the two levels with the square-and-add interval of
their own intervals (for Wilson intervals this is Newcombe's hybrid score interval for
independent proportions, 1998 method 10), and for error rates the pooled two-proportion z test.

Every change is ``after − before``: negative means the new version is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from diagnostics.metrics import Z_95, LevelEstimate, wilson_interval

METHODS = {
    "mcnemar": "exact McNemar test; Newcombe's interval for paired proportions (1998, method 10)",
    "paired_t": "paired t test on the per-example loss differences",
    "newcombe": "two-proportion z test; Newcombe's hybrid score interval (independent samples)",
    "unpaired_normal": "normal test; square-and-add of the two levels' 95% intervals",
}


@dataclass(frozen=True)
class PairedSums:
    """Sufficient statistics of the examples one split shares between two versions.

    ``improved`` and ``worsened`` count the examples whose loss went down / up (for the error
    rate: McNemar's b and c); ``before`` and ``after`` are the summed losses, ``diff2`` the sum
    of squared loss differences (``b + c`` for the error rate).
    """

    n: int
    improved: int
    worsened: int
    before: float
    after: float
    diff2: float

    @classmethod
    def of_errors(cls, n: int, before: int, after: int, both: int) -> PairedSums:
        """The sums of the error rate over ``n`` shared examples, ``before`` and ``after`` of
        them misclassified by each version, ``both`` by both."""
        return cls(
            n,
            before - both,  # improved: wrong before, right after
            after - both,  # worsened
            float(before),
            float(after),
            float(before + after - 2 * both),
        )

    def __add__(self, other: PairedSums) -> PairedSums:
        return PairedSums(
            self.n + other.n,
            self.improved + other.improved,
            self.worsened + other.worsened,
            self.before + other.before,
            self.after + other.after,
            self.diff2 + other.diff2,
        )


@dataclass(frozen=True)
class ChangeTest:
    """A level's change with its 95% interval and two-sided p-value, and the method used."""

    change: float
    low: float
    high: float
    p_value: float
    method: str


EXACT_SUM_LIMIT = 50_000  # discordant pairs up to which the binomial tail is summed in integers


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    ``min(1, 2·P[Bin(n, ½) ≤ k])`` with ``n = b + c`` and ``k = min(b, c)``, without loading
    scipy where it can: 1 when ``b = c``; 0.0 when Chernoff's bound puts the tail below 2⁻¹¹⁰⁰
    (a double rounds it to 0); up to :data:`EXACT_SUM_LIMIT` pairs the tail ``Σ C(n, i) / 2ⁿ``
    summed in integers from ``i = k`` down, stopped when the rest is below 2⁻⁷⁰ of the sum, then
    rounded once; above it, scipy's regularized incomplete beta ``I_½(k + 1, n − k)``
    complemented (Boost's ``ibetac``).
    """
    n, k = b + c, min(b, c)
    if b == c:
        return 1.0
    share = k / n
    log_bound = share * math.log(2 * share) if k else 0.0
    log_bound = -n * (log_bound + (1 - share) * math.log(2 * (1 - share)))
    if log_bound < -1101 * math.log(2):  # 2·P ≤ 2·e^(−n·D(k/n ‖ ½)) < 2⁻¹¹⁰⁰
        return 0.0
    if n > EXACT_SUM_LIMIT:
        from scipy.special import betaincc  # only for many discordant pairs near a tie

        return min(1.0, 2.0 * float(betaincc(k + 1, n - k, 0.5)))
    return min(1.0, _binomial_tail(n, k) / (1 << (n - 1)))


def _binomial_tail(n: int, k: int) -> int:
    """``Σ_{i ≤ k} C(n, i)`` for ``k < n / 2``, to 2⁻⁷⁰ of itself: each step down multiplies a
    term by ``i / (n − i + 1) ≤ r = k / (n − k + 1)``, so what is left after a term is at most
    ``term · r / (1 − r) = term · k / (n − 2k + 1)``."""
    term = total = math.comb(n, k)
    for i in range(k, 0, -1):
        term = term * i // (n - i + 1)
        total += term
        if term * k < (total >> 70) * (n - 2 * k + 1):
            break
    return total


def newcombe_paired_interval(n: int, both: int, b: int, c: int) -> tuple[float, float]:
    """95% interval of ``p_after − p_before`` (error rates) on ``n`` paired examples.

    ``both``: wrong in both versions; ``b``: wrong before only; ``c``: wrong after only.
    """
    right = n - both - b - c
    p_after, p_before = (both + c) / n, (both + b) / n
    low_a, high_a = wilson_interval(p_after, n)
    low_b, high_b = wilson_interval(p_before, n)
    margins = (both + c) * (right + b) * (both + b) * (right + c)
    cross = both * right - b * c
    if margins == 0:
        phi = 0.0
    else:
        corrected = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
        phi = corrected / math.sqrt(margins)
    d = p_after - p_before
    down_a, up_b = p_after - low_a, high_b - p_before
    up_a, down_b = high_a - p_after, p_before - low_b
    lower = d - math.sqrt(max(down_a**2 - 2 * phi * down_a * up_b + up_b**2, 0.0))
    upper = d + math.sqrt(max(down_b**2 - 2 * phi * down_b * up_a + up_a**2, 0.0))
    return max(lower, -1.0), min(upper, 1.0)


def paired_error_change(sums: PairedSums) -> ChangeTest:
    """The error rate's change on paired examples: McNemar and Newcombe's paired interval."""
    b, c = sums.improved, sums.worsened
    both = round(sums.before) - b
    low, high = newcombe_paired_interval(sums.n, both, b, c)
    return ChangeTest((c - b) / sums.n, low, high, mcnemar_p(b, c), "mcnemar")


def paired_loss_change(sums: PairedSums, metric: str) -> ChangeTest | None:
    """MAE / RMSE change on paired examples: Student's t on the per-example loss differences.

    For RMSE the t interval of the mean squared error's change is scaled by
    ``1 / (RMSE_before + RMSE_after)`` (the change of a square root). None below 2 examples
    and when every example's loss changed by the same amount (no spread: a zero-width interval
    would claim a certainty the examples do not give).
    """
    n = sums.n
    if n < 2:
        return None
    mean = (sums.after - sums.before) / n
    variance = max((sums.diff2 - n * mean * mean) / (n - 1), 0.0)
    se = math.sqrt(variance / n)
    if se <= 1e-12 * abs(mean):
        return None
    from scipy.special import stdtr, stdtrit  # Student's t, as scipy.stats.t computes it

    spread = float(stdtrit(n - 1, 0.975)) * se
    p = float(2 * stdtr(n - 1, -abs(mean) / se))
    if metric == "mae":
        return ChangeTest(mean, mean - spread, mean + spread, p, "paired_t")
    root_before, root_after = math.sqrt(sums.before / n), math.sqrt(sums.after / n)
    scale = root_before + root_after
    change = root_after - root_before
    return ChangeTest(change, change - spread / scale, change + spread / scale, p, "paired_t")


def unpaired_change(before: LevelEstimate, after: LevelEstimate, metric: str) -> ChangeTest:
    """The change between two independent levels, from their own 95% intervals.

    The interval adds the distances to each level's bounds in quadrature (for error rates'
    Wilson intervals: Newcombe's hybrid score interval). The p-value is the pooled
    two-proportion z test for error rates (on row counts), else the normal test whose standard
    error is the two intervals' half-widths added in quadrature, divided by 1.96.
    """
    d = after.value - before.value
    (after_low, after_high), (before_low, before_high) = after.bounds(), before.bounds()
    low = d - math.hypot(after.value - after_low, before_high - before.value)
    high = d + math.hypot(after_high - after.value, before.value - before_low)
    if metric == "error":
        pooled = (after.value * after.n + before.value * before.n) / (after.n + before.n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / after.n + 1 / before.n))
        method = "newcombe"
    else:
        se = math.hypot((after_high - after_low) / 2, (before_high - before_low) / 2) / Z_95
        method = "unpaired_normal"
    return ChangeTest(d, low, high, _normal_p(d, se), method)


def _normal_p(d: float, se: float) -> float:
    """Two-sided p-value of ``d`` against a normal with standard error ``se``."""
    if se == 0:
        return 1.0 if d == 0 else 0.0
    return math.erfc(abs(d) / se / math.sqrt(2))
