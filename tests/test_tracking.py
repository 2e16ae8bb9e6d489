"""Searches where ML people already look: MLflow (``search --mlflow``, the Search page's field)
and optuna-dashboard."""

import json
import sys

import pytest

from diagnostics.search.space import SearchSpace
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.cli import main
from strategy_app.search.service import (
    CHILDREN,
    ROOT,
    CaviarRequest,
    log_tail,
    mlflow_target,
    search_status,
    shown_uri,
    start_search,
    tracking_uri,
)
from strategy_app.store import open_store

SEARCH = ["search", "--sampler", "random", "--pruner", "none", "--epochs", "2", "--json"]


def _search(capsys, *argv: str) -> dict:
    code = main([*SEARCH, *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _runs(client, experiment: str) -> dict[int, object]:
    """The experiment's runs by trial number (each run is tagged with its trial's number)."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return {int(run.data.tags["optuna.trial_number"]): run for run in runs}


@pytest.mark.slow  # importing MLflow and creating its database take seconds
def test_every_trial_is_an_mlflow_run_with_params_curves_and_final_value(
    tmp_path, monkeypatch, capsys
):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _search(capsys, "--trials", "3", "--study", "tracked", "--mlflow", uri)
    client = mlflow.MlflowClient(uri)
    runs = _runs(client, "tracked")
    trials = {t["number"]: t for t in result["trials"]}
    assert sorted(runs) == sorted(trials) == [0, 1, 2]
    for number, run in runs.items():
        trial = trials[number]
        assert run.info.status == "FINISHED" and run.data.tags["optuna.state"] == "COMPLETE"
        assert run.info.run_name == f"trial {number}"
        assert run.data.params == {k: str(v) for k, v in trial["params"].items()}
        # the study minimises dev error; final_dev_accuracy keeps its meaning (1 − dev error)
        assert run.data.metrics["final_value"] == pytest.approx(trial["value"])
        assert run.data.metrics["final_dev_accuracy"] == pytest.approx(1 - trial["value"])
        curve = client.get_metric_history(run.info.run_id, "dev_accuracy")
        assert [m.step for m in sorted(curve, key=lambda m: m.step)] == [1, 2]
        assert max(curve, key=lambda m: m.step).value == pytest.approx(1 - trial["value"])
        errors = client.get_metric_history(run.info.run_id, "dev_error")
        assert max(errors, key=lambda m: m.step).value == pytest.approx(trial["value"])
        assert {"dev_loss", "train_loss", "train_accuracy"} <= set(run.data.metrics)
    # the same study, extended by 2 trials, logs them to the same experiment
    _search(capsys, "--trials", "3", "--add-trials", "2", "--study", "tracked", "--mlflow", uri)
    assert sorted(_runs(client, "tracked")) == [0, 1, 2, 3, 4]


@pytest.mark.slow
def test_worker_processes_log_their_own_trials(tmp_path, monkeypatch, capsys):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _search(capsys, "--trials", "4", "--workers", "2", "--study", "pair", "--mlflow", uri)
    # two workers may both start a trial past the plan: every trial the study holds is logged
    logged = _runs(mlflow.MlflowClient(uri), "pair")
    assert sorted(logged) == sorted(t["number"] for t in result["trials"])
    assert len(logged) >= 4


def test_without_the_tracking_extra_mlflow_is_refused_before_the_search(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as in an install without [tracking]
    code = main([*SEARCH, "--trials", "1", "--mlflow", f"sqlite:///{tmp_path / 'm.db'}"])
    err = capsys.readouterr().err
    assert code == 2 and "strategy-desk[tracking]" in err and err.count("\n") == 1
    assert not (tmp_path / "data").exists()  # nothing started
    code = main([*SEARCH, "--join", "--study", "s", "--mlflow", "sqlite:///x.db"])
    assert code == 2 and "--join" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_optuna_dashboard_opens_a_study_the_desk_made(tmp_path, monkeypatch, capsys, kind):
    optuna_dashboard = pytest.importorskip("optuna_dashboard")
    from werkzeug.test import Client

    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = _search(
        capsys, "--trials", "2", "--study", "seen", *(["--storage", url] * (kind == "sqlite"))
    )
    # what `optuna-dashboard FILE_OR_URL` serves: the journal file or URL as the desk wrote it
    spec = str(tmp_path / "data" / "optuna-journal.log") if kind == "journal" else url
    client = Client(optuna_dashboard.wsgi(spec))
    listed = client.get("/api/studies")
    assert listed.status_code == 200
    studies = {s["study_name"]: s for s in listed.get_json()["study_summaries"]}
    assert list(studies) == ["seen"]
    detail = client.get(f"/api/studies/{studies['seen']['study_id']}?after=0")
    assert detail.status_code == 200
    trials = detail.get_json()["trials"]
    assert [t["number"] for t in trials] == [t["number"] for t in result["trials"]] == [0, 1]
    assert [t["values"] for t in trials] == [[t["value"]] for t in result["trials"]]
    assert {t["state"] for t in trials} == {"Complete"}
    page = client.get(f"/dashboard/studies/{studies['seen']['study_id']}")
    assert page.status_code == 200 and b"Optuna Dashboard" in page.data


# ---------------------------------------------------------------- the Search page's field


def _request(uri: str | None) -> CaviarRequest:
    return CaviarRequest(
        dataset="digits", sampler="random", pruner="none", trials=2, epochs=1, rounds=None,
        workers=1, space=SearchSpace.default(), mlflow=uri,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("given", "taken"),
    [
        ("", None),
        ("  ", None),
        ("sqlite:////tmp/m.db", "sqlite:////tmp/m.db"),
        ("sqlite:///data/m.db", f"sqlite:///{ROOT / 'data' / 'm.db'}"),  # where searches run
        ("http://mlflow:5000", "http://mlflow:5000"),
        ("https://mlflow.example", "https://mlflow.example"),
        ("postgresql+psycopg://u:pw@db/mlflow", "postgresql+psycopg://u:pw@db/mlflow"),
    ],
)
def test_the_page_takes_database_and_server_uris(given, taken):
    pytest.importorskip("mlflow")
    assert tracking_uri(given) == taken


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("ftp://x", "'ftp://x' is not one the page takes"),
        ("mysql://db/x", "'mysql://db/x' is not one the page takes"),
        ("sqlite://", "'sqlite://' names no database file"),
        ("http:/mlflow", "names no server"),
        ("postgresql://u:secret@/x", "'postgresql://u:***@/x' names no server"),
        ("mlruns", "no trials in a folder (mlruns) unless MLFLOW_ALLOW_FILE_STORE=true"),
        ("file:///tmp/mlruns", "no trials in a folder (file:///tmp/mlruns)"),
    ],
)
def test_the_page_refuses_other_uris_in_one_line(monkeypatch, given, says):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    with pytest.raises(InputError) as refused:
        tracking_uri(given)
    assert str(refused.value).startswith("MLflow tracking URI: ") and says in str(refused.value)
    assert "\n" not in str(refused.value) and "secret" not in str(refused.value)


def test_a_folder_where_mlflow_allows_folder_stores_is_made_absolute(monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    assert tracking_uri("mlruns") == str(ROOT / "mlruns")
    assert tracking_uri("file:///tmp/mlruns") == "file:///tmp/mlruns"


def test_the_page_shows_no_password_of_a_tracking_uri():
    assert shown_uri("postgresql://me:pw@db:5432/mlflow") == "postgresql://me:***@db:5432/mlflow"
    assert shown_uri("sqlite:////tmp/m.db") == "sqlite:////tmp/m.db"


def test_without_the_tracking_extra_the_page_refuses_before_recording(data_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as in an install without [tracking]
    store = open_store()
    pid = store.projects.create("model").id
    with pytest.raises(InputError, match=r"^MLflow tracking URI: .*strategy-desk\[tracking\]'$"):
        start_search(store, pid, _request("sqlite:////tmp/m.db"), user=LOCAL_USER)
    assert store.search_runs.list(pid) == []
    store.close()


@pytest.mark.slow  # a search process, MLflow's import and its database: several seconds
def test_a_search_the_page_starts_logs_its_trials_to_mlflow(data_dir, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    store = open_store()
    pid = store.projects.create("model").id
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run = start_search(store, pid, _request(uri), "tracked", user=LOCAL_USER)
    CHILDREN[run.pid].wait(timeout=180)
    status = search_status(run)
    assert status["state"] == "finished", log_tail(run)
    runs = _runs(mlflow.MlflowClient(uri), "tracked")
    assert sorted(runs) == [t["number"] for t in status["result"]["trials"]] == [0, 1]
    assert all(logged.data.metrics["final_dev_accuracy"] > 0 for logged in runs.values())
    assert mlflow_target(store.search_runs.get(run.id)) == (uri, ["tracked"])
    store.close()


@pytest.mark.slow
def test_every_trial_of_a_user_objective_logs_its_predictions_as_an_artifact(
    tmp_path, monkeypatch, capsys
):
    mlflow = pytest.importorskip("mlflow")
    from diagnostics import api
    from tests.objectives import models

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # where diagnose looks for the runs
    space = {"C": {"type": "log_uniform", "low": 0.01, "high": 10.0}}
    result = api.run_search(
        models.logistic,
        space=space,
        data_dir=tmp_path / "data",
        trials=3,
        study="kept",
        sampler="random",
        pruner="none",
        mlflow=uri,
    )
    runs = _runs(mlflow.MlflowClient(uri), "kept")
    trials = {t["number"]: t for t in result["trials"]}
    assert sorted(runs) == sorted(trials) == [0, 1, 2]
    for number, run in runs.items():
        artifacts = [a.path for a in mlflow.MlflowClient(uri).list_artifacts(run.info.run_id)]
        assert artifacts == ["predictions.parquet"]
        # diagnose reads the logged file: the trial's own waterfall, to the number
        location = f"mlflow:runs:/{run.info.run_id}/predictions.parquet"
        diagnosis = api.diagnose(location).to_dict()
        assert diagnosis["levels"] == trials[number]["levels"]
        assert main(["diagnose", location, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["levels"] == trials[number]["levels"]
