"""Likely label errors: examples whose given label the model's probabilities contradict.

Needs one probability column per class, ``prob_<class>`` (``prob_0`` … ``prob_9``, or
``prob_cat``), holding the model's *out-of-sample* probabilities for the split they describe
(for dev, a model that never trained on dev does that). Flags come from cleanlab's confident
learning (Northcutt, Jiang & Chuang, JAIR 2021; ``cleanlab.filter.find_label_issues`` with its
defaults, ``prune_by_noise_rate``): it estimates per class how often a given label co-occurs
with another true class (the confident joint, thresholded per class by the model's average
self-confidence), and flags that many of the least confident examples. The quality score is the
self-confidence, the probability the model gives the given label (0 = surely wrong). The
suggestion is the most probable class. These are suggestions for a person to confirm, never
tags.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version

import numpy as np
import numpy.typing as npt
import pandas as pd

from diagnostics.errors import example_ids
from diagnostics.formats import existing_file, file_columns, is_parquet_file
from diagnostics.ingest import Predictions, read_predictions
from diagnostics.label_noise import LabelNoise, estimate_label_noise, present_classes
from diagnostics.slices import PROBABILITY_PREFIX
from diagnostics.splitnames import SPLITS, normalize_split
from diagnostics.validation import InputError, format_rows
from diagnostics.waterfall import HELD_OUT

SUM_TOLERANCE = 0.01  # rounded probabilities (4 decimals over 100 classes) still pass


def method_text() -> str:
    """How the issues were found, to print beside them."""
    return (
        f"cleanlab {version('cleanlab')} confident learning (find_label_issues, "
        "filter_by='prune_by_noise_rate') on the file's out-of-sample prob_<class> columns; "
        "quality = the probability of the given label (self-confidence); suggested = the most "
        "probable class"
    )


@dataclass(frozen=True)
class LabelIssue:
    """An example whose given label is likely wrong (``id`` as error sampling keys it)."""

    id: str
    row: int
    given: object
    suggested: object
    quality: float

    def to_dict(self) -> dict[str, object]:
        """The JSON form: {id, row, given, suggested, quality}."""
        return {
            "id": self.id,
            "row": self.row,
            "given": self.given,
            "suggested": self.suggested,
            "quality": self.quality,
        }


@dataclass
class LabelIssues:
    """The likely label errors of one split, least quality first."""

    split: str
    rows: int
    classes: list[object]
    issues: list[LabelIssue]
    warnings: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        """The method, in words."""
        return method_text()

    def to_dict(self) -> dict[str, object]:
        """The JSON form of the CLI contract (``label-issues --json``)."""
        return {
            "split": self.split,
            "rows": self.rows,
            "classes": self.classes,
            "flagged": len(self.issues),
            "method": self.method,
            "issues": [issue.to_dict() for issue in self.issues],
            "warnings": list(self.warnings),
        }


def probability_columns(columns: Sequence[str]) -> list[str]:
    """The ``prob_<class>`` columns among ``columns``."""
    return [c for c in columns if c.startswith(PROBABILITY_PREFIX) and len(c) > 5]


def _python(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _class_order(predictions: Predictions, columns: list[str]) -> list[object]:
    """The classes in the order of ``columns``, each matched to the file's labels."""
    frame = predictions.frame
    labels = pd.unique(np.concatenate([frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()]))
    by_text = {str(_python(label)): _python(label) for label in labels}
    classes: list[object] = []
    for column in columns:
        suffix = column[len(PROBABILITY_PREFIX) :]
        if suffix not in by_text:  # a class the model knows that no row is labelled with
            classes.append(_absent_class(suffix, labels))
            continue
        classes.append(by_text[suffix])
    missing = sorted(set(by_text) - {str(c) for c in classes})
    if missing:
        raise InputError(
            f"{predictions.source}: no probability column for label(s) {', '.join(missing[:8])}; "
            f"add prob_{missing[0]} (one prob_<label> column per class)"
        )
    return classes


def _absent_class(suffix: str, labels: np.ndarray) -> object:
    """A prob_ column's class that no row has: a whole number when the labels are numbers."""
    numeric = len(labels) and all(isinstance(_python(v), int | float) for v in labels)
    if numeric and re.fullmatch(r"[+-]?\d+", suffix):
        return int(suffix)
    return suffix


def _checked_probabilities(
    predictions: Predictions, columns: list[str], rows: np.ndarray
) -> npt.NDArray[np.float64]:
    """The probabilities of the split's rows, refused unless finite, in [0, 1], summing to 1."""
    name = predictions.source
    frame = predictions.frame
    matrix = np.empty((len(rows), len(columns)))
    for k, column in enumerate(columns):
        values = pd.to_numeric(frame[column].iloc[rows], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(values) | (values < 0) | (values > 1)
        if bad.any():
            raise InputError(
                f"{name}, column '{column}': {int(bad.sum())} values that are not probabilities "
                f"in 0–1 (rows {format_rows(rows[bad][:6] + 1)}); fill every prob_ cell"
            )
        matrix[:, k] = values
    off = np.abs(matrix.sum(axis=1) - 1) > SUM_TOLERANCE
    if off.any():
        first = int(np.argmax(off))
        raise InputError(
            f"{name}: the prob_ columns of {int(off.sum())} rows do not sum to 1 (rows "
            f"{format_rows(rows[off][:6] + 1)}; row {rows[first] + 1} sums to "
            f"{matrix[first].sum():.4f}); give one probability per class, e.g. a softmax output"
        )
    normalized: npt.NDArray[np.float64] = matrix / matrix.sum(axis=1, keepdims=True)
    return normalized


def find_label_issues(predictions: Predictions, *, split: str = "dev") -> LabelIssues:
    """The examples of ``split`` whose given label is likely wrong, least quality first."""
    # imported here: cleanlab takes a second to import, and every CLI command imports this module
    from cleanlab.filter import find_label_issues as confident_learning

    if predictions.metric != "error":
        raise InputError(
            f"{predictions.source}: label issues need class labels; this file is scored by "
            f"{predictions.metric.upper()}"
        )
    columns = probability_columns(list(predictions.frame.columns))
    if not columns:
        raise InputError(
            f"{predictions.source} has no prob_<class> columns; label-issues needs the model's "
            "out-of-sample probability of every class (prob_0, prob_1, …)"
        )
    split = normalize_split(split)
    rows = np.flatnonzero(predictions.split_codes == SPLITS.index(split))
    if len(rows) == 0:
        raise InputError(f"{predictions.source} has no rows in split '{split}'")
    classes = _class_order(predictions, columns)
    probabilities = _checked_probabilities(predictions, columns, rows)
    index = {str(c): k for k, c in enumerate(classes)}
    given = np.array(
        [index[str(_python(v))] for v in predictions.frame["y_true"].iloc[rows]], dtype=np.int64
    )
    present = np.unique(given)
    issues: list[LabelIssue] = []
    if len(present) >= 2:
        # cleanlab needs every class among the labels: estimate on the classes dev has
        local, sub = present_classes(given, probabilities)
        with warnings.catch_warnings(record=True) as caught:  # said in the result, not on stderr
            warnings.simplefilter("always")
            flagged = confident_learning(
                local, sub, return_indices_ranked_by="self_confidence", n_jobs=1
            )
        notes = [_cleanlab_note(str(w.message), [classes[k] for k in present]) for w in caught]
        ids = example_ids(predictions, rows[flagged])
        for i, example in zip(flagged, ids, strict=True):
            issues.append(
                LabelIssue(
                    id=example,
                    row=int(rows[i] + 1),
                    given=classes[given[i]],
                    suggested=classes[int(np.argmax(probabilities[i]))],
                    quality=float(probabilities[i, given[i]]),
                )
            )
    else:
        notes = []
    return LabelIssues(split, len(rows), classes, issues, list(dict.fromkeys(notes)))


def _cleanlab_note(message: str, present: list[object]) -> str:
    """cleanlab's warning with its class index replaced by the label it stands for."""

    def label(match: re.Match[str]) -> str:
        k = int(match.group(1))
        return f"class {present[k]}" if k < len(present) else match.group(0)

    text = re.sub(r"class: (\d+)", label, message.split(" (see `")[0])
    return f"cleanlab: {text}"


def find_label_issues_in_file(
    path: str | os.PathLike[str], *, split: str = "dev", display_name: str | None = None
) -> LabelIssues:
    """Read a predictions file with its ``prob_`` columns and find its likely label errors."""
    name = display_name or os.path.basename(path)
    existing_file(path, "predictions file")
    columns = probability_columns(file_columns(path))
    if not columns:
        raise InputError(
            f"{name} has no prob_<class> columns; label-issues needs the model's out-of-sample "
            "probability of every class (prob_0, prob_1, …)"
        )
    predictions = read_predictions(path, extra_columns=tuple(columns), display_name=display_name)
    return find_label_issues(predictions, split=split)


NON_FEATURES = ("id", "split", "label", "y_true", "y_pred", "weight", "score")


def read_features(path: str | os.PathLike[str], *, display_name: str | None = None) -> pd.DataFrame:
    """A dataset's numeric feature columns by id (text), for cross-validated probabilities.

    The file (CSV or Parquet) needs an ``id`` column; ``split``, ``label``, ``y_true`` and
    text columns are not features. Refused in one line naming the file when it has no id, no
    numeric column, or an empty feature cell.
    """
    name = display_name or os.path.basename(path)
    if not os.path.isfile(path):
        raise InputError(f"features file not found: {path}")
    try:
        frame = (
            pd.read_parquet(path) if is_parquet_file(path) else pd.read_csv(path, low_memory=False)
        )
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"{name} could not be read as CSV or Parquet ({exc})") from None
    if "id" not in frame:
        raise InputError(f"{name} has no id column; features are matched to examples by id")
    numeric = [
        c
        for c in frame.columns
        if c not in NON_FEATURES and pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not numeric:
        raise InputError(f"{name} has no numeric feature column besides id, split and label")
    empty = frame[numeric].isna().to_numpy()
    if empty.any():
        row, col = np.argwhere(empty)[0]
        raise InputError(
            f"{name}, column '{numeric[col]}', row {row + 1}: empty; fill every feature cell"
        )
    features = frame[numeric].astype(np.float64)
    features.index = frame["id"].astype(str)
    return features


def label_noise_by_split(
    predictions: Predictions,
    *,
    shift: bool | None,
    features: pd.DataFrame | None = None,
    seed: int = 0,
) -> dict[str, tuple[LabelNoise, list[str]]]:
    """The label noise of dev and test, each with the ids offered as likely mislabeled.

    Probabilities come from the file's ``prob_<class>`` columns, or, under ``shift`` (a measured
    data mismatch; None: not measured) and where ``features`` (by id) cover the split, from a
    model cross-validated on the split itself (:mod:`diagnostics.label_noise`). Splits with
    neither are left out.
    """
    if predictions.metric != "error":
        return {}
    columns = probability_columns(list(predictions.frame.columns))
    frame = predictions.frame
    labels = pd.unique(np.concatenate([frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()]))
    classes = _class_order(predictions, columns) if columns else sorted(labels, key=str)
    index = {str(_python(c)): k for k, c in enumerate(classes)}
    result = {}
    for split in HELD_OUT:
        rows = np.flatnonzero(predictions.split_codes == SPLITS.index(split))
        if len(rows) == 0:
            continue
        given = np.array(
            [index[str(_python(v))] for v in frame["y_true"].iloc[rows]], dtype=np.int64
        )
        probabilities = _checked_probabilities(predictions, columns, rows) if columns else None
        ids = example_ids(predictions, rows)
        x = None
        if features is not None:
            found = features.reindex(ids.to_numpy())
            x = None if found.isna().to_numpy().any() else found.to_numpy()
        noise = estimate_label_noise(
            split, given, probabilities, features=x, shift=shift, n_classes=len(classes), seed=seed
        )
        if noise is not None:
            result[split] = (noise, ids.iloc[noise.flagged].tolist())
    return result
