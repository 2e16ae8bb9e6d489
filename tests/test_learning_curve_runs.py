"""Learning-curve runs through the objective door: real scikit-learn training, a real study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from diagnostics.search.curve import parse_fractions, plan_points, run_learning_curve
from diagnostics.search.fractions import nested_order, subset_size, train_subset
from diagnostics.validation import InputError
from tests.objectives import models

FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)


def test_subsets_are_nested_and_stratified() -> None:
    y = np.repeat([0, 1, 2], [60, 30, 10])
    small, large = train_subset(y, 0.2, seed=3), train_subset(y, 0.5, seed=3)
    assert set(small) <= set(large)
    assert np.bincount(y[small]).tolist() == [12, 6, 2]
    assert np.bincount(y[large]).tolist() == [30, 15, 5]
    assert len(train_subset(y, 1.0, seed=3)) == 100
    assert not np.array_equal(nested_order(y, 0), nested_order(y, 1))


def test_a_fraction_too_small_for_a_class_is_refused_in_one_line() -> None:
    y = np.repeat(["cat", "dog"], [98, 2])
    with pytest.raises(InputError, match="leaves class 'dog' with no training row"):
        train_subset(y, 1 / 16)


def test_the_plan_and_its_fractions() -> None:
    assert plan_points([0.5, 1, 0.25], seeds=2) == [
        (1.0, 0),
        (0.5, 0),
        (0.5, 1),
        (0.25, 0),
        (0.25, 1),
    ]
    assert parse_fractions("1/16, 0.5,1") == (0.0625, 0.5, 1.0)
    with pytest.raises(InputError, match="not a number"):
        parse_fractions("half")
    with pytest.raises(InputError, match=r"\(0, 1\]"):
        plan_points([1.5], 1)


def test_a_user_objective_honours_the_fraction_and_matches_sklearn_learning_curve(
    tmp_path: Path,
) -> None:
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import learning_curve

    result = run_learning_curve(
        models.ridge_curve,
        params={"C": 1.0},
        fractions=FRACTIONS,
        seeds=2,
        data_dir=str(tmp_path),
        study="ridge",
    )
    assert result["failures"] == [] and result["fit"] is not None
    x, y, split = models.digits()
    train_rows, dev_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "dev")
    sizes = [subset_size(len(train_rows), f) for f in FRACTIONS]
    runs = pd.DataFrame(result["runs"])
    for seed in (0, 1):
        order = train_rows[nested_order(y[train_rows], seed)]
        measured_sizes, train_scores, dev_scores = learning_curve(
            RidgeClassifier(alpha=1.0),
            x,
            y,
            train_sizes=sizes,
            cv=[(order, dev_rows)],
            shuffle=False,
        )
        ours = runs[(runs["seed"] == seed) | (runs["fraction"] == 1.0)].sort_values("n")
        if seed == 1:  # fraction 1 runs once (every seed trains on all of train)
            measured_sizes, train_scores, dev_scores = (
                measured_sizes[:-1],
                train_scores[:-1],
                dev_scores[:-1],
            )
            ours = ours[ours["fraction"] < 1]
        assert ours["n"].tolist() == measured_sizes.tolist()
        assert ours["dev_error"].to_numpy() == pytest.approx(1 - dev_scores[:, 0], abs=1e-12)
        assert ours["train_error"].to_numpy() == pytest.approx(1 - train_scores[:, 0], abs=1e-12)
    points = result["points"]
    assert [p["fraction"] for p in points] == list(FRACTIONS)
    assert [p["n"] for p in points] == sizes
    assert len(result["forecasts"]) == 3 and result["forecasts"][0]["n"] == 2 * sizes[-1]


def test_a_failing_fraction_is_named_the_other_points_fitted_and_a_rerun_resumes(
    tmp_path: Path,
) -> None:
    storage = f"sqlite:///{tmp_path / 'curve.db'}"
    kwargs = {
        "fractions": FRACTIONS,
        "seeds": 2,
        "data_dir": str(tmp_path),
        "study": "broken",
        "storage": storage,
    }
    result = run_learning_curve(models.ridge_curve, params={"C": 1.0, "fail_below": 0.1}, **kwargs)
    assert len(result["failures"]) == 2
    assert result["failures"][0].startswith("fraction 0.0625, seed 1: trial ")
    assert "out of memory at this size (pretend)" in result["failures"][0]
    assert [p["n"] for p in result["points"]] == [112, 224, 449, 898]  # 1/16 missing
    study = optuna.load_study(study_name="broken", storage=storage)
    assert len(study.trials) == 9
    again = run_learning_curve(models.ridge_curve, params={"C": 1.0}, **kwargs)
    study = optuna.load_study(study_name="broken", storage=storage)
    assert len(study.trials) == 11  # only the two failed points ran again
    assert again["failures"] == [] and len(again["runs"]) == 9
    assert again["points"][1:] == result["points"]


def test_the_dataset_model_skips_fractions_too_small_for_a_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    label = np.where(np.arange(n) % 50 == 0, "rare", np.where(np.arange(n) % 2, "a", "b"))
    names = ["dev", "train_dev", "test", "train", "train", "train", "train"]
    split = np.array(names)[np.arange(n) % 7]
    path = tmp_path / "data.csv"
    pd.DataFrame(
        {
            "id": np.arange(n),
            "x1": rng.normal(size=n) + (label == "a"),
            "x2": rng.normal(size=n),
            "label": label,
            "split": split,
        }
    ).to_csv(path, index=False)
    result = run_learning_curve(
        dataset=f"csv:{path}",
        label="label",
        fractions=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1),
        seeds=2,
        data_dir=str(tmp_path),
        study="rare",
    )
    assert result["skipped"] == (
        "fractions 0.03125, 0.0625, 0.125 skipped: train fraction 0.125 leaves class 'rare' with "
        "no training row (it has 4 of 228); use fractions above 0.125 or merge rare classes"
    )
    assert [p["fraction"] for p in result["points"]] == [1 / 4, 1 / 2, 1]


def test_no_objective_and_no_dataset_is_refused() -> None:
    with pytest.raises(InputError, match="give --dataset or --objective"):
        run_learning_curve()


@pytest.mark.slow
def test_two_workers_run_the_points(tmp_path: Path) -> None:
    result = run_learning_curve(
        "tests.objectives.models:ridge_curve",
        params={"C": 1.0},
        fractions=FRACTIONS,
        seeds=2,
        data_dir=str(tmp_path),
        study="two",
        workers=2,
    )
    assert result["failures"] == [] and len(result["runs"]) == 9
    one = run_learning_curve(
        models.ridge_curve,
        params={"C": 1.0},
        fractions=FRACTIONS,
        seeds=2,
        data_dir=str(tmp_path),
        study="one",
    )
    assert result["points"] == one["points"]
