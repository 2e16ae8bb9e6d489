"""Studies: samplers, pruners, persistent storage, worker processes, coarse-to-fine rounds.

One study per round lives in an Optuna storage: by default a journal file in the data folder
(Optuna's advice for several processes on one machine), or any Optuna storage URL
(``sqlite:///…``, ``postgresql://…``) which workers on other machines join. Every trial records
its worker (host, pid) and a heartbeat; :func:`recover_stale_trials` fails a trial whose worker
died and queues it again (Optuna's retry callback), so nothing stays RUNNING. RDB storages also
get Optuna's own heartbeat thread with the same retry callback.

A page starts a search with :func:`start_workers` (background processes), polls
:func:`study_progress`, and stops it with :func:`request_stop`: workers finish the current epoch,
the interrupted trial is queued again, and ``--study NAME`` resumes later.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import re
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import optuna
import torch
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from diagnostics.search.choices import PRUNERS, SAMPLERS
from diagnostics.search.datasets import ClassificationOptions, Dataset, load_dataset
from diagnostics.search.outputs import PREDICTIONS_FILE, predictions_frame, save_best_model
from diagnostics.search.space import DEFAULT_SPACE, SearchSpace
from diagnostics.search.training import PARAM_NAMES, TrainConfig, evaluate, train_model
from diagnostics.validation import InputError, check_journal_file, one_line, redact_url

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
JOURNAL_NAME = "optuna-journal.log"
HEARTBEAT_INTERVAL_S = 10
STOP_ATTR = "stop_requested"
STOP_CHECK_S = 2.0
PRELOAD = ["diagnostics.search.runner", "torch._dynamo", "sklearn.datasets"]

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class SearchStopped(Exception):
    """A stop was requested; the worker ends after the current epoch."""


@dataclass(frozen=True)
class SearchSettings:
    """A search as the CLI or a page describes it (picklable, sent to worker processes)."""

    dataset: str | None = None
    label: str | None = None
    classification: ClassificationOptions = field(default_factory=ClassificationOptions)
    sampler: str = "tpe"
    pruner: str = "median"
    trials: int = 20
    epochs: int = 5
    rounds: int | None = None
    final_epochs: int | None = None
    top_k: int = 5
    promote: int = 2
    finalists: int = 3
    margin: float = 0.25
    workers: int = 1
    threads: int = 1
    storage: str | None = None
    study: str | None = None
    seed: int = 0
    space: dict = field(default_factory=lambda: DEFAULT_SPACE)
    device: str = "cpu"
    data_dir: str = "data"
    out_dir: str | None = None
    grace_s: int = 120
    max_retry: int = 3

    def check(self) -> None:
        """Refuse settings no search can run with."""
        if self.sampler not in SAMPLERS:
            raise InputError(f"unknown sampler '{self.sampler}'; choose {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            raise InputError(f"unknown pruner '{self.pruner}'; choose {', '.join(PRUNERS)}")
        for name in ("trials", "epochs", "workers", "threads", "top_k", "finalists"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1")
        if self.promote < 0:
            raise InputError("--promote must be 0 or more")
        if self.rounds is not None and self.rounds < 1:
            raise InputError("--rounds must be at least 1")
        if self.study is not None and not self.study.strip():
            raise InputError("--study must not be empty")


@dataclass(frozen=True)
class RoundJob:
    """One round's study: what every worker of it needs."""

    settings: SearchSettings
    storage: str
    study: str
    space: dict
    epochs: int
    target: int
    first_index: int = 0


# ---------------------------------------------------------------- storage


def resolve_storage(storage: str | None, data_dir: str | Path) -> str:
    """The storage spec: an Optuna URL as given, else a journal file path (default in data_dir).

    ``STRATEGY_DB_URL`` is used when it names PostgreSQL (the team set-up); a SQLite app database
    is not, because SQLite locks under parallel writers.
    """
    if storage:
        return storage if "://" in storage else str(Path(storage).expanduser().resolve())
    env = os.environ.get("STRATEGY_DB_URL", "")
    if env.startswith(("postgresql", "postgres")):
        return env
    return str((Path(data_dir) / JOURNAL_NAME).resolve())


def open_storage(spec: str, max_retry: int = 3) -> optuna.storages.BaseStorage:
    """Open the storage: RDB (heartbeat + retry) for a URL, a journal file otherwise."""
    if "://" in spec:
        try:
            return optuna.storages.RDBStorage(
                spec,
                heartbeat_interval=HEARTBEAT_INTERVAL_S,
                grace_period=3 * HEARTBEAT_INTERVAL_S,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry),
            )
        except Exception as exc:  # sqlalchemy's many connection errors
            raise InputError(f"cannot open storage {redact(spec)}: {one_line(exc)}") from exc
    path = check_journal_file(spec)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
    except OSError as exc:
        raise InputError(f"cannot open journal file {path}: {exc}") from exc
    return optuna.storages.journal.JournalStorage(backend)


def redact(spec: str) -> str:
    """A storage URL without its password, for messages and JSON."""
    return redact_url(spec)


# ---------------------------------------------------------------- stale trials and stopping


def recover_stale_trials(study: optuna.Study, grace_s: float = 120, max_retry: int = 3) -> int:
    """Fail RUNNING trials whose worker is gone and queue them again; returns how many.

    A trial is stale when its worker ran on this host and that process no longer exists, or its
    heartbeat (written at the start, then every ``HEARTBEAT_INTERVAL_S``) is older than
    ``grace_s``. RDB storages additionally run Optuna's own heartbeat check.
    """
    optuna.storages.fail_stale_trials(study)
    retry = RetryHeartbeatStaleTrialCallback(max_retry)
    storage = study._storage
    recovered = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _is_stale(trial, grace_s):
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "failure", "worker died")
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process got there first
        retry(study, storage.get_trial(trial._trial_id))
        recovered += 1
    return recovered


def _is_stale(trial: optuna.trial.FrozenTrial, grace_s: float) -> bool:
    worker = trial.user_attrs.get("worker") or {}
    if worker.get("host") == socket.gethostname() and not _pid_alive(worker.get("pid", -1)):
        return True
    start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
    return time.time() - worker.get("at", start) > grace_s


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


def request_stop(storage: str, study_name: str) -> None:
    """Ask every worker of the study to stop after its current epoch."""
    optuna.load_study(study_name=study_name, storage=open_storage(storage)).set_user_attr(
        STOP_ATTR, True
    )


def study_progress(storage: str, study_name: str) -> dict:
    """Counts per state and the best value so far (for progress bars and polling pages)."""
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    return _progress(study)


def _progress(study: optuna.Study) -> dict:
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in trials:
        counts[trial.state.name.lower()] += 1
    values = [t.value for t in trials if t.state == TrialState.COMPLETE]
    return {**counts, "best_value": max(values) if values else None}


# ---------------------------------------------------------------- the objective and workers


class Objective:
    """Train one configuration per trial; report dev accuracy per epoch, prune, heartbeat.

    Storage writes are kept few (each costs an fsync on a journal file, a round trip to a
    database): one report per epoch only when a pruner needs it, a heartbeat at most every
    ``HEARTBEAT_INTERVAL_S``, the stop flag read at most every ``STOP_CHECK_S``, and the full
    per-epoch history once, when the trial ends (pruned and stopped trials included).
    """

    def __init__(
        self, data: Dataset, space: SearchSpace, epochs: int, settings: SearchSettings
    ) -> None:
        self.data, self.space, self.epochs = data, space, epochs
        self.seed, self.device = settings.seed, settings.device
        self.pruning = settings.pruner != "none"

    def __call__(self, trial: optuna.Trial) -> float:
        """Train and return the last epoch's dev accuracy."""
        params = self.space.suggest(trial)
        worker = {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
        trial.set_user_attr("worker", worker)
        config = TrainConfig.from_params(params, epochs=self.epochs, seed=self.seed)
        history: list[dict] = []
        checked = {"stop": 0.0, "heartbeat": time.monotonic()}  # stop: checked at epoch 1

        def on_epoch(record) -> None:
            history.append(asdict(record))
            if self.pruning:
                trial.report(record.dev_accuracy, record.epoch)
            now = time.monotonic()
            if now - checked["heartbeat"] > HEARTBEAT_INTERVAL_S:
                checked["heartbeat"] = now
                trial.set_user_attr("worker", {**worker, "at": time.time()})
            if now - checked["stop"] > STOP_CHECK_S:
                checked["stop"] = now
                if trial.study.user_attrs.get(STOP_ATTR):
                    trial.set_user_attr("history", history)
                    trial.set_user_attr("failure", "stopped")
                    trial.study.enqueue_trial(trial.params, skip_if_exists=False)
                    raise SearchStopped
            if self.pruning and trial.should_prune():
                trial.set_user_attr("history", history)
                raise optuna.TrialPruned

        result = train_model(config, self.data, on_epoch=on_epoch, device=self.device)
        trial.set_user_attr("history", history)
        return result.dev_accuracy


def make_sampler(
    kind: str, space: SearchSpace, seed: int, trials: int
) -> optuna.samplers.BaseSampler:
    """Grid (over the space's points/choices), random or TPE, seeded."""
    if kind == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, trials // 3)))


def make_pruner(kind: str) -> optuna.pruners.BasePruner:
    """Median (once 5 trials reached the epoch, after epoch 1), successive halving, or none."""
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1, n_min_trials=5)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def run_worker(job: RoundJob, index: int = 0, callbacks=()) -> None:
    """One worker: run trials of the job's study until it holds ``job.target`` finished ones."""
    settings = job.settings
    torch.set_num_threads(settings.threads)
    data = _load(settings)
    space = SearchSpace.from_dict(job.space, PARAM_NAMES)
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
            space,
            settings.seed + 7919 * index + 104729 * existing,
            settings.trials,
        ),
        pruner=make_pruner(settings.pruner),
    )
    left = job.target - _count(study, FINISHED)
    if left <= 0:
        return
    try:
        study.optimize(
            Objective(data, space, job.epochs, settings),
            n_trials=left,
            callbacks=[optuna.study.MaxTrialsCallback(job.target, states=FINISHED), *callbacks],
        )
    except SearchStopped:
        return


def _worker_process(job: RoundJob, index: int) -> None:
    try:
        run_worker(job, index)
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from exc


def start_workers(job: RoundJob, count: int, first_index: int = 0) -> list:
    """Start ``count`` worker processes (one torch thread each by default).

    On CPU they fork from this process, so they start at once with torch already imported
    (PyTorch makes a forked child's thread pool safe, as for DataLoader workers). Once CUDA is
    initialised here, forking is unsafe and they start from a fork server instead.
    """
    if torch.cuda.is_initialized() or "fork" not in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
    else:
        context = multiprocessing.get_context("fork")
    processes = []
    for i in range(first_index, first_index + count):
        process = context.Process(target=_worker_process, args=(job, i), daemon=False)
        process.start()
        processes.append(process)
    return processes


def run_round(job: RoundJob, progress: Callable[[dict], None] | None = None) -> optuna.Study:
    """Run one round to its target with ``settings.workers`` workers; returns the study.

    One worker runs in this process. Several run as processes watched from here: a worker that
    dies (killed, out of memory) has its trial failed and queued again, and is replaced.
    """
    settings = job.settings
    storage = open_storage(job.storage, settings.max_retry)
    study = optuna.load_study(study_name=job.study, storage=storage)
    if job.first_index == 0:  # the machine that started the study, not one that joined
        study.set_user_attr(STOP_ATTR, False)
    recover_stale_trials(study, settings.grace_s, settings.max_retry)
    if settings.workers == 1:
        callback = [(lambda s, t: progress(_progress(s)))] if progress else []
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
            recover_stale_trials(study, settings.grace_s, settings.max_retry)
            stopping = study.user_attrs.get(STOP_ATTR)
            if not stopping and _count(study, FINISHED) < job.target:
                if replacements >= 3 * settings.workers:
                    raise InputError(f"workers of study {job.study} keep dying; see their errors")
                processes += start_workers(job, len(died), next_index)
                next_index, replacements = next_index + len(died), replacements + len(died)
        if progress:
            progress(_progress(study))
    recover_stale_trials(study, settings.grace_s, settings.max_retry)
    return study


def _count(study: optuna.Study, states) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def _load(settings: SearchSettings) -> Dataset:
    return load_dataset(
        settings.dataset, label=settings.label, seed=settings.seed, options=settings.classification
    )


# ---------------------------------------------------------------- a whole search


def run_search(settings: SearchSettings, progress: Callable[[dict], None] | None = None) -> dict:
    """Run a plain study (``rounds`` None) or coarse-to-fine rounds, then train the finalists.

    Returns the ``search --json`` contract: ``study``, ``storage``, ``n_complete``, ``n_pruned``,
    ``best`` {params, value, dev_accuracy, test_accuracy}, ``trials`` (every trial of the study,
    earlier runs included), ``predictions`` (path), plus ``rounds``, ``finalists``, ``model``.
    A plain study run again under the same name adds ``trials`` trials; rounds resume to their
    plan. The winner alone is evaluated on test, once.
    """
    settings.check()
    spec = resolve_storage(settings.storage, settings.data_dir)
    storage = open_storage(spec, settings.max_retry)
    base = settings.study or time.strftime("search-%Y%m%d-%H%M%S")
    names = (
        [base]
        if settings.rounds is None
        else [f"{base}-r{r}" for r in range(1, settings.rounds + 1)]
    )
    settings = _resume_settings(storage, names[0], replace(settings, study=base))
    data = _load(settings)
    space = SearchSpace.from_dict(settings.space, PARAM_NAMES)
    out_dir = Path(settings.out_dir or Path(settings.data_dir) / "search" / _slug(base))
    out_dir.mkdir(parents=True, exist_ok=True)
    rounds, previous = [], None
    for number, name in enumerate(names, start=1):
        study, space, epochs, carried = _open_round(
            storage, name, settings, space, settings.epochs * 2 ** (number - 1), number, previous
        )
        if settings.sampler == "grid":
            space.grid()
        if settings.rounds is None:
            target = _count(study, FINISHED) + settings.trials
        else:
            target = carried + settings.trials
        study.set_user_attr("target", target)
        job = RoundJob(settings, spec, name, space.to_dict(), epochs, target)
        report = (
            (
                lambda p, n=number, s=name, t=target: progress(
                    {**p, "round": n, "study": s, "target": t}
                )
            )
            if progress
            else None
        )
        study = run_round(job, report)
        (out_dir / f"space-round-{number}.json").write_text(json.dumps(space.to_dict(), indent=2))
        own = _own_trials(study)
        rounds.append(
            {
                "round": number,
                "study": name,
                "epochs": epochs,
                "space": space.to_dict(),
                "carried_over": carried,
                "n_complete": sum(t.state == TrialState.COMPLETE for t in own),
                "n_pruned": sum(t.state == TrialState.PRUNED for t in own),
                "best_value": max(
                    (t.value for t in own if t.state == TrialState.COMPLETE), default=None
                ),
            }
        )
        previous = (study, space)
        if study.user_attrs.get(STOP_ATTR):
            names = names[:number]
            break
        if number < len(names):
            top = _top_trials(study, settings.top_k)
            space = space.narrow([space.decode(t.params) for t in top], settings.margin)
    result = _finish(settings, spec, storage, names, rounds, data, out_dir, previous)
    result["stopped"] = bool(previous[0].user_attrs.get(STOP_ATTR))
    return result


def join_study(
    storage: str | None,
    study: str,
    *,
    data_dir: str | Path = "data",
    workers: int = 1,
    threads: int = 1,
    device: str = "cpu",
    progress: Callable[[dict], None] | None = None,
) -> dict:
    """Add workers (e.g. on another machine) to a running study until its planned trials are done.

    Everything else (dataset, space, epochs, sampler, pruner, seed, plan) comes from the study;
    the machine that started it trains the finalists and writes the outputs.
    """
    spec = resolve_storage(storage, data_dir)
    opened = open_storage(spec)
    if study not in optuna.study.get_all_study_names(opened):
        raise InputError(f"no study '{study}' in {redact(spec)}; start it first with --study")
    attrs = optuna.load_study(study_name=study, storage=opened).user_attrs
    settings = SearchSettings(
        dataset=attrs.get("dataset") or "digits",
        label=attrs.get("label"),
        classification=ClassificationOptions(**attrs.get("classification", {})),
        sampler=attrs.get("sampler", "tpe"),
        pruner=attrs.get("pruner", "median"),
        seed=attrs.get("seed", 0),
        workers=workers,
        threads=threads,
        device=device,
    )
    settings.check()
    first_index = 1000 + os.getpid() % 100_000  # distinct sampler seeds from other machines
    job = RoundJob(
        settings, spec, study, attrs["space"], attrs["epochs"], attrs["target"], first_index
    )
    report = (
        (
            lambda p: progress(
                {**p, "round": attrs.get("round", 1), "study": study, "target": job.target}
            )
        )
        if progress
        else None
    )
    done = run_round(job, report)
    return {"study": study, "storage": redact(spec), "joined": True, **_progress(done)}


def _resume_settings(storage, first: str, settings: SearchSettings) -> SearchSettings:
    """On resume, the stored dataset and space win; a conflicting explicit dataset is refused."""
    if first not in optuna.study.get_all_study_names(storage):
        return replace(settings, dataset=settings.dataset or "digits")
    stored = optuna.load_study(study_name=first, storage=storage).user_attrs
    dataset = stored.get("dataset") or "digits"
    if settings.dataset and settings.dataset != dataset:
        raise InputError(
            f"study '{first}' searched dataset '{dataset}', not '{settings.dataset}'; "
            "use the same --dataset or a new --study name"
        )
    options = stored.get("classification")
    return replace(
        settings,
        dataset=dataset,
        label=stored.get("label"),
        space=stored.get("space", settings.space),
        classification=ClassificationOptions(**options) if options else settings.classification,
    )


def _open_round(storage, name, settings, space, epochs, number, previous):
    """Load or create the round's study; a new narrowed round carries over earlier trials
    that lie inside its bounds. Returns (study, space, epochs, carried count)."""
    if name in optuna.study.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        attrs = study.user_attrs
        stored = SearchSpace.from_dict(attrs.get("space", space.to_dict()), PARAM_NAMES)
        carried = sum("carried_from" in t.user_attrs for t in study.get_trials(deepcopy=False))
        return study, stored, attrs.get("epochs", epochs), carried
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    attrs = {
        "dataset": settings.dataset,
        "label": settings.label,
        "classification": asdict(settings.classification),
        "epochs": epochs,
        "sampler": settings.sampler,
        "pruner": settings.pruner,
        "seed": settings.seed,
        "space": space.to_dict(),
        "round": number,
        "parent_study": previous[0].study_name if previous else None,
    }
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    carried = 0
    if previous:
        for trial in _own_trials(previous[0]):
            if trial.state == TrialState.COMPLETE and space.contains(
                previous[1].decode(trial.params)
            ):
                study.add_trial(_carried_trial(trial, space, previous[0].study_name))
                carried += 1
        # the last round's best configurations run first at this round's epochs (a promotion,
        # as in successive halving): the new round starts from its best known point
        for trial in _top_trials(previous[0], settings.promote)[: settings.trials]:
            promoted = {"promoted_from": f"{previous[0].study_name}#{trial.number}"}
            study.enqueue_trial(_params_within(trial, space), user_attrs=promoted)
    return study, space, epochs, carried


def _params_within(trial: optuna.trial.FrozenTrial, space: SearchSpace) -> dict:
    """The trial's (Optuna) parameters, floats clipped into ``space`` (rounding at its edges)."""
    params = {}
    for name, dist in space.distributions().items():
        value = trial.params[name]
        if isinstance(dist, optuna.distributions.FloatDistribution):
            value = min(max(value, dist.low), dist.high)
        params[name] = value
    return params


def _carried_trial(trial, space: SearchSpace, source: str) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params=_params_within(trial, space),
        distributions=space.distributions(),
        value=trial.value,
        user_attrs={**trial.user_attrs, "carried_from": f"{source}#{trial.number}"},
    )


def _own_trials(study: optuna.Study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if "carried_from" not in t.user_attrs]


def _top_trials(study: optuna.Study, k: int, carried: bool = False) -> list:
    """The k best completed trials (those carried over from an earlier round only if asked)."""
    trials = study.get_trials(deepcopy=False) if carried else _own_trials(study)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    if not done:
        raise InputError(
            f"study {study.study_name} has no completed trial (all pruned or failed); "
            "run more --trials or use --pruner none"
        )
    return sorted(done, key=lambda t: (-t.value, t.number))[:k]


def _finish(settings, spec, storage, names, rounds, data, out_dir, last) -> dict:
    """Train the finalists fully, keep the best on dev, evaluate it on test once, write outputs."""
    study, space = last
    plain = settings.rounds is None
    top = _top_trials(study, 1 if plain else settings.finalists, carried=True)
    epochs = rounds[-1]["epochs"]
    final_epochs = settings.final_epochs or (epochs if plain else 2 * epochs)
    torch.set_num_threads(settings.threads)
    finalists = []
    for trial in top:
        params = space.decode(trial.params)
        config = TrainConfig.from_params(params, epochs=final_epochs, seed=settings.seed)
        result = train_model(config, data, device=settings.device)
        finalists.append({"trial": trial, "params": params, "config": config, "result": result})
    winner = max(finalists, key=lambda f: f["result"].dev_accuracy)
    model = winner["result"].model
    device = next(model.parameters()).device
    x_test = torch.as_tensor(data.x["test"], device=device)
    _, test_accuracy = evaluate(model, x_test, torch.as_tensor(data.y["test"], device=device))
    predictions = out_dir / PREDICTIONS_FILE
    predictions_frame(model, data, device).to_csv(predictions, index=False)
    weights = save_best_model(
        out_dir,
        model,
        winner["config"],
        data,
        {"study": study.study_name, "trial": winner["trial"].number},
    )
    trials = []
    for name in names:
        round_study = optuna.load_study(study_name=name, storage=storage)
        round_space = SearchSpace.from_dict(round_study.user_attrs["space"], PARAM_NAMES)
        trials += [_trial_row(t, round_space, name) for t in _own_trials(round_study)]
    (out_dir / "trials.json").write_text(json.dumps(trials, indent=2, default=str))
    summary_trials = [
        {**{k: v for k, v in t.items() if k != "history"}, "epochs_run": len(t["history"])}
        for t in trials
    ]
    best = winner["trial"]
    return {
        "study": settings.study,
        "storage": redact(spec),
        "n_complete": sum(t["state"] == "complete" for t in trials),
        "n_pruned": sum(t["state"] == "pruned" for t in trials),
        "best": {
            "params": winner["params"],
            "value": best.value,
            "dev_accuracy": winner["result"].dev_accuracy,
            "test_accuracy": test_accuracy,
            "trial": best.number,
            "study": study.study_name,
            "epochs": final_epochs,
        },
        "trials": summary_trials,
        "predictions": str(predictions),
        "model": str(weights),
        "out_dir": str(out_dir),
        "rounds": rounds,
        "finalists": [
            {
                "trial": f["trial"].number,
                "params": f["params"],
                "dev_accuracy": f["result"].dev_accuracy,
            }
            for f in finalists
        ],
        "importances": param_importances(study, space),
    }


def _trial_row(trial, space: SearchSpace, study_name: str) -> dict:
    duration = trial.duration.total_seconds() if trial.duration else None
    return {
        "number": trial.number,
        "params": space.decode(trial.params),
        "value": trial.value,
        "state": trial.state.name.lower(),
        "study": study_name,
        "duration_s": duration,
        "history": trial.user_attrs.get("history", []),
    }


def param_importances(study: optuna.Study, space: SearchSpace) -> dict:
    """PED-ANOVA importances of the parameters (empty below 4 completed trials)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(done) < 4:
        return {}
    try:
        raw = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()
        )
    except (ValueError, RuntimeError):
        return {}
    names = {p.optuna_name: p.name for p in space.params}
    return {names.get(k, k): round(float(v), 4) for k, v in raw.items()}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
