"""Tags spread to the rest of dev, as an estimate (STRATEGY_NOTES §3, issue 29).

The sample's share extrapolates each category to every dev error from the reviewed ones alone.
The embeddings of the other dev errors say more: per category, a logistic regression over the
embeddings learns the reviewed errors' tags, and its predictions on the unreviewed errors count
how many belong to the category. A classifier is not exact, so the count is corrected for its
sensitivity (recall) and false-positive rate measured by stratified cross-validation on the
reviewed errors (Rogan & Gladen's misclassification correction). The fold models whose rates
were measured are the ones that count the unreviewed errors (their mean count), so the rates
and the count belong to the same classifiers:

    prevalence = (predicted share − false-positive rate) / (recall − false-positive rate)

clipped to 0–1, and ``estimate = tagged reviewed errors + prevalence × unreviewed errors``.
The 95% interval comes from a bootstrap that resamples the reviewed errors' cross-validated
predictions (so recall and false-positive rate vary as measured) and the predicted count
(binomially). The reviewed errors are a random sample of the dev errors, so the rates measured
on them hold for the rest.

A category gets no estimate (a reason instead) with fewer than :data:`MIN_EACH` tagged or
untagged reviewed errors, or a classifier no better than chance (recall − false-positive rate
below :data:`MIN_YOUDEN`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from diagnostics.ceiling import CategoryCeiling, Ceiling, ceiling_from_counts
from diagnostics.similar import DevEmbeddings
from diagnostics.validation import InputError

MIN_EACH = 3
MIN_YOUDEN = 0.2
FOLDS = 5
BOOTSTRAP = 2000
MAX_FEATURES = 32  # the classifier sees at most this many PCA components of the embeddings


@dataclass(frozen=True)
class SpreadEstimate:
    """One category's count among all dev errors, from the classifier (or why there is none)."""

    category: str
    tagged: int
    reviewed: int
    unreviewed: int
    value: float | None = None
    low: float | None = None
    high: float | None = None
    recall: float | None = None
    precision: float | None = None
    false_positive_rate: float | None = None
    predicted: int | None = None
    reason: str = ""

    @property
    def width(self) -> float | None:
        """The interval's width (None without an estimate)."""
        return None if self.low is None or self.high is None else self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        """JSON form (counts rounded to 0.1, rates to 4 decimals)."""

        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(float(value), digits)

        return {
            "category": self.category,
            "tagged": self.tagged,
            "reviewed": self.reviewed,
            "unreviewed": self.unreviewed,
            "value": rounded(self.value, 1),
            "low": rounded(self.low, 1),
            "high": rounded(self.high, 1),
            "recall": rounded(self.recall, 4),
            "precision": rounded(self.precision, 4),
            "false_positive_rate": rounded(self.false_positive_rate, 4),
            "predicted": self.predicted,
            "reason": self.reason,
        }


def corrected_prevalence(predicted_share: float, recall: float, false_positive: float) -> float:
    """Rogan–Gladen: the true share from the predicted share and the classifier's rates,
    clipped to 0–1 (NaN when recall equals the false-positive rate).

    >>> round(corrected_prevalence(0.31, 0.8, 0.1), 3)
    0.3
    """
    gap = recall - false_positive
    if gap <= 0:
        return float("nan")
    return float(np.clip((predicted_share - false_positive) / gap, 0.0, 1.0))


def reduce_features(vectors: npt.ArrayLike, limit: int = MAX_FEATURES) -> npt.NDArray[np.float64]:
    """At most ``limit`` principal components of the rows (standardized), so a classifier with
    few tagged rows sees few dimensions (more dimensions than rows are reduced too)."""
    from sklearn.decomposition import PCA

    array = np.asarray(vectors, dtype=np.float64)
    components = min(limit, array.shape[1], max(array.shape[0] - 1, 1))
    if components < array.shape[1]:
        array = PCA(components, random_state=0).fit_transform(array)
    scale = array.std(axis=0)
    centred: npt.NDArray[np.float64] = (array - array.mean(axis=0)) / np.where(scale > 0, scale, 1)
    return centred


def spread_estimates(
    features: npt.ArrayLike,
    reviewed: npt.ArrayLike,
    tags: Mapping[str, npt.ArrayLike],
    *,
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> list[SpreadEstimate]:
    """Per category of ``tags`` (name → True per row where a reviewed row carries it), the
    estimated count among all rows (dev errors) of ``features`` (:func:`reduce_features`);
    ``reviewed`` marks the rows reviewed (the sample's). Seeded: same input, same result."""
    x = np.asarray(features, dtype=np.float64)
    seen = np.asarray(reviewed, dtype=bool)
    if seen.shape != (len(x),):
        raise InputError("one 'reviewed' flag per dev error is needed")
    rng = np.random.default_rng(seed)
    return [
        _estimate(name, x, seen, np.asarray(flags, dtype=bool) & seen, rng, bootstrap)
        for name, flags in tags.items()
    ]


def _estimate(
    name: str,
    x: npt.NDArray[np.float64],
    seen: npt.NDArray[np.bool_],
    positive: npt.NDArray[np.bool_],
    rng: np.random.Generator,
    bootstrap: int,
) -> SpreadEstimate:
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    tagged, reviewed = int(positive.sum()), int(seen.sum())
    unreviewed = len(x) - reviewed
    base = SpreadEstimate(name, tagged, reviewed, unreviewed)
    if unreviewed == 0:
        return _replace(base, value=tagged, low=tagged, high=tagged, reason="every error reviewed")
    if min(tagged, reviewed - tagged) < MIN_EACH:
        return _replace(
            base,
            reason=f"needs at least {MIN_EACH} tagged and {MIN_EACH} untagged reviewed errors",
        )
    y = positive[seen]
    model = LogisticRegression(class_weight="balanced", max_iter=2000)
    folds = StratifiedKFold(min(FOLDS, tagged, reviewed - tagged), shuffle=True, random_state=0)
    reviewed_x, others = x[seen], x[~seen]
    held_out = np.zeros(len(y), bool)
    votes = np.zeros(len(others))
    for train, test in folds.split(reviewed_x, y):
        fitted = clone(model).fit(reviewed_x[train], y[train])
        held_out[test] = fitted.predict(reviewed_x[test]).astype(bool)
        votes += fitted.predict(others).astype(bool)
    recall = float(held_out[y].mean())
    false_positive = float(held_out[~y].mean())
    precision = float(y[held_out].mean()) if held_out.any() else 0.0
    rates = {"recall": recall, "false_positive_rate": false_positive, "precision": precision}
    if recall - false_positive < MIN_YOUDEN:
        reason = (
            f"the classifier is barely better than chance on the reviewed errors (recall "
            f"{recall:.0%}, false positives {false_positive:.0%})"
        )
        return _replace(base, reason=reason, **rates)
    # the fold models, whose rates were measured, count the unreviewed (their mean count)
    predicted = round(votes.sum() / folds.get_n_splits())
    share = predicted / unreviewed
    value = tagged + unreviewed * corrected_prevalence(share, recall, false_positive)
    draws = _bootstrap(y, held_out, predicted, unreviewed, rng, bootstrap)
    low, high = (tagged + unreviewed * q for q in np.nanpercentile(draws, [2.5, 97.5]))
    return _replace(
        base,
        value=value,
        low=float(min(low, value)),
        high=float(max(high, value)),
        predicted=predicted,
        **rates,
    )


def _bootstrap(
    y: npt.NDArray[np.bool_],
    held_out: npt.NDArray[np.bool_],
    predicted: int,
    unreviewed: int,
    rng: np.random.Generator,
    rounds: int,
) -> npt.NDArray[np.float64]:
    """Corrected prevalences over resampled (truth, prediction) pairs and predicted counts."""
    n = len(y)
    picks = rng.integers(0, n, size=(rounds, n))
    truth, guess = y[picks], held_out[picks]
    positives = truth.sum(axis=1)
    negatives = n - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = (truth & guess).sum(axis=1) / positives
        false_positive = (~truth & guess).sum(axis=1) / negatives
        share = rng.binomial(unreviewed, predicted / unreviewed, size=rounds) / unreviewed
        gap = recall - false_positive
        prevalence: npt.NDArray[np.float64] = np.clip((share - false_positive) / gap, 0.0, 1.0)
    prevalence[~(gap > 0)] = np.nan
    return prevalence


def _replace(base: SpreadEstimate, **changes: Any) -> SpreadEstimate:
    return replace(base, **changes)


def tag_matrix(
    ids: Sequence[str], tags: Mapping[str, set[str] | frozenset[str]], categories: Sequence[str]
) -> dict[str, npt.NDArray[np.bool_]]:
    """Per category, True for each of ``ids`` whose tags (example id → categories) hold it."""
    return {name: np.array([name in tags.get(i, ()) for i in ids], bool) for name in categories}


def more_precise(sample_width: float | None, spread_width: float | None) -> str:
    """Which estimate of a category's count has the narrower 95% interval: ``spread``,
    ``sample`` or ``""`` (one of them missing)."""
    if sample_width is None or spread_width is None:
        return ""
    return "spread" if spread_width < sample_width else "sample"


def spread_ceiling(
    ceiling: Ceiling,
    dev: DevEmbeddings,
    tags: Mapping[str, Collection[str]],
    *,
    seed: int = 0,
    source: str = "the predictions",
) -> Ceiling:
    """``ceiling`` with each category's spread estimate beside the sample's extrapolation.

    ``tags`` maps each reviewed example id (dev errors of ``dev``) to its categories (the
    consensus, as the ceiling counts them). Adds the number of dev errors when the ceiling
    lacks it, and a note on the method and which estimate is more precise.
    """
    error_ids = dev.error_ids
    where = {example: i for i, example in enumerate(error_ids)}
    outside = [str(i) for i in tags if str(i) not in where]
    if outside:
        raise InputError(
            f"{len(outside)} reviewed id{'s' * (len(outside) > 1)} (e.g. '{outside[0]}') "
            f"{'are' if len(outside) > 1 else 'is'} not a dev error of {source}; the spread "
            "estimate needs the tags of the same predictions' errors"
        )
    reviewed = np.zeros(len(error_ids), bool)
    reviewed[[where[str(i)] for i in tags]] = True
    names = [row.name for row in ceiling.categories]
    matrix = tag_matrix(error_ids, {str(i): set(t) for i, t in tags.items()}, names)
    estimates = spread_estimates(reduce_features(dev.error_vectors()), reviewed, matrix, seed=seed)
    if ceiling.dev_errors is None:
        counts = {row.name: row.count for row in ceiling.categories}
        ceiling = ceiling_from_counts(
            counts,
            ceiling.reviewed,
            ceiling.dev_error,
            untagged=ceiling.untagged,
            dev_errors=len(error_ids),
        )
    by_name = {e.category: e for e in estimates}
    rows = [replace(row, spread=by_name[row.name]) for row in ceiling.categories]
    return replace(ceiling, categories=rows, notes=[*ceiling.notes, *_spread_notes(rows, dev)])


def _spread_notes(rows: Sequence[CategoryCeiling], dev: DevEmbeddings) -> list[str]:
    made = [row for row in rows if row.spread is not None and row.spread.value is not None]
    notes = [
        "Spread to all dev errors: a logistic regression per category over the embeddings "
        f"({dev.embeddings.method}) counts the unreviewed errors, corrected for its recall and "
        "false-positive rate measured by cross-validation on the reviewed ones (95% bootstrap "
        "interval)"
    ]
    tighter = [row.name for row in made if row.more_precise == "spread"]
    if made:
        notes.append(
            f"The spread estimate is more precise (narrower interval) than the sample's "
            f"extrapolation for {len(tighter)} of {len(made)} categories"
            + (f": {', '.join(tighter)}" if tighter else "")
        )
    for row in rows:
        if row.spread is not None and row.spread.value is None:
            notes.append(f"No spread estimate for '{row.name}': {row.spread.reason}")
    return notes
