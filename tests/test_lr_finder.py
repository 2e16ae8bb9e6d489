"""The LR range test: exact restore, stopping, suggestions, and a suggestion that trains."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from diagnostics.lr_finder import find_lr, lr_range_test, suggest
from diagnostics.search.datasets import load_dataset
from diagnostics.search.model import build_mlp
from diagnostics.search.training import TrainConfig, train_model
from diagnostics.validation import InputError


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _batches(data, size=64):
    x, y = torch.as_tensor(data.x["train"]), torch.as_tensor(data.y["train"])
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(y), size)]


def test_model_and_optimizer_are_restored_exactly(digits):
    torch.manual_seed(0)
    model = build_mlp(digits.n_features, digits.n_classes, batch_norm=True, dropout=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = _batches(digits)[0]
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()  # the optimizer now holds momentum buffers
    before_model = {k: v.clone() for k, v in model.state_dict().items()}
    before_buffers = [optimizer.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    result = lr_range_test(
        model,
        optimizer,
        nn.CrossEntropyLoss(),
        _batches(digits),
        num_steps=60,
        accumulation_steps=2,
    )
    assert len(result.lrs) >= 3
    for key, value in model.state_dict().items():
        assert torch.equal(value, before_model[key]), key
    for p, buffer in zip(model.parameters(), before_buffers, strict=True):
        assert torch.equal(optimizer.state[p]["momentum_buffer"], buffer)
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_the_schedule_is_exponential_and_stops_when_the_loss_explodes(digits):
    result = find_lr(digits, TrainConfig(), num_steps=100)
    ratios = np.diff(np.log10(result.lrs))
    assert result.lrs[0] == pytest.approx(1e-7)
    assert np.allclose(ratios, ratios[0])
    assert "4× its best" in result.stopped and result.lrs[-1] < 10
    assert result.losses[-1] > 4 * min(result.losses)
    low, high = result.rule_of_thumb
    assert low == pytest.approx(result.loss_min_lr / 10) and high == pytest.approx(
        result.loss_min_lr / 3
    )


def test_the_first_nan_stops_the_test(digits):
    model = build_mlp(digits.n_features, digits.n_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []

    def loss_fn(logits, targets):
        calls.append(1)
        loss = nn.functional.cross_entropy(logits, targets)
        return loss * math.nan if len(calls) > 10 else loss

    result = lr_range_test(model, optimizer, loss_fn, _batches(digits), num_steps=50)
    assert result.stopped == "loss is NaN" and len(result.lrs) == 10


def test_valley_steepest_and_min10_on_a_known_curve():
    lrs = np.logspace(-7, 1, 200)
    log_lr = np.log10(lrs)
    losses = 2.3 - 2.0 / (1 + np.exp(-(log_lr + 3) * 2)) + np.exp(log_lr + 0.5)
    found = suggest(lrs, losses)
    lowest = lrs[np.argmin(losses)]
    assert found["min10"] == pytest.approx(lowest / 10)
    assert 1e-4 < found["steepest"] < 1e-2  # the logistic drop is steepest at 1e-3
    assert found["valley"] < lowest


def test_the_default_suggestion_trains_digits_to_95_percent_in_10_epochs(digits):
    config = TrainConfig(optimizer="adam", batch_size=64)
    result = find_lr(digits, config)
    assert result.method == "valley"
    trained = train_model(TrainConfig(optimizer="adam", lr=result.suggested_lr, epochs=10), digits)
    assert trained.dev_accuracy >= 0.95


def test_bad_settings_are_refused(digits):
    with pytest.raises(InputError, match="unknown LR suggestion method"):
        find_lr(digits, TrainConfig(), method="median")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_default_suggestion_is_robust_to_the_split_and_the_seed(seed):
    data = load_dataset("digits", seed=seed)
    result = find_lr(data, TrainConfig(optimizer="adam", batch_size=64, seed=seed))
    config = TrainConfig(optimizer="adam", lr=result.suggested_lr, epochs=10, seed=seed)
    assert train_model(config, data).dev_accuracy >= 0.95
