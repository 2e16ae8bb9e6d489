"""AppTest tests of the Search page: space editor, background search, stop, panda, LR finder."""

import json
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.search.space import DEFAULT_SPACE, SearchSpace
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.search import ui as search_ui
from strategy_app.search.service import read_result
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.conftest import project_id

TIMEOUT = 60
DEADLINE_S = 120


def run_search_page() -> AppTest:
    """The Search page in a fresh session."""
    return AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=TIMEOUT).run()


def poll(at: AppTest, done, what: str) -> AppTest:
    """Re-run the page until ``done(at)`` (the fragment's polling, by hand), with a deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not done(at):
        assert not at.exception, at.exception
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {[p.value for p in at.markdown]}")
        time.sleep(0.5)
        at.run()
    return at


def texts(at: AppTest) -> str:
    """Every progress bar, success, error, caption and markdown text of the page, joined."""
    elements = [*at.success, *at.error, *at.caption, *at.markdown, *at.warning]
    bars = [p.proto.text for p in at.get("progress")]
    return "\n".join([*bars, *(str(e.value) for e in elements)])


def tiny_search(at: AppTest, pid: int, trials: int, epochs: int) -> AppTest:
    at.number_input(key=f"search_rounds_{pid}").set_value(1)
    at.number_input(key=f"search_trials_{pid}").set_value(trials)
    at.number_input(key=f"search_epochs_{pid}").set_value(epochs)
    at.selectbox(key=f"search_sampler_{pid}").set_value("random")
    at.toggle(key=f"search_prune_{pid}").set_value(False)
    return at.button(key=f"search_start_{pid}").click().run()


def test_rows_round_trip_the_default_space():
    default = SearchSpace.default()
    assert search_ui.space_of_frame(search_ui.space_frame(default)) == default
    frame = search_ui.space_frame(default)
    assert frame.set_index("parameter")["log"].to_dict()["lr"]  # log types show as log
    assert not any("STRATEGY_NOTES" in label for label in search_ui.TIERS.values())


def test_a_bad_range_in_a_row_is_an_input_error():
    rows = search_ui.space_frame(SearchSpace.default())
    rows.loc[rows.parameter == "lr", ["low", "high"]] = [0.1, 0.001]
    with pytest.raises(InputError, match="above high"):
        search_ui.space_of_frame(rows)


def test_the_space_and_the_lr_finder_result_are_saved_with_the_project(data_dir):
    pid = project_id(data_dir)
    at = run_search_page()
    at.button(key=f"lrf_{pid}_run").click().run()
    at.button(key=f"lrf_{pid}_to_space").click().run()
    assert not at.exception
    fresh = run_search_page()  # a new session (another browser, or after a restart)
    assert not fresh.exception
    assert any("Suggested learning rate" in m.label for m in fresh.metric)
    rows = fresh.session_state[f"search_space_rows_{pid}"]
    lr = rows[rows.parameter == "lr"].iloc[0]
    suggested = float(next(m for m in fresh.metric if "Suggested" in m.label).value)
    assert lr.low < suggested < lr.high
    store = open_store()
    assert store.search_state.load(pid).space["lr"]["low"] == pytest.approx(lr.low)
    store.close()


def test_page_refusals_name_the_field_not_the_flag(data_dir):
    from strategy_app.search.service import CaviarRequest, start_search

    store = open_store()
    pid = project_id(data_dir)
    request = CaviarRequest(
        dataset="digits", sampler="random", pruner="none", trials=0, epochs=1, rounds=None,
        workers=1, space=SearchSpace.default(),
    )  # fmt: skip
    with pytest.raises(InputError, match=r"^Trials per round must be at least 1$"):
        start_search(store, pid, request, user=LOCAL_USER)
    assert store.search_runs.list(pid) == []  # nothing recorded
    store.close()


def test_the_editor_shows_the_error_and_disables_start(data_dir):
    pid = project_id(data_dir)
    rows = search_ui.space_frame(SearchSpace.default())
    rows.loc[rows.parameter == "lr", ["low", "high"]] = [0.0, 0.1]
    at = AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=TIMEOUT)
    at.session_state[f"search_space_rows_{pid}"] = rows
    at.run()
    assert not at.exception
    assert any("log range must stay above 0" in e.value for e in at.error)
    assert at.button(key=f"search_start_{pid}").disabled


def test_tier_4_budget_gets_a_hint_and_grid_vs_random_is_drawn(data_dir):
    pid = project_id(data_dir)
    space = {**DEFAULT_SPACE, "dropout": {"type": "uniform", "low": 0.0, "high": 0.5, "tier": 4}}
    at = AppTest.from_file(str(PAGES_DIR / "search.py"), default_timeout=TIMEOUT)
    at.session_state[f"search_space_rows_{pid}"] = search_ui.space_frame(
        SearchSpace.from_dict(space)
    )
    at.run()
    assert any("tier-4" in w.value for w in at.warning)
    assert "Use random (or TPE), not grid" in texts(at)


def test_tiny_search_finishes_shows_the_best_and_diagnoses_it(data_dir):
    pid = project_id(data_dir)
    at = tiny_search(run_search_page(), pid, trials=2, epochs=1)
    assert not at.exception and not at.error
    poll(at, lambda a: "Best: trial" in texts(a), "the search to finish")
    assert "finished" in texts(at)
    # the built-in MLP minimises dev error like every objective; the retrained winner keeps
    # its dev and test accuracy: each number says which it is
    assert "best trial's dev error" in texts(at)
    assert "as a trial), retrained from scratch for 1 epoch: dev accuracy" in texts(at)
    assert len(at.dataframe) >= 2  # the best parameters and the trials table
    trials = next(d for d in at.dataframe if "dev" in d.value.columns)
    columns = json.loads(trials.proto.columns)
    for label in ("train", "dev", "test", "variance"):
        assert columns[label]["type_config"]["format"] == "percent"  # 22.8%, not 0.228
    assert columns["hidden_units"]["label"] == "hidden units"
    # every trial's waterfall, as search --json gives it; the dev level is what it minimised
    store = open_store()
    result = read_result(store.search_runs.list(pid)[0])
    store.close()
    table = trials.value.set_index("trial")
    for trial in result["trials"]:
        shown = table.loc[trial["number"]]
        assert shown["dev"] == pytest.approx(trial["levels"]["dev"]) == trial["value"]
        assert shown["train"] == pytest.approx(trial["levels"]["train"])
        assert shown["variance"] == pytest.approx(trial["gaps"]["variance"])
    # the history's "best so far" is the lowest dev error (the study minimises it)
    history = next(c for c in at.get("vega_lite_chart") if "Search history" in c.proto.spec)
    assert "lower is better" in history.proto.spec
    at.button(key=f"search_diagnose_{search_run_id(pid)}").click().run()
    assert not at.exception
    store = open_store()
    state = store.diagnose_state.load(pid)
    store.close()
    assert state.source == "upload" and state.upload_name.endswith("-best-predictions.csv")


def search_run_id(pid: int) -> int:
    store = open_store()
    run = store.search_runs.list(pid)[0]
    store.close()
    return run.id


def test_stop_ends_the_workers_cleanly(data_dir):
    pid = project_id(data_dir)
    at = tiny_search(run_search_page(), pid, trials=400, epochs=2)
    assert at.button(key=f"search_start_{pid}").disabled  # one search of the project at a time
    poll(at, lambda a: "Waiting for the first trial" not in texts(a), "a first trial")
    at.button(key=f"search_stop_{search_run_id(pid)}").click().run()
    poll(at, lambda a: "**stopped**" in texts(a), "the search to stop")
    store = open_store()
    run = store.search_runs.list(pid)[0]
    store.close()
    from diagnostics.search.storage import open_storage

    study = optuna.load_study(study_name=run.name, storage=open_storage(run.storage))
    states = {t.state for t in study.get_trials()}
    assert optuna.trial.TrialState.RUNNING not in states
    assert len(study.get_trials()) < 400
    assert at.button(key=f"search_resume_{run.id}")  # can be resumed
    assert not at.button(key=f"search_start_{pid}").disabled


def test_lr_finder_renders_a_suggestion_and_fills_the_panda_lr(data_dir):
    pid = project_id(data_dir)
    at = run_search_page()
    at.button(key=f"lrf_{pid}_run").click().run()
    assert not at.exception
    metric = next(m for m in at.metric if "Suggested learning rate" in m.label)
    suggested = float(metric.value)
    at.button(key=f"lrf_{pid}_to_panda").click().run()
    assert at.session_state[search_ui.panda_key(pid)] == pytest.approx(suggested, rel=0.01)
    at.button(key=f"lrf_{pid}_to_space").click().run()
    rows = at.session_state[f"search_space_rows_{pid}"]
    lr = rows[rows.parameter == "lr"].iloc[0]
    assert lr.low < suggested < lr.high


@pytest.mark.slow
def test_panda_run_trains_stops_and_continues_with_a_new_lr(data_dir):
    pid = project_id(data_dir)
    at = run_search_page()
    at.number_input(key=f"panda_{pid}_epochs").set_value(2)
    at.number_input(key=f"panda_{pid}_hidden").set_value(32)
    at.button(key=f"panda_{pid}_start").click().run()
    poll(at, lambda a: "**finished** · epoch 2/2" in texts(a), "the panda run")
    assert at.get("form")  # continue from the checkpoint
    store = open_store()
    run = store.search_runs.list(pid)[0]
    from strategy_app.search import service as search_jobs

    search_jobs.continue_panda(store, run, {**run.settings["params"], "lr": 0.001}, 1, LOCAL_USER)
    store.close()
    at.run()
    poll(at, lambda a: "**finished** · epoch 3/3" in texts(a), "the continued run")
    history = search_jobs.panda_status(run)["history"]
    assert history["changes"] == [{"epoch": 2, "changes": {"lr": [0.01, 0.001]}}]
    assert len(at.get("vega_lite_chart")) >= 1
    assert pd.DataFrame(history["epochs"])["lr"].tolist() == [0.01, 0.01, 0.001]


def test_the_space_table_ticks_log_for_log_types():
    rows = search_ui.space_frame(SearchSpace.default()).set_index("parameter")
    assert rows.loc["lr", "log"] and rows.loc["momentum", "log"] and rows.loc["hidden_units", "log"]
    assert not rows.loc["layers", "log"] and not rows.loc["batch_size", "log"]
    assert search_ui.space_of_frame(rows.reset_index()) == SearchSpace.default()


def test_tiers_are_plain_words_and_no_caption_cites_a_document_the_user_lacks(data_dir):
    for label in search_ui.TIERS.values():  # no emoji: they are empty boxes without an emoji font
        assert all(ord(char) < 0x2000 for char in label), label
    at = run_search_page()
    assert not at.exception
    assert "STRATEGY_NOTES" not in texts(at)


def test_the_panda_form_is_open_while_the_project_has_no_panda_run(data_dir):
    pid = project_id(data_dir)
    store = open_store()
    storage, out_dir = data_dir / "journal.log", data_dir / "a-search"
    store.search_runs.add(
        pid, "caviar", "a search", str(storage), {"rounds": None, "trials": 2}, str(out_dir)
    )
    store.close()
    at = run_search_page()
    assert not at.exception
    assert next(e for e in at.expander if e.label == "New panda run").proto.expanded


def test_the_mlflow_field_reaches_the_search_command_and_the_run_says_where(
    data_dir, tmp_path, monkeypatch
):
    from strategy_app.search import service as search_jobs

    launched, stand_ins = [], []
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    real_launch = search_jobs._launch

    def launch(command, out_dir):  # record the command; a stand-in process keeps it "running"
        launched.append(command)
        stand_ins.append(real_launch(sleeper, out_dir))
        return stand_ins[-1]

    monkeypatch.setattr(search_jobs, "_launch", launch)
    pid = project_id(data_dir)
    uri = f"sqlite:///{tmp_path / 'mlflow_runs.db'}"
    at = run_search_page()
    at.text_input(key=f"search_mlflow_{pid}").input(uri)
    at = tiny_search(at, pid, trials=2, epochs=1)
    try:
        assert not at.exception and not at.error
        [command] = launched
        assert settings_file(command)["mlflow"] == uri
        store = open_store()
        [run] = store.search_runs.list(pid)
        store.close()
        assert run.settings["mlflow"] == uri  # kept with the run
        assert f"Trials logged to MLflow at {escape_markdown(uri)}, experiment {run.name}" in (
            texts(at)
        )
        stop(search_jobs, stand_ins)
        store = open_store()
        search_jobs.resume_search(store, run, LOCAL_USER)  # a resumed run logs there too
        store.close()
        assert settings_file(launched[1])["mlflow"] == uri
    finally:
        stop(search_jobs, stand_ins)


def settings_file(command: list[str]) -> dict:
    """The settings file a launched ``search --settings FILE`` command reads."""
    return json.loads(Path(command[command.index("--settings") + 1]).read_text())


def stop(search_jobs, pids: list[int]) -> None:
    """End the stand-in processes a test started (by their ids)."""
    while pids:
        child = search_jobs.CHILDREN.pop(pids.pop())
        child.kill()
        child.wait()


def test_a_refused_mlflow_uri_is_one_line_and_the_form_keeps_its_values(data_dir, monkeypatch):
    from strategy_app.search import service as search_jobs

    monkeypatch.setattr(search_jobs, "_launch", lambda command, out_dir: pytest.fail("launched"))
    pid = project_id(data_dir)
    at = run_search_page()
    at.text_input(key=f"search_mlflow_{pid}").input("ftp://mlflow.example/x")
    at = tiny_search(at, pid, trials=3, epochs=1)
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("MLflow tracking URI: 'ftp://mlflow.example/x' is not one the page")
    assert "\n" not in error
    assert at.text_input(key=f"search_mlflow_{pid}").value == "ftp://mlflow.example/x"
    assert at.number_input(key=f"search_trials_{pid}").value == 3
    assert at.selectbox(key=f"search_sampler_{pid}").value == "random"
    store = open_store()
    assert store.search_runs.list(pid) == []  # nothing recorded
    store.close()
