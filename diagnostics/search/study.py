"""Our Optuna studies: the one module that names, reads and summarises them.

A search called ``NAME`` is one study ``NAME``, or with coarse-to-fine rounds one study per
round, ``NAME-r1``, ``NAME-r2``, … (:func:`round_names`). Each study keeps what a reader needs
in its user attributes: the space of its round (``space``), its planned number of finished
trials (``target``), its epochs, dataset and sampler, and a stop request. The page, the CLI and
the report read studies only through these functions, with Optuna's public API.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from diagnostics.search.result import trial_result
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage, redact
from diagnostics.search.training import PARAM_NAMES
from diagnostics.validation import InputError

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
BUILTIN = "builtin:mlp"
STOP_ATTR = "stop_requested"
CARRIED_ATTR = "carried_from"


def round_names(base: str, rounds: int | None) -> list[str]:
    """The study names of a search: ``[base]``, or ``base-r1`` … ``base-rN`` with rounds."""
    return [base] if rounds is None else [f"{base}-r{r}" for r in range(1, rounds + 1)]


def stored_names(storage: optuna.storages.BaseStorage) -> set[str]:
    """The names of every study in the storage."""
    return set(optuna.study.get_all_study_names(storage))


def search_names(storage: optuna.storages.BaseStorage, base: str) -> list[str]:
    """The stored studies of the search ``base`` (a plain study, or its rounds in order)."""
    names = stored_names(storage)
    if base in names:
        return [base]
    rounds: list[str] = []
    while f"{base}-r{len(rounds) + 1}" in names:
        rounds.append(f"{base}-r{len(rounds) + 1}")
    return rounds


def load_studies(spec: str, names: Iterable[str]) -> list[optuna.Study]:
    """The studies among ``names`` that exist in the storage ``spec``, in order."""
    storage = open_storage(spec)
    present = stored_names(storage)
    return [optuna.load_study(study_name=n, storage=storage) for n in names if n in present]


def space_of(study: optuna.Study) -> SearchSpace:
    """The search space of the study's round (as stored when the round began); a user
    objective's space keeps the user's own parameter names."""
    builtin = study.user_attrs.get("objective_name", BUILTIN) == BUILTIN
    return SearchSpace.from_dict(study.user_attrs["space"], PARAM_NAMES if builtin else None)


def minimizes(study: optuna.Study) -> bool:
    """Whether the study's (first) objective is minimised."""
    return study.directions[0] == optuna.study.StudyDirection.MINIMIZE


def first_value(trial: FrozenTrial) -> float | None:
    """The trial's (first) objective value, None unless it completed with one."""
    if trial.state != TrialState.COMPLETE or not trial.values:
        return None
    return float(trial.values[0])


def best_of(study: optuna.Study, values: Iterable[float | None]) -> float | None:
    """The best of ``values`` in the study's direction (None when there is none)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return min(present) if minimizes(study) else max(present)


def own_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The study's trials without those carried over from an earlier round."""
    return [t for t in study.get_trials(deepcopy=False) if CARRIED_ATTR not in t.user_attrs]


def count(study: optuna.Study, states: Sequence[TrialState]) -> int:
    """How many of the study's trials are in ``states``."""
    return len(study.get_trials(deepcopy=False, states=tuple(states)))


def progress(study: optuna.Study) -> dict[str, Any]:
    """Counts per state and the best value so far (for progress lines and polling pages)."""
    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in trials:
        counts[trial.state.name.lower()] += 1
    return {**counts, "best_value": best_of(study, map(first_value, trials))}


def top_trials(study: optuna.Study, k: int, *, carried: bool = False) -> list[FrozenTrial]:
    """The k best completed trials (those carried over from an earlier round only if asked)."""
    trials = study.get_trials(deepcopy=False) if carried else own_trials(study)
    sign = 1.0 if minimizes(study) else -1.0
    done = [
        (sign * value, t)
        for t in trials
        if (value := first_value(t)) is not None and trial_result(t).get("violation", 0) <= 0
    ]
    if not done:
        raise InputError(
            f"study {study.study_name} has no completed trial (all pruned or failed); "
            "run more trials or search without pruning"
        )
    return [t for _, t in sorted(done, key=lambda pair: (pair[0], pair[1].number))[:k]]


def request_stop(spec: str, names: Iterable[str]) -> None:
    """Ask every worker of these studies to stop after its current epoch."""
    for study in load_studies(spec, names):
        study.set_user_attr(STOP_ATTR, True)


def stop_requested(study: optuna.Study) -> bool:
    """Whether a stop was requested for the study."""
    return bool(study.user_attrs.get(STOP_ATTR))


def plan_progress(studies: Sequence[optuna.Study], planned: int) -> dict[str, Any]:
    """Where a search stands: round, finished trials against the plan, best value, stop flag.

    ``planned`` is the plan when the studies do not say (a search not started yet).
    """
    done = sum(sum(t.state in FINISHED for t in own_trials(s)) for s in studies)
    targets: list[int] = [s.user_attrs.get("target") or 0 for s in studies]
    carried = sum(sum(CARRIED_ATTR in t.user_attrs for t in s.get_trials()) for s in studies)
    if studies and all(targets):
        planned = max(planned, sum(targets) - carried)
    values = [first_value(t) for s in studies for t in s.get_trials(deepcopy=False)]
    return {
        "round": len(studies) or 1,
        "done": done,
        "planned": max(planned, done),
        "best_value": best_of(studies[-1], values) if studies else None,
        "stop": bool(studies) and stop_requested(studies[-1]),
    }


def importances(study: optuna.Study) -> dict[str, float]:
    """PED-ANOVA importances of the round's parameters (empty below 4 completed trials)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(done) < 4:
        return {}
    try:
        with warnings.catch_warnings():  # PED-ANOVA is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            raw = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()
            )
    except (ValueError, RuntimeError):
        return {}
    names = {p.optuna_name: p.name for p in space_of(study).params}
    return {names.get(k, k): round(float(v), 4) for k, v in raw.items()}


def summary(spec: str, base: str) -> dict[str, Any]:
    """A stored search as the report's summary: trials, best, each round's space.

    ``base`` is the search's name (a plain study, or the stem of its ``-rN`` rounds); ``spec``
    a storage URL or the path of a journal file. Studies made elsewhere (without our space)
    keep Optuna's parameter names.
    """
    storage = open_storage(spec)
    names = search_names(storage, base)
    if not names:
        raise InputError(f"no study '{base}' in {redact(spec)}")
    studies = [optuna.load_study(study_name=n, storage=storage) for n in names]
    trials: list[dict[str, Any]] = []
    spaces: list[dict[str, Any]] = []
    for study in studies:
        stored = study.user_attrs.get("space")
        decode: Callable[[dict[str, Any]], dict[str, Any]] = (
            dict  # a study made elsewhere keeps Optuna's parameter names
        )
        if stored:
            spaces.append({"round": len(spaces) + 1, "study": study.study_name, "space": stored})
            with contextlib.suppress(InputError):  # ours: show user values (β, not 1 − β)
                decode = space_of(study).decode
        trials += [
            {
                "number": t.number,
                "study": study.study_name,
                "value": first_value(t),
                "state": t.state.name.lower(),
                "params": decode(t.params),
            }
            for t in own_trials(study)
        ]
    done = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
    maximize = not minimizes(studies[-1])
    best = (max if maximize else min)(done, key=lambda t: t["value"]) if done else None
    return {
        "study": base,
        "storage": redact(spec),
        "direction": "maximize" if maximize else "minimize",
        "n_complete": sum(t["state"] == "complete" for t in trials),
        "n_pruned": sum(t["state"] == "pruned" for t in trials),
        "best": {"params": best["params"], "value": best["value"], "trial": best["number"]}
        if best
        else None,
        "trials": trials,
        "rounds": spaces,
    }
