"""Read and validate a predictions file (CSV or Parquet) into canonical columns.

Required columns: ``split``, ``y_true``, ``y_pred``. Optional: ``id``, ``weight``, a score
column (``score``, ``prob``, ``probability`` or ``confidence``), ``input`` (text or an image
path) and any other column, read only when asked for (e.g. as a slice). Only the needed columns
are read, through pyarrow's multithreaded readers, and every check is vectorized, so ten million
rows take about a second.

Every refusal is an :class:`~diagnostics.validation.InputError` naming the file, the column, the
rows (1-based data rows, the header not counted) and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from diagnostics.metrics import GroupSums, LevelEstimate, per_row_loss
from diagnostics.rates import METRICS
from diagnostics.splitnames import SPLIT_ALIASES, SPLITS, accepted_split_names
from diagnostics.validation import InputError, format_rows

REQUIRED_COLUMNS = ("split", "y_true", "y_pred")
SCORE_COLUMNS = ("score", "prob", "probability", "confidence")
OPTIONAL_COLUMNS = ("id", "weight", "input")
DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class Predictions:
    """Validated predictions: a frame with a categorical ``split`` (canonical names) and labels.

    ``frame`` holds ``split``, ``y_true``, ``y_pred`` and whichever of ``id``, ``weight``,
    ``score``, ``input`` and requested extra columns were present. ``metric`` is ``error``,
    ``mae`` or ``rmse``.
    """

    frame: pd.DataFrame
    metric: str
    source: str

    @property
    def split_codes(self) -> np.ndarray:
        """Index of each row's split in :data:`SPLITS`."""
        return self.frame["split"].cat.codes.to_numpy()

    def loss(self) -> np.ndarray:
        """Per-row loss of the metric (0/1 error, absolute or squared error)."""
        return per_row_loss(
            self.frame["y_true"].to_numpy(), self.frame["y_pred"].to_numpy(), self.metric
        )

    def weights(self) -> np.ndarray | None:
        """Row weights, or None when the file had no ``weight`` column."""
        return self.frame["weight"].to_numpy() if "weight" in self.frame else None


def split_metrics(predictions: Predictions) -> dict[str, LevelEstimate]:
    """The metric with its 95% interval for each split present in the predictions."""
    sums = GroupSums.from_rows(
        predictions.split_codes, predictions.loss(), len(SPLITS), predictions.weights()
    )
    estimates = {name: sums.estimate(i, predictions.metric) for i, name in enumerate(SPLITS)}
    return {name: est for name, est in estimates.items() if est is not None}


def slice_metrics(predictions: Predictions, column: str) -> dict[str, dict[str, LevelEstimate]]:
    """Per value of ``column``, the metric of each split (as :func:`split_metrics`)."""
    if column not in predictions.frame:
        raise InputError(
            f"{predictions.source}: no slice column '{column}'; columns found: "
            f"{', '.join(predictions.frame.columns)}"
        )
    values, value_codes = np.unique(predictions.frame[column].astype(str), return_inverse=True)
    codes = value_codes * len(SPLITS) + predictions.split_codes
    sums = GroupSums.from_rows(
        codes, predictions.loss(), len(values) * len(SPLITS), predictions.weights()
    )
    result = {}
    for v, value in enumerate(values):
        levels = {
            name: sums.estimate(v * len(SPLITS) + s, predictions.metric)
            for s, name in enumerate(SPLITS)
        }
        result[str(value)] = {k: est for k, est in levels.items() if est is not None}
    return result


def read_predictions(
    path: str | os.PathLike,
    *,
    metric: str | None = None,
    extra_columns: tuple[str, ...] = (),
    display_name: str | None = None,
) -> Predictions:
    """Read, validate and canonicalize a predictions file.

    ``metric`` forces ``error``, ``mae`` or ``rmse``; by default labels with fractional numbers
    mean regression (MAE) and anything else classification (error rate). ``extra_columns`` are
    read too (slices, inputs for labeling). ``display_name`` names the file in messages (an
    uploaded file's original name).
    """
    path = Path(path)
    name = display_name or path.name
    if metric is not None and metric not in METRICS:
        raise InputError(f"unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    if not path.is_file():
        raise InputError(f"predictions file not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes); export the predictions again")
    table = _read_table(path, name, extra_columns)
    if table.num_rows == 0:
        raise InputError(f"{name} has a header but no rows; it needs one row per prediction")
    frame = _canonical_frame(table, name, metric)
    metric = metric or _detect_metric(frame)
    frame = _check_labels(frame, name, metric)
    return Predictions(frame=frame, metric=metric, source=name)


# -- reading ----------------------------------------------------------------------------------


def _sniff(path: Path, name: str) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(65536)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name} is UTF-16 text; save it as UTF-8 CSV and upload it again")
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        raise InputError(f"{name} is an HTML/XML document, not a CSV or Parquet file")
    return head


def _read_table(path: Path, name: str, extra: tuple[str, ...]) -> pa.Table:
    head = _sniff(path, name)
    if head.startswith(b"PAR1"):
        return _read_parquet(path, name, extra)
    if path.suffix.lower() in (".parquet", ".pq"):
        raise InputError(f"{name} is not a valid Parquet file (no PAR1 header); re-export it")
    return _read_csv(path, name, head, extra)


def _wanted(columns: list[str], name: str, extra: tuple[str, ...]) -> list[str]:
    missing = [c for c in REQUIRED_COLUMNS + tuple(extra) if c not in columns]
    if missing:
        raise InputError(
            f"{name} has no column {', '.join(repr(c) for c in missing)}; columns found: "
            f"{', '.join(columns) or '(none)'}. Required: split, y_true, y_pred"
        )
    optional = [c for c in OPTIONAL_COLUMNS if c in columns]
    score = [c for c in SCORE_COLUMNS if c in columns][:1]
    return list(dict.fromkeys([*REQUIRED_COLUMNS, *optional, *score, *extra]))


def _read_parquet(path: Path, name: str, extra: tuple[str, ...]) -> pa.Table:
    try:
        parquet = pq.ParquetFile(path)
        columns = _wanted(parquet.schema_arrow.names, name, extra)
        split_type = parquet.schema_arrow.field("split").type
        dictionary = ["split"] if pa.types.is_string(split_type) else None
        return pq.read_table(path, columns=columns, read_dictionary=dictionary)
    except InputError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{name} is not a readable Parquet file ({exc}); re-export it") from None


def _read_csv(path: Path, name: str, head: bytes, extra: tuple[str, ...]) -> pa.Table:
    if b"\x00" in head:
        raise InputError(f"{name} contains NUL bytes: it is binary, not CSV text")
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    header = [c.strip() for c in first_line.rstrip("\r").split(",")]
    if len(header) == 1:
        for delimiter, word in DELIMITERS.items():
            if delimiter in first_line:
                raise InputError(
                    f"{name} uses the {word} character as delimiter; save it as comma-separated "
                    "CSV (columns split, y_true, y_pred, ...)"
                )
    columns = _wanted(header, name, extra)
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                strings_can_be_null=True,
                column_types={"split": pa.dictionary(pa.int32(), pa.string())},
            ),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message.lower():
            raise InputError(f"{name} is not UTF-8 text; re-save it as UTF-8 CSV") from None
        if "straddling" in message or "maximum" in message.lower():
            raise InputError(f"{name} has a field too large to read; check its quoting") from None
        raise InputError(f"{name} could not be read as CSV: {message.splitlines()[0]}") from None


# -- canonical columns ------------------------------------------------------------------------


def _first_rows(mask: np.ndarray) -> list[int]:
    return (np.flatnonzero(mask)[:5] + 1).tolist()


def _canonical_split(column: pa.ChunkedArray, name: str) -> pd.Categorical:
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column.cast(pa.string()))
    combined = column.unify_dictionaries().combine_chunks()
    if combined.null_count:
        rows = _first_rows(np.asarray(combined.is_null()))
        raise InputError(
            f"{name}, column 'split': {combined.null_count} empty values (rows "
            f"{format_rows(rows)}); every row needs one of {accepted_split_names()}"
        )
    dictionary = combined.dictionary.to_pylist()
    indices = combined.indices.to_numpy(zero_copy_only=False)
    mapping = np.empty(len(dictionary), dtype=np.int8)
    for i, value in enumerate(dictionary):
        key = str(value).strip().lower()
        if key not in SPLIT_ALIASES:
            if not np.any(indices == i):
                mapping[i] = -1
                continue
            row = int(np.argmax(indices == i)) + 1
            raise InputError(
                f"{name}, column 'split': unknown split '{value}' (first at row {row}); "
                f"accepted: {accepted_split_names()}"
            )
        mapping[i] = SPLITS.index(SPLIT_ALIASES[key])
    return pd.Categorical.from_codes(mapping[indices], categories=list(SPLITS))


def _canonical_frame(table: pa.Table, name: str, metric: str | None) -> pd.DataFrame:
    split = _canonical_split(table.column("split"), name)
    frame = table.drop_columns(["split"]).to_pandas(split_blocks=True, self_destruct=True)
    frame.insert(0, "split", split)
    score = next((c for c in SCORE_COLUMNS if c in frame), None)
    if score and score != "score":
        frame = frame.rename(columns={score: "score"})
    return frame


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _detect_metric(frame: pd.DataFrame) -> str:
    y_true, y_pred = frame["y_true"], frame["y_pred"]
    if _is_numeric(y_true) and _is_numeric(y_pred):
        for series in (y_true, y_pred):
            if pd.api.types.is_float_dtype(series):
                values = series.to_numpy()
                finite = values[np.isfinite(values)]
                if finite.size and not np.all(finite == np.round(finite)):
                    return "mae"
    return "error"


def _check_empty(frame: pd.DataFrame, name: str, column: str) -> None:
    series = frame[column]
    empty = series.isna().to_numpy()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        empty = empty | (series.astype("string").str.strip() == "").fillna(False).to_numpy()
    if empty.any():
        raise InputError(
            f"{name}, column '{column}': {int(empty.sum())} empty values (rows "
            f"{format_rows(_first_rows(empty))}); fill them in or drop those rows"
        )


def _as_number(frame: pd.DataFrame, name: str, column: str) -> np.ndarray:
    series = frame[column]
    if _is_numeric(series):
        values = series.to_numpy(dtype=np.float64)
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values)
        if bad.any():
            first = int(np.argmax(bad))
            raise InputError(
                f"{name}, column '{column}': mixes numbers and text (first text "
                f"'{series.iloc[first]}' at row {first + 1}); regression needs numbers only"
            )
    infinite = ~np.isfinite(values)
    if infinite.any():
        raise InputError(
            f"{name}, column '{column}': {int(infinite.sum())} infinite or NaN values (rows "
            f"{format_rows(_first_rows(infinite))}); regression needs finite numbers"
        )
    return values


def _class_labels(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    y_true, y_pred = frame["y_true"], frame["y_pred"]
    if _is_numeric(y_true) and _is_numeric(y_pred):
        both = [s.to_numpy(dtype=np.float64) for s in (y_true, y_pred)]
        if all(np.all(v == np.round(v)) for v in both):
            return tuple(pd.Series(v.astype(np.int64), index=frame.index) for v in both)
        return y_true, y_pred

    def as_text(series):
        if pd.api.types.is_float_dtype(series):
            values = series.to_numpy()
            if np.all(values == np.round(values)):
                series = series.astype(np.int64)
        return series.astype(str).str.strip()

    return as_text(y_true), as_text(y_pred)


def _check_labels(frame: pd.DataFrame, name: str, metric: str) -> pd.DataFrame:
    for column in ("y_true", "y_pred"):
        _check_empty(frame, name, column)
    if metric == "error":
        frame["y_true"], frame["y_pred"] = _class_labels(frame)
    else:
        frame["y_true"] = _as_number(frame, name, "y_true")
        frame["y_pred"] = _as_number(frame, name, "y_pred")
    if "weight" in frame:
        weights = _as_number(frame, name, "weight")
        negative = weights < 0
        if negative.any():
            raise InputError(
                f"{name}, column 'weight': {int(negative.sum())} negative weights (rows "
                f"{format_rows(_first_rows(negative))}); weights must be ≥ 0"
            )
        frame["weight"] = weights
        totals = np.bincount(frame["split"].cat.codes, weights=weights, minlength=len(SPLITS))
        counts = np.bincount(frame["split"].cat.codes, minlength=len(SPLITS))
        for i, split in enumerate(SPLITS):
            if counts[i] and totals[i] <= 0:
                raise InputError(
                    f"{name}: split '{split}' has {counts[i]} rows but all their weights are 0"
                )
    if "score" in frame:
        frame["score"] = _as_number(frame, name, "score")
    if "id" in frame:
        _check_unique_ids(frame, name)
    return frame


def _check_unique_ids(frame: pd.DataFrame, name: str) -> None:
    ids = frame["id"]
    if ids.isna().any():
        empty = ids.isna().to_numpy()
        raise InputError(
            f"{name}, column 'id': {int(empty.sum())} empty ids (rows "
            f"{format_rows(_first_rows(empty))}); give every row an id or drop the column"
        )
    values = ids.to_numpy()
    if _is_numeric(ids) and values.size > 1 and np.all(values[1:] > values[:-1]):
        return  # strictly increasing ids: unique without hashing
    duplicated = pd.DataFrame({"split": frame["split"].cat.codes, "id": ids}).duplicated()
    if duplicated.any():
        row = int(np.argmax(duplicated.to_numpy()))
        split = frame["split"].iloc[row]
        same = np.flatnonzero((values == values[row]) & (frame["split"] == split).to_numpy())
        raise InputError(
            f"{name}, column 'id': id '{values[row]}' appears {same.size} times in split "
            f"'{split}' (rows {format_rows(same + 1)}); ids must be unique within a split"
        )
