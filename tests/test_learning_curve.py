"""The learning-curve fit against exact synthetic curves, and its bad input."""

from __future__ import annotations

import pytest

from diagnostics.learning_curve import (
    FORM,
    CurvePoint,
    fit_curve,
    fit_power_law,
    summarize_points,
)

SIZES = [64, 128, 256, 512, 1024]


def exact(a: float, b: float, c: float, wiggle: tuple[float, ...] = (0.0,)) -> list[CurvePoint]:
    return [
        CurvePoint(n=n, dev_error=a + b * n**-c + w, train_error=a / 2, seed=s, fraction=n / 1024)
        for n in SIZES
        for s, w in enumerate(wiggle)
    ]


def test_an_exact_curve_is_recovered_and_forecast_exactly() -> None:
    result = fit_curve(exact(0.05, 2.0, 0.5, (-0.004, 0.0, 0.004)))
    assert result.dev is not None
    assert result.dev.a == pytest.approx(0.05, abs=1e-6)
    assert result.dev.b == pytest.approx(2.0, rel=1e-4)
    assert result.dev.c == pytest.approx(0.5, rel=1e-4)
    assert [f["n"] for f in result.forecasts] == [2048, 4096, 10240]
    for forecast in result.forecasts:
        truth = 0.05 + 2.0 * forecast["n"] ** -0.5
        assert forecast["dev_error"] == pytest.approx(truth, abs=1e-6)
        low, high = forecast["interval"]
        assert low < truth < high
    assert not result.flattened and not result.too_uncertain
    assert result.verdict.startswith("more data helps")
    assert result.to_dict()["fit"]["form"] == FORM


def test_flattened_when_ten_times_the_data_gains_less_than_the_noise() -> None:
    result = fit_curve(exact(0.10, 0.05, 1.0, (-0.01, 0.0, 0.01)))
    assert result.flattened and not result.too_uncertain
    assert "flattened" in result.verdict


def test_too_uncertain_with_noisy_points_at_few_sizes() -> None:
    points = [
        CurvePoint(n=n, dev_error=e, seed=s)
        for n, es in [(100, (0.30, 0.10)), (200, (0.05, 0.28)), (400, (0.25, 0.04))]
        for s, e in enumerate(es)
    ]
    result = fit_curve(points)
    assert result.problem is None and result.too_uncertain
    assert result.verdict.startswith("too uncertain")


def test_too_few_points_keep_the_points_and_say_so() -> None:
    points = exact(0.05, 2.0, 0.5)[:2]
    result = fit_curve(points)
    assert result.dev is None and result.forecasts == []
    assert result.problem is not None and "too few points" in result.problem
    assert [p["n"] for p in result.to_dict()["points"]] == [64, 128]


def test_a_rising_curve_is_refused_with_its_points() -> None:
    points = [CurvePoint(n=n, dev_error=0.05 + n / 10_000) for n in SIZES]
    result = fit_curve(points)
    assert result.dev is None and "rises with more data" in (result.problem or "")
    assert len(result.to_dict()["points"]) == 5


def test_train_error_rising_is_fitted_with_the_mirrored_form() -> None:
    curve = fit_power_law(SIZES, [0.08 - 1.5 * n**-0.7 for n in SIZES], sign=-1)
    assert (curve.a, curve.b, curve.c) == pytest.approx((0.08, 1.5, 0.7), rel=1e-5)


def test_points_are_summarised_per_size_with_the_seeds_range() -> None:
    rows = summarize_points(exact(0.05, 2.0, 0.5, (-0.01, 0.01)))
    assert rows[0]["n"] == 64 and rows[0]["seeds"] == 2
    assert rows[0]["interval"] == pytest.approx([0.29, 0.31])
    assert rows[0]["dev_error"] == pytest.approx(0.30)
