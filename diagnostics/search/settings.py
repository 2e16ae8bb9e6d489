"""What a search is asked to do: :class:`SearchSettings`, checked in the caller's words.

The settings arrive once, parsed at the edge (flags on the command line, widgets on the page):
the space is a :class:`~diagnostics.search.space.SearchSpace`, never re-parsed on its way to
Optuna. :class:`RoundJob` is what every worker of one round needs (picklable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from diagnostics.search.choices import PRUNERS, SAMPLERS
from diagnostics.search.datasets import ClassificationOptions
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
}


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
        check_tracking(self.mlflow)


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
