"""MLflow runs as predictions sources: ``diagnose mlflow:runs:/RUN_ID/path`` on a real local
tracking store (SQLite), with the artifact in a local folder or in the tests' S3 bucket."""

from __future__ import annotations

import json

import pytest

from diagnostics import api
from diagnostics.mlflow_source import parse_runs_uri, resolve_run_artifact
from diagnostics.validation import InputError
from strategy_app.cli import main
from tests.conftest import write_predictions
from tests.s3 import BUCKET, S3Server, start_s3

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow  # importing MLflow and creating its database take seconds


@pytest.fixture(scope="module")
def s3() -> S3Server:
    """The tests' S3 server (one for the module)."""
    with start_s3() as server:
        yield server


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A local MLflow tracking store (SQLite) as MLFLOW_TRACKING_URI, and its client."""
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact folder is relative to it
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return mlflow.MlflowClient(uri)


def _run(client, artifacts: str) -> str:
    experiment = client.create_experiment(f"eval-{abs(hash(artifacts))}", artifacts)
    run = client.create_run(experiment)
    return str(run.info.run_id)


def test_a_logged_artifact_diagnoses_as_its_file(tracking, tmp_path, capsys):
    predictions = write_predictions(tmp_path / "predictions.csv")
    run_id = _run(tracking, (tmp_path / "artifacts").as_uri())
    tracking.log_artifact(run_id, str(predictions), "eval")
    location = f"mlflow:runs:/{run_id}/eval/predictions.csv"
    artifact = resolve_run_artifact(location)
    assert artifact.run_id == run_id and artifact.name == "predictions.csv"
    assert main(["diagnose", str(predictions), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["diagnose", location, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert api.diagnose(location).to_dict() == expected


def test_an_artifact_in_object_storage_is_read_in_place(tracking, s3, monkeypatch, tmp_path):
    s3.use(monkeypatch, s3.reader)
    run_id = _run(tracking, f"s3://{BUCKET}/mlflow")
    root = tracking.get_run(run_id).info.artifact_uri
    predictions = write_predictions(tmp_path / "predictions.csv")
    s3.put(f"{root.removeprefix(f's3://{BUCKET}/')}/predictions.csv", predictions)
    location = f"mlflow:runs:/{run_id}/predictions.csv"
    assert resolve_run_artifact(location).source == f"{root}/predictions.csv"
    assert api.diagnose(location).to_dict() == api.diagnose(predictions).to_dict()


def test_a_missing_run_or_artifact_is_one_line(tracking, tmp_path, capsys):
    run_id = _run(tracking, (tmp_path / "artifacts").as_uri())
    tracking.log_artifact(run_id, str(write_predictions(tmp_path / "predictions.csv")), "eval")
    cases = {
        "mlflow:runs:/0123456789abcdef/eval/predictions.csv": "no MLflow run '0123456789abcdef'",
        f"mlflow:runs:/{run_id}/eval/other.csv": "has no artifact file 'eval/other.csv'; "
        "its artifacts there: eval/predictions.csv",
        f"mlflow:runs:/{run_id}/eval": "has no artifact file 'eval'",
        "mlflow:models:/m/1": "an MLflow location is mlflow:runs:/RUN_ID/PATH",
    }
    for location, expected in cases.items():
        assert main(["diagnose", location]) == 2
        message = capsys.readouterr().err.strip()
        assert expected in message and "\n" not in message, message
    with pytest.raises(InputError, match="RUN_ID/PATH"):
        parse_runs_uri("mlflow:runs:/only-a-run")


def test_a_tracking_store_that_cannot_be_opened_is_one_line(tmp_path, monkeypatch, capsys):
    # MLflow opens the store when the client is made; its backend's own error (here a SQLite
    # folder that is a file) was a traceback
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}")
    assert main(["diagnose", "mlflow:runs:/0123456789abcdef/eval/predictions.csv"]) == 2
    message = capsys.readouterr().err.strip()
    assert "the MLflow tracking store could not be opened" in message, message
    assert "\n" not in message and "Traceback" not in message


def test_an_mlflow_run_becomes_a_version_that_records_its_run(tracking, data_dir, tmp_path):
    from strategy_app.auth import LOCAL_USER
    from strategy_app.diagnose.service import accept_location
    from strategy_app.store import open_store

    run_id = _run(tracking, (tmp_path / "artifacts").as_uri())
    tracking.log_artifact(run_id, str(write_predictions(tmp_path / "predictions.csv")), "eval")
    store = open_store()
    project = store.projects.create("tracked")
    location = f"mlflow:runs:/{run_id}/eval/predictions.csv"
    with pytest.raises(InputError, match="no MLflow run 'nope'"):
        accept_location(store, project.id, "mlflow:runs:/nope/eval/predictions.csv", LOCAL_USER)
    assert store.versions.list(project.id) == []
    state = accept_location(store, project.id, location, LOCAL_USER)
    (version,) = store.versions.list(project.id)
    assert version.origin == {"kind": "location", "location": location, "run_id": run_id}
    assert state.upload_name == "predictions.csv" and version.name == "v1 · predictions.csv"
    with pytest.raises(InputError, match="is not a location the app reads"):
        accept_location(store, project.id, str(tmp_path / "predictions.csv"), LOCAL_USER)


def test_a_searchs_best_predictions_are_its_best_runs_artifact(
    tracking, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = ["search", "--sampler", "random", "--pruner", "none", "--epochs", "1", "--json"]
    assert main([*argv, "--trials", "2", "--study", "logged", "--mlflow", uri]) == 0
    result = json.loads(capsys.readouterr().out)
    location = result["mlflow_predictions"]
    run = tracking.get_run(location.split("/")[1])
    assert run.data.tags["optuna.trial_number"] == str(result["best"]["trial"])
    assert location.endswith("/predictions.csv")
    assert run.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())  # by the db
    assert api.diagnose(location).to_dict() == api.diagnose(result["predictions"]).to_dict()
