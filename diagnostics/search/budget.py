"""Grid vs random search for a budget, made visible (STRATEGY_NOTES §4).

With ``n`` trials over ``k`` searched axes a grid tries only ``n^(1/k)`` distinct values of each
axis, while random search tries ``n`` distinct values of every axis. If a sweet spot covers a
fraction ``w`` of the important axis, ``t`` distinct tries hit it with probability
``1 − (1 − w)^t``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from diagnostics.validation import InputError


def hit_probability(width: float, tries: int) -> float:
    """Chance that ``tries`` independent values hit a sweet spot covering ``width`` of the axis."""
    if not 0 < width <= 1:
        raise InputError(f"sweet-spot width must be in (0, 100%], got {width}")
    return 1.0 - (1.0 - width) ** max(0, tries)


def grid_values_per_axis(trials: int, axes: int) -> int:
    """Distinct values per axis a full grid of at most ``trials`` points can give: ⌊n^(1/k)⌋."""
    if trials < 1 or axes < 1:
        raise InputError("the budget needs at least 1 trial and 1 searched parameter")
    values = math.floor(math.pow(trials, 1.0 / axes) + 1e-9)
    return max(1, values)


@dataclass(frozen=True)
class BudgetComparison:
    """What grid and random search would try on the important axis, and their hit chances."""

    trials: int
    axes: int
    width: float
    grid_values: int
    random_values: int
    grid_hit: float
    random_hit: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        return asdict(self)


def compare_grid_random(trials: int, axes: int, width: float) -> BudgetComparison:
    """Grid (⌊n^(1/k)⌋ values per axis) vs random (n values per axis) for a sweet spot width."""
    grid = grid_values_per_axis(trials, axes)
    return BudgetComparison(
        trials=trials,
        axes=axes,
        width=width,
        grid_values=grid,
        random_values=trials,
        grid_hit=hit_probability(width, grid),
        random_hit=hit_probability(width, trials),
    )
