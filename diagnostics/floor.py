"""A Bayes-error estimate from soft labels: the measured floor under the waterfall.

Ishida et al. (ICLR 2023, "Is the performance of my deep network too good to be true?") show
that the Bayes error of a classification task is the mean over examples of
``1 − max_k P(y = k | x)``; with soft labels (the share of people who chose each class, or
probabilities a user supplies) in place of the true posterior, that mean estimates it without
training a model. The 95% interval is a percentile bootstrap over examples.

Its bias, stated honestly: vote shares from ``k`` people are noisy estimates of the posterior,
and the maximum of noisy shares is biased upwards (Jensen: E[max p̂] ≥ max E[p̂]), so with few
votes per example the floor is biased *low*; one vote gives 0 whatever the task. The bootstrap
covers the sampling of examples, not this bias. ``bench/floor.py`` measures both on Gaussian
classes whose Bayes error is known exactly: with exact soft labels the interval covers at its
nominal 95%, with a handful of votes it does not. Annotators who err more than the task's noise
push the other way (their disagreement reads as ambiguity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from diagnostics.metrics import CONFIDENCE

BOOTSTRAP_DRAWS = 2000
MIN_VOTES = 2  # one vote per example makes every soft label one-hot: the estimate is 0
FEW_VOTES = 10  # below this many votes per example the bias is worth a sentence
SOFT_METHOD = "soft labels {source}: mean of 1 − max soft label (Ishida et al., ICLR 2023)"


@dataclass(frozen=True)
class FloorEstimate:
    """The Bayes-error estimate, its 95% bootstrap interval, the examples behind it and how it
    was made (``votes``: mean votes per example for vote shares, None for supplied soft
    labels; ``bias``: the sentence on its bias, empty when none applies)."""

    estimate: float
    low: float
    high: float
    n: int
    method: str
    votes: float | None = None
    bias: str = ""

    def to_dict(self) -> dict[str, object]:
        """The ``floor`` part of ``diagnose --annotations --json``."""
        return {
            "estimate": self.estimate,
            "interval": [self.low, self.high],
            "n": self.n,
            "method": self.method,
            "votes_per_example": self.votes,
            "bias": self.bias or None,
        }


def soft_label_error(soft: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per example, ``1 − max`` over classes of its soft label (rows of ``soft``)."""
    matrix = np.asarray(soft, dtype=np.float64)
    result: npt.NDArray[np.float64] = 1.0 - matrix.max(axis=1)
    return result


def bootstrap_mean_interval(
    values: npt.ArrayLike, *, draws: int = BOOTSTRAP_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """The percentile bootstrap 95% interval of the mean of ``values`` (resampling them)."""
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(draws)
    chunk = max(1, 4_000_000 // max(len(data), 1))
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        picks = rng.integers(0, len(data), size=(stop - start, len(data)))
        means[start:stop] = data[picks].mean(axis=1)
    return percentile_interval(means)


def percentile_interval(replicates: npt.ArrayLike) -> tuple[float, float]:
    """The percentile bootstrap 95% interval: the 2.5th and 97.5th percentiles of replicates."""
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(np.asarray(replicates, dtype=np.float64), [tail, 1 - tail])
    return float(low), float(high)


def bias_note(votes: float) -> str:
    """The sentence on the estimate's bias with ``votes`` votes per example on average."""
    if votes >= FEW_VOTES:
        return ""
    return (
        f"with {votes:.1f} votes per example the vote shares' maximum is biased up, so this "
        "floor is biased low (optimistic) and its interval covers less than 95% "
        "(bench/floor.py measures by how much); more votes per example shrink the bias"
    )


def soft_label_floor(
    soft: npt.ArrayLike,
    *,
    votes: npt.ArrayLike | None = None,
    source: str = "supplied",
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> FloorEstimate:
    """The floor from soft labels (one row per example, summing to 1) with its interval.

    ``votes`` (how many people labelled each example) marks the soft labels as vote shares:
    examples with fewer than :data:`MIN_VOTES` votes are left out, and the bias note is set.
    Raises ValueError when no example is left.
    """
    matrix = np.asarray(soft, dtype=np.float64)
    counts = None if votes is None else np.asarray(votes, dtype=np.float64)
    if counts is not None:
        matrix, counts = matrix[counts >= MIN_VOTES], counts[counts >= MIN_VOTES]
    if len(matrix) == 0:
        raise ValueError("no example has soft labels (or enough votes) for a floor")
    per_example = soft_label_error(matrix)
    low, high = bootstrap_mean_interval(per_example, draws=draws, seed=seed)
    estimate = float(per_example.mean())
    mean_votes = None if counts is None else float(counts.mean())
    method = SOFT_METHOD.format(source=source) + ", percentile bootstrap 95%"
    return FloorEstimate(
        estimate=estimate,
        low=min(low, estimate),
        high=max(high, estimate),
        n=len(per_example),
        method=method,
        votes=mean_votes,
        bias="" if mean_votes is None else bias_note(mean_votes),
    )
