"""What a search of the built-in MLP leaves behind: the finalists trained fully, the best model's
weights and its predictions on every split (scored by the waterfall), and every trial's row.

The weights are a plain ``state_dict`` (loaded back with ``torch.load(..., weights_only=True)``)
beside a JSON file with the architecture and class names, so nothing is ever unpickled. The
predictions file (``id, split, y_true, y_pred, score``) is what ``diagnose`` reads as-is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import optuna
import pandas as pd
import torch
from optuna.trial import FrozenTrial
from torch import nn

from diagnostics.output_files import refuse_input_as_output, write_output
from diagnostics.search import study as studies
from diagnostics.search.datasets import Dataset
from diagnostics.search.objective import score_predictions
from diagnostics.search.scored import (
    PREDICTIONS_FILE,
    TRIALS_FILE,
    remove_predictions,
    trial_rows,
)
from diagnostics.search.settings import SearchSettings, search_inputs
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import redact
from diagnostics.search.tracking import log_predictions
from diagnostics.search.training import (
    TrainConfig,
    TrainResult,
    evaluate,
    model_for,
    predict,
    train_model,
)
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError

WEIGHTS_FILE = "best_model.pt"
MODEL_META_FILE = "best_model.json"
OUTPUT_NAMES = (PREDICTIONS_FILE, TRIALS_FILE, WEIGHTS_FILE, MODEL_META_FILE)
SPACE_FILE = "space-round-{number}.json"


def check_search_outputs(out_dir: Path, inputs: Sequence[str | None], rounds: int) -> None:
    """Refuse an output folder where one of the search's files would replace one of ``inputs``."""
    names = [*OUTPUT_NAMES, *(SPACE_FILE.format(number=n) for n in range(1, rounds + 1))]
    for name in names:
        refuse_input_as_output(out_dir / name, inputs)


def write_search_file(
    out_dir: Path,
    name: str,
    content: bytes | Callable[[BinaryIO], None],
    inputs: Sequence[str | None],
) -> Path:
    """Write one of the search's output files through the one writer: never over an input,
    written to a temporary file and renamed into place."""
    return write_output(out_dir / name, content, inputs)


def predictions_frame(
    model: nn.Module, data: Dataset, device: str | torch.device = "cpu"
) -> pd.DataFrame:
    """The model's predictions on train, train_dev, dev and test (original class labels): one
    frame built once from the splits' arrays (a trial's fixed cost, so no frame per split)."""
    predicted = [predict(model, data.x[split], device) for split in SPLITS]
    labels = pd.Series(data.classes).to_numpy()
    sizes = [len(data.y[split]) for split in SPLITS]
    return pd.DataFrame(
        {
            "id": _column([data.ids[split] for split in SPLITS]),
            "split": np.repeat(np.array(SPLITS, dtype=object), sizes),
            "y_true": _column([labels[data.y[split]] for split in SPLITS]),
            "y_pred": _column([labels[pred] for pred, _ in predicted]),
            "score": np.concatenate([score for _, score in predicted]).round(6),
        }
    )


def _column(parts: list[np.ndarray]) -> np.ndarray | pd.Series:
    """The splits' parts of one column, typed as pandas types the parts' frames concatenated:
    strings are ``str``, except where a split is empty (an empty object part keeps them
    ``object``), so the Parquet copy's column types stay what they were."""
    joined = np.concatenate(parts)
    if joined.dtype == object and min(map(len, parts)) == 0:
        return pd.Series(joined, dtype=object)
    return joined


def save_best_model(
    out_dir: Path,
    model: nn.Module,
    config: TrainConfig,
    data: Dataset,
    extra: dict[str, Any],
    inputs: Sequence[str | None] = (),
) -> Path:
    """Write the ``state_dict`` and its JSON description; returns the weights path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    weights = write_search_file(
        out_dir, WEIGHTS_FILE, lambda stream: torch.save(state, stream), inputs
    )
    meta = {
        "config": config.to_dict(),
        "n_features": data.n_features,
        "classes": [c if isinstance(c, str | int | float) else str(c) for c in data.classes],
        "dataset": data.name,
        **extra,
    }
    text = json.dumps(meta, indent=2, default=_plain)
    write_search_file(out_dir, MODEL_META_FILE, text.encode(), inputs)
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


def slug(name: str) -> str:
    """A study name as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


@dataclass(frozen=True)
class _Finalist:
    """One of the last round's best trials, trained again at the final epochs."""

    trial: FrozenTrial
    params: dict[str, Any]
    config: TrainConfig
    result: TrainResult


def finish_search(
    settings: SearchSettings,
    spec: str,
    storage: optuna.storages.BaseStorage,
    names: Sequence[str],
    rounds: list[dict[str, Any]],
    data: Dataset,
    out_dir: Path,
    last: tuple[optuna.Study, SearchSpace],
) -> dict[str, Any]:
    """Train the finalists fully, keep the best on dev, evaluate it on test once, write outputs.

    ``last`` is the last round's (study, space); ``names`` every round's study. Returns the
    ``search --json`` result (see :func:`~diagnostics.search.rounds.run_search`).
    """
    study, space = last
    plain = settings.rounds is None
    top = studies.top_trials(study, 1 if plain else settings.finalists, carried=True)
    epochs = rounds[-1]["epochs"]
    final_epochs = settings.final_epochs or (epochs if plain else 2 * epochs)
    torch.set_num_threads(settings.threads)
    finalists = []
    for trial in top:
        params = space.decode(trial.params)
        config = TrainConfig.from_params(params, epochs=final_epochs, seed=settings.seed)
        result = train_model(config, data, device=settings.device)
        finalists.append(_Finalist(trial, params, config, result))
    winner = max(finalists, key=lambda f: f.result.dev_accuracy)
    model = winner.result.model
    device = next(model.parameters()).device
    x_test = torch.as_tensor(data.x["test"], device=device)
    _, test_accuracy = evaluate(model, x_test, torch.as_tensor(data.y["test"], device=device))
    inputs = search_inputs(settings, spec)
    frame = predictions_frame(model, data, device)
    if not frame["score"].notna().all():  # never a file with empty scores (the upload's rule)
        raise InputError(
            f"the best trial retrained for {final_epochs} epochs diverged (its scores are NaN); "
            "no model or predictions were written — lower the learning rate or narrow the space"
        )
    predictions = write_search_file(
        out_dir, PREDICTIONS_FILE, frame.to_csv(index=False).encode(), inputs
    )
    tracked = None
    if settings.mlflow:  # the best trial's run keeps the predictions, as diagnose reads them
        tracked = log_predictions(
            settings.mlflow, study.study_name, winner.trial.number, predictions
        )
    weights = save_best_model(
        out_dir,
        model,
        winner.config,
        data,
        {"study": study.study_name, "trial": winner.trial.number},
        inputs,
    )
    rows = trial_rows(names, storage)
    kept = {(study.study_name, f.trial.number) for f in finalists}
    kept |= {
        (study.study_name, t.number) for t in studies.top_trials(study, settings.keep, carried=True)
    }
    removed = remove_predictions(rows, kept)
    write_search_file(
        out_dir, TRIALS_FILE, json.dumps(rows, indent=2, default=str).encode(), inputs
    )
    score = score_predictions(frame)
    best = winner.trial
    return {
        "study": settings.study,
        "storage": redact(spec),
        "objective": studies.BUILTIN,
        "goal": settings.goal.to_dict(),
        "metric": score["metric"],
        "n_complete": sum(t["state"] == "complete" for t in rows),
        "n_pruned": sum(t["state"] == "pruned" for t in rows),
        "n_failed": sum(t["state"] == "fail" for t in rows),
        "best": {
            "params": winner.params,
            "value": best.value,
            "dev_accuracy": winner.result.dev_accuracy,
            "test_accuracy": test_accuracy,
            "dev_error": score["levels"]["dev"],
            "test_error": score["levels"].get("test"),
            "levels": score["levels"],
            "gaps": score["gaps"],
            "trial": best.number,
            "study": study.study_name,
            "epochs": final_epochs,
        },
        "trials": rows,
        "pareto": None,
        "predictions": str(predictions),
        **({"mlflow_predictions": tracked} if tracked else {}),
        "model": str(weights),
        "out_dir": str(out_dir),
        "rounds": rounds,
        "finalists": [
            {"trial": f.trial.number, "params": f.params, "dev_accuracy": f.result.dev_accuracy}
            for f in finalists
        ],
        "importances": studies.importances(study),
        "removed": removed,
    }
