"""A team's servers share files: ``STRATEGY_STORAGE_URL=s3://bucket/prefix`` on the tests' S3
server, with one PostgreSQL database; each server has its own data folder (its cache)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, compute
from strategy_app.errors.service import accept_images_zip, images_here
from strategy_app.store import open_store
from strategy_app.store.objects import ObjectStorage
from strategy_app.versions.service import version_file
from tests.conftest import write_predictions
from tests.s3 import BUCKET, LOCKED, S3Server, start_s3

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def s3() -> S3Server:
    """The tests' S3 server (one for the module)."""
    with start_s3() as server:
        yield server


@pytest.fixture
def team(s3, monkeypatch, postgres_url, tmp_path):
    """The reader's keys, the shared storage under a fresh prefix, and one database."""
    s3.use(monkeypatch, s3.reader)
    prefix = f"s3://{BUCKET}/{tmp_path.name}"
    monkeypatch.setenv("STRATEGY_STORAGE_URL", prefix)
    monkeypatch.setenv("STRATEGY_DB_URL", postgres_url)
    return prefix


def _keys(s3: S3Server, prefix: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix.split(f"{BUCKET}/")[1])
    return sorted(
        item["Key"].rsplit("/", 2)[-2] + "/" + item["Key"].rsplit("/", 1)[-1]
        for item in listed.get("Contents", [])
    )


def _images_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in ("dev_00001.png", "dev_00002.png"):
            png = io.BytesIO()
            Image.new("RGB", (8, 8), (200, 10, 10)).save(png, format="PNG")
            archive.writestr(f"images/{name}", png.getvalue())
    return out.getvalue()


def test_an_upload_on_one_server_is_a_version_on_another(team, s3, tmp_path):
    data = write_predictions(tmp_path / "predictions.csv").read_bytes()
    first = open_store(folder=tmp_path / "server-a")
    project = first.projects.create("shared")
    state = accept_upload(first, project.id, "predictions.csv", data, LOCAL_USER)
    digest = state.upload_sha256
    assert f"uploads/{digest}" in _keys(s3, team)
    second = open_store(folder=tmp_path / "server-b")
    assert not (tmp_path / "server-b" / "uploads" / digest).exists()
    (version,) = second.versions.list(project.id)
    path = version_file(second, version.state)
    assert path == tmp_path / "server-b" / "uploads" / digest and path.read_bytes() == data
    assert compute(second, version.state).diagnosis == compute(first, state).diagnosis
    count = accept_images_zip(first, project.id, "images.zip", _images_zip(), LOCAL_USER)
    root = first.labels.snapshot(version.id).images_root
    shutil.rmtree(tmp_path / "server-a" / "images")  # server B cannot see server A's disk
    here = images_here(second, second.labels.snapshot(version.id).images_root)
    assert count == 2 and here != root and Path(here).is_dir()
    assert sorted(p.name for p in Path(here).rglob("*.png")) == ["dev_00001.png", "dev_00002.png"]
    first.versions.delete(version.id)
    assert first.uploads.prune() == 1
    assert f"uploads/{digest}" not in _keys(s3, team)


def test_a_bucket_the_server_may_not_write_saves_nothing(team, s3, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_STORAGE_URL", f"s3://{LOCKED}/team")
    store = open_store(folder=tmp_path / "server")
    project = store.projects.create("locked")
    data = write_predictions(tmp_path / "predictions.csv").read_bytes()
    with pytest.raises(InputError) as refused:
        accept_upload(store, project.id, "predictions.csv", data, LOCAL_USER)
    message = str(refused.value)
    assert "access denied" in message and f"s3://{LOCKED}/team/uploads/" in message
    assert s3.reader.secret_key not in message and "\n" not in message
    assert store.versions.list(project.id) == []
    assert list((tmp_path / "server" / "uploads").iterdir()) == []


def test_the_storage_url_must_be_object_storage():
    with pytest.raises(InputError, match="STRATEGY_STORAGE_URL: '/srv/files' is not object"):
        ObjectStorage("/srv/files")


SERVER = """
import json, sys
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload, compute
from strategy_app.store import open_store
store = open_store()
if sys.argv[1] == "upload":
    project = store.projects.create("team")
    data = open(sys.argv[2], "rb").read()
    accept_upload(store, project.id, "predictions.csv", data, LOCAL_USER)
    print(json.dumps({"project": project.id}))
else:
    project = store.projects.list()[0]
    version = store.versions.current(project.id)
    levels = compute(store, version.state).diagnosis.levels
    print(json.dumps({"version": version.name, "levels": levels}))
"""


def app_process(script: str, folder: Path, *argv: str, objectives: Path | None = None) -> dict:
    """Run ``script`` as an app server with its own data folder ``folder`` (the database and
    the bucket from this process's variables); the JSON object it printed last."""
    environment = {**os.environ, "STRATEGY_DATA_DIR": str(folder)}
    if objectives is not None:
        environment["STRATEGY_OBJECTIVES"] = str(objectives)
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # two interpreters with the app's imports
def test_two_app_processes_share_one_database_and_one_bucket(team, tmp_path):
    source = write_predictions(tmp_path / "predictions.csv")

    app_process(SERVER, tmp_path / "server-a", "upload", str(source))
    seen = app_process(SERVER, tmp_path / "server-b", "read")
    assert seen["version"] == "v1 · predictions.csv"
    assert seen["levels"]["dev"] is not None
    assert len(list((tmp_path / "server-b" / "uploads").iterdir())) == 1


SEARCH_SERVER = """
import json, sys, time
import pandas as pd
from strategy_app.auth import LOCAL_USER
from strategy_app.search import service as jobs
from strategy_app.store import open_store
store = open_store()
if sys.argv[1] == "search":
    pid = store.projects.create("team").id
    jobs.accept_upload(store, pid, "v1.csv", open(sys.argv[2], "rb").read(), LOCAL_USER)
    request = jobs.CaviarRequest(
        dataset="digits", sampler="random", pruner="none", trials=3, epochs=1, rounds=None,
        workers=1, space=jobs.configured_objective("linear").space, objective="linear",
    )
    run = jobs.start_search(store, pid, request, "shared", user=LOCAL_USER)
    deadline = time.monotonic() + 200
    while jobs.is_running(run) and time.monotonic() < deadline:
        time.sleep(0.5)
    print(json.dumps({"result": jobs.read_result(run), "out_dir": run.out_dir}))
else:
    project = store.projects.list()[0]
    [run] = store.search_runs.list(project.id)
    trial = int(sys.argv[2])
    status = jobs.search_status(run)
    name = jobs.trial_to_version(store, project.id, run, trial, LOCAL_USER)
    kept = pd.read_csv(store.uploads.path(store.versions.current(project.id).state.upload_sha256))
    jobs.send_best_to_diagnose(store, project.id, run, LOCAL_USER)
    print(json.dumps({
        "state": status["state"], "result": status["result"], "log": jobs.log_tail(run, 50),
        "trials": len(jobs.scored_trials(run)), "trial_y_pred": kept["y_pred"].tolist(),
        "versions": [v.name for v in store.versions.list(project.id)],
    }))
"""


@pytest.mark.slow  # two app processes and a search's
def test_a_search_run_on_one_server_is_shown_and_kept_on_another(team, s3, tmp_path):
    import pandas as pd

    from tests.objectives import models

    objectives = tmp_path / "objectives.toml"
    objectives.write_text(
        '[objectives.linear]\nobjective = "tests.objectives.models:logistic"\n'
        '[objectives.linear.space]\nC = {type = "log_uniform", low = 0.01, high = 10.0}\n'
    )
    first = models.logistic({"C": 0.0005}, None)
    first["camera"] = ["phone" if i % 3 else "web" for i in range(len(first))]
    first.to_csv(tmp_path / "v1.csv", index=False)

    def server(name: str, *argv: str) -> dict:
        return app_process(SEARCH_SERVER, tmp_path / name, *argv, objectives=objectives)

    started = server("server-a", "search", str(tmp_path / "v1.csv"))
    result = started["result"]
    assert result is not None and len(result["trials"]) == 3
    kept = [t for t in result["trials"] if t["predictions"]]
    pick = min(kept, key=lambda t: t["number"])["number"]
    trial_file = next(Path(t["predictions"]) for t in kept if t["number"] == pick)
    expected = pd.read_parquet(trial_file)["y_pred"].tolist()
    keys = _keys(s3, f"{team}/search/project-1/shared/")
    assert "shared/result.json" in keys and "shared/log.txt" in keys
    shutil.rmtree(tmp_path / "server-a")  # server B cannot see server A's disk
    seen = server("server-b", "keep", str(pick))
    assert seen["state"] == "finished" and seen["result"] == result
    assert seen["trials"] == 3 and "round 1" in seen["log"]
    assert seen["trial_y_pred"] == expected
    assert seen["versions"] == [
        "v3 · search shared best",
        f"v2 · search shared trial {pick}",
        "v1 · v1.csv",
    ]
    fetched = tmp_path / "server-b" / "search" / "project-1" / "shared"
    assert (fetched / "result.json").is_file() and (fetched / "log.txt").is_file()


def test_a_run_folder_written_again_is_fetched_again(team, tmp_path, monkeypatch, capsys):
    import time

    from strategy_app.search.shared import run_file, run_folder_name, share_run_folder
    from strategy_app.store.search_runs import SearchRun

    folder = tmp_path / "server-a"
    out_dir = folder / run_folder_name(1, "run")
    (out_dir / "trials").mkdir(parents=True)
    (out_dir / "trials" / "predictions.csv").write_text("id,y_pred\n1,2\n")
    assert share_run_folder(out_dir, folder, {"round": 1})
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "server-b"))
    run = SearchRun(1, 1, "caviar", "run", "", {}, str(out_dir), None)
    shutil.rmtree(folder)
    copy = run_file(run, out_dir / "trials" / "predictions.csv")
    assert copy == tmp_path / "server-b" / "search/project-1/run/trials/predictions.csv"
    assert copy.read_text() == "id,y_pred\n1,2\n"
    assert json.loads(run_file(run, "result.json").read_text()) == {"round": 1}
    time.sleep(1.1)  # object storage keeps times to the second
    out_dir.mkdir(parents=True)
    assert share_run_folder(out_dir, folder, {"round": 2})  # resumed and finished again
    assert json.loads(run_file(run, "result.json").read_text()) == {"round": 2}
    assert not run_file(run, "missing.txt").exists()
    monkeypatch.setenv("STRATEGY_STORAGE_URL", f"s3://{LOCKED}/team")
    assert not share_run_folder(out_dir, folder, {"round": 3})
    err = capsys.readouterr().err
    assert "not shared with the team's servers" in err and "access denied" in err
    assert err.count("\n") == 1


def test_a_run_started_on_another_server_is_not_called_failed(team, tmp_path, monkeypatch):
    from strategy_app.search import service
    from strategy_app.store.search_runs import SearchRun

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    elsewhere = str(tmp_path / "server-a" / "search" / "project-1" / "running")
    for kind, status in (("caviar", service.search_status), ("panda", service.panda_status)):
        settings = {"trials": 4, "rounds": 1, "epochs": 3}
        run = SearchRun(1, 1, kind, "running", storage, settings, elsewhere, 4242)
        assert status(run)["state"] == service.ELSEWHERE  # its folder is on server A
        monkeypatch.delenv("STRATEGY_STORAGE_URL")  # one server: a run without its folder
        assert status(run)["state"] in ("failed", "stopped")
        monkeypatch.setenv("STRATEGY_STORAGE_URL", team)


def test_a_model_trained_on_another_server_shows_its_curves_here(team, tmp_path, monkeypatch):
    from diagnostics.search.panda import HISTORY_FILE
    from strategy_app.search import service
    from strategy_app.search.shared import run_folder_name, share_run_folder
    from strategy_app.store.search_runs import SearchRun

    folder = tmp_path / "server-a"
    out_dir = folder / run_folder_name(1, "panda")
    out_dir.mkdir(parents=True)
    history = {
        "config": {"epochs": 2},
        "epochs": [{"epoch": 1, "dev_accuracy": 0.8}, {"epoch": 2, "dev_accuracy": 0.9}],
        "changes": [],
    }
    (out_dir / HISTORY_FILE).write_text(json.dumps(history))
    assert share_run_folder(out_dir, folder, history)  # as the panda process does at its end
    shutil.rmtree(folder)
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "server-b"))
    run = SearchRun(1, 1, "panda", "panda", "", {"epochs": 2, "params": {}}, str(out_dir), 7)
    status = service.panda_status(run)
    assert status["state"] == "finished" and status["history"] == history
    with pytest.raises(InputError, match="trained on another server of the team"):
        service.continue_panda(None, run, {}, 3, LOCAL_USER)
