"""A user objective: a small torch CNN on the sample project's 8x8 digits, searched by the desk.

The sample project's model v1 reads clean "web" digits in training but blurry, shifted, dim and
grainy "phone photos" in dev and test: its biggest gap is data mismatch. The method's advice for
that gap is to *synthesize target-like data*; ``synthesize: true`` adds, every epoch, a freshly
made phone-like copy of each web training photo (:func:`phone_like`: blur, shift, dim, noise),
made from the training rows only: dev and test pixels are never trained on.

Run a search on it from the repository root (see ``examples/README.md``)::

    python -m strategy_app search --dataset csv:sample_data/dataset.csv --label label \\
        --objective examples.sample_cnn:objective --space examples/sample_space.json \\
        --trials 6 --out runs/cnn

or from Python: ``diagnostics.run_search(objective, space={...})``. The objective follows the
desk's protocol (docs: ``objective(params, context)``): it trains on ``context.train_fraction``
of train with ``context.seed`` on ``context.device``, reports the dev error after each epoch
(``context.report``), stops when ``context.should_prune()`` says so, and returns predictions on
every split with ``prob_<digit>`` columns. ``examples/train_cnn.py`` runs the same training as a
script for ``search --command``.

Parameters (all optional): ``lr`` (Adam's learning rate, 3e-3), ``epochs`` (10), ``channels``
(width of the first convolutions, 32), ``dropout`` (0.2), ``weight_decay`` (1e-4),
``batch_size`` (128) and ``synthesize`` (false). The data is the search's ``--dataset``
(``context.dataset``: a CSV with ``id``, ``split``, ``label`` and ``pixel_0`` … ``pixel_63``),
the sample's ``dataset.csv`` when the search names none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

DATASET = Path(__file__).resolve().parents[1] / "sample_data" / "dataset.csv"
SIDE = 8  # the images are 8x8
PIXELS = [f"pixel_{i}" for i in range(SIDE * SIDE)]
CLASSES = list(range(10))
SPLITS = ("train", "train_dev", "dev", "test")


class Context(Protocol):
    """What the objective uses of the desk's ``TrialContext``."""

    device: str
    seed: int
    train_fraction: float
    dataset: str | None

    def report(self, value: float, step: int) -> None:
        """Record an intermediate dev error."""

    def should_prune(self) -> bool:
        """True when the search wants this trial to stop."""


@dataclass(frozen=True)
class Settings:
    """The training settings: the searched parameters, with their defaults."""

    lr: float = 3e-3
    epochs: int = 10
    channels: int = 32
    dropout: float = 0.2
    weight_decay: float = 1e-4
    batch_size: int = 128
    synthesize: bool = False

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Settings:
        """Settings from a trial's parameters (names not listed here are left to the caller)."""
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in params.items() if name in known}
        if "synthesize" in values:
            values["synthesize"] = parse_flag(values["synthesize"])
        for name in ("epochs", "channels", "batch_size"):
            if name in values:
                values[name] = int(values[name])
        return cls(**values)


def parse_flag(value: object) -> bool:
    """A yes/no parameter given as a bool, 0/1 or text (``true``, ``false``, ``yes``, ``no``)."""
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"synthesize must be true or false, not {value!r}")


def load_dataset(path: str | Path = DATASET) -> pd.DataFrame:
    """The digits: ``id``, ``split``, ``label`` and the 64 pixels (0..1, ink bright).

    ``path`` is a CSV or Parquet file, or the search's ``--dataset`` (``csv:PATH``,
    ``parquet:PATH``).
    """
    kind, sep, rest = str(path).partition(":")
    if sep and kind in ("csv", "parquet"):
        path = rest
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = [c for c in ("id", "split", "label", *PIXELS) if c not in frame]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing[:5])}")
    return frame


def images_of(frame: pd.DataFrame) -> torch.Tensor:
    """The rows' pixels as a batch of 1-channel 8x8 images."""
    pixels = frame[PIXELS].to_numpy(np.float32)
    return torch.from_numpy(pixels).reshape(-1, 1, SIDE, SIDE)


class DigitCNN(nn.Module):
    """Two 3x3 convolutions, pool, one more, pool, dropout, a linear layer to the 10 digits."""

    def __init__(self, channels: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4x4
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 2x2
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(2 * channels * 2 * 2, len(CLASSES)),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits of the 10 digits for a batch of 8x8 images."""
        return self.layers(images)


def phone_like(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Phone-photo-like copies of web images: out of focus, off centre, dim, grainy.

    Each image gets its own Gaussian blur (σ 0.2–0.6 px), sub-pixel shift (up to 0.7 px each
    way), contrast (0.65–1.0), grey background (0–0.1) and pixel noise (σ 0.05), drawn from
    ``generator``. ``images`` is a CPU batch (n, 1, 8, 8) of 0..1 pixels; so is the result.
    """
    n = images.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return torch.empty(n, *shape).uniform_(low, high, generator=generator)

    sigma = uniform(0.2, 0.6, 1)
    offsets = torch.arange(-2, 3, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # one 5-tap Gaussian per image
    stacked = images.reshape(1, n, SIDE, SIDE)  # one channel per image: a grouped convolution
    rows = F.conv2d(
        F.pad(stacked, (2, 2, 0, 0), mode="replicate"), kernel[:, None, None, :], groups=n
    )
    blurred = F.conv2d(
        F.pad(rows, (0, 0, 2, 2), mode="replicate"), kernel[:, None, :, None], groups=n
    )
    blurred = blurred.reshape(n, 1, SIDE, SIDE)
    shift = uniform(-0.7, 0.7, 2) * (2 / SIDE)  # pixels → grid units (the grid spans 2)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, [n, 1, SIDE, SIDE], align_corners=False)
    shifted = F.grid_sample(blurred, grid, mode="bilinear", align_corners=False)
    contrast, background = uniform(0.65, 1.0, 1, 1, 1), uniform(0.0, 0.1, 1, 1, 1)
    noise = 0.05 * torch.randn(images.shape, generator=generator)
    return (shifted * contrast + background + noise).clamp(0.0, 1.0)


def training_rows(frame: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """The train rows the model learns from: a seeded ``fraction`` of them (at least one)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1], not {fraction}")
    train = frame[frame["split"] == "train"]
    if fraction == 1.0:
        return train
    keep = max(1, round(fraction * len(train)))
    return train.sample(n=keep, random_state=seed).sort_index()


def train(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    seed: int = 0,
    device: str = "cpu",
    train_fraction: float = 1.0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> pd.DataFrame:
    """Train the CNN on the train rows and return its predictions on every split.

    ``on_epoch(epoch, dev_error)`` is called after each epoch (1, 2, …) with the dev error
    (it may raise to stop training). With ``settings.synthesize`` every epoch adds one fresh
    phone-like copy (:func:`phone_like`) of each training image. Only the train rows are trained
    on; with ``train_fraction`` < 1 the returned train split holds just the rows trained on.
    """
    learn = training_rows(frame, train_fraction, seed)
    model, optimizer, batches = setup(learn, settings, seed=seed, device=device)
    place = torch.device(device)
    dev = frame[frame["split"] == "dev"]
    for epoch in range(1, settings.epochs + 1):
        model.train()
        for inputs, targets in batches:
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if on_epoch is not None and len(dev):
            probabilities = predict(model, dev, place)
            on_epoch(epoch, float(np.mean(probabilities.argmax(axis=1) != dev["label"])))
    scored = pd.concat([learn, frame[frame["split"] != "train"]])
    return predictions(scored, predict(model, scored, place))


def setup(
    learn: pd.DataFrame, settings: Settings, *, seed: int = 0, device: str = "cpu"
) -> tuple[DigitCNN, torch.optim.Optimizer, Batches]:
    """The untrained model, its Adam optimizer and the training batches of ``learn`` (the
    train rows), seeded: what :func:`train` trains and :func:`lr_range` hands the desk."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    place = torch.device(device)
    model = DigitCNN(settings.channels, settings.dropout).to(place)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    labels = torch.tensor(learn["label"].to_numpy())
    batches = Batches(images_of(learn), labels, settings, generator, place)
    return model, optimizer, batches


class Batches:
    """The training rows in shuffled ``(images, labels)`` batches on the model's device; each
    pass (an epoch) reshuffles and, with ``synthesize``, adds a fresh phone-like copy of every
    image. ``len`` is the number of batches in one pass."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        settings: Settings,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        self.images, self.labels, self.settings = images, labels, settings
        self.generator, self.device = generator, device

    def __len__(self) -> int:
        rows = len(self.labels) * (2 if self.settings.synthesize else 1)
        return -(-rows // self.settings.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images, labels = self.images, self.labels
        if self.settings.synthesize:
            images = torch.cat([images, phone_like(images, self.generator)])
            labels = torch.cat([labels, labels])
        order = torch.randperm(len(labels), generator=self.generator)
        for start in range(0, len(order), self.settings.batch_size):
            rows = order[start : start + self.settings.batch_size]
            yield images[rows].to(self.device), labels[rows].to(self.device)


@torch.no_grad()
def predict(model: nn.Module, frame: pd.DataFrame, device: torch.device) -> np.ndarray:
    """The model's probabilities of the 10 digits for each row (rows × classes)."""
    model.eval()
    logits = model(images_of(frame).to(device))
    return torch.softmax(logits, dim=1).cpu().numpy()


def predictions(frame: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    """The predictions the desk reads: id, split, y_true, y_pred, score and prob_<digit>."""
    result = pd.DataFrame(
        {
            "id": frame["id"].to_numpy(),
            "split": frame["split"].to_numpy(),
            "y_true": frame["label"].to_numpy(),
            "y_pred": probabilities.argmax(axis=1),
            "score": probabilities.max(axis=1).round(6),
        }
    )
    for digit in CLASSES:
        result[f"prob_{digit}"] = probabilities[:, digit].round(6)
    return result


def objective(params: dict[str, Any], context: Context) -> pd.DataFrame:
    """The search objective: train with ``params`` under ``context``; predictions on every split."""

    def on_epoch(epoch: int, dev_error: float) -> None:
        context.report(dev_error, epoch)
        if context.should_prune():
            import optuna  # the desk's search runs on Optuna; pruning is its exception

            raise optuna.TrialPruned(f"pruned after epoch {epoch}: dev error {dev_error:.3f}")

    return train(
        load_dataset(context.dataset or DATASET),
        Settings.from_params(params),
        seed=context.seed,
        device=context.device,
        train_fraction=context.train_fraction,
        on_epoch=on_epoch,
    )


def lr_range(params: dict[str, Any], context: Context) -> tuple[Any, ...]:
    """The desk's LR range test hook (``lr-find --objective examples.sample_cnn:objective``):
    the model, optimizer, loss and training batches :func:`objective` would train with."""
    frame = load_dataset(context.dataset or DATASET)
    learn = training_rows(frame, context.train_fraction, context.seed)
    settings = Settings.from_params(params)
    model, optimizer, batches = setup(learn, settings, seed=context.seed, device=context.device)
    return model, optimizer, F.cross_entropy, batches


objective.lr_range = lr_range  # type: ignore[attr-defined]  # the protocol's optional hook
