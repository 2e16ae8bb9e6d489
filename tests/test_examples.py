"""The sample project's examples: the CNN objective and its training script, really trained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from diagnostics import run_search
from diagnostics.ingest import read_predictions
from diagnostics.search.objective import TrialContext, score_predictions
from examples.sample_cnn import DATASET, PIXELS, images_of, objective, phone_like

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"train": 240, "train_dev": 60, "dev": 80, "test": 40}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """A small slice of the sample's dataset: the first rows of each split."""
    frame = pd.read_csv(DATASET)
    return pd.concat([frame[frame["split"] == s].head(n) for s, n in SMALL.items()])


@pytest.fixture
def small_csv(tmp_path, sample) -> Path:
    """The small dataset as a CSV the objective and the script read."""
    path = tmp_path / "small.csv"
    sample.to_csv(path, index=False)
    return path


def context(
    dataset: Path,
    tmp_path: Path,
    *,
    train_fraction: float = 1.0,
    prune_check: Callable[[], bool] | None = None,
) -> TrialContext:
    """The desk's trial context for one trial on ``dataset``."""
    return TrialContext(
        0,
        {},
        seed=3,
        scratch=tmp_path,
        train_fraction=train_fraction,
        dataset=f"csv:{dataset}",  # as the search names it
        prune_check=prune_check,
    )


def test_objective_returns_scorable_predictions_on_every_split(small_csv, tmp_path):
    trial = context(small_csv, tmp_path, train_fraction=0.5)
    params = {"epochs": 2, "synthesize": True, "lr": 0.003, "channels": 8}

    result = objective(params, trial)

    assert list(result.columns) == [
        "id", "split", "y_true", "y_pred", "score", *(f"prob_{d}" for d in range(10))
    ]  # fmt: skip
    counts = result["split"].value_counts().to_dict()
    assert counts == {"train": 120, "train_dev": 60, "dev": 80, "test": 40}  # half of train
    probabilities = result[[f"prob_{d}" for d in range(10)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (result["y_pred"].to_numpy() == probabilities.argmax(axis=1)).all()
    assert (result["score"].to_numpy() == probabilities.max(axis=1)).all()
    assert [entry["step"] for entry in trial.history] == [1, 2]
    dev = result[result["split"] == "dev"]
    assert trial.history[-1]["dev_error"] == pytest.approx((dev["y_pred"] != dev["y_true"]).mean())
    score = score_predictions(result)
    assert score["levels"]["dev"] == pytest.approx(trial.history[-1]["dev_error"])
    assert set(score["gaps"]) >= {"variance", "data_mismatch"}


def test_objective_stops_when_the_search_prunes(small_csv, tmp_path):
    trial = context(small_csv, tmp_path, prune_check=lambda: True)

    with pytest.raises(optuna.TrialPruned, match="after epoch 1"):
        objective({"epochs": 5, "channels": 8}, trial)

    assert len(trial.history) == 1


def test_synthesized_copies_never_use_dev_or_test_pixels(sample, tmp_path):
    scrambled = sample.copy()
    held_out = scrambled["split"].isin(["dev", "test"]).to_numpy()
    rng = np.random.default_rng(0)
    scrambled.loc[held_out, PIXELS] = rng.random((int(held_out.sum()), len(PIXELS)))
    paths = {"original": tmp_path / "a.csv", "scrambled": tmp_path / "b.csv"}
    sample.to_csv(paths["original"], index=False)
    scrambled.to_csv(paths["scrambled"], index=False)
    params = {"epochs": 2, "synthesize": True, "channels": 8}

    results = {name: objective(params, context(path, tmp_path)) for name, path in paths.items()}

    # the model trained on the same rows only: every train and train-dev probability is equal
    seen = results["original"]["split"].isin(["train", "train_dev"]).to_numpy()
    pd.testing.assert_frame_equal(results["original"][seen], results["scrambled"][seen])
    assert not results["original"][~seen].equals(results["scrambled"][~seen])


def test_phone_like_copies_are_seeded_and_stay_images():
    images = images_of(pd.read_csv(DATASET, nrows=50))

    first = phone_like(images, torch.Generator().manual_seed(1))
    again = phone_like(images, torch.Generator().manual_seed(1))
    other = phone_like(images, torch.Generator().manual_seed(2))

    assert first.shape == images.shape
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0
    # blurred and dimmed: the ink's peak falls, the background rises
    assert float(first.amax(dim=(1, 2, 3)).mean()) < float(images.amax(dim=(1, 2, 3)).mean())
    assert float(first.amin(dim=(1, 2, 3)).mean()) > float(images.amin(dim=(1, 2, 3)).mean())


def test_script_prints_progress_and_writes_a_predictions_file(small_csv, tmp_path):
    out = tmp_path / "predictions.csv"
    command = [sys.executable, "examples/train_cnn.py", "--epochs", "2", "--channels", "8"]
    command += ["--synthesize", "yes", "--dataset", str(small_csv), "--out", str(out)]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["step"] for line in lines] == [1, 2]
    predictions = read_predictions(out)
    assert len(predictions.frame) == sum(SMALL.values())
    dev = predictions.frame[predictions.frame["split"] == "dev"]
    assert lines[-1]["dev_error"] == pytest.approx((dev["y_pred"] != dev["y_true"]).mean())


def test_script_refuses_a_bad_flag_with_exit_2(tmp_path):
    command = [sys.executable, "examples/train_cnn.py", "--synthesize", "maybe"]
    command += ["--out", str(tmp_path / "p.csv")]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 2
    assert "--synthesize" in done.stderr and not (tmp_path / "p.csv").exists()


@pytest.mark.slow
def test_run_search_searches_the_objective_and_scores_every_trial(small_csv, tmp_path):
    space = json.loads((ROOT / "examples" / "sample_space.json").read_text())

    result = run_search(
        objective,
        space=space | {"epochs": {"type": "choice", "choices": [2]}},
        dataset=f"csv:{small_csv}",
        trials=3,
        sampler="random",
        pruner="none",
        seed=0,
        data_dir=tmp_path,
    )

    assert result["n_complete"] == 3
    for trial in result["trials"]:
        assert set(trial["params"]) == {"lr", "dropout", "channels", "synthesize", "epochs"}
        assert set(trial["levels"]) >= {"train", "train_dev", "dev", "test"}
        assert trial["gaps"]["data_mismatch"] == pytest.approx(
            trial["levels"]["dev"] - trial["levels"]["train_dev"]
        )
    assert result["best"]["dev_error"] == min(t["levels"]["dev"] for t in result["trials"])


@pytest.mark.slow
def test_the_script_runs_through_the_command_door(small_csv, tmp_path):
    script = f"{sys.executable} examples/train_cnn.py --lr {{lr}} --synthesize {{synthesize}}"
    script += (
        f" --epochs 2 --channels 8 --seed {{seed}} --dataset {small_csv} --out {{predictions}}"
    )
    command = [sys.executable, "-m", "strategy_app", "search", "--json"]
    command += ["--dataset", f"csv:{small_csv}", "--label", "label", "--command", script]
    command += ["--space", "examples/sample_space.json", "--trials", "2", "--sampler", "random"]
    command += ["--pruner", "none", "--out", str(tmp_path / "out")]
    command += ["--storage", str(tmp_path / "journal.log")]

    environment = os.environ | {"STRATEGY_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=environment
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n_complete"] == 2
    assert all(trial["epochs_run"] == 2 for trial in result["trials"])
    assert read_predictions(Path(result["predictions"])).frame["split"].nunique() == 4
