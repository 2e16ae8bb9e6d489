"""Find-similar, the map and the spread estimate without the UI: reading a version's dev
embeddings, the nearest dev errors of an example, tagging them in one action (and undoing it),
and the ceiling with the spread estimate. The page, the CLI and the report call these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from diagnostics.ceiling import Ceiling
from diagnostics.embeddings import image_reader, source_columns
from diagnostics.formats import file_columns
from diagnostics.ingest import Predictions, read_predictions
from diagnostics.similar import (
    DevEmbeddings,
    MapRows,
    dev_embeddings,
    map_rows,
    model_dev_embeddings,
)
from diagnostics.spread import spread_ceiling
from diagnostics.tags import TagTable
from diagnostics.validation import InputError
from strategy_app.auth import User
from strategy_app.errors.service import check_tagger_as, edit_detail, project_of
from strategy_app.store import ModelVersion, Store
from strategy_app.store.audit import TAG_EDIT, audit_row
from strategy_app.store.labels import Conflict, LabelEdit
from strategy_app.versions.service import version_file


def read_embedded(
    path: str | Path,
    *,
    images: str | Path | None = None,
    display_name: str | None = None,
) -> tuple[Predictions, DevEmbeddings]:
    """A classification predictions file read with its embedding columns, and its dev rows'
    embeddings (images under ``images``, a folder or an object storage location, by default
    the file's folder)."""
    predictions = _read_with_embeddings(Path(path), display_name)
    root = images if images is not None else Path(path).parent  # str: may be s3://…
    return predictions, dev_embeddings(predictions, image_reader=image_reader(root))


def _read_with_embeddings(path: Path, display_name: str | None) -> Predictions:
    columns = source_columns(file_columns(path))
    return read_predictions(
        path, metric="error", extra_columns=columns, display_name=display_name or path.name
    )


def train_map_rows(
    store: Store, version: ModelVersion, images_root: str | None, source: str
) -> MapRows:
    """The dev and train rows embedded together for the map, from the search's model
    (``source`` ``model``) or the file (its columns, text or images under ``images_root``)."""
    path = version_file(store, version.state)
    if path is None:
        raise InputError("typed levels have no examples to map")
    name = version.state.upload_name or path.name
    model = search_model(store, version) if source == "model" else None
    if model is not None:
        from diagnostics.search.datasets import load_dataset
        from diagnostics.search.penultimate import penultimate_activations

        data = load_dataset(model.dataset, label=model.label, seed=model.seed)
        activations = penultimate_activations(model.folder, data, splits=("dev", "train"))
        predictions = read_predictions(path, metric="error", display_name=name)
        return map_rows(predictions, activations=activations, described=model.described)
    predictions = _read_with_embeddings(path, name)
    reader = image_reader(images_root or path.parent)
    return map_rows(predictions, image_reader=reader)


def version_embedded(
    store: Store,
    version: ModelVersion,
    images_root: str | None,
) -> tuple[Predictions, DevEmbeddings] | None:
    """A version's predictions and dev embeddings (images under the project's images folder);
    None for typed levels. Raises InputError when there are no embeddings to be had."""
    path = version_file(store, version.state)
    if path is None:
        return None
    if images_root is None:
        images_root = str(path.parent)  # no images: image paths are then refused as missing
    return read_embedded(
        path,
        images=images_root,
        display_name=version.state.upload_name or path.name,
    )


@dataclass(frozen=True)
class SearchModel:
    """The saved best model of the search run a version came from."""

    folder: Path
    dataset: str
    label: str | None
    seed: int
    described: str


def search_model(store: Store, version: ModelVersion) -> SearchModel | None:
    """The model behind a version made from a search (its origin names the run): None for
    any other version; InputError saying why when the run's model cannot be had (the run is
    gone or unfinished, or the version is a trial other than the best, whose model is not
    kept)."""
    from diagnostics.search.outputs import MODEL_META_FILE
    from strategy_app.search.service import read_result, run_settings
    from strategy_app.search.shared import run_file

    origin = version.origin or {}
    if origin.get("kind") != "search":
        return None
    run = next(
        (r for r in store.search_runs.list(version.project_id) if r.name == origin.get("run")),
        None,
    )
    if run is None:
        raise InputError(f"search run '{origin.get('run')}' of this version no longer exists")
    result = read_result(run) or {}
    best = (result.get("best") or {}).get("trial")
    if not result.get("model") or best is None:
        raise InputError(f"search run '{run.name}' has no saved best model")
    if origin.get("trial") is not None and origin.get("trial") != best:
        raise InputError(
            f"this version is trial {origin.get('trial')} of run '{run.name}'; only the best "
            f"model (trial {best}) is kept"
        )
    settings = run_settings(store, run)
    weights = run_file(run, result["model"])  # fetched when another server of the team ran it
    run_file(run, Path(result["model"]).parent / MODEL_META_FILE)
    return SearchModel(
        weights.parent,
        settings.dataset or "digits",
        settings.label,
        settings.seed,
        f"search run '{run.name}' best model (trial {best})",
    )


def model_embedded(
    store: Store, version: ModelVersion
) -> tuple[Predictions, DevEmbeddings, SearchModel] | None:
    """A search version's predictions and the dev rows' embeddings from the penultimate layer
    of the run's best model (None: not a search version; InputError: no model to be had)."""
    from diagnostics.search.datasets import load_dataset
    from diagnostics.search.penultimate import penultimate_activations

    model = search_model(store, version)
    path = version_file(store, version.state)
    if model is None or path is None:
        return None
    data = load_dataset(model.dataset, label=model.label, seed=model.seed)
    activations = penultimate_activations(model.folder, data, splits=("dev",))
    predictions = read_predictions(
        path, metric="error", display_name=version.state.upload_name or path.name
    )
    return predictions, model_dev_embeddings(predictions, activations, model.described), model


def with_spread(
    ceiling: Ceiling, table: TagTable, dev: DevEmbeddings, *, source: str = "the predictions"
) -> Ceiling:
    """The ceiling of ``table`` (consensus tags) with the spread estimate per category."""
    return spread_ceiling(ceiling, dev, table.consensus_tags(), source=source)


def version_spread(store: Store, version: ModelVersion, ceiling: Ceiling) -> Ceiling:
    """A version's ceiling with the spread estimate of its saved tags (the report's); the
    ceiling unchanged when the version has no embeddings to be had."""
    labels = store.labels.snapshot(version.id)
    try:
        embedded = version_embedded(store, version, labels.images_root)
        if embedded is None:
            return ceiling
        predictions, dev = embedded
        return with_spread(ceiling, labels.tag_table(), dev, source=predictions.source)
    except InputError:
        return ceiling


@dataclass(frozen=True)
class BulkTag:
    """What one *tag them all* did: the examples that gained the category (undo removes it
    from exactly these)."""

    version_id: int
    annotator: str
    category_id: int
    category: str
    added: tuple[str, ...]


def tag_examples(
    store: Store,
    version_id: int,
    ids: Sequence[str],
    category_id: int,
    *,
    annotator: str,
    user: User,
    add: bool = True,
) -> tuple[BulkTag, list[str]]:
    """Add (or remove) one category on each of ``ids`` (examples of the sample), each saved as
    its own sheet edit (optimistic, audited). Returns what changed and the messages of ids
    not changed (a conflict with another session, an id outside the sample)."""
    check_tagger_as(user, annotator)
    labels = store.labels.snapshot(version_id)
    categories = labels.categories
    names = {c.id: c.name for c in categories}
    if category_id not in names:
        raise InputError("that category no longer exists; choose another")
    reviews = labels.reviews_by(annotator)
    project = project_of(store, version_id)
    changed, problems = [], []
    for example in ids:
        review = reviews.get(example)
        present = review is not None and category_id in review.tags
        if present == add:
            continue
        which = frozenset({category_id})
        edit = LabelEdit(
            example,
            annotator,
            add=which if add else frozenset(),
            remove=frozenset() if add else which,
        )
        audit: Callable = partial(
            audit_row, user.identity, TAG_EDIT, project, example, edit_detail(edit, categories)
        )
        try:
            store.labels.save_edit(version_id, edit, 0 if review is None else review.version, audit)
        except (Conflict, InputError) as exc:
            problems.append(str(exc))
            continue
        changed.append(example)
    return BulkTag(version_id, annotator, category_id, names[category_id], tuple(changed)), problems


def undo_bulk(store: Store, done: BulkTag, user: User) -> list[str]:
    """Remove the category again from the examples a :func:`tag_examples` added it to (each an
    audited edit); returns the messages of those not changed."""
    _, problems = tag_examples(
        store,
        done.version_id,
        done.added,
        done.category_id,
        annotator=done.annotator,
        user=user,
        add=False,
    )
    return problems
