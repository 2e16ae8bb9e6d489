"""Experiment tracking: every trial of a search as an MLflow run, through MLflow's client.

``search --mlflow URI`` adds :class:`MLflowTrials` to each worker's Optuna callbacks. Each
finished trial becomes one run in the experiment named after the study (created on first use):
its parameters (as the search space decodes them: ``momentum``, not its sampled complement),
the values the study minimises (``final_value``, ``final_value_2``), its final dev accuracy
(``final_dev_accuracy`` = 1 − dev error, for the error metric), each level (``dev_level``, …),
the curves the trial reported as metric histories (``dev_error`` and, for the built-in MLP,
``dev_accuracy``, ``dev_loss``, ``train_accuracy``, ``train_loss``; step = epoch; a pruned
trial keeps the epochs it ran), and its Optuna state, study and number as tags. Each completed
trial that kept predictions logs them as an artifact of its run, and the best trial's run gets
the search's predictions file (:func:`log_predictions`); with an SQLite store, artifacts lie in
``mlartifacts`` beside the database, so ``diagnose mlflow:runs:/RUN_ID/predictions.parquet``
reads a trial's predictions. A URI is anything MLflow takes: ``sqlite:///mlflow.db``,
``http://mlflow:5000``, a folder.

It uses MLflow's client rather than optuna-integration's ``MLflowCallback``, which is deprecated
since optuna-integration 4.9 (removal planned for 6.0) and logs only the final value.

Needs the ``[tracking]`` extra (``pip install 'strategy-desk[tracking]'``); without it a search
with ``--mlflow`` is refused before it starts. Trials run by workers that joined the study from
another machine (``--join``) are not logged.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna

from diagnostics.search.result import trial_result
from diagnostics.search.space import SearchSpace
from diagnostics.validation import InputError, redact_url, shown

FINAL_METRIC = "final_dev_accuracy"
FINAL_VALUES = ("final_value", "final_value_2")  # a user objective's goal values (minimised)
EXTRA = "pip install 'strategy-desk[tracking]'"
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}


# Opens the tracking store once, in a fresh interpreter, before any trial runs: that refuses a
# URI MLflow cannot use (an unknown scheme, a folder MLflow refuses, a server or a database that
# does not answer: one try, a short timeout) and creates (or upgrades) an SQLite tracking
# database before parallel workers race to migrate it, leaving no connection for forked workers
# to share. MLflow retries a database 10 times with growing pauses (101 s in all) and has no
# setting for it, so this check sets its module's retry count to one try.
OPEN_STORE = (
    "import os, sys; os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES='0', "
    "MLFLOW_HTTP_REQUEST_TIMEOUT='5'); import mlflow, mlflow.store.db.utils as db; "
    "db.MAX_RETRY_COUNT = 1; "
    "mlflow.MlflowClient(sys.argv[1]).search_experiments(max_results=1)"
)
OPEN_TIMEOUT_S = 120  # a backstop: importing MLflow and creating a SQLite store take seconds


def _missing(what: str = "--mlflow") -> InputError:
    return InputError(f"{what} needs MLflow, which is not installed: {EXTRA}")


def require_mlflow(what: str = "--mlflow") -> None:
    """Refuse (``what`` needs MLflow: the extra to install) when MLflow is not installed,
    without importing it."""
    if importlib.util.find_spec("mlflow") is None:
        raise _missing(what)


def _mlflow() -> Any:
    """The mlflow module, or a one-line refusal naming the extra."""
    try:
        import mlflow
    except ImportError:
        raise _missing() from None
    return mlflow


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


class MLflowTrials:
    """An Optuna callback that logs each finished trial to MLflow at ``tracking_uri``."""

    def __init__(self, tracking_uri: str, space: SearchSpace) -> None:
        self._space = space
        self._mlflow = _mlflow()
        self._client = self._mlflow.MlflowClient(tracking_uri)
        self._experiments: dict[str, str] = {}
        self._artifacts = artifact_folder(tracking_uri)

    def _experiment_id(self, name: str) -> str:
        """The id of the experiment ``name``, created if no worker created it yet."""
        if name not in self._experiments:
            found = self._client.get_experiment_by_name(name)
            if found is None:
                try:
                    self._experiments[name] = self._client.create_experiment(
                        name, artifact_location=self._artifacts
                    )
                except self._mlflow.exceptions.MlflowException:  # another worker was first
                    found = self._client.get_experiment_by_name(name)
            if found is not None:
                self._experiments[name] = found.experiment_id
        return self._experiments[name]

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Log the finished ``trial`` of ``study`` as one run."""
        entities = self._mlflow.entities
        done = _ms(trial.datetime_complete)
        run = self._client.create_run(
            self._experiment_id(study.study_name),
            start_time=_ms(trial.datetime_start),
            run_name=f"trial {trial.number}",
            tags={
                "optuna.study": study.study_name,
                "optuna.trial_number": str(trial.number),
                "optuna.state": trial.state.name,
            },
        )
        result = trial_result(trial)
        metrics = [
            entities.Metric(key, float(value), done, int(record.get("epoch", record.get("step"))))
            for record in result.get("history", [])
            for key, value in record.items()
            if key not in ("epoch", "step")
        ]
        if trial.state.name == "COMPLETE" and trial.values:
            for name, value in zip(FINAL_VALUES, trial.values, strict=False):
                metrics.append(entities.Metric(name, float(value), done, 0))
            dev = (result.get("levels") or {}).get("dev")
            if result.get("metric") == "error" and dev is not None:
                metrics.append(entities.Metric(FINAL_METRIC, 1.0 - float(dev), done, 0))
        metrics += [
            entities.Metric(f"{level}_level", float(value), done, 0)
            for level, value in (result.get("levels") or {}).items()
            if value is not None
        ]
        params = [
            entities.Param(name, str(value))
            for name, value in self._space.decode(trial.params).items()
        ]
        self._client.log_batch(run.info.run_id, metrics=metrics, params=params)
        kept = result.get("predictions")
        if trial.state.name == "COMPLETE" and kept and Path(kept).is_file():
            self._client.log_artifact(run.info.run_id, kept)  # diagnose reads it in place
        status = RUN_STATUS.get(trial.state.name, "KILLED")
        self._client.set_terminated(run.info.run_id, status=status, end_time=done)


def artifact_folder(tracking_uri: str) -> str | None:
    """Where the runs of an SQLite tracking store keep artifacts: ``mlartifacts`` beside the
    database file (MLflow's own default, ``./mlruns``, would follow whichever folder the search
    ran in); None (MLflow's default) for a tracking server or another database."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri[len("sqlite:///") :]).expanduser().resolve()
    return (database.parent / "mlartifacts").as_uri()


def log_predictions(tracking_uri: str, study: str, trial: int, path: Path) -> str | None:
    """Log the predictions file at ``path`` as an artifact of the run of ``trial`` in the
    experiment ``study`` (as :class:`MLflowTrials` logged it); returns the file's
    ``mlflow:runs:/RUN_ID/NAME`` location, which ``diagnose`` reads, or None when that trial has
    no run (a worker that joined from another machine logs none)."""
    client = _mlflow().MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`optuna.trial_number` = '{int(trial)}'",
        max_results=1,
    )
    if not runs:
        return None
    run_id = runs[0].info.run_id
    client.log_artifact(run_id, str(path))
    return f"mlflow:runs:/{run_id}/{path.name}"


def trial_loggers(tracking_uri: str | None, space: SearchSpace) -> list[MLflowTrials]:
    """The tracking callbacks a worker adds to its study over ``space`` (none without a URI)."""
    return [MLflowTrials(tracking_uri, space)] if tracking_uri else []


def check_tracking(tracking_uri: str | None) -> None:
    """Refuse ``--mlflow`` before a search starts, in one line with any password masked: MLflow
    not installed, a URI with control characters, or one MLflow cannot open (see
    :data:`OPEN_STORE`)."""
    if not tracking_uri:
        return
    require_mlflow()
    masked = shown(redact_url(tracking_uri), 120)
    if not tracking_uri.isprintable():
        raise InputError(f"--mlflow '{masked}' holds control characters; type the URI again")
    try:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_STORE, tracking_uri],
            capture_output=True,
            text=True,
            timeout=OPEN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise InputError(
            f"--mlflow {masked}: no answer within {OPEN_TIMEOUT_S} s; check that the tracking "
            "server runs and the URI is right"
        ) from None
    if done.returncode:
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise InputError(
            f"--mlflow {masked}: MLflow cannot open it ({shown(redact_url(reason), 300)})"
        )
