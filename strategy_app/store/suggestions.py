"""Suggestions offered beside a version's tagging sheet, and what people decided about them.

A suggestion (:class:`diagnostics.suggestions.Suggestion`) is evidence, never a tag: it is kept
in its own table, keyed by (version, example id, kind), with its status ``pending``,
``accepted`` (a person turned it into a tag) or ``dismissed``. Offering the same suggestions
again keeps the decisions; a suggestion the evidence no longer gives is dropped while still
pending, and kept once decided (it counts in the precision people measured). Redrawing the
sample or deleting the version deletes its suggestions with its tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, and_, select

from diagnostics.suggestions import Suggestion
from diagnostics.validation import InputError, shown
from strategy_app.store.engine import read, write
from strategy_app.store.schema import LabelExample, LabelSuggestion, ModelVersionRow, utcnow

PENDING, ACCEPTED, DISMISSED = "pending", "accepted", "dismissed"
STATUSES = (PENDING, ACCEPTED, DISMISSED)


@dataclass(frozen=True)
class StoredSuggestion:
    """A suggestion as saved: what it says and what a person decided (and who, when)."""

    version_id: int
    suggestion: Suggestion
    status: str = PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None

    @property
    def pending(self) -> bool:
        """True while nobody accepted or dismissed it."""
        return self.status == PENDING


class SuggestionRepository:
    """Offer, list and decide the suggestions of a version's sample."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def offer(self, version_id: int, suggestions: Iterable[Suggestion]) -> list[StoredSuggestion]:
        """Save the suggestions the evidence gives now for the version's sampled examples.

        New ones are pending; decided ones keep their decision (and their saved text); pending
        ones the evidence no longer gives are dropped. Suggestions for examples outside the
        sample are ignored. Returns every saved suggestion of the version.
        """
        wanted = {(s.id, s.kind): s for s in suggestions}

        def sync(session) -> list[StoredSuggestion]:
            sampled = set(
                session.scalars(
                    select(LabelExample.example_id).where(LabelExample.version_id == version_id)
                )
            )
            saved = {
                (row.example_id, row.kind): row
                for row in session.scalars(
                    select(LabelSuggestion).where(LabelSuggestion.version_id == version_id)
                )
            }
            for key, row in saved.items():
                if row.status == PENDING and key not in wanted:
                    session.delete(row)
                elif row.status == PENDING:
                    row.text, row.category = wanted[key].text, wanted[key].category
            session.add_all(
                LabelSuggestion(
                    version_id=version_id,
                    example_id=s.id,
                    kind=s.kind,
                    text=s.text,
                    category=s.category,
                    status=PENDING,
                )
                for key, s in wanted.items()
                if key not in saved and s.id in sampled
            )
            session.flush()
            return _load(session, [LabelSuggestion.version_id == version_id])

        return write(self._engine, sync)

    def of_version(self, version_id: int) -> list[StoredSuggestion]:
        """The version's saved suggestions, by example id then kind."""
        return read(self._engine, lambda s: _load(s, [LabelSuggestion.version_id == version_id]))

    def of_project(self, project_id: int) -> list[StoredSuggestion]:
        """Every saved suggestion of every version of a project (for its precision)."""
        versions = select(ModelVersionRow.id).where(ModelVersionRow.project_id == project_id)
        return read(self._engine, lambda s: _load(s, [LabelSuggestion.version_id.in_(versions)]))

    def get(self, version_id: int, example_id: str, kind: str) -> StoredSuggestion:
        """One saved suggestion; InputError when there is none (any more)."""

        def load(session) -> StoredSuggestion:
            row = session.get(LabelSuggestion, (version_id, example_id, kind))
            if row is None:
                raise _gone(example_id, kind)
            return _stored(row)

        return read(self._engine, load)

    def decide(
        self, version_id: int, example_id: str, kind: str, status: str, who: str
    ) -> StoredSuggestion:
        """Record that ``who`` accepted or dismissed a suggestion (``status``); returns it."""
        if status not in (ACCEPTED, DISMISSED):
            raise ValueError(f"status must be {ACCEPTED} or {DISMISSED}")

        def mark(session) -> StoredSuggestion:
            row = session.get(LabelSuggestion, (version_id, example_id, kind))
            if row is None:
                raise _gone(example_id, kind)
            if row.status == ACCEPTED and status == DISMISSED:
                raise InputError(
                    f"the {kind} suggestion for example '{shown(example_id, 60)}' was already "
                    f"accepted by {shown(row.decided_by, 60)} and its tag saved; to undo it, "
                    "remove the tag in the sheet"
                )
            row.status, row.decided_by, row.decided_at = status, who, utcnow()
            session.flush()
            return _stored(row)

        return write(self._engine, mark)


def _gone(example_id: str, kind: str) -> InputError:
    return InputError(f"no {kind} suggestion for example '{example_id}' any more; reload the page")


def _stored(row: LabelSuggestion | Row[Any]) -> StoredSuggestion:
    """A suggestion as the pages use it, from its ORM object or a row of :data:`_COLUMNS`."""
    suggestion = Suggestion(row.example_id, row.kind, row.text, row.category)
    return StoredSuggestion(row.version_id, suggestion, row.status, row.decided_by, row.decided_at)


# Every column _stored reads: the page reads a version's suggestions on every rerun, and plain
# rows skip the ORM's identity map (about half of the read's time for a few hundred).
_COLUMNS = (
    LabelSuggestion.version_id,
    LabelSuggestion.example_id,
    LabelSuggestion.kind,
    LabelSuggestion.text,
    LabelSuggestion.category,
    LabelSuggestion.status,
    LabelSuggestion.decided_by,
    LabelSuggestion.decided_at,
)


def _load(session, where: list) -> list[StoredSuggestion]:
    query = (
        select(*_COLUMNS)
        .where(and_(*where))
        .order_by(LabelSuggestion.example_id, LabelSuggestion.kind)
    )
    return [_stored(row) for row in session.execute(query)]
