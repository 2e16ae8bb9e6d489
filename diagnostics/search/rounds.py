"""A whole search: a plain study or coarse-to-fine rounds, resumed or joined, then finished.

Coarse-to-fine (STRATEGY_NOTES §4): each round after the first narrows every range around the
last round's best trials, carries those trials over, doubles the epochs and first trains the
last round's best configurations again at the new epochs (a promotion). Running a search
again under the same name resumes it and finishes its plan; ``add_trials`` extends a plain
study's plan. The finalists are trained in :func:`~diagnostics.search.outputs.finish_search`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from diagnostics.search import study as studies
from diagnostics.search.datasets import ClassificationOptions
from diagnostics.search.outputs import (
    SPACE_FILE,
    check_search_outputs,
    finish_search,
    slug,
    write_search_file,
)
from diagnostics.search.scored import (
    failing_start,
    finish_scored,
    objective_name,
    read_stored,
    resolve_objective,
    stored_objective,
)
from diagnostics.search.settings import RoundJob, SearchSettings, search_inputs
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage, redact, resolve_storage
from diagnostics.search.workers import load_search_data, run_round
from diagnostics.validation import InputError


def run_search(
    settings: SearchSettings, progress: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Run a plain study (``rounds`` None) or coarse-to-fine rounds, then train the finalists.

    Returns the ``search --json`` contract: ``study``, ``storage``, ``n_complete``, ``n_pruned``,
    ``best`` {params, value, dev_accuracy, test_accuracy}, ``trials`` (every trial of the study,
    earlier runs included), ``predictions`` (path), plus ``rounds``, ``finalists``, ``model``.
    A search run again under the same name finishes its plan (``add_trials`` extends a plain
    study's plan). The winner alone is evaluated on test, once.
    """
    settings.check()
    spec = resolve_storage(settings.storage, settings.data_dir, settings.team_storage)
    base = settings.study or time.strftime("search-%Y%m%d-%H%M%S")
    names = studies.round_names(base, settings.rounds)
    out_dir = Path(settings.out_dir or Path(settings.data_dir) / "search" / slug(base))
    inputs = search_inputs(settings, spec)
    check_search_outputs(out_dir, inputs, len(names))  # before any study is made
    storage = open_storage(spec, settings.max_retry)
    settings = _resume_settings(storage, names[0], replace(settings, study=base))
    builtin = settings.objective is None
    data = load_search_data(settings) if builtin else None
    space = settings.space
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = replace(settings, out_dir=str(out_dir))
    if not builtin:
        resolve_objective(settings.objective)  # an objective that cannot be imported: refused now
    rounds: list[dict[str, Any]] = []
    previous: tuple[optuna.Study, SearchSpace] | None = None
    for number, name in enumerate(names, start=1):
        study, space, epochs, carried = _open_round(
            storage, name, settings, space, settings.epochs * 2 ** (number - 1), number, previous
        )
        if settings.sampler == "grid":
            space.grid()
        target = _target(study, settings, carried)
        study.set_user_attr("target", target)
        job = RoundJob(settings, spec, name, space, epochs, target)
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
        stop_reason = failing_start(study)
        if stop_reason:
            raise InputError(stop_reason)
        text = json.dumps(space.to_dict(), indent=2)
        write_search_file(out_dir, SPACE_FILE.format(number=number), text.encode(), inputs)
        own = studies.own_trials(study)
        rounds.append(
            {
                "round": number,
                "study": name,
                "epochs": epochs,
                "space": space.to_dict(),
                "carried_over": carried,
                "n_complete": sum(t.state == TrialState.COMPLETE for t in own),
                "n_pruned": sum(t.state == TrialState.PRUNED for t in own),
                "best_value": studies.best_of(study, map(studies.first_value, own)),
            }
        )
        previous = (study, space)
        if studies.stop_requested(study):
            names = names[:number]
            break
        if number < len(names):
            top = studies.top_trials(study, settings.top_k)
            space = space.narrow([space.decode(t.params) for t in top], settings.margin)
    assert previous is not None  # a search has at least one round
    if data is None:
        result = finish_scored(settings, spec, storage, names, rounds, out_dir, previous)
    else:
        result = finish_search(settings, spec, storage, names, rounds, data, out_dir, previous)
    result["stopped"] = studies.stop_requested(previous[0])
    return result


def _target(study: optuna.Study, settings: SearchSettings, carried: int) -> int:
    """The round's planned number of finished trials: the stored plan of a resumed study (plus
    ``add_trials``), else ``trials`` (plus what a new round carried over)."""
    stored: int | None = study.user_attrs.get("target")
    if settings.rounds is not None:
        return carried + settings.trials
    if stored is None:  # a study begun before plans were stored: its trials so far, plus more
        return studies.count(study, studies.FINISHED) + settings.trials + settings.add_trials
    return stored + settings.add_trials


def join_study(
    storage: str | None,
    study: str,
    *,
    data_dir: str | Path = "data",
    team_storage: str | None = None,
    workers: int = 1,
    threads: int = 1,
    device: str = "cpu",
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Add workers (e.g. on another machine) to a running study until its planned trials are done.

    Everything else (dataset, space, epochs, sampler, pruner, seed, plan) comes from the study;
    the machine that started it trains the finalists and writes the outputs.
    """
    spec = resolve_storage(storage, data_dir, team_storage)
    opened = open_storage(spec)
    if study not in studies.stored_names(opened):
        raise InputError(f"no study '{study}' in {redact(spec)}; start it first with --study")
    loaded = optuna.load_study(study_name=study, storage=opened)
    attrs = loaded.user_attrs
    settings = SearchSettings(
        **read_stored(attrs),
        dataset=attrs.get("dataset") or (None if "objective_name" in attrs else "digits"),
        label=attrs.get("label"),
        classification=ClassificationOptions(**attrs.get("classification", {})),
        sampler=attrs.get("sampler", "tpe"),
        pruner=attrs.get("pruner", "median"),
        seed=attrs.get("seed", 0),
        space=studies.space_of(loaded),
        workers=workers,
        threads=threads,
        device=device,
    )
    settings.check()
    first_index = 1000 + os.getpid() % 100_000  # distinct sampler seeds from other machines
    job = RoundJob(
        settings, spec, study, settings.space, attrs["epochs"], attrs["target"], first_index
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
    stop_reason = failing_start(done)
    if stop_reason:
        raise InputError(stop_reason)
    return {"study": study, "storage": redact(spec), "joined": True, **studies.progress(done)}


def _resume_settings(
    storage: optuna.storages.BaseStorage, first: str, settings: SearchSettings
) -> SearchSettings:
    """On resume, the stored dataset and space win; a conflicting explicit dataset is refused."""
    default = "digits" if settings.objective is None else None
    if first not in studies.stored_names(storage):
        return replace(settings, dataset=settings.dataset or default)
    stored = optuna.load_study(study_name=first, storage=storage)
    attrs = stored.user_attrs
    dataset = attrs.get("dataset") or default
    if settings.dataset and settings.dataset != dataset:
        raise InputError(
            f"study '{first}' searched dataset '{dataset}', not '{settings.dataset}'; "
            "use the same dataset or a new study name"
        )
    options = attrs.get("classification")
    return replace(
        settings,
        dataset=dataset,
        label=attrs.get("label"),
        space=studies.space_of(stored) if "space" in attrs else settings.space,
        classification=ClassificationOptions(**options) if options else settings.classification,
    )


def _open_round(
    storage: optuna.storages.BaseStorage,
    name: str,
    settings: SearchSettings,
    space: SearchSpace,
    epochs: int,
    number: int,
    previous: tuple[optuna.Study, SearchSpace] | None,
) -> tuple[optuna.Study, SearchSpace, int, int]:
    """Load or create the round's study; a new narrowed round carries over earlier trials
    that lie inside its bounds. Returns (study, space, epochs, carried count)."""
    if name in studies.stored_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        if not studies.minimizes(study):
            raise InputError(
                f"study '{name}' was made by an older desk that maximised dev accuracy; every "
                "search now minimises dev error: start it under a new study name"
            )
        attrs = study.user_attrs
        stored = studies.space_of(study) if "space" in attrs else space
        carried = sum(
            studies.CARRIED_ATTR in t.user_attrs for t in study.get_trials(deepcopy=False)
        )
        return study, stored, attrs.get("epochs", epochs), carried
    study = optuna.create_study(
        study_name=name, storage=storage, directions=settings.goal.directions
    )
    attrs = {
        "objective": stored_objective(settings.objective),
        "objective_name": objective_name(settings.objective),
        "goal": settings.goal.to_dict(),
        "metric_name": settings.metric,
        "human": list(settings.human),
        "out_dir": settings.out_dir,
        "keep": settings.keep,
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
        for trial in studies.own_trials(previous[0]):
            if trial.state == TrialState.COMPLETE and space.contains(
                previous[1].decode(trial.params)
            ):
                study.add_trial(_carried_trial(trial, space, previous[0].study_name))
                carried += 1
        # the last round's best configurations run first at this round's epochs (a promotion,
        # as in successive halving): the new round starts from its best known point
        for trial in studies.top_trials(previous[0], settings.promote)[: settings.trials]:
            promoted = {"promoted_from": f"{previous[0].study_name}#{trial.number}"}
            study.enqueue_trial(_params_within(trial, space), user_attrs=promoted)
    return study, space, epochs, carried


def _params_within(trial: optuna.trial.FrozenTrial, space: SearchSpace) -> dict[str, Any]:
    """The trial's (Optuna) parameters, floats clipped into ``space`` (rounding at its edges)."""
    params: dict[str, Any] = {}
    for name, dist in space.distributions().items():
        value = trial.params[name]
        if isinstance(dist, optuna.distributions.FloatDistribution):
            value = min(max(value, dist.low), dist.high)
        params[name] = value
    return params


def _carried_trial(
    trial: optuna.trial.FrozenTrial, space: SearchSpace, source: str
) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params=_params_within(trial, space),
        distributions=space.distributions(),
        values=trial.values,
        user_attrs={**trial.user_attrs, studies.CARRIED_ATTR: f"{source}#{trial.number}"},
    )
