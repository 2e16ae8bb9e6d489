"""The built-in small CNN for image datasets, an objective of the protocol (``builtin:cnn``).

The search's dataset is a CSV/Parquet file with ``id``, ``split``, ``input`` (an image file,
relative to the dataset file's folder or absolute: the project's images, or an images zip
already extracted there) and a label column (``label``). Images are read with Pillow as
greyscale, resized to :data:`SIZE` × :data:`SIZE` and scaled to [0, 1]; torch only (no
torchvision). Each epoch reports its dev error and stops early when the context says so; the
trial returns every split's predictions (``id, split, y_true, y_pred, score``), which the runner
scores by the waterfall like any objective's. Its ``lr_range`` hook gives the LR range test the
same model, optimizer and batches.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch
from torch import nn

from diagnostics.search.objective import TrialContext, TrialFailure
from diagnostics.search.training import Shuffled
from diagnostics.splitnames import SPLIT_ALIASES, SPLITS
from diagnostics.validation import InputError

CNN = "builtin:cnn"
SIZE = 32
LABEL = "label"
CNN_SPACE: dict[str, Any] = {
    "lr": {"type": "log_uniform", "low": 1e-4, "high": 3e-2},
    "channels": {"type": "choice", "choices": [8, 16, 32]},
    "batch_size": {"type": "choice", "choices": [16, 32, 64]},
    "epochs": {"type": "int", "low": 2, "high": 8},
}


class ImageData:
    """An image dataset's tensors per split (``x``: n×1×SIZE×SIZE float, ``y``: class index)."""

    def __init__(self, frame: pd.DataFrame, folder: Path | str) -> None:
        for column in ("id", "split", "input", LABEL):
            if column not in frame.columns:
                raise TrialFailure(
                    f"the image dataset lacks the column '{column}' (it needs id, split, "
                    f"input naming image files, {LABEL})"
                )
        splits = frame["split"].astype(str).str.strip().str.lower().map(SPLIT_ALIASES)
        if splits.isna().any():
            bad = frame["split"][splits.isna()].iloc[0]
            raise TrialFailure(f"unknown split '{bad}' in the image dataset")
        self.classes = sorted(frame[LABEL].astype(str).unique())
        index = {name: i for i, name in enumerate(self.classes)}
        self.x: dict[str, torch.Tensor] = {}
        self.y: dict[str, torch.Tensor] = {}
        self.ids: dict[str, list[str]] = {}
        for split in SPLITS:
            part = frame[(splits == split).to_numpy()]
            names = zip(part.index, part["input"], strict=True)
            images = [_image(folder, str(name), row) for row, name in names]
            array = np.stack(images) if images else np.zeros((0, SIZE, SIZE), np.float32)
            self.x[split] = torch.from_numpy(array).unsqueeze(1)
            self.y[split] = torch.tensor([index[str(v)] for v in part[LABEL]], dtype=torch.long)
            self.ids[split] = part["id"].astype(str).tolist()
        if not len(self.y["train"]) or not len(self.y["dev"]):
            raise TrialFailure("the image dataset needs train and dev rows with images")


def _image(folder: Path | str, name: str, row: Any) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    from diagnostics.images import read_image_file

    try:
        if isinstance(folder, str):  # beside a dataset in object storage: read in place
            source: Path | io.BytesIO = io.BytesIO(read_image_file(folder, name))
        else:
            source = Path(name) if Path(name).is_absolute() else folder / name
        with Image.open(source) as image:
            grey = image.convert("L").resize((SIZE, SIZE))
    except (OSError, UnidentifiedImageError, InputError) as exc:
        raise TrialFailure(
            f"row {row}: the image '{name}' cannot be read ({type(exc).__name__}); put the "
            "images beside the dataset file or extract the images zip there"
        ) from exc
    return np.asarray(grey, dtype=np.float32) / 255.0


@functools.lru_cache(maxsize=2)
def load_images(spec: str) -> ImageData:
    """The image dataset a ``csv:PATH``/``parquet:PATH`` spec names (read once per process);
    the dataset and its images may be in object storage (``csv:s3://bucket/images/data.csv``,
    images beside it, each read in place)."""
    from diagnostics.remote import is_remote

    kind, _, name = spec.partition(":")
    if kind in ("csv", "parquet") and is_remote(name):
        from diagnostics.formats import as_file, readable

        try:
            source = readable(as_file(name, "image dataset"))
        except InputError as exc:
            raise TrialFailure(str(exc)) from None
        frame = pd.read_csv(source, dtype=str) if kind == "csv" else pd.read_parquet(source)
        return ImageData(frame, name.rsplit("/", 1)[0])
    path = Path(name)
    if kind not in ("csv", "parquet") or not path.is_file():
        raise TrialFailure(f"the built-in CNN needs an image dataset file (csv:PATH), not {spec}")
    frame = pd.read_csv(path, dtype=str) if kind == "csv" else pd.read_parquet(path)
    return ImageData(frame, path.parent)


def build_cnn(channels: int, n_classes: int) -> nn.Sequential:
    """Two conv blocks (3×3 conv → ReLU → 2×2 max-pool), then a linear layer to the logits."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * channels * (SIZE // 4) ** 2, n_classes),
    )


class ImageCNN:
    """The built-in CNN as an objective (``builtin:cnn``), with the LR range test's hook."""

    name = CNN

    def __call__(self, params: dict[str, Any], context: TrialContext) -> pd.DataFrame:
        """Train the small CNN with Adam on ``context.dataset``'s train images for ``epochs``
        epochs; report dev error per epoch; return every split's predictions."""
        data, model, optimizer, loss_fn, batches = self._parts(params, context)
        device = torch.device(context.device)
        for epoch in range(1, int(params.get("epochs", 4)) + 1):
            model.train()
            for inputs, targets in batches:
                optimizer.zero_grad()
                loss = loss_fn(model(inputs), targets)
                loss.backward()
                optimizer.step()
            pred, _ = _predict(model, data.x["dev"], device)
            context.report(float((pred != data.y["dev"]).float().mean()), epoch)
            if context.should_prune():
                raise optuna.TrialPruned
        return _predictions(model, data, device)

    def lr_range(self, params: dict[str, Any], context: TrialContext) -> tuple[Any, ...]:
        """The LR range test's parts (:mod:`diagnostics.lr_finder`): the CNN and its Adam that
        ``params`` describe, cross-entropy, and the train images in reshuffled batches."""
        return self._parts(params, context)[1:]

    def _parts(
        self, params: dict[str, Any], context: TrialContext
    ) -> tuple[ImageData, nn.Module, torch.optim.Optimizer, nn.Module, Shuffled]:
        if not context.dataset:
            raise TrialFailure("the built-in CNN needs the project's image dataset (--dataset)")
        data = load_images(context.dataset)
        torch.manual_seed(context.seed)
        device = torch.device(context.device)
        model = build_cnn(int(params.get("channels", 16)), len(data.classes)).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=float(params.get("lr", 1e-3)))
        x, y = data.x["train"].to(device), data.y["train"].to(device)
        batches = Shuffled(x, y, int(params.get("batch_size", 32)), context.seed)
        return data, model, optimizer, nn.CrossEntropyLoss(), batches


cnn_objective = ImageCNN()


def _predict(
    model: nn.Module, x: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(x.to(device)), dim=1).cpu()
    score, pred = probs.max(dim=1)
    return pred, score


def _predictions(model: nn.Module, data: ImageData, device: torch.device) -> pd.DataFrame:
    frames = []
    classes = np.array(data.classes, dtype=object)
    for split in SPLITS:
        if not len(data.y[split]):
            continue
        pred, score = _predict(model, data.x[split], device)
        frames.append(
            pd.DataFrame(
                {
                    "id": data.ids[split],
                    "split": split,
                    "y_true": classes[data.y[split].numpy()],
                    "y_pred": classes[pred.numpy()],
                    "score": score.numpy().round(6),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
