"""The Search page's work without the UI: start, watch, stop and resume runs in the background.

A caviar run is ``python -m strategy_app search ... --study NAME --storage SPEC --json`` started
as a detached process (its own session), so neither a browser refresh nor an app restart stops
it; its JSON result lands in ``result.json`` in the run's folder and its progress is read from
the Optuna study. A panda run is ``python -m strategy_app.search_jobs panda DIR``: one model
trained epoch by epoch (:mod:`diagnostics.search.panda`), stopped by a ``stop`` file and
continued from its checkpoint. Runs are recorded per project in the store.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
from optuna.trial import TrialState

from diagnostics.lr_finder import LRFinderResult, find_lr
from diagnostics.search.datasets import load_dataset
from diagnostics.search.panda import load_history, train_panda
from diagnostics.search.runner import (
    FINISHED,
    STOP_ATTR,
    SearchSettings,
    open_storage,
    param_importances,
    request_stop,
    resolve_storage,
)
from diagnostics.search.space import SearchSpace
from diagnostics.search.training import PARAM_NAMES, TrainConfig
from diagnostics.validation import InputError
from strategy_app.diagnosis import accept_upload
from strategy_app.store import SearchRun, Store

ROOT = Path(__file__).resolve().parent.parent
RESULT_FILE = "result.json"
LOG_FILE = "log.txt"
SPACE_FILE = "space.json"
PANDA_FILE = "panda.json"
STOP_FILE = "stop"
CHILDREN: dict[int, subprocess.Popen] = {}  # processes this app started (polled, so reaped)


# ---------------------------------------------------------------- processes


def _launch(command: list[str], out_dir: Path) -> int:
    """Start ``command`` detached from the app (own session), output into the run folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with (out_dir / RESULT_FILE).open("wb") as out, (out_dir / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log,
            start_new_session=True,
        )
    CHILDREN[process.pid] = process
    return process.pid


def is_running(run: SearchRun) -> bool:
    """Whether the run's process is alive (a pid reused by another program does not count)."""
    if run.pid is None:
        return False
    child = CHILDREN.get(run.pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{run.pid}/cmdline")
    return not cmdline.exists() or run.out_dir in cmdline.read_bytes().decode(errors="replace")


def log_tail(run: SearchRun, lines: int = 8) -> str:
    """The last lines the run's process wrote to stderr."""
    path = Path(run.out_dir) / LOG_FILE
    return (
        "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""
    )


def _run_name(given: str | None, kind: str) -> str:
    name = (given or "").strip() or time.strftime(f"{kind}-%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def _out_dir(store: Store, project_id: int, name: str) -> Path:
    return (store.folder / "search" / f"project-{project_id}" / name).resolve()


# ---------------------------------------------------------------- caviar: a search


def check_search(settings: dict) -> SearchSpace:
    """Validate a caviar run's settings (space, sampler, counts); returns the space."""
    space = SearchSpace.from_dict(settings["space"], PARAM_NAMES)
    SearchSettings(
        sampler=settings["sampler"],
        pruner=settings["pruner"],
        trials=settings["trials"],
        epochs=settings["epochs"],
        rounds=settings.get("rounds"),
        workers=settings["workers"],
    ).check()
    if settings["sampler"] == "grid":
        space.grid()
    return space


def start_search(store: Store, project_id: int, settings: dict, name: str | None = None):
    """Record and launch a caviar run; ``settings`` has dataset, sampler, pruner, trials,
    epochs, rounds (None: one plain study), workers, seed and space."""
    check_search(settings)
    name = _run_name(name, "search")
    if any(r.name == name for r in store.search_runs.list(project_id)):
        raise InputError(f"a run named '{name}' exists in this project; pick another name")
    storage = resolve_storage(None, store.folder)
    out_dir = _out_dir(store, project_id, name)
    run = store.search_runs.add(project_id, "caviar", name, storage, settings, str(out_dir))
    return _launch_search(store, run, settings["trials"])


def _launch_search(store: Store, run: SearchRun, trials: int) -> SearchRun:
    settings, out_dir = run.settings, Path(run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SPACE_FILE).write_text(json.dumps(settings["space"], indent=2))
    command = [
        sys.executable, "-m", "strategy_app", "search", "--json",
        "--dataset", settings["dataset"],
        "--sampler", settings["sampler"],
        "--pruner", settings["pruner"],
        "--trials", str(trials),
        "--epochs", str(settings["epochs"]),
        "--workers", str(settings["workers"]),
        "--seed", str(settings.get("seed", 0)),
        "--device", "cpu",
        "--study", run.name,
        "--storage", run.storage,
        "--space", str(out_dir / SPACE_FILE),
        "--out", str(out_dir),
    ]  # fmt: skip
    if settings.get("rounds"):
        command += ["--rounds", str(settings["rounds"])]
    pid = _launch(command, out_dir)
    store.search_runs.update(run.id, pid=pid)
    return replace(run, pid=pid)


def study_names(run: SearchRun) -> list[str]:
    """The run's Optuna studies: one, or one per coarse-to-fine round."""
    rounds = run.settings.get("rounds")
    return [run.name] if not rounds else [f"{run.name}-r{r}" for r in range(1, rounds + 1)]


def _studies(run: SearchRun) -> list[optuna.Study]:
    """The run's opened rounds; a round whose attributes are still being written is left out
    (the runner sets them one by one after creating the study, and a poll may fall between)."""
    storage = open_storage(run.storage)
    existing = set(optuna.study.get_all_study_names(storage))
    studies = [
        optuna.load_study(study_name=n, storage=storage) for n in study_names(run) if n in existing
    ]
    return [study for study in studies if "space" in study.user_attrs]


def _own(study: optuna.Study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if "carried_from" not in t.user_attrs]


def read_result(run: SearchRun) -> dict | None:
    """The finished run's ``search --json`` result, if it is complete."""
    path = Path(run.out_dir) / RESULT_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


def search_status(run: SearchRun) -> dict:
    """Where a caviar run stands: state, round, trials done/planned, best so far, result."""
    studies = _studies(run)
    running = is_running(run)
    result = None if running else read_result(run)
    rounds = run.settings.get("rounds") or 1
    done = sum(sum(t.state in FINISHED for t in _own(s)) for s in studies)
    if run.settings.get("rounds"):
        planned = run.settings["trials"] * rounds
    else:
        planned = studies[0].user_attrs.get("target", run.settings["trials"]) if studies else 0
        planned = planned or run.settings["trials"]
    values = [
        t.value
        for s in studies
        for t in s.get_trials(deepcopy=False)
        if t.state == TrialState.COMPLETE
    ]
    stop = bool(studies and studies[-1].user_attrs.get(STOP_ATTR))
    if running:
        state = "stopping" if stop else "running"
    elif result is not None:
        state = "stopped" if result.get("stopped") else "finished"
    else:
        state = "stopped" if stop else "failed"
    return {
        "state": state,
        "round": len(studies) or 1,
        "rounds": rounds,
        "done": done,
        "planned": max(planned, done),
        "best_value": max(values) if values else None,
        "result": result,
    }


def trial_rows(run: SearchRun) -> list[dict]:
    """Every trial of the run's rounds in the order started: round, state, value, parameters."""
    rows = []
    for number, study in enumerate(_studies(run), start=1):
        space = SearchSpace.from_dict(study.user_attrs["space"], PARAM_NAMES)
        for trial in _own(study):
            rows.append(
                {
                    "round": number,
                    "trial": trial.number,
                    "state": trial.state.name.lower(),
                    "value": trial.value,
                    "epochs_run": len(trial.user_attrs.get("history", [])),
                    "duration_s": trial.duration.total_seconds() if trial.duration else None,
                    "started": trial.datetime_start,
                    **space.decode(trial.params),
                }
            )
    rows.sort(key=lambda r: (r["started"] is None, r["started"] or 0))
    for order, row in enumerate(rows):
        row["number"] = order
        del row["started"]
    return rows


def round_spaces(run: SearchRun) -> list[dict]:
    """Each started round's search space (round 2 on: narrowed around the best of the last)."""
    return [s.user_attrs["space"] for s in _studies(run)]


def run_importances(run: SearchRun) -> dict:
    """Parameter importances over the last started round (empty below 4 completed trials)."""
    studies = _studies(run)
    if not studies:
        return {}
    last = studies[-1]
    return param_importances(last, SearchSpace.from_dict(last.user_attrs["space"], PARAM_NAMES))


def stop_search(run: SearchRun) -> None:
    """Ask the run's workers to stop after their current epoch (the running trial is queued
    again, so a resume retries it)."""
    for study in _studies(run):
        request_stop(run.storage, study.study_name)


def resume_search(store: Store, run: SearchRun) -> SearchRun:
    """Start a stopped or failed run again on the same study, up to its planned trials."""
    if is_running(run):
        raise InputError(f"run '{run.name}' is still running")
    trials = run.settings["trials"]
    if not run.settings.get("rounds"):
        studies = _studies(run)
        if studies:
            target = studies[0].user_attrs.get("target", trials)
            trials = max(1, target - sum(t.state in FINISHED for t in _own(studies[0])))
    return _launch_search(store, run, trials)


def send_best_to_diagnose(store: Store, project_id: int, run: SearchRun) -> str:
    """Save the best model's predictions file as the project's Diagnose upload; returns its name."""
    result = read_result(run)
    if result is None or not result.get("predictions"):
        raise InputError(f"run '{run.name}' has no best model yet; let it finish first")
    path = Path(result["predictions"])
    if not path.is_file():
        raise InputError(f"the predictions file {path} is missing; run the search again")
    name = f"{run.name}-best-predictions.csv"
    accept_upload(store, project_id, name, path.read_bytes())
    return name


# ---------------------------------------------------------------- panda: one model


def start_panda(
    store: Store, project_id: int, dataset: str, params: dict, epochs: int, name=None
) -> SearchRun:
    """Record and launch a panda run: one model, ``epochs`` epochs, checkpoint every epoch."""
    TrainConfig.from_params(params)
    name = _run_name(name, "panda")
    out_dir = _out_dir(store, project_id, name)
    settings = {"dataset": dataset, "params": params, "epochs": epochs, "seed": 0}
    run = store.search_runs.add(project_id, "panda", name, "", settings, str(out_dir))
    return _launch_panda(store, run)


def continue_panda(store: Store, run: SearchRun, params: dict, epochs: int) -> SearchRun:
    """Continue a stopped panda run from its checkpoint with changed settings."""
    if is_running(run):
        raise InputError(f"run '{run.name}' is still training; stop it first")
    TrainConfig.from_params(params)
    settings = {**run.settings, "params": params, "epochs": epochs}
    store.search_runs.update(run.id, pid=run.pid, settings=settings)
    return _launch_panda(store, replace(run, settings=settings))


def _launch_panda(store: Store, run: SearchRun) -> SearchRun:
    out_dir = Path(run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STOP_FILE).unlink(missing_ok=True)
    (out_dir / PANDA_FILE).write_text(json.dumps(run.settings))
    command = [sys.executable, "-m", "strategy_app.search_jobs", "panda", str(out_dir)]
    pid = _launch(command, out_dir)
    store.search_runs.update(run.id, pid=pid)
    return replace(run, pid=pid)


def stop_panda(run: SearchRun) -> None:
    """Ask the panda run to stop after its current epoch."""
    (Path(run.out_dir) / STOP_FILE).touch()


def panda_status(run: SearchRun) -> dict:
    """A panda run's state (running/stopping/stopped/finished/failed) and history."""
    history = load_history(run.out_dir)
    running = is_running(run)
    stop = (Path(run.out_dir) / STOP_FILE).exists()
    target = (history.get("config") or {}).get("epochs")
    if running:
        state = "stopping" if stop else "running"
    elif target and len(history["epochs"]) >= target:
        state = "finished"
    elif stop:
        state = "stopped"
    else:
        state = "failed" if log_tail(run) else "stopped"
    return {"state": state, "history": history}


def run_panda_folder(out_dir: str | Path) -> None:
    """The panda process: train from the folder's settings until done or the stop file appears."""
    import torch

    torch.set_num_threads(1)
    out_dir = Path(out_dir)
    settings = json.loads((out_dir / PANDA_FILE).read_text())
    data = load_dataset(settings["dataset"], seed=settings.get("seed", 0))
    config = TrainConfig.from_params(settings["params"], seed=settings.get("seed", 0))
    train_panda(
        out_dir,
        data,
        config,
        settings["epochs"],
        should_stop=(out_dir / STOP_FILE).exists,
    )


# ---------------------------------------------------------------- LR range test


def lr_find(dataset: str, params: dict, seed: int = 0) -> LRFinderResult:
    """The LR range test on the dataset with the model and optimizer ``params`` (about a second
    on digits; runs inline)."""
    import torch

    torch.set_num_threads(1)
    data = load_dataset(dataset, seed=seed)
    config = TrainConfig.from_params(params, seed=seed)
    return find_lr(data, config, device="cpu")


if __name__ == "__main__":  # python -m strategy_app.search_jobs panda DIR
    if len(sys.argv) != 3 or sys.argv[1] != "panda":
        sys.exit("usage: python -m strategy_app.search_jobs panda RUN_DIR")
    run_panda_folder(sys.argv[2])
