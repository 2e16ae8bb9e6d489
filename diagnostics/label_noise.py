"""How much of a held-out split's error may be label error, and when that estimate holds.

The share of wrong labels in a split is cleanlab's confident-learning count
(``cleanlab.count.num_label_issues``, Northcutt et al., JAIR 2021) over the split's size, with a
percentile bootstrap 95% interval over its examples; it is shown as a band on the split's bar
("up to X points of this error may be label error", X the interval's top).

Confident learning needs *out-of-sample* probabilities from the distribution the split comes
from. Under distribution shift (a measured data-mismatch gap), a model trained on another
distribution errs systematically on unfamiliar inputs, and those errors look like label errors
(on a shifted dev set, 46 of 1,000 flagged and 4 of them truly mislabeled). So, under shift:
where the split's features are at hand, the probabilities come from a scikit-learn model
cross-validated on the split itself (every example scored by a model that never saw it); else
the estimate is marked unreliable and no "likely mislabeled" example is offered.
``bench/label_noise.py`` measures the precision of what is offered on planted noise, with and
without a planted shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from diagnostics.floor import percentile_interval

CV_FOLDS = 5
BOOTSTRAP_DRAWS = 200
FILE_PROBABILITIES = "the file's prob_<class> columns"
CV_PROBABILITIES = (
    "{folds}-fold cross-validated probabilities of a logistic regression on the split's own "
    "features"
)
UNRELIABLE = (
    "unreliable under distribution shift (a measured data-mismatch gap): the file's "
    "probabilities come from a model trained on another distribution, whose errors on "
    "unfamiliar inputs look like label errors; give the split's features to cross-validate on "
    "the split itself. No example is offered as likely mislabeled"
)
UNMEASURED_SHIFT = (
    "the data mismatch is not measured (no train-dev level): if this split comes from another "
    "distribution than training, the estimate is unreliable"
)


@dataclass(frozen=True)
class LabelNoise:
    """The estimated share of wrong labels in one split, its 95% interval and how it was made.

    ``flagged`` holds the positions (in the split's rows) offered as likely mislabeled; empty
    when ``offered`` is False (the estimate is unreliable, so nothing is offered).
    """

    split: str
    n: int
    share: float
    low: float
    high: float
    probabilities: str
    reliable: bool
    offered: bool
    note: str = ""
    flagged: list[int] = field(default_factory=list)

    def band_text(self) -> str:
        """The words beside the split's bar."""
        return f"up to {self.high * 100:.1f} points of this error may be label error"

    def to_dict(self, ids: list[str] | None = None) -> dict[str, object]:
        """One split of ``label_noise`` in ``diagnose --annotations --json`` (``ids``: the ids
        of the flagged examples, where the caller knows them)."""
        return {
            "share": self.share,
            "interval": [self.low, self.high],
            "n": self.n,
            "band": self.band_text(),
            "probabilities": self.probabilities,
            "reliable": self.reliable,
            "offered": self.offered,
            "flagged": len(self.flagged) if self.offered else None,
            "likely_mislabeled": ids if self.offered else None,
            "note": self.note or None,
        }


def present_classes(
    given: np.ndarray, probabilities: np.ndarray
) -> tuple[np.ndarray, npt.NDArray[np.float64]]:
    """The labels renumbered over the classes present, and the probabilities of those classes
    renormalized (cleanlab needs every class among the labels)."""
    present = np.unique(given)
    sub = probabilities[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    return np.searchsorted(present, given), sub


def cross_validated_probabilities(
    features: np.ndarray, given: np.ndarray, n_classes: int, *, seed: int = 0
) -> npt.NDArray[np.float64] | None:
    """Out-of-sample class probabilities for every row, from a standardized logistic regression
    cross-validated on these rows alone; None when a class has too few rows for two folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    present, counts = np.unique(given, return_counts=True)
    folds = min(CV_FOLDS, int(counts.min()))
    if folds < 2 or len(present) < 2:
        return None
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    found = cross_val_predict(model, features, given, cv=splitter, method="predict_proba")
    result = np.zeros((len(given), n_classes))
    result[:, present] = found
    return result


def _issue_count(labels: np.ndarray, probabilities: np.ndarray) -> int:
    from cleanlab.count import num_label_issues

    if len(np.unique(labels)) < 2:
        return 0
    local, sub = present_classes(labels, probabilities)
    return int(num_label_issues(local, sub))


def estimate_label_noise(
    split: str,
    given: np.ndarray,
    probabilities: np.ndarray | None,
    *,
    features: np.ndarray | None = None,
    shift: bool | None = False,
    n_classes: int | None = None,
    seed: int = 0,
    draws: int = BOOTSTRAP_DRAWS,
) -> LabelNoise | None:
    """The label noise of one split from its labels (class codes) and probabilities.

    ``shift`` is True when a data-mismatch gap was measured, None when it could not be measured;
    ``n_classes`` is the number of classes when there are no probabilities (default: from the
    labels).
    With ``features``, the probabilities are cross-validated on the split itself whenever the
    file's cannot be trusted (shift) or are absent. None when there are no probabilities to use.
    """
    from cleanlab.filter import find_label_issues

    if probabilities is not None:
        n_classes = probabilities.shape[1]
    elif n_classes is None:
        n_classes = int(given.max()) + 1
    source, reliable, note = FILE_PROBABILITIES, True, ""
    if features is not None and (shift or probabilities is None):
        cross = cross_validated_probabilities(features, given, n_classes, seed=seed)
        if cross is not None:
            probabilities, source = cross, CV_PROBABILITIES.format(folds=CV_FOLDS)
            shift = False  # the split's own distribution
    if probabilities is None:
        return None
    if shift:
        reliable, note = False, UNRELIABLE
    elif shift is None and source == FILE_PROBABILITIES:
        note = UNMEASURED_SHIFT
    n = len(given)
    count = _issue_count(given, probabilities)
    rng = np.random.default_rng(seed)
    shares = [
        _issue_count(given[pick], probabilities[pick]) / n
        for pick in (rng.integers(0, n, n) for _ in range(draws))
    ]
    low, high = percentile_interval(shares)
    flagged: list[int] = []
    if reliable and len(np.unique(given)) >= 2:
        local, sub = present_classes(given, probabilities)
        flagged = [
            int(i)
            for i in find_label_issues(
                local, sub, return_indices_ranked_by="self_confidence", n_jobs=1
            )
        ]
    share = count / n
    return LabelNoise(
        split=split,
        n=n,
        share=share,
        low=min(low, share),
        high=max(high, share),
        probabilities=source,
        reliable=reliable,
        offered=reliable,
        note=note,
        flagged=flagged,
    )
