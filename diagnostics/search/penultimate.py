"""The penultimate layer of a search's saved best model as embeddings of the dataset's rows.

The model is rebuilt from its folder (:func:`~diagnostics.search.outputs.load_best_model`,
weights read with ``weights_only=True``); the activations are what enters its last linear layer
(the logits' input), taken by a forward hook, so any model whose output is a final
``nn.Linear`` works, whatever comes before it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from diagnostics.search.datasets import Dataset
from diagnostics.search.outputs import MODEL_META_FILE, WEIGHTS_FILE, load_best_model
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError

BATCH = 4096


def penultimate_activations(
    model_dir: str | Path, data: Dataset, splits: tuple[str, ...] = SPLITS
) -> pd.DataFrame:
    """The saved best model's penultimate activations for the rows of ``splits`` of ``data``:
    columns ``id``, ``split`` and ``emb_0 … emb_k`` (the input of its last linear layer, in
    evaluation mode). InputError when the folder has no saved model or it does not fit the
    dataset."""
    folder = Path(model_dir)
    if not (folder / WEIGHTS_FILE).is_file() or not (folder / MODEL_META_FILE).is_file():
        raise InputError(
            f"{folder}: no saved best model ({WEIGHTS_FILE} and {MODEL_META_FILE}); let the "
            "search finish first"
        )
    model, meta = load_best_model(folder)
    if meta.get("n_features") != data.n_features:
        raise InputError(
            f"{folder}: the saved model reads {meta.get('n_features')} features but dataset "
            f"'{data.name}' has {data.n_features}; use the dataset the search trained on"
        )
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise InputError(f"{folder}: the saved model has no final linear layer")
    seen: list[torch.Tensor] = []
    hook = last[-1].register_forward_hook(lambda _m, args, _out: seen.append(args[0].detach()))
    frames = []
    try:
        with torch.no_grad():
            for split in splits:
                x = torch.as_tensor(data.x[split])
                seen.clear()
                for start in range(0, len(x), BATCH):
                    model(x[start : start + BATCH])
                width = int(last[-1].in_features)
                block = (
                    torch.cat(seen).reshape(len(x), -1).numpy()
                    if seen
                    else np.empty((0, width), np.float32)
                )
                frame = pd.DataFrame(block, columns=[f"emb_{i}" for i in range(block.shape[1])])
                frame.insert(0, "split", split)
                frame.insert(0, "id", data.ids[split])
                frames.append(frame)
    finally:
        hook.remove()
    return pd.concat(frames, ignore_index=True)
