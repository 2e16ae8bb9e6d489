"""The learning-rate range test (STRATEGY_NOTES §4): a plain API that returns the curve.

The learning rate grows exponentially from ``start_lr`` (1e-7) to ``end_lr`` (10) over the steps;
the loss is smoothed with an exponential moving average with bias correction; the test stops when
the smoothed loss passes ``diverge_factor`` × its best or at the first NaN. Model and optimizer
are restored exactly afterwards. Suggestions: ``valley`` (the default, as fastai's: a third of the
way into the longest falling stretch), ``steepest`` (most negative slope of loss vs log LR) and
``min10`` (the LR of the lowest loss / 10); the rule of thumb trains at 1/10 to 1/3 of the LR of
the lowest loss.

The test runs on any objective that exposes its model and data (the objective protocol's LR
hook, :func:`objective_lr_test`): besides ``objective(params, context)`` it offers
``objective.lr_range(params, context)`` — a method of a class objective, or an attribute set on
a function (``objective.lr_range = lr_range``) — returning ``(model, optimizer, loss_fn,
batches)``: the torch model the objective would train with ``params``, its optimizer, a loss
``loss_fn(outputs, targets)`` and an iterable of ``(inputs, targets)`` batches on the model's
device that can be iterated again (a list or a ``DataLoader``; one pass of it sets the default
number of steps). The built-in MLP (:func:`find_lr`) and CNN go through the same hook.
"""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
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
LR_HOOK = "lr_range"
HOOK_RETURNS = "(model, optimizer, loss_fn, batches)"


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
    seen = 0
    while True:
        empty = True
        for batch in batches:
            empty = False
            seen += 1
            yield batch
        if empty and seen:
            raise InputError(
                f"the range test's batches ran out after {seen}: give batches it can iterate "
                "again (a list or a DataLoader), not a generator"
            )
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


def objective_lr_test(
    objective: Any,
    params: dict[str, Any] | None = None,
    *,
    dataset: str | None = None,
    device: str = "auto",
    seed: int = 0,
    num_steps: int | None = None,
    method: str = "valley",
    accumulation_steps: int = 1,
) -> LRFinderResult:
    """The range test on an objective that exposes its model and data (its ``lr_range`` hook).

    ``objective`` is the search's objective: a callable, ``package.module:function`` or
    ``builtin:cnn``. Its ``lr_range(params, context)`` gets ``params`` (the objective's own
    defaults for those left out) and a trial context (``dataset``, ``device``, ``seed``, a
    scratch folder) and returns ``(model, optimizer, loss_fn, batches)``; the test runs one
    pass of the batches, at least 100 steps, unless ``num_steps`` says otherwise. An objective
    without the hook, a hook that fails or returns something else: one line (InputError)
    naming the objective and what to add.
    """
    from diagnostics.search.objective import TrialContext, one_line
    from diagnostics.search.training import pick_device

    name = objective if isinstance(objective, str) else objective_name(objective)
    hook = lr_hook(objective)
    params = dict(params or {})
    chosen = str(pick_device(device))
    with tempfile.TemporaryDirectory(prefix="lr-range-") as scratch:
        context = TrialContext(
            0, params, device=chosen, seed=seed, scratch=Path(scratch), dataset=dataset
        )
        try:
            model, optimizer, loss_fn, batches = _hook_parts(hook(params, context), name)
        except InputError:
            raise
        except Exception as exc:  # the user's hook may raise anything
            raise InputError(f"{name}: {LR_HOOK} failed ({one_line(exc)})") from exc
        one_pass = len(batches) if hasattr(batches, "__len__") else 0
        steps = num_steps or max(MIN_STEPS_DEFAULT, math.ceil(one_pass / accumulation_steps))
        try:
            return lr_range_test(
                model,
                optimizer,
                loss_fn,
                batches,
                num_steps=steps,
                accumulation_steps=accumulation_steps,
                method=method,
            )
        except InputError as exc:  # e.g. the batches ran out: which objective's
            raise InputError(f"{name}: {exc}") from exc
        except Exception as exc:  # the user's model, loss or batches
            raise InputError(
                f"{name}: the range test could not train on what {LR_HOOK} returned "
                f"({one_line(exc)})"
            ) from exc


def lr_hook(objective: Any) -> Callable[..., Any]:
    """The objective's ``lr_range`` hook (``objective`` as :func:`objective_lr_test` takes it),
    or one line naming the objective and what to add."""
    from diagnostics.search.scored import resolve_objective

    hook = getattr(resolve_objective(objective), LR_HOOK, None)
    if not callable(hook):
        name = objective if isinstance(objective, str) else objective_name(objective)
        raise InputError(
            f"the objective {name} offers no LR range test: give it an {LR_HOOK}(params, "
            f"context) hook returning {HOOK_RETURNS} (see diagnostics.lr_finder)"
        )
    return hook  # type: ignore[no-any-return]  # the objective's own hook, checked callable


def objective_name(objective: Any) -> str:
    """An objective in words: its ``name`` (the built-ins), else its qualified name."""
    found = getattr(objective, "name", None) or getattr(objective, "__qualname__", None)
    return str(found or type(objective).__name__)


def _hook_parts(returned: Any, name: str) -> tuple[nn.Module, torch.optim.Optimizer, Any, Any]:
    """What ``lr_range`` returned, checked: a model with parameters, its optimizer, a callable
    loss and an iterable of batches."""
    wanted = (
        f"{name}: {LR_HOOK} must return {HOOK_RETURNS} (a torch model, its optimizer, "
        "loss_fn(outputs, targets) and an iterable of (inputs, targets) batches)"
    )
    if not isinstance(returned, tuple | list) or len(returned) != 4:
        raise InputError(f"{wanted}, not {_described(returned)}")
    model, optimizer, loss_fn, batches = returned
    if not isinstance(model, nn.Module) or not any(True for _ in model.parameters()):
        raise InputError(f"{wanted}; its model is {_described(model)}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise InputError(f"{wanted}; its optimizer is {_described(optimizer)}")
    if not callable(loss_fn):
        raise InputError(f"{wanted}; its loss_fn is {_described(loss_fn)}, not callable")
    if not isinstance(batches, Iterable):
        raise InputError(f"{wanted}; its batches are {_described(batches)}, not iterable")
    return model, optimizer, loss_fn, batches


def _described(value: Any) -> str:
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, nn.Module):
        return "a torch module without parameters"
    return f"a {type(value).__name__}"


def find_lr(
    data: Dataset,
    config: TrainConfig,
    *,
    num_steps: int | None = None,
    method: str = "valley",
    accumulation_steps: int = 1,
    device: str = "auto",
) -> LRFinderResult:
    """The range test for a search dataset and training config (MLP, optimizer, batch size):
    the built-in MLP's ``lr_range`` hook run by :func:`objective_lr_test`.

    By default one pass over the train split, but at least 100 steps (passes repeat, reshuffled).
    """
    from diagnostics.search.builtin import BuiltinMLP
    from diagnostics.search.training import PARAM_NAMES

    params = {k: v for k, v in config.to_dict().items() if k in PARAM_NAMES}
    return objective_lr_test(
        BuiltinMLP(data, config.epochs),
        params,
        device=device,
        seed=config.seed,
        num_steps=num_steps,
        method=method,
        accumulation_steps=accumulation_steps,
    )
