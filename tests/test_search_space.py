"""The search space: sampling distributions, validation, grid, narrowing (STRATEGY_NOTES §4)."""

import math

import numpy as np
import optuna
import pytest

from diagnostics.search.space import DEFAULT_SPACE, SearchSpace
from diagnostics.search.training import PARAM_NAMES
from diagnostics.validation import InputError


def _samples(space: SearchSpace, n: int = 600) -> list[dict]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    samples = []
    for _ in range(n):
        trial = study.ask()
        samples.append(space.suggest(trial))
        study.tell(trial, 0.0)
    return samples


def test_log_uniform_spreads_evenly_across_decades():
    lrs = np.array([s["lr"] for s in _samples(SearchSpace.default())])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1.0
    shares = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1, 0])[0] / len(lrs)
    assert all(0.19 < share < 0.31 for share in shares)


def test_log_complement_keeps_momentum_in_range_with_one_minus_beta_log_uniform():
    betas = np.array([s["momentum"] for s in _samples(SearchSpace.default())])
    assert betas.min() >= 0.9 and betas.max() <= 0.999
    shares = np.histogram(np.log10(1 - betas), bins=[-3, -2, -1])[0] / len(betas)
    assert all(0.4 < share < 0.6 for share in shares)
    # uniform β would put only ~1% of samples above 0.99; log_complement puts half there
    assert (betas > 0.99).mean() > 0.4


def test_the_mapping_onto_optuna_uses_log_scales():
    dists = SearchSpace.default().distributions()
    assert dists["lr"].log and dists["hidden_units"].log
    complement = dists["momentum__complement"]
    assert complement.log
    assert math.isclose(complement.low, 1e-3) and math.isclose(complement.high, 0.1)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "empty"),
        ({"lr": {"type": "log_uniform", "low": 0.1, "high": 0.001}}, "above high"),
        ({"lr": {"type": "log_uniform", "low": 0, "high": 0.1}}, "above 0"),
        ({"hidden_units": {"type": "int", "low": 0, "high": 64, "log": True}}, "above 0"),
        ({"momentum": {"type": "log_complement", "low": 0.9, "high": 1.0}}, "< 1"),
        ({"lr": {"type": "gaussian", "low": 0, "high": 1}}, "unknown type"),
        ({"colour": {"type": "choice", "choices": [1, 2]}}, "unknown parameter 'colour'"),
        ({"batch_size": {"type": "choice", "choices": []}}, "non-empty"),
        ({"lr": {"type": "uniform", "low": 0.1, "high": 0.2, "points": [0.5]}}, "outside"),
    ],
)
def test_bad_spaces_are_refused_clearly(space, message):
    with pytest.raises(InputError, match=message):
        SearchSpace.from_dict(space, PARAM_NAMES)


def test_grid_needs_points_for_a_continuous_parameter():
    with pytest.raises(InputError, match="'lr' is continuous"):
        SearchSpace.default().grid()
    space = SearchSpace.from_dict(
        {
            "lr": {"type": "log_uniform", "low": 1e-3, "high": 0.1, "points": [0.001, 0.01]},
            "momentum": {"type": "log_complement", "low": 0.9, "high": 0.99, "points": [0.9]},
            "layers": {"type": "int", "low": 1, "high": 2},
        }
    )
    grid = space.grid()
    assert grid["lr"] == [0.001, 0.01] and grid["layers"] == [1, 2]
    assert math.isclose(grid["momentum__complement"][0], 0.1)
    assert space.grid_size() == 4


def test_narrowing_spans_the_top_trials_on_the_log_scale():
    space = SearchSpace.default()
    top = [
        {
            "lr": 0.01,
            "momentum": 0.99,
            "hidden_units": 64,
            "batch_size": 32,
            "layers": 2,
            "lr_decay": "cosine",
        },
        {
            "lr": 0.001,
            "momentum": 0.95,
            "hidden_units": 128,
            "batch_size": 64,
            "layers": 2,
            "lr_decay": "cosine",
        },
    ]
    narrow = space.narrow(top, margin=0.25)
    lr = narrow["lr"]
    # one decade of span, a quarter decade of margin on each side (log scale)
    assert math.isclose(math.log10(lr.low), -3.25) and math.isclose(math.log10(lr.high), -1.75)
    assert narrow["momentum"].low < 0.95 and 0.99 < narrow["momentum"].high <= 0.999
    assert narrow["batch_size"].choices == (32, 64)
    assert narrow["lr_decay"].choices == ("cosine",)
    assert (narrow["layers"].low, narrow["layers"].high) == (2, 2)
    assert all(narrow.contains(t) for t in top)
    assert not narrow.contains({**top[0], "lr": 0.09})
    assert SearchSpace.from_dict(narrow.to_dict()) == narrow


def test_default_space_follows_the_tiers():
    tiers = {name: spec["tier"] for name, spec in DEFAULT_SPACE.items()}
    assert tiers["lr"] == 1
    assert tiers["momentum"] == tiers["hidden_units"] == tiers["batch_size"] == 2
    assert tiers["layers"] == tiers["lr_decay"] == 3


@pytest.mark.parametrize(
    ("text", "gpus", "refusal"),
    [("", (), None), ("0,1", (0, 1), None), ("0,x", None, "write GPU numbers like 0,1"),
     ("-1", None, "GPU numbers are 0 or more")],
)  # fmt: skip
def test_gpus_are_parsed_once_for_search_and_learning_curve(text, gpus, refusal):
    from diagnostics.search.choices import parse_gpus

    if refusal is None:
        assert parse_gpus(text) == gpus
    else:
        with pytest.raises(InputError, match=refusal):
            parse_gpus(text)
