"""Human levels measured from the labels several people gave, instead of a typed number.

An annotations file (CSV or Parquet) has one row per (example, person): ``id`` (an example of
the predictions file's dev or test split), ``annotator`` and ``label``; optionally an
adjudicated ``reference`` label (the same on every row of an id) and soft labels as
``soft_<class>`` columns. Each annotator's error is counted against the reference (the
adjudicated label, else the predictions file's ``y_true``) with a Wilson interval; from them
come the typical annotator (the median one, the upper of the two middle ones for an even
count), the best one, and the team (the majority vote per example; a tie goes to the label of
the lowest-error annotator among the tied). Each annotator's agreement with the others is
Cohen's kappa over every pair (their label, another annotator's label on the same example), so
a careless annotator stands out. The measured floor comes from :mod:`diagnostics.floor`, on the
supplied soft labels or else on the vote shares.

The best annotator's error is the lowest of several noisy estimates, so it leans low (the
winner's curse); its Wilson interval is its own. With ``y_true`` as the reference, people who
made ``y_true`` agree with it by construction: an adjudicated reference is better.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from diagnostics.floor import FloorEstimate, soft_label_floor
from diagnostics.formats import is_parquet, read_head
from diagnostics.ingest import Predictions
from diagnostics.metrics import LevelEstimate, wilson_interval
from diagnostics.validation import InputError, refuse_non_csv_text, shown
from diagnostics.waterfall import HELD_OUT, HumanLevel

REQUIRED = ("id", "annotator", "label")
REFERENCE = "reference"
SOFT_PREFIX = "soft_"
SOFT_TOLERANCE = 0.01
FIX = "give one row per (id, annotator) with the columns id, annotator, label"


@dataclass(frozen=True)
class Annotations:
    """A validated annotations file.

    ``frame`` has one row per (id, annotator) with text columns ``id``, ``annotator``,
    ``label``, ``reference`` (the adjudicated label, else the predictions' ``y_true``) and
    ``split``. ``soft`` holds the supplied soft labels per id (columns: ``classes``), or None.
    """

    source: str
    frame: pd.DataFrame
    classes: list[str]
    adjudicated: bool
    soft: pd.DataFrame | None = None

    @property
    def reference_name(self) -> str:
        """Where the reference labels come from, in words."""
        return "the adjudicated reference column" if self.adjudicated else "the predictions' y_true"


def _text(value: object) -> str:
    """A label or id as the text both files are matched on (3 and "3" match)."""
    return str(value.item() if isinstance(value, np.generic) else value)


def _read_frame(path: Path, name: str) -> pd.DataFrame:
    """The file's rows as a frame (text columns stay text, empty cells are missing)."""
    if not path.is_file():
        raise InputError(f"annotations file not found: {shown(path)}")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty; {FIX}")
    head = read_head(path)
    try:
        if is_parquet(head):
            return pq.read_table(path).to_pandas()
        refuse_non_csv_text(head, name)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} is empty; {FIX}") from None
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{name} could not be read as CSV or Parquet ({shown(exc)})") from None


def _gap(frame: pd.DataFrame, column: str, name: str, fix: str) -> None:
    """Refuse an empty cell in ``column``, naming its first row."""
    empty = frame[column].isna().to_numpy()
    if empty.any():
        row = int(np.argmax(empty)) + 1
        raise InputError(
            f"{name}, column '{column}', row {row}: empty ({int(empty.sum())} empty cells); {fix}"
        )


def _unknown(values: pd.Series, known: set[str], name: str, column: str, fix: str) -> None:
    """Refuse a value of ``column`` outside ``known``, naming its first row."""
    outside = ~values.isin(known).to_numpy()
    if outside.any():
        row = int(np.argmax(outside))
        raise InputError(
            f"{name}, column '{column}', row {row + 1}: '{shown(values.iloc[row], 40)}' {fix}"
        )


def _held_out_truth(predictions: Predictions) -> pd.DataFrame:
    """The predictions' dev and test examples by id (text): their ``y_true`` and split."""
    frame = predictions.frame
    if "id" not in frame:
        raise InputError(
            f"{predictions.source} has no id column: annotations are matched to its examples "
            "by id; add an id column to the predictions"
        )
    held = frame["split"].isin(HELD_OUT).to_numpy()
    truth = pd.DataFrame(
        {
            "id": [_text(v) for v in frame["id"].to_numpy()[held]],
            "y_true": [_text(v) for v in frame["y_true"].to_numpy()[held]],
            "split": frame["split"].astype(str).to_numpy()[held],
        }
    )
    twice = truth["id"].duplicated(keep=False).to_numpy()
    if twice.any():
        raise InputError(
            f"{predictions.source}: id '{shown(truth['id'][twice].iloc[0], 40)}' is in both dev "
            "and test; give every held-out example its own id"
        )
    return truth.set_index("id")


def _soft_labels(
    frame: pd.DataFrame, columns: list[str], classes: list[str], name: str
) -> pd.DataFrame:
    """The supplied soft labels per id (one column per class, rows summing to 1)."""
    suffixes = [c[len(SOFT_PREFIX) :] for c in columns]
    for column, suffix in zip(columns, suffixes, strict=True):
        if suffix not in classes:
            raise InputError(
                f"{name}, column '{shown(column, 40)}': '{shown(suffix, 40)}' is not a class of "
                f"the predictions ({', '.join(classes[:12])}); name it soft_<class>"
            )
        _gap(frame, column, name, "fill every soft_<class> cell (0 for an unlikely class)")
    values = frame[columns].apply(pd.to_numeric, errors="coerce")
    bad = (~np.isfinite(values.to_numpy(np.float64)) | (values < 0) | (values > 1)).to_numpy()
    if bad.any():
        row, col = np.argwhere(bad)[0]
        cell = shown(frame[columns[col]].iloc[row], 20)
        raise InputError(
            f"{name}, column '{columns[col]}', row {row + 1}: '{cell}' is not a probability in "
            "0–1; give each soft label as a share, e.g. 0.25"
        )
    off = np.abs(values.sum(axis=1).to_numpy() - 1) > SOFT_TOLERANCE
    if off.any():
        row = int(np.argmax(off))
        raise InputError(
            f"{name}, row {row + 1}: the soft_<class> columns sum to "
            f"{values.iloc[row].sum():.4f}, not 1; give one share per class, summing to 1"
        )
    values.columns = suffixes
    values.insert(0, "id", frame["id"].to_numpy())
    differs = values.groupby("id").nunique().gt(1).any(axis=1)
    if differs.any():
        example = differs.index[differs.to_numpy()][0]
        raise InputError(
            f"{name}: id '{shown(example, 40)}' has different soft labels on its rows; soft "
            "labels describe the example, so give the same ones on every row of an id"
        )
    soft = values.groupby("id", sort=False).first().reindex(columns=classes, fill_value=0.0)
    return soft.div(soft.sum(axis=1), axis=0)


def read_annotations(
    path: str | os.PathLike[str], predictions: Predictions, *, display_name: str | None = None
) -> Annotations:
    """Read and validate an annotations file against the predictions it annotates.

    Refused with one line naming the file, the column, the row and the fix: an empty file,
    missing columns or cells, an id that is not a dev/test example of ``predictions``, one
    annotator only, a label outside the predictions' classes, two different labels from one
    annotator for one id, a reference column with gaps or two references for one id.
    """
    path = Path(path)
    name = display_name or path.name
    if predictions.metric != "error":
        raise InputError(
            f"{name}: annotators' labels need a classification task; {predictions.source} is "
            f"scored by {predictions.metric.upper()}"
        )
    raw = _read_frame(path, name)
    if raw.empty:
        raise InputError(f"{name} has a header but no rows; {FIX}")
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"{name} has no column '{missing[0]}'; {FIX}")
    for column in REQUIRED:
        _gap(raw, column, name, "every row needs an id, an annotator and a label")
    adjudicated = REFERENCE in raw.columns
    if adjudicated:
        _gap(
            raw,
            REFERENCE,
            name,
            "fill the adjudicated label on every row, or drop the column to use the "
            "predictions' y_true",
        )
    frame = pd.DataFrame({c: raw[c].map(_text) for c in REQUIRED})
    truth = _held_out_truth(predictions)
    labels = pd.unique(
        np.concatenate([predictions.frame["y_true"].to_numpy(), predictions.frame["y_pred"]])
    )
    classes = sorted({_text(v) for v in labels})
    _unknown(
        frame["id"],
        set(truth.index),
        name,
        "id",
        f"is not a dev or test example of {predictions.source}; annotate examples of its dev "
        "or test split, by its id column",
    )
    fix_class = (
        f"is not a class of {predictions.source} ({', '.join(classes[:12])}); use its labels"
    )
    _unknown(frame["label"], set(classes), name, "label", fix_class)
    annotators = frame["annotator"].unique()
    if len(annotators) < 2:
        raise InputError(
            f"{name}, column 'annotator': only one annotator ('{shown(annotators[0], 40)}'); "
            "human levels compare people, so add the labels of at least one more annotator"
        )
    _refuse_conflicting_duplicates(frame, name)
    if adjudicated:
        frame["reference"] = raw[REFERENCE].map(_text)
        _unknown(frame["reference"], set(classes), name, REFERENCE, fix_class)
        per_id = frame.groupby("id")["reference"].nunique()
        if (per_id > 1).any():
            example = per_id.index[(per_id > 1).to_numpy()][0]
            raise InputError(
                f"{name}, column 'reference': id '{shown(example, 40)}' has two reference "
                "labels; the adjudicated label is one per example"
            )
    else:
        frame["reference"] = truth.loc[frame["id"], "y_true"].to_numpy()
    frame["split"] = truth.loc[frame["id"], "split"].to_numpy()
    soft_columns = [c for c in raw.columns if str(c).startswith(SOFT_PREFIX)]
    soft = _soft_labels(raw, soft_columns, classes, name) if soft_columns else None
    unique = ~frame.duplicated(["id", "annotator"]).to_numpy()
    return Annotations(name, frame[unique].reset_index(drop=True), classes, adjudicated, soft)


def _refuse_conflicting_duplicates(frame: pd.DataFrame, name: str) -> None:
    """Refuse one annotator labelling one id twice with different labels (the same is fine)."""
    twice = frame[frame.duplicated(["id", "annotator"], keep=False)]
    if twice.empty:
        return
    for _, group in twice.groupby(["id", "annotator"], sort=False):
        if group["label"].nunique() > 1:
            rows = group.index.to_numpy()[:2] + 1
            first = group.iloc[0]
            raise InputError(
                f"{name}, column 'label', rows {rows[0]} and {rows[1]}: annotator "
                f"'{shown(first['annotator'], 40)}' labels id '{shown(first['id'], 40)}' as both "
                f"'{shown(group['label'].iloc[0], 40)}' and '{shown(group['label'].iloc[1], 40)}'; "
                "keep one row per (id, annotator)"
            )


@dataclass(frozen=True)
class MeasuredLevel:
    """One measured human level: errors against the reference on ``n`` examples, the Wilson
    95% interval, and (for one annotator) Cohen's kappa with the others over ``pairs``."""

    name: str
    errors: int
    n: int
    kappa: float | None = None
    pairs: int = 0

    @property
    def error(self) -> float:
        """The error rate."""
        return self.errors / self.n

    @property
    def interval(self) -> tuple[float, float]:
        """The Wilson score 95% interval of the error rate (holding the rate)."""
        low, high = wilson_interval(self.error, self.n)
        return min(low, self.error), max(high, self.error)

    def estimate(self) -> LevelEstimate:
        """The level as a waterfall estimate."""
        low, high = self.interval
        return LevelEstimate(self.error, low, high, self.n)

    def to_dict(self) -> dict[str, object]:
        """{name, error, interval, n, errors, kappa, pairs}."""
        return {
            "name": self.name,
            "error": self.error,
            "interval": list(self.interval),
            "n": self.n,
            "errors": self.errors,
            "kappa": self.kappa,
            "pairs": self.pairs,
        }


@dataclass(frozen=True)
class HumanPanel:
    """What the annotations measure: every annotator (lowest error first), the typical one, the
    best one, the team's majority vote, and the floor (None when no example has two votes)."""

    annotators: list[MeasuredLevel]
    typical: MeasuredLevel
    best: MeasuredLevel
    team: MeasuredLevel
    floor: FloorEstimate | None
    reference: str
    source: str

    def human_levels(self) -> list[HumanLevel]:
        """The named human levels for the waterfall (the lowest becomes the Bayes proxy)."""
        levels = [
            HumanLevel(f"typical annotator ({self.typical.name})", self.typical.error,
                       self.typical.estimate()),
            HumanLevel(f"best annotator ({self.best.name})", self.best.error, self.best.estimate()),
            HumanLevel(self.team.name, self.team.error, self.team.estimate()),
        ]  # fmt: skip
        if self.floor is not None:
            f = self.floor
            levels.append(
                HumanLevel(
                    FLOOR_NAME,
                    f.estimate,
                    LevelEstimate(f.estimate, f.low, f.high, f.n),
                    floor=self.floor_credible,
                )
            )
        return levels

    @property
    def floor_credible(self) -> bool:
        """False when the floor's interval lies above the best annotator's: the annotators' own
        mistakes, not the task's ambiguity, fill the vote shares, so it bounds nothing."""
        return self.floor is not None and self.floor.low <= self.best.interval[1]

    def to_dict(self) -> dict[str, object]:
        """The ``annotators``, ``typical``, ``best``, ``team`` and ``floor`` parts of
        ``diagnose --annotations --json``."""
        return {
            "annotations_file": self.source,
            "reference_labels": self.reference,
            "annotators": [a.to_dict() for a in self.annotators],
            "typical": self.typical.to_dict(),
            "best": self.best.to_dict(),
            "team": self.team.to_dict(),
            "floor": None
            if self.floor is None
            else {**self.floor.to_dict(), "credible": self.floor_credible},
        }


FLOOR_NAME = "measured floor"
FLOOR_NOT_CREDIBLE = (
    "the measured floor lies above the best annotator's error: the annotators' own mistakes, "
    "not the task's ambiguity, fill the vote shares, so it is not used as a floor"
)
TEAM_NAME = "team (majority vote)"


def cohen_kappa(first: np.ndarray, second: np.ndarray) -> float | None:
    """Cohen's kappa of two label sequences (None when chance agreement is 1: undefined)."""
    labels, codes = np.unique(np.concatenate([first, second]), return_inverse=True)
    a, b = codes[: len(first)], codes[len(first) :]
    observed = float(np.mean(a == b))
    share_a = np.bincount(a, minlength=len(labels)) / len(a)
    share_b = np.bincount(b, minlength=len(labels)) / len(b)
    chance = float(share_a @ share_b)
    if chance >= 1:
        return None
    return (observed - chance) / (1 - chance)


def _kappa_with_others(frame: pd.DataFrame, annotator: str) -> tuple[float | None, int]:
    """Cohen's kappa over every (this annotator's label, another's label) pair on one id."""
    own = frame[frame["annotator"] == annotator][["id", "label"]]
    others = frame[frame["annotator"] != annotator][["id", "label"]]
    pairs = own.merge(others, on="id", suffixes=("_own", "_other"))
    if pairs.empty:
        return None, 0
    return cohen_kappa(pairs["label_own"].to_numpy(), pairs["label_other"].to_numpy()), len(pairs)


def _majority(frame: pd.DataFrame, rank: Mapping[str, int]) -> pd.Series:
    """The team's label per id: the most votes; a tie goes to the best-ranked annotator's."""
    votes = frame.groupby(["id", "label"], sort=False).size().rename("votes").reset_index()
    top = votes.groupby("id")["votes"].transform("max")
    tied = votes[votes["votes"] == top]
    ranked = frame.assign(rank=frame["annotator"].map(rank))
    ranked = ranked.merge(tied[["id", "label"]], on=["id", "label"])
    chosen = ranked.sort_values(["id", "rank"]).groupby("id", sort=False)["label"].first()
    return chosen


def _vote_shares(frame: pd.DataFrame, classes: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Per id, the share of votes for each class and the number of votes."""
    counts = pd.crosstab(frame["id"], frame["label"]).reindex(columns=classes, fill_value=0)
    votes = counts.sum(axis=1)
    return counts.div(votes, axis=0), votes


def measure_annotators(annotations: Annotations, *, seed: int = 0) -> HumanPanel:
    """Each annotator's error and kappa, the typical, best and team levels, and the floor."""
    frame = annotations.frame
    wrong = frame["label"] != frame["reference"]
    levels = []
    for annotator, rows in frame.groupby("annotator", sort=True):
        kappa, pairs = _kappa_with_others(frame, str(annotator))
        levels.append(
            MeasuredLevel(str(annotator), int(wrong[rows.index].sum()), len(rows), kappa, pairs)
        )
    levels.sort(key=lambda level: (level.error, -level.n, level.name))
    rank = {level.name: i for i, level in enumerate(levels)}
    team_labels = _majority(frame, rank)
    reference = frame.groupby("id")["reference"].first().loc[team_labels.index]
    team = MeasuredLevel(TEAM_NAME, int((team_labels != reference).sum()), len(team_labels))
    if annotations.soft is not None:
        floor = soft_label_floor(
            annotations.soft.to_numpy(), source="supplied as soft_<class> columns", seed=seed
        )
    else:
        shares, votes = _vote_shares(frame, annotations.classes)
        try:
            floor = soft_label_floor(
                shares.to_numpy(),
                votes=votes.to_numpy(),
                source=f"from {len(levels)} annotators' vote shares",
                seed=seed,
            )
        except ValueError:
            floor = None  # no example has two votes
    return HumanPanel(
        annotators=levels,
        typical=levels[len(levels) // 2],
        best=levels[0],
        team=team,
        floor=floor,
        reference=annotations.reference_name,
        source=annotations.source,
    )


def _rate(value: float) -> str:
    return f"{value * 100:.1f}%"


def annotator_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The annotators' table from the JSON form (``diagnose --annotations --json``), worded
    once for the page and the report: who, role, error, 95% interval, n, kappa."""
    roles = {data["best"]["name"]: "best", data["typical"]["name"]: "typical"}
    rows = []
    for level in [*data["annotators"], data["team"]]:
        low, high = level["interval"]
        role = "team" if level is data["team"] else roles.get(level["name"], "")
        rows.append(
            {
                "who": level["name"],
                "role": role,
                "error": _rate(level["error"]),
                "95% interval": f"{_rate(low)} – {_rate(high)}",
                "n": f"{level['n']:,}",
                "kappa": "" if level["kappa"] is None else f"{level['kappa']:.2f}",
            }
        )
    return rows


def floor_lines(data: Mapping[str, Any]) -> list[str]:
    """The floor and each split's label noise in sentences, from the JSON form."""
    lines = []
    floor = data.get("floor")
    if floor:
        low, high = floor["interval"]
        lines.append(
            f"Measured floor {_rate(floor['estimate'])} ({_rate(low)} – {_rate(high)}, "
            f"{floor['n']:,} examples): {floor['method']}."
        )
        if floor.get("bias"):
            lines.append(floor["bias"][0].upper() + floor["bias"][1:] + ".")
        if floor.get("credible") is False:
            lines.append(FLOOR_NOT_CREDIBLE[0].upper() + FLOOR_NOT_CREDIBLE[1:] + ".")
    for split, noise in (data.get("label_noise") or {}).items():
        low, high = noise["interval"]
        line = (
            f"Label noise in {split}: {_rate(noise['share'])} of its labels ({_rate(low)} – "
            f"{_rate(high)}), {noise['probabilities']}"
        )
        if noise["offered"]:
            line += f"; {noise['flagged']:,} examples offered as likely mislabeled"
        lines.append(
            line
            + (f". {noise['note'][0].upper()}{noise['note'][1:]}" if noise["note"] else "")
            + "."
        )
    return lines
