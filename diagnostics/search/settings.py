"""What a search is asked to do: :class:`SearchSettings`, checked in the caller's words.

The settings arrive once, parsed at the edge (flags on the command line, widgets on the page):
the space is a :class:`~diagnostics.search.space.SearchSpace`, never re-parsed on its way to
Optuna. :class:`RoundJob` is what every worker of one round needs (picklable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from diagnostics.search.choices import PRUNERS, SAMPLERS
from diagnostics.search.datasets import ClassificationOptions
from diagnostics.search.objective import Goal
from diagnostics.search.script import CommandObjective
from diagnostics.search.space import SearchSpace
from diagnostics.search.tracking import check_tracking
from diagnostics.validation import InputError

# How each checked setting is called where it was typed (messages use the caller's words).
CLI_WORDS = {
    "sampler": "--sampler",
    "pruner": "--pruner",
    "trials": "--trials",
    "add_trials": "--add-trials",
    "epochs": "--epochs",
    "rounds": "--rounds",
    "workers": "--workers",
    "threads": "--threads",
    "top_k": "--top-k",
    "promote": "--promote",
    "finalists": "finalists",
    "study": "--study",
    "keep": "--keep",
}


def search_inputs(settings: SearchSettings, spec: str) -> list[str | None]:
    """The files a search reads (a ``csv:``/``parquet:`` dataset, its storage file), none of
    which it may write; remote locations are left out."""
    kind, _, path = (settings.dataset or "").partition(":")
    storage = spec.removeprefix("sqlite:///")
    return [path if kind in ("csv", "parquet") else None, None if "://" in storage else storage]


class SearchStopped(Exception):
    """A stop was requested; the worker ends after the current epoch."""


@dataclass(frozen=True)
class SearchSettings:
    """A search as the CLI or a page describes it (picklable, sent to worker processes).

    ``trials`` is the plan (per round); running a study again finishes that plan, and
    ``add_trials`` extends a plain study's plan explicitly. ``team_storage`` is the team's
    database URL, used for the study when ``storage`` is not given (see
    :func:`~diagnostics.search.storage.resolve_storage`).
    """

    dataset: str | None = None
    label: str | None = None
    classification: ClassificationOptions = field(default_factory=ClassificationOptions)
    sampler: str = "tpe"
    pruner: str = "median"
    trials: int = 20
    add_trials: int = 0
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
    team_storage: str | None = None
    study: str | None = None
    seed: int = 0
    space: SearchSpace = field(default_factory=SearchSpace.default)
    device: str = "cpu"
    data_dir: str = "data"
    out_dir: str | None = None
    grace_s: int = 120
    max_retry: int = 3
    mlflow: str | None = None  # tracking URI: every trial logged (diagnostics.search.tracking)
    # the user's objective (issue 26): None is the built-in MLP; else a callable
    # ``(params, context) -> predictions``, a ``package.module:function`` string or a
    # :class:`~diagnostics.search.script.CommandObjective`
    objective: Any = None
    goal: Goal = field(default_factory=Goal)
    metric: str | None = None  # error, mae or rmse (None: detected from the predictions)
    human: tuple[str, ...] = ()  # human levels, as ``diagnose --human`` reads them
    gpus: tuple[int, ...] = ()  # with device cuda: worker i trains on cuda:gpus[i % len]
    keep: int = 5  # trials whose predictions stay on disk (besides the Pareto front)
    # ``--target-pool`` of a target-data curve (diagnostics.search.pool): SPLIT or COLUMN=VALUE
    target_pool: str | None = None

    def check(self, words: Mapping[str, str] = CLI_WORDS) -> None:
        """Refuse settings no search can run with; messages name each setting by ``words``."""

        def say(name: str) -> str:
            return words.get(name, name.replace("_", " "))

        if self.sampler not in SAMPLERS:
            choices = ", ".join(SAMPLERS)
            raise InputError(f"{say('sampler')}: unknown '{self.sampler}'; choose {choices}")
        if self.pruner not in PRUNERS:
            choices = ", ".join(PRUNERS)
            raise InputError(f"{say('pruner')}: unknown '{self.pruner}'; choose {choices}")
        for name in ("trials", "epochs", "workers", "threads", "top_k", "finalists"):
            if getattr(self, name) < 1:
                raise InputError(f"{say(name)} must be at least 1")
        for name in ("promote", "add_trials"):
            if getattr(self, name) < 0:
                raise InputError(f"{say(name)} must be 0 or more")
        if self.rounds is not None and self.rounds < 1:
            raise InputError(f"{say('rounds')} must be at least 1")
        if self.add_trials and self.rounds is not None:
            raise InputError(
                f"{say('add_trials')} extends a plain study; coarse-to-fine rounds keep their plan"
            )
        if self.study is not None and not self.study.strip():
            raise InputError(f"{say('study')} must not be empty")
        if self.sampler == "grid":
            self.space.grid()
        if self.objective is None and (self.goal != Goal() or self.sampler == "nsga2"):
            raise InputError(
                "the built-in MLP minimises dev error and trains its finalists again; "
                "--optimize, --constraint and the nsga2 sampler go with --objective or --command"
            )
        if self.gpus and self.device != "cuda":
            raise InputError("--gpus places workers on CUDA devices: add --device cuda")
        if self.keep < 1:
            raise InputError(f"{say('keep')} must be at least 1")
        check_tracking(self.mlflow)


def settings_to_dict(settings: SearchSettings) -> dict[str, Any]:
    """The settings as one JSON object: what the service writes for a worker process to read
    (``search --settings FILE``). A Python function as the objective cannot cross as a file:
    give it as ``package.module:function``."""
    objective = settings.objective
    if isinstance(objective, CommandObjective):
        objective = {"command": list(objective.argv), "timeout_s": objective.timeout_s}
    elif objective is not None and not isinstance(objective, str):
        raise InputError(
            "a settings file names its objective as package.module:function or a command, "
            "not a Python function"
        )
    plain = {f.name: getattr(settings, f.name) for f in fields(settings)}
    return {
        **plain,
        "classification": asdict(settings.classification),
        "space": settings.space.to_dict(),
        "goal": settings.goal.to_dict(),
        "objective": objective,
        "human": list(settings.human),
        "gpus": list(settings.gpus),
    }


def settings_from_dict(data: dict[str, Any], source: str = "settings") -> SearchSettings:
    """Read :func:`settings_to_dict`'s object back; unknown keys are refused."""
    names = {f.name for f in fields(SearchSettings)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"{source}: unknown setting '{unknown[0]}'")
    objective = data.get("objective")
    if isinstance(objective, dict):
        objective = CommandObjective(tuple(objective["command"]), objective.get("timeout_s"))
    builtin = objective is None
    space = data.get("space")
    return replace(
        SearchSettings(),
        **{
            **data,
            "classification": ClassificationOptions(**data.get("classification", {})),
            "space": SearchSpace.from_dict(space, None if not builtin else _mlp_names(), source)
            if space
            else SearchSpace.default(),
            "goal": Goal.from_dict(data.get("goal")),
            "objective": objective,
            "human": tuple(data.get("human", ())),
            "gpus": tuple(data.get("gpus", ())),
        },
    )


def write_settings(settings: SearchSettings, path: str | Path) -> Path:
    """Write the settings file a worker process reads; returns its path."""
    path = Path(path)
    path.write_text(json.dumps(settings_to_dict(settings), indent=2))
    return path


def read_settings(path: str | Path) -> SearchSettings:
    """Read a settings file (``search --settings FILE``)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise InputError(f"--settings {path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--settings {path}: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"--settings {path}: expected a JSON object of settings")
    return settings_from_dict(data, source=str(path))


def _mlp_names() -> frozenset[str]:
    from diagnostics.search.training import PARAM_NAMES  # torch: only for the built-in MLP

    return PARAM_NAMES


@dataclass(frozen=True)
class RoundJob:
    """One round's study: what every worker of it needs."""

    settings: SearchSettings
    storage: str
    study: str
    space: SearchSpace
    epochs: int
    target: int
    first_index: int = 0
