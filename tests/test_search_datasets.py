"""The search's csv:/parquet: datasets: a file's own split and id columns are kept as they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from diagnostics.compare import compare
from diagnostics.ingest import read_predictions
from diagnostics.search.datasets import load_dataset
from diagnostics.search.outputs import predictions_frame
from diagnostics.search.training import TrainConfig, model_for
from diagnostics.validation import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def table(path: Path, splits: list[str], ids=None) -> Path:
    """A small dataset: id, split, label and two numeric features (CSV or Parquet)."""
    n = len(splits)
    frame = pd.DataFrame(
        {
            "id": ids if ids is not None else [f"e{i}" for i in range(n)],
            "split": splits,
            "label": [i % 2 for i in range(n)],
            "a": np.arange(n, dtype=float),
            "b": np.arange(n, dtype=float) ** 2,
        }
    )
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_split_column_is_used_as_is(tmp_path, suffix):
    splits = ["train"] * 6 + ["Train-Dev"] * 2 + ["val"] * 3 + [" test"] * 2
    path = table(tmp_path / f"data{suffix}", splits)
    data = load_dataset(f"{suffix[1:]}:{path}", label="label")
    assert data.sizes() == {"train": 6, "train_dev": 2, "dev": 3, "test": 2}
    assert data.ids["dev"].tolist() == ["e8", "e9", "e10"]
    assert data.ids["test"].tolist() == ["e11", "e12"]
    assert data.feature_names == ["a", "b"]  # neither split nor id is a feature
    assert np.allclose(data.x["train"].mean(axis=0), 0.0, atol=1e-6)  # standardized on train
    assert data.x["test"].mean() > 1.0  # and only on train: later rows stay far off


def test_without_a_split_column_the_file_is_split(tmp_path):
    path = tmp_path / "data.csv"
    table(path, ["x"] * 200)
    frame = pd.read_csv(path).drop(columns="split")
    frame.to_csv(path, index=False)
    data = load_dataset(f"csv:{path}", label="label")
    assert data.sizes() == {"train": 100, "train_dev": 20, "dev": 40, "test": 40}


@pytest.mark.parametrize(
    ("splits", "ids", "message"),
    [
        (["train"] * 4 + ["dev"] * 2 + ["train_dev"], None, "no rows in test"),
        (["train"] * 3 + ["holdout"] + ["dev", "test", "train_dev"], None, "unknown or empty"),
        (["train", "train", "dev", "test", "train_dev"], [1, 1, 2, 3, 4], "id '1' repeats"),
    ],
)
def test_refusals(tmp_path, splits, ids, message):
    path = table(tmp_path / "data.csv", splits, ids)
    with pytest.raises(InputError, match=message):
        load_dataset(f"csv:{path}", label="label")


def test_empty_split_value_is_refused(tmp_path):
    path = table(tmp_path / "data.csv", ["train", "dev", "test", "train_dev", "train"])
    path.write_text(path.read_text().replace(",train,", ",,", 1))
    with pytest.raises(InputError, match="row 1"):
        load_dataset(f"csv:{path}", label="label")


def test_sample_dataset_matches_the_sample_predictions():
    dataset = pd.read_csv(SAMPLE / "dataset.csv")
    predictions = pd.read_csv(SAMPLE / "predictions.csv")
    assert dataset[["id", "split"]].equals(predictions[["id", "split"]])
    assert dataset["label"].equals(predictions["y_true"])
    assert [c for c in dataset if c.startswith("pixel_")] == [f"pixel_{i}" for i in range(64)]


def test_search_predictions_on_the_sample_dataset_compare_paired(tmp_path):
    data = load_dataset(f"csv:{SAMPLE / 'dataset.csv'}", label="label")
    assert data.sizes() == {"train": 4600, "train_dev": 1000, "dev": 800, "test": 788}
    torch.manual_seed(0)
    model = model_for(TrainConfig(), data.n_features, data.n_classes)
    after = tmp_path / "predictions.csv"  # what a search writes
    predictions_frame(model, data).to_csv(after, index=False)
    comparison = compare(read_predictions(SAMPLE / "predictions.csv"), read_predictions(after))
    for split, size in data.sizes().items():
        level = comparison.levels[split]
        assert level.paired and level.n_shared == size
    assert not comparison.notes
