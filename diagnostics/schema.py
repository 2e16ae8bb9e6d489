"""The columns of a predictions file, the reader's limits, the error sample's default size, and
per-split estimates of summed groups: what the exact reader (:mod:`diagnostics.ingest`) and the
DuckDB scan (:mod:`diagnostics.fastscan`) share. No pandas here, so ``diagnose FILE`` does not
load it unless the scan falls back to the exact reader."""

from __future__ import annotations

from diagnostics.metrics import GroupSums, LevelEstimate
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError, shown

REQUIRED_COLUMNS = ("split", "y_true", "y_pred")
SCORE_COLUMNS = ("score", "prob", "probability", "confidence")
OPTIONAL_COLUMNS = ("id", "weight", "input")
# Only an empty cell is missing: a class called NA or null is a class. Both readers (the exact
# one and the DuckDB scan) take their null markers from here.
CSV_NULL_VALUES = ("",)
MAX_SLICE_VALUES = 1_000  # one waterfall per value: more is no longer a slice, but an id
EXTREME_WEIGHT = 1e150  # weights beyond (or below 1/…) are rescaled before their squares are summed
DEFAULT_SAMPLE_SIZE = 100  # dev errors drawn for review (diagnostics.errors, compare's carry-over)


def split_estimates(sums: GroupSums, metric: str, first: int = 0) -> dict[str, LevelEstimate]:
    """The estimates of the non-empty splits whose groups are ``first`` … ``first + 3``.

    Groups are numbered split by split in :data:`SPLITS` order (slice ``v`` of a sliced
    diagnosis starts at ``first = v * len(SPLITS)``).
    """
    every = sums.estimates(metric)
    estimates = {name: every[first + i] for i, name in enumerate(SPLITS)}
    return {name: est for name, est in estimates.items() if est is not None}


DISCRETE_LIMIT = 10  # a numeric column with at most this many values is treated as categorical


class TooManySliceValues(InputError):
    """A slice column with more distinct values than a slice may have (a numeric one is binned
    instead: :func:`diagnostics.fastscan.scan_sliced`)."""


def check_slice_count(count: int, name: str, column: str) -> None:
    """Refuse a slice column with more than :data:`MAX_SLICE_VALUES` distinct values."""
    if count > MAX_SLICE_VALUES:
        raise TooManySliceValues(
            f"{name}, slice column '{shown(column, 40)}': {count:,} distinct values, more than the "
            f"{MAX_SLICE_VALUES:,} a slice may have (one waterfall each); slice by a column with "
            "few values (device, country) or bin this one"
        )
