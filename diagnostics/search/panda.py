"""Panda mode: babysit one model, epoch by epoch, with checkpoints you can continue from.

A panda run lives in a folder: ``checkpoint.pt`` (the model's and optimizer's ``state_dict``,
the epoch and the shuffling generator's state, saved after every epoch and loaded with
``weights_only=True``) and ``history.json`` (per-epoch train/dev loss and accuracy, the learning
rate used, and every change the user made between epochs). Training stops after the requested
epochs or as soon as ``should_stop()`` says so; calling :func:`train_panda` again continues
from the last checkpoint with possibly changed optimizer settings (LR, momentum, L2, batch size).
The architecture is fixed by the first call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from diagnostics.search.datasets import Dataset
from diagnostics.search.training import (
    TrainConfig,
    evaluate,
    make_optimizer,
    model_for,
    train_epoch,
)
from diagnostics.validation import InputError

CHECKPOINT_FILE = "checkpoint.pt"
HISTORY_FILE = "history.json"
CHANGEABLE = ("lr", "momentum", "weight_decay", "batch_size")


def load_history(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``{"config", "epochs", "changes"}`` (empty before the first epoch)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return {"config": None, "epochs": [], "changes": []}
    history: dict[str, Any] = json.loads(path.read_text())
    return history


def config_changes(old: TrainConfig, new: TrainConfig) -> dict[str, Any]:
    """``{name: [old, new]}`` of the changed settings; refuses an architecture change."""
    changed = {k: [v, getattr(new, k)] for k, v in asdict(old).items() if getattr(new, k) != v}
    fixed = sorted(set(changed) - set(CHANGEABLE) - {"epochs"})
    if fixed:
        raise InputError(
            f"a panda run can change only {', '.join(CHANGEABLE)} between epochs; "
            f"{', '.join(fixed)} changed: start a new run for that"
        )
    changed.pop("epochs", None)
    return changed


def train_panda(
    run_dir: str | Path,
    data: Dataset,
    config: TrainConfig,
    epochs: int,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Train ``epochs`` more epochs from the last checkpoint (or from scratch); returns history."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    history = load_history(run_dir)
    torch.manual_seed(config.seed)
    model = model_for(config, data.n_features, data.n_classes).to(device)
    optimizer = make_optimizer(config, model)
    generator = torch.Generator().manual_seed(config.seed)
    checkpoint = run_dir / CHECKPOINT_FILE
    done = len(history["epochs"])
    if history["config"] is not None and checkpoint.is_file():
        changes = config_changes(TrainConfig(**history["config"]), config)
        state = torch.load(checkpoint, weights_only=True, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        for group in optimizer.param_groups:
            group["lr"] = config.lr
            group["weight_decay"] = config.weight_decay
            if "momentum" in group:
                group["momentum"] = config.momentum
        if changes:
            history["changes"].append({"epoch": done, "changes": changes})
    history["config"] = asdict(replace(config, epochs=done + epochs))
    x = torch.as_tensor(data.x["train"], device=device)
    y = torch.as_tensor(data.y["train"], device=device)
    x_dev = torch.as_tensor(data.x["dev"], device=device)
    y_dev = torch.as_tensor(data.y["dev"], device=device)
    for epoch in range(done + 1, done + epochs + 1):
        if should_stop():
            break
        train_loss, train_accuracy = train_epoch(
            model,
            optimizer,
            x,
            y,
            batch_size=config.batch_size,
            generator=generator,
            min_steps=config.min_steps_per_epoch,  # an epoch as the search trains one
        )
        dev_loss, dev_accuracy = evaluate(model, x_dev, y_dev)
        record = {
            "epoch": epoch,
            "lr": config.lr,
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "dev_loss": dev_loss,
            "dev_accuracy": dev_accuracy,
        }
        history["epochs"].append(record)
        _save(run_dir, model, optimizer, generator, epoch, history)
        if on_epoch is not None:
            on_epoch(record)
    return history


def _save(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    epoch: int,
    history: dict[str, Any],
) -> None:
    """Write checkpoint then history, each atomically (a reader never sees half a file)."""
    state = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "epoch": epoch,
    }
    part = run_dir / (CHECKPOINT_FILE + ".part")
    torch.save(state, part)
    os.replace(part, run_dir / CHECKPOINT_FILE)
    part = run_dir / (HISTORY_FILE + ".part")
    part.write_text(json.dumps(history, indent=1))
    os.replace(part, run_dir / HISTORY_FILE)
