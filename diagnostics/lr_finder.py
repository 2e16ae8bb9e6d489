"""The learning-rate range test (STRATEGY_NOTES §4): a plain API that returns the curve.

The learning rate grows exponentially from ``start_lr`` (1e-7) to ``end_lr`` (10) over the steps;
the loss is smoothed with an exponential moving average with bias correction; the test stops when
the smoothed loss passes ``diverge_factor`` × its best or at the first NaN. Model and optimizer
are restored exactly afterwards. Suggestions: ``valley`` (the default, as fastai's: a third of the
way into the longest falling stretch), ``steepest`` (most negative slope of loss vs log LR) and
``min10`` (the LR of the lowest loss / 10); the rule of thumb trains at 1/10 to 1/3 of the LR of
the lowest loss.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from diagnostics.search.choices import LR_METHODS as METHODS
from diagnostics.validation import InputError

if TYPE_CHECKING:  # find_lr imports the search package when it runs; these are its types
    from diagnostics.search.datasets import Dataset
    from diagnostics.search.training import TrainConfig

MIN_STEPS_DEFAULT = 100


@dataclass
class LRFinderResult:
    """The curve (smoothed and raw losses per LR), the suggestions and why the test stopped."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestions: dict[str, float]
    method: str
    loss_min_lr: float
    stopped: str = "end of schedule"
    rule_of_thumb: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def suggested_lr(self) -> float:
        """The suggestion of the chosen method."""
        return self.suggestions[self.method]

    def to_dict(self) -> dict[str, Any]:
        """The ``lr-find --json`` contract: suggested_lr, method, lrs, losses (+ details)."""
        return {
            "suggested_lr": self.suggested_lr,
            "method": self.method,
            "lrs": self.lrs,
            "losses": self.losses,
            "suggestions": self.suggestions,
            "loss_min_lr": self.loss_min_lr,
            "rule_of_thumb": list(self.rule_of_thumb),
            "stopped": self.stopped,
        }


def lr_range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[..., Any],
    batches: Iterable[Any],
    *,
    num_steps: int = MIN_STEPS_DEFAULT,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    accumulation_steps: int = 1,
    amp: bool | None = None,
    method: str = "valley",
) -> LRFinderResult:
    """Run the range test over ``num_steps`` optimizer steps; model and optimizer are restored.

    ``batches`` yields ``(inputs, targets)`` already on the model's device and is iterated again
    when exhausted. ``accumulation_steps`` micro-batches make one step. ``amp`` (default: on for
    CUDA) runs the forward pass in float16 with a gradient scaler.
    """
    if method not in METHODS:
        raise InputError(f"unknown LR suggestion method '{method}'; choose {', '.join(METHODS)}")
    if not 0 < start_lr < end_lr:
        raise InputError(f"need 0 < start LR < end LR, got {start_lr} and {end_lr}")
    if num_steps < 2 or accumulation_steps < 1:
        raise InputError("the range test needs at least 2 steps and accumulation ≥ 1")
    device = next(model.parameters()).device
    amp = device.type == "cuda" if amp is None else amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if amp else None
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    ratio = end_lr / start_lr
    lrs, losses, raw = [], [], []
    average, best, stopped = 0.0, math.inf, "end of schedule"
    stream = _forever(batches)
    model.train()
    try:
        for step in range(num_steps):
            lr = start_lr * ratio ** (step / (num_steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = _step(model, optimizer, loss_fn, stream, accumulation_steps, scaler)
            if not math.isfinite(loss):
                stopped = "loss is NaN" if math.isnan(loss) else "loss is infinite"
                break
            average = smoothing * average + (1 - smoothing) * loss
            smoothed = average / (1 - smoothing ** (step + 1))
            lrs.append(lr)
            losses.append(smoothed)
            raw.append(loss)
            best = min(best, smoothed)
            if step > 0 and smoothed > diverge_factor * best:
                stopped = f"loss above {diverge_factor:g}× its best"
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    if len(lrs) < 3:
        raise InputError(
            f"the range test stopped after {len(lrs)} steps ({stopped}); lower the start LR"
        )
    return _result(lrs, losses, raw, method, stopped)


def suggest(lrs: npt.ArrayLike, losses: npt.ArrayLike) -> dict[str, float]:
    """The three suggestions from a curve (trims the first 10% and the last 5 points, as fastai)."""
    lrs, losses = np.asarray(lrs), np.asarray(losses)
    if len(lrs) > 20:
        keep = slice(len(lrs) // 10, -5)
        lrs, losses = lrs[keep], losses[keep]
    slope = np.gradient(losses, np.log10(lrs))
    return {
        "valley": float(lrs[_valley_index(losses)]),
        "steepest": float(lrs[int(np.argmin(slope))]),
        "min10": float(lrs[int(np.argmin(losses))] / 10),
    }


def _valley_index(losses: np.ndarray, onset: float = 0.05) -> int:
    """The valley: the middle of the descent, from where it starts to the loss minimum.

    fastai's valley takes the longest decreasing subsequence, which often begins in the flat,
    noisy start of the curve and so drags the pick an order of magnitude too low (on digits with
    Adam: 5e-4, which trains to 92% in 10 epochs). Here the descent starts where the smoothed
    loss has fallen ``onset`` (5%) of the way from its peak to its minimum, and ends at the
    minimum; the pick is halfway along it in log-LR (95.5–97% on digits over five seeds).
    """
    end = int(np.argmin(losses))
    peak = float(losses[: end + 1].max())
    threshold = peak - onset * (peak - float(losses[end]))
    start = int(np.argmax(losses[: end + 1] < threshold)) if end else 0
    return start + (end - start) // 2


def _result(
    lrs: list[float], losses: list[float], raw: list[float], method: str, stopped: str
) -> LRFinderResult:
    loss_min_lr = float(lrs[int(np.argmin(losses))])
    return LRFinderResult(
        lrs=[float(v) for v in lrs],
        losses=[float(v) for v in losses],
        raw_losses=[float(v) for v in raw],
        suggestions=suggest(lrs, losses),
        method=method,
        loss_min_lr=loss_min_lr,
        stopped=stopped,
        rule_of_thumb=(loss_min_lr / 10, loss_min_lr / 3),
    )


def _forever(batches: Iterable[Any]) -> Iterator[Any]:
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise InputError("the range test got no batches")


def _step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[..., Any],
    stream: Iterator[Any],
    accumulation_steps: int,
    scaler: torch.amp.GradScaler | None,
) -> float:
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for _ in range(accumulation_steps):
        inputs, targets = next(stream)
        with torch.autocast("cuda", dtype=torch.float16, enabled=scaler is not None):
            loss = loss_fn(model(inputs), targets) / accumulation_steps
        if scaler is not None:
            scaler.scale(loss).backward()
        else:
            loss.backward()
        total += loss.item()
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return total


def find_lr(
    data: Dataset,
    config: TrainConfig,
    *,
    num_steps: int | None = None,
    method: str = "valley",
    accumulation_steps: int = 1,
    device: str = "auto",
) -> LRFinderResult:
    """The range test for a search dataset and training config (MLP, optimizer, batch size).

    By default one pass over the train split, but at least 100 steps (passes repeat, reshuffled).
    """

    from diagnostics.search.training import make_optimizer, model_for, pick_device

    chosen = pick_device(device)
    torch.manual_seed(config.seed)
    model = model_for(config, data.n_features, data.n_classes).to(chosen)
    optimizer = make_optimizer(config, model)
    x = torch.as_tensor(data.x["train"], device=chosen)
    y = torch.as_tensor(data.y["train"], device=chosen)
    one_pass = math.ceil(len(y) / (config.batch_size * accumulation_steps))
    generator = torch.Generator().manual_seed(config.seed)

    class Shuffled:
        def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            order = torch.randperm(len(y), generator=generator).to(chosen)
            for start in range(0, len(y), config.batch_size):
                batch = order[start : start + config.batch_size]
                yield x[batch], y[batch]

    return lr_range_test(
        model,
        optimizer,
        nn.CrossEntropyLoss(),
        Shuffled(),
        num_steps=num_steps or max(MIN_STEPS_DEFAULT, one_pass),
        accumulation_steps=accumulation_steps,
        method=method,
    )
