"""Slice finding: where in a split the errors concentrate, with false discoveries controlled.

A slice is a conjunction of up to three predicates on a predictions file's extra columns:
``column == value`` for a categorical column (or a numeric one with few values), ``column <
edge`` / ``column >= edge`` for a numeric column, at the split's quantiles (edges rounded to
three significant digits, more where the column's range is narrow (timestamps), so a predicate
means exactly what it says and no cut is lost to rounding), ``column missing`` for
empty cells. Every slice with at least ``min_support`` rows of the split is tried against the
rest of that split with a one-sided Fisher exact test (the hypergeometric tail: how likely this
many errors or more fall in the slice if errors were spread at random over the split), and the
Benjamini–Hochberg procedure over all slices tried keeps the false-discovery rate at ``fdr``.

Counting is vectorized: each column becomes small integer codes over the split's rows, every
pair (triple) of columns is one ``np.bincount`` of combined codes, and the counts of all
predicates on the pair follow by a matrix product with 0/1 membership matrices. Ten million
rows cost a few passes per column pair. Significant slices are ranked by the lower end of the
95% Wilson interval of their error rate (a high rate, on enough rows to trust it); a slice
whose rows lie mostly (≥ ``OVERLAP``) inside a better-ranked reported slice is left out as a
variant of it. Each reported slice carries its own waterfall (train → train-dev → dev → test,
from :func:`diagnostics.waterfall.diagnose`) and its share of each split's rows, so a slice
that is 40% of dev but 5% of train reads as a data-mismatch story.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, hypergeom

from diagnostics.embeddings import TEXT_COLUMN, is_embedding_column
from diagnostics.formats import existing_file, file_columns
from diagnostics.ingest import Predictions, read_predictions
from diagnostics.metrics import GroupSums, wilson_interval
from diagnostics.schema import (
    DISCRETE_LIMIT,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SCORE_COLUMNS,
    split_estimates,
)
from diagnostics.splitnames import SPLITS, normalize_split
from diagnostics.validation import InputError
from diagnostics.waterfall import GAPS, diagnose

if TYPE_CHECKING:
    pass

PROBABILITY_PREFIX = "prob_"
DEFAULT_FDR = 0.05
DEFAULT_BINS = 5  # quantile bins of a numeric column: 4 edges, 8 threshold predicates
MAX_VALUES = 30  # categorical values kept per column (the most frequent); the rest are "other"
OVERLAP = 0.5
DEFAULT_TOP = 20


def method_text(tried: int, fdr: float = DEFAULT_FDR) -> str:
    """How the reported slices were chosen, to print beside them."""
    return (
        "one-sided Fisher exact test of each slice's errors against the rest of the split "
        f"(hypergeometric tail); Benjamini–Hochberg false-discovery rate {fdr:.0%} across all "
        f"{tried:,} slices tried; ranked by the lower end of the 95% Wilson interval of the "
        "slice's error rate"
    )


def default_min_support(rows: int) -> int:
    """The smallest slice tried by default: 1% of the split's rows, at least 20."""
    return max(20, math.ceil(0.01 * rows))


def standard_column(name: str) -> bool:
    """True for the columns every predictions file has a role for (not slice metadata):
    labels, ids, scores, probabilities, and the embeddings and free text (never slices)."""
    return (
        name in (*REQUIRED_COLUMNS, *SCORE_COLUMNS, *OPTIONAL_COLUMNS, TEXT_COLUMN)
        or name.startswith(PROBABILITY_PREFIX)
        or is_embedding_column(name)
    )


def metadata_columns(path: str | os.PathLike[str]) -> list[str]:
    """The extra columns of a predictions file that slices can be made of."""
    return [name for name in file_columns(path) if not standard_column(name)]


@dataclass(frozen=True)
class Predicate:
    """One condition on a column: ``==`` a value, ``<`` / ``>=`` an edge, or ``missing``."""

    column: str
    op: str
    value: object = None

    def mask(self, values: pd.Series) -> np.ndarray:
        """Which rows of ``values`` (the column) satisfy the predicate."""
        inside: np.ndarray
        if self.op == "missing":
            inside = values.isna().to_numpy()
            return inside
        if self.op == "==":
            if isinstance(self.value, str) and not _is_text(values):
                values = values.astype(str).where(values.notna())  # dates and the like
            inside = (values == self.value).fillna(False).to_numpy(dtype=bool)
            return inside
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            inside = numbers < self.value if self.op == "<" else numbers >= self.value
            return inside

    @property
    def label(self) -> str:
        """The predicate as people read it: ``device=phone``, ``brightness<0.31``."""
        if self.op == "missing":
            return f"{self.column} missing"
        op = "=" if self.op == "==" else self.op
        value = self.value
        if isinstance(value, float):  # shortest exact form: 0.31, 1700000180 (not 1.7e+09)
            value = f"{value:g}" if float(f"{value:g}") == value else repr(value).removesuffix(".0")
        return f"{self.column}{op}{value}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: {column, op, value}."""
        return {"column": self.column, "op": self.op, "value": self.value}


@dataclass
class Slice:
    """A significant slice of the split, its counts, test and what gap it drives."""

    predicates: tuple[Predicate, ...]
    n: int
    errors: int
    error_rate: float
    interval: tuple[float, float]
    rest_rate: float
    lift: float
    error_share: float
    p_value: float
    p_adjusted: float
    representation: dict[str, float] = field(default_factory=dict)
    waterfall: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """``device=phone ∧ brightness<0.31``."""
        return predicates_label(self.predicates)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of ``frame`` (all splits) are in the slice."""
        return mask_of(frame, self.predicates)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the CLI contract (``slices --json``)."""
        return {
            "predicates": [p.to_dict() for p in self.predicates],
            "label": self.label,
            "n": self.n,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "interval": list(self.interval),
            "rest_rate": self.rest_rate,
            "lift": self.lift,
            "error_share": self.error_share,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "representation": self.representation,
            "waterfall": self.waterfall,
        }


@dataclass
class SliceSearch:
    """The result of a slice search over one split."""

    split: str
    rows: int
    errors: int
    columns: list[str]
    min_support: int
    max_predicates: int
    tried: int
    significant: int
    fdr: float
    slices: list[Slice]
    warnings: list[str] = field(default_factory=list)

    @property
    def base_rate(self) -> float:
        """The split's error rate."""
        return self.errors / self.rows if self.rows else 0.0

    @property
    def method(self) -> str:
        """The test and the false-discovery control, in words."""
        return method_text(self.tried, self.fdr)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the CLI contract (``slices --json``)."""
        return {
            "split": self.split,
            "rows": self.rows,
            "errors": self.errors,
            "base_rate": self.base_rate,
            "columns": self.columns,
            "min_support": self.min_support,
            "max_predicates": self.max_predicates,
            "tried": self.tried,
            "significant": self.significant,
            "fdr": self.fdr,
            "method": self.method,
            "slices": [s.to_dict() for s in self.slices],
            "warnings": self.warnings,
        }


def concentration_line(found: Slice, split: str = "dev") -> str:
    """``errors concentrate in A ∧ B: 41% of dev errors at 3.2× the rest's rate (…)``."""
    return (
        f"errors concentrate in {found.label}: {found.error_share:.0%} of {split} errors at "
        f"{found.lift:.1f}× the rest's rate ({found.error_rate:.1%} on {found.n:,} rows)"
    )


def predicates_label(predicates: Iterable[Predicate]) -> str:
    """Predicates as people read them together: ``device=phone ∧ brightness<0.31``."""
    return " ∧ ".join(p.label for p in predicates)


def predicate_columns(predicates: Iterable[Predicate]) -> tuple[str, ...]:
    """The columns ``predicates`` test, each once, in order."""
    return tuple(dict.fromkeys(p.column for p in predicates))


def mask_of(frame: pd.DataFrame, predicates: Iterable[Predicate | dict[str, Any]]) -> np.ndarray:
    """Which rows of ``frame`` satisfy every predicate (Predicates or their JSON dicts)."""
    inside = np.ones(len(frame), dtype=bool)
    for predicate in predicates:
        if isinstance(predicate, dict):
            predicate = Predicate(**predicate)
        inside &= predicate.mask(frame[predicate.column])
    return inside


def slice_column(
    frame: pd.DataFrame,
    predicates: Iterable[Predicate | dict[str, Any]],
    name: str = "in slice",
) -> pd.Series:
    """A column to diagnose by (``--slice``): ``yes`` for the slice's rows, ``no`` for the rest."""
    return pd.Series(
        np.where(mask_of(frame, predicates), "yes", "no"), index=frame.index, name=name
    )


SLICE_COLUMN_PREFIX = "in slice: "


def slice_column_name(found: Slice, existing: Sequence[str] = ()) -> str:
    """The name of a slice's column (``in slice: device=phone ∧ …``), unique among ``existing``."""
    name = f"{SLICE_COLUMN_PREFIX}{found.label}"
    candidate, number = name, 2
    while candidate in existing:
        candidate, number = f"{name} ({number})", number + 1
    return candidate


def representation_line(found: Slice, target: str = "dev", source: str = "train") -> str | None:
    """How much of ``target`` and of ``source`` the slice is, and what a big difference means."""
    shares = found.representation
    if target not in shares or source not in shares:
        return None
    line = f"{shares[target]:.1%} of {target}, {shares[source]:.1%} of {source}"
    if shares[target] >= 2 * shares[source]:
        return line + ": rarer in training than in dev (a data-mismatch story)"
    if shares[source] >= 2 * shares[target]:
        return line + ": commoner in training than in dev"
    return line


# -- encoding columns into codes -----------------------------------------------------------------


@dataclass
class _Encoded:
    """A column as integer codes over the split's rows, and its predicates as code sets."""

    name: str
    codes: np.ndarray
    n_codes: int
    predicates: list[Predicate]
    membership: np.ndarray  # (predicates × codes), 0/1 floats


def _python_value(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Quantile edges strictly inside the value range, rounded to three significant digits, or
    to as few more as keep every distinct cut (a narrow range far from 0: timestamps)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0)
    raw = np.quantile(finite, np.arange(1, bins) / bins)
    low, high = finite.min(), finite.max()
    wanted = len(np.unique(raw[(raw > low) & (raw <= high)]))
    for digits in range(3, 18):
        rounded = np.array([float(f"{edge:.{digits}g}") for edge in raw])
        edges = np.unique(rounded[(rounded > low) & (rounded <= high)])
        if len(edges) >= wanted:
            break
    return edges


def _encode_numeric(name: str, values: np.ndarray, bins: int, min_support: int) -> _Encoded:
    edges = _edges(values, bins)
    missing = np.isnan(values)
    codes = np.searchsorted(edges, values, side="right").astype(np.int32)
    codes[missing] = len(edges) + 1
    n_codes = len(edges) + 2
    predicates, rows = [], []
    for k, edge in enumerate(edges):
        predicates.append(Predicate(name, "<", float(edge)))
        rows.append(np.arange(n_codes) <= k)
        predicates.append(Predicate(name, ">=", float(edge)))
        rows.append((np.arange(n_codes) > k) & (np.arange(n_codes) <= len(edges)))
    if missing.sum() >= min_support:
        predicates.append(Predicate(name, "missing"))
        rows.append(np.arange(n_codes) == len(edges) + 1)
    return _Encoded(name, codes, n_codes, predicates, _membership(rows, n_codes))


def _encode_categorical(name: str, values: pd.Series, min_support: int) -> _Encoded:
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    codes = codes.astype(np.int32)
    missing = codes < 0
    codes[missing] = len(uniques)
    counts = np.bincount(codes, minlength=len(uniques) + 1)
    frequent = np.argsort(-counts[: len(uniques)], kind="stable")[:MAX_VALUES]
    kept = np.sort(frequent[counts[frequent] >= min_support])
    # codes: kept values 0..k-1, then "other", then "missing"
    remap = np.full(len(uniques) + 1, len(kept), dtype=np.int32)
    remap[kept] = np.arange(len(kept), dtype=np.int32)
    remap[len(uniques)] = len(kept) + 1
    n_codes = len(kept) + 2
    predicates = [Predicate(name, "==", _python_value(uniques[i])) for i in kept]
    rows = [np.arange(n_codes) == j for j in range(len(kept))]
    if counts[len(uniques)] >= min_support:
        predicates.append(Predicate(name, "missing"))
        rows.append(np.arange(n_codes) == len(kept) + 1)
    return _Encoded(name, remap[codes], n_codes, predicates, _membership(rows, n_codes))


def _membership(rows: list[np.ndarray], n_codes: int) -> np.ndarray:
    if not rows:
        return np.zeros((0, n_codes))
    return np.array(rows, dtype=np.float64)


def _is_text(values: pd.Series) -> bool:
    """True for a column of strings (an object column of dates or mixed values is not)."""
    if values.dtype == object:
        return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    text: bool = pd.api.types.is_string_dtype(values)
    return text


def _encode(name: str, values: pd.Series, bins: int, min_support: int) -> _Encoded:
    boolean = pd.api.types.is_bool_dtype(values)
    numeric = pd.api.types.is_numeric_dtype(values) and not boolean
    if numeric and values.nunique(dropna=True) > DISCRETE_LIMIT:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return _encode_numeric(name, numbers, bins, min_support)
    if not (numeric or boolean or _is_text(values)):
        values = values.astype(str).where(values.notna())  # dates and the like, as text
    return _encode_categorical(name, values, min_support)


# -- counting every slice ---------------------------------------------------------------------


@dataclass
class _Candidates:
    """Counts of every slice tried, as flat arrays, with the predicate indices of each."""

    n: list[np.ndarray] = field(default_factory=list)
    errors: list[np.ndarray] = field(default_factory=list)
    members: list[tuple[tuple[int, ...], np.ndarray]] = field(default_factory=list)

    def add(
        self, columns: tuple[int, ...], n: np.ndarray, errors: np.ndarray, keep: np.ndarray
    ) -> None:
        """Keep the slices where ``keep`` holds; their predicate indices come from the shape."""
        where = np.nonzero(keep)
        self.n.append(n[where])
        self.errors.append(errors[where])
        self.members.append((columns, np.column_stack(where)))


def _table(codes: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Rows per combination of codes (one bincount of combined codes), shaped per column."""
    size = math.prod(shape)
    combined: np.ndarray = codes[0].astype(np.int32 if size < 2**31 else np.int64)
    for column_codes, n_codes in zip(codes[1:], shape[1:], strict=True):
        combined *= n_codes
        combined += column_codes
    return np.bincount(combined, minlength=size).reshape(shape).astype(np.float64)


def _project(table: np.ndarray, memberships: Sequence[np.ndarray]) -> np.ndarray:
    """Counts per predicate combination: the code table contracted with each membership."""
    for axis, membership in enumerate(memberships):
        table = np.moveaxis(np.tensordot(membership, table, axes=([1], [axis])), 0, axis)
    return table


def _count_slices(
    encoded: list[_Encoded], errors: np.ndarray, max_predicates: int, min_support: int
) -> _Candidates:
    """Every slice of 1..max_predicates predicates on distinct columns with enough rows.

    A slice whose extra predicate removes no row of a smaller slice is the smaller slice
    again, so it is not tried twice.
    """
    found = _Candidates()
    error_codes = [e.codes[errors] for e in encoded]  # the error rows' codes, picked once
    sizes: dict[tuple[int, ...], np.ndarray] = {}
    usable = [i for i, e in enumerate(encoded) if e.predicates]
    for order in range(1, max_predicates + 1):
        for columns in itertools.combinations(usable, order):
            parts = [encoded[i] for i in columns]
            shape = tuple(p.n_codes for p in parts)
            rows = _table([encoded[i].codes for i in columns], shape)
            wrong = _table([error_codes[i] for i in columns], shape)
            memberships = [p.membership for p in parts]
            n = _project(rows, memberships)
            keep = (n >= min_support) & (n < len(errors))  # the whole split is no slice
            for drop in range(order if order > 1 else 0):
                smaller = columns[:drop] + columns[drop + 1 :]
                keep &= n != np.expand_dims(sizes[smaller], drop)
            sizes[columns] = n
            found.add(columns, n, _project(wrong, memberships), keep)
    return found


# -- the search -------------------------------------------------------------------------------


def search_slices(
    frame: pd.DataFrame,
    errors: np.ndarray,
    columns: Sequence[str],
    *,
    max_predicates: int = 2,
    min_support: int | None = None,
    fdr: float = DEFAULT_FDR,
    bins: int = DEFAULT_BINS,
    top: int = DEFAULT_TOP,
    idle: list[str] | None = None,
) -> tuple[list[Slice], int, int]:
    """The significant slices of one split's rows: (ranked slices, slices tried, significant).

    ``frame`` holds the split's metadata columns and ``errors`` whether each row is wrong.
    Slices come without waterfall or representation (see :func:`find_slices`). The columns
    that gave no predicate at all (one value, or every value rarer than ``min_support``) are
    appended to ``idle`` when given.
    """
    if not 1 <= max_predicates <= 3:
        raise InputError(f"--max-predicates must be 1, 2 or 3 (got {max_predicates})")
    errors = np.asarray(errors, dtype=bool)
    rows, total_errors = len(errors), int(errors.sum())
    min_support = default_min_support(rows) if min_support is None else int(min_support)
    if min_support < 1:
        raise InputError(f"--min-support must be at least 1 row (got {min_support})")
    encoded = [_encode(c, frame[c], bins, min_support) for c in columns]
    if idle is not None:
        idle.extend(e.name for e in encoded if not e.predicates)
    found = _count_slices(encoded, errors, max_predicates, min_support)
    n = np.concatenate(found.n) if found.n else np.empty(0)
    wrong = np.concatenate(found.errors) if found.errors else np.empty(0)
    tried = len(n)
    rest_n, rest_errors = rows - n, total_errors - wrong
    with np.errstate(invalid="ignore", divide="ignore"):
        above = wrong / n > np.where(rest_n > 0, rest_errors / rest_n, 1.0)
    p_values = np.ones(tried)
    if above.any():  # slices at or below the rest's rate have p ≥ ~0.5: never significant
        p_values[above] = hypergeom.sf(wrong[above] - 1, rows, total_errors, n[above])
    adjusted = false_discovery_control(p_values, method="bh") if tried else p_values
    significant = np.flatnonzero(adjusted <= fdr)
    lows = np.array([wilson_interval(wrong[i] / n[i], n[i])[0] for i in significant])
    ranked = significant[np.argsort(-lows, kind="stable")] if len(significant) else significant
    offsets = np.cumsum([0, *(len(idx) for _, idx in found.members)])
    chosen: list[Slice] = []
    kept: list[tuple[np.ndarray, int]] = []  # the reported slices' masks and sizes
    for i in ranked:
        if len(chosen) >= top:
            break
        k = int(np.searchsorted(offsets, i, side="right")) - 1
        columns_k, idx = found.members[k]
        picked = list(zip(columns_k, idx[i - offsets[k]], strict=True))
        inside = np.ones(rows, dtype=bool)
        for c, j in picked:
            inside &= (encoded[c].membership[j] > 0)[encoded[c].codes]
        members = np.flatnonzero(inside)
        if any(np.count_nonzero(mask[members]) >= OVERLAP * min(n[i], size) for mask, size in kept):
            continue  # mostly inside a better-ranked slice (or it inside this one): a variant
        kept.append((inside, len(members)))
        predicates = tuple(encoded[c].predicates[j] for c, j in picked)
        chosen.append(
            _slice(predicates, n[i], wrong[i], rows, total_errors, p_values[i], adjusted[i])
        )
    return chosen, tried, len(significant)


def _slice(
    predicates: tuple[Predicate, ...],
    n: float,
    errors: float,
    rows: int,
    total_errors: int,
    p_value: float,
    p_adjusted: float,
) -> Slice:
    n, errors = int(n), int(errors)
    rate = errors / n
    rest_n, rest_errors = rows - n, total_errors - errors
    rest_rate = rest_errors / rest_n if rest_n else 0.0
    return Slice(
        predicates=predicates,
        n=n,
        errors=errors,
        error_rate=rate,
        interval=wilson_interval(rate, n),
        rest_rate=rest_rate,
        lift=rate / rest_rate if rest_rate > 0 else math.inf,
        error_share=errors / total_errors if total_errors else 0.0,
        p_value=float(p_value),
        p_adjusted=float(p_adjusted),
    )


def describe_gaps(predictions: Predictions, found: Slice, loss: np.ndarray | None = None) -> None:
    """Fill in the slice's waterfall over all splits and its share of each split's rows.

    ``loss`` is the predictions' per-row loss when already computed.
    """
    frame = predictions.frame
    inside = found.mask(frame)
    split_codes = predictions.split_codes.astype(np.int64)
    loss = predictions.loss() if loss is None else loss
    sums = GroupSums.from_rows(inside * len(SPLITS) + split_codes, loss, 2 * len(SPLITS))
    totals = np.bincount(split_codes, minlength=len(SPLITS))
    in_slice = np.bincount(split_codes[inside], minlength=len(SPLITS))
    found.representation = {
        name: float(in_slice[i] / totals[i]) for i, name in enumerate(SPLITS) if totals[i]
    }
    estimates = split_estimates(sums, predictions.metric, len(SPLITS))
    if len(estimates) < 2:
        return
    diagnosis = diagnose(estimates, metric=predictions.metric)
    found.waterfall = {
        "levels": {name: est.value for name, est in estimates.items()},
        "counts": {name: est.n for name, est in estimates.items()},
        "gaps": {name: diagnosis.gaps[name].value for name in GAPS if name in diagnosis.gaps},
        "largest_gap": diagnosis.priority[0] if diagnosis.priority else None,
    }


def find_slices(
    predictions: Predictions,
    *,
    split: str = "dev",
    columns: Sequence[str] | None = None,
    max_predicates: int = 2,
    min_support: int | None = None,
    fdr: float = DEFAULT_FDR,
    top: int = DEFAULT_TOP,
) -> SliceSearch:
    """The slices of ``split`` whose error rate is significantly above the rest of the split.

    ``columns`` default to every extra column the predictions were read with. Each reported
    slice carries its waterfall over the splits it appears in and its share of each split.
    """
    if predictions.metric != "error":
        raise InputError(
            f"{predictions.source}: slice finding needs class labels (an error rate); this file "
            f"is scored by {predictions.metric.upper()}"
        )
    split = normalize_split(split)
    frame = predictions.frame
    columns = (
        list(dict.fromkeys(columns))  # --columns device,device is device
        if columns
        else [c for c in frame.columns if not standard_column(c)]
    )
    if not columns:
        raise InputError(
            f"{predictions.source} has no extra columns to slice by; add metadata columns "
            "(e.g. device, brightness) beside split, y_true and y_pred"
        )
    missing = [c for c in columns if c not in frame]
    if missing:
        raise InputError(
            f"{predictions.source}: no column {', '.join(repr(c) for c in missing)}; extra "
            f"columns found: {', '.join(c for c in frame if not standard_column(c)) or '(none)'}"
        )
    in_split = predictions.split_codes == SPLITS.index(split)
    if not in_split.any():
        raise InputError(f"{predictions.source} has no rows in split '{split}'")
    loss = predictions.loss()
    errors = loss[in_split]
    rows = int(in_split.sum())
    support = default_min_support(rows) if min_support is None else min_support
    idle: list[str] = []
    slices, tried, significant = search_slices(
        frame.loc[in_split, columns].reset_index(drop=True),
        errors,
        columns,
        max_predicates=max_predicates,
        min_support=support,
        fdr=fdr,
        top=top,
        idle=idle,
    )
    for found in slices:
        describe_gaps(predictions, found, loss)
    warnings = []
    if "weight" in frame:
        warnings.append("row weights are ignored: slices count rows")
    if not errors.any():
        warnings.append(f"split '{split}' has no errors: no slice can stand out")
    if idle:
        warnings.append(
            f"no slice of {', '.join(idle)}: one value, or every value on fewer than {support:,} "
            f"rows of {split} (--min-support)"
        )
    return SliceSearch(
        split=split,
        rows=rows,
        errors=int(errors.sum()),
        columns=columns,
        min_support=support,
        max_predicates=max_predicates,
        tried=tried,
        significant=significant,
        fdr=fdr,
        slices=slices,
        warnings=warnings,
    )


def find_slices_in_file(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    display_name: str | None = None,
    **options: Any,
) -> SliceSearch:
    """Read only the needed columns of a predictions file and find its slices."""
    name = display_name or os.path.basename(path)
    if not columns:
        existing_file(path, "predictions file")
        columns = metadata_columns(path)
        if not columns:
            raise InputError(
                f"{name} has no extra columns to slice by; add metadata columns (e.g. device, "
                "brightness) beside split, y_true and y_pred"
            )
    columns = list(dict.fromkeys(columns))
    predictions = read_predictions(path, extra_columns=tuple(columns), display_name=display_name)
    return find_slices(predictions, columns=columns, **options)


# -- a numeric slice column on the waterfall: binned as the slice finder cuts it ---------------


def binned_values(values: pd.Series, bins: int = DEFAULT_BINS) -> pd.Series | None:
    """A numeric column of more than :data:`DISCRETE_LIMIT` values as the slice finder's
    quantile bins (``< 0.31``, ``0.31 – 0.52``, ``≥ 0.88``, ``missing``); None for any other
    column (few values, or text), which slices by value."""
    boolean = pd.api.types.is_bool_dtype(values)
    if boolean or not pd.api.types.is_numeric_dtype(values):
        return None
    if values.nunique(dropna=True) <= DISCRETE_LIMIT:
        return None
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    edges = _edges(numbers, bins)
    texts = [Predicate("", "<", float(edge)).label[1:] for edge in edges]  # "<0.31" → "0.31"
    names = [f"< {texts[0]}"] if texts else ["all values"]
    names += [f"{low} – {high}" for low, high in itertools.pairwise(texts)]
    names += [f"≥ {texts[-1]}"] if texts else []
    codes = np.searchsorted(edges, numbers, side="right")
    labels = np.array(names, dtype=object)[np.minimum(codes, len(names) - 1)]
    labels[np.isnan(numbers)] = "missing"
    return pd.Series(labels, index=values.index)
