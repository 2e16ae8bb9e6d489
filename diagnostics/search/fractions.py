"""Nested, stratified fractions of train: which rows a run at ``context.train_fraction`` uses.

:func:`nested_order` orders train's rows once per seed so that every prefix is stratified:
each class's rows are shuffled and row ``k`` of a class of size ``m`` gets the key
``(k + 0.5) / m``; rows are sorted by key (ties by class). :func:`train_subset` takes the first
``max(1, round(fraction * n))`` rows of that order, so the rows of a smaller fraction are always
among those of a larger one (nested), and each class keeps its share up to one row
(stratified). scikit-learn's ``learning_curve`` takes the first ``n`` indices of its training
fold, so given this order as the fold it trains on exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from diagnostics.validation import InputError

DEFAULT_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)


def nested_order(labels: Sequence[Any] | np.ndarray, seed: int = 0) -> np.ndarray:
    """Train's row indices in the order runs take them (see the module docstring).

    >>> nested_order([0, 0, 1, 1], seed=0).tolist() in ([0, 2, 1, 3], [0, 3, 1, 2],
    ...                                                   [1, 2, 0, 3], [1, 3, 0, 2])
    True
    """
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keys = np.empty(len(y))
    classes, codes = np.unique(y, return_inverse=True)
    for code in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(codes == code))
        keys[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
    return np.lexsort((codes, keys))


def subset_size(n: int, fraction: float) -> int:
    """How many of ``n`` train rows a run at ``fraction`` uses."""
    if not 0 < fraction <= 1:
        raise InputError(f"train fraction {fraction:g} must be in (0, 1]")
    return max(1, round(fraction * n))


def train_subset(labels: Sequence[Any] | np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """The indices of train's rows a run at ``fraction`` trains on (nested, stratified); refused
    with one line when a class would get no row."""
    y = np.asarray(labels)
    order = nested_order(y, seed)
    chosen = order[: subset_size(len(y), fraction)]
    missing = sorted(set(np.unique(y).tolist()) - set(np.unique(y[chosen]).tolist()))
    if missing:
        smallest = min(int(np.sum(y == c)) for c in missing)
        raise InputError(
            f"train fraction {fraction:g} leaves class {missing[0]!r} with no training row "
            f"(it has {smallest} of {len(y)}); use fractions above {0.5 / smallest:g} or "
            "merge rare classes"
        )
    return np.sort(chosen)


def smallest_fraction(labels: Sequence[Any] | np.ndarray, fractions: Sequence[float]) -> str | None:
    """One line naming the fractions too small for some class of ``labels`` (None: all fit)."""
    too_small = []
    for fraction in fractions:
        try:
            train_subset(labels, fraction)
        except InputError as exc:
            too_small.append((fraction, str(exc)))
    if not too_small:
        return None
    listed = ", ".join(f"{f:g}" for f, _ in too_small)
    return f"fractions {listed} skipped: {too_small[-1][1]}"
