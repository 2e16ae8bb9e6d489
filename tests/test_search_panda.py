"""Panda mode: train, stop, change the LR, continue from the checkpoint."""

import pytest

from diagnostics.search.datasets import load_dataset
from diagnostics.search.panda import load_history, train_panda
from diagnostics.search.training import TrainConfig, train_model
from diagnostics.validation import InputError


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def test_continuing_from_a_checkpoint_equals_training_straight_through(digits, tmp_path):
    config = TrainConfig(lr=0.05, hidden_units=32, layers=1, epochs=3)
    train_panda(tmp_path, digits, config, 2)
    history = train_panda(tmp_path, digits, config, 1)
    straight = train_model(config, digits, device="cpu").history
    assert [e["epoch"] for e in history["epochs"]] == [1, 2, 3]
    assert history["epochs"][-1]["dev_accuracy"] == pytest.approx(straight[-1].dev_accuracy)
    assert history["changes"] == []


def test_a_changed_lr_is_recorded_and_used(digits, tmp_path):
    config = TrainConfig(lr=0.05, hidden_units=32, layers=1)
    train_panda(tmp_path, digits, config, 1)
    lower = TrainConfig(lr=0.005, hidden_units=32, layers=1)
    history = train_panda(tmp_path, digits, lower, 1)
    assert history["changes"] == [{"epoch": 1, "changes": {"lr": [0.05, 0.005]}}]
    assert [e["lr"] for e in load_history(tmp_path)["epochs"]] == [0.05, 0.005]


def test_stop_request_ends_before_the_next_epoch(digits, tmp_path):
    config = TrainConfig(lr=0.05, hidden_units=16, layers=1)
    calls = []
    history = train_panda(
        tmp_path, digits, config, 5, should_stop=lambda: len(calls) >= 2, on_epoch=calls.append
    )
    assert len(history["epochs"]) == 2


def test_an_architecture_change_is_refused(digits, tmp_path):
    train_panda(tmp_path, digits, TrainConfig(hidden_units=16, layers=1), 1)
    with pytest.raises(InputError, match="hidden_units"):
        train_panda(tmp_path, digits, TrainConfig(hidden_units=32, layers=1), 1)
