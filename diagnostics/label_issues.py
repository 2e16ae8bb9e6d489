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
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import numpy.typing as npt
import pandas as pd

from diagnostics.errors import example_ids
from diagnostics.formats import existing_file, file_columns
from diagnostics.ingest import Predictions, read_predictions
from diagnostics.slices import PROBABILITY_PREFIX
from diagnostics.splitnames import SPLITS, normalize_split
from diagnostics.validation import InputError, format_rows

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
        if suffix not in by_text:
            raise InputError(
                f"{predictions.source}, column '{column}': class '{suffix}' is not a label of the "
                f"file (labels: {', '.join(sorted(by_text)[:12])}); name each probability column "
                "prob_<label> after a y_true/y_pred label"
            )
        classes.append(by_text[suffix])
    missing = sorted(set(by_text) - {str(c) for c in classes})
    if missing:
        raise InputError(
            f"{predictions.source}: no probability column for label(s) {', '.join(missing[:8])}; "
            f"add prob_{missing[0]} (one prob_<label> column per class)"
        )
    return classes


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
        kept = np.isin(np.arange(len(classes)), present)
        local = np.searchsorted(present, given)
        sub = probabilities[:, kept]
        sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
        flagged = confident_learning(
            local, sub, return_indices_ranked_by="self_confidence", n_jobs=1
        )
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
    return LabelIssues(split=split, rows=len(rows), classes=classes, issues=issues)


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
