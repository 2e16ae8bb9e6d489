"""The app's side of the user's objective: the admin's objectives file, a run of a configured
model from the Search page, its trials' waterfall numbers, and any trial made a version after
seeing it beside the current one."""

import json
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.search import service as search_jobs
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.objectives import models

CONFIG = """
[objectives.linear]
objective = "tests.objectives.models:logistic"
[objectives.linear.space]
C = {type = "log_uniform", low = 0.01, high = 10.0}
"""


@pytest.fixture
def configured(data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "objectives.toml").write_text(CONFIG)
    return data_dir


def _current_version(store, pid: int, tmp_path) -> None:
    """A first version: a weak model's predictions with a metadata column (``camera``)."""
    frame = models.logistic({"C": 0.0005}, None)
    frame["camera"] = ["phone" if i % 3 else "web" for i in range(len(frame))]
    path = tmp_path / "v1.csv"
    frame.to_csv(path, index=False)
    search_jobs.accept_upload(store, pid, "v1.csv", path.read_bytes(), LOCAL_USER)


def _finished(run, deadline_s: float = 300) -> dict:
    deadline = time.monotonic() + deadline_s
    while search_jobs.is_running(run):
        assert time.monotonic() < deadline, "the search did not finish"
        time.sleep(0.5)
    result = search_jobs.read_result(run)
    assert result is not None, search_jobs.log_tail(run, 30)
    return result


def test_the_objectives_file_is_the_only_code_the_server_runs(configured):
    found = search_jobs.configured_objectives()
    assert list(found) == ["linear"] and found["linear"].space.params[0].name == "C"
    with pytest.raises(InputError, match=r"no configured model 'upload' \(configured: linear\)"):
        search_jobs.configured_objective("upload")
    (configured / "objectives.toml").write_text("[objectives.x]\nspace = {}\n")
    with pytest.raises(InputError, match="give exactly one of objective"):
        search_jobs.configured_objectives()


def test_a_configured_model_searched_from_the_page_and_any_trial_becomes_a_version(
    configured, tmp_path
):
    store = open_store()
    pid = store.projects.create("mine").id
    _current_version(store, pid, tmp_path)
    at = AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=60).run()
    assert not at.exception
    at.selectbox(key=f"search_model_{pid}").set_value("linear").run()
    at.number_input(key=f"search_rounds_{pid}").set_value(1)
    at.number_input(key=f"search_trials_{pid}").set_value(3)
    at.selectbox(key=f"search_sampler_{pid}").set_value("random")
    at.button(key=f"search_start_{pid}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [run] = store.search_runs.list(pid)
    result = _finished(run)
    assert result["objective"] == "tests.objectives.models:logistic"
    at.run()
    trials = next(d for d in at.dataframe if "dev" in d.value.columns)
    assert len(trials.value) == 3 and trials.value["dev"].notna().all()
    assert "data mismatch" in trials.value.columns
    # a trial that is not the best one, beside the current version, then made current
    rows = [t for t in result["trials"] if t["predictions"]]
    pick = max(rows, key=lambda t: t["value"])["number"]
    at.selectbox(key=f"search_pick_{run.id}").set_value(pick).run()
    at.button(key=f"search_beside_{run.id}").click().run()
    assert not at.exception
    shown = "\n".join(str(e.value) for e in [*at.info, *at.warning, *at.markdown])
    assert f"Trial {pick}" in shown and "v1" in shown
    at.button(key=f"search_keep_{run.id}").click().run()
    assert not at.exception and not at.error
    current = store.versions.current(pid)
    assert current.name.startswith("v2") and f"trial {pick}" in current.name
    kept = pd.read_csv(store.uploads.path(current.state.upload_sha256))
    assert "camera" in kept and kept["camera"].notna().all()  # the metadata joined by id
    trial_rows = pd.read_parquet(next(t["predictions"] for t in rows if t["number"] == pick))
    assert kept["y_pred"].tolist() == trial_rows["y_pred"].tolist()
    store.close()


def test_a_worse_trial_is_called_worse(configured, tmp_path):
    store = open_store()
    pid = store.projects.create("mine").id
    frame = models.logistic({"C": 10.0}, None)
    frame["y_pred"] = frame["y_true"]  # a current version no trial can match
    path = tmp_path / "perfect.csv"
    frame.to_csv(path, index=False)
    search_jobs.accept_upload(store, pid, "perfect.csv", path.read_bytes(), LOCAL_USER)
    request = search_jobs.CaviarRequest(
        dataset="digits",
        sampler="random",
        pruner="none",
        trials=2,
        epochs=1,
        rounds=None,
        workers=1,
        space=search_jobs.configured_objective("linear").space,
        objective="linear",
    )
    run = search_jobs.start_search(store, pid, request, "weak", user=LOCAL_USER)
    result = _finished(run)
    number = result["best"]["trial"]
    beside = search_jobs.trial_beside_current(store, pid, run, number)
    assert beside["worse"] and beside["summary"].startswith(f"Trial {number} is WORSE than v1")
    assert json.dumps(beside)  # plain data for the page
    store.close()


def test_a_two_objective_search_draws_its_pareto_front_on_the_page(configured, tmp_path):
    store = open_store()
    pid = store.projects.create("pareto").id
    _current_version(store, pid, tmp_path)
    at = AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=60).run()
    at.selectbox(key=f"search_model_{pid}").set_value("linear").run()
    at.selectbox(key=f"search_optimize_{pid}").set_value("dev_error,time").run()
    at.number_input(key=f"search_rounds_{pid}").set_value(1)
    at.number_input(key=f"search_trials_{pid}").set_value(4)
    at.selectbox(key=f"search_sampler_{pid}").set_value("random")
    at.button(key=f"search_start_{pid}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [run] = store.search_runs.list(pid)
    result = _finished(run)
    assert result["pareto"]
    at.run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    [pareto] = [s for s in specs if s.get("title", {}).get("text") == "Pareto front"]
    assert pareto["width"] == "container"
    front = f"{len(result['pareto'])} of {result['n_complete']} completed trials"
    assert pareto["title"]["subtitle"].startswith(front)
    if result["removed"]["files"]:
        kept = f"Predictions kept for the {len(result['pareto'])} trials on the Pareto front"
        assert any(kept in c.value for c in at.caption)
    store.close()
