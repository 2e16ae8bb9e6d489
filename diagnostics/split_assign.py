"""Apply a split plan to a real dataset: a seeded, stratified, grouped ``split`` column.

How rows are assigned (vectorized, except for a loop over the few largest groups):

1. Units are groups (``group`` column) or single rows. A group's stratum is its most common
   label (``label`` column); without a label there is one stratum. The target table is the
   plan's rows per split times each class's share: rows (split, class) the split should hold.
2. Single rows: an exact table of counts per stratum and split (controlled rounding), so class
   proportions match within one row.
3. Groups: all of them up to :data:`GREEDY_GROUPS` groups; beyond, those with rows of several
   classes or above :data:`LARGE_GROUP_SHARE` of the smallest split (the largest
   :data:`GREEDY_GROUPS` of them, ties in a seeded order). They go one by one, in
   scikit-learn's ``StratifiedGroupKFold`` order (the most concentrated label histogram first),
   to the split where their whole label histogram brings the (split, class) counts closest to
   the plan's shares of their rows (least Σ (count − target)² / target): the same greedy,
   generalized to unequal split sizes, then one pass of moves. The rest (mostly small, of one class)
   are cut per stratum: a seeded order, each unit's position the middle of its rows on the
   stratum's row axis (0–1), cut in the shares each split still lacks of that class.
A group never crosses splits; where the mix still drifts (a group too large for its split),
:func:`apply_plan` warns, naming the class and the split.

With a ``source`` column (mismatched data), rows whose value equals ``target_value`` are the
target: dev and test come only from them, the rest of the target goes to training, train-dev
from the source. A group with rows in both source and target stays whole in training.

:func:`check_leakage` then looks for identical rows (or identical inputs by a hash column) in
different splits, and for groups in several splits.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from diagnostics.formats import is_parquet_file
from diagnostics.rates import parse_rate
from diagnostics.splitnames import SPLIT_LABELS, SPLITS, normalize_split
from diagnostics.splits import SplitPlan, plan_mismatched, plan_split
from diagnostics.validation import InputError, format_rows

SPLIT_COLUMN = "split"
DENSE_MAJORITY_LIMIT = 1 << 25  # groups × classes up to which the majority uses one bincount
GREEDY_GROUPS = 20_000  # the largest groups placed one by one (about 20 µs each)
LARGE_GROUP_SHARE = 0.01  # a group above this share of the smallest split goes to the greedy
MIX_DRIFT = 0.02  # a class's share in a split this far from its overall share is warned about


def assign_splits(
    frame: pd.DataFrame,
    plan_or_fractions: SplitPlan | dict[str, float] | None = None,
    *,
    label: str | None = None,
    group: str | None = None,
    source: str | None = None,
    target_value: object = None,
    seed: int = 0,
    name: str = "the data",
) -> pd.Series:
    """A categorical ``split`` Series (same index as ``frame``) following the plan.

    ``plan_or_fractions``: a :class:`SplitPlan` (its fractions are used if its total differs
    from the number of rows), a dict of fractions per split (missing splits get none), or None
    for :func:`plan_split` of the row count, or :func:`plan_mismatched` of the source and target
    counts when ``source`` is given. ``name`` names the data in error messages.
    """
    check_columns(frame, [label, group, source], name)
    n_rows = len(frame)
    if n_rows == 0:
        raise InputError(f"{name} has no rows to split")
    rng = np.random.default_rng(seed)
    unit_of_row, unit_sizes = _units(frame, group, name)
    classes = _row_classes(frame, label)
    strata, majority = _unit_strata(classes, unit_of_row, len(unit_sizes))
    if source is None:
        plan = _single_plan(plan_or_fractions, n_rows)
        row_counts = _scaled_counts(plan, n_rows)
        rows = _RowClasses(unit_of_row, classes)
        unit_split = _cut_units(unit_sizes, strata, majority, row_counts, rng, rows)
        return _as_split_series(unit_split[unit_of_row], frame.index)
    is_target = _target_mask(frame, source, target_value, name)
    plan = plan_or_fractions or plan_mismatched(
        int((~is_target).sum()),
        int(is_target.sum()),
        source_name="source",
        target_name=str(target_value),
    )
    if not isinstance(plan, SplitPlan) or plan.regime != "mismatched":
        raise InputError(
            "with a source column the plan comes from the source and target counts; "
            "drop the fractions or pass a mismatched plan"
        )
    target_share = np.bincount(unit_of_row, weights=is_target, minlength=len(unit_sizes))
    unit_domain = np.where(target_share == unit_sizes, 1, np.where(target_share == 0, 0, 2))
    unit_split = np.full(len(unit_sizes), SPLITS.index("train"), dtype=np.int8)
    source_name, target_name = plan.training_pool  # keys: source's name, then target's
    for domain, domain_name in ((0, source_name), (1, target_name)):
        members = np.flatnonzero(unit_domain == domain)
        sizes = unit_sizes[members]
        wanted = {s: plan.composition[s][domain_name] for s in SPLITS}
        counts = _scale(wanted, int(sizes.sum()))
        local = np.full(len(unit_sizes), -1, dtype=np.int64)
        local[members] = np.arange(len(members))
        rows = _RowClasses(local[unit_of_row], classes)
        unit_split[members] = _cut_units(
            sizes, strata[members], majority[members], counts, rng, rows
        )
    return _as_split_series(unit_split[unit_of_row], frame.index)


def check_columns(frame: pd.DataFrame, columns: Iterable[str | None], name: str) -> None:
    """Refuse named columns that ``frame`` lacks, listing the columns found."""
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} has no column {', '.join(repr(c) for c in missing)}; columns found: "
            f"{', '.join(map(str, frame.columns)) or '(none)'}"
        )


def _single_plan(
    plan_or_fractions: SplitPlan | dict[str, Any] | str | None, n_rows: int
) -> SplitPlan | dict[str, float]:
    if plan_or_fractions is None:
        return plan_split(n_rows)
    if isinstance(plan_or_fractions, SplitPlan):
        if plan_or_fractions.regime == "mismatched":
            raise InputError("a mismatched plan needs a source column and its target value")
        return plan_or_fractions
    return parse_fractions(plan_or_fractions)


def parse_fractions(fractions: dict[str, Any] | str) -> dict[str, float]:
    """Fractions per split from a dict or ``"train=90%,dev=5%,test=5%"``; they must sum to 1."""
    if isinstance(fractions, str):
        pairs = [p.split("=", 1) for p in fractions.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise InputError(
                f"fractions '{fractions}': write them as train=90%,dev=5%,test=5% (one per split)"
            )
        fractions = dict(pairs)
    parsed = {s: 0.0 for s in SPLITS}
    for key, value in fractions.items():
        parsed[normalize_split(key)] = parse_rate(value, what=f"fraction of {key}")
    if abs(sum(parsed.values()) - 1) > 1e-6:
        raise InputError(
            f"split fractions add up to {sum(parsed.values()):.2%}, not 100%; e.g. "
            "train=90%,dev=5%,test=5%"
        )
    return parsed


def _scaled_counts(plan: SplitPlan | dict[str, float], n_rows: int) -> dict[str, int]:
    if isinstance(plan, SplitPlan):
        return dict(plan.counts) if plan.total == n_rows else _scale(plan.counts, n_rows)
    return _scale(plan, n_rows)


def _scale(weights: Mapping[str, float], n: int) -> dict[str, int]:
    """Split ``n`` in proportion to ``weights`` (largest remainder), exact when they sum to n."""
    total = sum(weights.values())
    if total == n:
        return {s: int(weights[s]) for s in SPLITS}
    if total <= 0:
        return {s: (n if s == "train" else 0) for s in SPLITS}
    ideal = np.array([weights[s] * n / total for s in SPLITS])
    counts = np.floor(ideal).astype(np.int64)
    order = np.argsort(-(ideal - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return dict(zip(SPLITS, counts.tolist(), strict=True))


def _units(frame: pd.DataFrame, group: str | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    if group is None:
        return np.arange(len(frame)), np.ones(len(frame), dtype=np.int64)
    codes, _ = pd.factorize(frame[group], sort=False)
    empty = codes < 0
    if empty.any():
        raise InputError(
            f"{name}, column '{group}': {int(empty.sum())} empty group values (rows "
            f"{format_rows(np.flatnonzero(empty)[:5] + 1)}); every row needs a group"
        )
    return codes, np.bincount(codes)


def _row_classes(frame: pd.DataFrame, label: str | None) -> np.ndarray:
    """Each row's class code (all 0 without a label column)."""
    if label is None:
        return np.zeros(len(frame), dtype=np.int64)
    codes: np.ndarray = pd.factorize(frame[label], use_na_sentinel=False)[0]
    return codes


def _unit_strata(
    classes: np.ndarray, unit_of_row: np.ndarray, n_units: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's most common class and how many of its rows have it."""
    if n_units == len(classes):
        strata = np.empty(n_units, dtype=classes.dtype)
        strata[unit_of_row] = classes
        return strata, np.ones(n_units, dtype=np.int64)
    n_classes = int(classes.max()) + 1
    if n_units * n_classes <= DENSE_MAJORITY_LIMIT:
        counts = np.bincount(unit_of_row * n_classes + classes, minlength=n_units * n_classes)
        counts = counts.reshape(n_units, n_classes)
        strata = counts.argmax(axis=1)
        return strata, counts[np.arange(n_units), strata]
    pairs, pair_counts = np.unique(unit_of_row * n_classes + classes, return_counts=True)
    units, labels = np.divmod(pairs, n_classes)
    best = np.lexsort((-pair_counts, units))
    first = np.r_[True, units[best][1:] != units[best][:-1]]
    return labels[best][first], pair_counts[best][first]


@dataclass(frozen=True)
class _RowClasses:
    """Each row's unit among those being cut (−1 for rows of other units) and class code."""

    unit: np.ndarray
    label: np.ndarray

    @property
    def n_classes(self) -> int:
        """Number of class codes."""
        return int(self.label.max()) + 1 if len(self.label) else 1

    def totals(self) -> np.ndarray:
        """Rows per class among the units being cut."""
        mine = self.unit >= 0
        labels = self.label if mine.all() else self.label[mine]
        return np.bincount(labels, minlength=self.n_classes)

    def histograms(self, units: np.ndarray, n_units: int) -> np.ndarray:
        """Rows per class of each unit in ``units`` (one row of the result per unit)."""
        rank = np.full(n_units + 1, -1, dtype=np.int32)  # the last entry: rows of other units
        rank[units] = np.arange(len(units), dtype=np.int32)
        picked = rank[self.unit]
        keep = np.flatnonzero(picked >= 0)
        cells = picked[keep].astype(np.int64) * self.n_classes + self.label[keep]
        flat = np.bincount(cells, minlength=len(units) * self.n_classes)
        return flat.reshape(len(units), self.n_classes).astype(np.float64)


def _cut_units(
    sizes: np.ndarray,
    strata: np.ndarray,
    majority: np.ndarray,
    counts: dict[str, int],
    rng: np.random.Generator,
    rows: _RowClasses,
) -> np.ndarray:
    """Split index per unit: whole units, class mix and row counts as close to the plan as the
    units allow (the module docstring's steps 2–3; ``majority``: rows of each unit's stratum)."""
    if len(sizes) == 0:
        return np.zeros(0, dtype=np.int8)
    shuffled = rng.permutation(len(sizes))
    unit_split = np.empty(len(sizes), dtype=np.int8)
    wanted = np.array([counts[s] for s in SPLITS], dtype=np.int64)
    if np.all(sizes == 1):  # rows: an exact table of counts per stratum and split
        compact = strata.astype(np.min_scalar_type(max(int(strata.max()), 0)))  # radix sort
        order = shuffled[np.argsort(compact[shuffled], kind="stable")]
        allocation = _allocate(np.bincount(strata), wanted)
        labels = np.tile(np.arange(len(SPLITS), dtype=np.int8), len(allocation))
        unit_split[order] = np.repeat(labels, allocation.ravel())
        return unit_split
    totals = rows.totals().astype(np.float64)
    target = np.outer(wanted, totals) / max(totals.sum(), 1.0)  # rows per (split, class)
    by_size = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    if len(sizes) <= GREEDY_GROUPS:
        greedy = by_size
    else:  # many units: the greedy takes those of several classes or large, the rest are cut
        large = sizes > LARGE_GROUP_SHARE * wanted[wanted > 0].min()
        greedy = by_size[((majority < sizes) | large)[by_size]][:GREEDY_GROUPS]
    histograms = rows.histograms(greedy, len(sizes))
    own_share = np.outer(wanted, histograms.sum(axis=0)) / max(int(wanted.sum()), 1)
    placed = _place_greedily(histograms, own_share)  # its own units in the plan's shares
    unit_split[greedy] = placed.split
    chosen = np.zeros(len(sizes), dtype=bool)
    chosen[greedy] = True
    rest = by_size[~chosen[by_size]]
    if len(rest):
        lacking = np.maximum(target - placed.counts, 0.0)
        unit_split[rest] = _cut_per_stratum(sizes[rest], strata[rest], lacking, rng)
    return unit_split


@dataclass(frozen=True)
class _Placement:
    split: np.ndarray  # split index per placed unit, in the order given
    counts: np.ndarray  # rows per (split, class) after placing them


def _place_greedily(histograms: np.ndarray, target: np.ndarray) -> _Placement:
    """StratifiedGroupKFold's greedy to a target table: units with the most concentrated label
    histogram first, each to the split whose Σ (count − target)² / target grows least; then one
    pass that moves each unit to its best split given all the others (the sum never grows)."""
    order = np.argsort(-histograms.std(axis=1), kind="stable")
    open_split = target.sum(axis=1) > 0
    inverse = np.divide(1.0, target, out=np.zeros_like(target), where=target > 0)
    counts = np.zeros_like(target)
    split = np.zeros(len(histograms), dtype=np.int8)
    for unit in order:
        best = _best_split(histograms[unit], counts, target, inverse, open_split)
        counts[best] += histograms[unit]
        split[unit] = best
    for unit in order:  # one pass of moves: each unit to its best split given all the others
        h = histograms[unit]
        counts[split[unit]] -= h
        best = _best_split(h, counts, target, inverse, open_split)
        counts[best] += h
        split[unit] = best
    return _Placement(split, counts)


def _best_split(
    h: np.ndarray,
    counts: np.ndarray,
    target: np.ndarray,
    inverse: np.ndarray,
    open_split: np.ndarray,
) -> int:
    """The split where adding histogram ``h`` grows Σ (count − target)² / target least."""
    growth = ((2 * (counts - target) + h) * h * inverse).sum(axis=1)
    growth[~open_split] = np.inf
    return int(np.argmin(growth))


def _cut_per_stratum(
    sizes: np.ndarray, strata: np.ndarray, lacking: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Small units: within each stratum a seeded order cut at the shares each split still
    lacks of that class (of all rows still lacking where the class is already complete)."""
    shuffled = rng.permutation(len(sizes))
    order = shuffled[np.argsort(strata[shuffled], kind="stable")]
    ordered_sizes = sizes[order].astype(np.float64)
    ordered_strata = strata[order]
    n_strata = max(int(strata.max()) + 1, lacking.shape[1])
    stratum_rows = np.bincount(ordered_strata, weights=ordered_sizes, minlength=n_strata)
    stratum_start = np.cumsum(stratum_rows) - stratum_rows
    rows_before = np.cumsum(ordered_sizes) - ordered_sizes
    position = (rows_before - stratum_start[ordered_strata] + ordered_sizes / 2) / stratum_rows[
        ordered_strata
    ]
    shares = np.zeros((n_strata, lacking.shape[0]))
    shares[: lacking.shape[1]] = lacking.T
    shares[shares.sum(axis=1) == 0] = lacking.sum(axis=1)
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1e-300)
    bounds = np.cumsum(shares, axis=1)[:, :-1]
    unit_split = np.empty(len(sizes), dtype=np.int8)
    unit_split[order] = (position[:, None] > bounds[ordered_strata]).sum(axis=1)
    return unit_split


def _allocate(stratum_sizes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Rows per (stratum, split): each within one of its share, rows and columns exact.

    Start from the floor of each stratum's proportional share, then hand the leftover rows out
    one at a time, largest fractional part first, to cells whose stratum and split still lack
    rows (controlled rounding).
    """
    ideal = np.outer(stratum_sizes, wanted) / max(int(wanted.sum()), 1)
    allocation = np.floor(ideal).astype(np.int64)
    row_left = stratum_sizes - allocation.sum(axis=1)
    column_left = wanted - allocation.sum(axis=0)
    for flat in np.argsort(-(ideal - allocation), axis=None, kind="stable"):
        stratum, split = divmod(int(flat), len(wanted))
        if row_left[stratum] > 0 and column_left[split] > 0:
            allocation[stratum, split] += 1
            row_left[stratum] -= 1
            column_left[split] -= 1
    # rare: a stratum whose splits were all filled
    for stratum in np.flatnonzero(row_left).tolist():
        for split in np.flatnonzero(column_left).tolist():
            give = min(row_left[stratum], column_left[split])
            allocation[stratum, split] += give
            row_left[stratum] -= give
            column_left[split] -= give
    return allocation


def _target_mask(frame: pd.DataFrame, source: str, target_value: object, name: str) -> np.ndarray:
    if target_value is None:
        raise InputError(f"a source column ('{source}') needs the target value (e.g. phone)")
    values = frame[source].astype(str).to_numpy()
    mask: np.ndarray = values == str(target_value)
    if not mask.any():
        found = pd.unique(values)[:10]
        raise InputError(
            f"{name}, column '{source}': no row has the target value '{target_value}'; values "
            f"found: {', '.join(map(str, found))}"
        )
    if mask.all():
        raise InputError(
            f"{name}, column '{source}': every row is '{target_value}', so there is no source "
            "data; drop the source column to split one distribution"
        )
    return mask


def _as_split_series(codes: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=list(SPLITS)), index=index, name=SPLIT_COLUMN
    )


# -- leakage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeakageReport:
    """Identical rows (or inputs) and groups found in more than one split."""

    checked: str
    duplicate_sets_across_splits: int
    rows_in_those_sets: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    groups_across_splits: int = 0

    @property
    def clean(self) -> bool:
        """True when nothing leaks across splits."""
        return self.duplicate_sets_across_splits == 0 and self.groups_across_splits == 0

    def messages(self) -> list[str]:
        """Plain-words findings, empty when clean."""
        found = []
        if self.duplicate_sets_across_splits:
            first = self.examples[0]
            shown = ", ".join(
                f"row {r} ({s})" for r, s in zip(first["rows"], first["splits"], strict=True)
            )
            found.append(
                f"{self.duplicate_sets_across_splits:,} sets of identical {self.checked} "
                f"({self.rows_in_those_sets:,} rows) sit in more than one split, e.g. {shown}; "
                "dev/test scores will be optimistic. Group them (--group) or drop duplicates."
            )
        if self.groups_across_splits:
            found.append(f"{self.groups_across_splits:,} groups appear in more than one split")
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the findings in plain words."""
        return {
            "checked": self.checked,
            "duplicate_sets_across_splits": self.duplicate_sets_across_splits,
            "rows_in_those_sets": self.rows_in_those_sets,
            "examples": self.examples,
            "groups_across_splits": self.groups_across_splits,
            "clean": self.clean,
            "messages": self.messages(),
        }


def _row_hashes(values: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash per row; nested values (a Parquet struct or list column) by their text."""
    try:
        hashes: np.ndarray = pd.util.hash_pandas_object(values, index=False).to_numpy()
    except TypeError:  # dicts, lists and arrays are unhashable
        nested = [c for c in values.columns if values[c].dtype == object]
        text = values.assign(**{c: values[c].map(repr) for c in nested})
        hashes = pd.util.hash_pandas_object(text, index=False).to_numpy()
    return hashes


def check_leakage(
    frame: pd.DataFrame,
    split: pd.Series,
    *,
    hash_column: str | None = None,
    group: str | None = None,
    name: str = "the data",
) -> LeakageReport:
    """Find identical rows (or equal ``hash_column`` values) and groups across splits.

    Rows are compared by a 64-bit hash of their values (pandas' ``hash_pandas_object``; a
    collision between different rows is vanishingly unlikely). Row numbers are 1-based.
    """
    check_columns(frame, [hash_column, group], name)
    split_codes = np.asarray(split.cat.codes, dtype=np.int8)
    values = frame[[hash_column]] if hash_column else frame
    hashes = _row_hashes(values)
    ordered = np.sort(hashes)
    repeated_values = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    repeated = np.flatnonzero(np.isin(hashes, repeated_values))
    order = repeated[np.argsort(hashes[repeated], kind="stable")]
    sorted_hashes = hashes[order]
    starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])[: len(order)]
    sorted_splits = split_codes[order]
    if len(order):
        crossing = np.minimum.reduceat(sorted_splits, starts) != np.maximum.reduceat(
            sorted_splits, starts
        )
    else:
        crossing = np.zeros(0, dtype=bool)
    lengths = np.diff(np.r_[starts, len(order)])
    examples = []
    for start, length in zip(starts[crossing][:5], lengths[crossing][:5], strict=True):
        rows = np.sort(order[start : start + length])[:6]
        examples.append(
            {"rows": (rows + 1).tolist(), "splits": [SPLITS[split_codes[r]] for r in rows]}
        )
    groups_across = 0
    if group is not None:
        codes, uniques = pd.factorize(frame[group])
        seen = np.zeros((len(uniques), len(SPLITS)), dtype=bool)
        keep = codes >= 0
        seen[codes[keep], split_codes[keep]] = True
        groups_across = int((seen.sum(axis=1) > 1).sum())
    return LeakageReport(
        checked=f"values of '{hash_column}'" if hash_column else "rows",
        duplicate_sets_across_splits=int(crossing.sum()),
        rows_in_those_sets=int(lengths[crossing].sum()),
        examples=examples,
        groups_across_splits=groups_across,
    )


# -- the whole job ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitAssignment:
    """A dataset's assigned splits: the plan used, the split column, counts and findings."""

    plan: SplitPlan | dict[str, float]
    split: pd.Series
    assigned: dict[str, int]
    leakage: LeakageReport
    shortfalls: list[str]


def plan_for_dataset(
    frame: pd.DataFrame,
    *,
    fractions: str | dict[str, Any] | None = None,
    source_column: str | None = None,
    target_value: object = None,
    source_name: str = "source",
    **options: Any,
) -> SplitPlan | dict[str, float]:
    """The plan for ``frame``: given fractions, a mismatched plan by ``source_column``, or the
    single-distribution plan of its row count (``options`` go to the planners)."""
    if fractions:
        return parse_fractions(fractions)
    if source_column:
        is_target = frame[source_column].astype(str) == str(target_value)
        return plan_mismatched(
            int((~is_target).sum()),
            int(is_target.sum()),
            source_name=source_name,
            target_name=str(target_value),
            **options,
        )
    return plan_split(len(frame), **options)


def apply_plan(
    frame: pd.DataFrame,
    plan: SplitPlan | dict[str, float],
    *,
    label: str | None = None,
    group: str | None = None,
    source_column: str | None = None,
    target_value: object = None,
    hash_column: str | None = None,
    seed: int = 0,
    name: str = "the data",
) -> SplitAssignment:
    """Assign ``plan`` to ``frame`` (:func:`assign_splits`) and check the result for leakage."""
    check_columns(frame, [label, group, source_column, hash_column], name)
    split = assign_splits(
        frame,
        plan,
        label=label,
        group=group,
        source=source_column,
        target_value=target_value,
        seed=seed,
        name=name,
    )
    leakage = check_leakage(frame, split, hash_column=hash_column, group=group, name=name)
    assigned = {
        s: int(n) for s, n in split.value_counts().reindex(list(SPLITS), fill_value=0).items()
    }
    warnings = _shortfalls(plan, assigned, len(frame))
    if label is not None:
        warnings += class_mix_drift(frame[label], split)
    return SplitAssignment(plan, split, assigned, leakage, warnings)


def class_mix_drift(labels: pd.Series, split: pd.Series, tolerance: float = MIX_DRIFT) -> list[str]:
    """Warnings naming each split and class whose share in that split is off its overall share
    by more than ``tolerance`` (and by more than one row of the split: rounding is no drift)."""
    overall = labels.value_counts(normalize=True)
    table = pd.crosstab(split, labels)
    table = table[table.sum(axis=1) > 0]
    rows = table.sum(axis=1)
    shares = table.div(rows, axis=0)
    found = []
    for name in table.index:
        limit = max(tolerance, 1 / rows[name])
        drift = (shares.loc[name] - overall).abs()
        for value in drift[drift > limit].index:
            found.append(
                f"{str(name).replace('_', '-')} holds {shares.loc[name, value]:.1%} of class "
                f"'{value}' against {overall[value]:.1%} overall: whole groups could not keep "
                "the class mix (a group too large for the split); move or split that group, "
                "or accept the drift"
            )
    return found


def _shortfalls(
    plan: SplitPlan | dict[str, float], assigned: dict[str, int], rows: int
) -> list[str]:
    """Warnings where whole groups made a split much smaller or larger than planned."""
    shares = plan.fractions if isinstance(plan, SplitPlan) else plan
    planned = {s: round(shares[s] * rows) for s in SPLITS}
    return [
        f"{SPLIT_LABELS[s]} got {assigned[s]:,} rows, the plan asked for {planned[s]:,}: "
        "groups are kept whole (large groups, or groups with both source and target rows, "
        "which stay in training)"
        for s in SPLITS
        if abs(assigned[s] - planned[s]) > max(1, 0.05 * planned[s])
    ]


# -- files ------------------------------------------------------------------------------------


def _read_csv_as_text(path: Path) -> pa.Table:
    """A CSV with every column as its text (``00042`` stays ``00042``, not the number 42, and
    ids above 2⁶³ stay distinct); empty fields are missing values."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as source:
        names = next(csv.reader(source), [])
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
    )
    read = pacsv.ReadOptions(block_size=64 << 20)
    return pacsv.read_csv(path, read_options=read, convert_options=convert)


def read_dataset(path: str | os.PathLike[str], *, display_name: str | None = None) -> pd.DataFrame:
    """Read a whole CSV or Parquet dataset (any columns) into a DataFrame; a CSV's values as
    their text, so groups, ids and hashes compare exactly as written."""
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise InputError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes)")
    try:
        table = pq.read_table(path) if is_parquet_file(path) else _read_csv_as_text(path)
    except (pa.ArrowException, OSError) as exc:
        kind = "Parquet" if is_parquet_file(path) else "CSV"
        first = str(exc).splitlines()[0]
        raise InputError(f"{name} could not be read as {kind}: {first}") from None
    if SPLIT_COLUMN in table.column_names:
        raise InputError(
            f"{name} already has a '{SPLIT_COLUMN}' column; drop or rename it to assign new splits"
        )
    return table.to_pandas(split_blocks=True, self_destruct=True)


def check_same_format(out: str | os.PathLike[str], like: str | os.PathLike[str]) -> None:
    """Refuse an output named for another format than its input (CSV in, CSV out)."""
    path = Path(out)
    parquet = is_parquet_file(Path(like))
    suffix = path.suffix.lower()
    if (parquet and suffix == ".csv") or (not parquet and suffix in (".parquet", ".pq")):
        wanted = "Parquet" if parquet else "CSV"
        raise InputError(f"--out {path.name}: the input is {wanted}, so the output is {wanted} too")
