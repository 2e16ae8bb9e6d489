"""Find more like this error: the nearest dev errors of an example by cosine distance.

The dev rows of a predictions file are embedded once (:func:`dev_embeddings`, see
:mod:`diagnostics.embeddings`); the dev errors among them form a :class:`NeighbourIndex`. Up to
:data:`EXACT_LIMIT` errors the search is exact: one matrix product per chunk of
:data:`CHUNK` unit vectors and a partial sort, in numpy. Beyond, a scikit-learn ball tree over the
unit vectors answers (still exact: on unit vectors the Euclidean order is the cosine order,
``cosine distance = euclidean² / 2``), built once, so each query is sub-linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from diagnostics.embeddings import (
    TEXT_COLUMN,
    Embeddings,
    ImageReader,
    Vectors,
    display_text,
    embed,
    file_embeddings,
)
from diagnostics.errors import differs, error_positions, example_ids
from diagnostics.ingest import Predictions
from diagnostics.splitnames import SPLITS
from diagnostics.validation import InputError

EXACT_LIMIT = 300_000
CHUNK = 1 << 20  # rows per matrix product: 4 MiB of similarities at a time
DEFAULT_NEIGHBOURS = 12
CONTEXT = ("y_true", "y_pred", "score", "input", TEXT_COLUMN)


def unit_rows(vectors: npt.ArrayLike) -> Vectors:
    """Each row scaled to length 1 (float32); rows must be non-zero (checked on reading)."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit: Vectors = (array / np.where(norms > 0, norms, 1)).astype(np.float32)
    return unit


class NeighbourIndex:
    """Cosine nearest neighbours among a fixed set of vectors (exact up to ``exact_limit``
    rows, a ball tree beyond)."""

    def __init__(self, vectors: npt.ArrayLike, *, exact_limit: int = EXACT_LIMIT) -> None:
        self.unit = unit_rows(vectors)
        self.method = "exact" if len(self.unit) <= exact_limit else "ball tree"
        self._tree: Any = None
        if self.method != "exact":
            from sklearn.neighbors import NearestNeighbors

            self._tree = NearestNeighbors(algorithm="ball_tree").fit(self.unit)

    def __len__(self) -> int:
        return len(self.unit)

    def query(
        self, vector: npt.ArrayLike, k: int, exclude: Sequence[int] = ()
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """The ``k`` rows nearest to ``vector`` (positions, cosine distances, nearest first;
        ties by position), leaving out the positions in ``exclude``."""
        query = unit_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        wanted = min(k + len(exclude), len(self.unit))
        if wanted <= 0:
            return np.empty(0, np.intp), np.empty(0)
        if self._tree is not None:
            found, where = self._tree.kneighbors(query[None, :], n_neighbors=wanted)
            positions = where[0].astype(np.intp)
            distances = found[0].astype(np.float64) ** 2 / 2
        else:
            positions, distances = self._exact(query, wanted)
        keep = ~np.isin(positions, np.asarray(exclude, dtype=np.intp))
        positions, distances = positions[keep][:k], distances[keep][:k]
        return positions, np.clip(distances, 0.0, 2.0)

    def _exact(
        self, query: Vectors, wanted: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        best_pos: list[npt.NDArray[np.intp]] = []
        best_sim: list[npt.NDArray[np.float32]] = []
        for start in range(0, len(self.unit), CHUNK):
            similarity = self.unit[start : start + CHUNK] @ query
            take = min(wanted, similarity.size)
            top = np.argpartition(-similarity, take - 1)[:take]
            best_pos.append(top + start)
            best_sim.append(similarity[top])
        positions = np.concatenate(best_pos)
        similarity = np.concatenate(best_sim).astype(np.float64)
        order = np.lexsort((positions, -similarity))[:wanted]
        distances = np.subtract(1.0, similarity[order], dtype=np.float64)
        return positions[order], distances


@dataclass(frozen=True)
class DevEmbeddings:
    """The dev rows' embeddings: ``positions`` (rows of the predictions' frame) and ``errors``
    (True where the row is misclassified), aligned with ``embeddings.ids``."""

    embeddings: Embeddings
    positions: npt.NDArray[np.intp]
    errors: npt.NDArray[np.bool_]

    @property
    def error_ids(self) -> list[str]:
        """The ids of the dev errors, in file order."""
        return [i for i, wrong in zip(self.embeddings.ids, self.errors, strict=True) if wrong]

    def error_vectors(self) -> Vectors:
        """The dev errors' vectors, in file order."""
        vectors: Vectors = self.embeddings.vectors[self.errors]
        return vectors


def dev_embeddings(
    predictions: Predictions, *, image_reader: ImageReader | None = None
) -> DevEmbeddings:
    """Embed every dev row of a classification predictions file (:func:`embed`), and mark its
    errors. The file must have been read with the embedding's columns
    (:func:`~diagnostics.embeddings.source_columns`)."""
    wrong = error_positions(predictions)  # refuses regression and a file without dev rows
    positions = np.flatnonzero(predictions.split_codes == SPLITS.index("dev")).astype(np.intp)
    ids = example_ids(predictions, positions).tolist()
    frame = predictions.frame.iloc[positions]
    embeddings = embed(frame, ids, image_reader=image_reader, source=predictions.source)
    return DevEmbeddings(embeddings, positions, np.isin(positions, wrong))


def model_dev_embeddings(
    predictions: Predictions, activations: pd.DataFrame, described: str
) -> DevEmbeddings:
    """The dev rows' embeddings taken from a model's activations (columns ``id``, ``split``,
    ``emb_0 …``: :func:`~diagnostics.search.penultimate.penultimate_activations`), joined by
    id and split; ``described`` names the model. InputError naming the first dev example the
    activations lack."""
    wrong = error_positions(predictions)
    positions = _split_positions(predictions, ("dev",))
    embeddings = _model_embeddings(predictions, positions, activations, described)
    return DevEmbeddings(embeddings, positions, np.isin(positions, wrong))


def _split_positions(predictions: Predictions, splits: Sequence[str]) -> npt.NDArray[np.intp]:
    codes = [SPLITS.index(split) for split in splits]
    return np.flatnonzero(np.isin(predictions.split_codes, codes)).astype(np.intp)


def _model_embeddings(
    predictions: Predictions,
    positions: npt.NDArray[np.intp],
    activations: pd.DataFrame,
    described: str,
) -> Embeddings:
    ids = example_ids(predictions, positions).tolist()
    splits = np.asarray(SPLITS)[predictions.split_codes[positions]]
    keys = [f"{split}\0{i}" for split, i in zip(splits, ids, strict=True)]
    columns = [c for c in activations.columns if c not in ("id", "split")]
    block = activations.set_axis(
        activations["split"].astype(str) + "\0" + activations["id"].astype(str)
    )[columns]
    block = block[~block.index.duplicated()]
    missing = [key.replace("\0", " example '") for key in keys if key not in block.index]
    if missing:
        raise InputError(
            f"{predictions.source}: {missing[0]}' (and {len(missing) - 1} more) is not a row "
            f"of the dataset {described} was trained on; use the file's own embeddings"
        )
    read = file_embeddings(block.loc[keys].reset_index(drop=True), ids, columns, source=described)
    method = f"penultimate layer ({len(columns)} units) of {described}"
    return replace(read, kind="model", method=method)


@dataclass(frozen=True)
class MapRows:
    """The rows the map draws: their embeddings, split (``dev``, ``train``) and whether each
    is misclassified, aligned with ``embeddings.ids``."""

    embeddings: Embeddings
    split: npt.NDArray[np.str_]
    wrong: npt.NDArray[np.bool_]


def dev_map_rows(dev: DevEmbeddings) -> MapRows:
    """The map's rows for the dev examples only."""
    split = np.full(len(dev.embeddings.ids), "dev")
    return MapRows(dev.embeddings, split, dev.errors)


def map_rows(
    predictions: Predictions,
    splits: Sequence[str] = ("dev", "train"),
    *,
    image_reader: ImageReader | None = None,
    activations: pd.DataFrame | None = None,
    described: str = "",
) -> MapRows:
    """The rows of ``splits`` embedded together (one projection for all: :func:`embed`, or
    the model's ``activations`` named ``described``) for the map."""
    error_positions(predictions)  # refuses regression and a file without dev rows
    positions = _split_positions(predictions, splits)
    if activations is not None:
        embeddings = _model_embeddings(predictions, positions, activations, described)
    else:
        frame = predictions.frame.iloc[positions]
        ids = example_ids(predictions, positions).tolist()
        embeddings = embed(frame, ids, image_reader=image_reader, source=predictions.source)
    frame = predictions.frame
    wrong = differs(frame["y_true"], frame["y_pred"])[positions]
    split = np.asarray(SPLITS)[predictions.split_codes[positions]]
    return MapRows(embeddings, split, np.asarray(wrong, dtype=bool))


def find_similar(
    dev: DevEmbeddings,
    example_id: str,
    k: int = DEFAULT_NEIGHBOURS,
    *,
    index: NeighbourIndex | None = None,
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The ``k`` dev errors nearest to the dev example ``example_id`` (itself left out): their
    ids and cosine distances, nearest first. ``index`` is the dev errors' index when the
    caller keeps one (built here otherwise)."""
    if k < 1:
        raise InputError(f"the number of neighbours must be at least 1 (got {k})")
    ids = dev.embeddings.ids
    where = {example: i for i, example in enumerate(ids)}
    if str(example_id) not in where:
        raise InputError(
            f"'{example_id}' is not a dev example of this file; give the id of a dev row"
        )
    row = where[str(example_id)]
    error_ids = dev.error_ids
    if index is None:
        index = NeighbourIndex(dev.error_vectors())
    exclude = [error_ids.index(str(example_id))] if dev.errors[row] else []
    positions, distances = index.query(dev.embeddings.vectors[row], k, exclude)
    return [error_ids[p] for p in positions], distances


def neighbour_rows(
    predictions: Predictions, dev: DevEmbeddings, ids: Sequence[str], distances: npt.ArrayLike
) -> list[dict[str, object]]:
    """The neighbours as JSON rows: id, distance, and the context columns the file has (text
    with control characters replaced, not folded)."""
    frame = predictions.frame
    row_of = dict(zip(dev.embeddings.ids, dev.positions, strict=True))
    rows = []
    for example, distance in zip(ids, np.asarray(distances), strict=True):
        record: dict[str, object] = {"id": example, "distance": round(float(distance), 6)}
        position = int(row_of[example])
        for column in CONTEXT:
            if column in frame:
                value = frame[column].iat[position]
                if column == TEXT_COLUMN:
                    value = display_text(value, fold=None)
                record[column] = None if pd.isna(value) else _plain(value)
        rows.append(record)
    return rows


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def neighbour_precision(
    dev: DevEmbeddings, planted: npt.ArrayLike, k: int = 10
) -> tuple[float, float]:
    """For a planted category (True per dev row): the mean share of the ``k`` nearest dev
    errors of each planted dev error that are planted too, and the share expected by chance
    (the planted share of the other dev errors). What the bench measures."""
    marked = np.asarray(planted, dtype=bool)[dev.errors]
    index = NeighbourIndex(dev.error_vectors())
    vectors = dev.error_vectors()
    shares = []
    for position in np.flatnonzero(marked):
        found, _ = index.query(vectors[position], k, [int(position)])
        shares.append(marked[found].mean())
    if not shares:
        raise InputError("no dev error carries the planted category")
    chance = (marked.sum() - 1) / max(marked.size - 1, 1)
    return float(np.mean(shares)), float(chance)


# -- the map ----------------------------------------------------------------------------------

MAX_DRAWN = 5000  # points drawn on the map; counting always uses every row


def map_points(rows: DevEmbeddings | MapRows, *, umap: bool = False) -> tuple[pd.DataFrame, str]:
    """Every row (the dev rows, or :func:`map_rows`' splits) at a 2-D position (PCA of the
    embeddings; UMAP when ``umap`` and ``umap-learn`` is installed): columns id, split, x, y,
    outcome ('error' or 'right'); and the method's name."""
    if isinstance(rows, DevEmbeddings):
        rows = dev_map_rows(rows)
    vectors = rows.embeddings.vectors.astype(np.float64)
    method = "PCA"
    xy: npt.NDArray[np.float64] | None = None
    if umap:
        try:
            from umap import UMAP  # type: ignore[import-not-found]  # optional extra

            xy = UMAP(n_components=2, random_state=0).fit_transform(vectors)
            method = "UMAP"
        except ImportError:
            xy = None
    if xy is None:
        from sklearn.decomposition import PCA

        xy = PCA(2, random_state=0).fit_transform(vectors) if vectors.shape[1] > 2 else vectors
        if xy.shape[1] == 1:
            xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
    points = pd.DataFrame(
        {
            "id": rows.embeddings.ids,
            "split": rows.split,
            "x": np.round(xy[:, 0], 5),
            "y": np.round(xy[:, 1], 5),
            "outcome": np.where(rows.wrong, "error", "right"),
        }
    )
    return points, method


def drawn_points(
    points: pd.DataFrame, keep: Sequence[str] = (), limit: int = MAX_DRAWN, seed: int = 0
) -> pd.DataFrame:
    """At most ``limit`` rows of ``points`` to draw (a seeded random subset), always with the
    dev ids in ``keep`` (the sample's); all of them when there are few enough."""
    if len(points) <= limit:
        return points
    kept = (points["id"].isin(set(keep)) & _dev(points)).to_numpy()
    others = np.flatnonzero(~kept)
    room = max(limit - int(kept.sum()), 0)
    chosen = np.random.default_rng(seed).choice(others, size=min(room, others.size), replace=False)
    return points.iloc[np.sort(np.concatenate([np.flatnonzero(kept), chosen]))]


def ids_in_box(points: pd.DataFrame, x: Sequence[float], y: Sequence[float]) -> list[str]:
    """The ids of every dev point (not only those drawn) inside the box ``x`` × ``y`` (edges
    in)."""
    (x0, x1), (y0, y1) = sorted(x), sorted(y)
    inside = points["x"].between(x0, x1) & points["y"].between(y0, y1) & _dev(points)
    return [str(i) for i in points.loc[inside, "id"]]


def _dev(points: pd.DataFrame) -> pd.Series:
    """True for the dev points (every point of a map without a ``split`` column)."""
    if "split" not in points:
        return pd.Series(True, index=points.index)
    return points["split"] == "dev"
