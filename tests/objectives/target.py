"""A user's objective for target-data curves, and a small mismatched dataset to run it on.

:func:`mismatched_frame` draws source rows around the origin and target rows shifted along the
first feature; the label is the same nonlinear rule for both, so a model trained on the source
errs more on the target (a data-mismatch gap) and target rows in training close it.
:func:`knn_target` is what a user writes: read the dataset, train on train plus the
``context.target_k`` pool rows :func:`~diagnostics.search.pool.pool_rows` picks, and return
predictions on every split (the rows it trained on as train).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from diagnostics.search.pool import PoolSpec, pool_rows

FEATURES = [f"x{i}" for i in range(4)]


def mismatched_frame(
    n_source: int = 1200, n_target: int = 600, pool_split: str | None = None, seed: int = 0
) -> pd.DataFrame:
    """Source (``domain`` web) and target (``domain`` phone) rows with a split column: source
    in train (5/6) and train_dev, target in dev, test and the rest in train; or, with
    ``pool_split``, the rest in that split and no ``domain`` column."""
    rng = np.random.default_rng(seed)
    n = n_source + n_target
    target = np.arange(n) >= n_source
    x = rng.normal(size=(n, len(FEATURES)))
    x[target, 0] += 2.5
    label = np.where(np.sin(2 * x[:, 0]) + 0.7 * x[:, 1] > 0, "up", "down")
    split = np.empty(n, dtype=object)
    split[~target] = np.where(np.arange(n_source) % 6 == 0, "train_dev", "train")
    order = rng.permutation(n_target)
    target_split = np.where(
        order % 3 == 0, "dev", np.where(order % 3 == 1, "test", pool_split or "train")
    )
    split[target] = target_split
    frame = pd.DataFrame(x, columns=FEATURES)
    frame.insert(0, "id", np.arange(n))
    frame["split"] = split
    if pool_split is None:  # the split designer's source column (not a feature)
        frame["domain"] = np.where(target, "phone", "web")
    frame["label"] = label
    return frame


def training_rows(frame: pd.DataFrame, target_pool: str, k: int, seed: int) -> np.ndarray:
    """Which rows a run trains on: train without the pool plus the ``k`` pool rows
    :func:`pool_rows` picks for ``seed`` (a boolean mask over the frame's rows)."""
    split = frame["split"].str.lower().to_numpy()
    in_pool = PoolSpec.parse(target_pool).pool_mask(frame, split)
    chosen = np.flatnonzero(in_pool)[pool_rows(frame["label"].to_numpy()[in_pool], k, seed)]
    rows = (split == "train") & ~in_pool
    rows[chosen] = True
    return rows


def knn_target(params, context):
    """k-nearest neighbours (``neighbours``, default 15) on the dataset's features."""
    from sklearn.neighbors import KNeighborsClassifier

    frame = pd.read_csv(context.dataset.partition(":")[2])
    rows = training_rows(frame, context.target_pool, context.target_k, context.seed)
    if params.get("fail_below") is not None and context.target_k < params["fail_below"]:
        raise MemoryError("out of memory with this few target rows (pretend)")
    x, y = frame[FEATURES].to_numpy(), frame["label"].to_numpy()
    model = KNeighborsClassifier(int(params.get("neighbours", 15))).fit(x[rows], y[rows])
    split = np.where(rows, "train", frame["split"].to_numpy())
    keep = rows | np.isin(split, ["train_dev", "dev", "test"])
    return pd.DataFrame(
        {"id": frame["id"], "split": split, "y_true": y, "y_pred": model.predict(x)}
    )[keep]
