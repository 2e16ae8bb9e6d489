"""Learning-curve runs through the objective door: one Optuna study, one trial per point.

A plan is the fractions of train (default 1/16 … 1) and seeds (several at every fraction
below 1, one at 1). Each point is enqueued as a trial of the study with its parameters fixed
and user attributes ``train_fraction`` and ``curve_seed``, which
:class:`~diagnostics.search.scored.ScoredTrial` hands to the objective as
``context.train_fraction`` and ``context.seed``; the search's workers run them (parallel,
resumable: running the same study again runs only the points it lacks; GPU placement) and the
waterfall scores each. The objective trains on :func:`~diagnostics.search.fractions.train_subset`
of train and returns train predictions for the rows it trained on (as scikit-learn's
``learning_curve`` scores train), so a point's ``n`` is its count of train rows.
Without an objective, the search's built-in MLP
(:class:`~diagnostics.search.builtin.BuiltinMLP`, ``epochs`` epochs, the parameters fixed at
``params`` over :class:`~diagnostics.search.training.TrainConfig`'s defaults) trains on the
search dataset (``digits``, ``classification``, ``csv:PATH``). :class:`DatasetModel` is
scikit-learn's logistic regression on the same datasets, as a Python objective, and
:func:`logistic_regression` the same as ``--objective
diagnostics.search.curve:logistic_regression``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from diagnostics.learning_curve import CurvePoint, fit_curve
from diagnostics.search import study as studies
from diagnostics.search.datasets import Dataset, load_dataset
from diagnostics.search.fractions import DEFAULT_FRACTIONS, smallest_fraction, train_subset
from diagnostics.search.objective import TrialContext
from diagnostics.search.outputs import slug
from diagnostics.search.result import trial_result
from diagnostics.search.scored import failing_start, resolve_objective
from diagnostics.search.settings import RoundJob, SearchSettings
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage, redact, resolve_storage
from diagnostics.search.workers import run_round
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError

FRACTION_ATTR = "train_fraction"
SEED_ATTR = "curve_seed"
KIND = "learning_curve"


def plan_points(fractions: Sequence[float], seeds: int) -> list[tuple[float, int]]:
    """(fraction, seed) of every run, largest fraction first (a broken objective fails fast)."""
    if seeds < 1:
        raise InputError("--seeds must be at least 1")
    unique = sorted({float(f) for f in fractions}, reverse=True)
    for fraction in unique:
        if not 0 < fraction <= 1:
            raise InputError(f"fraction {fraction:g} must be in (0, 1]")
    return [(f, s) for f in unique for s in range(1 if f == 1 else seeds)]


def parse_fractions(text: str) -> tuple[float, ...]:
    """``"1/16,1/8,0.5,1"`` → fractions (each a number or ``a/b``)."""
    values = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            top, _, bottom = part.partition("/")
            values.append(float(top) / float(bottom or 1))
        except (ValueError, ZeroDivisionError):
            raise InputError(f"--fractions: '{part}' is not a number or a/b") from None
    if not values:
        raise InputError("--fractions: give at least one fraction, e.g. 1/16,1/8,1/4,1/2,1")
    return tuple(values)


def fixed_space(params: Mapping[str, Any]) -> SearchSpace:
    """The space of a learning curve: the model's parameters, each fixed (one choice)."""
    spec = {name: {"type": "choice", "choices": [value]} for name, value in params.items()}
    return SearchSpace.from_dict(spec or {"curve_point": {"type": "choice", "choices": [0]}})


@functools.lru_cache(maxsize=4)
def _dataset(spec: str, label: str | None, seed: int) -> Dataset:
    return load_dataset(spec, label=label, seed=seed)


@dataclass(frozen=True)
class DatasetModel:
    """The learning curve's model when none is given: logistic regression on a search dataset.

    ``C`` (a parameter, default 1.0) is the inverse regularisation; the run trains on
    ``train_subset(train labels, context.train_fraction, context.seed)``.
    """

    spec: str
    label: str | None = None
    split_seed: int = 0

    def __call__(self, params: dict[str, Any], context: TrialContext) -> pd.DataFrame:
        """Train on the context's fraction of train; predictions on every split."""
        from sklearn.linear_model import LogisticRegression

        data = _dataset(self.spec, self.label, self.split_seed)
        rows = train_subset(data.y["train"], context.train_fraction, context.seed)
        model = LogisticRegression(C=float(params.get("C", 1.0)), max_iter=2000)
        model.fit(data.x["train"][rows], data.y["train"][rows])
        names = np.asarray(data.classes, dtype=object)
        parts = []
        for split in SPLITS:
            x, y, ids = data.x[split], data.y[split], data.ids[split]
            if split == "train":
                x, y, ids = x[rows], y[rows], ids[rows]
            if len(y):
                parts.append(
                    pd.DataFrame(
                        {
                            "id": ids,
                            "split": split,
                            "y_true": names[y].astype(str),
                            "y_pred": names[model.predict(x)].astype(str),
                        }
                    )
                )
        return pd.concat(parts, ignore_index=True)


def logistic_regression(params: dict[str, Any], context: TrialContext) -> pd.DataFrame:
    """scikit-learn's logistic regression on the search's dataset (``context.dataset``; a
    ``csv:``/``parquet:`` file's label column named by the parameter ``label``, default
    ``label``): :class:`DatasetModel` as an importable objective."""
    if not context.dataset:
        raise InputError("logistic_regression needs --dataset: the data it trains on")
    params = dict(params)
    label = params.pop("label", None)
    return DatasetModel(context.dataset, label)(params, context)


def point_space(objective: Any, params: Mapping[str, Any] | None) -> SearchSpace:
    """The fixed space of a curve's runs: ``params`` as given for a user's objective; for the
    built-in MLP (``objective`` None) every parameter of
    :class:`~diagnostics.search.training.TrainConfig` at its default or as ``params`` sets it
    (an unknown name is refused in one line)."""
    if objective is not None:
        return fixed_space(params or {})
    from diagnostics.search.training import PARAM_NAMES, TrainConfig

    config = TrainConfig.from_params(dict(params or {})).to_dict()
    return fixed_space({name: config[name] for name in sorted(PARAM_NAMES)})


def run_learning_curve(
    objective: Any = None,
    *,
    params: Mapping[str, Any] | None = None,
    dataset: str | None = None,
    label: str | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seeds: int = 3,
    study: str | None = None,
    storage: str | None = None,
    data_dir: str = "data",
    workers: int = 1,
    device: str = "cpu",
    gpus: Sequence[int] = (),
    metric: str | None = None,
    human: Sequence[str] = (),
    epochs: int = 5,
) -> dict[str, Any]:
    """Run every point of the plan through the search's workers, then fit the curve (with no
    objective: the built-in MLP trained ``epochs`` epochs on ``dataset``).

    Returns :meth:`~diagnostics.learning_curve.CurveFit.to_dict` plus ``study``, ``objective``,
    ``failures`` (one line per failed point) and ``skipped`` (fractions too small for a class).
    """
    if objective is None and not dataset:
        raise InputError("learning-curve: give --dataset or --objective")
    if objective is not None:
        resolve_objective(objective)  # an objective that cannot be imported: refused now
    plan = plan_points(fractions, seeds)
    skipped = None
    if objective is None or isinstance(objective, DatasetModel):
        model = objective or DatasetModel(str(dataset), label)
        data = _dataset(model.spec, model.label, model.split_seed)
        labels = np.asarray(data.classes, dtype=object)[data.y["train"]]
        skipped = smallest_fraction(labels, sorted({f for f, _ in plan}))
        plan = [(f, s) for f, s in plan if _fits(labels, f)]
    name = study or time.strftime("curve-%Y%m%d-%H%M%S")
    settings = point_settings(
        objective,
        params,
        name=name,
        folder="learning-curve",
        data_dir=data_dir,
        trials=max(len(plan), 1),
        gpus=gpus,
        human=human,
        dataset=dataset,
        label=label,
        storage=storage,
        workers=workers,
        device=device,
        metric=metric,
        epochs=epochs,
    )
    curve_study, spec = run_points(settings, plan, (FRACTION_ATTR, SEED_ATTR), KIND)
    points, failures = _collect(curve_study, plan)
    result = fit_curve(points).to_dict()
    return {
        "study": name,
        "storage": redact(spec),
        "objective": getattr(objective, "spec", None) or _name(objective),
        **result,
        "failures": failures,
        "skipped": skipped,
    }


def point_settings(
    objective: Any,
    params: Mapping[str, Any] | None,
    *,
    name: str,
    folder: str,
    data_dir: str,
    trials: int,
    gpus: Sequence[int] = (),
    human: Sequence[str] = (),
    **fields: Any,
) -> SearchSettings:
    """The settings of a curve's runs: the study ``name`` of ``trials`` runs with fixed
    parameters (:func:`point_space`), no sampling choice and no pruning, kept under
    ``data_dir/folder/``; ``fields`` are the other settings (dataset, storage, workers, …)."""
    return SearchSettings(
        objective=objective,
        space=point_space(objective, params),
        study=name,
        data_dir=data_dir,
        out_dir=str(Path(data_dir) / folder / slug(name)),
        sampler="random",
        pruner="none",
        gpus=tuple(gpus),
        human=tuple(human),
        trials=trials,
        **fields,
    )


def run_points(
    settings: SearchSettings, plan: Sequence[tuple[Any, int]], names: tuple[str, str], kind: str
) -> tuple[optuna.Study, str]:
    """Run the points of ``plan`` as trials of the study ``settings.study`` (each with user
    attributes ``names`` set to the point; only the points it lacks), on the search's workers;
    the study when they have run and its storage. A study of another ``kind`` is refused."""
    name = settings.study
    assert name is not None
    settings.check()
    Path(settings.out_dir or ".").mkdir(parents=True, exist_ok=True)
    spec = resolve_storage(settings.storage, settings.data_dir, settings.team_storage)
    opened = open_storage(spec, settings.max_retry)
    study = optuna.create_study(
        study_name=name, storage=opened, direction="minimize", load_if_exists=True
    )
    if study.user_attrs.get("kind") not in (None, kind):
        what = study.user_attrs["kind"].replace("_", " ")
        raise InputError(
            f"study {name} is a {what}, not a {kind.replace('_', ' ')}; pick another name"
        )
    study.set_user_attr("kind", kind)
    target = enqueue_missing(study, plan, settings.space, names)
    if target > studies.count(study, studies.FINISHED):
        run_round(RoundJob(settings, spec, name, settings.space, settings.epochs, target))
    study = optuna.load_study(study_name=name, storage=opened)
    stop = failing_start(study)
    if stop:
        raise InputError(stop.replace("search stopped", f"{kind.replace('_', ' ')} stopped"))
    return study, spec


def _fits(labels: np.ndarray, fraction: float) -> bool:
    try:
        train_subset(labels, fraction)
    except InputError:
        return False
    return True


def _name(objective: Any) -> str:
    from diagnostics.search.scored import objective_name

    return objective_name(objective)


def point_of(
    trial: optuna.trial.FrozenTrial, names: tuple[str, str] = (FRACTION_ATTR, SEED_ATTR)
) -> tuple[Any, int] | None:
    """The (step, seed) a trial ran, from its user attributes ``names`` (None: not a point)."""
    attrs = trial.user_attrs
    if names[0] not in attrs:
        return None
    return attrs[names[0]], int(attrs[names[1]])


def enqueue_missing(
    study: optuna.Study,
    plan: Sequence[tuple[Any, int]],
    space: SearchSpace,
    names: tuple[str, str] = (FRACTION_ATTR, SEED_ATTR),
) -> int:
    """Queue the plan's points that have no complete, running or waiting trial; the study's
    target of finished trials."""
    held = {
        point_of(t, names)
        for t in study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
        )
    }
    fixed = {p.name: p.choices[0] for p in space.params}
    missing = [point for point in plan if point not in held]
    for step, seed in missing:
        study.enqueue_trial(
            fixed, user_attrs={names[0]: step, names[1]: seed}, skip_if_exists=False
        )
    waiting = studies.count(study, (TrialState.WAITING, TrialState.RUNNING))
    return studies.count(study, studies.FINISHED) + waiting


def latest_trials(
    study: optuna.Study,
    plan: Sequence[tuple[Any, int]],
    names: tuple[str, str] = (FRACTION_ATTR, SEED_ATTR),
) -> list[tuple[tuple[Any, int], optuna.trial.FrozenTrial]]:
    """Each point of ``plan`` that has a trial, with its latest complete trial (else its latest
    one), the largest step first."""
    latest: dict[tuple[Any, int], optuna.trial.FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False):
        point = point_of(trial, names)
        if point in plan:
            assert point is not None
            done = latest.get(point)
            if done is None or done.state != TrialState.COMPLETE:
                latest[point] = trial
    return sorted(latest.items(), reverse=True)


def _collect(
    study: optuna.Study, plan: list[tuple[float, int]]
) -> tuple[list[CurvePoint], list[str]]:
    """The plan's measured points (the latest complete trial of each) and the failed ones."""
    points, failures = [], []
    for (fraction, seed), trial in latest_trials(study, plan):
        attrs = trial_result(trial)
        levels, counts = attrs.get("levels") or {}, attrs.get("counts") or {}
        if trial.state != TrialState.COMPLETE or levels.get("dev") is None:
            why = attrs.get("error") or f"trial {trial.number}: {trial.state.name.lower()}"
            failures.append(f"fraction {fraction:g}, seed {seed}: {why}")
            continue
        if not counts.get("train"):
            failures.append(
                f"fraction {fraction:g}, seed {seed}: trial {trial.number} returned no train "
                "rows; return train predictions for the rows it trained on"
            )
            continue
        train = levels.get("train")
        points.append(
            CurvePoint(
                n=int(counts["train"]),
                dev_error=float(levels["dev"]),
                train_error=None if train is None or math.isnan(train) else float(train),
                seed=seed,
                fraction=fraction,
            )
        )
    return points, failures
