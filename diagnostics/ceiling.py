"""Ceilings from hand-tagged errors, and agreement between annotators (STRATEGY_NOTES §3).

A category tagged on ``count`` of ``reviewed`` errors has ``share = count / reviewed``; fixing it
completely removes at most ``dev_error × share`` and leaves at best
``dev_error × (1 − share)``. Tags are multi-label (one error may be blurry *and* mislabeled), so
shares need not add up to 100%. Every share carries a 95% Wilson interval, and with the number of
dev errors known it is extrapolated to the whole dev set.

Examples whose tags were *carried over* from an earlier version (the ones it still gets wrong)
are not a random sample of this version's errors. They are counted as what they are, a census
of a known part of the errors, and only the random draws are extrapolated, to the rest:
``share = (carried count + p̂·(E − C)) / E`` with ``p̂`` the share among the R random draws (its
Wilson interval on R carries the interval), ``C`` the carried examples and ``E`` the dev errors.

Annotator agreement per category: Cohen's kappa for two annotators, Fleiss' kappa for more.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from diagnostics.metrics import wilson_interval
from diagnostics.rates import clean, format_value
from diagnostics.validation import InputError

if TYPE_CHECKING:
    from diagnostics.spread import SpreadEstimate

_ExampleId = TypeVar("_ExampleId", bound=Hashable)  # how a caller keys its examples (text ids)

MISLABELED_WORDS = ("mislabel", "label noise", "wrong label", "incorrect label", "bad label")
LARGE_MISLABELED_SHARE = 0.10
KAPPA_SCALE = (  # Landis & Koch (1977)
    (0.0, "poor"),
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.0, "almost perfect"),
)


@dataclass(frozen=True)
class CategoryCeiling:
    """One category's row of the ceiling table."""

    name: str
    count: int
    share: float
    interval: tuple[float, float]
    reduction: float
    error_after_fix: float
    error_after_fix_interval: tuple[float, float]
    estimated_dev_errors: tuple[float, float, float] | None = None
    spread: SpreadEstimate | None = None

    @property
    def more_precise(self) -> str:
        """Which count of the category in all dev errors has the narrower 95% interval:
        ``spread`` (the classifier's), ``sample`` (the share's extrapolation), or ``""``."""
        estimate, spread = self.estimated_dev_errors, self.spread
        if estimate is None or spread is None or spread.width is None:
            return ""
        return "spread" if spread.width < estimate[2] - estimate[1] else "sample"

    def to_dict(self) -> dict[str, Any]:
        """JSON row: the CLI contract's keys plus the extrapolation to the whole dev set (and
        the spread estimate, when one was made)."""
        estimate = self.estimated_dev_errors
        spread = (
            {}
            if self.spread is None
            else {
                "spread": self.spread.to_dict(),
                "more_precise": self.more_precise,
            }
        )
        return {
            "name": self.name,
            "count": self.count,
            "share": clean(self.share),
            "reduction": clean(self.reduction),
            "error_after_fix": clean(self.error_after_fix),
            "interval": [clean(v) for v in self.interval],
            "error_after_fix_interval": [clean(v) for v in self.error_after_fix_interval],
            "estimated_dev_errors": (
                None
                if estimate is None
                else {
                    "value": round(estimate[0], 1),
                    "low": round(estimate[1], 1),
                    "high": round(estimate[2], 1),
                }
            ),
            **spread,
        }


@dataclass(frozen=True)
class Ranking:
    """Whether the sample separates two neighbouring categories of the table."""

    above: str
    below: str
    separated: bool
    reviewed_needed: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "above": self.above,
            "below": self.below,
            "separated": self.separated,
            "reviewed_needed": self.reviewed_needed,
        }


@dataclass(frozen=True)
class Ceiling:
    """The ceiling table: one row per category, largest count first, with notes and advice."""

    dev_error: float
    reviewed: int
    categories: list[CategoryCeiling]
    untagged: int | None = None
    dev_errors: int | None = None
    rankings: list[Ranking] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``ceiling --json`` contract (DESIGN.md) plus untagged, rankings, notes, advice."""
        return {
            "dev_error": clean(self.dev_error),
            "reviewed": self.reviewed,
            "categories": [c.to_dict() for c in self.categories],
            "untagged": self.untagged,
            "dev_errors": self.dev_errors,
            "rankings": [r.to_dict() for r in self.rankings],
            "notes": list(self.notes),
            "advice": list(self.advice),
        }


def ceiling_table(ceiling: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ceiling table as display rows (percent), from ``Ceiling.to_dict()``.

    The page and the report show these same rows; the estimate over the whole dev set appears
    when the number of dev errors is known.
    """

    def pct(value: float) -> str:
        return format_value(value, "error")

    rows = []
    for c in ceiling["categories"]:
        row = {
            "category": c["name"],
            "count": c["count"],
            "share of reviewed errors": pct(c["share"]),
            "95% interval": f"{pct(c['interval'][0])} – {pct(c['interval'][1])}",
            "most it removes": pct(c["reduction"]),
            "best dev error after fix": pct(c["error_after_fix"]),
        }
        estimate = c.get("estimated_dev_errors")
        if estimate:
            row["est. in all dev errors"] = (
                f"{estimate['value']:,.0f} ({estimate['low']:,.0f}–{estimate['high']:,.0f})"
            )
        spread = c.get("spread")
        if spread is not None:
            row["spread to all dev errors"] = (
                "—"
                if spread["value"] is None
                else f"{spread['value']:,.0f} ({spread['low']:,.0f}–{spread['high']:,.0f})"
            )
            row["more precise"] = c.get("more_precise", "")
        rows.append(row)
    return rows


def ceiling_from_counts(
    counts: Mapping[str, int],
    reviewed: int,
    dev_error: float,
    *,
    untagged: int | None = None,
    dev_errors: int | None = None,
) -> Ceiling:
    """The ceiling table from per-category counts over ``reviewed`` errors.

    ``dev_errors`` (the number of misclassified dev examples) turns each share into an
    estimated count of such errors in the whole dev set, with its interval.

    >>> ceiling = ceiling_from_counts({"blurry": 190, "mislabeled": 60}, 500, 0.10)
    >>> [(row["name"], row["error_after_fix"]) for row in ceiling.to_dict()["categories"]]
    [('blurry', 0.062), ('mislabeled', 0.088)]
    """
    _check_inputs(counts, reviewed, dev_error, dev_errors)
    rows = [
        _category(name, int(count), reviewed, dev_error, dev_errors)
        for name, count in counts.items()
    ]
    rows.sort(key=lambda row: (-row.count, row.name.lower()))
    rankings = _rankings(rows, reviewed)
    notes = _notes(rows, rankings, reviewed, untagged, dev_errors)
    return Ceiling(
        dev_error=dev_error,
        reviewed=reviewed,
        categories=rows,
        untagged=untagged,
        dev_errors=dev_errors,
        rankings=rankings,
        notes=notes,
        advice=_advice(rows, dev_error),
    )


def ceiling_from_tags(
    tags: Mapping[Hashable, Collection[str]],
    dev_error: float,
    *,
    categories: Sequence[str] = (),
    reviewed_ids: Iterable[Hashable] | None = None,
    reviewed: int | None = None,
    dev_errors: int | None = None,
    carried: Collection[Hashable] = (),
) -> Ceiling:
    """The ceiling table from tags: example id → the categories it carries.

    ``carried`` ids (tags carried over from an earlier version) are not random draws: they
    count as themselves and only the other reviewed examples are extrapolated (module doc).

    Reviewed examples are ``reviewed_ids`` (every id in ``tags`` when None) plus every example
    that carries a tag, since tagging is reviewing. ``reviewed`` overrides their number (e.g.
    when only the tagged examples were listed); the extra ones count as untagged.
    ``categories`` lists categories to show even with no tag yet. An example with several tags
    counts once in each of them.

    >>> ceiling = ceiling_from_tags({"a": ["blurry"], "b": ["blurry", "dark"], "c": []}, 0.10)
    >>> [(row.name, row.count) for row in ceiling.categories], ceiling.untagged
    ([('blurry', 2), ('dark', 1)], 1)
    """
    seen = set(tags) if reviewed_ids is None else set(reviewed_ids)
    seen |= {item for item, names in tags.items() if names}
    counts = dict.fromkeys(categories, 0)
    tagged = 0
    for item in seen:
        names = tags.get(item, ())
        tagged += bool(names)
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    if reviewed is None:
        reviewed = len(seen)
    elif reviewed < tagged:
        raise InputError(f"reviewed ({reviewed}) is smaller than the {tagged} tagged examples")
    if not reviewed:
        raise InputError("no reviewed examples yet: tag or mark at least one error as reviewed")
    census = seen & set(carried)
    if not census:
        return ceiling_from_counts(
            counts, reviewed, dev_error, untagged=reviewed - tagged, dev_errors=dev_errors
        )
    return _ceiling_with_census(
        {item: tags.get(item, ()) for item in seen}, census, counts, dev_error, dev_errors
    )


def _ceiling_with_census(
    tags: Mapping[Hashable, Collection[str]],
    census: set[Hashable],
    names: Mapping[str, int],
    dev_error: float,
    dev_errors: int | None,
) -> Ceiling:
    """The ceiling when ``census`` (carried examples) are not random draws: each share is
    their exact count plus the random draws' share extrapolated to the other errors only."""
    drawn = [item for item in tags if item not in census]
    carried, total = len(census), len(tags)
    rows = []
    for name in names:
        fixed = sum(name in tags[item] for item in census)
        random_count = sum(name in tags[item] for item in drawn)
        if drawn and dev_errors is not None:
            rest = max(dev_errors - carried, 0)
            p = random_count / len(drawn)
            low, high = wilson_interval(p, len(drawn))
            low, high = min(low, p), max(high, p)
            share = (fixed + p * rest) / dev_errors
            interval = ((fixed + low * rest) / dev_errors, (fixed + high * rest) / dev_errors)
            estimate = (share * dev_errors, interval[0] * dev_errors, interval[1] * dev_errors)
        elif drawn:  # no dev error count: the random draws alone estimate the share
            share = random_count / len(drawn)
            low, high = wilson_interval(share, len(drawn))
            interval, estimate = (min(low, share), max(high, share)), None
        else:  # carried examples only: what they show, no estimate for the other errors
            share = fixed / carried
            interval, estimate = (share, share), None
        rows.append(
            CategoryCeiling(
                name=str(name),
                count=fixed + random_count,
                share=share,
                interval=interval,
                reduction=dev_error * share,
                error_after_fix=dev_error * (1 - share),
                error_after_fix_interval=(
                    dev_error * (1 - interval[1]),
                    dev_error * (1 - interval[0]),
                ),
                estimated_dev_errors=estimate,
            )
        )
    rows.sort(key=lambda row: (-row.count, row.name.lower()))
    untagged = sum(not tags[item] for item in tags)
    note = (
        f"{carried} of the {total} reviewed errors were carried over from an earlier version "
        "(the ones it still gets wrong), not drawn at random from this version's errors: they "
        "count as themselves, and only the "
        f"{len(drawn)} random draws are extrapolated to the other dev errors"
    )
    if not drawn:
        note = (
            f"all {total} reviewed errors were carried over from an earlier version, not drawn "
            "at random: the shares describe them only and are not extrapolated to all dev "
            "errors; review newly drawn errors for an estimate"
        )
    notes = [note, *_notes(rows, [], total, untagged, dev_errors)]
    return Ceiling(
        dev_error=dev_error,
        reviewed=total,
        categories=rows,
        untagged=untagged,
        dev_errors=dev_errors,
        notes=notes,
        advice=_advice(rows, dev_error),
    )


def _check_inputs(
    counts: Mapping[str, int], reviewed: int, dev_error: float, dev_errors: int | None
) -> None:
    if reviewed < 1:
        raise InputError(f"reviewed must be at least 1 (got {reviewed})")
    if not 0 <= dev_error <= 1:
        raise InputError(f"dev error must lie between 0% and 100% (got {dev_error})")
    if dev_errors is not None and dev_errors < reviewed:
        raise InputError(
            f"dev errors ({dev_errors}) is smaller than the reviewed count ({reviewed}); the "
            "reviewed errors are drawn from the dev errors"
        )
    for name, count in counts.items():
        if not str(name).strip():
            raise InputError("a category has an empty name; give every category a name")
        if count < 0 or count > reviewed:
            raise InputError(
                f"category '{name}': count {count} must lie between 0 and the {reviewed} "
                "reviewed errors"
            )


def _category(
    name: str, count: int, reviewed: int, dev_error: float, dev_errors: int | None
) -> CategoryCeiling:
    share = count / reviewed
    low, high = wilson_interval(share, reviewed)
    interval = (min(low, share), max(high, share))
    estimate = None
    if dev_errors is not None:
        estimate = (share * dev_errors, interval[0] * dev_errors, interval[1] * dev_errors)
    return CategoryCeiling(
        name=str(name),
        count=count,
        share=share,
        interval=interval,
        reduction=dev_error * share,
        error_after_fix=dev_error * (1 - share),
        error_after_fix_interval=(dev_error * (1 - interval[1]), dev_error * (1 - interval[0])),
        estimated_dev_errors=estimate,
    )


def _overlap(p: float, q: float, n: int) -> bool:
    return wilson_interval(p, n)[0] <= wilson_interval(q, n)[1]


def reviewed_needed(p_high: float, p_low: float, limit: int = 10**7) -> int | None:
    """The fewest reviewed errors at which the shares' Wilson intervals stop overlapping.

    Assumes the shares stay as measured; None when they are equal or need more than ``limit``.
    """
    if p_high <= p_low or _overlap(p_high, p_low, limit):
        return None
    low, high = 1, limit
    while low < high:
        middle = (low + high) // 2
        if _overlap(p_high, p_low, middle):
            low = middle + 1
        else:
            high = middle
    return low


def _rankings(rows: list[CategoryCeiling], reviewed: int) -> list[Ranking]:
    ranked = []
    for above, below in pairwise(rows):
        if above.count == 0:
            break
        separated = above.interval[0] > below.interval[1]
        needed = None if separated else reviewed_needed(above.share, below.share)
        ranked.append(Ranking(above.name, below.name, separated, needed))
    return ranked


def _notes(
    rows: list[CategoryCeiling],
    rankings: list[Ranking],
    reviewed: int,
    untagged: int | None,
    dev_errors: int | None,
) -> list[str]:
    notes = []
    if untagged:
        notes.append(
            f"{untagged} of {reviewed} reviewed errors carry no category: consider a new "
            "category for what they share"
        )
    for rank in rankings:
        if rank.separated:
            notes.append(
                f"'{rank.above}' ranks above '{rank.below}': their 95% intervals do not overlap"
            )
        elif rank.reviewed_needed is None:
            notes.append(f"'{rank.above}' and '{rank.below}' are tied in this sample")
        else:
            notes.append(
                f"'{rank.above}' and '{rank.below}' cannot be ranked from {reviewed} reviewed "
                f"errors (95% intervals overlap); about {rank.reviewed_needed:,} reviewed errors "
                "would separate them if the shares hold"
            )
    if dev_errors is not None and reviewed == dev_errors:
        notes.append("every dev error was reviewed: the counts are exact, not estimates")
    return notes


def is_mislabeled_category(name: str) -> bool:
    """True for a category that means an incorrect label (e.g. 'mislabeled', 'label noise')."""
    lowered = name.lower()
    return any(word in lowered for word in MISLABELED_WORDS)


def _advice(rows: list[CategoryCeiling], dev_error: float) -> list[str]:
    advice = []
    for row in rows:
        if is_mislabeled_category(row.name) and row.share >= LARGE_MISLABELED_SHARE:
            advice.append(
                f"'{row.name}' is {row.share:.0%} of reviewed errors (up to "
                f"{row.reduction * 100:.1f} points of the {dev_error * 100:.1f}% dev error): "
                "fix the dev and test labels together, so both sets stay from the same "
                "distribution; check examples the model got right as well as its errors. "
                "Random label noise in the training set matters much less."
            )
    if rows and rows[0].count:
        top = rows[0]
        advice.append(
            f"The largest ceiling is '{top.name}': fixing it fully would bring dev error from "
            f"{dev_error * 100:.1f}% to {top.error_after_fix * 100:.1f}% at best."
        )
    return advice


# -- agreement between annotators -------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """Chance-corrected agreement of several annotators on one category."""

    category: str
    method: str
    kappa: float | None
    observed: float
    items: int
    annotators: int

    @property
    def strength(self) -> str:
        """Landis & Koch's words for the kappa ('moderate', ...), or 'undefined'."""
        if self.kappa is None:
            return "undefined"
        for bound, word in KAPPA_SCALE:
            if self.kappa <= bound:
                return word
        return KAPPA_SCALE[-1][1]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "category": self.category,
            "method": self.method,
            "kappa": None if self.kappa is None else clean(self.kappa),
            "strength": self.strength,
            "observed": clean(self.observed),
            "items": self.items,
            "annotators": self.annotators,
        }


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when chance agreement is 1."""
    if len(first) != len(second) or not first:
        raise ValueError("Cohen's kappa needs two equally long, non-empty label lists")
    labels = sorted(set(first) | set(second), key=str)
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for a, b in zip(first, second, strict=True):
        table[index[a], index[b]] += 1
    total = table.sum()
    observed = np.trace(table) / total
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / (total * total)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items × categories table of rater counts (same raters per item).

    None when chance agreement is 1 (every rating in one category).
    """
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)
    if counts.ndim != 2 or counts.shape[0] == 0 or not np.all(raters == raters[0]):
        raise ValueError("Fleiss' kappa needs the same number of raters on every item")
    n = raters[0]
    if n < 2:
        raise ValueError("Fleiss' kappa needs at least two raters per item")
    per_item = ((counts * counts).sum(axis=1) - n) / (n * (n - 1))
    observed = per_item.mean()
    proportions = counts.sum(axis=0) / counts.sum()
    expected = float(proportions @ proportions)
    return None if expected >= 1 else float((observed - expected) / (1 - expected))


def category_agreement(
    annotations: Mapping[str, Mapping[_ExampleId, Collection[str]]],
    categories: Sequence[str],
) -> list[Agreement]:
    """Per category, the agreement of the annotators on the examples all of them reviewed.

    ``annotations`` maps annotator → (example id → categories tagged) over the examples that
    annotator reviewed. Cohen's kappa for two annotators, Fleiss' for three or more.
    """
    names = list(annotations)
    if len(names) < 2:
        raise InputError("agreement needs at least two annotators")
    common = set.intersection(*(set(annotations[a]) for a in names))
    items = sorted(common, key=str)
    result = []
    for category in categories:
        votes = np.array([[category in annotations[a][i] for a in names] for i in items], bool)
        if not items:
            result.append(Agreement(category, _method(names), None, 0.0, 0, len(names)))
            continue
        observed = float(np.mean(votes.all(axis=1) | ~votes.any(axis=1)))
        if len(names) == 2:
            kappa = cohen_kappa(votes[:, 0].tolist(), votes[:, 1].tolist())
        else:
            tagged = votes.sum(axis=1)
            kappa = fleiss_kappa(np.column_stack([tagged, len(names) - tagged]))
        result.append(Agreement(category, _method(names), kappa, observed, len(items), len(names)))
    return result


def _method(names: Sequence[str]) -> str:
    return "cohen" if len(names) == 2 else "fleiss"


def consensus(
    annotations: Mapping[str, Mapping[_ExampleId, Collection[str]]],
) -> dict[_ExampleId, set[str]]:
    """One tag set per example: the categories at least half of its reviewers tagged."""
    reviewers: dict[_ExampleId, int] = {}
    votes: dict[_ExampleId, dict[str, int]] = {}
    for tags in annotations.values():
        for item, carried in tags.items():
            reviewers[item] = reviewers.get(item, 0) + 1
            bucket = votes.setdefault(item, {})
            for name in carried:
                bucket[name] = bucket.get(name, 0) + 1
    return {
        item: {name for name, k in votes[item].items() if 2 * k >= reviewers[item]}
        for item in reviewers
    }
