"""Who changed what: an append-only log of tag edits, uploads, deletions and share links.

Services write one entry after each change succeeds (:meth:`AuditRepository.record`); a tag
edit writes its entry in the edit's own transaction (``save_edit(..., audit=...)``), so a saved
tag always has its author. The Error
analysis page reads an example's history (:meth:`AuditRepository.history`). Entries are never
updated or deleted, and outlive the project they name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from strategy_app.store.engine import read, write
from strategy_app.store.schema import AuditEntry, utcnow

MAX_TARGET = 255
MAX_USER = 255

# What the services record (the ``action`` column).
TAG_EDIT = "tag edit"
TAG_IMPORT = "tag import"
SAMPLE_DRAW = "sample draw"
CATEGORY_CHANGE = "category change"
UPLOAD = "upload"
VERSION_DELETE = "version delete"
IMAGES_UPLOAD = "images upload"
IMAGES_LOCATION = "images location"
PROJECT_CREATE = "project create"
PROJECT_RENAME = "project rename"
PROJECT_DELETE = "project delete"
SHARE_CREATE = "share create"
SHARE_REVOKE = "share revoke"
SEARCH_START = "search start"
ROLES_CHANGE = "roles change"
SLICE_COLUMN = "slice column"
SUGGESTION_DECISION = "suggestion decision"
INPUTS_CHANGE = "diagnose inputs"
SPLIT_CHOICES = "split choices"
SEARCH_SPACE = "search space"
SEARCH_STOP = "search stop"
TRAIN_SIZE = "train size"
CURVE_SAVE = "learning curve"
TARGET_SAVE = "target curve"


@dataclass(frozen=True)
class Change:
    """One audit entry as read back."""

    at: datetime
    user: str
    action: str
    project_id: int | None
    target: str | None
    detail: dict


def audit_row(
    user: str,
    action: str,
    project_id: int | None,
    target: str | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    """A new audit entry stamped now: ``user`` did ``action`` on ``target`` of the project."""
    return AuditEntry(
        at=utcnow(),
        user=str(user)[:MAX_USER],
        action=action,
        project_id=project_id,
        target=None if target is None else str(target)[:MAX_TARGET],
        detail=detail or {},
    )


def changed_fields(before: object, after: object) -> dict:
    """What a save changed, for an entry's detail: ``{field: [before, after]}`` for each field
    of two dataclass states (or each key of two dicts) that differs, values as text."""
    old = before if isinstance(before, dict) else asdict(before)  # type: ignore[call-overload]
    new = after if isinstance(after, dict) else asdict(after)  # type: ignore[call-overload]
    return {
        key: [None if old.get(key) is None else str(old.get(key)), str(new.get(key))]
        for key in sorted({*old, *new}, key=str)
        if old.get(key) != new.get(key)
    }


def _change(row: AuditEntry) -> Change:
    return Change(row.at, row.user, row.action, row.project_id, row.target, dict(row.detail))


class AuditRepository:
    """The audit_log table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        user: str,
        action: str,
        project_id: int | None,
        target: str | None = None,
        detail: dict | None = None,
    ) -> None:
        """Append one entry (its own transaction): ``user`` did ``action`` on ``target``, now."""
        write(self._engine, lambda s: s.add(audit_row(user, action, project_id, target, detail)))

    def history(self, project_id: int, target: str | None = None) -> list[Change]:
        """The project's entries (only those about ``target`` when given), oldest first."""
        query = select(AuditEntry).where(AuditEntry.project_id == project_id)
        if target is not None:
            query = query.where(AuditEntry.target == str(target)[:MAX_TARGET])
        query = query.order_by(AuditEntry.at, AuditEntry.id)
        return [_change(row) for row in read(self._engine, lambda s: s.scalars(query).all())]
