"""Target-data curve runs through the objective door: real training, a real study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from diagnostics.search.datasets import load_dataset
from diagnostics.search.fractions import nested_order
from diagnostics.search.pool import PoolSpec, pool_rows
from diagnostics.search.target import run_target_curve
from diagnostics.validation import InputError
from tests.objectives.target import FEATURES, mismatched_frame

KNN = "tests.objectives.target:knn_target"


@pytest.fixture
def designed(tmp_path: Path) -> Path:
    """The split designer's output: leftover target rows in train, marked by ``domain``."""
    path = tmp_path / "mismatched.csv"
    mismatched_frame().to_csv(path, index=False)
    return path


def direct_knn(frame: pd.DataFrame, pool: np.ndarray, k: int, seed: int) -> dict[str, float]:
    """The same run computed here: train without the pool plus the first k of its order."""
    from sklearn.neighbors import KNeighborsClassifier

    split, y, x = frame["split"].to_numpy(), frame["label"].to_numpy(), frame[FEATURES].to_numpy()
    rows = (split == "train") & ~pool
    rows[np.flatnonzero(pool)[nested_order(y[pool], seed)[:k]]] = True
    predicted = KNeighborsClassifier(15).fit(x[rows], y[rows]).predict(x)
    wrong = predicted != y
    return {
        "train": wrong[rows].mean(),
        "train_dev": wrong[split == "train_dev"].mean(),
        "dev": wrong[split == "dev"].mean(),
        "n": int(rows.sum()),
    }


def test_a_user_objective_on_the_designers_leftover_target_rows_equals_a_direct_run(
    designed: Path, tmp_path: Path
) -> None:
    result = run_target_curve(
        KNN, dataset=f"csv:{designed}", pool="domain=phone", label="label", seeds=2,
        data_dir=str(tmp_path), study="knn",
    )  # fmt: skip
    assert result["failures"] == [] and result["problem"] is None
    frame = pd.read_csv(designed)
    pool = (frame["domain"] == "phone").to_numpy() & (frame["split"] == "train").to_numpy()
    assert result["pool"] == {
        "spec": "domain=phone",
        "rows": 200,
        "classes": {"down": 111, "up": 89},
    }
    assert [p["k"] for p in result["points"]] == [0, 12, 25, 50, 100, 200]
    assert len(result["runs"]) == 11  # two seeds below the whole pool, one with it
    for run in result["runs"]:
        direct = direct_knn(frame, pool, run["k"], run["seed"])
        assert run["n"] == direct["n"] == 1000 + run["k"]
        assert run["dev_error"] == pytest.approx(direct["dev"], abs=1e-12)
        assert run["train_dev_error"] == pytest.approx(direct["train_dev"], abs=1e-12)
        assert run["train_error"] == pytest.approx(direct["train"], abs=1e-12)
    first, last = result["points"][0], result["points"][-1]
    assert first["data_mismatch"] == pytest.approx(first["dev_error"] - first["train_dev_error"])
    assert last["dev_error"] < first["dev_error"] - 0.1  # the target rows close the gap
    assert result["fit"]["form"] == "err(k) = a + b * (k + m)^(-c)"
    assert [f["k"] for f in result["forecasts"]] == [200, 400, 800, 2000]
    assert result["half_gap"]["k"] is not None and result["half_gap"]["measured"] is not None


def test_a_pool_split_is_trained_on_as_train_and_a_rerun_runs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "pool.csv"
    mismatched_frame(pool_split="pool").to_csv(path, index=False)
    storage = f"sqlite:///{tmp_path / 'target.db'}"
    kwargs = {"dataset": f"csv:{path}", "pool": "pool", "label": "label", "seeds": 2,
              "data_dir": str(tmp_path), "study": "split", "storage": storage}  # fmt: skip
    result = run_target_curve(KNN, **kwargs)
    assert result["failures"] == [] and len(result["runs"]) == 11
    again = run_target_curve(KNN, **kwargs)
    assert len(optuna.load_study(study_name="split", storage=storage).trials) == 11
    assert again["points"] == result["points"]


def test_the_builtin_mlp_trains_on_train_plus_the_pool_rows_it_is_given(
    designed: Path, tmp_path: Path
) -> None:
    import torch

    from diagnostics.search.builtin import BuiltinMLP
    from diagnostics.search.objective import TrialContext
    from diagnostics.search.outputs import predictions_frame
    from diagnostics.search.training import TrainConfig, train_model

    result = run_target_curve(
        dataset=f"csv:{designed}", pool="domain=phone", label="label", fractions=(0.25, 0.5, 1),
        seeds=2, epochs=2, data_dir=str(tmp_path), study="mlp",
    )  # fmt: skip
    assert result["failures"] == [] and result["objective"] == "builtin MLP"
    assert [p["k"] for p in result["points"]] == [0, 50, 100, 200]
    data = load_dataset(f"csv:{designed}", label="label", pool=PoolSpec.parse("domain=phone"))
    assert len(data.y["pool"]) == 200 and len(data.y["train"]) == 1000
    torch.set_num_threads(1)
    run = next(r for r in result["runs"] if r["k"] == 50 and r["seed"] == 1)
    chosen = nested_order(data.y["pool"], 1)[:50]
    joined = {
        part: {**getattr(data, part), "train": np.concatenate([getattr(data, part)["train"],
               getattr(data, part)["pool"][np.sort(chosen)]])}
        for part in ("x", "y", "ids")
    }  # fmt: skip
    direct = type(data)(data.name, joined["x"], joined["y"], joined["ids"], data.classes)
    model = train_model(TrainConfig(lr=0.01, epochs=2, seed=1), direct, device="cpu").model
    frame = predictions_frame(model, direct)
    wrong = frame["y_true"] != frame["y_pred"]
    assert run["n"] == 1050
    assert run["dev_error"] == pytest.approx(wrong[frame["split"] == "dev"].mean(), abs=1e-12)
    assert run["train_error"] == pytest.approx(wrong[frame["split"] == "train"].mean(), abs=1e-12)
    context = TrialContext(number=0, params={}, seed=1, target_k=50)
    ours = BuiltinMLP(data, 2)({"lr": 0.01}, context)
    assert sorted(ours.loc[ours["split"] == "train", "id"]) == sorted(direct.ids["train"])


def test_bad_pools_are_refused_in_one_line(designed: Path, tmp_path: Path) -> None:
    kwargs = {"dataset": f"csv:{designed}", "label": "label", "data_dir": str(tmp_path)}
    with pytest.raises(InputError, match="no train rows with domain = tablet"):
        run_target_curve(KNN, pool="domain=tablet", **kwargs)
    with pytest.raises(InputError, match="no column 'device'"):
        run_target_curve(KNN, pool="device=phone", **kwargs)
    with pytest.raises(InputError, match="no rows whose split is 'spare'"):
        run_target_curve(KNN, pool="spare", **kwargs)
    with pytest.raises(InputError, match="dev is one of the four splits"):
        run_target_curve(KNN, pool="dev", **kwargs)
    with pytest.raises(InputError, match="all of train"):
        run_target_curve(
            KNN, pool="label=up", **{**kwargs, "dataset": f"csv:{_one_class_train(tmp_path)}"}
        )
    with pytest.raises(InputError, match="needs a csv:/parquet:/hf: dataset"):
        run_target_curve(KNN, pool="pool", dataset="digits", data_dir=str(tmp_path))
    small = tmp_path / "small.csv"
    frame = mismatched_frame()
    keep = ~((frame["domain"] == "phone") & (frame["split"] == "train")) | (frame.index < 1210)
    frame[keep].to_csv(small, index=False)
    with pytest.raises(InputError, match="has 4 rows, fewer than the smallest step needs"):
        run_target_curve(KNN, pool="domain=phone", **{**kwargs, "dataset": f"csv:{small}"})
    unsplit = tmp_path / "unsplit.csv"
    mismatched_frame().drop(columns="split").to_csv(unsplit, index=False)
    with pytest.raises(InputError, match="a target pool needs a split column"):
        run_target_curve(KNN, pool="domain=phone", **{**kwargs, "dataset": f"csv:{unsplit}"})


def _one_class_train(tmp_path: Path) -> Path:
    frame = mismatched_frame()
    frame = frame[(frame["split"] != "train") | (frame["label"] == "up")]
    path = tmp_path / "one.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_failing_step_is_named_the_rest_fitted_and_a_missing_class_warned(
    tmp_path: Path,
) -> None:
    frame = mismatched_frame()
    frame = frame[
        ~((frame["domain"] == "phone") & (frame["split"] == "train") & (frame["label"] == "up"))
    ]
    path = tmp_path / "downs.csv"
    frame.to_csv(path, index=False)
    result = run_target_curve(
        KNN, dataset=f"csv:{path}", pool="domain=phone", label="label", params={"fail_below": 10},
        seeds=2, data_dir=str(tmp_path), study="fails",
    )  # fmt: skip
    assert all("MemoryError: out of memory with this few" in f for f in result["failures"])
    assert [f.split(":")[0] for f in result["failures"]] == [
        "k 7, seed 1", "k 7, seed 0", "k 0, seed 1", "k 0, seed 0"
    ]  # fmt: skip
    assert [p["k"] for p in result["points"]] == [14, 28, 56, 111]
    assert result["problem"].startswith("too few points") or result["problem"].endswith(
        "k = 0 among them"
    )
    assert result["warnings"] == [
        "the pool has no rows of class 'up', which dev has: the curve says nothing about what "
        "target examples of it are worth"
    ]


def test_pool_rows_are_nested_stratified_and_bounded() -> None:
    labels = np.repeat(["a", "b"], [30, 10])
    small, large = pool_rows(labels, 8, 3), pool_rows(labels, 20, 3)
    assert set(small) <= set(large)
    assert sorted(np.unique(labels[large], return_counts=True)[1].tolist()) == [5, 15]
    with pytest.raises(InputError, match="41 target rows asked for, but the pool has 40"):
        pool_rows(labels, 41)


@pytest.mark.slow
def test_two_workers_give_the_points_one_gives(designed: Path, tmp_path: Path) -> None:
    kwargs = {"dataset": f"csv:{designed}", "pool": "domain=phone", "label": "label",
              "seeds": 2, "data_dir": str(tmp_path)}  # fmt: skip
    two = run_target_curve(KNN, study="two", workers=2, **kwargs)
    one = run_target_curve(KNN, study="one", **kwargs)
    assert two["failures"] == [] and len(two["runs"]) == 11
    assert two["points"] == one["points"]
