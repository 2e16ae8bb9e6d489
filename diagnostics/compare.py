"""Compare two versions of a model on the same task: levels, gaps, and what the fix fixed.

Each level (train, train-dev, dev, test) is shown before and after with its change
(``after − before``, negative is better) and whether the change is real. On the example ids both
versions share within a split the test is paired (:mod:`diagnostics.paired`: exact McNemar with
Newcombe's paired interval for error rates, Student's t on the per-example loss differences for
MAE/RMSE); without shared ids it is unpaired (Newcombe's hybrid score interval), with a note
that pairing needs the same ids. Ids shared only in part are paired on the shared ones, and the
note says how many. The gaps of both waterfalls (:func:`diagnostics.waterfall.diagnose`, with
the same human levels) are compared too; a gap's change carries the square-and-add interval of
its two levels' changes (different splits are different examples), and the verdict is one line
about the gap the earlier version had to fix first.

Per tagged category (the tags of BEFORE's dev errors, consensus over annotators): how many of
the tagged examples AFTER gets right, with a Wilson interval — the ceiling, verified.

:func:`compare` is the exact path on two :class:`~diagnostics.ingest.Predictions`;
:func:`diagnostics.fastcompare.compare_files` computes the same :class:`Comparison` from two
files with DuckDB.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from diagnostics.metrics import LevelEstimate, mover_interval, wilson_interval
from diagnostics.paired import (
    METHODS,
    ChangeTest,
    PairedSums,
    paired_error_change,
    paired_loss_change,
    unpaired_change,
)
from diagnostics.rates import clean, format_value, is_rate_metric
from diagnostics.schema import DEFAULT_SAMPLE_SIZE
from diagnostics.splitnames import LEVEL_LABELS, SPLITS
from diagnostics.tags import TagRow, TagTable
from diagnostics.validation import InputError
from diagnostics.waterfall import GAP_LABELS, GAPS, Diagnosis, HumanLevel, diagnose

if TYPE_CHECKING:  # pandas and the exact reader load with the exact path, not with the scan's
    import pandas as pd

    from diagnostics.ingest import Predictions

SIGNIFICANCE = 0.05
DECISION_RULE = (
    "a level's change is real when its test's p < 0.05 and its 95% interval excludes 0; where "
    "the two disagree it is within noise (borderline); a gap's change is real when its "
    "interval excludes 0"
)
WEIGHTS_NOTE = (
    "the files carry weights: the paired tests count examples, so the comparison is unpaired "
    "(on the weighted levels)"
)
NO_ID_NOTE = "no id column in {which}: the comparison is unpaired; pairing needs the same ids"


@dataclass(frozen=True)
class LevelChange:
    """One split's level before and after, and the test of its change.

    ``test`` is paired (on ``n_shared`` examples; its change is ``paired_change``, the change on
    the shared examples) or unpaired; None when the split is missing on one side.
    """

    split: str
    before: LevelEstimate | None
    after: LevelEstimate | None
    paired: bool = False
    n_shared: int = 0
    improved: int | None = None
    worsened: int | None = None
    test: ChangeTest | None = None

    @property
    def change(self) -> float | None:
        """``after − before`` of the levels (every row of each file)."""
        if self.before is None or self.after is None:
            return None
        return self.after.value - self.before.value

    @property
    def real(self) -> bool:
        """The one decision rule (:data:`DECISION_RULE`): the test's p < 0.05 *and* the 95%
        interval excludes 0; where the two disagree the change is within noise (borderline)."""
        test = self.test
        return test is not None and test.p_value < SIGNIFICANCE and not self.borderline

    @property
    def borderline(self) -> bool:
        """True when the test and the interval disagree about 0 (one says real, one not)."""
        test = self.test
        if test is None:
            return False
        return (test.p_value < SIGNIFICANCE) != (test.low > 0 or test.high < 0)

    def to_dict(self) -> dict[str, Any]:
        """The ``levels`` entry of ``compare --json``."""
        test = self.test
        return {
            "before": _value(self.before),
            "after": _value(self.after),
            "change": clean(self.change),
            "paired": self.paired,
            "n_shared": self.n_shared,
            "improved": self.improved,
            "worsened": self.worsened,
            "p_value": None if test is None else test.p_value,
            "interval": None if test is None else [clean(test.low), clean(test.high)],
            "paired_change": clean(test.change) if test is not None and self.paired else None,
            "real": self.real,
            "borderline": self.borderline,
            "method": None if test is None else METHODS[test.method],
        }


@dataclass(frozen=True)
class GapChange:
    """A gap of the waterfall before and after; its change's 95% interval when computable."""

    name: str
    before: float | None
    after: float | None
    interval: tuple[float, float] | None = None

    @property
    def change(self) -> float | None:
        """``after − before`` (negative: the gap closed)."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def real(self) -> bool | None:
        """True when the interval excludes 0; None without an interval."""
        if self.interval is None:
            return None
        return self.interval[0] > 0 or self.interval[1] < 0

    def to_dict(self) -> dict[str, Any]:
        """The ``gaps`` entry of ``compare --json``."""
        return {
            "before": clean(self.before),
            "after": clean(self.after),
            "change": clean(self.change),
            "interval": None if self.interval is None else [clean(v) for v in self.interval],
            "real": self.real,
        }


@dataclass(frozen=True)
class CategoryFix:
    """Of BEFORE's dev errors tagged with one category, how many AFTER gets right.

    ``missing`` tagged examples are not in AFTER's dev split; ``fixed_share`` is
    ``fixed / (tagged − missing)`` with its Wilson interval (None when nothing is left to
    count); ``ceiling_share`` is the category's share of the reviewed errors (what the ceiling
    promised at most).
    """

    name: str
    tagged: int
    fixed: int
    still_wrong: int
    missing: int
    ceiling_share: float

    @property
    def fixed_share(self) -> float | None:
        """Fixed among the tagged examples AFTER still has."""
        counted = self.tagged - self.missing
        return self.fixed / counted if counted else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of ``fixed_share``."""
        share = self.fixed_share
        if share is None:
            return None
        low, high = wilson_interval(share, self.tagged - self.missing)
        return min(low, share), max(high, share)

    def to_dict(self) -> dict[str, Any]:
        """The ``categories`` entry of ``compare --json``."""
        interval = self.interval
        return {
            "name": self.name,
            "tagged": self.tagged,
            "fixed": self.fixed,
            "still_wrong": self.still_wrong,
            "missing": self.missing,
            "fixed_share": clean(self.fixed_share),
            "interval": None if interval is None else [clean(v) for v in interval],
            "ceiling_share": clean(self.ceiling_share),
        }


EYEBALL_WARNING = (
    "The {examined:,} dev errors of {before} that people examined improved significantly more "
    "than its {rest:,} other dev errors ({shown} fixed against {other}): the fix may be tuned "
    "to the examples looked at; draw a fresh sample from the errors no one has examined and "
    "check the fix on those"
)


@dataclass(frozen=True)
class EyeballCheck:
    """The "eyeball" vs "blackbox" dev set: how many of BEFORE's dev errors AFTER fixed among
    those people examined (a tagging sample) and among the rest, and the difference.

    Both groups are BEFORE's dev errors (the sample is drawn from them), paired within each on
    the same ids: every one was wrong before, so the error change of a group is minus the share
    AFTER fixed, with its Wilson interval. ``difference`` is the examined group's change minus
    the rest's, with Newcombe's interval; the warning fires when it lies below 0.
    """

    examined_fixed: int
    examined: int
    rest_fixed: int
    rest: int
    before: str

    @staticmethod
    def _group(fixed: int, n: int) -> LevelEstimate:
        share = fixed / n
        low, high = wilson_interval(share, n)
        return LevelEstimate(share, min(low, share), max(high, share), n)

    @property
    def difference(self) -> float:
        """Examined change − rest change (negative: the examined improved more)."""
        return self.rest_fixed / self.rest - self.examined_fixed / self.examined

    @property
    def interval(self) -> tuple[float, float]:
        """Newcombe's 95% interval of :attr:`difference`."""
        low, high = mover_interval(
            self._group(self.rest_fixed, self.rest),
            self._group(self.examined_fixed, self.examined),
        )
        return -high, -low

    @property
    def warning(self) -> str | None:
        """The warning when the examined errors improved significantly more, else None."""
        if self.interval[1] >= 0:
            return None
        return EYEBALL_WARNING.format(
            examined=self.examined,
            before=self.before,
            rest=self.rest,
            shown=f"{self.examined_fixed / self.examined:.0%}",
            other=f"{self.rest_fixed / self.rest:.0%}",
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``eyeball`` part of ``compare --json``."""

        def group(fixed: int, n: int) -> dict[str, Any]:
            est = self._group(fixed, n)
            return {
                "n": n,
                "fixed": fixed,
                "change": clean(-est.value),
                "interval": [clean(-est.bounds()[1]), clean(-est.bounds()[0])],
            }

        return {
            "examined": group(self.examined_fixed, self.examined),
            "rest": group(self.rest_fixed, self.rest),
            "difference": clean(self.difference),
            "interval": [clean(v) for v in self.interval],
            "warning": self.warning,
        }


def eyeball_check(
    before_errors: Collection[str],
    after_wrong: Mapping[str, bool],
    examined: Collection[str],
    before: str,
) -> EyeballCheck | None:
    """The eyeball check from BEFORE's dev error ids, AFTER's outcome on them (True: still
    wrong; ids AFTER lacks are left out) and the examined ids; None when a group is empty."""
    seen = set(examined)
    groups: dict[bool, list[bool]] = {True: [], False: []}
    for example in before_errors:
        if example in after_wrong:
            groups[example in seen].append(not after_wrong[example])
    if not groups[True] or not groups[False]:
        return None
    return EyeballCheck(
        sum(groups[True]), len(groups[True]), sum(groups[False]), len(groups[False]), before
    )


@dataclass
class Comparison:
    """Two versions side by side: levels, gaps, the verdict, notes, and what the fix fixed."""

    metric: str
    unit: str
    sources: tuple[str, str]
    levels: dict[str, LevelChange]
    gaps: dict[str, GapChange]
    before: Diagnosis
    after: Diagnosis
    verdict: str
    notes: list[str] = field(default_factory=list)
    categories: list[CategoryFix] | None = None
    eyeball: EyeballCheck | None = None

    def fmt(self, value: float | None, *, signed: bool = False) -> str:
        """Format a level, gap or change in the metric and unit."""
        return format_value(value, self.metric, self.unit, signed=signed)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the CLI contract (DESIGN.md: ``compare --json``)."""
        result: dict[str, Any] = {
            "metric": self.metric,
            "unit": self.unit or None,
            "before": self.sources[0],
            "after": self.sources[1],
            "levels": {split: change.to_dict() for split, change in self.levels.items()},
            "gaps": {name: gap.to_dict() for name, gap in self.gaps.items()},
            "verdict": self.verdict,
            "notes": list(self.notes),
        }
        if self.categories is not None:
            result["categories"] = [c.to_dict() for c in self.categories]
        if self.eyeball is not None:
            result["eyeball"] = self.eyeball.to_dict()
        return result


def _value(estimate: LevelEstimate | None) -> float | None:
    return None if estimate is None else clean(estimate.value)


# -- the exact path ---------------------------------------------------------------------------


def _task(metric: str) -> str:
    return "classification" if is_rate_metric(metric) else "regression"


def check_comparable(before_metric: str, after_metric: str, sources: Sequence[str]) -> None:
    """Refuse two versions measured with different metrics (one line naming both files)."""
    if before_metric == after_metric:
        return
    if _task(before_metric) != _task(after_metric):
        raise InputError(
            f"{sources[0]} is {_task(before_metric)} ({before_metric}) but {sources[1]} is "
            f"{_task(after_metric)} ({after_metric}): compare two versions of the same task "
            "(a regression file with whole-number predictions needs --metric mae)"
        )
    raise InputError(
        f"{sources[0]} is measured in {before_metric.upper()} but {sources[1]} in "
        f"{after_metric.upper()}: give both the same --metric"
    )


def paired_sums(before: Predictions, after: Predictions) -> dict[str, PairedSums]:
    """Per split both files have, the sums over the example ids they share there.

    Ids are compared as numbers when both id columns are numeric, else as text. Both files
    need an ``id`` column (see :func:`pairing_note`).
    """
    import pandas as pd

    ids_before, ids_after = _comparable_ids(before.frame["id"], after.frame["id"])
    loss_before, loss_after = before.loss(), after.loss()
    codes_before, codes_after = before.split_codes, after.split_codes
    result = {}
    for code, split in enumerate(SPLITS):
        rows_before = np.flatnonzero(codes_before == code)
        rows_after = np.flatnonzero(codes_after == code)
        if not rows_before.size or not rows_after.size:
            continue
        where = pd.Index(ids_before[rows_before]).get_indexer(ids_after[rows_after])
        shared = where >= 0
        lb = loss_before[rows_before][where[shared]].astype(np.float64)
        la = loss_after[rows_after][shared].astype(np.float64)
        d = la - lb
        result[split] = PairedSums(
            int(shared.sum()),
            int(np.count_nonzero(d < 0)),
            int(np.count_nonzero(d > 0)),
            float(lb.sum()),
            float(la.sum()),
            float(np.dot(d, d)),
        )
    return result


def _comparable_ids(before: pd.Series, after: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both id columns in one comparable form: numbers when both are numbers, or when one is
    and every id of the other (text, e.g. Parquet's ``00001``) reads as a number; else text."""
    import pandas as pd

    def numeric(ids: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(ids) and not pd.api.types.is_bool_dtype(ids)

    if numeric(before) and numeric(after):
        return before.to_numpy(), after.to_numpy()
    if numeric(before) != numeric(after):
        text = after if numeric(before) else before
        as_numbers = pd.to_numeric(text.astype(str), errors="coerce")
        if not as_numbers.isna().any():
            if numeric(before):
                return before.to_numpy(), as_numbers.to_numpy()
            return as_numbers.to_numpy(), after.to_numpy()
    return before.astype(str).to_numpy(), after.astype(str).to_numpy()


def pairing_note(has_ids: tuple[bool, bool], weighted: bool, sources: Sequence[str]) -> str | None:
    """Why the versions cannot be paired (no id column, weights), or None when they can."""
    if not all(has_ids):
        which = " and ".join(s for s, has in zip(sources, has_ids, strict=True) if not has)
        return NO_ID_NOTE.format(which=which)
    return WEIGHTS_NOTE if weighted else None


def compare(
    before: Predictions,
    after: Predictions,
    humans: Sequence[HumanLevel] = (),
    *,
    unit: str = "",
    tags: TagTable | None = None,
    examined: Collection[str] | None = None,
) -> Comparison:
    """Compare two predictions of the same task (the exact path, on validated predictions).

    ``tags`` (the tags of BEFORE's dev errors) adds what the fix fixed per category;
    ``examined`` (ids of BEFORE's dev errors people looked at) adds the eyeball check.
    """
    from diagnostics.ingest import split_metrics

    sources = (before.source, after.source)
    check_comparable(before.metric, after.metric, sources)
    has_ids = ("id" in before.frame, "id" in after.frame)
    weighted = before.weights() is not None or after.weights() is not None
    note = pairing_note(has_ids, weighted, sources)
    paired = None if note else paired_sums(before, after)
    comparison = compare_levels(
        split_metrics(before),
        split_metrics(after),
        paired,
        metric=before.metric,
        humans=humans,
        unit=unit,
        sources=sources,
        notes=[note] if note else [],
    )
    if tags is not None:
        reviewed = tagged_ids(tags)
        comparison.categories = what_fixed(tags, dev_outcomes(after, reviewed))
        note = tags_note(reviewed, dev_outcomes(before, reviewed), before.source)
        comparison.notes += [note] if note else []
    if examined is not None:
        errors = [i for i, wrong in dev_outcomes(before, None).items() if wrong]
        comparison.eyeball = eyeball_check(
            errors, dev_outcomes(after, errors), examined, before.source
        )
    return comparison


# -- the comparison from sums -----------------------------------------------------------------


def compare_levels(
    before: Mapping[str, LevelEstimate],
    after: Mapping[str, LevelEstimate],
    paired: Mapping[str, PairedSums] | None,
    *,
    metric: str,
    humans: Sequence[HumanLevel] = (),
    unit: str = "",
    sources: tuple[str, str] = ("before", "after"),
    notes: Iterable[str] = (),
) -> Comparison:
    """The comparison from each version's split estimates and the shared examples' sums.

    ``paired`` maps each split both versions have to its :class:`PairedSums` (None: no pairing
    possible, the caller's ``notes`` say why). Both paths (exact and DuckDB) end here.
    """
    common = [s for s in SPLITS if s in before and s in after]
    if not common:
        raise InputError(
            f"{sources[0]} has the splits {', '.join(before) or 'none'} and {sources[1]} has "
            f"{', '.join(after) or 'none'}: no split in common to compare; score both versions "
            "on the same dev (and test) set"
        )
    notes = list(notes)
    levels = {}
    for split in SPLITS:
        if split not in before and split not in after:
            continue
        levels[split] = _level_change(split, before, after, paired, metric, notes, sources)
    before_diagnosis = diagnose(dict(before), humans, metric=metric, unit=unit)
    after_diagnosis = diagnose(dict(after), humans, metric=metric, unit=unit)
    gaps = {name: _gap_change(name, before_diagnosis, after_diagnosis, levels) for name in GAPS}
    comparison = Comparison(
        metric=metric,
        unit=unit,
        sources=sources,
        levels=levels,
        gaps=gaps,
        before=before_diagnosis,
        after=after_diagnosis,
        verdict="",
        notes=notes,
    )
    comparison.verdict = verdict(comparison)
    return comparison


def _level_change(
    split: str,
    before: Mapping[str, LevelEstimate],
    after: Mapping[str, LevelEstimate],
    paired: Mapping[str, PairedSums] | None,
    metric: str,
    notes: list[str],
    sources: tuple[str, str],
) -> LevelChange:
    b, a = before.get(split), after.get(split)
    label = LEVEL_LABELS[split]
    if b is None or a is None:
        missing = sources[0] if b is None else sources[1]
        notes.append(f"{label}: only one version has it (none in {missing})")
        return LevelChange(split, b, a)
    sums = None if paired is None else paired.get(split)
    if sums is not None and sums.n:
        test = paired_error_change(sums) if metric == "error" else paired_loss_change(sums, metric)
        if test is not None:
            if sums.n < max(b.n, a.n):
                notes.append(
                    f"{label}: paired on the {sums.n:,} example ids both versions share (of "
                    f"{b.n:,} before, {a.n:,} after); the levels count every row"
                )
            return LevelChange(split, b, a, True, sums.n, sums.improved, sums.worsened, test)
        if sums.n >= 2:
            notes.append(
                f"{label}: the {sums.n:,} shared examples' loss changes are all equal, so its "
                "change is not tested (no spread to measure it by)"
            )
            return LevelChange(split, b, a, True, sums.n, sums.improved, sums.worsened)
    shared = 0 if sums is None else sums.n
    untestable = [
        f"{source} ({level.no_interval_text.split(':')[0]})"
        for source, level in zip(sources, (b, a), strict=True)
        if not level.has_interval
    ]
    if untestable:
        notes.append(
            f"{label}: no interval in {' and '.join(untestable)}, so its change is not tested"
        )
        return LevelChange(split, b, a, False, shared)
    if paired is not None:
        notes.append(
            f"{label}: {shared} shared example id{'s' * (shared != 1)}, so the comparison is "
            "unpaired; pairing needs the same ids in both versions"
        )
    return LevelChange(split, b, a, False, shared, test=unpaired_change(b, a, metric))


def _margins(change: LevelChange | None) -> tuple[float, float] | None:
    """(below, above) distances of a level change's interval from its own estimate."""
    if change is None or change.test is None:
        return None
    test = change.test
    return test.change - test.low, test.high - test.change


def _gap_change(
    name: str, before: Diagnosis, after: Diagnosis, levels: Mapping[str, LevelChange]
) -> GapChange:
    gap_before, gap_after = before.gaps.get(name), after.gaps.get(name)
    values = (
        None if gap_before is None else gap_before.value,
        None if gap_after is None else gap_after.value,
    )
    if gap_before is None or gap_after is None:
        return GapChange(name, *values)
    if (gap_before.lower, gap_before.upper) != (gap_after.lower, gap_after.upper):
        return GapChange(name, *values)  # e.g. variance over train-dev on one side only
    upper = _margins(levels.get(gap_before.upper))
    lower = (0.0, 0.0) if gap_before.lower == "human" else _margins(levels.get(gap_before.lower))
    if upper is None or lower is None:
        return GapChange(name, *values)
    change = gap_after.value - gap_before.value
    interval = (
        change - math.hypot(upper[0], lower[1]),
        change + math.hypot(upper[1], lower[0]),
    )
    return GapChange(name, *values, interval=interval)


def _amount(comparison: Comparison, value: float) -> str:
    if is_rate_metric(comparison.metric):
        return f"{abs(value) * 100:.1f} points"
    return comparison.fmt(abs(value))


def verdict(comparison: Comparison) -> str:
    """One line: what happened to the gap BEFORE had to fix first (else to the dev level)."""
    focus = comparison.before.priority[:1] or comparison.after.priority[:1]
    fmt = comparison.fmt
    if focus:
        gap = comparison.gaps[focus[0]]
        label = GAP_LABELS[gap.name]
        if gap.change is None:
            return f"{label}: {fmt(gap.before)} before, not measurable after"
        if gap.change == 0:
            moved = "unchanged"
        else:
            moved = f"{'closed' if gap.change < 0 else 'grew'} by {_amount(comparison, gap.change)}"
        real = {True: "real", False: "within noise", None: "not tested"}[gap.real]
        return f"{label} {fmt(gap.before)} → {fmt(gap.after)}: {moved}, {real}"
    split = next(
        (
            s
            for s in ("dev", "test", "train_dev", "train")
            if s in comparison.levels and comparison.levels[s].change is not None
        ),
        None,
    )
    if split is None:
        return "no level to compare"
    level = comparison.levels[split]
    change, before, after, test = level.change, level.before, level.after, level.test
    if change is None or before is None or after is None:
        raise ValueError(f"the {split} level has no change")
    direction = "down" if change < 0 else "up" if change > 0 else "unchanged"
    amount = "" if change == 0 else f" {_amount(comparison, change)}"
    if test is None:
        real = "not tested"
    else:
        noise = "within noise, borderline" if level.borderline else "within noise"
        real = f"{'real' if level.real else noise} (p = {test.p_value:.2g})"
    return (
        f"no gap stands out; {LEVEL_LABELS[split]} {fmt(before.value)} → "
        f"{fmt(after.value)}: {direction}{amount}, {real}"
    )


# -- what the fix fixed, and carrying tags over -----------------------------------------------


def tagged_ids(table: TagTable) -> list[str]:
    """The reviewed example ids of a tags table (the consensus's ids), in table order."""
    reviewed = table.consensus_tags()
    return [i for i in dict.fromkeys(row.id for row in table.rows) if i in reviewed]


def examined_ids(table: TagTable) -> list[str]:
    """Every example id of a tags table (each was looked at, tagged or not), in table order."""
    return list(dict.fromkeys(row.id for row in table.rows))


def check_tags_usable(source: str, metric: str, has_ids: bool) -> None:
    """Refuse matching tagged examples to a file without ids or without class labels."""
    if metric != "error":
        raise InputError(f"{source}: what the fix fixed needs class labels, not {metric.upper()}")
    if not has_ids:
        raise InputError(
            f"{source} has no id column: tagged examples are matched by id, so the new "
            "version's predictions need the same ids"
        )


def canonical_id(text: str) -> str:
    """An id as tags and predictions are matched: a whole number however written (``12``,
    ``12.0``, ``0012``) as its digits, ``12``; any other id as written."""
    stripped = text.strip()
    if WHOLE_NUMBER.fullmatch(stripped):
        return str(int(Decimal(stripped)))
    return text


WHOLE_NUMBER_SQL = r"[+-]?\d+(\.0*)?"  # also DuckDB's regexp_full_match
WHOLE_NUMBER = re.compile(WHOLE_NUMBER_SQL)


def outcomes_by_tag(found: Mapping[str, bool], ids: Iterable[str]) -> dict[str, bool]:
    """``found`` (canonical predictions id → wrong) keyed by the tagged ids (a whole number
    matches however either side writes it: :func:`canonical_id`)."""
    return {i: found[canonical_id(i)] for i in ids if canonical_id(i) in found}


def dev_outcomes(predictions: Predictions, ids: Collection[str] | None) -> dict[str, bool]:
    """For each of ``ids`` found in the dev split (None: every dev id, keyed as written): True
    when the prediction is wrong.

    Ids are matched as text (the tags CSV's ids; a whole number however written, see
    :func:`canonical_id`); ids not in dev are left out. Needs an ``id`` column: tags from another
    file cannot be matched by row number.
    """
    check_tags_usable(predictions.source, predictions.metric, "id" in predictions.frame)
    dev = predictions.split_codes == SPLITS.index("dev")
    text = predictions.frame["id"][dev].astype(str)
    if ids is None:
        return dict(
            zip(text.tolist(), predictions.loss()[np.flatnonzero(dev)].tolist(), strict=True)
        )
    text = text.map(canonical_id)
    wanted = text.isin({canonical_id(i) for i in ids}).to_numpy()
    rows = np.flatnonzero(dev)[wanted]
    wrong = predictions.loss()[rows]
    return outcomes_by_tag(dict(zip(text[wanted].tolist(), wrong.tolist(), strict=True)), ids)


def tags_note(ids: Collection[str], before_outcomes: Mapping[str, bool], source: str) -> str | None:
    """A note when some tagged ids are not dev errors of BEFORE (tags of another version?)."""
    stray = [i for i in ids if not before_outcomes.get(i, False)]
    if not stray:
        return None
    shown = ", ".join(stray[:5]) + (", …" if len(stray) > 5 else "")
    return (
        f"{len(stray)} of the {len(ids)} reviewed ids are not dev errors of {source} ({shown}): "
        "the tags should be those of BEFORE's dev errors"
    )


def what_fixed(table: TagTable, after_outcomes: Mapping[str, bool]) -> list[CategoryFix]:
    """Per category of BEFORE's tagged dev errors: tagged, fixed, still wrong, missing.

    ``after_outcomes`` is :func:`dev_outcomes` of AFTER for the tagged ids. Sorted like the
    ceiling table: most tagged first, then by name.
    """
    tags = table.consensus_tags()
    reviewed = len(tags)
    rows = []
    for name in dict.fromkeys([*table.categories, *(t for s in tags.values() for t in s)]):
        ids = [i for i, carried in tags.items() if name in carried]
        present = [after_outcomes[i] for i in ids if i in after_outcomes]
        still_wrong = sum(present)
        rows.append(
            CategoryFix(
                name=name,
                tagged=len(ids),
                fixed=len(present) - still_wrong,
                still_wrong=still_wrong,
                missing=len(ids) - len(present),
                ceiling_share=len(ids) / reviewed if reviewed else 0.0,
            )
        )
    rows.sort(key=lambda row: (-row.tagged, row.name.lower()))
    return rows


def still_wrong_ids(ids: Iterable[str], after_outcomes: Mapping[str, bool]) -> list[str]:
    """The ids (in the given order) AFTER still gets wrong: their tags carry over."""
    return [i for i in ids if after_outcomes.get(i, False)]


@dataclass(frozen=True)
class CarriedSample:
    """A new version's error sample that starts from the earlier version's still-wrong tags.

    ``sample`` is the review table (:func:`~diagnostics.errors.sample_errors`): the carried
    examples first, then the newly drawn errors; ``tags`` holds the carried examples' rows (every
    annotator's, tags kept) followed by blank rows for the new ones; ``carried`` lists the
    carried ids.
    """

    sample: pd.DataFrame
    tags: TagTable
    carried: tuple[str, ...]


def carry_over(
    table: TagTable,
    after: Predictions,
    n: int = DEFAULT_SAMPLE_SIZE,
    *,
    seed: int = 0,
    stratify: bool = False,
) -> CarriedSample:
    """AFTER's sample: BEFORE's reviewed examples AFTER still gets wrong, plus new errors.

    Every still-wrong example is kept even when there are more than ``n`` of them.
    """
    from diagnostics.errors import sample_errors

    reviewed = tagged_ids(table)
    carried = still_wrong_ids(reviewed, dev_outcomes(after, reviewed))
    sample = sample_errors(after, n, seed=seed, stratify=stratify, keep=carried)
    kept = set(carried)
    rows = [row for row in table.rows if row.id in kept]
    rows += [TagRow(i) for i in sample["id"] if i not in kept]
    return CarriedSample(sample, TagTable(table.categories, tuple(rows)), tuple(carried))
