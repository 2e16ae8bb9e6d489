"""Ask/tell: trials the desk does not run (a lab loop, a cluster's own scheduler).

``search ask --study S`` samples one trial's parameters from the study's sampler (creating the
study from ``--space`` the first time) and prints them; the user trains and writes predictions;
``search tell --study S --trial N --predictions FILE`` scores them by the waterfall, exactly as
a trial the desk runs (:func:`~diagnostics.search.objective.score_predictions`), and completes
the trial. Predictions that cannot be scored are refused and the trial stays open, so a fixed
file can be told again.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from diagnostics.search import study as studies
from diagnostics.search.objective import (
    Goal,
    TrialFailure,
    read_returned,
    score_predictions,
)
from diagnostics.search.outputs import slug
from diagnostics.search.result import RESULT_ATTR
from diagnostics.search.scored import reference_ids
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage, redact, resolve_storage
from diagnostics.search.workers import make_sampler
from diagnostics.validation import InputError

ASK_TELL = "ask/tell"


def ask(
    storage: str | None,
    study: str,
    *,
    space: SearchSpace | None = None,
    goal: Goal | None = None,
    sampler: str = "tpe",
    seed: int = 0,
    dataset: str | None = None,
    metric: str | None = None,
    human: tuple[str, ...] = (),
    data_dir: str = "data",
    team_storage: str | None = None,
) -> dict[str, Any]:
    """Start one trial of ``study`` and return its number, parameters and scratch folder."""
    spec, opened, exists = _storage(storage, study, data_dir, team_storage)
    if not exists:
        if space is None:
            raise InputError(f"no study '{study}' in {redact(spec)}: give --space FILE to start it")
        goal = goal or Goal()
        created = optuna.create_study(study_name=study, storage=opened, directions=goal.directions)
        attrs = {
            "objective": None,
            "objective_name": ASK_TELL,
            "goal": goal.to_dict(),
            "metric_name": metric,
            "human": list(human),
            "dataset": dataset,
            "sampler": sampler,
            "seed": seed,
            "space": space.to_dict(),
            "out_dir": str(Path(data_dir) / "search" / slug(study)),
        }
        for key, value in attrs.items():
            created.set_user_attr(key, value)
    loaded = optuna.load_study(study_name=study, storage=opened)
    stored: dict[str, Any] = loaded.user_attrs
    stored_space = studies.space_of(loaded)
    existing = len(loaded.get_trials(deepcopy=False))
    loaded.sampler = make_sampler(
        str(stored.get("sampler", "tpe")),
        stored_space,
        int(stored.get("seed", 0)) + 104729 * existing,
        20,
    )
    trial = loaded.ask(stored_space.distributions())
    scratch = Path(str(stored["out_dir"])) / "trials" / f"{study}-{trial.number}"
    scratch.mkdir(parents=True, exist_ok=True)
    return {
        "study": study,
        "storage": redact(spec),
        "trial": trial.number,
        "params": stored_space.decode(trial.params),
        "scratch": str(scratch),
    }


def _storage(
    storage: str | None, study: str, data_dir: str, team_storage: str | None
) -> tuple[str, optuna.storages.BaseStorage, bool]:
    """The storage's spec, the opened storage, and whether it holds ``study``."""
    spec = resolve_storage(storage, data_dir, team_storage)
    opened = open_storage(spec)
    return spec, opened, study in studies.stored_names(opened)


def tell(
    storage: str | None,
    study: str,
    trial: int,
    predictions: str,
    *,
    data_dir: str = "data",
    team_storage: str | None = None,
) -> dict[str, Any]:
    """Score trial ``trial``'s predictions by the waterfall and complete it."""
    spec, opened, exists = _storage(storage, study, data_dir, team_storage)
    if not exists:
        raise InputError(f"no study '{study}' in {redact(spec)}; start it with search ask")
    loaded = optuna.load_study(study_name=study, storage=opened)
    attrs = loaded.user_attrs
    trials = {t.number: t for t in loaded.get_trials(deepcopy=False)}
    if trial not in trials:
        raise InputError(f"--trial {trial}: study {study} has trials 0 to {len(trials) - 1}")
    if trials[trial].state != TrialState.RUNNING:
        raise InputError(
            f"--trial {trial} is already {trials[trial].state.name.lower()}; ask for a new one"
        )
    goal = Goal.from_dict(attrs.get("goal"))
    try:
        frame = read_returned(predictions, trial)
        score = score_predictions(
            frame,
            metric=attrs.get("metric_name"),
            human=attrs.get("human") or (),
            reference=reference_ids(attrs.get("dataset")),
        )
        start = trials[trial].datetime_start
        seconds = (datetime.now() - start).total_seconds() if start else 0.0  # ask → tell
        values = goal.values(score, seconds)
        violation = goal.violation(score)
    except TrialFailure as exc:
        raise InputError(f"trial {trial}: {exc} (the trial stays open; tell it again)") from exc
    trial_id = opened.get_trial_id_from_study_id_trial_number(
        opened.get_study_id_from_name(study), trial
    )
    result = {**score, "predictions": str(Path(predictions).resolve())}
    if violation is not None and goal.constraint is not None:
        result["violation"] = violation
        opened.set_trial_system_attr(trial_id, f"constraints:{goal.constraint[0]}", violation)
    opened.set_trial_user_attr(trial_id, RESULT_ATTR, result)
    loaded.tell(trial, values if goal.multi else values[0])
    return {
        "study": study,
        "trial": trial,
        "values": values,
        "levels": score["levels"],
        "gaps": score["gaps"],
    }
