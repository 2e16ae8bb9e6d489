"""A search over the user's objective: each trial run, scored by the waterfall, and the results.

:class:`ScoredTrial` is the Optuna objective of every door (a Python function, a
``package.module:function``, a :class:`~diagnostics.search.script.CommandObjective`): it
builds the trial's :class:`~diagnostics.search.objective.TrialContext`, runs the code with a
heartbeat and stop watch beside it, scores the predictions
(:func:`~diagnostics.search.objective.score_predictions`), keeps the waterfall on the trial and
returns the goal's values. A failure fails that trial with one line (user attribute ``error``);
a search whose first :data:`FAIL_FAST` trials all fail stops (:func:`failing_start`).
:func:`finish_scored` writes the ``search --json`` result (no retraining: the best trial's
predictions are the search's predictions) and removes the predictions of trials that can no
longer be picked.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from diagnostics.output_files import write_output
from diagnostics.search import study as studies
from diagnostics.search.cnn import CNN, cnn_objective
from diagnostics.search.objective import (
    Goal,
    ObjectiveFn,
    PruneRequest,
    TrialContext,
    load_objective,
    one_line,
    read_returned,
    score_predictions,
)
from diagnostics.search.result import RESULT_ATTR, trial_result
from diagnostics.search.script import CommandObjective
from diagnostics.search.settings import SearchSettings, SearchStopped, search_inputs
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import HEARTBEAT_INTERVAL_S, redact
from diagnostics.splitnames import SPLIT_ALIASES
from diagnostics.validation import InputError

FAIL_FAST = 3
STOP_CHECK_S = 2.0
PREDICTIONS_FILE = "predictions.csv"
TRIAL_PREDICTIONS = "predictions.parquet"
TRIALS_FILE = "trials.json"
logger = logging.getLogger("diagnostics.search")


# ---------------------------------------------------------------- naming and placing


def objective_name(objective: Any) -> str:
    """What ran, as ``search --json`` names it (``builtin:mlp``, ``pkg.mod:fn``, ``command: …``)."""
    if objective is None:
        return studies.BUILTIN
    if isinstance(objective, str):
        return objective
    if isinstance(objective, CommandObjective):
        return objective.name
    module = getattr(objective, "__module__", None) or "?"
    return f"{module}:{getattr(objective, '__qualname__', type(objective).__name__)}"


def stored_objective(objective: Any) -> Any:
    """The objective as the study keeps it for workers that join: a ``module:function``
    string, ``{"command": [...], "timeout_s": …}``, or None (a function defined in a notebook
    or inside another function cannot be imported elsewhere)."""
    if objective is None or isinstance(objective, str):
        return objective
    if isinstance(objective, CommandObjective):
        return {"command": list(objective.argv), "timeout_s": objective.timeout_s}
    name = objective_name(objective)
    importable = "<" not in name and not name.startswith(("__main__:", "?:"))
    return name if importable else None


def objective_from_stored(stored: Any, name: str) -> Any:
    """The objective a joining worker runs, from :func:`stored_objective`'s form."""
    if isinstance(stored, dict):
        return CommandObjective(tuple(stored["command"]), stored.get("timeout_s"))
    if stored is None and name != studies.BUILTIN:
        raise InputError(
            f"the study's objective {name} cannot be imported on this machine; join it from "
            "Python with run_search(objective, study=..., storage=...) or use an importable "
            "package.module:function"
        )
    return stored


def resolve_objective(objective: Any) -> ObjectiveFn:
    """The callable a trial runs (a ``module:function`` string is imported here;
    ``builtin:cnn`` is the built-in CNN for image datasets)."""
    if objective == CNN:
        return cnn_objective
    if isinstance(objective, str):
        return load_objective(objective)
    if not callable(objective):
        raise InputError(f"the objective {objective!r} is not callable")
    return objective  # type: ignore[no-any-return]  # checked callable


def place_device(device: str, gpus: Sequence[int], index: int) -> str:
    """The device worker ``index`` trains on: ``cuda:G`` with G = gpus[index mod len(gpus)]
    (one GPU per worker), else ``device`` (``auto``: CUDA when torch sees one, else CPU)."""
    if gpus:
        return f"cuda:{gpus[index % len(gpus)]}"
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def reference_ids(dataset: str | None, pool: str | None = None) -> dict[str, str] | None:
    """The project's ``id → split`` from a ``csv:PATH``/``parquet:PATH`` dataset with ``id``
    and ``split`` columns (None for other datasets: nothing to check against); the rows of a
    target pool's own split (``pool``, :mod:`diagnostics.search.pool`) may be trained on, so
    they are ``train``."""
    if not dataset or ":" not in dataset:
        return None
    kind, _, path = dataset.partition(":")
    if kind not in ("csv", "parquet") or not Path(path).is_file():
        return None
    if kind == "csv":
        header = pd.read_csv(path, nrows=0).columns
        if not {"id", "split"} <= set(header):
            return None
        frame = pd.read_csv(path, usecols=["id", "split"], dtype=str, keep_default_na=False)
    else:
        frame = pd.read_parquet(path)
        if not {"id", "split"} <= set(frame.columns):
            return None
        frame = frame[["id", "split"]].astype(str)
    own = {pool.strip().lower(): "train"} if pool and "=" not in pool else {}
    splits = frame["split"].str.strip().str.lower().map({**SPLIT_ALIASES, **own})
    return dict(zip(frame["id"].astype(str), splits, strict=True))


# ---------------------------------------------------------------- one trial


class _Watch:
    """Beside a worker's trials, one thread for all of them: the running trial's heartbeat and
    the study's stop flag (no thread started and joined per trial)."""

    def __init__(self, worker: dict[str, Any]) -> None:
        self.worker = worker
        self.trial: optuna.Trial | None = None
        self.lock = threading.Lock()  # no heartbeat lands on a trial that has ended
        self.stopped, self.done = threading.Event(), threading.Event()
        self.beat_at = self.read_at = -math.inf  # read_at: when the trial last read the flag
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self.done.wait(STOP_CHECK_S):
            with self.lock:
                trial = self.trial
                if trial is not None and time.monotonic() - self.beat_at > HEARTBEAT_INTERVAL_S:
                    self.beat_at = time.monotonic()
                    trial.set_user_attr("worker", {**self.worker, "at": time.time()})
            if trial is not None and studies.stop_requested(trial.study):
                self.stopped.set()

    @contextlib.contextmanager
    def running(self, trial: optuna.Trial) -> Iterator[_Watch]:
        """Watch ``trial`` while the block runs (the thread starts with the worker's first)."""
        with self.lock:
            self.trial, self.beat_at, self.read_at = trial, time.monotonic(), -math.inf
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        try:
            yield self
        finally:
            with self.lock:
                self.trial = None

    def stop_requested(self) -> bool:
        """Whether the search was asked to stop: the thread's answer, or the study's flag read
        now when the trial has not read it for :data:`STOP_CHECK_S` (a trial shorter than
        that still stops at its first ``should_prune``)."""
        trial = self.trial
        if (
            trial is not None
            and not self.stopped.is_set()
            and time.monotonic() - self.read_at > STOP_CHECK_S
        ):
            self.read_at = time.monotonic()
            if studies.stop_requested(trial.study):
                self.stopped.set()
        return self.stopped.is_set()

    def close(self) -> None:
        """End the thread (the worker is done)."""
        self.done.set()
        if self.thread is not None:
            self.thread.join()


class ScoredTrial:
    """The Optuna objective of a user-objective search (see the module docstring)."""

    def __init__(
        self,
        settings: SearchSettings,
        space: SearchSpace,
        index: int = 0,
        function: ObjectiveFn | None = None,
        group: int | None = None,
    ) -> None:
        self.settings, self.space = settings, space
        # the trial's worker: stale-trial recovery reads host and pid, a sibling worker the
        # group (workers.RoundDone)
        worker: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
        if group is not None:
            worker["group"] = group
        self.watch = _Watch(worker)
        self.function = function or resolve_objective(settings.objective)
        self.device = place_device(settings.device, settings.gpus, index)
        self.pruning = settings.pruner != "none" and not settings.goal.multi
        self.reference = reference_ids(settings.dataset, settings.target_pool)
        self.out_dir = Path(settings.out_dir or ".")

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        """Run the user's code for one trial; return the goal's values (NaN: failed)."""
        params = self.space.suggest(trial)
        trial.set_user_attr("worker", {**self.watch.worker, "at": time.time()})
        scratch = self.out_dir / "trials" / f"{trial.study.study_name}-{trial.number}"
        scratch.mkdir(parents=True, exist_ok=True)
        pruned = threading.Event()

        def on_report(value: float, step: int) -> None:
            if self.pruning:
                trial.report(value, step)

        def prune_check() -> bool:
            if self.pruning and trial.should_prune():
                pruned.set()
            return pruned.is_set() or self.watch.stop_requested()

        given = trial.user_attrs  # what a curve's plan gave the trial (one storage read)
        context = TrialContext(
            number=trial.number,
            params=dict(params),
            device=self.device,
            seed=int(given.get("curve_seed", self.settings.seed)),
            scratch=scratch,
            train_fraction=float(given.get("train_fraction", 1.0)),
            dataset=self.settings.dataset,
            target_pool=self.settings.target_pool,
            target_k=int(given.get("target_k", 0)),
            on_report=on_report,
            prune_check=prune_check,
        )
        start = time.monotonic()
        with self.watch.running(trial) as watch:
            try:
                returned = self.function(dict(params), context)
                if watch.stopped.is_set() or pruned.is_set():
                    raise PruneRequest
                frame = read_returned(returned, trial.number)
                score = score_predictions(
                    frame,
                    metric=self.settings.metric,
                    human=self.settings.human,
                    reference=self.reference,
                )
                values = self.settings.goal.values(score, time.monotonic() - start)
                violation = self.settings.goal.violation(score)
            except (optuna.TrialPruned, PruneRequest):
                stopped = watch.stopped.is_set()
                ended = {"history": context.history, **({"failure": "stopped"} if stopped else {})}
                trial.set_user_attr(RESULT_ATTR, ended)
                if stopped:
                    trial.study.enqueue_trial(trial.params, skip_if_exists=False)
                    raise SearchStopped from None
                raise optuna.TrialPruned from None
            except Exception as exc:  # the user's code may raise anything: it fails the trial
                return self._fail(trial, scratch, context, exc)
        kept = _keep_predictions(returned, frame, scratch)
        result = {
            **score,
            "history": context.history,
            "predictions": str(kept),
            "seconds": round(time.monotonic() - start, 3),
            "device": self.device,
        }
        bound = self.settings.goal.constraint
        if violation is not None and bound is not None:
            result["violation"] = violation
            trial.set_constraint(bound[0], violation)
        trial.set_user_attr(RESULT_ATTR, result)
        return values if self.settings.goal.multi else values[0]

    def __enter__(self) -> ScoredTrial:
        """The worker's trials run inside ``with``: its watch thread ends with the block."""
        return self

    def __exit__(self, *_: object) -> None:
        """End the watch thread."""
        self.watch.close()

    def _fail(
        self, trial: optuna.Trial, scratch: Path, context: TrialContext, exc: Exception
    ) -> float | list[float]:
        line = f"trial {trial.number}: {one_line(exc)}"
        (scratch / "error.txt").write_text(
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        )
        trial.set_user_attr(RESULT_ATTR, {"history": context.history, "error": line})
        logger.warning(line)
        nan = math.nan
        return [nan] * len(self.settings.goal.targets) if self.settings.goal.multi else nan


def _keep_predictions(returned: Any, frame: pd.DataFrame, scratch: Path) -> Path:
    """Where the trial's predictions stay: the file it wrote in its own folder, else a copy."""
    if isinstance(returned, (str, os.PathLike)) and Path(returned).resolve().parent == (
        scratch.resolve()
    ):
        return Path(returned)
    path = scratch / TRIAL_PREDICTIONS
    try:
        frame.to_parquet(path, index=False)
    except (ValueError, TypeError, ImportError, OSError, ArithmeticError):
        path = scratch / PREDICTIONS_FILE  # columns Parquet cannot type (mixed objects)
        frame.to_csv(path, index=False)
    return path


def failing_start(study: optuna.Study) -> str | None:
    """Why the search must stop, when its first :data:`FAIL_FAST` trials all failed."""
    ended = [t for t in studies.own_trials(study) if t.state != TrialState.RUNNING]
    ended = [t for t in ended if t.state != TrialState.WAITING][:FAIL_FAST]
    if len(ended) < FAIL_FAST or any("error" not in trial_result(t) for t in ended):
        return None
    return (
        f"search stopped: its first {FAIL_FAST} trials all failed; "
        f"{trial_result(ended[0])['error']} (fix the objective and run the study again)"
    )


def stop_on_failing_start(study: optuna.Study, trial: FrozenTrial) -> None:
    """A trial callback: ask every worker to stop when :func:`failing_start` says so."""
    if failing_start(study):
        study.set_user_attr(studies.STOP_ATTR, True)
        raise SearchStopped


# ---------------------------------------------------------------- the result


def trial_row(trial: FrozenTrial, space: SearchSpace, study_name: str) -> dict[str, Any]:
    """One trial of ``search --json``: its parameters, values, waterfall, error, predictions."""
    attrs = trial_result(trial)
    row: dict[str, Any] = {
        "number": trial.number,
        "study": study_name,
        "params": space.decode(trial.params),
        "value": studies.first_value(trial),
        "state": trial.state.name.lower(),
        "duration_s": trial.duration.total_seconds() if trial.duration else None,
        "epochs_run": len(attrs.get("history", [])),
        "levels": attrs.get("levels"),
        "gaps": attrs.get("gaps"),
        "gap_intervals": attrs.get("gap_intervals"),
        "error": attrs.get("error") or attrs.get("failure"),
        "predictions": attrs.get("predictions"),
    }
    if trial.values is not None and len(trial.values) > 1:
        row["values"] = list(trial.values)
    if "violation" in attrs:
        row["feasible"] = attrs["violation"] <= 0
    return row


def trial_rows(names: Sequence[str], storage: optuna.storages.BaseStorage) -> list[dict[str, Any]]:
    """Every trial of the rounds ``names`` (none carried over), as :func:`trial_row` gives it."""
    rows: list[dict[str, Any]] = []
    for name in names:
        round_study = optuna.load_study(study_name=name, storage=storage)
        round_space = studies.space_of(round_study)
        rows += [trial_row(t, round_space, name) for t in studies.own_trials(round_study)]
    return rows


def finish_scored(
    settings: SearchSettings,
    spec: str,
    storage: optuna.storages.BaseStorage,
    names: Sequence[str],
    rounds: list[dict[str, Any]],
    out_dir: Path,
    last: tuple[optuna.Study, SearchSpace],
) -> dict[str, Any]:
    """The ``search --json`` result of a user-objective search (keys as the built-in's, plus
    ``objective``, ``goal``, ``metric``, ``pareto``, ``n_failed`` and ``removed``)."""
    study, space = last
    rows = trial_rows(names, storage)
    pareto: list[int] | None = None
    if settings.goal.multi:
        front = [t for t in study.best_trials if trial_result(t).get("violation", 0) <= 0]
        if not front:
            raise InputError(f"study {study.study_name} has no completed trial to choose from")
        pareto = sorted(t.number for t in front)
        best = min(front, key=lambda t: (t.values[0], t.number))
    else:
        try:
            best = studies.top_trials(study, 1, carried=True)[0]
        except InputError:
            if settings.goal.constraint and any(r["state"] == "complete" for r in rows):
                gap, most = settings.goal.constraint
                raise InputError(
                    f"no trial of study {study.study_name} met {gap}<={most:g}; relax "
                    "--constraint or widen the space"
                ) from None
            raise
    best_row = next(r for r in rows if (r["study"], r["number"]) == (study.study_name, best.number))
    top = studies.top_trials(study, settings.keep, carried=True) if not pareto else []
    kept = {(study.study_name, t.number) for t in top} | {(study.study_name, best.number)}
    kept |= {(study.study_name, n) for n in pareto or []}
    removed = remove_predictions(rows, kept)
    inputs = search_inputs(settings, spec)
    source = Path(best_row["predictions"])
    if source.suffix == ".parquet":
        content = pd.read_parquet(source).to_csv(index=False).encode()
    else:
        content = source.read_bytes()
    predictions = write_output(out_dir / PREDICTIONS_FILE, content, inputs)
    write_output(out_dir / TRIALS_FILE, json.dumps(rows, indent=2, default=str).encode(), inputs)
    levels = best_row["levels"]
    metric = trial_result(best).get("metric")
    error_metric = settings.metric in (None, "error") and metric == "error"
    return {
        "study": settings.study,
        "storage": redact(spec),
        "objective": objective_name(settings.objective),
        "goal": settings.goal.to_dict(),
        "metric": metric,
        "n_complete": sum(r["state"] == "complete" for r in rows),
        "n_pruned": sum(r["state"] == "pruned" for r in rows),
        "n_failed": sum(r["state"] == "fail" for r in rows),
        "best": {
            "params": best_row["params"],
            "value": best_row["value"],
            "dev_error": levels["dev"],
            "test_error": levels.get("test"),
            "dev_accuracy": _accuracy(levels["dev"]) if error_metric else None,
            "test_accuracy": _accuracy(levels.get("test")) if error_metric else None,
            "levels": levels,
            "gaps": best_row["gaps"],
            "trial": best.number,
            "study": study.study_name,
            "epochs": rounds[-1]["epochs"],
        },
        "trials": rows,
        "pareto": pareto,
        "predictions": str(predictions),
        "model": None,
        "out_dir": str(out_dir),
        "rounds": rounds,
        "finalists": [
            {"trial": t.number, "params": space.decode(t.params), "value": studies.first_value(t)}
            for t in top
        ],
        "importances": {} if pareto else studies.importances(study),
        "removed": removed,
    }


def _accuracy(error: float | None) -> float | None:
    return None if error is None else round(1.0 - error, 12)


def remove_predictions(rows: list[dict[str, Any]], kept: set[tuple[str, int]]) -> dict[str, int]:
    """Delete the predictions of trials no longer in the running; the space they used."""
    files = freed = 0
    for row in rows:
        path = row["predictions"]
        if not path or (row["study"], row["number"]) in kept or not Path(path).is_file():
            continue
        freed += Path(path).stat().st_size
        Path(path).unlink()
        files += 1
        row["predictions"] = None
    return {"files": files, "bytes": freed}


def space_names(space: SearchSpace) -> list[str]:
    """The user's parameter names of a space (the fields a command may name)."""
    return [p.name for p in space.params]


def read_stored(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The user-objective settings a study keeps (for resume and ``--join``)."""
    return {
        "objective": objective_from_stored(
            attrs.get("objective"), attrs.get("objective_name", studies.BUILTIN)
        ),
        "goal": Goal.from_dict(attrs.get("goal")),
        "metric": attrs.get("metric_name"),
        "human": tuple(attrs.get("human") or ()),
        "out_dir": attrs.get("out_dir"),
        "keep": attrs.get("keep", 5),
    }
