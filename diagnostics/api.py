"""The Python API for notebooks: the CLI's computations on files or in-memory tables.

Each function takes what a notebook holds (a pandas DataFrame, a pyarrow Table, a dict of
arrays, or a file path, as :func:`~diagnostics.ingest.read_predictions` reads them) and returns
the object the CLI prints: ``to_dict()`` is the ``--json`` form, and in Jupyter the result shows
the report's own tables and charts (``_repr_html_``). Bad input raises
:class:`~diagnostics.validation.InputError` with the CLI's message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeAlias, TypeVar

import pandas as pd

from diagnostics import ceiling, errors, splits
from diagnostics.ceiling import Ceiling
from diagnostics.fastscan import scan_split_metrics
from diagnostics.ingest import InMemoryTable, Predictions, read_predictions
from diagnostics.splits import SplitPlan
from diagnostics.validation import InputError
from diagnostics.waterfall import (
    Diagnosis,
    HumanLevel,
    diagnose_slices,
    parse_human_levels,
    slices_to_dict,
)
from diagnostics.waterfall import diagnose as diagnose_levels

PredictionsInput: TypeAlias = str | os.PathLike[str] | InMemoryTable
HumanInput: TypeAlias = (
    float | str | HumanLevel | Sequence[float | str | HumanLevel] | Mapping[str, float]
)


R = TypeVar("R")


def _as(result: Any, view: type[R]) -> R:
    """``result`` (a dataclass) as its notebook subclass ``view``, field for field."""
    return view(**{f.name: getattr(result, f.name) for f in fields(result) if f.init})


@dataclass
class NotebookDiagnosis(Diagnosis):
    """A diagnosis that Jupyter shows as the report's waterfall, gap table, plan and warnings
    (the view lives here, so the result types never import their renderer)."""

    def _repr_html_(self) -> str:
        """Jupyter's view of the diagnosis."""
        from diagnostics.report import DIAGNOSIS_SECTIONS, ReportInputs, render_fragment

        return render_fragment(ReportInputs(diagnosis=self), DIAGNOSIS_SECTIONS)


@dataclass
class SlicedDiagnosis(NotebookDiagnosis):
    """A diagnosis with one more waterfall per value of a slice column (``diagnose --slice``)."""

    slice_column: str = ""
    slices: list[tuple[str, Diagnosis]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``diagnose --slice COLUMN --json`` contract."""
        return {**super().to_dict(), "slices": slices_to_dict(self.slice_column, self.slices)}

    def _repr_html_(self) -> str:
        """Jupyter's view: the whole waterfall, then the per-slice table."""
        from diagnostics.report import DIAGNOSIS_SECTIONS, ReportInputs, render_fragment

        inputs = ReportInputs(diagnosis=self, slice_column=self.slice_column, slices=self.slices)
        return render_fragment(inputs, (*DIAGNOSIS_SECTIONS, "slices"))


@dataclass(frozen=True)
class NotebookSplitPlan(SplitPlan):
    """A split plan that Jupyter shows as the report's split plan section."""

    def _repr_html_(self) -> str:
        """Jupyter's view of the plan."""
        from diagnostics.report import ReportInputs, render_fragment

        return render_fragment(ReportInputs(split_plan=self), ("splits",))


@dataclass(frozen=True)
class NotebookCeiling(Ceiling):
    """A ceiling table that Jupyter shows as the report's ceiling chart and table."""

    def _repr_html_(self) -> str:
        """Jupyter's view of the ceiling table."""
        from diagnostics.report import ReportInputs, render_fragment

        return render_fragment(ReportInputs(ceiling=self), ("ceiling",))


def plan_split(*args: Any, **options: Any) -> NotebookSplitPlan:
    """:func:`diagnostics.splits.plan_split`, shown in Jupyter as the report's section."""
    return _as(splits.plan_split(*args, **options), NotebookSplitPlan)


def plan_mismatched(*args: Any, **options: Any) -> NotebookSplitPlan:
    """:func:`diagnostics.splits.plan_mismatched`, shown in Jupyter as the report's section."""
    return _as(splits.plan_mismatched(*args, **options), NotebookSplitPlan)


def ceiling_from_counts(*args: Any, **options: Any) -> NotebookCeiling:
    """:func:`diagnostics.ceiling.ceiling_from_counts`, shown in Jupyter as the report's
    ceiling."""
    return _as(ceiling.ceiling_from_counts(*args, **options), NotebookCeiling)


def ceiling_from_tags(*args: Any, **options: Any) -> NotebookCeiling:
    """:func:`diagnostics.ceiling.ceiling_from_tags`, shown in Jupyter as the report's
    ceiling."""
    return _as(ceiling.ceiling_from_tags(*args, **options), NotebookCeiling)


def human_levels(human: HumanInput, metric: str = "error") -> list[HumanLevel]:
    """Human levels as the CLI's ``--human`` reads them: ``0.005``, ``"0.5%"``, ``"expert=0.5%"``,
    a ``{name: value}`` mapping, or a list of these (the best is the Bayes proxy).

    >>> [(h.name, h.value) for h in human_levels({"expert": 0.005, "crowd": "2%"})]
    [('expert', 0.005), ('crowd', 0.02)]
    """
    if isinstance(human, Mapping):
        human = [f"{name}={value}" for name, value in human.items()]
    elif isinstance(human, (str, float, int, HumanLevel)):
        human = [human]
    return parse_human_levels(human, metric)


def diagnose(
    predictions: PredictionsInput,
    human: HumanInput = (),
    *,
    metric: str | None = None,
    slice_column: str | None = None,
    unit: str = "",
) -> Diagnosis:
    """The error waterfall of a model's predictions, as ``diagnose PREDICTIONS --json`` gives it.

    ``predictions`` has the columns ``split``, ``y_true``, ``y_pred`` (and optionally ``id``,
    ``weight``, a score, a slice column); ``human`` is the human-level error (see
    :func:`human_levels`); ``metric`` forces ``error``, ``mae`` or ``rmse``; ``slice_column``
    adds one waterfall per value of that column (a :class:`SlicedDiagnosis`); ``unit`` names a
    regression metric's unit. ``to_dict()`` equals the CLI's JSON on the same data.

    >>> frame = pd.DataFrame({
    ...     "split": ["train"] * 4 + ["dev"] * 4,
    ...     "y_true": [0, 1, 0, 1, 0, 1, 0, 1],
    ...     "y_pred": [0, 1, 0, 1, 0, 0, 0, 0],
    ... })
    >>> diagnosis = diagnose(frame, human="0%")
    >>> diagnosis.levels["dev"], diagnosis.to_dict()["gaps"]["variance"]
    (0.5, 0.5)
    >>> diagnosis.gaps["variance"].within_noise  # four rows a split: its interval spans 0
    True
    """
    scan = scan_split_metrics(predictions, metric=metric, slice_column=slice_column)
    humans = human_levels(human, scan.metric)
    diagnosis = diagnose_levels(scan.splits, humans, metric=scan.metric, unit=unit)
    if not slice_column:
        return _as(diagnosis, NotebookDiagnosis)
    slices = diagnose_slices(scan.slices, humans, metric=scan.metric, unit=unit)
    parts = {f.name: getattr(diagnosis, f.name) for f in fields(Diagnosis)}
    return SlicedDiagnosis(**parts, slice_column=slice_column, slices=slices)


def sample_errors(
    predictions: PredictionsInput | Predictions,
    n: int = errors.DEFAULT_SAMPLE_SIZE,
    *,
    seed: int = 0,
    stratify: bool = False,
) -> pd.DataFrame:
    """A seeded sample of ``n`` misclassified dev examples to tag, as ``errors --n N`` draws it.

    >>> frame = pd.DataFrame({
    ...     "id": ["a", "b", "c", "d"],
    ...     "split": "dev",
    ...     "y_true": [1, 2, 3, 4],
    ...     "y_pred": [1, 0, 3, 0],
    ... })
    >>> sorted(sample_errors(frame, n=10)["id"])
    ['b', 'd']
    """
    if not isinstance(predictions, Predictions):
        predictions = read_predictions(predictions, metric="error")
    return errors.sample_errors(predictions, n, seed=seed, stratify=stratify)


def run_search(
    objective: Any = None,
    *,
    space: Mapping[str, Any] | Any = None,
    dataset: str | None = None,
    optimize: str = "dev_error",
    constraint: str | None = None,
    human: Sequence[str] = (),
    data_dir: str | os.PathLike[str] = "data",
    **settings: Any,
) -> dict[str, Any]:
    """A hyperparameter search over your model (Optuna), as ``search --json`` returns it.

    ``objective(params, context)`` trains one configuration and returns its predictions on
    every split (a DataFrame or CSV/Parquet path with ``id, split, y_true, y_pred``; see
    :mod:`diagnostics.search.objective`); ``space`` is ``{name: {"type": ..., ...}}`` in your
    own names. Every trial is scored by the waterfall Diagnose computes; ``optimize`` is
    ``dev_error`` (default), a gap name, or two targets (``dev_error,data_mismatch``,
    ``dev_error,time``); ``constraint`` bounds a gap (``"data_mismatch<=0.02"``). Without an
    objective the built-in MLP searches ``dataset`` (``digits``, ``csv:PATH``, …). ``settings``
    are the fields of :class:`~diagnostics.search.settings.SearchSettings` (``trials``,
    ``sampler``, ``pruner``, ``rounds``, ``storage``, ``study``, ``workers``, ``metric``, …).
    Outputs go under ``data_dir`` (``search/STUDY/predictions.csv``, which :func:`diagnose`
    reads). Imports Optuna (and torch) only when called.

    >>> import tempfile
    >>> def objective(params, context):
    ...     dev = [1, 0] if params["k"] < 2 else [0, 1]  # k ≥ 2 gets dev right
    ...     return pd.DataFrame({"split": ["train", "train", "dev", "dev"],
    ...                          "y_true": [0, 1, 0, 1], "y_pred": [0, 1, *dev]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     result = run_search(objective, space={"k": {"type": "int", "low": 1, "high": 3}},
    ...                         trials=4, sampler="random", pruner="none", data_dir=folder)
    >>> result["n_complete"], result["best"]["dev_error"], sorted(result["trials"][0]["levels"])
    (4, 0.0, ['dev', 'human', 'test', 'train', 'train_dev'])
    """
    from diagnostics.search.objective import Goal
    from diagnostics.search.rounds import run_search as run
    from diagnostics.search.settings import SearchSettings
    from diagnostics.search.space import SearchSpace

    if objective is None:
        if space is not None:
            settings["space"] = (
                space if isinstance(space, SearchSpace) else (SearchSpace.from_dict(space))
            )
        return run(SearchSettings(dataset=dataset or "digits", data_dir=str(data_dir), **settings))
    if space is None:
        raise InputError("run_search(objective, space=...): give the space of your parameters")
    return run(
        SearchSettings(
            objective=objective,
            space=space if isinstance(space, SearchSpace) else SearchSpace.from_dict(space),
            dataset=dataset,
            goal=Goal.parse(optimize, constraint),
            human=tuple(human),
            data_dir=str(data_dir),
            **settings,
        )
    )
