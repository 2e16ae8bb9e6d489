"""The error waterfall: levels → gaps → priority → orthogonalized recommendations.

Levels run from the best human level (the Bayes proxy) through train, train-dev, dev and test.
Each gap between neighbouring levels maps to one family of knobs (STRATEGY_NOTES §1):
avoidable bias = train − human, variance = train-dev − train, data mismatch = dev − train-dev,
dev overfitting = test − dev. Without a train-dev level, variance is dev − train and the
mismatch cannot be separated. When levels carry intervals, each gap gets a 95% interval
(:func:`~diagnostics.metrics.gap_interval`); a gap whose interval holds 0 is reported but is
not a priority, nor is a gap to a level measured on too few examples for an interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from diagnostics.metrics import (
    INTERVAL_METHODS,
    NO_INTERVAL,
    NO_SPREAD,
    LevelEstimate,
    gap_interval,
)
from diagnostics.rates import clean, format_value, parse_metric_value
from diagnostics.splitnames import LEVEL_LABELS, LEVELS, SPLITS
from diagnostics.validation import InputError

if TYPE_CHECKING:
    from diagnostics.ingest import Predictions

GAPS = ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting")
GAP_LABELS = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "dev_overfitting": "dev overfitting",
}

KNOBS = {
    "avoidable_bias": [
        "Train a bigger network (more layers or hidden units)",
        "Train longer",
        "Use a better optimizer (Adam, or SGD with momentum)",
        "Try another architecture",
        "Search the hyperparameters, starting with the learning rate",
    ],
    "variance": [
        "Get more training data",
        "Regularize: L2 weight decay or dropout",
        "Augment the training data",
        "Try another architecture",
        "Early stopping also helps, but it moves bias and variance at once (not orthogonal): "
        "prefer L2 or dropout",
    ],
    "data_mismatch": [
        "Do manual error analysis to see how the training data differ from dev and test",
        "Collect more training data that looks like the dev/test data",
        "Synthesize target-like data (e.g. add noise or blur), without overfitting to a small "
        "synthesized subset",
        "Put some target-distribution data into training",
        "Try domain adaptation",
    ],
    "dev_overfitting": [
        "Get a bigger dev set",
        "Tune less against the dev set",
    ],
}

NEGATIVE_GAP_REASONS = {
    "avoidable_bias": "training error is below the best human level",
    "variance": (
        "held-out training data scores better than the training set itself: usually noise, or "
        "regularization (dropout, augmentation) active when the training error was measured"
    ),
    "data_mismatch": (
        "the target distribution (dev) looks easier than the training distribution: the model "
        "does better on the data the product will face; this is not a problem"
    ),
    "dev_overfitting": (
        "test scores better than dev: usually noise on small sets; check that dev and test come "
        "from the same distribution"
    ),
}


@dataclass(frozen=True)
class HumanLevel:
    """A named human-level error, e.g. ("team of experts", 0.007).

    ``estimate`` carries the interval of a level measured from annotators' labels (None for a
    typed one); ``floor`` marks an estimate of the Bayes error itself (the measured floor from
    soft labels), which held-out errors cannot beat except by noisy labels or overfitting.
    """

    name: str
    value: float
    estimate: LevelEstimate | None = None
    floor: bool = False

    def to_dict(self) -> dict[str, Any]:
        """{name, value}, with interval, n and floor for a measured level."""
        result: dict[str, Any] = {"name": self.name, "value": self.value}
        if self.estimate is not None:
            est = self.estimate
            result["interval"] = [est.low, est.high] if est.has_interval else None
            result["n"] = est.n
            result["floor"] = self.floor
        return result


@dataclass(frozen=True)
class Gap:
    """The gap between two neighbouring levels, with its 95% interval where one is known.

    ``interval`` is None for typed levels (no sampling noise to measure) and when a measured
    level has too few examples for an interval; ``unmeasurable`` marks the latter.
    """

    name: str
    value: float
    lower: str
    upper: str
    interval: tuple[float, float] | None = None
    method: str | None = None
    unmeasurable: bool = False

    @property
    def within_noise(self) -> bool:
        """True when the gap's 95% interval contains 0."""
        return self.interval is not None and self.interval[0] <= 0 <= self.interval[1]

    @property
    def is_priority(self) -> bool:
        """Above zero beyond the noise: the interval lies above 0 (without one, the gap > 0,
        unless a level was measured on too few examples to tell)."""
        if self.interval is not None:
            return clean(self.interval[0]) > 0
        return not self.unmeasurable and clean(self.value) > 0


@dataclass
class Diagnosis:
    """The full waterfall for one model (or one slice of its data)."""

    metric: str
    unit: str
    levels: dict[str, float | None]
    human_levels: list[HumanLevel]
    intervals: dict[str, LevelEstimate]
    gaps: dict[str, Gap]
    priority: list[str]
    recommendations: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    noise_bands: dict[str, float] = field(default_factory=dict)
    """Per held-out split, the most of its error that may be label error (the top of the
    label-noise interval, :mod:`diagnostics.label_noise`); drawn as a band on its bar."""

    def fmt(self, value: float | None, *, signed: bool = False) -> str:
        """Format a level or gap in the diagnosis's metric and unit."""
        return format_value(value, self.metric, self.unit, signed=signed)

    def largest_gap(self) -> Gap | None:
        """The gap to fix next (first in priority), or None when no gap stands out."""
        return self.gaps[self.priority[0]] if self.priority else None

    def level_interval_text(self, level: str) -> str:
        """A measured level's 95% interval as shown (``7.1% – 9.2%``), or ``""`` if typed."""
        est = self.intervals.get(level)
        if est is None:
            return ""
        if not est.has_interval:
            return est.no_interval_text
        return f"{self.fmt(est.low)} – {self.fmt(est.high)}"

    def gap_interval_text(self, name: str) -> str:
        """A gap's 95% interval as shown (``+0.1% to +3.2%``), or why it has none."""
        gap = self.gaps.get(name)
        if gap is None or (gap.interval is None and not gap.unmeasurable):
            return "—"
        if gap.interval is None:
            return self.no_interval_text(gap)
        low, high = gap.interval
        return f"{self.fmt(low, signed=True)} to {self.fmt(high, signed=True)}"

    def no_interval_text(self, gap: Gap) -> str:
        """Why a gap has no interval: a level of one example, or one whose losses are equal."""
        levels = [self.intervals[k] for k in (gap.lower, gap.upper) if k in self.intervals]
        texts = {est.no_interval_text for est in levels if not est.has_interval}
        return NO_INTERVAL if NO_INTERVAL in texts or not texts else NO_SPREAD

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the CLI contract (DESIGN.md: ``diagnose --json``)."""
        result: dict[str, Any] = {
            "metric": self.metric,
            "unit": self.unit or None,
            "levels": {name: self.levels.get(name) for name in LEVELS},
            "human_levels": [h.to_dict() for h in self.human_levels],
            "gaps": {
                name: (clean(self.gaps[name].value) if name in self.gaps else None) for name in GAPS
            },
            "gap_intervals": {name: _clean_interval(self.gaps.get(name)) for name in GAPS},
            "priority": list(self.priority),
            "recommendations": self.recommendations,
            "warnings": list(self.warnings),
        }
        if self.intervals:
            result["intervals"] = {
                k: [v.low, v.high] if v.has_interval else None for k, v in self.intervals.items()
            }
            result["counts"] = {k: v.n for k, v in self.intervals.items()}
            result["interval_methods"] = {
                "levels": INTERVAL_METHODS[self.metric],
                "gaps": {name: gap.method for name, gap in self.gaps.items() if gap.method},
            }
        return result


def gap_rows(diagnosis: Diagnosis) -> list[dict[str, str | bool]]:
    """The gap table, one row per gap in waterfall order, worded once for every surface.

    Keys: ``name``, ``gap`` (its label), ``between`` (the two levels), ``size`` and ``interval``
    (its 95% interval, formatted in the diagnosis's unit), ``status`` ("fix this first",
    "priority 2", "within noise", "one example: no interval" or "not a problem"), ``focus``
    (True for the gap to fix first) and ``note`` (a measured human level's name and n, or how
    much of a held-out level may be label error; empty otherwise).
    """
    rows: list[dict[str, str | bool]] = []
    for name, gap in diagnosis.gaps.items():
        if name in diagnosis.priority:
            rank = diagnosis.priority.index(name) + 1
            status = "fix this first" if rank == 1 else f"priority {rank}"
        elif gap.within_noise:
            status = "within noise"
        elif gap.unmeasurable:
            status = diagnosis.no_interval_text(gap)
        else:
            status = "not a problem"
        rows.append(
            {
                "name": name,
                "gap": GAP_LABELS[name],
                "between": f"{LEVEL_LABELS[gap.lower]} → {LEVEL_LABELS[gap.upper]}",
                "size": diagnosis.fmt(gap.value, signed=True),
                "interval": diagnosis.gap_interval_text(name),
                "status": status,
                "focus": bool(diagnosis.priority) and name == diagnosis.priority[0],
                "note": _gap_note(diagnosis, gap),
            }
        )
    return rows


def _gap_note(diagnosis: Diagnosis, gap: Gap) -> str:
    """What the floor adds to a gap's row: the measured human level, the label noise."""
    notes = []
    proxy = diagnosis.human_levels[0] if diagnosis.human_levels else None
    if gap.lower == "human" and proxy is not None and proxy.estimate is not None:
        notes.append(f"human is {proxy.name}, measured on {proxy.estimate.n:,}")
    band = diagnosis.noise_bands.get(gap.upper)
    if band is not None:
        label = LEVEL_LABELS[gap.upper]
        notes.append(f"up to {diagnosis.fmt(band)} of {label} may be label error")
    return "; ".join(notes)


def _clean_interval(gap: Gap | None) -> list[float] | None:
    """A gap's 95% interval as JSON (None without the gap or without an interval)."""
    if gap is None or gap.interval is None:
        return None
    return [clean(v) for v in gap.interval]


def diagnose(
    splits: Mapping[str, float | LevelEstimate | None],
    humans: Sequence[HumanLevel] = (),
    *,
    metric: str = "error",
    unit: str = "",
) -> Diagnosis:
    """Compute the waterfall from split levels (plain values or measured estimates).

    ``splits`` maps ``train``, ``train_dev``, ``dev``, ``test`` to a value or a
    :class:`LevelEstimate` (whose interval is then used for the noise check); absent or None
    levels are skipped. ``humans`` may hold several human levels; the lowest is the Bayes proxy.
    """
    unknown = [name for name in splits if name not in SPLITS]
    if unknown:
        raise InputError(f"unknown level '{unknown[0]}'; levels are {', '.join(SPLITS)}")
    estimates = {k: v for k, v in splits.items() if isinstance(v, LevelEstimate)}
    levels: dict[str, float | None] = {name: None for name in LEVELS}
    for name, value in splits.items():
        if value is not None:
            levels[name] = value.value if isinstance(value, LevelEstimate) else float(value)
    if all(levels[name] is None for name in SPLITS):
        raise InputError("no level to diagnose: give at least the train or dev level")
    for name, value in levels.items():
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InputError(f"the {LEVEL_LABELS[name]} level must be a finite number ≥ 0")
    humans = sorted(humans, key=lambda h: h.value)
    if humans:
        levels["human"] = humans[0].value
        if humans[0].estimate is not None:
            estimates["human"] = humans[0].estimate

    diagnosis = Diagnosis(
        metric=metric,
        unit=unit,
        levels=levels,
        human_levels=list(humans),
        intervals=estimates,
        gaps={},
        priority=[],
        recommendations=[],
    )
    diagnosis.gaps = _gaps(levels, estimates, metric)
    diagnosis.warnings = _warnings(diagnosis)
    diagnosis.priority = _priority(diagnosis)
    diagnosis.recommendations = [_recommendation(diagnosis, name) for name in diagnosis.priority]
    return diagnosis


def _gaps(
    levels: dict[str, float | None], estimates: dict[str, LevelEstimate], metric: str
) -> dict[str, Gap]:
    has_train_dev = levels["train_dev"] is not None
    pairs = {
        "avoidable_bias": ("human", "train"),
        "variance": ("train", "train_dev" if has_train_dev else "dev"),
        "data_mismatch": ("train_dev", "dev"),
        "dev_overfitting": ("dev", "test"),
    }
    gaps = {}
    for name, (lower, upper) in pairs.items():
        low, high = levels[lower], levels[upper]
        if low is None or high is None:
            continue
        value = clean(high - low)
        measured = [estimates[k] for k in (lower, upper) if k in estimates]
        unmeasurable = any(not est.has_interval for est in measured)
        found = None
        if upper in estimates and (lower in estimates or lower == "human"):
            found = gap_interval(estimates.get(lower, low), estimates[upper], metric)
        interval, method = found if found else (None, None)
        gaps[name] = Gap(name, value, lower, upper, interval, method, unmeasurable)
    return gaps


def _priority(diagnosis: Diagnosis) -> list[str]:
    candidates = [gap for gap in diagnosis.gaps.values() if gap.is_priority]
    candidates.sort(key=lambda gap: (-clean(gap.value), GAPS.index(gap.name)))
    return [gap.name for gap in candidates]


def _sampled(diagnosis: Diagnosis, gap: Gap) -> str:
    """The gap's levels measured on samples (typed levels, e.g. human, have no noise)."""
    names = [LEVEL_LABELS[k] for k in (gap.lower, gap.upper) if k in diagnosis.intervals]
    return " and ".join(names)


def _warnings(diagnosis: Diagnosis) -> list[str]:
    levels, gaps, fmt = diagnosis.levels, diagnosis.gaps, diagnosis.fmt
    warnings = _human_warnings(diagnosis)
    if levels["train_dev"] is None and levels["train"] is not None and levels["dev"] is not None:
        warnings.append(
            "No train-dev level: variance is measured as dev − train and includes any data "
            "mismatch. Carve a train-dev set (same distribution as training, never trained on) "
            "to separate the two"
        )
    if levels["test"] is None and levels["dev"] is not None:
        warnings.append("No test level: dev overfitting cannot be measured")
    for gap in gaps.values():
        label = GAP_LABELS[gap.name]
        if gap.within_noise:
            warnings.append(
                f"The {label} gap ({fmt(gap.value, signed=True)}) is within statistical noise "
                f"(95% interval {diagnosis.gap_interval_text(gap.name)}), so it is not a "
                f"priority; more examples in {_sampled(diagnosis, gap)} would tell"
            )
        elif gap.unmeasurable:
            few = [
                k
                for k in (gap.lower, gap.upper)
                if k in diagnosis.intervals and not diagnosis.intervals[k].has_interval
            ]
            names = " and ".join(LEVEL_LABELS[k] for k in few)
            equal = all(diagnosis.intervals[k].equal_losses for k in few)
            why = (
                f"{'has' if len(few) == 1 else 'have'} one example"
                if not equal
                else f"{'has' if len(few) == 1 else 'have'} no spread (all losses equal)"
            )
            warnings.append(
                f"The {label} gap ({fmt(gap.value, signed=True)}) cannot be told from noise: "
                f"{names} {why}, so no interval, and it is not a priority; more examples in "
                f"{names} would tell"
            )
        elif clean(gap.value) < 0 and gap.name != "avoidable_bias":
            warnings.append(
                f"Negative {label} gap ({fmt(gap.value, signed=True)}): "
                f"{NEGATIVE_GAP_REASONS[gap.name]}"
            )
    return warnings


HELD_OUT = ("dev", "test")


def _human_warnings(diagnosis: Diagnosis) -> list[str]:
    """What the human levels say about the model: no human level; beating people on held-out
    data; a train error below human that is a variance story; a held-out error below the
    measured floor (too good to be true)."""
    levels, fmt = diagnosis.levels, diagnosis.fmt
    human = levels["human"]
    if human is None:
        return [
            "No human level given: avoidable bias cannot be measured; add the best human "
            "error you know as a proxy for the Bayes error"
        ]
    warnings = []
    held = {k: v for k in HELD_OUT if (v := levels[k]) is not None}
    beaten = {k: v for k, v in held.items() if v < human}
    train = levels["train"]
    if beaten:
        split = min(beaten, key=lambda k: beaten[k])
        warnings.append(
            f"The model beats the best human level on held-out data ({LEVEL_LABELS[split]} "
            f"{fmt(beaten[split])} < human {fmt(human)}): human level is no longer a usable "
            "proxy for the Bayes error, so the avoidable bias is unknown. Progress usually slows "
            "from here, and manual error analysis gets harder because people can no longer tell "
            "the model what it got wrong"
        )
    elif train is not None and train < human and not _within_noise(diagnosis, "avoidable_bias"):
        if held:
            split = max(held, key=lambda k: held[k])
            warnings.append(
                f"Train error {fmt(train)} is below the best human level {fmt(human)}, but "
                f"{LEVEL_LABELS[split]} error is {fmt(held[split])}: the model memorises its "
                "training set, it does not beat people. This is a variance story: the "
                "avoidable bias reads as none only because the training error flatters the "
                "model; close the gap to held-out data first"
            )
        else:
            warnings.append(
                f"Train error {fmt(train)} is below the best human level {fmt(human)} and there "
                "is no dev or test level: whether the model beats people or memorises its "
                "training set cannot be told; measure a held-out level"
            )
    warnings.extend(_too_good(diagnosis))
    return warnings


def _within_noise(diagnosis: Diagnosis, name: str) -> bool:
    """True when the gap exists and its interval holds 0 (or it cannot be told from noise)."""
    gap = diagnosis.gaps.get(name)
    return gap is not None and (gap.within_noise or gap.unmeasurable)


def _too_good(diagnosis: Diagnosis) -> list[str]:
    """A held-out error whose interval lies below the measured floor's interval."""
    floor = next((h for h in diagnosis.human_levels if h.floor and h.estimate), None)
    if floor is None or floor.estimate is None or floor.estimate.low is None:
        return []
    fmt, warnings = diagnosis.fmt, []
    for split in HELD_OUT:
        value = diagnosis.levels[split]
        if value is None:
            continue
        est = diagnosis.intervals.get(split)
        top = est.high if est is not None and est.high is not None else value
        if top < floor.estimate.low:
            label = LEVEL_LABELS[split]
            warnings.append(
                f"Too good to be true: {label} error {fmt(value)}"
                + (f" (95% interval up to {fmt(top)})" if top != value else "")
                + f" lies below the {floor.name} {fmt(floor.value)} (95% interval "
                f"{fmt(floor.estimate.low)} – {fmt(floor.estimate.high)}), an estimate of the "
                f"Bayes error that no model can beat on correct labels. The {label} labels are "
                "probably noisy in the way the model learned (e.g. made by a similar model), or "
                f"the {label} set was overfit (tuned on, or leaked into training): check its "
                "labels and how it was made before trusting this level"
            )
    return warnings


def _recommendation(diagnosis: Diagnosis, name: str) -> dict[str, Any]:
    gap = diagnosis.gaps[name]
    size = diagnosis.fmt(gap.value)
    levels = diagnosis.levels
    reasons = {
        "avoidable_bias": (
            f"Training error is {size} above the best human level: the model does not yet fit "
            "the data it trains on, so fix the fit first; regularization would make this worse"
        ),
        "variance": (
            f"Error rises by {size} from the training set to held-out data of the same "
            "distribution: the model memorizes rather than generalizes"
            if levels["train_dev"] is not None
            else f"Error rises by {size} from train to dev: the model does not generalize "
            "(without a train-dev set this also holds any data mismatch)"
        ),
        "data_mismatch": (
            f"The model does {size} worse on the target distribution (dev) than on held-out "
            "training-distribution data: the training data differ from what the product sees"
        ),
        "dev_overfitting": (
            f"Test error is {size} above dev error: the choices made on the dev set fit it "
            "too closely"
        ),
    }
    return {
        "gap": name,
        "size": clean(gap.value),
        "reason": reasons[name],
        "actions": list(KNOBS[name]),
    }


MIN_SLICE_ROWS = 20  # a slice's level on fewer rows makes no priority (the slice finder's floor)


def diagnose_slices(
    per_slice: Mapping[str, Mapping[str, LevelEstimate]],
    humans: Sequence[HumanLevel] = (),
    *,
    metric: str = "error",
    unit: str = "",
    min_rows: int = MIN_SLICE_ROWS,
) -> list[tuple[str, Diagnosis]]:
    """One diagnosis per slice value, the slice with the largest significant gap first.

    A gap between levels of which one holds fewer than ``min_rows`` rows of the slice is no
    priority of it (4 rows made "fix first: dev overfitting 100%"); a warning says so.
    """

    def largest(diagnosis: Diagnosis) -> float:
        gap = diagnosis.largest_gap()
        return gap.value if gap else -math.inf

    results = [
        (
            value,
            _without_small_priorities(diagnose(levels, humans, metric=metric, unit=unit), min_rows),
        )
        for value, levels in per_slice.items()
        if levels
    ]
    return sorted(results, key=lambda item: -largest(item[1]))


def _without_small_priorities(diagnosis: Diagnosis, min_rows: int) -> Diagnosis:
    """The diagnosis with no priority on a gap whose levels hold fewer than ``min_rows`` rows."""

    def small(name: str) -> list[str]:
        gap = diagnosis.gaps[name]
        return [
            k
            for k in (gap.lower, gap.upper)
            if k in diagnosis.intervals and diagnosis.intervals[k].n < min_rows
        ]

    dropped = [name for name in diagnosis.priority if small(name)]
    if not dropped:
        return diagnosis
    for name in dropped:
        levels = " and ".join(
            f"{LEVEL_LABELS[k]} ({diagnosis.intervals[k].n})" for k in small(name)
        )
        diagnosis.warnings.append(
            f"The {GAP_LABELS[name]} gap is not a priority of this slice: {levels} "
            f"{'has' if len(small(name)) == 1 else 'have'} fewer than {min_rows} rows"
        )
    diagnosis.priority = [name for name in diagnosis.priority if name not in dropped]
    diagnosis.recommendations = [_recommendation(diagnosis, name) for name in diagnosis.priority]
    return diagnosis


def diagnose_splits_and_slices(
    splits: Mapping[str, LevelEstimate],
    per_slice: Mapping[str, Mapping[str, LevelEstimate]],
    humans: Sequence[HumanLevel] = (),
    *,
    metric: str = "error",
    unit: str = "",
) -> tuple[Diagnosis, list[tuple[str, Diagnosis]]]:
    """The waterfall of a file's per-split estimates and one per slice value (as
    :func:`diagnose_slices`): what ``diagnose FILE`` and the Diagnose page show of a scan."""
    diagnosis = diagnose(splits, humans, metric=metric, unit=unit)
    return diagnosis, diagnose_slices(per_slice, humans, metric=metric, unit=unit)


def slices_to_dict(column: str, slices: Sequence[tuple[str, Diagnosis]]) -> dict[str, Any]:
    """The ``slices`` part of ``diagnose --slice COLUMN --json``: one waterfall per value."""
    return {"column": column, "values": [{"value": v, **d.to_dict()} for v, d in slices]}


def parse_human_level(text: str, metric: str = "error", *, index: int = 1) -> HumanLevel:
    """Parse ``"expert=2%"`` or ``"2%"`` (named ``human 1``, ``human 2``, …) into a level."""
    name, sep, value = str(text).rpartition("=")
    name = name.strip() if sep else f"human {index}"
    if sep and not name:
        raise InputError(
            f"--human: '{text}' has '=' but no name; write NAME=RATE (expert=1%) or RATE"
        )
    return HumanLevel(name or f"human {index}", parse_metric_value(value, metric, what="--human"))


def parse_human_levels(
    texts: Sequence[str | float | HumanLevel], metric: str = "error"
) -> list[HumanLevel]:
    """Human levels as ``--human`` takes them (each as :func:`parse_human_level`, unnamed ones
    numbered by position), checked by :func:`check_human_levels`."""
    levels = [
        text if isinstance(text, HumanLevel) else parse_human_level(str(text), metric, index=i)
        for i, text in enumerate(texts, start=1)
    ]
    check_human_levels(levels)
    return levels


def check_human_levels(levels: Sequence[HumanLevel]) -> None:
    """Refuse two human levels of the same name (case-insensitive: 'Expert' is 'expert'), which
    would make the waterfall's human bar ambiguous."""
    seen: dict[str, str] = {}
    for level in levels:
        key = level.name.strip().casefold()
        if key in seen:
            raise InputError(
                f"--human: '{level.name}' is named twice (as '{seen[key]}' too); give each "
                "human level its own name"
            )
        seen[key] = level.name


def diagnose_predictions(
    predictions: Predictions, humans: Sequence[HumanLevel] = (), *, unit: str = ""
) -> Diagnosis:
    """The waterfall of a predictions file, with measured intervals on every split."""
    from diagnostics.ingest import split_metrics  # pandas: only for read predictions

    return diagnose(split_metrics(predictions), humans, metric=predictions.metric, unit=unit)
