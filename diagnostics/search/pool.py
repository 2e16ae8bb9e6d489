"""A target pool: target rows kept out of dev and test, moved into training k at a time.

A dataset names its pool in one of two ways (``--target-pool``):

* ``COLUMN=VALUE``: the train rows whose ``COLUMN`` equals ``VALUE``, the split designer's
  leftover target data (``split assign DATA --out FILE --source-column device --target-value
  phone`` puts the target rows that dev and test do not take into train). ``COLUMN`` is not a
  feature. A run at ``k`` trains on train without the pool plus ``k`` pool rows, so at the whole
  pool it trains on train as the plan made it.
* ``SPLIT`` (e.g. ``pool``): the rows whose ``split`` column says so, a split outside train,
  train-dev, dev and test (target rows held out of dev/test by the plan). A run at ``k`` trains
  on train plus ``k`` of them.

:func:`pool_rows` says which ``k``: the first ``k`` of the pool's nested, stratified order for
the run's seed (:func:`~diagnostics.search.fractions.nested_order`), so a user's objective picks
the same rows as the built-in models do: ``pool_rows(pool_labels, context.target_k,
context.seed)``, with the pool's rows in the dataset file's order. The rows a run trains on are
returned as split ``train``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from diagnostics.search.fractions import nested_order
from diagnostics.splitnames import SPLIT_ALIASES
from diagnostics.validation import InputError

if TYPE_CHECKING:
    from diagnostics.search.datasets import Dataset

POOL = "pool"  # the Dataset key of the pool's rows


@dataclass(frozen=True)
class PoolSpec:
    """``--target-pool``: a split name (``column`` None) or a column and its target value."""

    split: str | None = None
    column: str | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> PoolSpec:
        """``pool`` → a split name; ``device=phone`` → a column and its target value."""
        name, sep, value = (part.strip() for part in text.partition("="))
        if not name or (sep and not value):
            raise InputError(
                f"--target-pool '{text}': give a split name (e.g. pool) or COLUMN=VALUE "
                "(e.g. device=phone, the split designer's leftover target rows in train)"
            )
        if sep:
            if name in ("split", "id"):
                raise InputError(f"--target-pool '{text}': the pool's column cannot be '{name}'")
            return cls(column=name, value=value)
        if name.lower() in SPLIT_ALIASES:
            raise InputError(
                f"--target-pool '{text}': {name} is one of the four splits; name the pool's own "
                "split (e.g. pool) or COLUMN=VALUE"
            )
        return cls(split=name.lower())

    def pool_mask(self, frame: Any, split: np.ndarray) -> np.ndarray:
        """Which rows of a dataset table (its ``split`` array beside it: canonical names, the
        pool's own split as written or as ``pool``) are the pool; refused in one line when the
        column is missing, the pool is empty or it is all of train."""
        if self.column is not None:
            if self.column not in frame:
                raise InputError(
                    f"--target-pool: the dataset has no column '{self.column}'; columns found: "
                    f"{', '.join(map(str, frame.columns))}"
                )
            named = frame[self.column].astype(str).str.strip().to_numpy() == self.value
            mask = named & (split == "train")
            where = f"train rows with {self.column} = {self.value}"
        else:
            mask = np.isin(split, [POOL, str(self.split)])
            where = f"rows whose split is '{self.split}'"
        if not mask.any():
            raise InputError(
                f"--target-pool: the dataset has no {where}; the pool is target data kept out "
                "of dev and test"
            )
        if not (split[~mask] == "train").any():
            raise InputError(
                f"--target-pool: the {where} are all of train; keep the source's rows in train"
            )
        return np.asarray(mask)


def pool_rows(labels: Sequence[Any] | np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """The indices (into the pool) of the ``k`` pool rows a run with ``seed`` trains on:
    nested (a smaller ``k``'s rows are among a larger one's) and stratified (each class keeps
    its share up to one row); refused in one line when ``k`` exceeds the pool.

    >>> pool_rows(["a", "a", "b", "b"], 0).tolist()
    []
    >>> np.asarray(["a", "a", "b", "b"])[pool_rows(["a", "a", "b", "b"], 2, 5)].tolist()
    ['a', 'b']
    """
    y = np.asarray(labels)
    if not 0 <= k <= len(y):
        raise InputError(f"{k} target rows asked for, but the pool has {len(y)}")
    return np.sort(nested_order(y, seed)[:k])


def with_pool_rows(data: Dataset, k: int, seed: int) -> Dataset:
    """``data`` whose train also holds ``k`` pool rows (:func:`pool_rows`); ``data`` itself
    when it has no pool or ``k`` is 0."""
    if k == 0 or POOL not in data.y:
        return data
    rows = pool_rows(data.y[POOL], k, seed)

    def joined(part: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**part, "train": np.concatenate([part["train"], part[POOL][rows]])}

    return dataclasses.replace(data, x=joined(data.x), y=joined(data.y), ids=joined(data.ids))
