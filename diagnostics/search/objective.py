"""The objective protocol (issue 26): a trial is the user's code called with its parameters.

An objective is ``objective(params, context) -> predictions``: ``params`` holds the sampled
values in the user's own names and units, ``context`` is a :class:`TrialContext` (trial number,
device, seed, scratch folder, training fraction; ``report`` and ``should_prune``), and it returns
the model's predictions on every split it has, in the format ``diagnose`` reads (a DataFrame or
the path of a CSV/Parquet file with ``id, split, y_true, y_pred``, optionally ``score`` and
``prob_<class>``; a numeric ``y_pred`` for regression with the metric ``mae`` or ``rmse``).

Every trial's predictions are scored by the waterfall with the code Diagnose runs
(:func:`diagnostics.waterfall.diagnose` of the same scan): :func:`score_predictions`. Its
levels, gaps and intervals are kept with the trial (user attributes ``levels``, ``gaps``,
``gap_intervals``, ``intervals``); :class:`Goal` says what the study minimises (dev error by
default; a named gap; dev error under a constraint on a gap; or two objectives at once). A
trial whose code fails is failed with one line (user attribute ``error``); the study goes on.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import optuna
import pandas as pd

from diagnostics.ingest import REQUIRED_COLUMNS
from diagnostics.splitnames import SPLIT_ALIASES, SPLITS
from diagnostics.validation import InputError
from diagnostics.waterfall import GAPS, diagnose, parse_human_levels

PredictionsLike: TypeAlias = pd.DataFrame | str | os.PathLike[str]
ObjectiveFn: TypeAlias = Callable[[dict[str, Any], "TrialContext"], PredictionsLike]

DEV_ERROR = "dev_error"
TIME = "time"
TARGETS = (DEV_ERROR, *GAPS, TIME)


class TrialFailure(Exception):
    """A trial's code or its predictions cannot be scored; the message is one line."""


class PruneRequest(Exception):
    """Raised inside the runner when a trial should stop early (Optuna prunes it)."""


@dataclass
class TrialContext:
    """What a trial's code gets besides its parameters (see the module docstring).

    ``report(value, step)`` records an intermediate dev error (lower is better) for the
    pruner; ``should_prune()`` says when to return early (or raise ``optuna.TrialPruned``).
    ``dataset`` is the path of the project's dataset file when the search names one.
    ``target_pool`` (a target-data curve's ``--target-pool``: a split name or ``COLUMN=VALUE``)
    and ``target_k``: train on train plus ``target_k`` rows of that pool, the ones
    :func:`diagnostics.search.pool.pool_rows` picks for ``seed``, and return them as train.
    """

    number: int
    params: dict[str, Any]
    device: str = "cpu"
    seed: int = 0
    scratch: Path = field(default_factory=Path)
    train_fraction: float = 1.0
    dataset: str | None = None
    target_pool: str | None = None
    target_k: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    on_report: Callable[[float, int], None] | None = field(default=None, repr=False)
    prune_check: Callable[[], bool] | None = field(default=None, repr=False)

    def report(self, value: float, step: int, **curves: float) -> None:
        """Record an intermediate dev error at ``step`` (a finite number); optional named
        ``curves`` (e.g. ``train_loss=0.3``) are kept beside it in the history (MLflow logs
        them as metric histories)."""
        try:
            value, step = float(value), int(step)
            extra = {name: float(v) for name, v in curves.items()}
        except (TypeError, ValueError) as exc:
            raise TrialFailure(f"report({value!r}, {step!r}): not a number and a step") from exc
        if not math.isfinite(value):
            raise TrialFailure(f"reported a non-finite dev error ({value}) at step {step}")
        self.history.append({"step": step, "dev_error": value, **extra})
        if self.on_report is not None:
            self.on_report(value, step)

    def should_prune(self) -> bool:
        """Whether the trial should stop now (pruned, or the search was asked to stop)."""
        return bool(self.prune_check and self.prune_check())


# ---------------------------------------------------------------- what the study minimises


@dataclass(frozen=True)
class Goal:
    """What a search minimises: one or two targets, optionally under a constraint on a gap.

    A target is ``dev_error`` (the dev level: error, MAE or RMSE), a gap name as
    ``diagnose --json`` names it (``avoidable_bias``, ``variance``, ``data_mismatch``,
    ``dev_overfitting``) or ``time`` (the trial's seconds). ``constraint`` is (gap, most): a
    trial whose gap exceeds ``most`` is infeasible (Optuna's ``Trial.set_constraint``).
    """

    targets: tuple[str, ...] = (DEV_ERROR,)
    constraint: tuple[str, float] | None = None

    @classmethod
    def parse(cls, optimize: str = DEV_ERROR, constraint: str | None = None) -> Goal:
        """From ``--optimize dev_error[,GAP|time]`` and ``--constraint GAP<=VALUE``."""
        targets = tuple(t.strip() for t in optimize.split(",") if t.strip())
        if not targets or len(targets) > 2 or len(set(targets)) != len(targets):
            raise InputError(
                f"--optimize '{optimize}': give one target or two different ones, e.g. "
                "dev_error or dev_error,data_mismatch"
            )
        for target in targets:
            if target not in TARGETS:
                raise InputError(
                    f"--optimize: unknown target '{target}'; choose {', '.join(TARGETS)}"
                )
        if targets == (TIME,):
            raise InputError("--optimize time: pair it with dev_error (dev_error,time)")
        bound = None
        if constraint:
            name, sep, most = constraint.replace(" ", "").partition("<=")
            if not sep or name not in GAPS:
                raise InputError(
                    f"--constraint '{constraint}': write GAP<=VALUE with GAP one of "
                    f"{', '.join(GAPS)}, e.g. data_mismatch<=0.02"
                )
            try:
                value = float(most.rstrip("%")) / (100 if most.endswith("%") else 1)
            except ValueError as exc:
                raise InputError(f"--constraint '{constraint}': '{most}' is not a number") from exc
            bound = (name, value)
        return cls(targets, bound)

    @property
    def directions(self) -> list[optuna.study.StudyDirection]:
        """Optuna's study directions (every target is minimised)."""
        return [optuna.study.StudyDirection.MINIMIZE] * len(self.targets)

    @property
    def multi(self) -> bool:
        """Two targets: a Pareto front rather than one best trial."""
        return len(self.targets) > 1

    def describe(self) -> str:
        """The goal in words, e.g. ``dev_error with data_mismatch<=0.02``."""
        text = " and ".join(self.targets)
        if self.constraint:
            text += f" with {self.constraint[0]}<={self.constraint[1]:g}"
        return text

    def values(self, score: Mapping[str, Any], seconds: float) -> list[float]:
        """The trial's objective values from its scored waterfall and its duration."""
        values = []
        for target in self.targets:
            if target == TIME:
                values.append(float(seconds))
            elif target == DEV_ERROR:
                values.append(float(score["levels"]["dev"]))
            else:
                values.append(_gap(score, target))
        return values

    def violation(self, score: Mapping[str, Any]) -> float | None:
        """How far the constrained gap exceeds its bound (≤ 0: feasible); None unconstrained."""
        if self.constraint is None:
            return None
        name, most = self.constraint
        return _gap(score, name) - most

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept on the study."""
        bound = list(self.constraint) if self.constraint else None
        return {"targets": list(self.targets), "constraint": bound}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Goal:
        """Read :meth:`to_dict`'s form back (the default goal for None)."""
        if not data:
            return cls()
        bound = data.get("constraint")
        return cls(tuple(data["targets"]), (bound[0], float(bound[1])) if bound else None)


def _gap(score: Mapping[str, Any], name: str) -> float:
    value = score["gaps"].get(name)
    if value is None:
        raise TrialFailure(
            f"the {name} gap needs predictions on both of its levels "
            "(avoidable bias: a human level; variance/data mismatch: train, train_dev, dev; "
            "dev overfitting: test)"
        )
    return float(value)


# ---------------------------------------------------------------- scoring a trial


def read_returned(returned: Any, number: int) -> pd.DataFrame:
    """The predictions an objective returned, as a frame; anything else fails the trial."""
    if isinstance(returned, (str, os.PathLike)):
        path = Path(returned)
        if not path.is_file():
            raise TrialFailure(f"returned the path {path}, but no such file was written")
        try:
            if path.suffix.lower() in (".parquet", ".pq"):
                return pd.read_parquet(path)
            return pd.read_csv(path, keep_default_na=True)
        except Exception as exc:  # a malformed file: pandas/pyarrow raise many kinds
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TrialFailure(f"{path.name} is not a readable predictions file ({first})") from exc
    if isinstance(returned, pd.DataFrame):
        return returned
    raise TrialFailure(
        f"returned {type(returned).__name__}, not predictions: return a DataFrame with "
        "id, split, y_true, y_pred (or the path of such a CSV/Parquet file)"
    )


def check_predictions(
    frame: pd.DataFrame, reference: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Refuse predictions no waterfall can score: missing columns, empty or NaN predictions
    or scores,
    splits not named train/train_dev/dev/test, no dev rows, and (with ``reference``, the
    project's ``id → split``) ids the project lacks or ids in another split than the project's."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise TrialFailure(
            f"predictions lack the column(s) {', '.join(missing)} (they have "
            f"{', '.join(map(str, frame.columns[:8])) or 'none'})"
        )
    if frame.empty:
        raise TrialFailure("returned no predictions (0 rows)")
    for column in ("y_true", "y_pred"):
        empty = frame[column].isna().to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise TrialFailure(
                f"{int(empty.sum())} {column} value(s) are NaN or empty (first at row {row})"
            )
    if "score" in frame.columns:  # the upload refuses a file with empty scores
        scores = pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float)
        diverged = ~np.isfinite(scores)
        if diverged.any():
            row = int(np.flatnonzero(diverged)[0])
            raise TrialFailure(
                f"{int(diverged.sum())} score value(s) are NaN, empty or infinite (first at row "
                f"{row}): the model's training diverged? try a lower learning rate"
            )
    # the split names are checked once per distinct value (a million rows hold four)
    named = {
        value: SPLIT_ALIASES.get(str(value).strip().lower()) for value in frame["split"].unique()
    }
    unknown = [value for value, split in named.items() if split is None]
    if unknown:
        raise TrialFailure(
            f"unknown split '{unknown[0]}' in the predictions; splits are {', '.join(SPLITS)}"
        )
    if "dev" not in named.values():
        raise TrialFailure("no dev predictions: the waterfall needs the dev split")
    if reference is not None:
        if "id" not in frame.columns:
            raise TrialFailure("predictions lack the id column the project's dataset has")
        ids = frame["id"].astype(str)
        splits = frame["split"].map(named)
        known = ids.map(reference)
        absent = known.isna().to_numpy()
        if absent.any():
            raise TrialFailure(
                f"{int(absent.sum())} id(s) are not in the project's dataset "
                f"(first: '{ids.iloc[int(np.flatnonzero(absent)[0])]}')"
            )
        moved = (known != splits).to_numpy()
        if moved.any():
            row = int(np.flatnonzero(moved)[0])
            raise TrialFailure(
                f"id '{ids.iloc[row]}' is predicted as {splits.iloc[row]}, but the project has "
                f"it in {known.iloc[row]}"
            )
    return frame


def score_predictions(
    frame: pd.DataFrame,
    *,
    metric: str | None = None,
    human: Sequence[Any] = (),
    reference: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The waterfall of a trial's predictions, as ``diagnose --json`` gives it (the same code).

    Returns ``metric``, ``levels``, ``gaps``, ``gap_intervals``, ``intervals`` and ``counts``;
    bad predictions raise :class:`TrialFailure` with one line.
    """
    from diagnostics.fastscan import scan_split_metrics  # duckdb: loaded when a trial ends

    check_predictions(frame, reference)
    try:  # the steps of diagnostics.api.diagnose, the Diagnose page's and CLI's own
        scan = scan_split_metrics(frame, metric=metric)
        humans = parse_human_levels(list(human), scan.metric)
        full = diagnose(scan.splits, humans, metric=scan.metric).to_dict()
    except InputError as exc:
        raise TrialFailure(str(exc).splitlines()[0]) from exc
    if full["levels"].get("dev") is None:
        raise TrialFailure("no dev level could be measured from the predictions")
    keys = ("metric", "levels", "gaps", "gap_intervals", "intervals", "counts")
    return {key: full.get(key) for key in keys}


def load_objective(spec: str) -> ObjectiveFn:
    """``package.module:function`` → the function (imported here; failures are one line)."""
    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise InputError(f"--objective '{spec}': write package.module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may raise anything while importing
        raise InputError(
            f"--objective {spec}: cannot import {module_name} ({type(exc).__name__}: {exc})"
        ) from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise InputError(f"--objective {spec}: {module_name} has no function '{name}'")
    return function  # type: ignore[no-any-return]  # the user's function, checked callable


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (TrialFailure, InputError)):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
