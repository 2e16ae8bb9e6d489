"""Target-data curve runs through the objective door: one Optuna study, one trial per (k, seed).

The dataset (``csv:``/``parquet:``/``hf:``) names its target pool (:mod:`diagnostics.search.pool`);
its pool is counted and stratified here, the steps are ``k = 0`` and fractions of the pool
(:func:`~diagnostics.target_curve.target_steps`). Each point is enqueued as a trial with user
attributes ``target_k`` and ``curve_seed``, which :class:`~diagnostics.search.scored.ScoredTrial`
hands to the objective as ``context.target_k`` and ``context.seed`` (with ``context.target_pool``
from the settings); the search's workers run them (parallel, resumable, GPU placement) and the
waterfall scores each, so every run has its dev error and its data-mismatch gap. Without an
objective the built-in MLP trains (``epochs`` epochs, ``params`` its fixed parameters).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from diagnostics.search.curve import SEED_ATTR, latest_trials, point_settings, run_points
from diagnostics.search.datasets import load_dataset
from diagnostics.search.pool import POOL, PoolSpec
from diagnostics.search.result import trial_result
from diagnostics.search.scored import objective_name, resolve_objective
from diagnostics.target_curve import (
    DEFAULT_STEPS,
    KIND,
    TargetPoint,
    fit_target_curve,
    plan_target_points,
    target_steps,
)

K_ATTR = "target_k"
NAMES = (K_ATTR, SEED_ATTR)


def run_target_curve(
    objective: Any = None,
    *,
    dataset: str,
    pool: str,
    params: Mapping[str, Any] | None = None,
    label: str | None = None,
    fractions: Sequence[float] = DEFAULT_STEPS,
    seeds: int = 3,
    epochs: int = 5,
    study: str | None = None,
    storage: str | None = None,
    data_dir: str = "data",
    workers: int = 1,
    device: str = "cpu",
    gpus: Sequence[int] = (),
    metric: str | None = None,
) -> dict[str, Any]:
    """Run every (k, seed) of the plan through the search's workers, then fit dev error
    against k (:func:`~diagnostics.target_curve.fit_target_curve`).

    Returns its ``to_dict()`` plus ``study``, ``storage``, ``objective``, ``pool`` (its spec,
    rows and rows per class), ``failures`` (one line per failed point) and ``warnings``.
    """
    if objective is not None:
        resolve_objective(objective)  # an objective that cannot be imported: refused now
    spec = PoolSpec.parse(pool)
    data = load_dataset(dataset, label=label, pool=spec)
    pool_labels = np.asarray(data.classes, dtype=object)[data.y[POOL]]
    steps = target_steps(len(pool_labels), fractions)
    plan = plan_target_points(steps, seeds)
    name = study or time.strftime("target-%Y%m%d-%H%M%S")
    settings = point_settings(
        objective,
        params,
        name=name,
        folder="target-curve",
        data_dir=data_dir,
        trials=len(plan),
        gpus=gpus,
        dataset=dataset,
        label=label,
        storage=storage,
        workers=workers,
        device=device,
        metric=metric,
        epochs=epochs,
        target_pool=pool,
    )
    target_study, where = run_points(settings, plan, NAMES, KIND)
    points, failures = _collect(target_study, plan)
    classes, counts = np.unique(pool_labels.astype(str), return_counts=True)
    dev_classes = {str(data.classes[c]) for c in np.unique(data.y["dev"])}
    missing = sorted(dev_classes - set(classes.tolist()))
    warnings = []
    if missing:
        warnings.append(
            f"the pool has no rows of class {', '.join(repr(c) for c in missing)}, which dev "
            "has: the curve says nothing about what target examples of it are worth"
        )
    return {
        "study": name,
        "storage": where,
        "objective": objective_name(objective) if objective is not None else "builtin MLP",
        "pool": {
            "spec": pool,
            "rows": len(pool_labels),
            "classes": dict(zip(classes.tolist(), counts.tolist(), strict=True)),
        },
        **fit_target_curve(points).to_dict(),
        "failures": failures,
        "warnings": warnings,
    }


def _collect(
    study: optuna.Study, plan: list[tuple[int, int]]
) -> tuple[list[TargetPoint], list[str]]:
    """The plan's measured points (the latest complete trial of each) and the failed ones."""
    points, failures = [], []
    for (k, seed), trial in latest_trials(study, plan, NAMES):
        attrs = trial_result(trial)
        levels, counts = attrs.get("levels") or {}, attrs.get("counts") or {}
        if trial.state != TrialState.COMPLETE or levels.get("dev") is None:
            why = attrs.get("error") or f"trial {trial.number}: {trial.state.name.lower()}"
            failures.append(f"k {k}, seed {seed}: {why}")
            continue
        points.append(
            TargetPoint(
                k=int(k),
                n=int(counts.get("train") or 0),
                dev_error=float(levels["dev"]),
                train_error=_level(levels, "train"),
                train_dev_error=_level(levels, "train_dev"),
                seed=seed,
            )
        )
    return points, failures


def _level(levels: Mapping[str, Any], split: str) -> float | None:
    value = levels.get(split)
    return None if value is None or math.isnan(value) else float(value)
