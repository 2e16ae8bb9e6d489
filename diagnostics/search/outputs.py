"""What a search leaves behind: the best model's weights and its predictions on every split.

The weights are a plain ``state_dict`` (loaded back with ``torch.load(..., weights_only=True)``)
beside a JSON file with the architecture and class names, so nothing is ever unpickled. The
predictions file (``id, split, y_true, y_pred, score``) is what ``diagnose`` reads as-is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from diagnostics.search.datasets import Dataset
from diagnostics.search.training import TrainConfig, model_for, predict
from diagnostics.splitnames import SPLITS

WEIGHTS_FILE = "best_model.pt"
MODEL_META_FILE = "best_model.json"
PREDICTIONS_FILE = "predictions.csv"


def predictions_frame(
    model: nn.Module, data: Dataset, device: str | torch.device = "cpu"
) -> pd.DataFrame:
    """The model's predictions on train, train_dev, dev and test (original class labels)."""
    frames = []
    for split in SPLITS:
        pred, score = predict(model, data.x[split], device)
        classes = pd.Series(data.classes)
        frames.append(
            pd.DataFrame(
                {
                    "id": data.ids[split],
                    "split": split,
                    "y_true": classes.iloc[data.y[split]].to_numpy(),
                    "y_pred": classes.iloc[pred].to_numpy(),
                    "score": score.round(6),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def save_best_model(
    out_dir: Path, model: nn.Module, config: TrainConfig, data: Dataset, extra: dict[str, Any]
) -> Path:
    """Write the ``state_dict`` and its JSON description; returns the weights path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS_FILE
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights)
    meta = {
        "config": config.to_dict(),
        "n_features": data.n_features,
        "classes": [c if isinstance(c, str | int | float) else str(c) for c in data.classes],
        "dataset": data.name,
        **extra,
    }
    (out_dir / MODEL_META_FILE).write_text(json.dumps(meta, indent=2, default=_plain))
    return weights


def load_best_model(out_dir: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the saved best model (weights loaded with ``weights_only=True``) and its meta."""
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / MODEL_META_FILE).read_text())
    config = TrainConfig(**meta["config"])
    model = model_for(config, meta["n_features"], len(meta["classes"]))
    model.load_state_dict(torch.load(out_dir / WEIGHTS_FILE, weights_only=True))
    model.eval()
    return model, meta


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars."""
    return value.item() if hasattr(value, "item") else str(value)
