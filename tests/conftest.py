"""Shared fixtures: a tmp data folder (STRATEGY_DATA_DIR) and a small predictions CSV."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

ERRORS = {"train": 0.08, "train_dev": 0.09, "dev": 0.12, "test": 0.13}


def write_predictions(path: Path, rows_per_split: int = 200, seed: int = 0) -> Path:
    """A predictions CSV in the sample's columns, with about the seed's error rates."""
    rng = random.Random(seed)
    lines = ["id,split,y_true,y_pred,score,input,device"]
    row = 0
    for split, error in ERRORS.items():
        for _ in range(rows_per_split):
            row += 1
            label = rng.randint(0, 9)
            predicted = (label + 1) % 10 if rng.random() < error else label
            device = rng.choice(["web", "phone"])
            lines.append(
                f"{row},{split},{label},{predicted},{rng.random():.3f},"
                f"images/{split}_{row:05d}.png,{device}"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh data folder (STRATEGY_DATA_DIR) with no sample file configured."""
    folder = tmp_path / "data"
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(folder))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(tmp_path / "no-sample.csv"))
    return folder


@pytest.fixture
def predictions_csv(tmp_path) -> Path:
    """A small valid predictions file."""
    return write_predictions(tmp_path / "predictions.csv")
