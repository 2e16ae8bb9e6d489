"""The Error analysis page's *Similar* panel: the embedding map of the dev examples (a box
selection filters the sheet), the nearest dev errors of an example as a gallery, tagged in one
action (each tag an audited sheet edit, undoable), and the spread estimate's cached ceiling.

All logic lives in :mod:`strategy_app.errors.similar` and :mod:`diagnostics.similar`; the
version's embeddings, index and map are read once per file and images folder (cached here, the
feature's own readers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from diagnostics.ceiling import Ceiling
from diagnostics.charts import MAP_POINT, MAP_SELECTION, embedding_map_chart
from diagnostics.embeddings import TEXT_COLUMN, display_text
from diagnostics.formats import file_columns
from diagnostics.ingest import Predictions
from diagnostics.similar import (
    DevEmbeddings,
    NeighbourIndex,
    drawn_points,
    find_similar,
    ids_in_box,
    map_points,
)
from diagnostics.tags import TagTable
from diagnostics.validation import InputError
from strategy_app.errors import similar
from strategy_app.errors.service import INPUT, Y_PRED, Y_TRUE, full_image
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.signin import current_user
from strategy_app.store import ModelVersion, Store
from strategy_app.store.labels import LabelSnapshot
from strategy_app.store.suggestions import StoredSuggestion
from strategy_app.versions.service import read_version, require_file, version_file

BULK_KEY = "_similar_bulk_{}"
QUERY_KEY = "similar_query_{}"
COLOUR_KEY = "similar_colour_{}"
MAP_KEY = "similar_map_{}"
TRAIN_KEY = "similar_train_{}"
OPEN_KEY = "_similar_open_{}"
OPENED_KEY = "_similar_opened_{}"  # the last click acted on (a selection outlives reruns)
SOURCE_KEY = "similar_source_{}"
GALLERY_COLUMNS = 4
NEIGHBOURS = 8
SOURCES = {
    "model": "the search model's penultimate layer",
    "file": "the file (embedding columns, text or images)",
}
COLOURS = {"outcome": "right / wrong", "split": "split", "tag": "tag", "suggestion": "suggestion"}


@dataclass(frozen=True)
class Embedded:
    """A version's dev embeddings with what the panel needs of them, built once per file."""

    predictions: Predictions
    dev: DevEmbeddings
    index: NeighbourIndex
    points: pd.DataFrame
    map_method: str
    source: str  # 'model' (the search's model) or 'file'


def _built(predictions: Predictions, dev: DevEmbeddings, source: str) -> Embedded:
    points, method = map_points(dev, umap=True)
    index = NeighbourIndex(dev.error_vectors())
    return Embedded(predictions, dev, index, points, method, source)


@st.cache_resource(max_entries=4, show_spinner="Embedding the dev examples…")
def _embedded(path: str, images_root: str | None, display_name: str) -> Embedded:
    """The embeddings of one predictions file (its path is its content hash) and images."""
    predictions, dev = similar.read_embedded(
        path, images=images_root or Path(path).parent, display_name=display_name
    )
    return _built(predictions, dev, "file")


@st.cache_resource(max_entries=4, show_spinner="Embedding the dev examples with the model…")
def _model_embedded(_store: Store, _version: ModelVersion, key: tuple) -> Embedded | None:
    """The embeddings from the search model's penultimate layer, once per version (``key``)."""
    found = similar.model_embedded(_store, _version)
    return None if found is None else _built(found[0], found[1], "model")


def version_embedded(store: Store, version: ModelVersion, images_root: str | None) -> Embedded:
    """The version's cached embeddings, from the search's model when the version came from a
    search and the panel's choice is the model (the default), else from the file; InputError:
    none to be had, or a typed-levels version."""
    sources = embedding_sources(store, version, images_root)
    chosen = st.session_state.get(SOURCE_KEY.format(version.id))
    usable = {name: found for name, found in sources.items() if isinstance(found, Embedded)}
    if chosen in usable:
        return usable[chosen]
    if usable:
        return next(iter(usable.values()))
    raise next(iter(sources.values()))  # type: ignore[misc]  # every source is an error


def embedding_sources(
    store: Store, version: ModelVersion, images_root: str | None
) -> dict[str, Embedded | InputError]:
    """Each source of embeddings the version has (``model`` first, when it came from a
    search, then ``file``): its cached embeddings, or the InputError saying why not."""
    sources: dict[str, Embedded | InputError] = {}
    if version.origin.get("kind") == "search":
        key = (version.id, str(version_file(store, version.state)), repr(version.origin))
        try:
            found = _model_embedded(store, version, key)
            if found is not None:
                sources["model"] = found
        except InputError as exc:
            sources["model"] = exc
    try:
        path = require_file(store, version, "an embedding")
        sources["file"] = _embedded(str(path), images_root, version.state.upload_name or path.name)
    except InputError as exc:
        sources["file"] = exc
    return sources


def sample_texts(store: Store, version: ModelVersion) -> dict[str, object] | None:
    """Example id → the file's ``text`` for the dev rows (None when the file has no ``text``
    column): what the sheet and the detail view show of a text project."""
    path = version_file(store, version.state)
    if path is None or TEXT_COLUMN not in file_columns(path):
        return None
    predictions = read_version(store, version.state, (TEXT_COLUMN,))
    assert predictions is not None  # the version has a file
    frame = predictions.frame
    ids = frame["id"].astype(str) if "id" in frame else pd.Series(range(1, len(frame) + 1))
    return dict(zip(ids.astype(str), frame[TEXT_COLUMN], strict=True))


@st.cache_data(max_entries=16, show_spinner="Spreading the tags to the rest of dev…")
def _spread_cached(
    _embedded_data: Embedded, key: tuple, _ceiling: Ceiling, _table: TagTable
) -> Ceiling:
    """The spread ceiling, once per file, images folder and saved tags (``key``)."""
    return similar.with_spread(
        _ceiling, _table, _embedded_data.dev, source=_embedded_data.predictions.source
    )


def spread_ceiling(
    store: Store, version: ModelVersion, labels: LabelSnapshot, ceiling: Ceiling
) -> Ceiling:
    """``ceiling`` with the spread estimate (cached per saved tags); InputError when there are
    no embeddings or the tags are not this version's dev errors."""
    embedded = version_embedded(store, version, labels.images_root)
    table = labels.tag_table()
    key = (
        version.id,
        str(version_file(store, version.state)),
        labels.images_root,
        tuple(sorted((i, tuple(sorted(t))) for i, t in table.consensus_tags().items())),
    )
    return _spread_cached(embedded, key, ceiling, table)


def _colour_values(
    points: pd.DataFrame, labels: LabelSnapshot, stored: Sequence[StoredSuggestion], colour: str
) -> pd.Series:
    dev = points["split"] == "dev"
    if colour == "tag":
        tags = labels.tag_table().consensus_tags()
        named = points["id"].map(
            lambda i: ", ".join(sorted(tags[i])) or "untagged" if i in tags else "not reviewed"
        )
        return named.where(dev, "train")
    if colour == "suggestion":
        kinds: dict[str, str] = {}
        for s in stored:
            kinds.setdefault(s.suggestion.id, s.suggestion.category)
        return points["id"].map(lambda i: kinds.get(i, "none")).where(dev, "train")
    return points[colour]


@st.cache_resource(max_entries=4, show_spinner="Embedding the dev and train examples…")
def _train_points(
    _store: Store, _version: ModelVersion, key: tuple, images_root: str | None, source: str
) -> tuple[pd.DataFrame, str]:
    """The map of the dev and train examples (one projection), once per version and source."""
    return map_points(similar.train_map_rows(_store, _version, images_root, source), umap=True)


def map_section(
    store: Store,
    version: ModelVersion,
    embedded: Embedded,
    labels: LabelSnapshot,
    stored: Sequence[StoredSuggestion],
) -> list[str] | None:
    """The map (dev examples, and train ones on request); returns the sample ids inside the
    box drawn on it (None: no box). A click on a point opens that example."""
    sample_ids = labels.sample.ids if labels.sample is not None else []
    colour = st.segmented_control(
        "Colour by",
        list(COLOURS),
        format_func=lambda name: COLOURS[name],
        default="outcome",
        key=COLOUR_KEY.format(version.id),
    )
    with_train = st.toggle("Train examples too", key=TRAIN_KEY.format(version.id))
    colour = colour or "outcome"
    points, method = embedded.points, embedded.map_method
    if with_train:
        key = (version.id, str(version_file(store, version.state)), repr(version.origin))
        try:
            points, method = _train_points(store, version, key, labels.images_root, embedded.source)
        except InputError as exc:
            st.caption(f":material/info: No train examples on the map: {escape_markdown(exc)}")
    dev = points["split"] == "dev"
    points = points.assign(sampled=points["id"].isin(set(sample_ids)) & dev)
    drawn = drawn_points(points, keep=sample_ids)
    drawn = drawn.assign(**{colour: _colour_values(drawn, labels, stored, colour)})
    errors = int((points["outcome"][dev] == "error").sum())
    trains = int((~dev).sum())
    what = "Dev and train examples" if trains else "Dev examples"
    event = st.altair_chart(
        embedding_map_chart(drawn, colour, title=f"{what} ({method})"),
        # a box drawn on one projection means nothing on another: each has its own selection
        key=MAP_KEY.format(version.id) + ("_train" if trains else ""),
        on_select="rerun",
        width="stretch",
    )
    st.caption(
        f"{int(dev.sum()):,} dev examples ({errors:,} errors)"
        + (f" and {trains:,} train examples" if trains else "")
        + f", {len(drawn):,} drawn"
        + (" (a random subset; counts use every example)" if len(drawn) < len(points) else "")
        + f" · embedding {escape_markdown(embedded.dev.embeddings.method)}"
        + " · drag a box to show only the sample's examples inside it in the sheet; click a "
        "point to open it."
    )
    for note in embedded.dev.embeddings.notes:
        st.caption(f":material/info: {escape_markdown(note)}")
    selection: dict = dict(event.get("selection", {})) if event else {}
    clicked = selection.get(MAP_POINT) or []
    if clicked and isinstance(clicked[0], dict) and "id" in clicked[0]:
        _open_point(version, embedded, points, sample_ids, clicked[0], labels.images_root)
    box = selection.get(MAP_SELECTION)
    if not box or "x" not in box or "y" not in box:
        return None
    inside = ids_in_box(points, box["x"], box["y"])
    in_errors = int(points[points["id"].isin(set(inside)) & dev]["outcome"].eq("error").sum())
    kept = [i for i in sample_ids if i in set(inside)]
    st.caption(
        f"In the box: {len(inside):,} dev examples, {in_errors:,} errors, {len(kept)} in the "
        "sample (the sheet shows these)."
    )
    return kept


def _open_point(
    version: ModelVersion,
    embedded: Embedded,
    points: pd.DataFrame,
    sample_ids: Sequence[str],
    point: dict,
    images_root: str | None,
) -> None:
    """A clicked point: a sample example opens in the Detail view (next run); any other is
    shown here (its split, classes, score and image or text)."""
    example, split = str(point["id"]), str(point.get("split", "dev"))
    if split == "dev" and example in set(sample_ids):
        if st.session_state.get(OPENED_KEY.format(version.id)) != example:
            st.session_state[OPEN_KEY.format(version.id)] = example
            st.session_state[OPENED_KEY.format(version.id)] = example
            st.rerun()
        return
    frame = embedded.predictions.frame
    ids = frame["id"].astype(str) if "id" in frame else pd.Series(range(1, len(frame) + 1))
    rows = frame[(ids.astype(str) == example).to_numpy() & (frame["split"] == split).to_numpy()]
    if rows.empty:
        return
    record = rows.iloc[0]
    with st.container(border=True):
        st.caption(
            f"{escape_markdown(example)} · {split} · true {escape_markdown(record[Y_TRUE])} → "
            f"predicted {escape_markdown(record[Y_PRED])}"
            + (" · not in the sample" if split == "dev" else " · a train example")
        )
        _tile(record, images_root)


def opened_example(version: ModelVersion) -> str | None:
    """The sample example a click on the map asked to open (once), else None."""
    found: str | None = st.session_state.pop(OPEN_KEY.format(version.id), None)
    return found


def gallery_section(
    store: Store,
    version: ModelVersion,
    embedded: Embedded,
    labels: LabelSnapshot,
    annotator: str,
    ids: Sequence[str],
    view_key: str,
) -> None:
    """Find similar: the nearest dev errors of one example of the sheet, as a gallery, and
    one action that tags those in the sample (with undo)."""
    if not ids:
        st.caption("No example in the sheet to start from.")
        return
    query = st.selectbox("Find dev errors like", list(ids), key=QUERY_KEY.format(version.id))
    try:
        found, distances = find_similar(embedded.dev, query, NEIGHBOURS, index=embedded.index)
    except InputError as exc:
        st.error(escape_markdown(exc))
        return
    sample_ids = set(labels.sample.ids) if labels.sample is not None else set()
    frame = embedded.predictions.frame
    row_of = dict(zip(embedded.dev.embeddings.ids, embedded.dev.positions, strict=True))
    start, caption = st.columns([1, GALLERY_COLUMNS - 1], vertical_alignment="center")
    with start:
        _tile(frame.iloc[int(row_of[query])], labels.images_root)
    caption.caption(
        f"Its {len(found)} nearest dev errors by cosine distance of the embeddings, nearest "
        "first (id · distance · true → predicted):"
    )
    columns = st.columns(GALLERY_COLUMNS)
    for n, (example, distance) in enumerate(zip(found, distances, strict=True)):
        record = frame.iloc[int(row_of[example])]
        with columns[n % GALLERY_COLUMNS]:
            _tile(record, labels.images_root)
            st.caption(
                f"{escape_markdown(example)} · {distance:.3f} · "
                f"{escape_markdown(record[Y_TRUE])} → {escape_markdown(record[Y_PRED])}"
                + (" · in the sample" if example in sample_ids else " · not in the sample")
            )
    taggable = [i for i in found if i in sample_ids]
    _bulk_controls(store, version, labels, annotator, taggable, view_key)


def _tile(record: pd.Series, images_root: str | None) -> None:
    path = record.get(INPUT)
    image = full_image(images_root, path) if isinstance(path, str) else None
    if image is not None:
        st.image(image, width=96)
    elif TEXT_COLUMN in record and isinstance(record[TEXT_COLUMN], str):
        st.text(display_text(record[TEXT_COLUMN], fold=160))
    elif isinstance(path, str):
        st.text(display_text(path, fold=160))


def _bulk_controls(
    store: Store,
    version: ModelVersion,
    labels: LabelSnapshot,
    annotator: str,
    taggable: list[str],
    view_key: str,
) -> None:
    user = current_user()
    names = {c.id: c.name for c in labels.categories}
    if not names or not user.can("tag errors"):
        return
    pick, act = st.columns([2, 3], vertical_alignment="bottom")
    category: int | None = pick.selectbox(
        "Category",
        list(names),
        format_func=lambda category_id: names[category_id],
        key=f"similar_cat_{version.id}",
    )
    label = f"Tag the {len(taggable)} in the sample as '{names.get(category or -1, '')}'"
    clicked = act.button(label, key=f"similar_tag_{version.id}", disabled=not taggable)
    if clicked and category is not None:
        try:
            done, problems = similar.tag_examples(
                store, version.id, taggable, category, annotator=annotator, user=user
            )
        except InputError as exc:
            st.error(escape_markdown(exc))
            return
        st.session_state[BULK_KEY.format(version.id)] = done
        _after_change(view_key, problems, f"Tagged {len(done.added)} as '{done.category}'")
    st.caption(
        "Only the sample's examples are tagged: the ceiling counts a random sample, and the "
        "spread estimate carries its tags to the other dev errors."
    )
    last: similar.BulkTag | None = st.session_state.get(BULK_KEY.format(version.id))
    if (
        last is not None
        and last.added
        and last.annotator == annotator
        and st.button(
            f"Undo: untag the {len(last.added)} tagged as '{last.category}'",
            key=f"similar_undo_{version.id}",
            icon=":material/undo:",
        )
    ):
        try:
            problems = similar.undo_bulk(store, last, user)
        except InputError as exc:
            st.error(escape_markdown(exc))
            return
        st.session_state.pop(BULK_KEY.format(version.id), None)
        _after_change(view_key, problems, f"Untagged {len(last.added)}")


def _after_change(view_key: str, problems: list[str], done: str) -> None:
    view = st.session_state.get(view_key)
    if view is not None:
        view.stale = True
        view.conflicts.extend(problems)
    st.toast(done, icon=":material/check:")
    st.rerun()


def similar_panel(
    store: Store,
    version: ModelVersion,
    labels: LabelSnapshot,
    annotator: str,
    ids: Sequence[str],
    stored: Sequence[StoredSuggestion],
    view_key: str,
) -> list[str] | None:
    """The *Similar* panel: the map and find-similar; returns the ids the map's box keeps in
    the sheet (None: all of ``ids``)."""
    sources = embedding_sources(store, version, labels.images_root)
    usable = [name for name, found in sources.items() if isinstance(found, Embedded)]
    for name, found in sources.items():
        if isinstance(found, InputError):
            which = f" from {SOURCES[name]}" if len(sources) > 1 else ""
            st.caption(f":material/info: No map or find-similar{which}: {escape_markdown(found)}")
    if not usable:
        return None
    if len(usable) > 1:
        st.segmented_control(
            "Embedding",
            usable,
            format_func=lambda name: SOURCES[name],
            default=usable[0],
            key=SOURCE_KEY.format(version.id),
        )
    embedded = version_embedded(store, version, labels.images_root)
    kept = map_section(store, version, embedded, labels, stored)
    gallery_section(store, version, embedded, labels, annotator, ids, view_key)
    if kept is None:
        return None
    return [i for i in ids if i in set(kept)]
