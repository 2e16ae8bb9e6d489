"""The Report feature without the UI: a report's inputs from the same services the pages use.

A saved project's report holds every section the project has content for: its diagnosis and
slices (:mod:`strategy_app.diagnose.service`), its split plan (:mod:`strategy_app.splits.service`),
the ceiling of its tagged errors (:mod:`strategy_app.errors.service`) and its newest finished
search (:mod:`strategy_app.search.service`) and its version's learning and target-data curves
(:mod:`strategy_app.curve.saved`). The page and ``report --project`` call
:func:`project_inputs`; ``report`` with files builds the same
:class:`~diagnostics.report.ReportInputs` from them.
"""

from __future__ import annotations

from pathlib import Path

from diagnostics.ceiling import Ceiling
from diagnostics.report import ReportInputs, report_data
from diagnostics.tags import read_tags_csv, table_ceiling
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis
from strategy_app.auth import User, require
from strategy_app.curve.saved import readable_curve
from strategy_app.curve.service import TARGET
from strategy_app.diagnose.service import DiagnosisResult, compare_versions, compute, error_slices
from strategy_app.errors import service as errors
from strategy_app.errors import similar
from strategy_app.splits.service import project_plan
from strategy_app.store import DiagnoseState, ModelVersion, Project, Store, one_transaction
from strategy_app.store.audit import SHARE_CREATE, SHARE_REVOKE
from strategy_app.store.schema import ReportShare


def project_inputs(
    store: Store,
    project: Project,
    version: ModelVersion | None = None,
    *,
    title: str | None = None,
) -> ReportInputs:
    """Every section a saved project has content for, at ``version`` (the project's current
    version when None: the CLI's; the page passes the one its session shows).

    Raises InputError when the saved predictions cannot be read.
    """
    from strategy_app.search import service as search  # torch and Optuna: only for a project

    if version is None:
        version = store.versions.current(project.id)
    state = version.state if version is not None else DiagnoseState()
    inputs = inputs_from_result(project, state, compute(store, state), title=title)
    inputs.error_slices = error_slices(store, state)
    inputs.split_plan = project_plan(store, project.id)
    if version is not None:
        inputs.ceiling = errors.version_ceiling(store, version)
        if inputs.ceiling is not None:
            inputs.ceiling = similar.version_spread(store, version, inputs.ceiling)
        inputs.comparison = previous_comparison(store, version)
        inputs.learning_curve = readable_curve(store, version)
        inputs.target_curve = readable_curve(store, version, TARGET)
    inputs.search = search.search_summary(store, project.id)
    return inputs


def previous_comparison(store: Store, version: ModelVersion) -> dict | None:
    """The version compared with the newest earlier version made from predictions (the
    "What changed" section); None without one, or when the two cannot be compared."""
    earlier = [
        v
        for v in store.versions.list(version.project_id)
        if v.number < version.number and v.state.source == "upload"
    ]
    if not earlier or version.state.source != "upload":
        return None
    try:
        return compare_versions(store, earlier[0], version).to_dict()
    except InputError:
        return None


def inputs_from_result(
    project: Project, state: DiagnoseState, result: DiagnosisResult, *, title: str | None = None
) -> ReportInputs:
    """The report inputs of a project's computed diagnosis (raises InputError on its error)."""
    if result.error:
        raise InputError(f"project '{project.name}': {result.error}")
    return ReportInputs(
        title=title or ReportInputs.title,
        project=project.name,
        source=state.upload_name if state.source == "upload" else "typed levels",
        diagnosis=result.diagnosis,
        slice_column=state.slice_column if result.slices else None,
        slices=result.slices,
        floor=result.floor,
    )


def dev_error_of(diagnosis: Diagnosis | None) -> float | None:
    """The dev error rate of a diagnosis, for the ceiling table (None without one)."""
    if diagnosis is None or diagnosis.levels.get("dev") is None:
        return None
    if diagnosis.metric != "error":
        raise InputError(
            f"the ceiling table needs an error rate; these predictions use {diagnosis.metric}"
        )
    return diagnosis.levels["dev"]


def ceiling_from_labels(
    path: str | Path, dev_error: float, *, spread: str | Path | None = None
) -> Ceiling:
    """The ceiling table of a tags CSV (consensus over annotators), at ``dev_error``; with the
    spread estimate over the embeddings of the predictions file ``spread`` when given."""
    table = read_tags_csv(path)
    ceiling, _ = table_ceiling(table, dev_error, source=str(path))
    if spread is None:
        return ceiling
    predictions, dev = similar.read_embedded(spread)
    return similar.with_spread(ceiling, table, dev, source=predictions.source)


# The audit names a share link by the start of its token only: the log never opens a link.
TOKEN_SHOWN = 6


@one_transaction
def create_share(
    store: Store,
    project_id: int,
    inputs: ReportInputs,
    sections: list[str],
    html: str,
    user: User,
) -> ReportShare:
    """A read-only link to a snapshot of the report (an editor may); audited."""
    require(user, "manage share links")
    share = store.shares.create(project_id, inputs.title, html, report_data(inputs, sections))
    detail = {"title": share.title, "token": share.token[:TOKEN_SHOWN]}
    store.audit.record(user.identity, SHARE_CREATE, project_id, None, detail)
    return share


@one_transaction
def revoke_share(store: Store, project_id: int, token: str, user: User) -> bool:
    """Revoke one of the project's share links for good (an editor may); audited.

    Returns False when the project has no such live link.
    """
    require(user, "manage share links")
    share = next((s for s in store.shares.list(project_id) if s.token == token), None)
    if share is None or not store.shares.revoke(token):
        return False
    detail = {"title": share.title, "token": token[:TOKEN_SHOWN]}
    store.audit.record(user.identity, SHARE_REVOKE, project_id, None, detail)
    return True
