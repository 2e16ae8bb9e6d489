"""Hugging Face datasets as predictions sources and search datasets (``hf:FOLDER#mapping``), on
datasets the tests build and save themselves with ``datasets`` (offline)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from diagnostics import api
from diagnostics.hf_datasets import read_hf_table
from diagnostics.search.datasets import load_dataset
from diagnostics.validation import InputError
from strategy_app.cli import main
from tests.conftest import write_predictions

datasets = pytest.importorskip("datasets")
MAPPING = "train=train,holdout=train_dev,validation=dev,test=test"
HF_NAMES = {"train": "train", "train_dev": "holdout", "dev": "validation", "test": "test"}


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No hub: datasets and huggingface_hub stay offline, their caches in the test's folder."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets.disable_progress_bars()


def saved_dict(frame: pd.DataFrame, folder, *, parquet: bool = False):
    """The frame's splits as a DatasetDict under the HF split names, saved to ``folder``."""
    splits = {
        HF_NAMES[split]: datasets.Dataset.from_pandas(
            part.drop(columns="split"), preserve_index=False
        )
        for split, part in frame.groupby("split", sort=False)
    }
    if parquet:
        folder.mkdir()
        for name, part in splits.items():
            part.to_parquet(str(folder / f"{name}-00000-of-00001.parquet"))
    else:
        datasets.DatasetDict(splits).save_to_disk(str(folder))
    return folder


def test_a_saved_dataset_dict_diagnoses_as_the_file(tmp_path, capsys):
    source = write_predictions(tmp_path / "predictions.csv")
    frame = pd.read_csv(source)
    for parquet in (False, True):
        folder = saved_dict(frame, tmp_path / f"saved-{parquet}", parquet=parquet)
        spec = f"hf:{folder}#{MAPPING}"
        assert main(["diagnose", str(source), "--human", "1%", "--json"]) == 0
        expected = json.loads(capsys.readouterr().out)
        assert main(["diagnose", spec, "--human", "1%", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == expected
        assert (
            api.diagnose(spec, "1%", slice_column="device").to_dict()
            == api.diagnose(source, "1%", slice_column="device").to_dict()
        )
        table = read_hf_table(spec)
        assert table.num_rows == len(frame)
        assert sorted(set(table.column("split").to_pylist())) == sorted(HF_NAMES)


def test_a_single_dataset_keeps_its_split_column_renamed_by_the_mapping(tmp_path):
    frame = pd.read_csv(write_predictions(tmp_path / "predictions.csv"))
    renamed = frame.assign(split=frame["split"].map(HF_NAMES))
    datasets.Dataset.from_pandas(renamed, preserve_index=False).save_to_disk(str(tmp_path / "one"))
    spec = f"hf:{tmp_path / 'one'}#holdout=train_dev"
    assert api.diagnose(spec).to_dict() == api.diagnose(frame).to_dict()


def test_splits_need_a_mapping_that_names_what_the_dataset_has(tmp_path, capsys):
    frame = pd.read_csv(write_predictions(tmp_path / "predictions.csv"))
    folder = saved_dict(frame, tmp_path / "saved")
    cases = {
        f"hf:{folder}": "split 'holdout' is not one of",
        f"hf:{folder}#valid=dev": "the dataset has no split 'valid'; its splits: train, holdout",
        f"hf:{folder}#validation=eval": "the split mapping 'validation=eval' is not HF_SPLIT=SPLIT",
        f"hf:{tmp_path / 'nowhere'}": "no dataset folder",
        f"hf:{tmp_path}": "holds no dataset",
    }
    for spec, expected in cases.items():
        assert main(["diagnose", spec]) == 2
        message = capsys.readouterr().err.strip()
        assert expected in message and "\n" not in message, message


def test_a_saved_dataset_is_a_search_dataset(tmp_path):
    rng = np.random.default_rng(0)
    rows = 400
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "split": np.repeat(["train", "train_dev", "dev", "test"], rows // 4),
            "x1": rng.normal(size=rows),
            "x2": rng.normal(size=rows),
            "label": rng.integers(0, 3, rows),
        }
    )
    frame.to_parquet(tmp_path / "features.parquet")
    folder = saved_dict(frame, tmp_path / "saved")
    ours = load_dataset(f"hf:{folder}#{MAPPING}", label="label")
    expected = load_dataset(f"parquet:{tmp_path / 'features.parquet'}", label="label")
    assert ours.sizes() == expected.sizes() == {s: 100 for s in HF_NAMES}
    for split in HF_NAMES:
        assert np.array_equal(ours.ids[split], expected.ids[split])
        assert np.allclose(ours.x[split], expected.x[split])
        assert np.array_equal(ours.y[split], expected.y[split])
    with pytest.raises(InputError, match="name the label column"):
        load_dataset(f"hf:{folder}#{MAPPING}")
