"""Benchmark: does the target-data curve's forecast hold? (issue 28, item 2).

How many target examples close half the data-mismatch gap, forecast against measured. On a
synthetic mismatched set (``tests.objectives.target.mismatched_frame``: source rows around the
origin, target rows shifted along the first feature, one nonlinear labelling rule; 3,000 source
and 1,500 target rows, the split designer's leftover target, 500 rows, is the pool) with two
models, a user's scikit-learn objective (k-nearest neighbours) and the built-in MLP; and on the
sample project's ``dataset.csv`` (web digits in train, phone photos in dev and test; half of the
test photos, other handwritten digits than dev's, are made the pool) with the built-in MLP.

Each is measured through the search's workers at k = 0 and 1/32 … 1 of the pool (3 seeds below
the whole pool). The curve is fitted on the first steps only (k up to 1/4, then 1/2 of the
pool) and its forecasts are compared with what the remaining steps measured: the k that closes
half the mismatch gap (measured: linear between the steps' mean gaps) and the dev error with
the whole pool. ``covered``: the 95% interval holds the measured value (for a half gap the
whole pool does not reach: the interval starts beyond the pool, or every refit levels off).

The timing figure: the synthetic set's k-NN points through the study against the anchor, the
same runs computed directly with scikit-learn in a loop (same rows, same numbers), as a ratio
with both versions.

Usage: ``python bench/target_curve.py [--out TABLE.md]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.learning_curve import markdown  # noqa: E402
from diagnostics.search.fractions import nested_order  # noqa: E402
from diagnostics.search.target import run_target_curve  # noqa: E402
from diagnostics.target_curve import (  # noqa: E402
    TargetPoint,
    fit_target_curve,
    measured_half_gap,
    summarize_target_points,
)
from tests.objectives.target import FEATURES, mismatched_frame  # noqa: E402

FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
FIT_UP_TO = (1 / 4, 1 / 2)
KNN = "tests.objectives.target:knn_target"


def synthetic(folder: Path) -> str:
    """The mismatched set as a CSV (leftover target rows in train, ``domain`` phone)."""
    path = folder / "mismatched.csv"
    mismatched_frame(n_source=3000, n_target=1500, seed=1).to_csv(path, index=False)
    return f"csv:{path}"


def sample_with_pool(folder: Path) -> str:
    """The sample's dataset with every other test photo moved to a ``pool`` split."""
    frame = pd.read_csv(HERE.parent / "sample_data/dataset.csv")
    test = np.flatnonzero(frame["split"].to_numpy() == "test")
    frame.loc[test[::2], "split"] = "pool"
    path = folder / "sample_pool.csv"
    frame.to_csv(path, index=False)
    return f"csv:{path}"


def validate(name: str, result: dict) -> list[dict]:
    """Fit on the first steps, compare half the gap and the whole pool with the measurements."""
    runs = [TargetPoint(**r) for r in result["runs"]]
    pool = max(p.k for p in runs)
    rows_all = summarize_target_points(runs)
    measured_k = measured_half_gap(rows_all)
    measured_dev = rows_all[-1]["dev_error"]
    out = []
    for up_to in FIT_UP_TO:
        used = [p for p in runs if p.k <= up_to * pool]
        largest = max(p.k for p in used)
        fit = fit_target_curve(used, multiples=(pool / largest,)).to_dict()
        row = {
            "dataset, model": name,
            "fit on": f"{len(used)} runs, k ≤ {largest}",
            "gap at k=0": f"{fit['gap']:.1%}",
        }
        if fit["problem"]:
            out.append({**row, "forecast half-gap k": fit["problem"]})
            continue
        half = fit["half_gap"] or {}
        low, high = half.get("interval") or (None, None)
        if low is None:  # every bootstrap refit levels off above half the gap
            k_text = "never"
        else:
            k_text = "beyond reach" if half.get("k") is None else f"{half['k']:,.0f}"
            k_text += f" ({low:,.0f}–{'∞' if high is None else f'{high:,.0f}'})"
        measured_text = f"beyond the pool ({pool})" if measured_k is None else f"{measured_k:,.0f}"
        if measured_k is None:  # consistent when the forecast's interval starts beyond the pool
            inside = low is None or low > pool
        else:
            inside = low is not None and low <= measured_k <= (np.inf if high is None else high)
        forecast = fit["forecasts"][0]
        d_low, d_high = forecast["interval"]
        out.append(
            {
                **row,
                "forecast half-gap k": k_text,
                "measured half-gap k": measured_text,
                "covered": "yes" if inside else "no",
                "forecast dev, whole pool": (
                    f"k={pool}: {forecast['dev_error']:.1%} ({d_low:.1%}–{d_high:.1%})"
                ),
                "measured dev": f"{measured_dev:.1%}",
                "dev covered": "yes" if d_low <= measured_dev <= d_high else "no",
            }
        )
    return out


def anchor_ratio(spec: str, folder: Path) -> str:
    """Seconds of the k-NN points through the study vs the same runs in a plain loop."""
    from sklearn.neighbors import KNeighborsClassifier

    frame = pd.read_csv(spec.partition(":")[2])
    split, y, x = frame["split"].to_numpy(), frame["label"].to_numpy(), frame[FEATURES].to_numpy()
    pool = (frame["domain"].to_numpy() == "phone") & (split == "train")
    start = time.perf_counter()
    result = run_target_curve(
        KNN, dataset=spec, pool="domain=phone", label="label", fractions=FRACTIONS, seeds=3,
        data_dir=str(folder), study="timing",
    )  # fmt: skip
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for run in result["runs"]:
        rows = (split == "train") & ~pool
        rows[np.flatnonzero(pool)[nested_order(y[pool], run["seed"])[: run["k"]]]] = True
        KNeighborsClassifier(15).fit(x[rows], y[rows]).predict(x)
    anchor = time.perf_counter() - start
    sklearn = importlib.metadata.version("scikit-learn")
    optuna = importlib.metadata.version("optuna")
    return (
        f"synthetic k-NN, {len(result['runs'])} runs through the study: {ours:.1f} s; anchor "
        f"scikit-learn {sklearn} on the same rows in a loop: {anchor:.1f} s; ratio "
        f"{ours / anchor:.1f}× (optuna {optuna}; the study's cost is per trial: storage, "
        f"scoring each run by the waterfall); load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    """Print (and optionally write) the validation table and the timing ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        spec = synthetic(folder)
        common = {"fractions": FRACTIONS, "seeds": 3, "data_dir": str(folder), "label": "label"}
        knn = run_target_curve(KNN, dataset=spec, pool="domain=phone", study="knn", **common)
        mlp = run_target_curve(dataset=spec, pool="domain=phone", epochs=10, study="mlp", **common)
        sample = run_target_curve(
            dataset=sample_with_pool(folder), pool="pool", epochs=10, study="sample", **common
        )
        rows = [
            *validate("synthetic mismatched, k-NN (user objective)", knn),
            *validate("synthetic mismatched, built-in MLP", mlp),
            *validate("sample dataset.csv (pool: 394 phone photos), built-in MLP", sample),
        ]
        timing = anchor_ratio(spec, folder)
    table = markdown(pd.DataFrame(rows).fillna(""))
    covered = sum(r.get("covered") == "yes" for r in rows)
    dev_covered = sum(r.get("dev covered") == "yes" for r in rows)
    summary = (
        f"half-gap k covered: {covered} of {len(rows)}; dev at the pool covered: {dev_covered} "
        f"of {len(rows)}; load average at the start {load:.1f}"
    )
    print(table)
    print(summary)
    print(timing)
    if args.out:
        args.out.write_text(f"{table}\n\n{summary}\n\n{timing}\n")


if __name__ == "__main__":
    main()
