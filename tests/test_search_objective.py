"""The search over the user's own code (issue 26): real objectives through every door.

scikit-learn and torch models train for real; every trial is scored by the waterfall
(the code Diagnose runs) and bad objectives fail their trial with one line.
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from diagnostics import run_search
from diagnostics.api import diagnose
from diagnostics.search import scored
from diagnostics.search import study as studies
from diagnostics.search.objective import Goal, TrialContext, TrialFailure, score_predictions
from diagnostics.search.result import RESULT_ATTR, trial_result
from diagnostics.search.rounds import join_study
from diagnostics.search.scored import place_device
from diagnostics.search.script import CommandObjective
from diagnostics.search.storage import JOURNAL_NAME, open_storage
from diagnostics.validation import InputError
from strategy_app.cli import main
from tests.objectives import models

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "objectives" / "train_script.py"
C_SPACE = {"C": {"type": "log_uniform", "low": 0.01, "high": 10.0}}
QUIET = {"sampler": "random", "pruner": "none", "seed": 0}


def _search(tmp_path, objective, space=C_SPACE, **settings):
    return run_search(objective, space=space, data_dir=tmp_path, **{**QUIET, **settings})


def test_a_scikit_learn_model_with_its_own_parameter_is_scored_by_the_waterfall(tmp_path):
    result = _search(tmp_path, models.logistic, trials=4, study="logreg")
    assert result["objective"] == "tests.objectives.models:logistic"
    assert result["n_complete"] == 4 and result["n_failed"] == 0
    best = result["best"]
    assert best["value"] == best["dev_error"] == min(t["value"] for t in result["trials"])
    assert best["dev_accuracy"] == pytest.approx(1 - best["dev_error"])
    # the search's predictions are the best trial's, and Diagnose reads the same numbers
    diagnosis = diagnose(result["predictions"]).to_dict()
    assert diagnosis["levels"] == best["levels"]
    assert diagnosis["gaps"] == best["gaps"]
    trial = result["trials"][0]
    assert set(trial["gaps"]) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfitting"}
    assert trial["gap_intervals"]["variance"] is not None and trial["error"] is None


def test_a_regression_objective_minimises_mae(tmp_path):
    space = {"alpha": {"type": "log_uniform", "low": 1e-3, "high": 100.0}}
    result = _search(tmp_path, models.ridge, space=space, trials=4, metric="mae")
    assert result["metric"] == "mae" and result["best"]["dev_accuracy"] is None
    frame = pd.read_csv(result["predictions"])
    dev = frame[frame["split"] == "dev"]
    assert result["best"]["dev_error"] == pytest.approx((dev.y_true - dev.y_pred).abs().mean())
    assert result["best"]["dev_error"] == min(t["value"] for t in result["trials"])


def test_failing_trials_say_which_and_what_and_the_study_goes_on(tmp_path):
    space = {"unused": {"type": "int", "low": 0, "high": 9}}
    result = _search(tmp_path, models.faulty, space=space, trials=7, study="faults")
    assert result["n_complete"] == 2 and result["n_failed"] == 5  # trials 1-5 failed
    errors = {models.FAULTS[t["number"]]: t["error"] for t in result["trials"] if t["number"] < 6}
    number = {mode: i for i, mode in enumerate(models.FAULTS)}
    assert errors["ok"] is None
    assert errors["raise"] == (
        f"trial {number['raise']}: RuntimeError: CUDA out of memory (pretend)"
    )
    assert "returned list, not predictions" in errors["shape"]
    assert "1 y_pred value(s) are NaN or empty (first at row 5)" in errors["nan"]
    assert "unknown split 'validation-2'" in errors["split"]
    assert "lack the column(s) y_true" in errors["columns"]
    assert all("\n" not in e for e in errors.values() if e)
    error_file = Path(result["out_dir"]) / "trials" / "faults-1" / "error.txt"
    assert "Traceback" in error_file.read_text() and "RuntimeError" in error_file.read_text()


def test_ids_the_project_lacks_fail_the_trial(tmp_path):
    dataset = models.digits_dataset(str(tmp_path / "project.csv"))
    space = {"mode": {"type": "choice", "choices": ["ok", "ids"]}}
    result = _search(
        tmp_path, models.faulty, space=space, sampler="grid", trials=2, dataset=f"csv:{dataset}"
    )
    errors = {t["params"]["mode"]: t["error"] for t in result["trials"]}
    assert errors["ok"] is None
    assert "1797 id(s) are not in the project's dataset (first: '100000')" in errors["ids"]


def test_a_search_whose_first_trials_all_fail_stops_with_one_message(tmp_path):
    with pytest.raises(InputError) as raised:
        _search(tmp_path, models.always_fails, trials=20, study="broken")
    message = str(raised.value)
    assert message.startswith("search stopped: its first 3 trials all failed; trial 0: KeyError")
    storage = open_storage(str(tmp_path / "optuna-journal.log"))
    study = optuna.load_study(study_name="broken", storage=storage)
    assert len(study.get_trials()) == 3  # the budget was not burnt


def test_an_objective_that_cannot_be_imported_is_refused_before_any_trial(tmp_path):
    with pytest.raises(InputError, match="cannot import no_such_module"):
        _search(tmp_path, "no_such_module:objective", trials=2)
    with pytest.raises(InputError, match="has no function 'nothing'"):
        _search(tmp_path, "tests.objectives.models:nothing", trials=2)


def test_a_constraint_on_a_gap_keeps_the_best_feasible_trial(tmp_path):
    result = _search(
        tmp_path,
        models.logistic,
        trials=5,
        sampler="tpe",
        constraint="variance<=0.5",
    )
    assert result["goal"] == {"targets": ["dev_error"], "constraint": ["variance", 0.5]}
    assert all(t["feasible"] for t in result["trials"] if t["state"] == "complete")
    with pytest.raises(InputError, match=r"no trial of study .* met variance<=-1"):
        _search(tmp_path, models.logistic, trials=3, constraint="variance<=-1", study="strict")


def test_two_objectives_give_a_pareto_front(tmp_path):
    result = _search(
        tmp_path, models.logistic, trials=6, optimize="dev_error,variance", sampler="nsga2"
    )
    front = result["pareto"]
    assert front and result["best"]["trial"] in front
    points = {t["number"]: t["values"] for t in result["trials"]}
    for number in front:  # nothing on the front is dominated by another trial
        a = points[number]
        assert not any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in points.values())
    assert result["trials"][0]["values"][1] == result["trials"][0]["gaps"]["variance"]


def test_only_the_top_trials_keep_their_predictions(tmp_path):
    result = _search(tmp_path, models.logistic, trials=5, keep=2)
    kept = [t for t in result["trials"] if t["predictions"]]
    assert len(kept) == 2 and result["removed"]["files"] == 3
    assert result["removed"]["bytes"] > 0
    assert {t["number"] for t in kept} == {f["trial"] for f in result["finalists"]}


def test_the_goal_is_parsed_and_refused_in_the_callers_words():
    assert Goal.parse("dev_error,time").targets == ("dev_error", "time")
    assert Goal.parse("dev_error", "data_mismatch<=2%").constraint == ("data_mismatch", 0.02)
    for bad, message in [
        ("accuracy", "unknown target 'accuracy'"),
        ("time", "pair it with dev_error"),
        ("dev_error,variance,time", "one target or two"),
    ]:
        with pytest.raises(InputError, match=message):
            Goal.parse(bad)
    with pytest.raises(InputError, match="write GAP<=VALUE"):
        Goal.parse("dev_error", "bias<0.1")


def test_scoring_a_trial_is_the_waterfall_of_diagnose():
    frame = models.logistic({"C": 0.5}, None)
    score = score_predictions(frame, human=["1%"])
    full = diagnose(frame, human="1%").to_dict()
    assert score["levels"] == full["levels"] and score["gaps"] == full["gaps"]
    assert score["gap_intervals"] == full["gap_intervals"]
    with pytest.raises(TrialFailure, match="no dev predictions"):
        score_predictions(frame[frame["split"] != "dev"])


def test_context_refuses_a_non_finite_report(tmp_path):
    context = TrialContext(number=3, params={}, scratch=tmp_path)
    context.report(0.25, 1)
    assert context.history == [{"step": 1, "dev_error": 0.25}] and not context.should_prune()
    with pytest.raises(TrialFailure, match="non-finite dev error"):
        context.report(float("nan"), 2)


# ---------------------------------------------------------------- the command door


def _command(mode="ok", extra=""):
    return (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPT))} --C {{C}} "
        f"--out {{predictions}} --mode {mode} {extra}"
    )


def test_a_training_script_through_the_command_door(tmp_path):
    objective = CommandObjective.parse(_command(), timeout_s=120, names=["C"])
    result = _search(tmp_path, objective, trials=3, pruner="median")
    assert result["n_complete"] == 3 and result["objective"].startswith("command: ")
    trial = result["trials"][0]
    assert trial["epochs_run"] == 1  # its progress line was read
    folder = Path(result["out_dir"]) / "trials" / f"{result['study']}-{trial['number']}"
    assert "loading digits" in (folder / "stdout.txt").read_text()
    python = models.logistic(trial["params"], None)
    assert trial["levels"] == score_predictions(python)["levels"]


def test_a_params_file_replaces_the_flags(tmp_path):
    command = _command(extra="--params {params}").replace("--C {C}", "--C 0")
    result = _search(tmp_path, CommandObjective.parse(command, names=["C"]), trials=2)
    assert result["n_complete"] == 2


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("fail", "the command exited with status 3: Traceback: ValueError: bad C"),
        ("nofile", "the command wrote no predictions file predictions.csv"),
        ("malformed", "predictions lack the column(s) y_true, y_pred (they have id, split)"),
        ("garbage", """bad progress line '{"step": "one", "loss": 1}'"""),
        ("hang", "the command ran past its --trial-timeout of 1.5 s"),
    ],
)
def test_a_command_that_goes_wrong_fails_its_trial_with_one_line(tmp_path, mode, message):
    timeout = 1.5 if mode == "hang" else 300
    objective = CommandObjective.parse(_command(mode), timeout_s=timeout, names=["C"])
    with pytest.raises(InputError) as raised:  # every trial fails: the search stops after 3
        _search(tmp_path, objective, trials=5, study="bad")
    assert f"trial 0: {message}" in str(raised.value)
    assert (tmp_path / "search" / "bad" / "trials" / "bad-0" / "stderr.txt").is_file()


def test_a_command_is_refused_before_it_runs():
    with pytest.raises(InputError, match=r"must pass \{predictions\}"):
        CommandObjective.parse("python train.py --lr {C}")
    with pytest.raises(InputError, match=r"\{lr\} is neither a parameter"):
        CommandObjective.parse("python train.py --lr {lr} --out {predictions}", names=["C"])
    with pytest.raises(InputError, match="cannot split"):
        CommandObjective.parse("python 'train.py")


# ---------------------------------------------------------------- the CLI door, ask/tell


def test_search_cli_objective_json_keeps_its_keys(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path))
    space = tmp_path / "space.json"
    space.write_text(json.dumps(C_SPACE))
    argv = ["search", "--objective", "tests.objectives.models:logistic", "--space", str(space)]
    code = main([*argv, "--trials", "3", "--sampler", "random", "--study", "cli", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    for key in ("study", "storage", "n_complete", "n_pruned", "best", "trials", "predictions"):
        assert key in result
    assert {"params", "value", "dev_accuracy", "test_accuracy", "trial"} <= set(result["best"])
    assert {"levels", "gaps", "error"} <= set(result["trials"][0])
    assert "best dev error" in out.err
    code = main([*argv[:3], "--study", "x"])
    assert code == 2 and "need --space" in capsys.readouterr().err


def test_a_trials_outcome_is_one_user_attribute_and_old_studies_still_read(tmp_path):
    result = _search(tmp_path, models.logistic, trials=2, study="new", constraint="variance<=1")
    storage = open_storage(result["storage"])
    new = optuna.load_study(study_name="new", storage=storage)
    for trial in new.get_trials():  # one journal record for the outcome, not one per key
        assert set(trial.user_attrs) == {"worker", RESULT_ATTR}
        assert set(trial_result(trial)) == {
            *("metric", "levels", "gaps", "gap_intervals", "intervals", "counts"),
            *("history", "predictions", "seconds", "device", "violation"),
        }
    # a study written by the earlier layout (each key its own attribute) resumes and reads
    old = optuna.create_study(study_name="old", storage=storage, direction="minimize")
    for key, value in new.user_attrs.items():
        old.set_user_attr(key, value)
    for trial in new.get_trials():
        flat = {"worker": trial.user_attrs["worker"], **trial_result(trial)}
        old.add_trial(
            optuna.trial.create_trial(
                params=trial.params,
                distributions=trial.distributions,
                value=trial.value,
                user_attrs=flat,
                system_attrs=trial.system_attrs,
            )
        )
    resumed = _search(tmp_path, models.logistic, study="old", add_trials=1, trials=1)
    assert resumed["n_complete"] == 3
    before = {t["number"]: t for t in result["trials"]}
    for row in resumed["trials"][:2]:
        for key in ("value", "levels", "gaps", "gap_intervals", "epochs_run", "feasible"):
            assert row[key] == before[row["number"]][key]
    assert resumed["trials"][2]["levels"]["dev"] == resumed["trials"][2]["value"]
    assert resumed["best"]["value"] == min(t["value"] for t in resumed["trials"])
    assert studies.top_trials(optuna.load_study(study_name="old", storage=storage), 3)


def test_ask_and_tell_score_a_trial_the_desk_did_not_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path))
    space = tmp_path / "space.json"
    space.write_text(json.dumps(C_SPACE))
    assert main(["search", "ask", "--study", "lab", "--space", str(space), "--json"]) == 0
    asked = json.loads(capsys.readouterr().out)
    assert asked["trial"] == 0 and 0.01 <= asked["params"]["C"] <= 10
    predictions = tmp_path / "p.csv"
    models.logistic(asked["params"], None).to_csv(predictions, index=False)
    tell = ["search", "tell", "--study", "lab", "--trial", "0", "--json"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,split,y_true\n1,dev,3\n")
    assert main([*tell, "--predictions", str(bad)]) == 2
    assert "stays open" in capsys.readouterr().err
    assert main([*tell, "--predictions", str(predictions)]) == 0
    told = json.loads(capsys.readouterr().out)
    assert told["levels"] == score_predictions(pd.read_csv(predictions))["levels"]
    lab = optuna.load_study(study_name="lab", storage=open_storage(str(tmp_path / JOURNAL_NAME)))
    assert set(lab.trials[0].user_attrs) == {RESULT_ATTR}
    assert trial_result(lab.trials[0])["levels"] == told["levels"]
    assert main([*tell, "--predictions", str(predictions)]) == 2
    assert "already complete" in capsys.readouterr().err
    assert main(["search", "ask", "--study", "lab", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trial"] == 1


# ---------------------------------------------------------------- machinery: GPUs, prune, kill


def test_one_watch_thread_beats_for_each_running_trial_and_ends_with_the_worker(
    tmp_path, monkeypatch
):
    # the worker's one watch thread (not one per trial) writes each running trial's heartbeat;
    # faster beats so that a 0.3 s trial gets some
    monkeypatch.setattr(scored, "STOP_CHECK_S", 0.02)
    monkeypatch.setattr(scored, "HEARTBEAT_INTERVAL_S", 0.05)
    before = set(threading.enumerate())
    space = {"k": {"type": "int", "low": 0, "high": 100}}
    result = _search(tmp_path, models.placement, space=space, trials=3, study="beats")
    assert set(threading.enumerate()) == before  # the thread ended with the worker
    (study,) = studies.load_studies(str(tmp_path / JOURNAL_NAME), ["beats"])
    for trial in study.trials:
        beat = trial.user_attrs["worker"]["at"]
        assert trial.datetime_start.timestamp() + 0.05 < beat < trial.datetime_complete.timestamp()
    assert result["n_complete"] == 3


def test_each_worker_gets_its_own_gpu_through_the_placement_code(tmp_path):
    assert [place_device("cuda", (0, 1), i) for i in range(3)] == ["cuda:0", "cuda:1", "cuda:0"]
    assert place_device("cpu", (), 5) == "cpu"
    result = run_search(
        models.placement,
        space={"k": {"type": "int", "low": 0, "high": 100}},
        data_dir=tmp_path,
        trials=6,
        workers=2,
        device="cuda",
        gpus=(0, 1),
        **QUIET,
    )
    seen: dict[str, set[str]] = {}
    for where in (Path(result["out_dir"]) / "trials").glob("*/where.txt"):
        device, pid = where.read_text().split()
        seen.setdefault(pid, set()).add(device)
    assert len(seen) == 2  # two worker processes, each always on one device, one per GPU
    assert sorted(d for devices in seen.values() for d in devices) == ["cuda:0", "cuda:1"]


@pytest.mark.slow
def test_a_torch_cnn_is_pruned_through_the_new_door(tmp_path):
    space = {
        "lr": {"type": "log_uniform", "low": 1e-4, "high": 0.3},
        "channels": {"type": "int", "low": 2, "high": 8},
    }
    result = run_search(
        models.cnn, space=space, data_dir=tmp_path, trials=10, sampler="tpe", pruner="median"
    )
    assert result["n_pruned"] >= 1 and result["n_complete"] >= 1
    assert result["best"]["dev_error"] < 0.3
    pruned = [t for t in result["trials"] if t["state"] == "pruned"]
    assert all(t["epochs_run"] < 4 for t in pruned)


@pytest.mark.slow
def test_resume_after_sigkill_through_the_new_door(tmp_path):
    env = {**os.environ, "STRATEGY_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    space = tmp_path / "space.json"
    space.write_text(
        json.dumps(
            {
                "lr": {"type": "log_uniform", "low": 1e-3, "high": 0.05},
                "pause": {"type": "uniform", "low": 0.5, "high": 0.6},
            }
        )
    )
    command = [sys.executable, "-m", "strategy_app", "search", "--objective"]
    command += ["tests.objectives.models:cnn", "--space", str(space), "--study", "kill"]
    command += ["--workers", "2", "--trials", "6", "--pruner", "none", "--json"]
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    storage = str(tmp_path / "optuna-journal.log")
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            study = optuna.load_study(study_name="kill", storage=open_storage(storage))
        except KeyError:
            continue
        running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
        victim = next(
            (t.user_attrs["worker"]["pid"] for t in running if "worker" in t.user_attrs), None
        )
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()[-2000:]
    study = optuna.load_study(study_name="kill", storage=open_storage(storage))
    states = [t.state for t in study.get_trials()]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 6
    assert json.loads(out)["n_complete"] >= 6


@pytest.mark.slow
def test_a_second_machine_joins_a_postgresql_study_of_a_user_objective(tmp_path, postgres_url):
    result = run_search(
        "tests.objectives.models:logistic",
        space=C_SPACE,
        data_dir=tmp_path,
        storage=postgres_url,
        study="team",
        trials=2,
        **QUIET,
    )
    assert result["n_complete"] == 2
    study = optuna.load_study(study_name="team", storage=open_storage(postgres_url))
    study.set_user_attr("target", 4)  # as if the first machine had planned 4 trials
    joined = join_study(postgres_url, "team", data_dir=tmp_path)
    assert joined["complete"] == 4 and joined["running"] == 0
    done = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(trial_result(t)["levels"]["dev"] == t.values[0] for t in done)
    assert studies.minimizes(study)


def test_the_built_in_mlps_trials_are_scored_by_the_same_waterfall(tmp_path):
    result = run_search(trials=2, epochs=1, sampler="random", pruner="none", data_dir=tmp_path)
    # the MLP runs behind the objective door: the value a trial returns is its dev error
    assert result["objective"] == "builtin:mlp"
    for trial in result["trials"]:
        assert trial["levels"]["dev"] == pytest.approx(trial["value"])
        assert trial["predictions"] is not None or trial["number"] != result["best"]["trial"]
        assert set(trial["gaps"]) == {
            "avoidable_bias",
            "variance",
            "data_mismatch",
            "dev_overfitting",
        }
