"""Error analysis records: the drawn sample, the categories and every annotator's tags.

Everything here belongs to one model version (the version whose dev errors the sample
holds): tags are keyed by (version, example id, annotator), never by a row position, and refer to a
category by its id, so renaming a category keeps its tags. Each (example, annotator) row has a
``version`` for optimistic concurrency: an edit names the version it was based on, and when the
row moved on since (another session saved first), :class:`Conflict` is raised and nothing is
written. Every edit is its own short transaction; category merges and removals move or drop the
tags in one transaction and bump the versions of the rows they touch.

Only portable SQL is used (no upserts by dialect), so the same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, and_, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from diagnostics.tags import PRESET_CATEGORIES, TagRow, TagTable, check_category_name
from diagnostics.validation import InputError
from strategy_app.store.engine import COLUMN_LABELS, check_text, read, write
from strategy_app.store.schema import (
    AuditEntry,
    LabelCategory,
    LabelExample,
    LabelRow,
    LabelSample,
    LabelSuggestion,
    LabelTag,
    ModelVersionRow,
    Setting,
    utcnow,
)

EXAMPLE_COLUMNS = ("id", "y_true", "y_pred", "score", "input")
IMAGES_SETTING = "images_root/{}"


@dataclass(frozen=True)
class Category:
    """An error category: its id (what tags refer to), name and display position."""

    id: int
    name: str
    position: int


@dataclass(frozen=True)
class Review:
    """One annotator's saved review of one example, at ``version``."""

    example_id: str
    annotator: str
    tags: frozenset[int] = frozenset()
    reviewed: bool = False
    notes: str = ""
    version: int = 0


@dataclass(frozen=True)
class LabelEdit:
    """A change to one annotator's review of one example (None: leave the field as it is)."""

    example_id: str
    annotator: str
    add: frozenset[int] = frozenset()
    remove: frozenset[int] = frozenset()
    reviewed: bool | None = None
    notes: str | None = None

    @property
    def empty(self) -> bool:
        """True when the edit changes nothing."""
        return not (self.add or self.remove) and self.reviewed is None and self.notes is None


@dataclass(frozen=True)
class Sample:
    """How a version's sample was drawn, and its examples in display order (``carried``: ids
    whose tags were carried over from an older version)."""

    seed: int
    size: int
    stratified: bool
    drawn_at: datetime
    examples: pd.DataFrame = field(repr=False)
    carried: frozenset[str] = frozenset()

    @property
    def ids(self) -> list[str]:
        """The example ids in display order."""
        return self.examples["id"].tolist()


@dataclass(frozen=True)
class LabelSnapshot:
    """Everything the labeling page shows of a version, read in one session.

    ``reviews`` holds every annotator's saved reviews; ``images_root`` is the folder the
    sample's image paths are relative to (the project's; None when it has none).
    """

    sample: Sample | None
    categories: list[Category]
    reviews: list[Review]
    images_root: str | None

    @property
    def has_reviews(self) -> bool:
        """True when anyone saved a review on the sample."""
        return bool(self.reviews)

    def reviews_by(self, annotator: str) -> dict[str, Review]:
        """One annotator's reviews by example id."""
        return {r.example_id: r for r in self.reviews if r.annotator == annotator}

    def tag_table(self) -> TagTable:
        """Every saved review as a :class:`TagTable` of category names (all annotators)."""
        return _tag_table(self.categories, self.reviews)


class Conflict(Exception):
    """An edit based on an older version of a review than the saved one; nothing was written."""

    def __init__(self, edit: LabelEdit, expected: int, current: Review) -> None:
        self.edit, self.expected, self.current = edit, expected, current
        who = f" by '{edit.annotator}'" if edit.annotator else ""
        super().__init__(
            f"example '{edit.example_id}'{who} changed since this view was loaded "
            f"(version {current.version}, the edit was based on {expected}); not saved"
        )


class LabelRepository:
    """Samples, categories and tags per model version."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- the sample --------------------------------------------------------------------------

    def save_sample(
        self,
        version_id: int,
        examples: pd.DataFrame,
        *,
        seed: int,
        stratified: bool,
        carried: Collection[str] = (),
    ) -> Sample:
        """Replace the version's sample (and every tag on the old one) with ``examples``.

        ``examples`` has the columns of :func:`diagnostics.errors.sample_errors`. The version
        keeps its categories; a version without any gets the presets. ``carried`` names the
        examples whose tags come from an older version (:meth:`carry_over`).
        """
        rows = [
            LabelExample(
                version_id=version_id,
                example_id=str(record["id"]),
                position=position,
                y_true=str(record["y_true"]),
                y_pred=str(record["y_pred"]),
                score=None if pd.isna(record.get("score")) else float(record["score"]),
                input=None if pd.isna(record.get("input")) else str(record["input"]),
                carried=str(record["id"]) in carried,
            )
            for position, record in enumerate(examples.to_dict("records"))
        ]
        if len({row.example_id for row in rows}) != len(rows):
            raise InputError("the sample repeats an example id; ids must be unique")

        def replace_sample(session) -> None:
            _delete_sample(session, version_id)
            session.add(
                LabelSample(version_id=version_id, seed=seed, size=len(rows), stratified=stratified)
            )
            session.add_all(rows)
            if not session.scalar(
                select(func.count()).where(LabelCategory.version_id == version_id)
            ):
                session.add_all(
                    LabelCategory(version_id=version_id, name=name, position=i)
                    for i, name in enumerate(PRESET_CATEGORIES)
                )

        write(self._engine, replace_sample)
        saved = self.sample(version_id)
        assert saved is not None  # written just now
        return saved

    def sample(self, version_id: int) -> Sample | None:
        """The version's sample, or None before one is drawn."""
        return read(self._engine, lambda s: _load_sample(s, version_id))

    def snapshot(self, version_id: int, known: Sample | None = None) -> LabelSnapshot:
        """The sample, categories, every review and the images folder in one read session.

        ``known`` is a sample loaded before: when the saved sample is still that draw, its
        examples are reused instead of read again (a sample never changes once drawn).
        """

        def load(session) -> LabelSnapshot:
            project_id = select(ModelVersionRow.project_id).where(ModelVersionRow.id == version_id)
            key = session.scalar(project_id)
            root = select(Setting.value).where(Setting.key == IMAGES_SETTING.format(key))
            return LabelSnapshot(
                sample=_load_sample(session, version_id, known),
                categories=_load_categories(session, version_id),
                reviews=_load_reviews(session, version_id),
                images_root=session.scalar(root),
            )

        return read(self._engine, load)

    def has_reviews(self, version_id: int) -> bool:
        """True when anyone saved a review on the version's sample."""
        query = select(exists().where(LabelRow.version_id == version_id))
        return bool(read(self._engine, lambda s: s.scalar(query)))

    # -- categories --------------------------------------------------------------------------

    def categories(self, version_id: int) -> list[Category]:
        """The version's categories in display order."""
        return read(self._engine, lambda s: _load_categories(s, version_id))

    def add_category(self, version_id: int, name: str) -> Category:
        """A new category at the end; refuses a name in use (ignoring case) or reserved."""

        def add(session) -> LabelCategory:
            return _add_category(session, version_id, name)

        row = self._unique(add, name)
        return Category(row.id, row.name, row.position)

    def rename_category(self, version_id: int, category_id: int, name: str) -> Category:
        """Give a category a new name; its tags follow (they refer to the id)."""

        def rename(session) -> LabelCategory:
            row = _category(session, version_id, category_id)
            others = [c for c in _names(session, version_id) if c != row.name]
            row.name = check_category_name(name, others)
            return row

        row = self._unique(rename, name)
        return Category(row.id, row.name, row.position)

    def merge_categories(self, version_id: int, sources: Collection[int], target: int) -> int:
        """Fold ``sources`` into ``target`` in one transaction; returns the reviews touched.

        An example tagged with several of them keeps one ``target`` tag.
        """
        sources = {s for s in sources if s != target}
        if not sources:
            raise InputError("choose at least one other category to merge into the target")

        def merge(session) -> int:
            _category(session, version_id, target)
            for source in sources:
                _category(session, version_id, source)
            moved = session.execute(
                select(LabelTag.example_id, LabelTag.annotator)
                .where(LabelTag.version_id == version_id, LabelTag.category_id.in_(sources))
                .distinct()
            ).all()
            for example_id, annotator in moved:
                key = {"example_id": example_id, "annotator": annotator}
                if session.get(LabelTag, {"version_id": version_id, **key, "category_id": target}):
                    continue
                session.add(LabelTag(version_id=version_id, **key, category_id=target))
            session.flush()
            session.execute(
                delete(LabelTag).where(
                    LabelTag.version_id == version_id, LabelTag.category_id.in_(sources)
                )
            )
            session.execute(delete(LabelCategory).where(LabelCategory.id.in_(sources)))
            return _bump(session, version_id, moved)

        return write(self._engine, merge)

    def remove_category(self, version_id: int, category_id: int) -> int:
        """Delete a category and its tags in one transaction; returns the reviews touched."""

        def remove(session) -> int:
            _category(session, version_id, category_id)
            touched = session.execute(
                select(LabelTag.example_id, LabelTag.annotator).where(
                    LabelTag.version_id == version_id, LabelTag.category_id == category_id
                )
            ).all()
            session.execute(delete(LabelTag).where(LabelTag.category_id == category_id))
            session.execute(delete(LabelCategory).where(LabelCategory.id == category_id))
            return _bump(session, version_id, touched)

        return write(self._engine, remove)

    # -- reviews -----------------------------------------------------------------------------

    def reviews(self, version_id: int, annotator: str | None = None) -> list[Review]:
        """Saved reviews (of one annotator, or of all), in sample order."""

        return read(self._engine, lambda s: _load_reviews(s, version_id, annotator))

    def save_edit(
        self,
        version_id: int,
        edit: LabelEdit,
        expected_version: int,
        audit: Callable[[], AuditEntry] | None = None,
    ) -> Review:
        """Apply ``edit`` in its own transaction if the saved version is ``expected_version``.

        ``expected_version`` is 0 for a review not saved yet. Raises :class:`Conflict` (writing
        nothing) when the review moved on, and InputError for an id outside the sample or a
        category that no longer exists. Returns the saved review with its new version.
        ``audit`` makes the edit's audit entry, saved in the same transaction.
        """
        check_text(COLUMN_LABELS["label_rows.notes"], edit.notes)
        check_text(
            COLUMN_LABELS["label_rows.annotator"], edit.annotator, LabelRow.annotator.type.length
        )
        check_text(COLUMN_LABELS["label_rows.example_id"], edit.example_id)

        def save(session) -> Review:
            key = (version_id, edit.example_id, edit.annotator)
            row = session.get(LabelRow, key)
            current = 0 if row is None else row.version
            if current != expected_version:
                raise Conflict(edit, expected_version, _saved_review(session, *key))
            if session.get(LabelExample, (version_id, edit.example_id)) is None:
                raise InputError(f"example '{edit.example_id}' is not in the project's sample")
            _check_categories(session, version_id, edit.add | edit.remove)
            if row is None:
                row = LabelRow(
                    version_id=version_id,
                    example_id=edit.example_id,
                    annotator=edit.annotator,
                    reviewed=bool(edit.reviewed),
                    notes=edit.notes or "",
                    version=1,
                    updated_at=utcnow(),
                )
                session.add(row)
                session.flush()
            else:
                values = {"version": LabelRow.version + 1, "updated_at": utcnow()}
                if edit.reviewed is not None:
                    values["reviewed"] = edit.reviewed
                if edit.notes is not None:
                    values["notes"] = edit.notes
                changed = session.execute(
                    update(LabelRow)
                    .where(*_row_key(version_id, edit.example_id, edit.annotator))
                    .where(LabelRow.version == expected_version)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if changed != 1:
                    raise Conflict(edit, expected_version, _saved_review(session, *key))
            _set_tags(session, version_id, edit)
            if audit is not None:
                session.add(audit())
            return _saved_review(session, *key)

        try:
            return write(self._engine, save)
        except IntegrityError:
            # another session inserted the same review first
            current = self.review(version_id, edit.example_id, edit.annotator)
            raise Conflict(edit, expected_version, current) from None

    def review(self, version_id: int, example_id: str, annotator: str) -> Review:
        """The saved review (version 0 and empty when there is none)."""
        return read(self._engine, lambda s: _saved_review(s, version_id, example_id, annotator))

    # -- tag tables (CSV import and export, ceilings) ----------------------------------------

    def tag_table(self, version_id: int) -> TagTable:
        """Every saved review as a :class:`TagTable` of category names (all annotators)."""
        loaded = read(
            self._engine,
            lambda s: (_load_categories(s, version_id), _load_reviews(s, version_id)),
        )
        return _tag_table(*loaded)

    def import_table(self, version_id: int, table: TagTable) -> int:
        """Save a whole imported table in one transaction (all or nothing); returns its rows.

        Categories the version lacks are added. Each row replaces that annotator's review of
        the example in the file's categories (tags in other categories stay).
        """

        def save(session) -> int:
            known = set(
                session.scalars(
                    select(LabelExample.example_id).where(LabelExample.version_id == version_id)
                )
            )
            unknown = sorted({row.id for row in table.rows} - known)
            if unknown:
                raise InputError(
                    f"{len(unknown)} id(s) are not in the sample, e.g. '{unknown[0]}'; "
                    "nothing was imported"
                )
            by_name = {
                c.name.lower(): c.id
                for c in session.scalars(
                    select(LabelCategory).where(LabelCategory.version_id == version_id)
                )
            }
            for name in table.categories:
                if name.lower() not in by_name:
                    by_name[name.lower()] = _add_category(session, version_id, name).id
            in_file = {by_name[n.lower()] for n in table.categories}
            for tag_row in table.rows:
                tags = {by_name[n.lower()] for n in tag_row.tags}
                key = (version_id, tag_row.id, tag_row.annotator)
                row = session.get(LabelRow, key)
                if row is None:
                    row = LabelRow(
                        version_id=version_id,
                        example_id=tag_row.id,
                        annotator=tag_row.annotator,
                        version=0,
                    )
                    session.add(row)
                row.reviewed, row.notes = tag_row.reviewed, tag_row.notes
                row.version, row.updated_at = row.version + 1, utcnow()
                session.flush()
                edit = LabelEdit(
                    tag_row.id, tag_row.annotator, frozenset(tags), frozenset(in_file - tags)
                )
                _set_tags(session, version_id, edit)
            return len(table.rows)

        return write(self._engine, save)

    def _unique(self, work, name: str):
        try:
            return write(self._engine, work)
        except IntegrityError:
            raise InputError(f"category '{name}' exists already") from None


# -- helpers inside a transaction -------------------------------------------------------------


def _load_sample(session, version_id: int, known: Sample | None = None) -> Sample | None:
    info = session.execute(
        select(
            LabelSample.seed, LabelSample.size, LabelSample.stratified, LabelSample.drawn_at
        ).where(LabelSample.version_id == version_id)
    ).first()
    if info is None:
        return None
    drawn = tuple(info)
    if known is not None and (known.seed, known.size, known.stratified, known.drawn_at) == drawn:
        return known
    query = (
        select(
            LabelExample.example_id,
            LabelExample.y_true,
            LabelExample.y_pred,
            LabelExample.score,
            LabelExample.input,
            LabelExample.carried,
        )
        .where(LabelExample.version_id == version_id)
        .order_by(LabelExample.position)
    )
    rows = session.execute(query).all()
    frame = pd.DataFrame([tuple(r)[:-1] for r in rows], columns=list(EXAMPLE_COLUMNS))
    seed, size, stratified, drawn_at = drawn
    return Sample(seed, size, stratified, drawn_at, frame, frozenset(r[0] for r in rows if r[-1]))


def _load_categories(session, version_id: int) -> list[Category]:
    query = (
        select(LabelCategory.id, LabelCategory.name, LabelCategory.position)
        .where(LabelCategory.version_id == version_id)
        .order_by(LabelCategory.position, LabelCategory.id)
    )
    return [Category(*row) for row in session.execute(query)]


def _load_reviews(session, version_id: int, annotator: str | None = None) -> list[Review]:
    # plain column rows, not ORM objects: this runs on every rerun of the labeling page
    query = select(
        LabelRow.example_id, LabelRow.annotator, LabelRow.reviewed, LabelRow.notes, LabelRow.version
    ).where(LabelRow.version_id == version_id)
    tags = select(LabelTag.example_id, LabelTag.annotator, LabelTag.category_id).where(
        LabelTag.version_id == version_id
    )
    if annotator is not None:
        query = query.where(LabelRow.annotator == annotator)
        tags = tags.where(LabelTag.annotator == annotator)
    carried: dict[tuple[str, str], set[int]] = {}
    for example_id, who, category_id in session.execute(tags):
        carried.setdefault((example_id, who), set()).add(category_id)
    return [_review(row, carried) for row in session.execute(query)]


def _tag_table(categories: list[Category], reviews: list[Review]) -> TagTable:
    names = {c.id: c.name for c in categories}
    rows = tuple(
        TagRow(
            id=r.example_id,
            tags=frozenset(names[t] for t in r.tags if t in names),
            reviewed=r.reviewed,
            notes=r.notes,
            annotator=r.annotator,
        )
        for r in reviews
    )
    return TagTable(tuple(c.name for c in categories), rows)


def _row_key(version_id: int, example_id: str, annotator: str):
    return (
        LabelRow.version_id == version_id,
        LabelRow.example_id == example_id,
        LabelRow.annotator == annotator,
    )


def _tag_key(version_id: int, example_id: str, annotator: str):
    return (
        LabelTag.version_id == version_id,
        LabelTag.example_id == example_id,
        LabelTag.annotator == annotator,
    )


def _saved_review(session, version_id: int, example_id: str, annotator: str) -> Review:
    row = session.get(LabelRow, (version_id, example_id, annotator))
    if row is None:
        return Review(example_id, annotator)
    session.refresh(row)
    query = select(LabelTag.category_id).where(*_tag_key(version_id, example_id, annotator))
    return _review(row, {(example_id, annotator): set(session.scalars(query))})


def _review(row, carried: dict[tuple[str, str], set[int]]) -> Review:
    return Review(
        example_id=row.example_id,
        annotator=row.annotator,
        tags=frozenset(carried.get((row.example_id, row.annotator), ())),
        reviewed=bool(row.reviewed),
        notes=row.notes or "",
        version=row.version,
    )


def _set_tags(session, version_id: int, edit: LabelEdit) -> None:
    key = _tag_key(version_id, edit.example_id, edit.annotator)
    if edit.remove:
        session.execute(delete(LabelTag).where(*key, LabelTag.category_id.in_(edit.remove)))
    present = set(session.scalars(select(LabelTag.category_id).where(*key)))
    session.add_all(
        LabelTag(
            version_id=version_id,
            example_id=edit.example_id,
            annotator=edit.annotator,
            category_id=category,
        )
        for category in edit.add - present
    )


def _names(session, version_id: int) -> list[str]:
    query = select(LabelCategory.name).where(LabelCategory.version_id == version_id)
    return list(session.scalars(query))


def _add_category(session, version_id: int, name: str) -> LabelCategory:
    name = check_category_name(name, _names(session, version_id))
    last = session.scalar(
        select(func.max(LabelCategory.position)).where(LabelCategory.version_id == version_id)
    )
    row = LabelCategory(version_id=version_id, name=name, position=(last or 0) + 1)
    session.add(row)
    session.flush()
    return row


def _category(session, version_id: int, category_id: int) -> LabelCategory:
    row = session.get(LabelCategory, category_id)
    if row is None or row.version_id != version_id:
        raise InputError("that category no longer exists (another session removed it?)")
    return row


def _check_categories(session, version_id: int, ids: Iterable[int]) -> None:
    ids = set(ids)
    if not ids:
        return
    found = set(
        session.scalars(
            select(LabelCategory.id).where(
                LabelCategory.version_id == version_id, LabelCategory.id.in_(ids)
            )
        )
    )
    if found != ids:
        raise InputError("a category of this edit no longer exists (another session removed it)")


def _bump(session, version_id: int, keys: Iterable[tuple[str, str]]) -> int:
    keys = list(keys)
    for example_id, annotator in keys:
        session.execute(
            update(LabelRow)
            .where(and_(*_row_key(version_id, example_id, annotator)))
            .values(version=LabelRow.version + 1, updated_at=utcnow())
        )
    return len(keys)


def _delete_sample(session, version_id: int) -> None:
    for table in (LabelSuggestion, LabelTag, LabelRow, LabelExample, LabelSample):
        session.execute(delete(table).where(table.version_id == version_id))


def delete_version_labels(session, version_id: int) -> None:
    """Within a write, delete everything error analysis saved for a version."""
    _delete_sample(session, version_id)
    session.execute(delete(LabelCategory).where(LabelCategory.version_id == version_id))
