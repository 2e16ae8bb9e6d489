"""The Splits feature without the UI: a plan from typed sizes, and a plan applied to a dataset.

The page, the ``split`` command and the report call these, so a size typed anywhere gives the
same plan and the same messages (each naming the field in the caller's words: a flag on the
command line, a label on the page). Every number comes from :mod:`diagnostics.splits` and
:mod:`diagnostics.split_assign`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from diagnostics.output_files import file_with_column
from diagnostics.rates import parse_rate
from diagnostics.split_assign import (
    SPLIT_COLUMN,
    SplitAssignment,
    apply_plan,
    check_columns,
    plan_for_dataset,
    read_dataset,
)
from diagnostics.splits import SplitPlan, check_size, plan_mismatched, plan_split
from diagnostics.validation import InputError
from strategy_app.auth import User, require
from strategy_app.store import SplitPageState, Store, one_transaction
from strategy_app.store.audit import SPLIT_CHOICES, UPLOAD, changed_fields
from strategy_app.store.projects import DATASET_LABEL


@dataclass(frozen=True)
class FieldNames:
    """How the caller's user names each input, for messages (flags or page labels)."""

    size: str
    source: str
    target: str
    min_difference: str
    baseline_error: str
    disagreement: str = "--disagreement"


CLI_FIELDS = FieldNames("--size", "--source", "--target", "--min-difference", "--baseline-error")
REPORT_FIELDS = replace(CLI_FIELDS, size="--split-size")
PAGE_FIELDS = FieldNames(
    "dataset size",
    "source size",
    "target size",
    "smallest difference to detect",
    "expected error rate",
    "share of examples the two models disagree on",
)


def plan_options(
    *,
    test: bool = True,
    train_dev: bool = True,
    min_difference: str | None = None,
    baseline_error: str | None = None,
    disagreement: str | None = None,
    fields: FieldNames = CLI_FIELDS,
) -> dict:
    """The planners' options from typed text (rates such as ``0.5%``; empty means not given)."""

    def rate(text: str | None, what: str) -> float | None:
        return parse_rate(text, what=what) if text is not None and str(text).strip() else None

    return {
        "test": test,
        "train_dev": train_dev,
        "min_difference": rate(min_difference, fields.min_difference),
        "baseline_error": rate(baseline_error, fields.baseline_error),
        "disagreement": rate(disagreement, fields.disagreement),
    }


def plan_from_sizes(
    *,
    size: str | int | None = None,
    source: str | int | None = None,
    target: str | int | None = None,
    source_name: str = "source",
    target_name: str = "target",
    options: Mapping | None = None,
    fields: FieldNames = CLI_FIELDS,
) -> SplitPlan | None:
    """The plan for ``size`` examples, or for ``source`` plus ``target`` (mismatched data).

    None when no size is given; an InputError names the field (``fields``) that is wrong.
    ``options`` are :func:`plan_options`.
    """
    given = {k: v for k, v in (("size", size), ("source", source), ("target", target)) if _typed(v)}
    options = dict(options or {})
    if "size" in given:
        if "source" in given or "target" in given:
            raise InputError(
                f"give either {fields.size} or {fields.source} and {fields.target}, not both"
            )
        return plan_split(check_size(size, fields.size), **options)
    if not given:
        return None
    if len(given) == 1:
        missing = fields.target if "source" in given else fields.source
        raise InputError(
            f"a mismatched plan needs both {fields.source} and {fields.target} ({missing} missing)"
        )
    return plan_mismatched(
        check_size(source, f"{fields.source} ({source_name})"),
        check_size(target, f"{fields.target} ({target_name})"),
        source_name=source_name.strip() or "source",
        target_name=target_name.strip() or "target",
        **options,
    )


def _typed(value) -> bool:
    return value is not None and str(value).strip() != ""


def page_plan(state: SplitPageState) -> SplitPlan | None:
    """The plan of the Splits page's saved inputs (None while no size is typed)."""
    options = plan_options(
        test=state.test,
        train_dev=state.train_dev,
        min_difference=state.min_difference,
        baseline_error=state.baseline_error,
        fields=PAGE_FIELDS,
    )
    if state.mode == "single":
        return plan_from_sizes(size=state.size, options=options, fields=PAGE_FIELDS)
    return plan_from_sizes(
        source=state.source,
        target=state.target,
        source_name=state.source_name,
        target_name=state.target_name,
        options=options,
        fields=PAGE_FIELDS,
    )


def project_plan(store: Store, project_id: int) -> SplitPlan | None:
    """The project's saved split plan, or None when none is designed (or it no longer parses)."""
    try:
        return page_plan(store.split_plans.load(project_id))
    except InputError:
        return None


@dataclass(frozen=True)
class AssignRequest:
    """How to apply a plan to a dataset: the columns to respect and the plan's source."""

    label: str | None = None
    group: str | None = None
    source_column: str | None = None
    target_value: str | None = None
    source_name: str = "source"
    hash_column: str | None = None
    fractions: str | None = None
    seed: int = 0


def assign(
    frame: pd.DataFrame, request: AssignRequest, options: Mapping, *, name: str
) -> SplitAssignment:
    """Plan ``frame``'s splits (given fractions, mismatched by a column, or by its size) and
    assign every row, keeping groups whole and labels stratified; checks leakage."""
    columns = [request.label, request.group, request.source_column, request.hash_column]
    check_columns(frame, columns, name)
    plan = plan_for_dataset(
        frame,
        fractions=request.fractions,
        source_column=request.source_column,
        target_value=request.target_value,
        source_name=request.source_name.strip() or "source",
        **options,
    )
    return apply_plan(
        frame,
        plan,
        label=request.label,
        group=request.group,
        source_column=request.source_column,
        target_value=request.target_value,
        hash_column=request.hash_column,
        seed=request.seed,
        name=name,
    )


def page_request(state: SplitPageState) -> AssignRequest:
    """The assignment the Splits page's saved column choices ask for."""
    return AssignRequest(
        label=state.label,
        group=state.group,
        source_column=state.source_column,
        target_value=state.target_value,
        source_name=state.source_name,
        hash_column=state.hash_column,
        seed=state.seed,
    )


def page_assignment(frame: pd.DataFrame, state: SplitPageState, name: str) -> SplitAssignment:
    """The Splits page's dataset assigned with its saved choices and plan options."""
    options = plan_options(
        test=state.test,
        train_dev=state.train_dev,
        min_difference=state.min_difference,
        baseline_error=state.baseline_error,
        fields=PAGE_FIELDS,
    )
    return assign(frame, page_request(state), options, name=name)


def split_values(assignment: SplitAssignment) -> list[str]:
    """The assignment's split names, row by row, as the ``split`` column's values."""
    return assignment.split.astype(str).tolist()


def assigned_file(path: str | Path, assignment: SplitAssignment) -> bytes:
    """The dataset file with the assignment as its ``split`` column, every value as written."""
    return file_with_column(path, SPLIT_COLUMN, split_values(assignment))


def search_file(
    path: str | Path, columns: list[str], assignment: SplitAssignment, label: str
) -> bytes:
    """The dataset as a search trains on it: its ``split`` column, the label column named
    ``label`` (the name a project's dataset uses), every other value as written."""
    if label != DATASET_LABEL and DATASET_LABEL in columns:
        raise InputError(
            f"the dataset has a column '{DATASET_LABEL}' that is not its label ('{label}'); "
            "rename one of them and upload it again"
        )
    return file_with_column(
        path, SPLIT_COLUMN, split_values(assignment), rename={label: DATASET_LABEL}
    )


@one_transaction
def accept_dataset(
    store: Store, project_id: int, name: str, data: bytes, user: User
) -> SplitPageState:
    """Read the dataset and, only if it is readable, save it as the project's dataset.

    Column choices the new file lacks are cleared; on bad input the InputError propagates and
    the saved state stays as it was. ``user`` must be an editor; the upload is audited.
    """
    require(user, "upload files")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        columns = set(read_dataset(path, display_name=name).columns)
    upload = store.uploads.add(name, data)
    state = store.split_plans.load(project_id)

    def kept(column: str | None) -> str | None:
        return column if column in columns else None

    state = replace(
        state,
        upload_sha256=upload.sha256,
        upload_name=name,
        label=kept(state.label),
        group=kept(state.group),
        source_column=kept(state.source_column),
        target_value=state.target_value if kept(state.source_column) else None,
        hash_column=kept(state.hash_column),
    )
    store.split_plans.save(project_id, state)
    store.audit.record(user.identity, UPLOAD, project_id, name, {"sha256": upload.sha256})
    return state


@one_transaction
def save_choices(store: Store, project_id: int, state: SplitPageState, user: User) -> bool:
    """Save the Splits page's sizes and column choices when ``user`` may design splits (an
    editor); other roles try plans without saving them. Returns whether it saved."""
    if not user.can("design splits"):
        return False
    before = store.split_plans.load(project_id)
    if before != state:
        store.split_plans.save(project_id, state)
        detail = changed_fields(before, state)
        store.audit.record(user.identity, SPLIT_CHOICES, project_id, None, detail)
    return True
