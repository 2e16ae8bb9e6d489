"""The multilayer perceptron a trial trains, built from its parameters."""

from __future__ import annotations

from torch import nn


def build_mlp(
    n_features: int,
    n_classes: int,
    *,
    layers: int = 2,
    hidden_units: int = 128,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """An MLP: ``layers`` hidden blocks of Linear (→ BatchNorm) → ReLU (→ Dropout), then logits."""
    blocks: list[nn.Module] = []
    width = n_features
    for _ in range(layers):
        blocks.append(nn.Linear(width, hidden_units))
        if batch_norm:
            blocks.append(nn.BatchNorm1d(hidden_units))
        blocks.append(nn.ReLU())
        if dropout > 0:
            blocks.append(nn.Dropout(dropout))
        width = hidden_units
    blocks.append(nn.Linear(width, n_classes))
    return nn.Sequential(*blocks)
