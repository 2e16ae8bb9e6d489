"""The desk's built-in models as objectives of the protocol: ``(params, context) -> predictions``.

:class:`BuiltinMLP` trains the MLP of :mod:`diagnostics.search.training` on a loaded
:class:`~diagnostics.search.datasets.Dataset`; it is run by the same trial runner as every user
objective (:class:`~diagnostics.search.scored.ScoredTrial`), so its trials are scored by the
waterfall and the study minimises dev error. Each epoch reports its dev error (with the train and
dev loss and accuracy as extra curves) and returns early when the context says to stop. Its
``lr_range`` hook gives the LR range test (:func:`diagnostics.lr_finder.objective_lr_test`) the
same model, optimizer and train batches.
"""

from __future__ import annotations

from typing import Any

import optuna
import pandas as pd
import torch
from torch import nn

from diagnostics.search.datasets import Dataset
from diagnostics.search.objective import TrialContext
from diagnostics.search.outputs import predictions_frame
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
        """Train one configuration on ``context.device`` with ``context.seed``."""
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

        result = train_model(config, self.data, on_epoch=on_epoch, device=context.device)
        device = next(result.model.parameters()).device
        return predictions_frame(result.model, self.data, device)

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
