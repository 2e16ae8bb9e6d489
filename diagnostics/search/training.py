"""A plain, fast PyTorch training loop for one configuration (no framework wrapper).

Deterministic for a seed on CPU: the weights are initialised and the batches shuffled from the
seed. ``on_epoch`` is called after every epoch with its train/dev loss and accuracy; it may raise
(Optuna's ``TrialPruned``, a stop request) to end training early.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from diagnostics.search.choices import DEVICES, LR_DECAYS, OPTIMIZERS
from diagnostics.search.datasets import Dataset
from diagnostics.search.model import build_mlp
from diagnostics.validation import InputError

MIN_STEPS_PER_EPOCH = 30


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs; searched parameters override these defaults.

    Adam's β1, β2 and ε stay at PyTorch's defaults (0.9, 0.999, 1e-8): tier 4. An epoch is one
    pass over train, or as many reshuffled passes as ``min_steps_per_epoch`` optimizer steps need
    (a tiny dataset's pass is a handful of steps: digits gives 4–29).
    """

    lr: float = 0.01
    momentum: float = 0.9
    optimizer: str = "sgd"
    batch_size: int = 64
    epochs: int = 10
    lr_decay: str = "none"
    warmup_epochs: int = 0
    weight_decay: float = 0.0
    layers: int = 2
    hidden_units: int = 128
    dropout: float = 0.0
    batch_norm: bool = False
    seed: int = 0
    min_steps_per_epoch: int = MIN_STEPS_PER_EPOCH

    @classmethod
    def from_params(cls, params: dict[str, Any], **overrides: Any) -> TrainConfig:
        """A config from searched parameters (user values) and fixed overrides (epochs, seed)."""
        unknown = set(params) - PARAM_NAMES
        if unknown:
            raise InputError(
                f"unknown parameter(s) {', '.join(sorted(unknown))}; known: "
                f"{', '.join(sorted(PARAM_NAMES))}"
            )
        config = replace(cls(), **{**params, **overrides})
        config.check()
        return config

    def check(self) -> None:
        """Refuse values training cannot use."""
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer '{self.optimizer}': choose {', '.join(OPTIMIZERS)}")
        if self.lr_decay not in LR_DECAYS:
            raise InputError(f"lr_decay '{self.lr_decay}': choose {', '.join(LR_DECAYS)}")
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1 or self.layers < 0:
            raise InputError("lr must be > 0, batch_size ≥ 1, epochs ≥ 1 and layers ≥ 0")
        if self.min_steps_per_epoch < 1:
            raise InputError("min_steps_per_epoch must be at least 1")

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-able)."""
        return asdict(self)


PARAM_NAMES = frozenset(f.name for f in fields(TrainConfig)) - {
    "epochs",
    "seed",
    "min_steps_per_epoch",
}


@dataclass(frozen=True)
class EpochRecord:
    """Metrics after one epoch (train ones are running averages over the epoch's batches)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    dev_loss: float
    dev_accuracy: float


@dataclass
class TrainResult:
    """The trained model and its per-epoch history."""

    model: nn.Module
    history: list[EpochRecord]

    @property
    def dev_accuracy(self) -> float:
        """Dev accuracy after the last epoch."""
        return self.history[-1].dev_accuracy


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; or the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in DEVICES:
        raise InputError(f"--device: '{name}' is not a device; use one of {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError(
            "--device cuda: this torch build sees no CUDA GPU; use --device auto (or cpu)"
        )
    return torch.device(name)


def model_for(config: TrainConfig, n_features: int, n_classes: int) -> nn.Module:
    """The MLP that ``config``'s architecture fields describe."""
    return build_mlp(
        n_features,
        n_classes,
        layers=config.layers,
        hidden_units=config.hidden_units,
        dropout=config.dropout,
        batch_norm=config.batch_norm,
    )


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """SGD with momentum or Adam (default betas), with L2 as weight decay."""
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def lr_factor(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """The LR multiplier at a step: linear warm-up, then none, step (÷10 at 50%, 75%) or cosine."""
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    if config.lr_decay == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    if config.lr_decay == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def train_model(
    config: TrainConfig,
    data: Dataset,
    *,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    device: str | torch.device = "auto",
) -> TrainResult:
    """Train an MLP for ``config.epochs`` epochs on train; evaluate on dev after each epoch."""
    device = pick_device(device) if isinstance(device, str) else device
    torch.manual_seed(config.seed)
    model = model_for(config, data.n_features, data.n_classes).to(device)
    optimizer = make_optimizer(config, model)
    x, y = _tensors(data, "train", device)
    x_dev, y_dev = _tensors(data, "dev", device)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = steps_in_epoch(len(y), config)
    history: list[EpochRecord] = []
    step = 0
    constant_lr = config.lr_decay == "none" and config.warmup_epochs == 0  # the optimizer's lr

    def schedule() -> None:
        nonlocal step
        factor = lr_factor(config, step, steps_per_epoch)
        for group in optimizer.param_groups:
            group["lr"] = config.lr * factor
        step += 1

    for epoch in range(1, config.epochs + 1):
        train_loss, train_accuracy = train_epoch(
            model,
            optimizer,
            x,
            y,
            batch_size=config.batch_size,
            generator=generator,
            before_step=None if constant_lr else schedule,
            min_steps=config.min_steps_per_epoch,
        )
        dev_loss, dev_accuracy = evaluate(model, x_dev, y_dev)
        record = EpochRecord(
            epoch=epoch,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            dev_loss=dev_loss,
            dev_accuracy=dev_accuracy,
        )
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return TrainResult(model=model, history=history)


def steps_in_epoch(n_rows: int, config: TrainConfig) -> int:
    """Optimizer steps in one epoch: whole passes over ``n_rows``, at least the config's minimum."""
    one_pass = math.ceil(n_rows / config.batch_size)
    return one_pass * math.ceil(config.min_steps_per_epoch / one_pass)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    generator: torch.Generator,
    before_step: Callable[[], None] | None = None,
    min_steps: int = 1,
) -> tuple[float, float]:
    """Shuffled passes over (x, y), as many as ``min_steps`` steps need (at least one).

    Returns the running (train loss, train accuracy) over every row seen. ``before_step`` runs
    before each optimizer step (an LR schedule). A batch of one is skipped when the model has
    batch norm (its statistics need two rows).
    """
    model.train()
    has_batch_norm = any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    n = len(y)
    passes = math.ceil(min_steps / math.ceil(n / batch_size))
    # each step keeps its loss, batch size, argmax and targets (no arithmetic, no sync); they
    # are combined once after the passes (:func:`_running_loss`)
    losses: list[torch.Tensor] = []
    sizes: list[int] = []
    predicted: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    for _ in range(passes):
        order = torch.randperm(n, generator=generator).to(x.device)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            if has_batch_norm and len(batch) == 1:
                continue
            if before_step is not None:
                before_step()
            target = y[batch]
            logits = model(x[batch])
            loss = nn.functional.cross_entropy(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
            optimizer.step()
            losses.append(loss.detach())
            sizes.append(len(batch))
            predicted.append(logits.argmax(1))  # an integer tensor: autograd keeps nothing
            targets.append(target)
    if not losses:
        return 0.0, 0.0
    correct = int((torch.cat(predicted) == torch.cat(targets)).sum())
    return _finite(_running_loss(losses, sizes) / (n * passes)), correct / (n * passes)


def _running_loss(losses: list[torch.Tensor], sizes: list[int]) -> float:
    """Σ loss × batch size over an epoch's steps, as a float32 running sum adds it step by step
    (the same rounding at every addition: ``np.add.accumulate`` adds in order, in float32)."""
    weighted = torch.stack(losses) * torch.tensor(
        sizes, dtype=losses[0].dtype, device=losses[0].device
    )
    return float(np.add.accumulate(weighted.cpu().numpy())[-1])


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the model on tensors, in eval mode."""
    model.eval()
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    return _finite(loss), (logits.argmax(1) == y).float().mean().item()


@torch.no_grad()
def predict(
    model: nn.Module, x: np.ndarray, device: str | torch.device = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class index, its softmax probability) per row."""
    model.eval()
    probs = torch.softmax(model(torch.as_tensor(x, device=device)), dim=1)
    score, pred = probs.max(dim=1)
    return pred.cpu().numpy(), score.cpu().numpy()


def _tensors(
    data: Dataset, split: str, device: str | torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.as_tensor(data.x[split], device=device),
        torch.as_tensor(data.y[split], device=device),
    )


def _finite(value: float) -> float:
    """A diverged loss (NaN/inf) as a large finite number, so JSON and Optuna stay valid."""
    return value if math.isfinite(value) else 1e9


class Shuffled:
    """Batches of ``(x, y)`` rows, reshuffled on every pass (seeded); ``len`` is one pass."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.y), generator=self.generator).to(self.x.device)
        for start in range(0, len(self.y), self.batch_size):
            batch = order[start : start + self.batch_size]
            yield self.x[batch], self.y[batch]
