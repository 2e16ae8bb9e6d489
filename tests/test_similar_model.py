"""Embeddings from the penultimate layer of a model the search trained: the library function
(a real trained MLP, saved and loaded back with weights_only), the join to a predictions file,
and a version made from a search offering them on the Error analysis page."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from diagnostics.ingest import read_predictions
from diagnostics.search.datasets import load_dataset
from diagnostics.search.outputs import (
    PREDICTIONS_FILE,
    load_best_model,
    predictions_frame,
    save_best_model,
)
from diagnostics.search.penultimate import penultimate_activations
from diagnostics.search.space import SearchSpace
from diagnostics.search.training import TrainConfig, train_model
from diagnostics.similar import find_similar, model_dev_embeddings
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.errors import similar
from strategy_app.search.service import (
    RESULT_FILE,
    CaviarRequest,
    load_search_dataset,
    resolve_dataset,
    send_best_to_diagnose,
)
from strategy_app.store.projects import PROJECT_DATASET
from strategy_app.versions.service import read_version
from tests.test_app_pages import run_page, texts
from tests.test_similar_pages import SAMPLE, _open

CONFIG = TrainConfig(epochs=1, hidden_units=16, layers=2, seed=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="module")
def saved(digits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    result = train_model(CONFIG, digits, device="cpu")
    save_best_model(folder, result.model, CONFIG, digits, {"trial": 0})
    predictions_frame(result.model, digits).to_csv(folder / PREDICTIONS_FILE, index=False)
    return folder


def test_activations_are_the_input_of_the_last_linear_layer(saved, digits):
    frame = penultimate_activations(saved, digits)
    model, _ = load_best_model(saved)
    assert list(frame.columns) == ["id", "split"] + [f"emb_{i}" for i in range(16)]
    assert len(frame) == sum(len(digits.ids[s]) for s in digits.ids)
    dev = frame[frame["split"] == "dev"]
    assert dev["id"].tolist() == list(digits.ids["dev"])
    with torch.no_grad():
        expected = model[:-1](torch.as_tensor(digits.x["dev"])).numpy()
    np.testing.assert_allclose(dev.filter(like="emb_").to_numpy(), expected, rtol=1e-5, atol=1e-6)
    assert (expected >= 0).all()  # after the last ReLU
    only_dev = penultimate_activations(saved, digits, splits=("dev",))
    assert set(only_dev["split"]) == {"dev"} and len(only_dev) == len(dev)


def test_dev_embeddings_from_the_model_join_by_id_and_find_neighbours(saved, digits):
    predictions = read_predictions(saved / PREDICTIONS_FILE, metric="error")
    activations = penultimate_activations(saved, digits, splits=("dev",))
    dev = model_dev_embeddings(predictions, activations, "run 'r' best model (trial 0)")
    assert dev.embeddings.kind == "model"
    assert dev.embeddings.method == "penultimate layer (16 units) of run 'r' best model (trial 0)"
    assert dev.embeddings.ids == [str(i) for i in digits.ids["dev"]]
    query = dev.error_ids[0]
    found, distances = find_similar(dev, query, 3)
    assert query not in found and len(found) == 3 and (np.diff(distances) >= 0).all()
    missing = r"dev example '0' \(and 9 more\) is not a row of the dataset"
    with pytest.raises(InputError, match=missing):
        model_dev_embeddings(predictions, activations.iloc[10:], "run 'r'")


def test_a_missing_model_or_another_dataset_is_refused_in_one_line(saved, tmp_path):
    other = load_dataset("classification", seed=0)
    with pytest.raises(InputError, match="reads 64 features but dataset 'classification' has 40"):
        penultimate_activations(saved, other)
    with pytest.raises(InputError, match="no saved best model"):
        penultimate_activations(tmp_path, other)


def _search_version(store, version):
    """A finished search run on the sample project's dataset, sent to diagnose."""
    project = version.project_id
    spec = resolve_dataset(store, project, PROJECT_DATASET)
    data = load_search_dataset(spec, seed=0)
    request = CaviarRequest(PROJECT_DATASET, "random", "none", 1, 1, None, 1, SearchSpace.default())
    out = store.folder / "runs" / "r1"
    out.mkdir(parents=True)
    run = store.search_runs.add(project, "caviar", "r1", "", request.to_record(), str(out))
    model = train_model(CONFIG, data, device="cpu").model
    weights = save_best_model(out, model, CONFIG, data, {"trial": 0})
    frame = predictions_frame(model, data).astype({"id": str})
    inputs = pd.read_csv(SAMPLE, usecols=["id", "split", "input"], dtype=str)
    frame.merge(inputs, on=["id", "split"], how="left").to_csv(out / PREDICTIONS_FILE, index=False)
    result = {
        "predictions": str(out / PREDICTIONS_FILE),
        "model": str(weights),
        "best": {"trial": 0},
    }
    (out / RESULT_FILE).write_text(json.dumps(result))
    send_best_to_diagnose(store, project, run, LOCAL_USER)
    version = store.versions.current(project)
    predictions = read_version(store, version.state)
    labeling.draw_sample(store, version.id, predictions, 40, seed=0, user=LOCAL_USER)
    return version


def test_a_search_version_offers_the_models_embeddings_on_the_page(data_dir, monkeypatch):
    store, first = _open(data_dir, monkeypatch, SAMPLE, 40)
    assert similar.search_model(store, first) is None  # an upload: no model
    version = _search_version(store, first)
    assert version.origin["kind"] == "search" and version.origin["trial"] == 0
    _, dev, model = similar.model_embedded(store, version)
    assert model.described == "search run 'r1' best model (trial 0)"
    assert dev.embeddings.dimensions == 16
    written = pd.read_csv(store.folder / "runs" / "r1" / PREDICTIONS_FILE)
    assert len(dev.embeddings.ids) == int((written["split"] == "dev").sum())
    at = run_page("error_analysis.py")
    at = at.segmented_control(key=f"label_panel_{version.id}").set_value("Similar").run()
    assert not at.exception
    control = at.segmented_control(key=f"similar_source_{version.id}")
    assert control.value == "model" and control.options == [
        "the search model's penultimate layer",
        "the file (embedding columns, text or images)",
    ]
    shown = texts(at)
    assert "embedding penultimate layer (16 units) of search run 'r1' best model (trial 0)" in shown
    control.set_value("file").run()
    assert "images' pixels" in texts(at)
    other = version.__class__(**{**version.__dict__, "origin": {**version.origin, "trial": 5}})
    with pytest.raises(InputError, match="only the best model \\(trial 0\\) is kept"):
        similar.search_model(store, other)
