"""Error sampling: seeded, dev errors only, stratified, confusion pairs."""

import numpy as np
import pandas as pd
import pytest

from diagnostics.errors import (
    confusion_pairs,
    dev_error_summary,
    error_positions,
    sample_errors,
)
from diagnostics.ingest import read_predictions
from diagnostics.validation import InputError


def write_predictions(tmp_path, *, with_id=True, rows=2000, seed=1):
    """A classification file: 60% train, 40% dev, about 20% of dev misclassified."""
    rng = np.random.default_rng(seed)
    split = np.where(np.arange(rows) % 5 < 3, "train", "dev")
    y_true = rng.integers(0, 4, rows)
    wrong = rng.random(rows) < 0.2
    y_pred = np.where(wrong, (y_true + rng.integers(1, 4, rows)) % 4, y_true)
    frame = pd.DataFrame({"split": split, "y_true": y_true, "y_pred": y_pred})
    if with_id:
        frame.insert(0, "id", [f"ex{i:05d}" for i in range(rows)])
    path = tmp_path / "predictions.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_sample_draws_only_dev_errors_and_is_seeded(tmp_path):
    path, frame = write_predictions(tmp_path)
    predictions = read_predictions(path)
    sample = sample_errors(predictions, 100, seed=7)
    assert len(sample) == 100
    assert sample["id"].is_unique
    original = frame.set_index("id").loc[sample["id"]]
    assert (original["split"] == "dev").all()
    assert (original["y_true"] != original["y_pred"]).all()
    assert (sample["y_true"].to_numpy() == original["y_true"].to_numpy()).all()
    again = sample_errors(predictions, 100, seed=7)
    assert sample["id"].tolist() == again["id"].tolist()
    other = sample_errors(predictions, 100, seed=8)
    assert sample["id"].tolist() != other["id"].tolist()


def test_sample_smaller_population_returns_all_errors(tmp_path):
    path, frame = write_predictions(tmp_path, rows=100)
    predictions = read_predictions(path)
    errors = frame[(frame.split == "dev") & (frame.y_true != frame.y_pred)]
    sample = sample_errors(predictions, 1000, seed=0)
    assert sorted(sample["id"]) == sorted(errors["id"])


def test_ids_default_to_data_row_numbers(tmp_path):
    path, frame = write_predictions(tmp_path, with_id=False)
    predictions = read_predictions(path)
    sample = sample_errors(predictions, 20, seed=3)
    rows = sample["id"].astype(int).to_numpy() - 1
    assert (frame["split"].iloc[rows] == "dev").all()
    assert (frame["y_true"].iloc[rows].to_numpy() == sample["y_true"].to_numpy()).all()


def test_stratified_sample_is_proportional_to_pairs(tmp_path):
    path, _ = write_predictions(tmp_path, rows=20000)
    predictions = read_predictions(path)
    pairs = confusion_pairs(predictions)
    sample = sample_errors(predictions, 120, seed=5, stratify=True)
    assert len(sample) == 120 and sample["id"].is_unique
    drawn = sample.groupby(["y_true", "y_pred"]).size()
    for row in pairs.itertuples():
        expected = row.share * 120
        assert abs(drawn.get((row.y_true, row.y_pred), 0) - expected) < 1
    assert sample_errors(predictions, 120, seed=5, stratify=True).equals(sample)


def test_confusion_pairs_counts_and_order(tmp_path):
    frame = pd.DataFrame(
        {
            "split": ["dev"] * 7 + ["train"] * 3,
            "y_true": ["cat", "cat", "cat", "dog", "dog", "cat", "bird", "cat", "cat", "cat"],
            "y_pred": ["dog", "dog", "dog", "cat", "dog", "cat", "cat", "dog", "dog", "dog"],
        }
    )
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    predictions = read_predictions(path)
    pairs = confusion_pairs(predictions)
    assert pairs[["y_true", "y_pred", "count"]].values.tolist() == [
        ["cat", "dog", 3],
        ["bird", "cat", 1],
        ["dog", "cat", 1],
    ]
    assert pairs["share"].tolist() == pytest.approx([0.6, 0.2, 0.2])
    assert dev_error_summary(predictions) == {"dev_size": 7, "dev_errors": 5, "dev_error": 5 / 7}
    assert len(error_positions(predictions)) == 5


def test_regression_and_missing_dev_are_refused(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"split": ["dev", "train"], "y_true": [1.5, 2.5], "y_pred": [1.0, 2.0]}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match="class labels"):
        sample_errors(read_predictions(path))
    path2 = tmp_path / "t.csv"
    pd.DataFrame({"split": ["train"], "y_true": [1], "y_pred": [0]}).to_csv(path2, index=False)
    with pytest.raises(InputError, match="no dev rows"):
        sample_errors(read_predictions(path2))
