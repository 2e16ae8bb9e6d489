"""Real user objectives for the search tests: ``objective(params, context) -> predictions``.

scikit-learn's digits (8×8 images, 1 797 rows) and diabetes (regression, 442 rows) ship with
scikit-learn, so nothing is downloaded. Each row keeps its id and a seeded split.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np
import pandas as pd

SPLITS = np.array(["train", "train_dev", "dev", "test"])

# The app's objectives.toml for the LR tab's tests: a torch model with the lr_range hook (cnn)
# and a scikit-learn one without it (logistic)
LR_OBJECTIVES = """
[objectives.torch]
objective = "tests.objectives.models:cnn"
[objectives.torch.space]
lr = {type = "log_uniform", low = 0.0001, high = 0.1}
[objectives.linear]
objective = "tests.objectives.models:logistic"
[objectives.linear.space]
C = {type = "log_uniform", low = 0.01, high = 10.0}
"""


@functools.cache
def split_of(n: int, seed: int = 0) -> np.ndarray:
    """A seeded split of ``n`` rows: 50% train, 10% train_dev, 20% dev, 20% test."""
    order = np.random.default_rng(seed).permutation(n)
    split = np.empty(n, dtype=object)
    edges = np.cumsum([0, int(0.5 * n), int(0.1 * n), int(0.2 * n), n])
    for name, low, high in zip(SPLITS, edges[:-1], edges[1:], strict=True):
        split[order[low:high]] = name
    return split


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x scaled to [0, 1], y, split) of scikit-learn's digits."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target, split_of(len(data.target))


def digits_dataset(path: str) -> str:
    """Write the digits' ids and splits (and label) as a project's dataset file; its path."""
    _, y, split = digits()
    pd.DataFrame({"id": np.arange(len(y)), "split": split, "label": y}).to_csv(path, index=False)
    return path


def frame(y_true, y_pred, split, **extra) -> pd.DataFrame:
    """A predictions frame with ids 0..n-1."""
    return pd.DataFrame(
        {"id": np.arange(len(y_true)), "split": split, "y_true": y_true, "y_pred": y_pred, **extra}
    )


def logistic(params, context):
    """A scikit-learn linear classifier with its own parameter C (inverse regularisation:
    RidgeClassifier's alpha = 1/C, closed-form, so a trial takes milliseconds)."""
    from sklearn.linear_model import RidgeClassifier

    x, y, split = digits()
    train = split == "train"
    model = RidgeClassifier(alpha=1.0 / params["C"]).fit(x[train], y[train])
    margin = model.decision_function(x)
    return frame(y, model.classes_[margin.argmax(1)], split, score=margin.max(1).round(6))


def ridge(params, context):
    """A regression: scikit-learn Ridge on diabetes, scored by MAE."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    data = load_diabetes()
    split = split_of(len(data.target), seed=1)
    train = split == "train"
    model = Ridge(alpha=params["alpha"]).fit(data.data[train], data.target[train])
    return frame(data.target, model.predict(data.data), split)


def cnn(params, context):
    """A small torch CNN on the 8×8 digits; reports dev error per epoch and stops when pruned."""
    import torch
    from torch import nn

    model, optimizer = _small_cnn(params, context)
    x, y, split = digits()
    images = torch.as_tensor(x).reshape(-1, 1, 8, 8).to(context.device)
    labels = torch.as_tensor(y).to(context.device)
    train = torch.as_tensor(split == "train")
    dev = torch.as_tensor(split == "dev")
    for epoch in range(1, int(params.get("epochs", 4)) + 1):
        model.train()
        for batch in torch.randperm(int(train.sum())).split(64):
            index = torch.nonzero(train).squeeze(1)[batch]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(images[index]), labels[index]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            predicted = model(images).argmax(1)
        context.report(float((predicted[dev] != labels[dev]).float().mean()), epoch)
        time.sleep(float(params.get("pause", 0.0)))
        if context.should_prune():
            break
    return frame(y, predicted.cpu().numpy(), split)


def _small_cnn(params, context):
    """The CNN :func:`cnn` trains (seeded) and its Adam."""
    import torch
    from torch import nn

    torch.manual_seed(context.seed)
    channels = int(params.get("channels", 8))
    model = nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(channels * 16, 10),
    ).to(context.device)
    return model, torch.optim.Adam(model.parameters(), lr=params.get("lr", 1e-3))


def cnn_lr_range(params, context):
    """:func:`cnn`'s LR range test hook: its model, optimizer, loss and train batches."""
    import torch
    from torch import nn

    model, optimizer = _small_cnn(params, context)
    x, y, split = digits()
    train = split == "train"
    images = torch.as_tensor(x[train]).reshape(-1, 1, 8, 8).to(context.device)
    labels = torch.as_tensor(y[train]).to(context.device)
    batches = list(zip(images.split(64), labels.split(64), strict=True))
    return model, optimizer, nn.functional.cross_entropy, batches


cnn.lr_range = cnn_lr_range


def hooked(params, context):
    """:func:`logistic`, with an ``lr_range`` hook that returns what ``params["returns"]``
    names: the wrong things a user's hook may return (or it raises)."""
    return logistic(params, context)


def _wrong_parts(params, context):
    import torch
    from torch import nn

    model = nn.Linear(64, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy
    batches = [(torch.zeros(8, 64), torch.zeros(8, dtype=torch.long))]
    kind = params["returns"]
    if kind == "raise":
        raise ValueError("no data here")
    return {
        "three": (model, optimizer, loss),
        "model": ("a model", optimizer, loss, batches),
        "optimizer": (model, "adam", loss, batches),
        "loss": (model, optimizer, 3, batches),
        "batches": (model, optimizer, loss, 7),
        "generator": (model, optimizer, loss, (b for b in batches)),
        "shape": (model, optimizer, loss, [(torch.zeros(8, 5), torch.zeros(8, dtype=torch.long))]),
    }[kind]


hooked.lr_range = _wrong_parts


FAULTS = ("ok", "raise", "shape", "nan", "split", "columns", "ids")


def faulty(params, context):
    """A valid linear model, or one of the ways an objective goes wrong: ``params["mode"]``,
    else the trial number's entry of :data:`FAULTS` (trial 0 is fine)."""
    mode = params.get("mode") or FAULTS[context.number % len(FAULTS)]
    if mode == "raise":
        raise RuntimeError("CUDA out of memory (pretend)")
    if mode == "shape":
        return [1, 2, 3]
    result = logistic({"C": 1.0}, context)
    if mode == "nan":
        result.loc[5, "y_pred"] = np.nan
    if mode == "ids":
        result["id"] += 100_000
    if mode == "split":
        result.loc[0, "split"] = "validation-2"
    if mode == "columns":
        result = result.drop(columns="y_true")
    return result


def always_fails(params, context):
    """An objective with a bug every trial hits."""
    raise KeyError("features")


def placement(params, context):
    """Record which device and process ran the trial (a file per trial in the scratch folder);
    return a fixed, valid prediction."""
    (context.scratch / "where.txt").write_text(f"{context.device} {os.getpid()}")
    time.sleep(0.3)
    y, split = np.array([0, 1] * 4), np.repeat(SPLITS, 2)
    return frame(y, np.where(np.arange(8) == 4, 1 - y, y), split)


def ridge_curve(params, context):
    """RidgeClassifier on digits trained on ``context.train_fraction`` of train (nested,
    stratified by :func:`diagnostics.search.fractions.train_subset`); train predictions for the
    rows it trained on. ``params["fail_below"]``: fractions below it fail (a pretend crash)."""
    from sklearn.linear_model import RidgeClassifier

    from diagnostics.search.fractions import train_subset

    if context.train_fraction < params.get("fail_below", 0.0):
        raise MemoryError("out of memory at this size (pretend)")
    x, y, split = digits()
    train_rows = np.flatnonzero(split == "train")
    chosen = train_rows[train_subset(y[train_rows], context.train_fraction, context.seed)]
    model = RidgeClassifier(alpha=1.0 / params["C"]).fit(x[chosen], y[chosen])
    keep = (split != "train") | np.isin(np.arange(len(y)), chosen)
    return frame(y, model.predict(x), split)[keep]
