"""The built-in small CNN for image datasets (issue 26): a real torch CNN trained on PNG files
the test draws itself, run behind the objective door and scored by the waterfall."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from diagnostics.search.cnn import SIZE, ImageData, build_cnn
from diagnostics.search.objective import TrialFailure
from strategy_app.cli import main

SPLIT_ROWS = {"train": 48, "train_dev": 12, "dev": 16, "test": 16}


def _image_dataset(folder):
    """Two classes any CNN tells apart: a bright horizontal bar ("h") or a vertical one ("v"),
    at a random place, on noise; PNGs under images/, a CSV beside them."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    rows = []
    for split, count in SPLIT_ROWS.items():
        for i in range(count):
            label = "hv"[i % 2]
            pixels = rng.integers(0, 60, (SIZE, SIZE)).astype(np.uint8)
            at = int(rng.integers(4, SIZE - 8))
            if label == "h":
                pixels[at : at + 4, :] = 230
            else:
                pixels[:, at : at + 4] = 230
            name = f"images/{split}-{i}.png"
            Image.fromarray(pixels, mode="L").save(folder / name)
            rows.append({"id": f"{split}-{i}", "split": split, "input": name, "label": label})
    path = folder / "images.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_builtin_cnn_searches_an_image_dataset_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path))
    dataset = _image_dataset(tmp_path / "project")
    argv = ["search", "--objective", "builtin:cnn", "--dataset", f"csv:{dataset}"]
    code = main([*argv, "--trials", "2", "--sampler", "random", "--pruner", "none", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["objective"] == "builtin:cnn" and result["n_complete"] == 2
    assert set(result["trials"][0]["params"]) == {"lr", "channels", "batch_size", "epochs"}
    best = result["best"]
    assert best["dev_error"] <= 0.25  # the bars are easy: a trained CNN gets most of dev right
    assert best["dev_accuracy"] == pytest.approx(1 - best["dev_error"])
    assert set(best["levels"]) >= {"train", "train_dev", "dev", "test"}
    predictions = pd.read_csv(result["predictions"])
    assert len(predictions) == sum(SPLIT_ROWS.values())
    assert set(predictions["y_pred"]) <= {"h", "v"}
    # every trial reported its dev error per epoch (the study minimises it, pruning reads it)
    trial = result["trials"][0]
    assert trial["epochs_run"] == trial["params"]["epochs"]


def test_a_missing_image_fails_the_trial_with_one_line(tmp_path):
    dataset = _image_dataset(tmp_path)
    (tmp_path / "images" / "dev-3.png").unlink()
    with pytest.raises(TrialFailure, match=r"image 'images/dev-3.png' cannot be read"):
        ImageData(pd.read_csv(dataset, dtype=str), tmp_path)
    frame = pd.read_csv(dataset, dtype=str).drop(columns="input")
    with pytest.raises(TrialFailure, match="lacks the column 'input'"):
        ImageData(frame, tmp_path)


def test_the_cnn_maps_an_image_batch_to_class_logits():
    import torch

    logits = build_cnn(8, 3)(torch.zeros(5, 1, SIZE, SIZE))
    assert tuple(logits.shape) == (5, 3)
