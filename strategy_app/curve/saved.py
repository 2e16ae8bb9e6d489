"""Learning curves kept with a project: each version's train size, and a measured curve.

A version's ``train_size`` (how many train rows its model saw) is saved with it, so the fit
"from uploads alone" runs on the project's versions in any session; versions without a size
are left out, in one line. ``learning-curve … --project NAME`` keeps its result with one
version (the current one, or ``--version N``), and so does ``learning-curve --target-pool …
--project NAME`` (or Diagnose's upload) with its target-data curve, in a column of its own:
Diagnose, the report and the Report page show a version's own curves only, never one measured
for another version. Every change is audited; bad input (a size that is not a count, a curve
that is not a ``learning-curve --json`` result or is of the other kind, a version that no
longer exists) is refused in one line and nothing saved changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from diagnostics.validation import InputError
from strategy_app.auth import User, require
from strategy_app.curve.service import LEARNING, TARGET, check_curve, curve_from_runs
from strategy_app.store import ModelVersion, Store, one_transaction
from strategy_app.store.audit import CURVE_SAVE, TARGET_SAVE, TRAIN_SIZE
from strategy_app.versions.service import version_file

EDIT = "change the diagnosis inputs"


def train_size_value(value: Any, where: str) -> int:
    """``value`` as a train size (a whole number of rows, at least 1); refused in one line
    naming ``where`` otherwise.

    >>> train_size_value("4,000", "v2")
    4000
    >>> train_size_value(2.5, "v2")
    Traceback (most recent call last):
    ...
    diagnostics.validation.InputError: v2: train size '2.5' is not a whole number of rows; \
give how many train rows its model saw, e.g. 4000
    """
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number != int(number):
        raise InputError(
            f"{where}: train size '{value}' is not a whole number of rows; give how many "
            "train rows its model saw, e.g. 4000"
        )
    if number < 1:
        raise InputError(f"{where}: train size {int(number)} must be at least 1 row")
    return int(number)


@one_transaction
def save_train_sizes(
    store: Store, project_id: int, sizes: Mapping[int, Any], user: User
) -> list[str]:
    """Save each version's train size (``{version id: size or None}``; None forgets it) in one
    transaction, audited per changed version; returns the names of the versions changed.
    An editor may; a bad size or a version not of this project changes nothing."""
    require(user, EDIT)
    versions = {v.id: v for v in store.versions.list(project_id)}
    changed = []
    for version_id, value in sizes.items():
        version = versions.get(version_id)
        if version is None:
            raise InputError("that version no longer exists; pick another one")
        size = None if value is None else train_size_value(value, version.name)
        if size == version.train_size:
            continue
        store.versions.set_train_size(version.id, size)
        detail = {"train_size": [version.train_size, size]}
        store.audit.record(user.identity, TRAIN_SIZE, project_id, version.name, detail)
        changed.append(version.name)
    return changed


_KEPT = {  # kind: the version's column, the audit action, what the curve is called
    LEARNING: ("learning_curve", CURVE_SAVE, "learning curve"),
    TARGET: ("target_curve", TARGET_SAVE, "target-data curve"),
}


@one_transaction
def save_version_curve(
    store: Store,
    version: ModelVersion,
    curve: Mapping[str, Any],
    user: User,
    kind: str = LEARNING,
) -> None:
    """Keep a checked curve of ``kind`` (:data:`LEARNING` or :data:`TARGET`) with ``version``
    (replacing its earlier one of that kind); an editor may; audited. A curve of the other
    kind, or a version deleted meanwhile, is refused in one line and nothing changes."""
    require(user, EDIT)
    column, action, what = _KEPT[kind]
    checked = check_curve(dict(curve), f"the {what} for {version.name}", kind)
    store.versions.save_curve(version.id, checked, column)
    detail = {"study": checked.get("study"), "objective": checked.get("objective")}
    if kind == TARGET:
        pool = checked.get("pool")
        detail["pool"] = pool.get("spec") if isinstance(pool, dict) else None
    store.audit.record(user.identity, action, version.project_id, version.name, detail)


def version_curve(version: ModelVersion | None, kind: str = LEARNING) -> dict[str, Any] | None:
    """The curve of ``kind`` measured for this version (None: none saved); one line when it
    cannot be read."""
    column, _, what = _KEPT[kind]
    data = None if version is None else getattr(version, column)
    if version is None or data is None:
        return None
    curve = check_curve(data, f"the saved {what} of {version.name}", kind)
    return {**curve, "source": f"measured for {version.name}"}


def sizes_curve(store: Store, project_id: int) -> dict[str, Any] | None:
    """The fit "from uploads alone" on the project's versions with a saved train size (None
    when no version has one); ``left_out`` names the versions without a size in one line."""
    versions = [v for v in store.versions.list(project_id) if v.state.source == "upload"]
    sized = sorted((v for v in versions if v.train_size), key=lambda v: v.number)
    if not sized:
        return None
    runs = tuple((version_file(store, v.state), v.train_size) for v in sized)
    curve = dict(_fit_files(runs))  # type: ignore[arg-type]  # version_file: uploads have one
    missing = [v.name for v in versions if not v.train_size]
    curve["left_out"] = (
        f"left out (no train size): {', '.join(reversed(missing))}" if missing else None
    )
    curve["source"] = f"fitted on the train sizes of {len(sized)} versions"
    return curve


@lru_cache(maxsize=8)
def _fit_files(runs: tuple[tuple[Path, int], ...]) -> dict[str, Any]:
    """The fit on these files (each named by its content), once per files and sizes."""
    return curve_from_runs(runs)


def problem_curve(problem: str) -> dict[str, Any]:
    """A curve with no points, only why there is none (shown in its one line)."""
    return {"problem": problem, "points": [], "runs": [], "fit": None, "forecasts": []}


def shown_curve(
    store: Store, version: ModelVersion | None, kind: str = LEARNING
) -> dict[str, Any] | None:
    """The curve of ``kind`` a version's page and report show (None: none): its own measured
    curve, else, for the learning curve, the fit on the project's saved train sizes."""
    if version is None:
        return None
    own = version_curve(version, kind)
    return own if own is not None or kind == TARGET else sizes_curve(store, version.project_id)


def readable_curve(
    store: Store, version: ModelVersion | None, kind: str = LEARNING
) -> dict[str, Any] | None:
    """:func:`shown_curve`, or its one-line problem when the saved curve cannot be read or
    fitted (the rest of the page or report unchanged)."""
    try:
        return shown_curve(store, version, kind)
    except InputError as exc:
        return problem_curve(str(exc))


def named_version(store: Store, project_id: int, number: str | None) -> ModelVersion:
    """The project's version ``number`` (``3`` or ``v3``), its current one when None; refused
    in one line naming the versions it has."""
    versions = store.versions.list(project_id)
    listed = ", ".join(f"v{v.number}" for v in reversed(versions)) or "none yet"
    if number is None:
        current = store.versions.current(project_id)
        if current is None:
            raise InputError("the project has no version yet: upload predictions on Diagnose")
        return current
    text = number.strip().lower().removeprefix("v")
    found = next((v for v in versions if text.isdigit() and v.number == int(text)), None)
    if found is None:
        raise InputError(
            f"--version {number}: the project has no such version (versions: {listed}); it may "
            "have been deleted"
        )
    return found
