"""The default search space works out of the box on digits, and what an epoch of a tiny set is."""

import pytest
import torch

from diagnostics.search.datasets import load_dataset
from diagnostics.search.model import build_mlp
from diagnostics.search.rounds import run_search
from diagnostics.search.settings import SearchSettings
from diagnostics.search.space import DEFAULT_SPACE
from diagnostics.search.training import (
    MIN_STEPS_PER_EPOCH,
    PARAM_NAMES,
    TrainConfig,
    steps_in_epoch,
    train_epoch,
)
from diagnostics.validation import InputError


def test_the_default_space_spans_the_methods_round_one():
    assert (DEFAULT_SPACE["lr"]["low"], DEFAULT_SPACE["lr"]["high"]) == (1e-4, 1.0)
    units = DEFAULT_SPACE["hidden_units"]
    assert (units["low"], units["high"], units["log"]) == (32, 2048, True)


@pytest.mark.parametrize(
    ("rows", "batch_size", "minimum", "steps"),
    [(899, 32, 30, 58), (899, 256, 30, 32), (899, 64, 1, 15), (10_000, 32, 30, 313), (3, 64, 5, 5)],
)
def test_an_epoch_is_whole_passes_of_at_least_the_minimum_steps(rows, batch_size, minimum, steps):
    config = TrainConfig(batch_size=batch_size, min_steps_per_epoch=minimum)
    assert steps_in_epoch(rows, config) == steps


def test_the_digits_split_gives_a_pass_of_few_steps():
    """Why the minimum exists: one pass over digits' train split is 4–29 steps."""
    rows = len(load_dataset("digits").y["train"])
    one_pass = {
        b: steps_in_epoch(rows, TrainConfig(batch_size=b, min_steps_per_epoch=1))
        for b in DEFAULT_SPACE["batch_size"]["choices"]
    }
    assert max(one_pass.values()) < MIN_STEPS_PER_EPOCH


def test_train_epoch_takes_the_steps_the_schedule_counts():
    x, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    model = build_mlp(3, 2, layers=1, hidden_units=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []
    loss, accuracy = train_epoch(
        model,
        optimizer,
        x,
        y,
        batch_size=16,
        generator=torch.Generator().manual_seed(0),
        before_step=lambda: calls.append(1),
        min_steps=7,
    )
    config = TrainConfig(batch_size=16, min_steps_per_epoch=7)
    assert len(calls) == steps_in_epoch(40, config) == 9  # three passes of three batches
    assert loss > 0 and 0 <= accuracy <= 1


def test_the_minimum_is_a_setting_not_a_searched_parameter():
    assert "min_steps_per_epoch" not in PARAM_NAMES
    assert TrainConfig().min_steps_per_epoch == MIN_STEPS_PER_EPOCH
    with pytest.raises(InputError, match="min_steps_per_epoch"):
        TrainConfig(min_steps_per_epoch=0).check()


def _best_of_six_random_trials(seed: int, folder) -> float:
    """The best dev accuracy of six random trials of three epochs."""
    result = run_search(
        SearchSettings(
            dataset="digits",
            sampler="random",
            trials=6,
            epochs=3,
            seed=seed,
            data_dir=str(folder),
            study=f"default-{seed}",
        )
    )
    # a trial's value is its dev error (the search minimises it); a diverged trial fails
    return 1 - min(t["value"] for t in result["trials"] if t["value"] is not None)


@pytest.mark.slow
def test_six_random_trials_of_three_epochs_reach_85_percent_in_nine_of_ten_seeds(tmp_path):
    best = [_best_of_six_random_trials(seed, tmp_path / str(seed)) for seed in range(10)]
    assert best[0] >= 0.85
    assert sum(value >= 0.85 for value in best) >= 9, best
