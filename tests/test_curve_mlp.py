"""``learning-curve --dataset`` without ``--objective`` trains the search's built-in MLP on each
fraction (real torch training); scikit-learn's logistic regression stays one ``--objective``
away."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from diagnostics.search.builtin import BuiltinMLP, train_part
from diagnostics.search.curve import DatasetModel, point_space, run_learning_curve
from diagnostics.search.datasets import load_dataset
from diagnostics.search.fractions import subset_size, train_subset
from diagnostics.search.objective import TrialContext
from diagnostics.validation import InputError
from strategy_app.cli import main

FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1.0)


def test_the_mlp_trains_on_the_fraction_and_predicts_train_on_those_rows_only() -> None:
    data = load_dataset("digits")
    part = train_part(data, 0.25, seed=1)
    rows = train_subset(data.y["train"], 0.25, 1)
    assert part.ids["train"].tolist() == data.ids["train"][rows].tolist()
    assert part.x["train"].shape == (subset_size(len(data.y["train"]), 0.25), data.n_features)
    assert all(np.array_equal(part.x[s], data.x[s]) for s in ("train_dev", "dev", "test"))
    assert train_part(data, 1.0) is data
    context = TrialContext(number=0, params={}, seed=1, train_fraction=0.25)
    frame = BuiltinMLP(data, epochs=1)({}, context)
    train = frame[frame["split"] == "train"]
    assert sorted(train["id"].tolist()) == sorted(data.ids["train"][rows].tolist())
    assert (frame["split"] == "dev").sum() == len(data.y["dev"])


def test_learning_curve_dataset_runs_the_builtin_mlp(tmp_path: Path, capsys) -> None:
    argv = [
        "learning-curve", "--dataset", "digits", "--fractions", "1/8,1/4,1/2,1", "--seeds", "2",
        "--epochs", "2", "--params", '{"hidden_units": 32}', "--data-dir", str(tmp_path),
        "--study", "mlp", "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["objective"] == "builtin:mlp" and result["failures"] == []
    n_train = len(load_dataset("digits").y["train"])
    assert [p["n"] for p in result["points"]] == [subset_size(n_train, f) for f in FRACTIONS]
    assert [p["seeds"] for p in result["points"]] == [2, 2, 2, 1]
    # the same points again from the same configuration (seeded training on CPU)
    again = run_learning_curve(
        dataset="digits", params={"hidden_units": 32}, fractions=FRACTIONS, seeds=2,
        epochs=2, data_dir=str(tmp_path), study="mlp-again",
    )  # fmt: skip
    assert again["runs"] == result["runs"]


def test_the_builtin_space_fixes_every_parameter_and_refuses_unknown_ones() -> None:
    space = point_space(None, {"lr": 0.05})
    fixed = {p.name: p.choices[0] for p in space.params}
    assert fixed["lr"] == 0.05 and fixed["hidden_units"] == 128 and "epochs" not in fixed
    with pytest.raises(InputError, match="unknown parameter"):
        point_space(None, {"C": 1.0})
    assert point_space("pkg.module:fn", {"C": 1.0}).params[0].choices == (1.0,)


def test_logistic_regression_is_one_objective_away(tmp_path: Path) -> None:
    kwargs = {"dataset": "digits", "fractions": (1 / 4, 1.0), "seeds": 1, "data_dir": str(tmp_path)}
    named = run_learning_curve(
        "diagnostics.search.curve:logistic_regression", study="named", **kwargs
    )
    direct = run_learning_curve(DatasetModel("digits"), study="direct", **kwargs)
    assert named["objective"] == "diagnostics.search.curve:logistic_regression"
    assert named["runs"] == direct["runs"] and named["failures"] == []
    with pytest.raises(InputError, match="needs --dataset"):
        from diagnostics.search.curve import logistic_regression

        logistic_regression({}, SimpleNamespace(dataset=None))  # type: ignore[arg-type]
