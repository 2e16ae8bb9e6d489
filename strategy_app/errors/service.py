"""The labeling page's logic without the UI: the editor's frame, saving its edits, summaries.

How no tag gets lost:

- The editor is given a frame built from the database once per *view* (:func:`build_view`) and
  kept unchanged with the view in the session, so ``st.data_editor`` never drops pending edits
  because its input changed, and the row positions of its ``edited_rows`` always refer to the
  exact frame shown. :func:`apply_editor_state` maps each position to the example id of that
  frame and saves each changed row at once (the page calls it from the editor's ``on_change``
  callback), one short transaction per row.
- Each row carries the version it was loaded at; an edit based on an older version than the
  saved one is refused by the store (:class:`~strategy_app.store.labels.Conflict`) and reported
  with both values, and the page then rebuilds the view from the database.
- A reload, another page or a new session simply rebuilds the view from the database.
"""

from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from diagnostics.ceiling import Agreement, Ceiling, ceiling_table
from diagnostics.compare import CategoryFix, carry_over, dev_outcomes, tagged_ids, what_fixed
from diagnostics.embeddings import display_text
from diagnostics.errors import confusion_pairs, dev_error_summary, example_ids, sample_errors
from diagnostics.image_flags import list_images
from diagnostics.images import data_url, extract_images_zip, read_image_file, thumbnail_png
from diagnostics.ingest import Predictions
from diagnostics.remote import is_remote, shown_location, url_scheme
from diagnostics.slices import Predicate, mask_of, predicate_columns, predicates_label
from diagnostics.tags import TagRow, TagTable, read_tags_csv, table_ceiling, write_tags_csv
from diagnostics.validation import InputError
from strategy_app.auth import PermissionDenied, User, require
from strategy_app.store import ModelVersion, Store, one_transaction
from strategy_app.store.audit import (
    CATEGORY_CHANGE,
    IMAGES_LOCATION,
    IMAGES_UPLOAD,
    SAMPLE_DRAW,
    TAG_EDIT,
    TAG_IMPORT,
    audit_row,
)
from strategy_app.store.diagnose_state import DiagnoseState
from strategy_app.store.engine import after_commit
from strategy_app.store.labels import (
    IMAGES_SETTING,
    Category,
    Conflict,
    LabelEdit,
    LabelSnapshot,
    Review,
    Sample,
)
from strategy_app.versions.service import (
    VersionFile,
    file_of,
    read_file,
    read_required,
)

ID, INPUT, Y_TRUE, Y_PRED, SCORE = "id", "input", "y_true", "y_pred", "score"
NOTES, REVIEWED = "notes", "reviewed"
CARRIED, SUGGESTED, TEXT = "carried", "suggested", "text"
FIXED_COLUMNS = (ID, INPUT, Y_TRUE, Y_PRED, SCORE)
READ_ONLY_COLUMNS = (*FIXED_COLUMNS, CARRIED, SUGGESTED, TEXT)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

Thumbnailer = Callable[[str, str], str | None]


# -- predictions, sample, images ---------------------------------------------------------------


def dev_error_summary_of(store: Store, state: DiagnoseState) -> dict | None:
    """:func:`~diagnostics.errors.dev_error_summary` of a version's predictions, once per file;
    None when it has none, e.g. typed levels only. Raises InputError when they cannot be read."""
    file = file_of(store, state)
    return None if file is None else _summary_of(file)


def confusion_pairs_of(store: Store, state: DiagnoseState) -> pd.DataFrame | None:
    """The confusion pairs of a version's dev errors, once per file (None without a file)."""
    file = file_of(store, state)
    return None if file is None else _pairs_of(file)


@lru_cache(maxsize=8)
def _summary_of(file: VersionFile) -> dict:
    return dev_error_summary(read_file(file))


@lru_cache(maxsize=8)
def _pairs_of(file: VersionFile) -> pd.DataFrame:
    return confusion_pairs(read_file(file))


def version_ceiling(store: Store, version: ModelVersion) -> Ceiling | None:
    """The ceiling table of a version's tagged sample, at that version's dev error and counts
    (None before any review, or without readable classification predictions)."""
    snapshot = store.labels.snapshot(version.id)
    if snapshot.sample is None:
        return None
    try:
        summary = dev_error_summary_of(store, version.state)
    except InputError:
        return None
    if summary is None:
        return None
    ceiling, _ = ceiling_for(snapshot.tag_table(), summary, snapshot.sample.carried)
    return ceiling


@one_transaction
def draw_sample(
    store: Store,
    version_id: int,
    predictions: Predictions,
    n: int,
    *,
    seed: int,
    stratify: bool = False,
    user: User,
    within: Sequence[Predicate] = (),
    exclude: Collection[str] = (),
) -> Sample:
    """Draw a seeded sample of a version's misclassified dev examples (``predictions``: that
    version's) and save it in the version, replacing any old one; ``within`` (a slice's
    predicates) draws only from the errors in that slice; ``exclude`` (ids, e.g. those people
    already examined) never draws those.

    ``user`` must be an editor; the draw is audited.
    """
    require(user, "draw a sample")
    mask = slice_mask(store, version_id, predictions, within) if within else None
    if exclude:
        fresh = ~example_ids(predictions, np.arange(len(predictions.frame))).isin(set(exclude))
        mask = fresh.to_numpy() if mask is None else mask & fresh.to_numpy()
    examples = sample_errors(predictions, n, seed=seed, stratify=stratify, within=mask)
    if within and examples.empty:
        raise InputError(f"no dev errors in the slice {predicates_label(within)}")
    if exclude and examples.empty:
        raise InputError("every dev error has been examined: there is no fresh one to draw")
    sample = store.labels.save_sample(version_id, examples, seed=seed, stratified=stratify)
    detail: dict = {"size": sample.size, "seed": seed, "stratified": stratify}
    if within:
        detail["slice"] = predicates_label(within)
    if exclude:
        detail["excluded"] = len(set(exclude))
    store.audit.record(user.identity, SAMPLE_DRAW, project_of(store, version_id), None, detail)
    return sample


def slice_mask(
    store: Store, version_id: int, predictions: Predictions, predicates: Sequence[Predicate]
) -> np.ndarray:
    """Which rows of a version's ``predictions`` are in the slice of ``predicates`` (its
    columns are read from the version's file, in the same row order)."""
    version = store.versions.get(version_id)
    if version is None:
        raise InputError("that version no longer exists; pick another one")
    frame = read_required(store, version, "a slice", predicate_columns(predicates)).frame
    if len(frame) != len(predictions.frame):
        raise InputError("the predictions changed while the slice was read; try again")
    return mask_of(frame, predicates)


@one_transaction
def carry_from(
    store: Store,
    version_id: int,
    earlier_id: int,
    predictions: Predictions,
    n: int,
    *,
    seed: int,
    stratify: bool = False,
    user: User,
) -> Sample:
    """Start a version's sample from an earlier version's tagged examples it still gets wrong
    (their tags carried over, marked carried, editable), plus newly drawn dev errors.

    ``predictions`` are this version's. Replaces any sample the version had. ``user`` must be
    an editor (it draws a sample); audited.
    """
    require(user, "draw a sample")
    earlier = store.labels.tag_table(earlier_id)
    if not earlier.consensus_tags():
        raise InputError("the earlier version has no tagged examples to carry over")
    carried = carry_over(earlier, predictions, n, seed=seed, stratify=stratify)
    sample = store.labels.save_sample(
        version_id, carried.sample, seed=seed, stratified=stratify, carried=carried.carried
    )
    kept = set(carried.carried)
    rows = tuple(row for row in carried.tags.rows if row.id in kept)
    if rows:
        store.labels.import_table(version_id, TagTable(carried.tags.categories, rows))
    detail = {"size": sample.size, "seed": seed, "carried": len(kept), "from": earlier_id}
    store.audit.record(user.identity, SAMPLE_DRAW, project_of(store, version_id), None, detail)
    return sample


def carry_candidates(store: Store, version: ModelVersion) -> list[ModelVersion]:
    """Older versions of the project with a tagged sample (newest first): where tags can carry
    over from into ``version``."""
    return [
        v
        for v in store.versions.list(version.project_id)
        if v.number < version.number and store.labels.has_reviews(v.id)
    ]


def fixed_by(store: Store, earlier: ModelVersion, predictions: Predictions) -> list[CategoryFix]:
    """What a newer version (``predictions``) fixed of an earlier version's tagged dev errors,
    per category (:func:`diagnostics.compare.what_fixed`); empty without tags."""
    table = store.labels.tag_table(earlier.id)
    ids = tagged_ids(table)
    if not ids:
        return []
    return what_fixed(table, dev_outcomes(predictions, ids))


def project_of(store: Store, version_id: int) -> int | None:
    """The project a model version belongs to (what the audit log records)."""
    version = store.versions.get(version_id)
    return None if version is None else version.project_id


def set_images_root(store: Store, project_id: int, folder: Path) -> None:
    """Record the folder the project's image paths are relative to."""
    store.settings.set(IMAGES_SETTING.format(project_id), str(Path(folder).resolve()))


@one_transaction
def accept_images_zip(store: Store, project_id: int, name: str, data: bytes, user: User) -> int:
    """Extract an uploaded zip of images (safely) and use it for the project; returns the count.

    A refused archive raises InputError and leaves the project's images as they were. The
    images of an archive it replaces are deleted (the project shows one archive's images), so
    what a project keeps on disk is bounded by one archive's limits. ``user`` must be an editor;
    the upload is audited.
    """
    require(user, "upload files")
    digest = hashlib.sha256(data).hexdigest()
    folder = store.folder / "images" / str(project_id) / digest
    if not folder.is_dir():
        extract_images_zip(data, folder, name=name)
    if store.uploads.shared is not None:  # the team's other servers extract it from there
        store.uploads.shared.put(_images_key(digest), data)
    set_images_root(store, project_id, folder)

    def remove_replaced() -> None:
        for replaced in folder.parent.iterdir():
            if replaced != folder and replaced.is_dir() and not replaced.name.startswith("."):
                shutil.rmtree(replaced, ignore_errors=True)

    after_commit(store.engine, remove_replaced)
    store.audit.record(user.identity, IMAGES_UPLOAD, project_id, name, {"sha256": digest})
    return sum(1 for path in folder.rglob("*") if path.is_file())


def use_images_location(store: Store, project_id: int, location: str, user: User) -> int:
    """Use a folder in object storage (``s3://bucket/prefix/``) as the project's images, read in
    place (listed here, each image read when shown); returns how many images it holds.

    Refused in one line (the project's images unchanged): a location that is not a listable
    folder, one with credentials or a query in it, none there, or no images under it.
    ``user`` must be an editor; the choice is audited.
    """
    require(user, "upload files")
    location = location.strip()
    parts = urlsplit(location)
    if url_scheme(location) not in ("s3", "gs", "az") or not parts.path.strip("/"):
        raise InputError(
            f"{shown_location(location) if is_remote(location) else location}: give the images' "
            "folder in object storage as s3://BUCKET/FOLDER/ (gs:// and az:// too)"
        )
    if parts.password or parts.query:
        raise InputError(
            f"{shown_location(location)}: keep credentials out of the location (they come from "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
        )
    count = len(list_images(location))
    if not count:
        raise InputError(f"no PNG or JPEG images under {shown_location(location)}")
    store.settings.set(IMAGES_SETTING.format(project_id), location)
    store.audit.record(user.identity, IMAGES_LOCATION, project_id, location, {"images": count})
    return count


def _images_key(digest: str) -> str:
    return f"images/{digest}.zip"


def images_here(store: Store, root: str | None) -> str | None:
    """The images folder on this server: ``root`` (a folder in object storage too, read in
    place), or, when the folder was extracted on another server of the team (shared storage),
    its archive fetched and extracted into this server's data folder (once)."""
    if root is None or is_remote(root) or Path(root).is_dir() or store.uploads.shared is None:
        return root  # a folder in object storage is read in place
    folder = store.folder / "images" / Path(root).parent.name / Path(root).name
    if not folder.is_dir():
        with tempfile.TemporaryDirectory() as temporary:
            archive = Path(temporary) / "images.zip"
            if not store.uploads.shared.fetch(_images_key(folder.name), archive):
                return root
            extract_images_zip(archive.read_bytes(), folder, name=archive.name)
    return str(folder)


def is_image_path(value: object) -> bool:
    """True for an ``input`` that names a PNG/JPEG file (shown as a thumbnail)."""
    return isinstance(value, str) and value.strip().lower().endswith(IMAGE_SUFFIXES)


@lru_cache(maxsize=20_000)
def thumbnail_url(root: str, relative: str) -> str | None:
    """A data URL of the image's thumbnail, or None when it is missing or refused (once per
    image: image folders never change)."""
    try:
        return data_url(thumbnail_png(read_image_file(root, relative), relative))
    except InputError:
        return None


@lru_cache(maxsize=64)
def full_image(root: str | None, relative: str) -> bytes | None:
    """The checked bytes of one example's image for the detail view, or None (once per image)."""
    if not root or not is_image_path(relative):
        return None
    try:
        return read_image_file(root, relative)
    except InputError:
        return None


# -- the editor's view -------------------------------------------------------------------------


@dataclass
class View:
    """What one editor shows: a frame fixed for the view's life, and what is saved per row."""

    version_id: int
    annotator: str
    layout: tuple
    sample: Sample
    images_root: str | None
    frame: pd.DataFrame
    categories: list[Category]
    versions: dict[str, int]
    saved: dict[str, dict[str, object]]
    images: bool
    shown: tuple = ()
    generation: int = 0
    stale: bool = False
    conflicts: list[str] = field(default_factory=list)
    applied: dict | None = None

    @property
    def ids(self) -> list[str]:
        """Example ids in row order."""
        return self.frame[ID].tolist()

    @property
    def editable(self) -> list[str]:
        """The columns a user may change: one per category, notes, reviewed."""
        return [*(c.name for c in self.categories), NOTES, REVIEWED]

    @property
    def key(self) -> str:
        """The editor's widget key: stable for the view, new when the view is rebuilt."""
        return f"labels_{self.version_id}_{self.generation}"


def layout_of(snapshot: LabelSnapshot) -> tuple:
    """What forces a new view when it changes: the sample drawn, the category columns and the
    images folder (its thumbnails are in the frame)."""
    sample = snapshot.sample
    drawn = None if sample is None else sample.drawn_at.isoformat()
    return (drawn, tuple((c.id, c.name) for c in snapshot.categories), snapshot.images_root)


def _values(review: Review | None, categories: list[Category]) -> dict[str, object]:
    review = review or Review("", "")
    values: dict[str, object] = {c.name: c.id in review.tags for c in categories}
    values[NOTES] = review.notes
    values[REVIEWED] = review.reviewed
    return values


def build_view(
    store: Store,
    version_id: int,
    annotator: str,
    *,
    thumbnail: Thumbnailer = thumbnail_url,
    generation: int = 0,
    snapshot: LabelSnapshot | None = None,
    suggested: Mapping[str, str] | None = None,
    only: Collection[str] | None = None,
    shown: tuple = (),
    texts: Mapping[str, object] | None = None,
) -> View | None:
    """A new view of the saved sample and this annotator's reviews (None: no sample yet).

    ``snapshot`` is the version's labels as just read (read here when not given);
    ``suggested`` is the suggestions' text per example id (a read-only column); ``only``
    keeps the examples with those ids (a filter; ``shown`` names the selection), in the
    sample's order; ``texts`` (example id → the file's ``text``) adds a read-only ``text``
    column, control characters replaced and long texts folded (the editor shows it as text,
    never as HTML or markdown).
    Examples whose tags were carried over from an older version are marked ``carried``.
    """
    snapshot = snapshot or store.labels.snapshot(version_id)
    sample = snapshot.sample
    if sample is None:
        return None
    categories = snapshot.categories
    reviews = snapshot.reviews_by(annotator)
    examples = sample.examples
    if only is not None:
        examples = examples[examples[ID].isin(set(only))].reset_index(drop=True)
    root = images_here(store, snapshot.images_root)
    images = bool(len(sample.examples)) and sample.examples[INPUT].map(is_image_path).all()
    frame = examples.copy()
    if images:
        frame[INPUT] = [thumbnail(root, path) if root else None for path in examples[INPUT]]
    elif not images:
        frame[INPUT] = examples[INPUT].fillna("").astype(str)
    ids = examples[ID].tolist()
    frame[CARRIED] = [i in sample.carried for i in ids]
    frame[SUGGESTED] = [(suggested or {}).get(i, "") for i in ids]
    if texts is not None:
        frame[TEXT] = [display_text(texts.get(i)) for i in ids]
    saved = {i: _values(reviews.get(i), categories) for i in ids}
    for column in [*(c.name for c in categories), NOTES, REVIEWED]:
        frame[column] = [saved[i][column] for i in ids]
    return View(
        version_id=version_id,
        annotator=annotator,
        layout=layout_of(snapshot),
        sample=sample,
        images_root=root,
        frame=frame,
        categories=categories,
        versions={i: reviews[i].version if i in reviews else 0 for i in ids},
        saved=saved,
        images=bool(images),
        shown=shown,
        generation=generation,
    )


@dataclass
class EditResult:
    """What one editor change did: rows saved, and conflicts (not saved)."""

    saved: int = 0
    conflicts: list[Conflict] = field(default_factory=list)


def apply_editor_state(store: Store, view: View, state: dict | None, user: User) -> EditResult:
    """Save what changed in an ``st.data_editor`` state, row by row, keyed by example id.

    ``state["edited_rows"]`` maps row positions of ``view.frame`` (the frame the editor was
    given) to changed cells; it holds every edit since the editor was created, so only cells
    that differ from what is saved are written. A cell edited back to its original value is
    written too. Conflicting rows are not saved; ``view.stale`` asks for a rebuild. A state
    equal to the one applied last changes nothing, so it is not compared again.

    ``user`` must be an annotator, and a signed-in user tags as themself only
    (PermissionDenied otherwise, nothing saved); each saved row is audited.
    """
    if state is not None and state == view.applied:
        return EditResult()
    edited = {int(pos): cells for pos, cells in ((state or {}).get("edited_rows") or {}).items()}
    ids = view.ids
    shown = {c: [_clean(v, c) for v in view.frame[c].tolist()] for c in view.editable}
    positions = set(edited)
    positions |= {
        pos
        for pos, example in enumerate(ids)
        if any(view.saved[example][c] != shown[c][pos] for c in view.editable)
    }
    result = EditResult()
    by_name = {c.name: c.id for c in view.categories}
    for pos in sorted(positions):
        if not 0 <= pos < len(ids):
            continue
        example = ids[pos]
        wanted = {c: shown[c][pos] for c in view.editable}
        wanted.update({c: _clean(v, c) for c, v in edited.get(pos, {}).items() if c in wanted})
        before = view.saved[example]
        changed = {c for c in view.editable if wanted[c] != before[c]}
        if not changed:
            continue
        check_tagger(user, view)  # before the first save: a refusal saves nothing
        edit = LabelEdit(
            example_id=example,
            annotator=view.annotator,
            add=frozenset(by_name[c] for c in changed if c in by_name and wanted[c]),
            remove=frozenset(by_name[c] for c in changed if c in by_name and not wanted[c]),
            reviewed=bool(wanted[REVIEWED]) if REVIEWED in changed else None,
            notes=str(wanted[NOTES]) if NOTES in changed else None,
        )
        detail = edit_detail(edit, view.categories)
        audit = partial(
            audit_row, user.identity, TAG_EDIT, project_of(store, view.version_id), example, detail
        )
        try:
            review = store.labels.save_edit(view.version_id, edit, view.versions[example], audit)
        except Conflict as conflict:
            result.conflicts.append(conflict)
            view.conflicts.append(conflict_message(conflict, view.categories))
            view.stale = True
            continue
        view.versions[example] = review.version
        view.saved[example] = _values(review, view.categories)
        result.saved += 1
    if not result.conflicts:
        view.applied = copy.deepcopy(state)
    return result


def check_tagger(user: User, view: View) -> None:
    """Refuse (PermissionDenied) a user who may not tag, or a signed-in user tagging in a view
    of another annotator than themself."""
    check_tagger_as(user, view.annotator)


def check_tagger_as(user: User, annotator: str) -> None:
    """Refuse (PermissionDenied) a user who may not tag, or a signed-in user tagging as another
    annotator than themself."""
    require(user, "tag errors")
    if user.signed_in and annotator != user.email:
        raise PermissionDenied(
            f"{user.email} may tag only as {user.email}, not as '{annotator}'; reload the page"
        )


def edit_detail(edit: LabelEdit, categories: list[Category]) -> dict:
    """What an edit changed, by category name, for the audit log."""
    names = {c.id: c.name for c in categories}
    detail: dict = {"annotator": edit.annotator}
    if edit.add:
        detail["added"] = sorted(names.get(c, str(c)) for c in edit.add)
    if edit.remove:
        detail["removed"] = sorted(names.get(c, str(c)) for c in edit.remove)
    if edit.reviewed is not None:
        detail["reviewed"] = edit.reviewed
    if edit.notes is not None:
        detail["notes"] = edit.notes
    return detail


def _clean(value: object, column: str) -> bool | str:
    if column == NOTES:
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return bool(value) if value is not None and not pd.isna(value) else False


def _describe(values: dict[str, object], columns: list[str]) -> str:
    parts = []
    for column in columns:
        value = values.get(column)
        if column == NOTES:
            parts.append(f"notes '{value}'")
        else:
            parts.append(f"{column} {'on' if value else 'off'}")
    return ", ".join(parts)


def conflict_message(conflict: Conflict, categories: list[Category]) -> str:
    """One sentence naming the example, the unsaved edit and the value saved by someone else."""
    names = {c.id: c.name for c in categories}
    edit = conflict.edit
    mine: dict[str, object] = {names.get(c, "?"): True for c in edit.add}
    mine |= {names.get(c, "?"): False for c in edit.remove}
    if edit.reviewed is not None:
        mine[REVIEWED] = edit.reviewed
    if edit.notes is not None:
        mine[NOTES] = edit.notes
    theirs = _values(conflict.current, categories)
    columns = list(mine)
    who = f" (annotator '{edit.annotator}')" if edit.annotator else ""
    return (
        f"Example '{edit.example_id}'{who} was changed in another session: your edit "
        f"({_describe(mine, columns)}) was not saved; the saved value is "
        f"({_describe(theirs, columns)}). The table now shows the saved values."
    )


# -- summaries ---------------------------------------------------------------------------------


def progress_of(snapshot: LabelSnapshot, annotator: str) -> tuple[int, int]:
    """(examples this annotator reviewed or tagged, examples in the sample) of the labels."""
    if snapshot.sample is None:
        return 0, 0
    ids = set(snapshot.sample.ids)
    done = sum(
        1
        for r in snapshot.reviews_by(annotator).values()
        if r.example_id in ids and (r.reviewed or r.tags)
    )
    return done, len(ids)


def ceiling_for(
    table: TagTable, summary: dict, carried: Collection[str] = ()
) -> tuple[Ceiling | None, list[Agreement]]:
    """The ceiling table of every annotator's tags (their consensus) and their agreement per
    category (empty with fewer than two annotators); no ceiling before any review.

    ``summary`` is the predictions' :func:`~diagnostics.errors.dev_error_summary`; ``carried``
    the sample's ids whose tags were carried over (not random draws: never extrapolated).
    """
    if not table.consensus_tags():
        return None, []
    return table_ceiling(
        table, summary["dev_error"], dev_errors=summary["dev_errors"], carried=carried
    )


def ceiling_frame(ceiling: Ceiling) -> pd.DataFrame:
    """The ceiling table for display, one row per category (the report's rows)."""
    return pd.DataFrame(ceiling_table(ceiling.to_dict()))


def agreement_frame(agreements: list[Agreement]) -> pd.DataFrame:
    """The agreement table for display."""
    return pd.DataFrame(
        [
            {
                "category": a.category,
                "kappa": None if a.kappa is None else round(a.kappa, 2),
                "strength": a.strength,
                "raw agreement": f"{a.observed:.0%}",
                "examples": a.items,
                "method": "Cohen's kappa" if a.method == "cohen" else "Fleiss' kappa",
            }
            for a in agreements
        ]
    )


# -- CSV ---------------------------------------------------------------------------------------


def export_csv(store: Store, version_id: int) -> str:
    """The tags CSV of a version's sample: saved reviews, plus a blank row per untouched id."""
    snapshot = store.labels.snapshot(version_id)
    sample, table = snapshot.sample, snapshot.tag_table()
    if sample is None:
        return write_tags_csv(table)
    touched = {row.id for row in table.rows}
    order = {example: i for i, example in enumerate(sample.ids)}
    rows = [*table.rows, *(TagRow(i) for i in sample.ids if i not in touched)]
    rows.sort(key=lambda row: (order.get(row.id, len(order)), row.annotator))
    context = {
        str(r[ID]): {c: ("" if pd.isna(r[c]) else r[c]) for c in FIXED_COLUMNS[1:]}
        for r in sample.examples.to_dict("records")
    }
    return write_tags_csv(TagTable(table.categories, tuple(rows)), context)


@one_transaction
def import_csv(store: Store, version_id: int, data: bytes, name: str, user: User) -> int:
    """Validate and save an uploaded tags CSV, all or nothing; returns the rows imported.

    ``user`` must be an editor (a CSV may hold other annotators' rows); the import is audited,
    once for the file and once per row on its example (who imported it, under which name).
    """
    require(user, "import tags")
    sample = store.labels.sample(version_id)
    if sample is None:
        raise InputError("draw a sample before importing tags: ids are checked against it")
    table = read_tags_csv(data, sample_ids=sample.ids, name=name)
    count = store.labels.import_table(version_id, table)
    project = project_of(store, version_id)
    store.audit.record(user.identity, TAG_IMPORT, project, name, {"rows": count})
    for row in table.rows:  # each example's history shows the import, under whose name
        detail = {"annotator": row.annotator, "tags": sorted(row.tags), "imported from": name}
        store.audit.record(user.identity, TAG_IMPORT, project, row.id, detail)
    return count


# -- categories --------------------------------------------------------------------------------


@one_transaction
def add_category(store: Store, version_id: int, name: str, user: User) -> Category:
    """Add a category (an annotator may); audited."""
    require(user, "add a category")
    category = store.labels.add_category(version_id, name)
    store.audit.record(
        user.identity,
        CATEGORY_CHANGE,
        project_of(store, version_id),
        None,
        {"added": category.name},
    )
    return category


@one_transaction
def rename_category(
    store: Store, version_id: int, category_id: int, name: str, user: User
) -> Category:
    """Rename a category, its tags following (an editor may); audited."""
    require(user, "edit categories")
    before = {c.id: c.name for c in store.labels.categories(version_id)}.get(category_id)
    category = store.labels.rename_category(version_id, category_id, name)
    detail = {"renamed": before, "to": category.name}
    store.audit.record(user.identity, CATEGORY_CHANGE, project_of(store, version_id), None, detail)
    return category


@one_transaction
def merge_categories(
    store: Store, version_id: int, sources: list[int], target: int, user: User
) -> int:
    """Fold ``sources`` into ``target`` (an editor may); audited; returns the reviews touched."""
    require(user, "edit categories")
    names = {c.id: c.name for c in store.labels.categories(version_id)}
    touched = store.labels.merge_categories(version_id, sources, target)
    detail = {"merged": sorted(names.get(s, str(s)) for s in sources), "into": names.get(target)}
    store.audit.record(user.identity, CATEGORY_CHANGE, project_of(store, version_id), None, detail)
    return touched


@one_transaction
def remove_category(store: Store, version_id: int, category_id: int, user: User) -> int:
    """Delete a category and its tags (an editor may); audited; returns the reviews touched."""
    require(user, "edit categories")
    name = {c.id: c.name for c in store.labels.categories(version_id)}.get(category_id)
    touched = store.labels.remove_category(version_id, category_id)
    store.audit.record(
        user.identity, CATEGORY_CHANGE, project_of(store, version_id), None, {"removed": name}
    )
    return touched
