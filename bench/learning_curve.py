"""Benchmark: does the learning curve's forecast hold? (issue 28).

On three datasets that ship offline — scikit-learn's digits, a covertype-like synthetic set
(``make_classification``: 54 features, 7 imbalanced classes, 2% label noise) and the sample
project's ``sample_data/dataset.csv`` — logistic regression
(:class:`diagnostics.search.curve.DatasetModel`, the learning curve's model before the built-in
MLP became its default) is trained through the search's
workers on fractions 1/32 … 1 of train (3 seeds below 1). The curve is fitted on the first
fractions only (up to 1/4, then up to 1/2) and its forecast at the full size is compared with
the dev error measured there: ``covered`` says whether the 95% interval holds it.

The timing figure: measuring digits' points through the study (``run_learning_curve``) against
the anchor, scikit-learn's ``learning_curve`` on the same rows (same splits, same numbers),
printed as a ratio with both versions.

Usage: ``python bench/learning_curve.py [--out TABLE.md]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from diagnostics.learning_curve import CurvePoint, fit_curve  # noqa: E402
from diagnostics.search.curve import DatasetModel, run_learning_curve  # noqa: E402
from diagnostics.search.fractions import nested_order, subset_size  # noqa: E402

FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
FIT_UP_TO = (1 / 4, 1 / 2)


def covertype_like(folder: Path) -> str:
    """A covertype-shaped synthetic dataset as a CSV; its ``csv:`` spec."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=12_000, n_features=54, n_informative=20, n_redundant=10, n_classes=7,
        n_clusters_per_class=2, weights=[0.36, 0.49, 0.06, 0.005, 0.016, 0.03],
        flip_y=0.02, class_sep=1.0, random_state=0,
    )  # fmt: skip
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(label=y)
    path = folder / "covertype_like.csv"
    frame.to_csv(path, index=False)
    return f"csv:{path}"


def validate(name: str, spec: str, label: str | None, folder: Path) -> list[dict]:
    """Measure every fraction, fit on the first ones, compare the forecast with the full size."""
    result = run_learning_curve(
        DatasetModel(spec, label), dataset=spec, label=label, fractions=FRACTIONS, seeds=3,
        data_dir=str(folder), study=name,
    )  # fmt: skip
    runs = [CurvePoint(**r) for r in result["runs"]]
    full = [p for p in runs if p.fraction == 1.0]
    measured = float(np.mean([p.dev_error for p in full]))
    rows = []
    for up_to in FIT_UP_TO:
        used = [p for p in runs if p.fraction is not None and p.fraction <= up_to]
        largest = max(p.n for p in used)
        fit = fit_curve(used, multiples=(full[0].n / largest,))
        if not fit.forecasts:
            rows.append({"dataset": name, "fit points": f"≤ {up_to:g}", "problem": fit.problem})
            continue
        forecast = fit.forecasts[0]
        low, high = forecast["interval"]
        rows.append(
            {
                "dataset": name,
                "fit points": f"{len(used)} runs, fractions 1/32…{up_to:g} (n ≤ {largest})",
                "forecast at n": full[0].n,
                "forecast": f"{forecast['dev_error']:.2%} ({low:.2%}–{high:.2%})",
                "measured": f"{measured:.2%}",
                "covered": "yes" if low <= measured <= high else "no",
            }
        )
    return rows


def anchor_ratio(folder: Path) -> str:
    """Seconds of digits' points through the study vs scikit-learn's learning_curve."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import learning_curve

    from diagnostics.search.curve import _dataset

    data = _dataset("digits", None, 0)
    x = np.concatenate([data.x["train"], data.x["dev"]])
    y = np.concatenate([data.y["train"], data.y["dev"]])
    n_train = len(data.y["train"])
    dev_rows = np.arange(n_train, len(y))
    sizes = [subset_size(n_train, f) for f in FRACTIONS]
    start = time.perf_counter()
    for seed in range(3):
        order = nested_order(np.asarray(data.classes, dtype=object)[data.y["train"]], seed)
        learning_curve(
            LogisticRegression(max_iter=2000), x, y, train_sizes=sizes,
            cv=[(order, dev_rows)], shuffle=False,
        )  # fmt: skip
    anchor = time.perf_counter() - start
    start = time.perf_counter()
    run_learning_curve(
        DatasetModel("digits"), dataset="digits", fractions=FRACTIONS, seeds=3,
        data_dir=str(folder), study="timing",
    )  # fmt: skip
    ours = time.perf_counter() - start
    sklearn = importlib.metadata.version("scikit-learn")
    optuna = importlib.metadata.version("optuna")
    return (
        f"digits' 16 runs through the study: {ours:.1f} s; anchor scikit-learn {sklearn} "
        f"learning_curve on the same rows (18 fits, 3 seeds × 6 sizes): {anchor:.1f} s; ratio "
        f"{ours / anchor:.2f}× (optuna {optuna})"
    )


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def main() -> None:
    """Print (and optionally write) the validation table and the timing ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        rows = [
            *validate("digits", "digits", None, folder),
            *validate("covertype-like", covertype_like(folder), "label", folder),
            *validate(
                "sample dataset.csv",
                f"csv:{HERE.parent / 'sample_data/dataset.csv'}",
                "label",
                folder,
            ),
        ]
        timing = anchor_ratio(folder)
    table = markdown(pd.DataFrame(rows).fillna(""))
    covered = sum(r.get("covered") == "yes" for r in rows)
    print(table)
    print(f"covered: {covered} of {len(rows)}")
    print(timing)
    if args.out:
        args.out.write_text(f"{table}\n\ncovered: {covered} of {len(rows)}\n\n{timing}\n")


if __name__ == "__main__":
    main()
