"""Per-split metrics and their 95% intervals."""

import math

import numpy as np
import pytest

from diagnostics.metrics import GroupSums, LevelEstimate, per_row_loss, wilson_interval


def estimate(loss, metric, weights=None) -> LevelEstimate:
    """The estimate for one group holding every row of ``loss``."""
    loss = np.asarray(loss, dtype=np.float64)
    codes = np.zeros(loss.size, dtype=np.int64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    return GroupSums.from_rows(codes, loss, 1, w).estimate(0, metric)


def test_wilson_known_value():
    # 10 errors in 100: the Wilson 95% interval is 5.52% – 17.44% (Newcombe 1998, table I).
    low, high = wilson_interval(0.1, 100)
    assert low == pytest.approx(0.0552, abs=5e-5)
    assert high == pytest.approx(0.1744, abs=5e-5)


def test_wilson_edges():
    low, high = wilson_interval(0.0, 50)
    assert low == pytest.approx(0.0, abs=1e-12) and 0 < high < 0.08
    low, high = wilson_interval(1.0, 50)
    assert high == pytest.approx(1.0) and low > 0.92
    assert wilson_interval(0.3, 0) == (0.0, 1.0)


@pytest.mark.parametrize("metric", ["error", "mae", "rmse"])
def test_interval_contains_estimate_and_shrinks_with_n(metric):
    rng = np.random.default_rng(1)
    widths = []
    for n in (100, 1_000, 10_000):
        if metric == "error":
            loss = (rng.random(n) < 0.1).astype(float)
        else:
            loss = per_row_loss(np.zeros(n), rng.normal(0, 2, n), metric)
        est = estimate(loss, metric)
        assert est.low <= est.value <= est.high
        assert est.n == n
        widths.append(est.high - est.low)
    assert widths[0] > widths[1] > widths[2]


def test_error_rate_is_wilson():
    est = estimate([1] * 10 + [0] * 90, "error")
    assert est.value == pytest.approx(0.1)
    assert (est.low, est.high) == pytest.approx(wilson_interval(0.1, 100))


@pytest.mark.parametrize(
    ("errors", "t"),
    [([3.0, 5.0], 12.706204736174707), ([1.0, 2.0, 3.0, 4.0, 5.0], 2.7764451051977934)],
)
def test_mae_interval_is_student_t_on_the_sample_sd(errors, t):
    # symmetric losses (skewness 0): the interval is exactly mean ± t(n−1)·s/√n
    errors = np.array(errors)
    est = estimate(errors, "mae")
    spread = t * np.std(errors, ddof=1) / math.sqrt(errors.size)
    assert est.value == pytest.approx(errors.mean())
    assert est.low == pytest.approx(max(errors.mean() - spread, 0.0))
    assert est.high == pytest.approx(errors.mean() + spread)
    assert est.se == pytest.approx(np.std(errors, ddof=1) / math.sqrt(errors.size))
    assert est.df == errors.size - 1


def test_skewed_losses_lean_the_interval_towards_the_long_tail():
    # Hall's transformation by hand: b = γ/(3√n), c = γ/(6√n), T = ((1 + 3b(t − c))^⅓ − 1)/b
    errors = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    est = estimate(errors, "mae")
    n, mean, sd = 5, 4.0, np.std(errors, ddof=1)
    gamma = np.mean((errors - mean) ** 3) / np.std(errors) ** 3
    b, c, t = gamma / (3 * math.sqrt(n)), gamma / (6 * math.sqrt(n)), 2.7764451051977934

    def inverse(y):
        return (np.cbrt(1 + 3 * b * (y - c)) - 1) / b

    assert est.low == pytest.approx(mean - inverse(t) * sd / math.sqrt(n))
    assert est.high == pytest.approx(mean - inverse(-t) * sd / math.sqrt(n))
    assert est.high - mean > mean - est.low  # the long tail is above


@pytest.mark.parametrize("metric", ["mae", "rmse"])
def test_one_example_has_no_interval(metric):
    est = estimate([3.5], metric)
    assert est.n == 1 and not est.has_interval
    assert est.low is None and est.high is None and est.half_width is None
    assert est.value == pytest.approx(3.5 if metric == "mae" else math.sqrt(3.5))
    # all the weight on one row is one example too (Kish's n_eff = 1)
    assert not estimate([1.0, 2.0], metric, [1.0, 0.0]).has_interval


def test_a_one_row_rate_keeps_its_wilson_interval():
    est = estimate([1.0], "error")
    assert (est.low, est.high) == pytest.approx(wilson_interval(1.0, 1))


def test_spread_far_below_the_mean_is_kept():
    # one-pass Σx² − (Σx)²/n gives width 0 (or NaN) here; two passes keep the spread
    errors = 1e6 + np.array([-0.001, 0.001] * 50)
    est = estimate(errors, "mae")
    half = 1.9842169515086827 * np.std(errors, ddof=1) / 10
    assert est.high - est.low == pytest.approx(2 * half, rel=1e-6)
    assert estimate(errors, "rmse").high > estimate(errors, "rmse").low


def test_rmse_interval_from_mean_squared_error():
    y_true = np.array([0.0, 0.0, 0.0, 0.0])
    y_pred = np.array([1.0, -1.0, 2.0, -2.0])
    squared = per_row_loss(y_true, y_pred, "rmse")  # 1, 1, 4, 4: symmetric around 2.5
    est = estimate(squared, "rmse")
    assert est.value == pytest.approx(math.sqrt(2.5))
    spread = 3.182446305284263 * np.std(squared, ddof=1) / 2
    assert est.low == pytest.approx(math.sqrt(max(2.5 - spread, 0.0)))
    assert est.high == pytest.approx(math.sqrt(2.5 + spread))
    assert est.se is None  # the RMSE is not a mean: its gaps combine the intervals


def test_weighted_regression_uses_kish_n_minus_one():
    loss, weights = np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 2.0])
    est = estimate(loss, "mae", weights)
    n_eff = 25 / 9
    mean = 10 / 5
    variance = np.sum(weights * (loss - mean) ** 2) / (5 - 9 / 5)  # reliability weights
    assert est.value == pytest.approx(mean)
    assert est.df == pytest.approx(n_eff - 1)
    assert est.se == pytest.approx(math.sqrt(variance / n_eff))


def test_merged_groups_equal_the_groups_computed_together():
    rng = np.random.default_rng(5)
    loss, weights = rng.exponential(3, 300), rng.random(300)
    codes = np.repeat([0, 1], 150)
    first = GroupSums.from_rows(np.zeros(150, np.int64), loss[:150], 1, weights[:150])
    second = GroupSums.from_rows(np.zeros(150, np.int64), loss[150:], 1, weights[150:])
    together = GroupSums.from_rows(np.zeros(300, np.int64), loss, 1, weights)
    merged = first + second
    for name in ("sw", "s1", "m2", "m3"):
        assert getattr(merged, name) == pytest.approx(getattr(together, name), rel=1e-10)
    split = GroupSums.from_rows(codes, loss, 2, weights)
    assert split.m2[1] == pytest.approx(second.m2[0])


def test_per_row_loss():
    y_true, y_pred = np.array([1, 2, 3]), np.array([1, 4, 0])
    assert per_row_loss(y_true, y_pred, "error").tolist() == [0, 1, 1]
    assert per_row_loss(y_true, y_pred, "mae").tolist() == [0, 2, 3]
    assert per_row_loss(y_true, y_pred, "rmse").tolist() == [0, 4, 9]


def test_weighted_mean_and_effective_n():
    loss, weights = [1.0, 0.0, 0.0, 0.0], [3.0, 1.0, 1.0, 1.0]
    est = estimate(loss, "error", weights)
    assert est.value == pytest.approx(0.5)
    assert est.n == 4
    n_eff = 6.0**2 / 12.0  # Kish: (Σw)² / Σw²
    assert (est.low, est.high) == pytest.approx(wilson_interval(0.5, n_eff))


def test_equal_weights_change_nothing():
    rng = np.random.default_rng(2)
    loss = rng.random(500)
    weighted, plain = estimate(loss, "mae", np.full(500, 2.5)), estimate(loss, "mae")
    assert (weighted.value, weighted.low, weighted.high) == pytest.approx(
        (plain.value, plain.low, plain.high)
    )
    assert weighted.n == plain.n


def test_groups_and_empty_groups():
    codes = np.array([0, 0, 2, 2, 2])
    loss = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    sums = GroupSums.from_rows(codes, loss, 3)
    assert sums.estimate(0, "error").value == 0.5
    assert sums.estimate(1, "error") is None
    assert sums.estimate(2, "error").value == pytest.approx(2 / 3)
    both = sums + sums
    assert both.estimate(2, "error").n == 6
    assert both.estimate(2, "error").value == pytest.approx(2 / 3)


def test_zero_weight_group_is_empty():
    sums = GroupSums.from_rows(np.array([0, 1]), np.array([1.0, 1.0]), 2, np.array([1.0, 0.0]))
    assert sums.estimate(1, "error") is None
