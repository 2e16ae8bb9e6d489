"""The desk's built-in models as objectives of the protocol: ``(params, context) -> predictions``.

:class:`BuiltinMLP` trains the MLP of :mod:`diagnostics.search.training` on a loaded
:class:`~diagnostics.search.datasets.Dataset`; it is run by the same trial runner as every user
objective (:class:`~diagnostics.search.scored.ScoredTrial`), so its trials are scored by the
waterfall and the study minimises dev error. Each epoch reports its dev error (with the train and
dev loss and accuracy as extra curves) and returns early when the context says to stop. A
learning curve's run (``context.train_fraction`` below 1) trains on
:func:`~diagnostics.search.fractions.train_subset` of train and predicts train on those rows
only; dev, train-dev and test stay whole. A target-data run adds ``context.target_k`` pool rows
to train (:func:`~diagnostics.search.pool.with_pool_rows`). Its ``lr_range`` hook gives the LR
range test (:func:`diagnostics.lr_finder.objective_lr_test`) the same model, optimizer and train
batches.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import optuna
import pandas as pd
import torch
from torch import nn

from diagnostics.search.datasets import Dataset
from diagnostics.search.fractions import train_subset
from diagnostics.search.objective import TrialContext
from diagnostics.search.outputs import predictions_frame
from diagnostics.search.pool import with_pool_rows
from diagnostics.search.training import (
    EpochRecord,
    Shuffled,
    TrainConfig,
    make_optimizer,
    model_for,
    train_model,
)

MLP = "mlp"


class BuiltinMLP:
    """The built-in MLP as an objective: train ``epochs`` epochs, return every split's
    predictions (``id, split, y_true, y_pred, score``)."""

    name = MLP

    def __init__(self, data: Dataset, epochs: int) -> None:
        self.data, self.epochs = data, epochs

    def __call__(self, params: dict[str, Any], context: TrialContext) -> pd.DataFrame:
        """Train one configuration on ``context.device`` with ``context.seed``: the context's
        ``train_fraction`` of train (:func:`train_part`) plus its ``target_k`` pool rows
        (:func:`~diagnostics.search.pool.with_pool_rows`)."""
        data = train_part(self.data, context.train_fraction, context.seed)
        data = with_pool_rows(data, context.target_k, context.seed)
        config = TrainConfig.from_params(params, epochs=self.epochs, seed=context.seed)

        def on_epoch(record: EpochRecord) -> None:
            context.report(
                1.0 - record.dev_accuracy,
                record.epoch,
                train_loss=record.train_loss,
                train_accuracy=record.train_accuracy,
                dev_loss=record.dev_loss,
                dev_accuracy=record.dev_accuracy,
            )
            if context.should_prune():
                raise optuna.TrialPruned

        result = train_model(config, data, on_epoch=on_epoch, device=context.device)
        device = next(result.model.parameters()).device
        return predictions_frame(result.model, data, device)

    def lr_range(self, params: dict[str, Any], context: TrialContext) -> tuple[Any, ...]:
        """The LR range test's parts (:mod:`diagnostics.lr_finder`): the MLP and optimizer
        ``params`` describe, cross-entropy, and the train split in reshuffled batches."""
        config = TrainConfig.from_params(params, epochs=self.epochs, seed=context.seed)
        device = torch.device(context.device)
        torch.manual_seed(config.seed)
        model = model_for(config, self.data.n_features, self.data.n_classes).to(device)
        x = torch.as_tensor(self.data.x["train"], device=device)
        y = torch.as_tensor(self.data.y["train"], device=device)
        batches = Shuffled(x, y, config.batch_size, config.seed)
        return model, make_optimizer(config, model), nn.CrossEntropyLoss(), batches


def train_part(data: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """``data`` with train cut to the nested, stratified ``fraction`` of its rows for ``seed``
    (the whole dataset at fraction 1)."""
    if fraction >= 1:
        return data
    rows = train_subset(data.y["train"], fraction, seed)
    return replace(
        data,
        x={**data.x, "train": data.x["train"][rows]},
        y={**data.y, "train": data.y["train"][rows]},
        ids={**data.ids, "train": data.ids["train"][rows]},
    )
