"""Workers: each trial's runner (one for the built-in MLP and the user's code alike), samplers
and pruners, worker processes, and stale-trial recovery.

Every trial records its worker (host, pid) and a heartbeat; :func:`recover_stale_trials` fails
a trial whose worker died and queues it again (Optuna's retry callback), so nothing stays
RUNNING. RDB storages additionally run Optuna's own heartbeat with the same retry callback.
Storage writes are kept few: each costs an fsync on a journal file, a round trip to a database.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import socket
import time
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

import optuna
import torch
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from diagnostics.search import study as studies
from diagnostics.search.builtin import BuiltinMLP
from diagnostics.search.datasets import Dataset, load_dataset
from diagnostics.search.pool import PoolSpec
from diagnostics.search.scored import ScoredTrial, stop_on_failing_start
from diagnostics.search.settings import RoundJob, SearchSettings, SearchStopped
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage
from diagnostics.search.tracking import trial_loggers
from diagnostics.validation import InputError

PRELOAD = ["diagnostics.search.workers", "torch._dynamo", "sklearn.datasets"]


def load_search_data(settings: SearchSettings) -> Dataset:
    """The dataset the settings name (split once, seeded)."""
    return load_dataset(
        settings.dataset or "digits",
        label=settings.label,
        seed=settings.seed,
        options=settings.classification,
        pool=PoolSpec.parse(settings.target_pool) if settings.target_pool else None,
    )


# ---------------------------------------------------------------- stale trials


def recover_stale_trials(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    grace_s: float = 120,
    max_retry: int = 3,
) -> int:
    """Fail RUNNING trials whose worker is gone and queue them again; returns how many.

    ``storage`` is the study's storage as opened by :func:`open_storage`. A trial is stale when
    its worker ran on this host and that process no longer exists, or its heartbeat (written at
    the start, then every ``HEARTBEAT_INTERVAL_S``) is older than ``grace_s``. RDB storages
    additionally run Optuna's own heartbeat check.
    """
    optuna.storages.fail_stale_trials(study)
    retry = RetryHeartbeatStaleTrialCallback(max_retry)
    study_id = storage.get_study_id_from_name(study.study_name)
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _is_stale(trial, grace_s):
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            storage.set_trial_user_attr(trial_id, "failure", "worker died")
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process got there first
        retry(study, storage.get_trial(trial_id))
        recovered += 1
    return recovered


def _is_stale(trial: optuna.trial.FrozenTrial, grace_s: float) -> bool:
    worker = trial.user_attrs.get("worker") or {}
    if worker.get("host") == socket.gethostname() and not _pid_alive(worker.get("pid", -1)):
        return True
    start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
    beat: float = worker.get("at", start)
    return time.time() - beat > grace_s


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------- samplers and pruners


def make_sampler(
    kind: str, space: SearchSpace, seed: int, trials: int
) -> optuna.samplers.BaseSampler:
    """Grid (over the space's points/choices), random, TPE or NSGA-II, seeded; TPE and
    NSGA-II read a constraint on a gap from the trials (``Trial.set_constraint``)."""
    if kind == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, trials // 3)))


def make_pruner(kind: str) -> optuna.pruners.BasePruner:
    """Median (once 5 trials reached the epoch, after epoch 1), successive halving, or none."""
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1, n_min_trials=5)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


# ---------------------------------------------------------------- workers


TrialCallback = Callable[[optuna.Study, FrozenTrial], None]


def run_worker(
    job: RoundJob,
    index: int = 0,
    callbacks: Sequence[TrialCallback] = (),
    group: int | None = None,
) -> None:
    """One worker: run trials of the job's study until it holds ``job.target`` finished ones
    (:class:`RoundDone`); ``group`` is the pid of the round's process when this worker is one
    of its worker processes."""
    settings = job.settings
    torch.set_num_threads(settings.threads)
    objective = make_objective(job, index, group)
    storage = open_storage(job.storage, settings.max_retry)
    # a resumed or joined study must not replay the same random draws: the seed also depends on
    # how many trials the study already holds
    existing = len(
        storage.get_all_trials(storage.get_study_id_from_name(job.study), deepcopy=False)
    )
    study = optuna.load_study(
        study_name=job.study,
        storage=storage,
        sampler=make_sampler(
            settings.sampler,
            job.space,
            settings.seed + 7919 * index + 104729 * existing,
            settings.trials,
        ),
        pruner=make_pruner(settings.pruner),
    )
    left = job.target - studies.count(study, studies.FINISHED)
    if left <= 0:
        return
    callbacks = [*callbacks, *trial_loggers(settings.mlflow, job.space), stop_on_failing_start]
    with objective, contextlib.suppress(SearchStopped):
        study.optimize(
            objective,
            n_trials=left,
            callbacks=[RoundDone(job.target, group), *callbacks],
        )


class RoundDone:
    """A trial callback: stop this worker once the study's finished trials, with the trials
    its live sibling workers (the same ``group``: the processes of one :func:`run_round`) are
    running, reach ``target``.

    Optuna's ``MaxTrialsCallback`` counts finished trials only, so a worker that ends its
    trial while a sibling runs the round's last one starts a trial the round does not need
    (with new parameters: the queue is empty), and the round waits for it. A sibling that dies
    has its trial failed and is replaced by :func:`run_round`; one whose trial fails goes on
    itself. Without a group (a worker in the round's own process, or a joining machine) only
    finished trials count, as in Optuna's callback.
    """

    def __init__(self, target: int, group: int | None = None) -> None:
        self.target, self.group = target, group

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Stop the study's optimize loop in this process when the round is covered."""
        states = (*studies.FINISHED, TrialState.RUNNING) if self.group else studies.FINISHED
        trials = study.get_trials(deepcopy=False, states=states)
        if sum(t.state in studies.FINISHED or self._sibling(t) for t in trials) >= self.target:
            study.stop()

    def _sibling(self, trial: FrozenTrial) -> bool:
        worker = trial.user_attrs.get("worker") or {}
        return (
            worker.get("group") == self.group
            and worker.get("host") == socket.gethostname()
            and _pid_alive(worker.get("pid", -1))
        )


def make_objective(job: RoundJob, index: int, group: int | None = None) -> ScoredTrial:
    """Worker ``index``'s Optuna objective: the user's code, or the built-in MLP
    (:class:`~diagnostics.search.builtin.BuiltinMLP`), run and scored by the waterfall in the
    same trial runner (:class:`~diagnostics.search.scored.ScoredTrial`), on the worker's device."""
    settings = job.settings
    if settings.objective is None:
        builtin = BuiltinMLP(load_search_data(settings), job.epochs)
        return ScoredTrial(settings, job.space, index, function=builtin, group=group)
    return ScoredTrial(settings, job.space, index, group=group)


def _worker_process(job: RoundJob, index: int) -> None:
    try:
        run_worker(job, index, group=os.getppid())
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from exc


def start_workers(job: RoundJob, count: int, first_index: int = 0) -> list[BaseProcess]:
    """Start ``count`` worker processes (one torch thread each by default).

    On CPU they fork from this process, so they start at once with torch already imported
    (PyTorch makes a forked child's thread pool safe, as for DataLoader workers). Once CUDA is
    initialised here, forking is unsafe and they start from a fork server instead.
    """
    context: multiprocessing.context.BaseContext
    cuda_started = torch.cuda.is_initialized()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
    if cuda_started or "fork" not in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
    else:
        context = multiprocessing.get_context("fork")
    processes: list[BaseProcess] = []
    for i in range(first_index, first_index + count):
        process = context.Process(target=_worker_process, args=(job, i), daemon=False)
        process.start()
        processes.append(process)
    return processes


def run_round(
    job: RoundJob, progress: Callable[[dict[str, Any]], None] | None = None
) -> optuna.Study:
    """Run one round to its target with ``settings.workers`` workers; returns the study.

    One worker runs in this process. Several run as processes watched from here: a worker that
    dies (killed, out of memory) has its trial failed and queued again, and is replaced.
    """
    settings = job.settings
    storage = open_storage(job.storage, settings.max_retry)
    study = optuna.load_study(study_name=job.study, storage=storage)
    if job.first_index == 0:  # the machine that started the study, not one that joined
        study.set_user_attr(studies.STOP_ATTR, False)
    recover_stale_trials(study, storage, settings.grace_s, settings.max_retry)
    if settings.workers == 1:
        callback = [(lambda s, t: progress(studies.progress(s)))] if progress else []
        run_worker(job, job.first_index, callback)
        return study
    processes = start_workers(job, settings.workers, job.first_index)
    next_index, replacements = job.first_index + settings.workers, 0
    while processes:  # wake when a worker exits, or each second for progress
        multiprocessing.connection.wait([p.sentinel for p in processes], timeout=1.0)
        alive = [p for p in processes if p.is_alive()]
        died = [p for p in processes if not p.is_alive() and p.exitcode not in (0, None)]
        processes = alive
        if died:
            recover_stale_trials(study, storage, settings.grace_s, settings.max_retry)
            stopping = studies.stop_requested(study)
            if not stopping and studies.count(study, studies.FINISHED) < job.target:
                if replacements >= 3 * settings.workers:
                    raise InputError(f"workers of study {job.study} keep dying; see their errors")
                processes += start_workers(job, len(died), next_index)
                next_index, replacements = next_index + len(died), replacements + len(died)
        if progress:
            progress(studies.progress(study))
    recover_stale_trials(study, storage, settings.grace_s, settings.max_retry)
    return study
