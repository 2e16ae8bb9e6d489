"""A search run crosses to its worker as one settings file (issue 25, item 2).

The service writes the whole run (the dataset resolved to the run's own project's file, the
space, sampler, budget, objective) and the worker reads it with ``search --settings FILE``;
nothing falls back to "the project opened last".
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.search.objective import Goal
from diagnostics.search.script import CommandObjective
from diagnostics.search.settings import (
    SearchSettings,
    read_settings,
    settings_from_dict,
    settings_to_dict,
)
from diagnostics.search.space import SearchSpace
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.cli import main
from strategy_app.search import service as search_jobs
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store

SPACE = {"lr": {"type": "log_uniform", "low": 0.01, "high": 0.1}}


def features(first_id: int, rows: int = 80) -> bytes:
    """A tiny project dataset (id, split, label, two features) with ids from ``first_id``."""
    rng = np.random.default_rng(first_id)
    label = np.arange(rows) % 2
    frame = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + rows),
            "split": np.resize(["train", "train", "train_dev", "dev", "test"], rows),
            "label": label,
            "f1": label + rng.normal(0, 0.3, rows),
            "f2": rng.normal(0, 1, rows),
        }
    )
    return frame.to_csv(index=False).encode()


def test_settings_round_trip_through_one_json_object():
    settings = SearchSettings(
        dataset="csv:/data/p.csv",
        label="label",
        trials=3,
        objective=CommandObjective(("python", "t.py", "--out", "{predictions}"), 30.0),
        space=SearchSpace.from_dict({"C": {"type": "log_uniform", "low": 0.1, "high": 1}}),
        goal=Goal.parse("dev_error,time", "variance<=0.05"),
        human=("1%",),
        gpus=(0, 1),
        device="cuda",
    )
    data = json.loads(json.dumps(settings_to_dict(settings)))
    assert settings_from_dict(data) == settings
    assert settings_from_dict(settings_to_dict(SearchSettings())) == SearchSettings()
    with pytest.raises(InputError, match="unknown setting 'epoch'"):
        settings_from_dict({"epoch": 3})
    with pytest.raises(InputError, match="not a Python function"):
        settings_to_dict(SearchSettings(objective=len))


def test_a_settings_file_is_refused_in_one_line(tmp_path, capsys):
    bad = tmp_path / "settings.json"
    bad.write_text("[1, 2]")
    assert main(["search", "--settings", str(bad)]) == 2
    assert "expected a JSON object of settings" in capsys.readouterr().err
    with pytest.raises(InputError, match="no such file"):
        read_settings(tmp_path / "missing.json")


def test_dataset_project_needs_the_project_named(data_dir, capsys):
    store = open_store()
    store.projects.create("one")
    store.close()
    assert main(["search", "--dataset", "project", "--trials", "1"]) == 2
    assert "--dataset project needs --project NAME" in capsys.readouterr().err


def _wait(run, what: str, deadline_s: float = 300) -> dict:
    deadline = time.monotonic() + deadline_s
    while search_jobs.is_running(run):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    result = search_jobs.read_result(run)
    assert result is not None, search_jobs.log_tail(run, 30)
    return result


def test_a_search_trains_on_its_own_projects_rows_whoever_opened_a_project_last(data_dir):
    store = open_store()
    first, second = store.projects.create("first"), store.projects.create("second")
    store.projects.set_dataset(first.id, "first.csv", features(0))
    store.projects.set_dataset(second.id, "second.csv", features(10_000))
    store.projects.mark_opened(second.id)  # someone else opened the second project last
    assert store.projects.list()[0].id == second.id
    request = search_jobs.CaviarRequest(
        dataset="project",
        sampler="random",
        pruner="none",
        trials=1,
        epochs=1,
        rounds=None,
        workers=1,
        space=SearchSpace.from_dict(SPACE),
    )
    run = search_jobs.start_search(store, first.id, request, "mine", user=LOCAL_USER)
    result = _wait(run, "the search")
    settings = read_settings(Path(run.out_dir) / search_jobs.SETTINGS_FILE)
    assert settings.dataset == store.projects.dataset_spec(first.id)
    ids = pd.read_csv(result["predictions"])["id"]
    assert set(ids) == set(range(80))  # the first project's rows, not the second's
    store.close()


def test_after_a_dataset_upload_on_search_start_trains_on_it(data_dir, monkeypatch):
    launched, stand_ins = [], []
    real_launch = search_jobs._launch

    def launch(command, out_dir):  # keep the command; a stand-in process keeps it "running"
        launched.append(command)
        sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
        stand_ins.append(real_launch(sleeper, out_dir))
        return stand_ins[-1]

    monkeypatch.setattr(search_jobs, "_launch", launch)
    store = open_store()
    pid = store.projects.create("uploads").id
    at = AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=60).run()
    assert at.selectbox(key=f"search_dataset_{pid}").value == "digits"
    at.file_uploader(key=f"dataset_upload_{pid}").set_value(
        ("mine.csv", features(500), "text/csv")
    ).run()
    assert not at.exception and not at.error
    assert at.selectbox(key=f"search_dataset_{pid}").value == "project"
    at.number_input(key=f"search_rounds_{pid}").set_value(1)
    at.button(key=f"search_start_{pid}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [command] = launched
    settings = read_settings(command[command.index("--settings") + 1])
    assert settings.dataset == store.projects.dataset_spec(pid)
    kind, _, path = settings.dataset.partition(":")
    assert kind == "csv" and set(pd.read_csv(path)["id"]) == set(range(500, 580))
    for pid_started in stand_ins:  # end the stand-in this test started, by its id
        child = search_jobs.CHILDREN.pop(pid_started)
        child.kill()
        child.wait()
    store.close()
