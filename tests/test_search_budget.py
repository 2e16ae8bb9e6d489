"""Grid vs random: values per axis and the chance of hitting a sweet spot."""

import pytest

from diagnostics.search.budget import compare_grid_random, grid_values_per_axis, hit_probability
from diagnostics.validation import InputError


def test_five_grid_values_hit_a_ten_percent_spot_41_percent_of_the_time():
    assert hit_probability(0.10, 5) == pytest.approx(0.41, abs=0.005)


def test_twenty_five_random_values_hit_it_93_percent_of_the_time():
    assert hit_probability(0.10, 25) == pytest.approx(0.93, abs=0.005)


def test_25_trials_on_two_axes_grid_5_values_random_25():
    result = compare_grid_random(25, 2, 0.10)
    assert (result.grid_values, result.random_values) == (5, 25)
    assert result.grid_hit == pytest.approx(0.4095, abs=1e-4)
    assert result.random_hit == pytest.approx(0.9282, abs=1e-4)


def test_grid_values_per_axis_floors_the_root():
    assert grid_values_per_axis(27, 3) == 3
    assert grid_values_per_axis(20, 3) == 2
    assert grid_values_per_axis(2, 6) == 1


def test_bad_budget_is_refused():
    with pytest.raises(InputError):
        hit_probability(0, 5)
    with pytest.raises(InputError):
        grid_values_per_axis(0, 2)
