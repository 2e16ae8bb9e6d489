"""The search runner on digits: real searches, grid, coarse-to-fine, resume, recovery, outputs."""

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from diagnostics.ingest import read_predictions, split_metrics
from diagnostics.search import study as studies
from diagnostics.search.datasets import load_dataset
from diagnostics.search.outputs import load_best_model, predictions_frame
from diagnostics.search.result import trial_result
from diagnostics.search.rounds import join_study, run_search
from diagnostics.search.settings import RoundJob, SearchSettings
from diagnostics.search.space import DEFAULT_SPACE, SearchSpace
from diagnostics.search.storage import open_storage, redact
from diagnostics.search.training import (
    TrainConfig,
    make_optimizer,
    model_for,
    predict,
    train_epoch,
    train_model,
)
from diagnostics.search.workers import recover_stale_trials, run_round
from diagnostics.validation import InputError
from diagnostics.waterfall import diagnose_predictions, parse_human_level

# the runner's mechanics on a small, fast space (the default space has tests/test_default_space.py)
SMALL_SPACE = SearchSpace.from_dict(
    {
        **DEFAULT_SPACE,
        "hidden_units": {"type": "int", "low": 16, "high": 128, "log": True, "tier": 2},
        "layers": {"type": "int", "low": 1, "high": 2, "tier": 3},
    }
)
# one small configuration of the default space, queued where trials must be alike
SAME_PARAMS = {
    "lr": 0.05,
    "momentum": 0.9,
    "hidden_units": 16,
    "batch_size": 64,
    "layers": 1,
    "lr_decay": "none",
}
QUICK = {"trials": 8, "epochs": 3, "seed": 0, "space": SMALL_SPACE}


@pytest.fixture(scope="module")
def tpe_search(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    return run_search(SearchSettings(data_dir=str(folder), study="quick", **QUICK))


def test_a_small_real_search_improves_over_its_first_trial(tpe_search):
    first = tpe_search["trials"][0]
    assert tpe_search["n_complete"] + tpe_search["n_pruned"] == QUICK["trials"]
    # the built-in MLP runs behind the objective door: the study minimises dev error
    assert tpe_search["objective"] == "builtin:mlp"
    assert tpe_search["best"]["value"] < first["value"]
    assert tpe_search["best"]["dev_accuracy"] > 0.8
    assert tpe_search["best"]["dev_error"] == pytest.approx(1 - tpe_search["best"]["dev_accuracy"])
    assert first["levels"]["dev"] == pytest.approx(first["value"])
    assert {"number", "params", "value", "state"} <= set(first)


def test_the_predictions_file_diagnoses(tpe_search):
    predictions = read_predictions(tpe_search["predictions"])
    assert set(predictions.frame["split"].unique()) == {"train", "train_dev", "dev", "test"}
    levels = split_metrics(predictions)
    assert abs(levels["dev"].value - (1 - tpe_search["best"]["dev_accuracy"])) < 1e-6
    assert abs(levels["test"].value - (1 - tpe_search["best"]["test_accuracy"])) < 1e-6
    diagnosis = diagnose_predictions(predictions, [parse_human_level("1%", "error")])
    assert set(diagnosis.gaps) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfitting"}
    # a priority is every gap above zero and above its noise (a good model may leave none)
    assert diagnosis.priority == [
        name
        for name, gap in sorted(diagnosis.gaps.items(), key=lambda item: -item[1].value)
        if gap.value > 0 and not gap.within_noise
    ]


def test_the_best_model_reloads_safely_and_predicts_the_same(tpe_search):
    model, meta = load_best_model(tpe_search["out_dir"])
    data = load_dataset("digits")
    pred, _ = predict(model, data.x["dev"])
    assert np.mean(pred == data.y["dev"]) == pytest.approx(tpe_search["best"]["dev_accuracy"])
    assert meta["classes"] == list(range(10))


def test_training_is_deterministic_for_a_seed():
    data = load_dataset("digits")
    config = TrainConfig(lr=0.05, epochs=2, hidden_units=32)
    first, second = train_model(config, data), train_model(config, data)
    assert first.history == second.history
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("batch_size", "batch_norm"), [(64, False), (7, True), (2, True)])
def test_an_epochs_train_loss_and_accuracy_are_the_step_by_step_running_sums(
    batch_size, batch_norm
):
    data = load_dataset("digits")
    x, y = torch.as_tensor(data.x["train"]), torch.as_tensor(data.y["train"])
    config = TrainConfig(lr=0.05, hidden_units=32, batch_size=batch_size, batch_norm=batch_norm)

    def fresh():
        torch.manual_seed(0)
        model = model_for(config, data.n_features, data.n_classes)
        return model, make_optimizer(config, model), torch.Generator().manual_seed(0)

    model, optimizer, generator = fresh()
    loss, accuracy = train_epoch(
        model, optimizer, x, y, batch_size=batch_size, generator=generator, min_steps=30
    )
    # the reference: a float32 running sum and a correct count, added after every step (a
    # batch of one is skipped under batch norm: 899 rows in batches of 2 leave one)
    model, optimizer, generator = fresh()
    model.train()
    loss_sum, correct = torch.zeros(()), 0
    passes = math.ceil(30 / math.ceil(len(y) / batch_size))
    for _ in range(passes):
        for batch in torch.randperm(len(y), generator=generator).split(batch_size):
            if batch_norm and len(batch) == 1:
                continue
            logits = model(x[batch])
            step_loss = torch.nn.functional.cross_entropy(logits, y[batch])
            optimizer.zero_grad(set_to_none=True)
            step_loss.backward()
            optimizer.step()
            loss_sum += step_loss.detach() * len(batch)
            correct += int((logits.argmax(1) == y[batch]).sum())
    assert loss == loss_sum.item() / (len(y) * passes)
    assert accuracy == correct / (len(y) * passes)


@pytest.mark.parametrize("labels", ["digits", "words", "words, no train_dev"])
def test_the_predictions_frame_stacks_every_splits_predictions_with_their_types(labels):
    data = load_dataset("digits")
    if labels != "digits":
        data = replace(data, classes=[f"class {c}" for c in data.classes])
    if labels == "words, no train_dev":  # an empty split: pandas keeps the words as object
        data = replace(
            data,
            **{
                k: {**getattr(data, k), "train_dev": getattr(data, k)["train_dev"][:0]}
                for k in ("x", "y", "ids")
            },
        )
    model = train_model(TrainConfig(epochs=1), data).model
    frame = predictions_frame(model, data)
    parts = []
    for split in ("train", "train_dev", "dev", "test"):
        pred, score = predict(model, data.x[split])
        classes = pd.Series(data.classes)
        part = {"id": data.ids[split], "split": split, "y_true": data.y[split], "y_pred": pred}
        part["y_true"] = classes.iloc[part["y_true"]].to_numpy()
        part["y_pred"] = classes.iloc[pred].to_numpy()
        parts.append(pd.DataFrame({**part, "score": score.round(6)}))
    pd.testing.assert_frame_equal(frame, pd.concat(parts, ignore_index=True), check_exact=True)
    words = {"digits": "int64", "words": "str", "words, no train_dev": "object"}[labels]
    assert [str(frame[c].dtype) for c in ("y_true", "y_pred")] == [words, words]


def test_grid_tries_exactly_the_grid(tmp_path):
    space = {
        "lr": {"type": "log_uniform", "low": 1e-3, "high": 0.1, "points": [0.003, 0.03]},
        "batch_size": {"type": "choice", "choices": [32, 128]},
        "layers": {"type": "int", "low": 1, "high": 2},
    }
    result = run_search(
        SearchSettings(
            data_dir=str(tmp_path),
            study="grid",
            sampler="grid",
            pruner="none",
            trials=50,
            epochs=1,
            space=SearchSpace.from_dict(space),
        )
    )
    tried = {
        (t["params"]["lr"], t["params"]["batch_size"], t["params"]["layers"])
        for t in result["trials"]
    }
    assert len(result["trials"]) == 8
    assert tried == set(itertools.product([0.003, 0.03], [32, 128], [1, 2]))


def test_coarse_to_fine_narrows_around_the_best(tmp_path):
    result = run_search(
        SearchSettings(
            data_dir=str(tmp_path),
            study="c2f",
            trials=8,
            epochs=2,
            rounds=2,
            top_k=3,
            space=SMALL_SPACE,
        )
    )
    first, second = result["rounds"]
    assert second["epochs"] == 2 * first["epochs"]
    round1 = [t for t in result["trials"] if t["study"] == "c2f-r1" and t["state"] == "complete"]
    top = sorted(round1, key=lambda t: t["value"])[:3]
    lr = second["space"]["lr"]
    assert lr["high"] / lr["low"] < first["space"]["lr"]["high"] / first["space"]["lr"]["low"]
    assert all(lr["low"] <= t["params"]["lr"] <= lr["high"] for t in top)
    assert set(second["space"]["batch_size"]["choices"]) == {t["params"]["batch_size"] for t in top}
    assert second["carried_over"] >= 3
    assert (tmp_path / "search" / "c2f" / "space-round-2.json").is_file()
    assert len(result["finalists"]) == 3
    # round 2 starts by training round 1's best again at round 2's epochs (promotion)
    best = top[0]
    study = optuna.load_study(study_name="c2f-r2", storage=open_storage(result["storage"]))
    own = [t for t in study.get_trials() if "carried_from" not in t.user_attrs]
    first_own = min(own, key=lambda t: t.number)
    assert first_own.user_attrs["promoted_from"] == f"c2f-r1#{best['number']}"
    assert len(trial_result(first_own)["history"]) == second["epochs"]
    (promoted,) = [
        t for t in result["trials"] if t["study"] == "c2f-r2" and t["number"] == first_own.number
    ]
    assert promoted["params"] == pytest.approx(best["params"])


def test_resume_finishes_the_plan_and_adding_trials_is_explicit(tmp_path):
    settings = SearchSettings(
        data_dir=str(tmp_path), study="again", trials=3, epochs=1, space=SMALL_SPACE
    )
    run_search(settings)
    result = run_search(settings)  # the plan (3) is done: resuming trains no new trial
    assert [t["number"] for t in result["trials"]] == [0, 1, 2]
    result = run_search(replace(settings, add_trials=2))
    assert [t["number"] for t in result["trials"]] == [0, 1, 2, 3, 4]
    with pytest.raises(InputError, match="searched dataset 'digits'"):
        run_search(SearchSettings(data_dir=str(tmp_path), study="again", dataset="classification"))


@pytest.fixture(params=["sqlite", "postgresql"])
def rdb_url(request, tmp_path) -> str:
    """An Optuna RDB storage URL: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'studies.db'}"
    return request.getfixturevalue("postgres_url")


def test_a_second_machine_joins_an_rdb_study_until_its_plan_is_done(tmp_path, rdb_url):
    url = rdb_url
    result = run_search(
        SearchSettings(
            storage=url,
            study="team",
            trials=2,
            epochs=1,
            data_dir=str(tmp_path),
            space=SMALL_SPACE,
        )
    )
    assert result["storage"] == redact(url) and result["n_complete"] + result["n_pruned"] == 2
    study = optuna.load_study(study_name="team", storage=open_storage(url))
    study.set_user_attr("target", 4)  # as if the first machine had planned 4 trials
    joined = join_study(url, "team")
    assert joined["complete"] + joined["pruned"] == 4 and joined["running"] == 0
    with pytest.raises(InputError, match="no study 'nobody'"):
        join_study(url, "nobody")


def test_two_worker_processes_run_the_rounds_trials_and_not_one_more(tmp_path):
    # three queued trials for two workers: the one that ends first while its sibling runs the
    # last trial stops, instead of starting a fourth trial the round does not need
    spec = str(tmp_path / "journal.log")
    settings = SearchSettings(
        sampler="random",
        pruner="none",
        trials=3,
        workers=2,
        data_dir=str(tmp_path),
        out_dir=str(tmp_path),  # the trials' scratch folders: never the checkout
    )
    space = SearchSpace.default()
    study = optuna.create_study(study_name="pair", storage=open_storage(spec))
    for _ in range(3):
        study.enqueue_trial(space.encode(SAME_PARAMS))
    done = run_round(RoundJob(settings, spec, "pair", space, 2, 3))
    trials = done.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    workers = [t.user_attrs["worker"] for t in trials]
    assert {w["group"] for w in workers} == {os.getpid()}  # both are this round's processes
    assert len({w["pid"] for w in workers}) == 2


def test_a_stop_request_ends_the_search_cleanly_and_requeues_the_trial(tmp_path):
    settings = SearchSettings(
        data_dir=str(tmp_path), study="stop", trials=6, epochs=2, space=SMALL_SPACE
    )
    storage = str(tmp_path / "optuna-journal.log")

    def stop_after_first(progress):
        if progress["complete"] + progress["pruned"] == 1:
            studies.request_stop(storage, ["stop"])

    result = run_search(settings, progress=stop_after_first)
    assert result["stopped"]
    states = [t["state"] for t in result["trials"]]
    assert states.count("fail") == 1 and states.count("waiting") == 1
    (study,) = studies.load_studies(storage, ["stop"])
    assert studies.progress(study)["running"] == 0


def test_a_dead_workers_trial_is_failed_and_queued_again(tmp_path):
    storage = open_storage(str(tmp_path / "journal.log"))
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 0.1, log=True)})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    trial.set_user_attr("worker", {"host": os.uname().nodename, "pid": dead.pid})
    assert recover_stale_trials(study, storage) == 1
    states = [t.state for t in study.get_trials()]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.WAITING]
    assert study.get_trials()[1].params == trial.params


@pytest.mark.slow
def test_a_sigkilled_worker_leaves_no_running_trial_and_the_plan_completes(tmp_path):
    env = {**os.environ, "STRATEGY_DATA_DIR": str(tmp_path)}
    command = [
        sys.executable,
        "-m",
        "strategy_app",
        "search",
        "--study",
        "kill",
        "--workers",
        "2",
        "--trials",
        "8",
        "--epochs",
        "30",
        "--json",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    storage = str(tmp_path / "optuna-journal.log")
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            study = optuna.load_study(study_name="kill", storage=open_storage(storage))
        except KeyError:
            continue
        running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
        workers = [t.user_attrs.get("worker") for t in running if t.intermediate_values]
        victim = next((w["pid"] for w in workers if w), None)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    study = optuna.load_study(study_name="kill", storage=open_storage(storage))
    states = [t.state for t in study.get_trials()]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert sum(state in finished for state in states) >= 8
    retried = [t for t in study.get_trials() if "failed_trial" in t.system_attrs]
    assert len(retried) == 1 and retried[0].state in finished


@pytest.mark.slow
def test_two_machines_share_one_postgresql_study(tmp_path, postgres_url):
    """Two processes, as two machines would: one starts the study, the other joins it."""
    env = {**os.environ, "STRATEGY_DATA_DIR": str(tmp_path)}
    base = [sys.executable, "-m", "strategy_app", "search", "--storage", postgres_url]
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SMALL_SPACE.to_dict()))
    plan = ["--trials", "24", "--epochs", "12", "--pruner", "none", "--space", str(space)]
    first = subprocess.Popen(
        [*base, "--study", "team", *plan],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    storage = open_storage(postgres_url)
    deadline = time.monotonic() + 120
    while "team" not in optuna.study.get_all_study_names(storage):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.3)
    second = subprocess.run(
        [*base, "--study", "team", "--join", "--json"],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-2000:]
    study = optuna.load_study(study_name="team", storage=storage)
    own = [t for t in study.get_trials() if t.state != optuna.trial.TrialState.WAITING]
    assert not [t for t in own if t.state == optuna.trial.TrialState.RUNNING]
    finished = [t for t in own if t.state.is_finished()]
    assert len(finished) >= 24
    workers = {t.user_attrs["worker"]["pid"] for t in finished if "worker" in t.user_attrs}
    assert len(workers) >= 2  # trials came from both processes
