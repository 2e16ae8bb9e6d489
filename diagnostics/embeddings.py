"""Embeddings of dev examples: read from the predictions file, or computed where the desk can.

Where they come from, in order of preference:

1. ``emb_0 … emb_k`` columns of the predictions file (every index from 0 to k present), or one
   list column ``embedding`` (Parquet lists, or CSV text such as ``[0.1, 0.2]``);
2. a ``text`` column: TF-IDF (words and word pairs) reduced by truncated SVD (LSA);
3. image paths in ``input``: the 16×16 greyscale of each image (centred, unit length) reduced by a
   PCA fitted on the same images.

:attr:`Embeddings.method` says which was used, in words. Bad input is refused with one line
naming the column and the row (:class:`~diagnostics.validation.InputError`): embedding columns of
different lengths, a missing or non-finite value, a zero vector (cosine is undefined), all rows
equal, a single example. More dimensions than rows is no error: they are kept for
``find similar`` (cosine needs no fit) and the spread classifier reduces them (a note says so).
Text is only ever data: control characters are replaced for display (:func:`display_text`), and
HTML is shown escaped by the page, never rendered.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from diagnostics.validation import InputError

EMBEDDING_PREFIX = "emb_"
LIST_COLUMN = "embedding"
TEXT_COLUMN = "text"
INPUT_COLUMN = "input"
MAX_COMPONENTS = 32  # computed embeddings: at most this many dimensions
TEXT_MAX_FEATURES = 50_000
FOLD_AT = 280  # characters of a text shown before it is folded
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_INDEX = re.compile(rf"^{EMBEDDING_PREFIX}(\d+)$")

Vectors = npt.NDArray[np.float32]
ImageReader = Callable[[str], "npt.NDArray[np.float32]"]


@dataclass(frozen=True)
class Embeddings:
    """One vector per example (``ids`` in the same order) and how they were obtained.

    ``kind`` is ``file`` (read), ``text`` or ``image`` (computed); ``method`` says it in words;
    ``notes`` are what a reader should know (reduced dimensions, cleaned text).
    """

    ids: list[str]
    vectors: Vectors
    kind: str
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def dimensions(self) -> int:
        """The length of each vector."""
        return int(self.vectors.shape[1])

    def to_dict(self) -> dict[str, object]:
        """JSON form of what was used (not the vectors)."""
        return {
            "kind": self.kind,
            "method": self.method,
            "dimensions": self.dimensions,
            "rows": len(self.ids),
            "notes": list(self.notes),
        }


def is_embedding_column(name: str) -> bool:
    """True for ``emb_<index>`` and ``embedding``: columns that hold embeddings."""
    return name == LIST_COLUMN or bool(_INDEX.match(name))


def embedding_columns(columns: Sequence[str]) -> list[str]:
    """The columns that hold embeddings: ``emb_0 … emb_k`` in index order, or ``embedding``;
    empty when the file has neither. Refuses a gap in the indices (e.g. emb_0, emb_2)."""
    found = sorted((int(m.group(1)), name) for name in columns if (m := _INDEX.match(name)))
    if found:
        indices = [i for i, _ in found]
        if indices != list(range(len(found))):
            missing = sorted(set(range(max(indices) + 1)) - set(indices))
            raise InputError(
                f"embedding columns {EMBEDDING_PREFIX}0 … {EMBEDDING_PREFIX}{max(indices)} "
                f"lack {', '.join(EMBEDDING_PREFIX + str(i) for i in missing[:5])}: every "
                "index from 0 must be present (or use one list column 'embedding')"
            )
        return [name for _, name in found]
    return [LIST_COLUMN] if LIST_COLUMN in columns else []


def source_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """The columns of a predictions file to read for its embeddings (with ``input``, read
    anyway): the embedding columns, else ``text``, else none (images come from ``input``)."""
    chosen = embedding_columns(columns)
    if chosen:
        return tuple(chosen)
    return (TEXT_COLUMN,) if TEXT_COLUMN in columns else ()


def embed(
    frame: pd.DataFrame,
    ids: Sequence[str],
    *,
    image_reader: ImageReader | None = None,
    source: str = "the predictions",
) -> Embeddings:
    """The embeddings of the rows of ``frame`` (one per id, same order), by the first source
    that the rows have: embedding columns, a ``text`` column, image paths in ``input`` (read by
    ``image_reader``, which returns a vector per path). InputError when none applies."""
    ids = [str(i) for i in ids]
    if len(ids) < 2:
        raise InputError(
            f"{source}: {len(ids)} example to embed; similarity and the map need at least two"
        )
    columns = embedding_columns(list(frame.columns))
    if columns:
        return file_embeddings(frame, ids, columns, source=source)
    if TEXT_COLUMN in frame:
        return text_embeddings(frame[TEXT_COLUMN].tolist(), ids, source=source)
    paths = frame[INPUT_COLUMN] if INPUT_COLUMN in frame else pd.Series(dtype=object)
    if image_reader is not None and len(paths) and paths.map(_is_image).all():
        return image_embeddings(paths.tolist(), ids, image_reader, source=source)
    raise InputError(
        f"{source}: no embeddings: add emb_0 … emb_k columns (or one list column 'embedding'), "
        "a 'text' column, or image paths in 'input' with the images"
    )


def file_embeddings(
    frame: pd.DataFrame, ids: Sequence[str], columns: Sequence[str], *, source: str = "the file"
) -> Embeddings:
    """The vectors of ``emb_*`` columns or of one list column, checked (:func:`check_vectors`)."""
    if list(columns) == [LIST_COLUMN]:
        vectors = _list_vectors(frame[LIST_COLUMN].tolist(), ids, source)
        described = f"the '{LIST_COLUMN}' list column of {source}"
    else:
        block = frame[list(columns)]
        numbers = block.apply(pd.to_numeric, errors="coerce")
        bad = block.notna() & numbers.isna()
        if bad.any().any():
            row, column = _first(bad)
            raise InputError(
                f"{source}: {columns[column]} of example '{ids[row]}' is "
                f"'{block.iat[row, column]}', not a number; embedding columns hold numbers only"
            )
        vectors = numbers.to_numpy(dtype=np.float64)
        present = numbers.notna().sum(axis=1).to_numpy()
        short = np.flatnonzero((present > 0) & (present < len(columns)))
        if short.size:
            row = int(short[0])
            raise InputError(
                f"{source}: the embedding of example '{ids[row]}' has {present[row]} of the "
                f"{len(columns)} values {columns[0]} … {columns[-1]}: every embedding must have "
                "the same length"
            )
        described = (
            f"columns {columns[0]} … {columns[-1]} of {source}"
            if len(columns) > 1
            else f"column {columns[0]} of {source}"
        )
    checked = check_vectors(vectors, ids, source)
    notes = _dimension_notes(checked)
    return Embeddings(list(ids), checked, "file", f"read from {described}", notes)


def _list_vectors(values: list[object], ids: Sequence[str], source: str) -> npt.NDArray[np.float64]:
    rows: list[list[float]] = []
    for example, value in zip(ids, values, strict=True):
        parsed = _parse_list(value)
        if parsed is None:
            raise InputError(
                f"{source}: '{LIST_COLUMN}' of example '{example}' is not a list of numbers "
                "(write it as [0.1, 0.2, …])"
            )
        if rows and len(parsed) != len(rows[0]):
            raise InputError(
                f"{source}: '{LIST_COLUMN}' of example '{example}' has {len(parsed)} values, "
                f"the one of '{ids[0]}' has {len(rows[0])}: every embedding must have the "
                "same length"
            )
        rows.append(parsed)
    return np.asarray(rows, dtype=np.float64)


def _parse_list(value: object) -> list[float] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        return None
    try:
        return [float("nan") if v is None else float(v) for v in value]
    except (TypeError, ValueError):
        return None


def check_vectors(vectors: npt.ArrayLike, ids: Sequence[str], source: str) -> Vectors:
    """``vectors`` as float32 rows, or InputError naming the first bad row: a missing or
    non-finite value, a zero vector (no direction, so no cosine), or every row the same."""
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] == 0:
        raise InputError(f"{source}: the embeddings have no dimensions")
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise InputError(
            f"{source}: the embedding of example '{ids[row]}' has a missing or infinite value; "
            "give every row a complete embedding"
        )
    zero = ~array.any(axis=1)
    if zero.any():
        row = int(np.flatnonzero(zero)[0])
        raise InputError(
            f"{source}: the embedding of example '{ids[row]}' is all zeros, so it has no "
            "direction to compare (cosine); give it a real embedding"
        )
    if len(array) > 1 and (array == array[0]).all():
        raise InputError(
            f"{source}: all {len(array)} embeddings are the same vector, so nothing can be "
            "told apart; check how they were exported"
        )
    return array.astype(np.float32)


def _dimension_notes(vectors: Vectors) -> list[str]:
    rows, dims = vectors.shape
    if dims >= rows:
        return [
            f"{dims} dimensions for {rows} examples (more columns than rows): find similar "
            "uses them as they are; the map and the spread estimate reduce them by PCA"
        ]
    return []


def text_embeddings(
    texts: Sequence[object], ids: Sequence[str], *, source: str = "the file"
) -> Embeddings:
    """TF-IDF of words and word pairs, reduced by truncated SVD to at most
    :data:`MAX_COMPONENTS` dimensions (fitted on these texts). Control characters are dropped
    before counting; a text without a single word is refused, naming it."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    cleaned = ["" if _missing(t) else CONTROL.sub(" ", str(t)) for t in texts]
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, max_features=TEXT_MAX_FEATURES, dtype=np.float32
    )
    try:
        counts = vectorizer.fit_transform(cleaned)
    except ValueError:
        raise InputError(
            f"{source}: the '{TEXT_COLUMN}' column has no words to compare (empty or "
            "punctuation only)"
        ) from None
    empty = np.flatnonzero(counts.getnnz(axis=1) == 0)
    if empty.size:
        raise InputError(
            f"{source}: the '{TEXT_COLUMN}' of example '{ids[int(empty[0])]}' has no word to "
            f"compare{f' ({empty.size} such texts)' if empty.size > 1 else ''}; give it text "
            "or leave the example out"
        )
    components = min(MAX_COMPONENTS, counts.shape[1] - 1, len(cleaned) - 1)
    if components >= 1:
        vectors = TruncatedSVD(components, random_state=0).fit_transform(counts)
        how = f"TF-IDF ({counts.shape[1]:,} words and word pairs) + truncated SVD to {components}"
    else:
        vectors = counts.toarray()
        how = f"TF-IDF ({counts.shape[1]:,} terms, too few to reduce)"
    notes = []
    changed = sum(1 for t in texts if not _missing(t) and CONTROL.search(str(t)))
    if changed:
        notes.append(f"{changed} texts hold control characters: ignored for similarity")
    with_html = sum(1 for t in texts if not _missing(t) and HTML_TAG.search(str(t)))
    if with_html:
        notes.append(f"{with_html} texts hold HTML tags: shown as text, never rendered")
    checked = check_vectors(vectors, ids, source)
    return Embeddings(list(ids), checked, "text", f"computed from the 'text' column: {how}", notes)


def image_embeddings(
    paths: Sequence[str], ids: Sequence[str], reader: ImageReader, *, source: str = "the file"
) -> Embeddings:
    """Each image's pixel vector (``reader``: path → vector, e.g. the 16×16 greyscale) reduced
    by a PCA fitted on these images to at most :data:`MAX_COMPONENTS` dimensions."""
    from sklearn.decomposition import PCA

    pixels = np.stack([reader(str(p)) for p in paths]).astype(np.float64)
    components = min(MAX_COMPONENTS, pixels.shape[1], len(pixels) - 1)
    vectors = PCA(components, random_state=0).fit_transform(pixels)
    explained = ""
    if components < pixels.shape[1]:
        explained = f" to {components} components"
    checked = check_vectors(vectors, ids, source)
    method = f"computed from the images' pixels ({pixels.shape[1]} greyscale values) by PCA"
    return Embeddings(list(ids), checked, "image", method + explained)


def image_reader(root: str | os.PathLike[str]) -> ImageReader:
    """Path → the image's 16×16 greyscale vector, for images under ``root`` (checked as the
    sheet's thumbnails are: inside ``root``, PNG/JPEG, size limits)."""
    from diagnostics.image_flags import thumbnail_vector
    from diagnostics.images import open_checked, read_image_file

    def read(relative: str) -> npt.NDArray[np.float32]:
        return thumbnail_vector(open_checked(read_image_file(root, relative), relative))

    return read


def display_text(value: object, fold: int | None = FOLD_AT) -> str:
    """A text input as shown: control characters replaced by U+FFFD, folded after ``fold``
    characters (with an ellipsis); HTML is left as characters for the caller to escape."""
    if _missing(value):
        return ""
    text = CONTROL.sub("\ufffd", unicodedata.normalize("NFC", str(value)))
    if fold is not None and len(text) > fold:
        return text[:fold].rstrip() + " …"
    return text


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _is_image(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().endswith((".png", ".jpg", ".jpeg"))


def _first(mask: pd.DataFrame) -> tuple[int, int]:
    rows, columns = np.nonzero(mask.to_numpy())
    return int(rows[0]), int(columns[0])
