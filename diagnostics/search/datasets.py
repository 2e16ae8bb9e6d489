"""Datasets that ship offline, split once (seeded, stratified) into train/train_dev/dev/test.

``digits`` (scikit-learn's 8×8 digits, the default), ``classification`` (scikit-learn's
``make_classification``; size and difficulty are options), ``csv:PATH`` / ``parquet:PATH``
(numeric feature columns plus a label column named by ``label``) and ``hf:PATH`` (a Hugging Face
dataset saved to disk, its splits named by a mapping: :mod:`diagnostics.hf_datasets`). A file
may name a target pool (``pool``: :mod:`diagnostics.search.pool`), kept apart as split ``pool``
and left out of the train statistics. A file
with a ``split`` column (names and aliases as in :mod:`diagnostics.splitnames`) keeps exactly
its splits and its ``id`` column, so the search's predictions compare paired with earlier
versions of the project; every split must have rows. A ``csv:``/``parquet:`` path may be a
remote location (``parquet:s3://…``: :mod:`diagnostics.remote`). Features are standardized
with the train split's mean and standard deviation only, so nothing leaks from dev or test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES

from diagnostics.formats import as_file, file_label, readable
from diagnostics.hf_datasets import is_hf, read_hf_table
from diagnostics.remote import is_remote
from diagnostics.search.choices import DIFFICULTIES
from diagnostics.search.pool import POOL, PoolSpec
from diagnostics.split_assign import assign_splits
from diagnostics.splitnames import SPLIT_ALIASES, SPLITS, accepted_split_names
from diagnostics.validation import InputError

SPLIT_FRACTIONS = {"train": 0.5, "train_dev": 0.1, "dev": 0.2, "test": 0.2}


@dataclass(frozen=True)
class ClassificationOptions:
    """Options of the synthetic ``classification`` dataset (``make_classification``)."""

    n_samples: int = 30_000
    n_features: int = 40
    n_classes: int = 5
    difficulty: str = "medium"


@dataclass
class Dataset:
    """Features, labels and row ids per split, plus the class names.

    ``x[split]`` is float32 (n, n_features), ``y[split]`` int64 class indices into ``classes``,
    ``ids[split]`` the original row ids.
    """

    name: str
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    ids: dict[str, np.ndarray]
    classes: list[Any]
    feature_names: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.x["train"].shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    def sizes(self) -> dict[str, int]:
        """Rows per split."""
        return {split: len(self.y[split]) for split in SPLITS}


def load_dataset(
    spec: str = "digits",
    *,
    label: str | None = None,
    seed: int = 0,
    options: ClassificationOptions | None = None,
    pool: PoolSpec | None = None,
) -> Dataset:
    """Load a dataset by name (``digits``, ``classification``, ``csv:PATH``, ``parquet:PATH``).

    A file's own ``split`` column is used as it is; otherwise the rows are split (seeded,
    stratified) into :data:`SPLIT_FRACTIONS`. With ``pool``, the pool's rows are ``x["pool"]``
    (etc.), not train's.
    """
    split = None
    if pool is not None and not spec.startswith(("csv:", "parquet:", "hf:")):
        raise InputError(
            f"--target-pool needs a csv:/parquet:/hf: dataset whose rows mark the pool, not {spec}"
        )
    if spec == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        features, labels = bunch.data.astype(np.float32), bunch.target
        ids, names = np.arange(len(labels)), [f"pixel_{i}" for i in range(features.shape[1])]
    elif spec == "classification":
        features, labels = _synthetic(options or ClassificationOptions(), seed)
        ids, names = np.arange(len(labels)), [f"x{i}" for i in range(features.shape[1])]
    elif spec.startswith(("csv:", "parquet:")):
        kind, _, path = spec.partition(":")
        features, labels, ids, names, split = _read_table(path, kind, label, pool)
    elif is_hf(spec):
        if not label:
            raise InputError(f"{spec}: name the label column with --label")
        frame = read_hf_table(spec).to_pandas()
        features, labels, ids, names, split = _table_columns(frame, spec, label, pool)
    else:
        raise InputError(
            f"unknown dataset '{spec}'; use digits, classification, csv:PATH, parquet:PATH or "
            "hf:PATH (a Hugging Face dataset saved to disk)"
        )
    classes, codes = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise InputError(f"dataset '{spec}': the label has a single class; need at least two")
    if split is None:
        split = assign_splits(
            pd.DataFrame({"label": codes}), SPLIT_FRACTIONS, label="label", seed=seed
        ).to_numpy()
    parts = (*SPLITS, POOL) if pool is not None else SPLITS
    x = {s: features[split == s] for s in parts}
    # standardized in float64: float32's squares overflow from ~1.8e19 (1e30 trained to NaN)
    mean = x["train"].mean(axis=0, dtype=np.float64)
    std = x["train"].std(axis=0, dtype=np.float64)
    std[(std == 0) | ~np.isfinite(std)] = 1.0
    return Dataset(
        name=spec,
        x={s: ((v - mean) / std).astype(np.float32) for s, v in x.items()},
        y={s: codes[split == s].astype(np.int64) for s in parts},
        ids={s: ids[split == s] for s in parts},
        classes=classes.tolist(),
        feature_names=names,
    )


def _synthetic(options: ClassificationOptions, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    if options.difficulty not in DIFFICULTIES:
        raise InputError(
            f"unknown difficulty '{options.difficulty}'; choose {', '.join(DIFFICULTIES)}"
        )
    if options.n_samples < 100 or options.n_features < 2 or options.n_classes < 2:
        raise InputError("classification needs ≥ 100 samples, ≥ 2 features and ≥ 2 classes")
    informative = max(2, options.n_features // 2)
    x, y = make_classification(
        n_samples=options.n_samples,
        n_features=options.n_features,
        n_informative=informative,
        n_redundant=min(options.n_features - informative, options.n_features // 4),
        n_classes=options.n_classes,
        n_clusters_per_class=2,
        class_sep=DIFFICULTIES[options.difficulty],
        flip_y=0.02,
        random_state=seed,
    )
    return x.astype(np.float32), y


def _read_table(location: str, kind: str, label: str | None, pool: PoolSpec | None) -> Any:
    """A ``csv:``/``parquet:`` dataset's columns, from a local path or a remote location."""
    if is_remote(location):
        path: Path | str = file_label(location)
        source = readable(as_file(location, f"{kind} dataset"))
    else:
        path = Path(location)
        source = str(path)
        if not path.is_file():
            raise InputError(f"{kind}:{path}: no such file")
    if not label:
        raise InputError(f"{kind}:{path}: name the label column with --label")
    try:
        frame = _read_csv(source, label) if kind == "csv" else pd.read_parquet(source)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot read as {kind}: {exc}") from exc
    return _table_columns(frame, path, label, pool)


def _table_columns(
    frame: pd.DataFrame, path: Path | str, label: str, pool: PoolSpec | None = None
) -> Any:
    """Features, labels, ids, feature names and the split column (None) of a dataset's table;
    with ``pool``, its rows' split is ``pool`` (a dataset with a pool needs a split column)."""
    if label not in frame:
        raise InputError(
            f"{path}: no label column '{label}'; columns found: {', '.join(map(str, frame))}"
        )
    labels = frame[label]
    if labels.isna().any():
        rows = np.flatnonzero(labels.isna().to_numpy())[:5] + 1
        raise InputError(f"{path}: label column '{label}' is empty in rows {rows.tolist()}")
    ids = frame["id"].to_numpy() if "id" in frame else np.arange(len(frame))
    split = _split_column(frame, path, ids, pool) if "split" in frame else None
    if pool is not None:
        if split is None:
            raise InputError(
                f"{path}: a target pool needs a split column (write one with split assign DATA "
                "--out FILE --source-column COLUMN --target-value VALUE)"
            )
        split = np.where(pool.pool_mask(frame, split), POOL, split)
    own = (label, "id", "split", pool.column if pool else None)
    features = frame.drop(columns=[c for c in own if c in frame])
    bad = [str(c) for c in features if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise InputError(
            f"{path}: non-numeric feature columns {', '.join(bad)}; encode them as numbers "
            "or drop them"
        )
    if features.shape[1] == 0:
        raise InputError(f"{path}: no feature columns besides the label '{label}'")
    if features.isna().to_numpy().any():
        raise InputError(f"{path}: missing feature values; fill or drop them first")
    _refuse_out_of_range(features, path)
    return (
        features.to_numpy(np.float32),
        labels.to_numpy(),
        ids,
        [str(c) for c in features.columns],
        split,
    )


def _read_csv(source: Any, label: str) -> pd.DataFrame:
    """The CSV (a path, or a seekable file of a remote location) with only an empty label cell
    missing: a class called NA, None or null is a class (as in a predictions file); feature
    cells keep pandas' missing markers."""
    columns = pd.read_csv(source, nrows=0).columns
    if hasattr(source, "seek"):
        source.seek(0)
    markers = sorted(STR_NA_VALUES)
    na_values = {c: ([""] if c == label else markers) for c in columns}
    return pd.read_csv(source, keep_default_na=False, na_values=na_values)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _refuse_out_of_range(features: pd.DataFrame, path: Path | str) -> None:
    """Refuse infinite feature values and values beyond float32 (the network's numbers), which
    train to NaN; names the first column and rows."""
    for column in features:
        values = features[column].to_numpy(np.float64)
        bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)
        if bad.any():
            rows = (np.flatnonzero(bad)[:5] + 1).tolist()
            raise InputError(
                f"{path}, column '{column}': {int(bad.sum())} values infinite or beyond "
                f"±{FLOAT32_MAX:.3g} (rows {rows}, e.g. {values[bad][0]:g}); the network "
                "computes in float32: rescale (e.g. log) or drop them"
            )


def _split_column(
    frame: pd.DataFrame, path: Path | str, ids: np.ndarray, pool: PoolSpec | None = None
) -> np.ndarray:
    """The file's ``split`` column as canonical names (a pool's split: ``pool``); refused when
    a split is unusable."""
    written = frame["split"].astype("string").str.strip()
    aliases = {**SPLIT_ALIASES, **({pool.split: POOL} if pool and pool.split else {})}
    canonical = written.str.lower().map(aliases)
    bad = canonical.isna().to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        value = "" if pd.isna(written.iloc[row]) else written.iloc[row]
        raise InputError(
            f"{path}, column 'split': unknown or empty split '{value}' at row {row + 1}; "
            f"accepted: {accepted_split_names()}"
        )
    split: np.ndarray = canonical.to_numpy(dtype=object)
    counts = pd.Series(split).value_counts()
    empty = [s for s in SPLITS if not counts.get(s, 0)]
    if empty:
        raise InputError(
            f"{path}, column 'split': no rows in {', '.join(empty)}; the search trains on train, "
            "chooses on dev and reports train-dev and test, so every split needs rows (or drop "
            "the split column to let the search split the file)"
        )
    repeated = pd.DataFrame({"split": split, "id": ids}).duplicated().to_numpy()
    if "id" in frame and repeated.any():
        row = int(np.argmax(repeated))
        raise InputError(
            f"{path}, column 'id': id '{ids[row]}' repeats in split '{split[row]}' (row "
            f"{row + 1}); ids must be unique within a split"
        )
    return split
