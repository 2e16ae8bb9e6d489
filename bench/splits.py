"""Benchmark: ``assign_splits`` on 10,000,000 rows (stratified and grouped) vs scikit-learn.

scikit-learn has no single splitter that is both stratified and grouped with a train/train-dev/
dev/test outcome, so the anchors are the two halves of the job, each done the usual way in the
same run: three chained ``train_test_split(..., stratify=y)`` calls (test, dev, train-dev) and
three chained ``GroupShuffleSplit`` calls. The ratio is our time over each anchor and over the
faster one (goal ≤ 1.0: one pass that does both beats either half alone). Our peak memory
comes from tracemalloc in a separate, untimed run (tracemalloc slows scikit-learn's stratified
splitter by minutes, so the anchors are not traced). Then the class mix of a grouped split over
ten seeds against scikit-learn's ``StratifiedGroupKFold`` (``tests/test_splits.py`` checks three
of those seeds).

Run: ``python bench/splits.py [ROWS]`` (default 10,000,000; about two minutes on 2 cores).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/splits.py`

import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, train_test_split

from diagnostics.split_assign import assign_splits
from diagnostics.splits import plan_split

CLASS_SHARES = np.array([30, 20, 10, 10, 8, 7, 5, 4, 3, 3]) / 100


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows with a user id (10 rows per user on average) and a 10-class label per user."""
    rng = np.random.default_rng(seed)
    users = max(rows // 10, 1)
    user = rng.integers(0, users, rows)
    user_label = rng.choice(len(CLASS_SHARES), users, p=CLASS_SHARES)
    return pd.DataFrame({"user": user, "label": user_label[user], "x": rng.random(rows)})


def mixed_label_groups(seed: int, rows: int = 6_000, groups: int = 600) -> pd.DataFrame:
    """Groups whose rows carry a mix of five labels (each group its own Dirichlet mix)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, rows)
    mix = 0.5 * rng.dirichlet(np.full(5, 0.5), groups) + 0.5 * np.array([40, 25, 15, 12, 8]) / 100
    label = (rng.random(rows)[:, None] > np.cumsum(mix[group], axis=1)).sum(axis=1)
    return pd.DataFrame({"user": group, "label": label})


def mean_class_share_gap(frame: pd.DataFrame, split) -> float:
    """Mean over splits and classes of |the class's share in the split − its share overall|."""
    overall = frame["label"].value_counts(normalize=True)
    table = pd.crosstab(np.asarray(split), frame["label"], normalize="index")
    return float((table - overall).abs().to_numpy().mean())


def grouped_class_mix(seed: int) -> tuple[pd.Series, np.ndarray]:
    """A 60/20/20 grouped split of :func:`mixed_label_groups` by ours and by scikit-learn's
    ``StratifiedGroupKFold`` (five folds as 3 + 1 + 1), with the same seed."""
    frame = mixed_label_groups(seed)
    fractions = {"train": 0.6, "dev": 0.2, "test": 0.2}
    mine = assign_splits(frame, fractions, label="label", group="user", seed=seed)
    folds = np.empty(len(frame), dtype=np.int64)
    splitter = StratifiedGroupKFold(5, shuffle=True, random_state=seed)
    for fold, (_, held) in enumerate(splitter.split(frame, frame["label"], frame["user"])):
        folds[held] = fold
    return mine, np.where(folds < 3, "train", np.where(folds == 3, "dev", "test"))


def class_mix(seeds: int = 10) -> None:
    """Print the class mix of grouped splits, ours against StratifiedGroupKFold, over seeds."""
    ours_gaps, theirs_gaps = [], []
    for seed in range(seeds):
        mine, theirs = grouped_class_mix(seed)
        frame = mixed_label_groups(seed)
        ours_gaps.append(100 * mean_class_share_gap(frame, mine))  # in percentage points
        theirs_gaps.append(100 * mean_class_share_gap(frame, theirs))
    better = sum(o <= t for o, t in zip(ours_gaps, theirs_gaps, strict=True))
    print(
        f"class mix of a grouped 60/20/20 split, 6,000 rows in 600 mixed-label groups, seeds "
        f"0–{seeds - 1}: mean |class share − overall| in points: ours {min(ours_gaps):.3f}–"
        f"{max(ours_gaps):.3f} (mean {np.mean(ours_gaps):.3f}), scikit-learn {sklearn.__version__} "
        f"StratifiedGroupKFold {min(theirs_gaps):.3f}–{max(theirs_gaps):.3f} (mean "
        f"{np.mean(theirs_gaps):.3f}); ours at most theirs in {better}/{seeds} seeds"
    )


def ours(frame, plan):
    """Our stratified, grouped four-way split."""
    return assign_splits(frame, plan, label="label", group="user", seed=0)


def sklearn_stratified(frame, plan):
    """Three chained stratified train_test_split calls: test, dev, train-dev."""
    index, labels = np.arange(len(frame)), frame["label"].to_numpy()
    rest = index
    for name in ("test", "dev", "train_dev"):
        rest, _ = train_test_split(
            rest, test_size=plan.counts[name], stratify=labels[rest], random_state=0
        )
    return rest


def sklearn_grouped(frame, plan):
    """Three chained GroupShuffleSplit calls: test, dev, train-dev (sizes as fractions)."""
    groups = frame["user"].to_numpy()
    rest = np.arange(len(frame))
    for name in ("test", "dev", "train_dev"):
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=plan.counts[name] / len(rest), random_state=0
        )
        train, _ = next(splitter.split(rest, groups=groups[rest]))
        rest = rest[train]
    return rest


def timed(function, *args) -> float:
    """Seconds of one call."""
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def peak_mib(function, *args) -> float:
    """Peak traced MiB of one call (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    function(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    frame = make_data(rows)
    plan = plan_split(rows)
    print(
        f"assign_splits vs scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"pandas {pd.__version__}: {rows:,} rows, {frame['user'].nunique():,} groups, "
        f"10 classes, plan {plan.counts}"
    )
    ours(frame.head(1000), plan_split(1000))  # warm-up
    runs = {
        "ours (stratified + grouped)": ours,
        "sklearn train_test_split ×3 (stratified)": sklearn_stratified,
        "sklearn GroupShuffleSplit ×3 (grouped)": sklearn_grouped,
    }
    seconds = {}
    for name, function in runs.items():
        seconds[name] = timed(function, frame, plan)
        print(f"  {name:<42}{seconds[name]:>8.2f} s", flush=True)
    print(f"  peak memory of ours (tracemalloc): {peak_mib(ours, frame, plan):.0f} MiB")
    mine = seconds["ours (stratified + grouped)"]
    stratified = seconds["sklearn train_test_split ×3 (stratified)"]
    grouped = seconds["sklearn GroupShuffleSplit ×3 (grouped)"]
    print(f"ratio vs stratified anchor: {mine / stratified:.2f}")
    print(f"ratio vs grouped anchor:    {mine / grouped:.2f}")
    print(f"ratio vs the faster anchor: {mine / min(stratified, grouped):.2f} (goal ≤ 1.0)")
    class_mix()


if __name__ == "__main__":
    main()
