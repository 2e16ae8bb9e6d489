"""Misclassified dev examples: a seeded sample to review by hand, and the confusion pairs.

Error analysis (STRATEGY_NOTES §3) starts from about 100 misclassified *dev* examples drawn at
random with a fixed seed, so the same seed always gives the same sample. Everything is keyed by
the example's id (the file's ``id`` column, or its 1-based data row number when it has none),
never by a row position in some view.

Selection is one vectorized pass over the split codes and labels; only the sampled rows are
copied, so ten million predictions take a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from diagnostics.ingest import Predictions
from diagnostics.schema import DEFAULT_SAMPLE_SIZE as DEFAULT_SAMPLE_SIZE
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError

SAMPLE_COLUMNS = ("id", "y_true", "y_pred", "score", "input")


def error_positions(predictions: Predictions) -> np.ndarray:
    """Row positions (ascending) of the misclassified dev examples."""
    if predictions.metric != "error":
        raise InputError(
            f"{predictions.source}: error analysis needs class labels, but the metric is "
            f"{predictions.metric.upper()}; use --metric error for a classification file"
        )
    frame = predictions.frame
    dev = predictions.split_codes == SPLITS.index("dev")
    if not dev.any():
        raise InputError(
            f"{predictions.source}: no dev rows; error analysis samples misclassified dev "
            "examples, so the file needs rows with split 'dev'"
        )
    wrong = differs(frame["y_true"], frame["y_pred"])
    return np.flatnonzero(dev & wrong)


def differs(y_true: pd.Series, y_pred: pd.Series) -> np.ndarray:
    """True where the predicted class is not the true one (compared as text across types)."""
    if y_true.dtype == y_pred.dtype and y_true.dtype != object:
        same_type: np.ndarray = y_true.to_numpy() != y_pred.to_numpy()
        return same_type
    as_text: np.ndarray = (y_true.astype(str) != y_pred.astype(str)).to_numpy()
    return as_text


def example_ids(predictions: Predictions, positions: np.ndarray) -> pd.Series:
    """The ids (as text) of the rows at ``positions``: the ``id`` column or the data row number."""
    if "id" in predictions.frame:
        ids = predictions.frame["id"].iloc[positions]
        return ids.astype(str).reset_index(drop=True)
    return pd.Series((positions + 1).astype(str), dtype=object)


def error_examples(predictions: Predictions, positions: np.ndarray) -> pd.DataFrame:
    """The review table for the rows at ``positions``: id, y_true, y_pred, score, input."""
    frame = predictions.frame
    present = [c for c in SAMPLE_COLUMNS[1:] if c in frame]
    rows = frame[present].iloc[positions].reset_index(drop=True)
    rows.insert(0, "id", example_ids(predictions, positions))
    return rows


def sample_errors(
    predictions: Predictions,
    n: int = DEFAULT_SAMPLE_SIZE,
    *,
    seed: int = 0,
    stratify: bool = False,
    keep: Sequence[str] = (),
    within: np.ndarray | None = None,
) -> pd.DataFrame:
    """A seeded random sample of ``n`` misclassified dev examples (all of them when fewer).

    The same predictions and seed always give the same sample, in the same (random) order.
    ``stratify=True`` allocates the draws across confusion pairs in proportion to their size
    (largest remainders), so a small sample still covers the main pairs evenly. ``keep`` (ids
    of dev errors, e.g. those whose tags carry over from an earlier version) come first, in
    their order; the rest of the ``n`` are drawn from the other errors. ``within``
    (a boolean per row, e.g. a slice's mask) draws only from the errors it marks.
    """
    if n < 1:
        raise InputError(f"sample size must be at least 1 (got {n})")
    positions = error_positions(predictions)
    kept = _kept_positions(predictions, positions, keep)
    positions = np.setdiff1d(positions, kept, assume_unique=True)
    if within is not None:
        positions = positions[np.asarray(within, dtype=bool)[positions]]
    draws = max(n - kept.size, 0)
    rng = np.random.default_rng(seed)
    if positions.size <= draws:
        chosen = positions[rng.permutation(positions.size)]
    elif draws == 0:
        chosen = positions[:0]
    elif stratify:
        chosen = _stratified(predictions, positions, draws, rng)
    else:
        chosen = positions[rng.choice(positions.size, size=draws, replace=False)]
    return error_examples(predictions, np.concatenate([kept, chosen]))


def _kept_positions(
    predictions: Predictions, positions: npt.NDArray[np.intp], keep: Sequence[str]
) -> npt.NDArray[np.intp]:
    """Row positions of the ``keep`` ids among the dev errors, in ``keep``'s order."""
    if not len(keep):
        return positions[:0]
    ids = pd.Index(example_ids(predictions, positions))
    where: npt.NDArray[np.intp] = ids.get_indexer(pd.Index([str(i) for i in keep]))
    if (where < 0).any():
        missing = [str(i) for i, w in zip(keep, where, strict=True) if w < 0]
        raise InputError(
            f"{predictions.source}: {len(missing)} id{'s' * (len(missing) > 1)} to keep "
            f"({', '.join(missing[:5])}{', …' if len(missing) > 5 else ''}) are not dev errors "
            "of this version; keep only the examples it still gets wrong"
        )
    return positions[where]


def _stratified(
    predictions: Predictions, positions: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    pair_codes, sizes = _pair_codes(predictions, positions)
    quota = sizes * n / positions.size
    take = np.floor(quota).astype(np.int64)
    leftover = n - int(take.sum())
    if leftover:
        order = np.lexsort((np.arange(sizes.size), -(quota - take)))
        take[order[:leftover]] += 1
    order = np.argsort(pair_codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    picks = [
        positions[order[start + rng.choice(size, size=k, replace=False)]]
        for start, size, k in zip(starts, sizes, take, strict=True)
        if k
    ]
    chosen = np.concatenate(picks)
    return chosen[rng.permutation(chosen.size)]


def _pair_codes(predictions: Predictions, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A code per error row for its (true, predicted) pair, and each pair's size."""
    pairs = _error_pairs(predictions, positions)
    codes = pairs.groupby(["y_true", "y_pred"], sort=True).ngroup().to_numpy()
    return codes, np.bincount(codes)


def _error_pairs(predictions: Predictions, positions: np.ndarray) -> pd.DataFrame:
    frame = predictions.frame
    return pd.DataFrame(
        {
            "y_true": frame["y_true"].iloc[positions].to_numpy(),
            "y_pred": frame["y_pred"].iloc[positions].to_numpy(),
        }
    )


def confusion_pairs(predictions: Predictions) -> pd.DataFrame:
    """Dev errors per (true → predicted) pair: columns y_true, y_pred, count, share.

    ``share`` is the pair's fraction of all dev errors; the largest pairs come first (ties in
    label order).
    """
    positions = error_positions(predictions)
    pairs = _error_pairs(predictions, positions)
    table = pairs.groupby(["y_true", "y_pred"], sort=True).size().rename("count").reset_index()
    table["share"] = table["count"] / max(positions.size, 1)
    table = table.sort_values("count", ascending=False, kind="stable")
    return table.reset_index(drop=True)


def dev_error_summary(predictions: Predictions) -> dict[str, Any]:
    """Dev size, number of dev errors and the dev error rate (unweighted), for ceilings."""
    positions = error_positions(predictions)
    dev_size = int(np.count_nonzero(predictions.split_codes == SPLITS.index("dev")))
    return {
        "dev_size": dev_size,
        "dev_errors": int(positions.size),
        "dev_error": positions.size / dev_size,
    }
