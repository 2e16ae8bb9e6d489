"""Apply a split plan to a real dataset: a seeded, stratified, grouped ``split`` column.

How rows are assigned (all vectorized, no Python loop over rows or groups):

1. Units are groups (``group`` column) or single rows. A group's stratum is its most common
   label (``label`` column); without a label there is one stratum.
2. Within each stratum the units get a seeded random order; each unit's position is the middle
   of its rows on the stratum's row axis, scaled to 0–1. So every stratum is spread evenly
   over 0–1.
3. All units are sorted by that position and cut into consecutive runs whose row counts match
   the plan. Each cut takes the same share of every stratum (class proportions match within
   about one group per class), rows are exact without groups, and a group never crosses splits.

With a ``source`` column (mismatched data), rows whose value equals ``target_value`` are the
target: dev and test come only from them, the rest of the target goes to training, train-dev
from the source. A group with rows in both source and target stays whole in training.

:func:`check_leakage` then looks for identical rows (or identical inputs by a hash column) in
different splits, and for groups in several splits.
"""

from __future__ import annotations

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

from diagnostics.rates import parse_rate
from diagnostics.splitnames import SPLITS, normalize_split
from diagnostics.splits import SplitPlan, plan_mismatched, plan_split
from diagnostics.validation import InputError, format_rows

SPLIT_COLUMN = "split"
DENSE_MAJORITY_LIMIT = 1 << 25  # groups × classes up to which the majority uses one bincount


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
    strata = _unit_strata(frame, label, unit_of_row, len(unit_sizes))
    if source is None:
        plan = _single_plan(plan_or_fractions, n_rows)
        row_counts = _scaled_counts(plan, n_rows)
        unit_split = _cut_units(unit_sizes, strata, row_counts, rng)
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
        unit_split[members] = _cut_units(sizes, strata[members], counts, rng)
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


def _unit_strata(
    frame: pd.DataFrame, label: str | None, unit_of_row: np.ndarray, n_units: int
) -> np.ndarray:
    if label is None:
        return np.zeros(n_units, dtype=np.int64)
    classes, _ = pd.factorize(frame[label], use_na_sentinel=False)
    if n_units == len(frame):
        strata = np.empty(n_units, dtype=classes.dtype)
        strata[unit_of_row] = classes
        return strata
    n_classes = int(classes.max()) + 1
    if n_units * n_classes <= DENSE_MAJORITY_LIMIT:
        counts = np.bincount(unit_of_row * n_classes + classes, minlength=n_units * n_classes)
        return counts.reshape(n_units, n_classes).argmax(axis=1)
    pairs, pair_counts = np.unique(unit_of_row * n_classes + classes, return_counts=True)
    units, labels = np.divmod(pairs, n_classes)
    best = np.lexsort((-pair_counts, units))
    first = np.r_[True, units[best][1:] != units[best][:-1]]
    return labels[best][first]


def _cut_units(
    sizes: np.ndarray, strata: np.ndarray, counts: dict[str, int], rng: np.random.Generator
) -> np.ndarray:
    """Split index per unit: a seeded order within strata, cut into runs of ``counts`` rows."""
    if len(sizes) == 0:
        return np.zeros(0, dtype=np.int8)
    shuffled = rng.permutation(len(sizes))
    compact = strata.astype(np.min_scalar_type(max(int(strata.max()), 0)))  # radix sort if small
    order = shuffled[np.argsort(compact[shuffled], kind="stable")]
    unit_split = np.empty(len(sizes), dtype=np.int8)
    wanted = np.array([counts[s] for s in SPLITS], dtype=np.int64)
    if np.all(sizes == 1):  # rows: an exact table of counts per stratum and split
        allocation = _allocate(np.bincount(strata), wanted)
        labels = np.tile(np.arange(len(SPLITS), dtype=np.int8), len(allocation))
        unit_split[order] = np.repeat(labels, allocation.ravel())
        return unit_split
    ordered_sizes = sizes[order].astype(np.float64)
    ordered_strata = strata[order]
    stratum_rows = np.bincount(ordered_strata, weights=ordered_sizes)
    stratum_start = np.cumsum(stratum_rows) - stratum_rows
    rows_before = np.cumsum(ordered_sizes) - ordered_sizes
    position = (rows_before - stratum_start[ordered_strata] + ordered_sizes / 2) / stratum_rows[
        ordered_strata
    ]
    by_position = np.argsort(position, kind="stable")
    run_sizes = ordered_sizes[by_position]
    middles = np.cumsum(run_sizes) - run_sizes / 2
    unit_split[order[by_position]] = np.searchsorted(np.cumsum(wanted)[:-1], middles, "right")
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
    for stratum in np.flatnonzero(row_left):  # rare: a stratum whose splits were all filled
        for split in np.flatnonzero(column_left):
            give = min(row_left[stratum], column_left[split])
            allocation[stratum, split] += give
            row_left[stratum] -= give
            column_left[split] -= give
    return allocation


def _target_mask(frame: pd.DataFrame, source: str, target_value: object, name: str) -> np.ndarray:
    if target_value is None:
        raise InputError(f"a source column ('{source}') needs the target value (e.g. phone)")
    values = frame[source].astype(str).to_numpy()
    mask = values == str(target_value)
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
    hashes = pd.util.hash_pandas_object(values, index=False).to_numpy()
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
    return SplitAssignment(plan, split, assigned, leakage, _shortfalls(plan, assigned, len(frame)))


def _shortfalls(
    plan: SplitPlan | dict[str, float], assigned: dict[str, int], rows: int
) -> list[str]:
    """Warnings where whole groups made a split much smaller or larger than planned."""
    shares = plan.fractions if isinstance(plan, SplitPlan) else plan
    planned = {s: round(shares[s] * rows) for s in SPLITS}
    return [
        f"{s.replace('_', '-')} got {assigned[s]:,} rows, the plan asked for {planned[s]:,}: "
        "groups are kept whole (large groups, or groups with both source and target rows, "
        "which stay in training)"
        for s in SPLITS
        if abs(assigned[s] - planned[s]) > max(1, 0.05 * planned[s])
    ]


# -- files ------------------------------------------------------------------------------------


def read_dataset(path: str | os.PathLike[str], *, display_name: str | None = None) -> pd.DataFrame:
    """Read a whole CSV or Parquet dataset (any columns) into a DataFrame."""
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise InputError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes)")
    try:
        if _is_parquet(path):
            table = pq.read_table(path)
        else:
            table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=64 << 20))
    except (pa.ArrowException, OSError) as exc:
        kind = "Parquet" if _is_parquet(path) else "CSV"
        first = str(exc).splitlines()[0]
        raise InputError(f"{name} could not be read as {kind}: {first}") from None
    if SPLIT_COLUMN in table.column_names:
        raise InputError(
            f"{name} already has a '{SPLIT_COLUMN}' column; drop or rename it to assign new splits"
        )
    return table.to_pandas(split_blocks=True, self_destruct=True)


def write_dataset(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, like: str | os.PathLike[str]
) -> None:
    """Write ``frame`` in the format of the input file ``like`` (CSV or Parquet)."""
    path = Path(path)
    parquet = _is_parquet(Path(like))
    suffix = path.suffix.lower()
    if (parquet and suffix == ".csv") or (not parquet and suffix in (".parquet", ".pq")):
        wanted = "Parquet" if parquet else "CSV"
        raise InputError(f"--out {path.name}: the input is {wanted}, so the output is {wanted} too")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    try:
        if parquet:
            pq.write_table(table, path)
        else:
            split_index = table.column_names.index(SPLIT_COLUMN)
            table = table.set_column(
                split_index, SPLIT_COLUMN, table.column(SPLIT_COLUMN).cast(pa.string())
            )
            pacsv.write_csv(table, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc}") from None


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PAR1"
