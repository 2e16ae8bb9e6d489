"""The value of target data: the steps, the fit of dev error against k, half the gap, the line."""

from __future__ import annotations

import numpy as np
import pytest

from diagnostics.target_curve import (
    TargetPoint,
    fit_shifted,
    fit_target_curve,
    measured_half_gap,
    plan_target_points,
    read_target_curve,
    target_forecast_line,
    target_steps,
    with_target_forecast,
)
from diagnostics.validation import InputError


def curve_points(noise: float = 0.004, seeds: int = 3, pool: int = 400) -> list[TargetPoint]:
    """Runs on a known curve: dev 0.06 + 2·(k + 40)^-0.6, train-dev 0.05."""
    rng = np.random.default_rng(1)
    points = []
    for k in target_steps(pool):
        for seed in range(1 if k == pool else seeds):
            dev = 0.06 + 2 * (k + 40) ** -0.6 + rng.normal(0, noise)
            points.append(TargetPoint(k, 1000 + k, dev, 0.03, 0.05 + rng.normal(0, noise), seed))
    return points


def test_steps_are_zero_and_fractions_of_the_pool() -> None:
    assert target_steps(160) == [0, 10, 20, 40, 80, 160]
    assert target_steps(5, (0.5, 1)) == [0, 2, 5]
    assert plan_target_points([0, 10, 20], 2) == [(20, 0), (10, 0), (10, 1), (0, 0), (0, 1)]


def test_an_empty_pool_and_a_pool_smaller_than_the_smallest_step_are_refused() -> None:
    with pytest.raises(InputError, match="the target pool has no rows"):
        target_steps(0)
    with pytest.raises(InputError, match="has 7 rows, fewer than the smallest step needs"):
        target_steps(7)
    with pytest.raises(InputError, match="at least 8 pool rows"):
        target_steps(7)
    with pytest.raises(InputError, match="must be in"):
        target_steps(100, (0.5, 2))


def test_the_fit_recovers_an_exact_curve() -> None:
    ks = np.array([0, 25, 50, 100, 200, 400])
    curve = fit_shifted(ks, 0.06 + 2 * (ks + 40) ** -0.6)
    assert (curve.a, curve.b, curve.c, curve.m) == pytest.approx((0.06, 2, 0.6, 40), rel=1e-4)
    assert curve.k_for(float(curve(123.0))) == pytest.approx(123.0, rel=1e-6)
    assert curve.k_for(0.05) is None  # below the asymptote
    assert curve.k_for(1.0) == 0.0


def test_points_forecasts_and_half_the_gap() -> None:
    result = fit_target_curve(curve_points()).to_dict()
    assert result["kind"] == "target_data" and result["problem"] is None
    first = result["points"][0]
    assert first["k"] == 0 and first["seeds"] == 3 and first["n"] == 1000
    assert first["data_mismatch"] == pytest.approx(first["dev_error"] - first["train_dev_error"])
    assert [f["k"] for f in result["forecasts"]] == [400, 800, 1600, 4000]
    truth = 0.06 + 2 * 440**-0.6
    own = result["forecasts"][0]
    assert own["interval"][0] <= truth <= own["interval"][1]
    start = 0.06 + 2 * 40**-0.6
    true_half = ((start + 0.05) / 2 - 0.06) / 2  # (err - a) / b
    true_k = true_half ** (-1 / 0.6) - 40
    half = result["half_gap"]
    assert half["interval"][0] <= true_k <= half["interval"][1]
    assert half["measured"] == pytest.approx(true_k, rel=0.25)
    assert 0 < own["gap_closed"] < 1
    assert "target examples close half the" in result["verdict"]


def test_too_few_points_and_a_rising_curve_keep_the_points() -> None:
    few = fit_target_curve(curve_points()[:3]).to_dict()
    assert few["problem"].startswith("too few points") and len(few["runs"]) == 3
    assert few["fit"] is None and few["forecasts"] == []
    rising = [TargetPoint(k, 100 + k, 0.1 + k / 1000, None, 0.05) for k in (0, 10, 20, 40)]
    bad = fit_target_curve(rising).to_dict()
    assert bad["problem"].startswith("dev error rises as target rows join training")
    assert len(bad["points"]) == 4


def test_no_train_dev_means_no_gap_but_a_fit() -> None:
    points = [
        TargetPoint(p.k, p.n, p.dev_error, p.train_error, None, p.seed) for p in curve_points()
    ]
    result = fit_target_curve(points).to_dict()
    assert result["gap"] is None and result["half_gap"] is None and result["fit"] is not None
    assert "no train-dev split" in result["verdict"]


def test_the_measured_half_gap_interpolates() -> None:
    rows = [{"k": 0, "data_mismatch": 0.2}, {"k": 10, "data_mismatch": 0.04}]
    assert measured_half_gap(rows) == pytest.approx(10 * 0.1 / 0.16)
    assert (
        measured_half_gap([{"k": 0, "data_mismatch": 0.2}, {"k": 10, "data_mismatch": 0.15}])
        is None
    )


def test_the_plan_line_carries_the_forecast_on_the_target_data_action() -> None:
    result = fit_target_curve(curve_points()).to_dict()
    line = target_forecast_line(result)
    assert line.startswith("about ") and "(half the mismatch gap)" in line
    actions = ["Do manual error analysis", "Put some target-distribution data into training"]
    shown = with_target_forecast("data_mismatch", actions, result)
    assert shown[0] == actions[0] and shown[1] == f"{actions[1]} — {line}"
    assert with_target_forecast("variance", actions, result) == actions
    assert target_forecast_line({"kind": "learning_curve", "fit": {}, "forecasts": [{}]}) is None


def test_a_file_that_is_not_a_target_curve_is_refused() -> None:
    with pytest.raises(InputError, match=r"curve\.json: not a target-data curve"):
        read_target_curve({"points": []}, "curve.json")
    good = fit_target_curve(curve_points()).to_dict()
    assert read_target_curve(good, "x") is good


def test_the_chart_has_the_runs_the_fit_and_the_forecasts_beyond_the_pool() -> None:
    from diagnostics.charts import target_curve_chart, target_curve_rows

    result = fit_target_curve(curve_points()).to_dict()
    measured, fitted = target_curve_rows(result)
    assert len(measured) == 2 * len(result["runs"])  # dev and train-dev of every run
    assert set(measured["kind"]) == {"dev", "train-dev"}
    forecasts = fitted[fitted["kind"] == "forecast"]
    assert forecasts["k"].tolist() == [800, 1600, 4000]
    assert fitted[fitted["kind"] == "fit"]["k"].max() == 4000
    assert target_curve_chart(result).to_dict()["layer"]
    few = fit_target_curve(curve_points()[:3]).to_dict()
    assert target_curve_chart(few).to_dict()["layer"]  # the runs alone, no fit
