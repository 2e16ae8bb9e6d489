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


def test_mae_normal_interval():
    errors = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    est = estimate(errors, "mae")
    spread = 1.959963984540054 * np.std(errors) / math.sqrt(errors.size)
    assert est.value == pytest.approx(4.0)
    assert est.low == pytest.approx(4.0 - spread)
    assert est.high == pytest.approx(4.0 + spread)
    assert est.half_width == pytest.approx(spread)


def test_mae_interval_never_below_zero():
    est = estimate([0.0, 0.0, 0.0, 9.0], "mae")
    assert est.low == 0.0


def test_rmse_interval_from_mean_squared_error():
    y_true = np.array([0.0, 0.0, 0.0, 0.0])
    y_pred = np.array([1.0, -1.0, 3.0, -3.0])
    squared = per_row_loss(y_true, y_pred, "rmse")
    est = estimate(squared, "rmse")
    assert est.value == pytest.approx(math.sqrt(5.0))
    spread = 1.959963984540054 * np.std(squared) / 2
    assert est.low == pytest.approx(math.sqrt(max(5.0 - spread, 0.0)))
    assert est.high == pytest.approx(math.sqrt(5.0 + spread))


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
