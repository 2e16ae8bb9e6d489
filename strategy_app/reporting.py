"""Gather a report's inputs: from a saved project, a tags CSV, a split plan or a search study.

The page and the ``report`` command both build :class:`~diagnostics.report.ReportInputs` here,
so they show the same numbers. Split plans and search studies come from
:mod:`diagnostics.splits` and Optuna storage through small adapters.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import optuna

from diagnostics.ceiling import Ceiling, ceiling_from_tags
from diagnostics.ingest import read_predictions
from diagnostics.report import ReportInputs, report_data
from diagnostics.splits import plan_mismatched, plan_split
from diagnostics.tags import read_tags_csv
from diagnostics.validation import InputError
from diagnostics.waterfall import Diagnosis
from strategy_app.auth import LOCAL_USER, User, require
from strategy_app.diagnosis import DiagnosisResult, Reader, compute
from strategy_app.store import DiagnoseState, Project, Store
from strategy_app.store.audit import SHARE_CREATE, SHARE_REVOKE
from strategy_app.store.schema import ReportShare


def project_inputs(
    store: Store, project: Project, *, title: str | None = None, reader: Reader = read_predictions
) -> ReportInputs:
    """The report inputs of a saved project: its diagnosis and per-slice diagnoses."""
    state = store.diagnose_state.load(project.id)
    return inputs_from_result(project, state, compute(store, state, reader=reader), title=title)


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


def ceiling_from_labels(path: str | Path, dev_error: float) -> Ceiling:
    """The ceiling table of a tags CSV (consensus over annotators), at ``dev_error``."""
    table = read_tags_csv(path)
    return ceiling_from_tags(table.consensus_tags(), dev_error, categories=table.categories)


def split_plan(size: int | None = None, source: int | None = None, target: int | None = None):
    """The split plan for ``size`` examples, or for ``source`` plus ``target`` examples."""
    if size is not None:
        return plan_split(size)
    return plan_mismatched(source, target)


def search_summary(study: str, storage: str) -> dict:
    """A stored Optuna study as the report's search summary (trials, best, search space).

    ``storage`` is a database URL or the path of a journal file.
    """
    # imports torch: only when a study is asked for
    from diagnostics.search.runner import open_storage, redact
    from diagnostics.search.space import SearchSpace
    from diagnostics.search.training import PARAM_NAMES

    if "://" not in storage and not Path(storage).is_file():
        raise InputError(f"search storage not found: {storage}")
    backend = open_storage(storage)
    try:
        loaded = optuna.load_study(study_name=study, storage=backend)
    except KeyError:
        raise InputError(f"no study '{study}' in {redact(storage)}") from None
    space = loaded.user_attrs.get("space")
    decode = dict  # a study of ours stores its space: show user values (β, not 1 − β)
    if space:
        with contextlib.suppress(InputError):  # a study made elsewhere keeps Optuna's params
            decode = SearchSpace.from_dict(space, PARAM_NAMES).decode
    trials = [
        {
            "number": t.number,
            "value": t.value,
            "state": t.state.name.lower(),
            "params": decode(t.params),
        }
        for t in loaded.get_trials(deepcopy=False)
    ]
    done = [t for t in trials if t["state"] == "complete" and t["value"] is not None]
    maximize = loaded.direction.name.lower() == "maximize"
    best = (max if maximize else min)(done, key=lambda t: t["value"]) if done else None
    return {
        "study": study,
        "storage": redact(storage),
        "direction": "maximize" if maximize else "minimize",
        "n_complete": sum(t["state"] == "complete" for t in trials),
        "n_pruned": sum(t["state"] == "pruned" for t in trials),
        "best": {"params": best["params"], "value": best["value"], "trial": best["number"]}
        if best
        else None,
        "trials": trials,
        "rounds": [{"round": 1, "study": study, "space": space}] if space else [],
    }


# The audit names a share link by the start of its token only: the log never opens a link.
TOKEN_SHOWN = 6


def create_share(
    store: Store,
    project_id: int,
    inputs: ReportInputs,
    sections: list[str],
    html: str,
    user: User = LOCAL_USER,
) -> ReportShare:
    """A read-only link to a snapshot of the report (an editor may); audited."""
    require(user, "manage share links")
    share = store.shares.create(project_id, inputs.title, html, report_data(inputs, sections))
    detail = {"title": share.title, "token": share.token[:TOKEN_SHOWN]}
    store.audit.record(user.identity, SHARE_CREATE, project_id, None, detail)
    return share


def revoke_share(store: Store, project_id: int, token: str, user: User = LOCAL_USER) -> bool:
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
