"""Benchmark: precision and recall of "likely mislabeled" on planted label noise, with and without
a planted distribution shift.

Digits (scikit-learn's 1,797 8×8 images): a logistic regression trained on half of them gives
the file's probabilities for the other half, the dev split, in which 5% of the labels are
flipped to another class. Without shift, dev looks like training; with the planted shift, dev's
images are moved one pixel right and blurred, so the model trained on the originals errs on
many of them, confidently. Each case goes through :func:`diagnostics.label_noise.
estimate_label_noise` as the desk runs it (``shift`` as the waterfall measures it, the dev
features given for the cross-validation); the anchor, run in the same process, is what the desk
offered before: cleanlab on the file's probabilities whatever the shift. Precision and recall
are of the offered flags against the planted flips, summed over SEEDS seeds; the estimated
share is the mean over seeds, against the 5% planted.

Run: ``python bench/label_noise.py [SEEDS]`` (default 5; under a minute on 2 cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/label_noise.py`

import numpy as np
from scipy.ndimage import gaussian_filter, shift
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from diagnostics.label_noise import estimate_label_noise, present_classes

FLIP_SHARE = 0.05


def shifted(images: np.ndarray) -> np.ndarray:
    """The 8×8 images moved one pixel right and blurred (the planted shift)."""
    moved = np.stack([shift(gaussian_filter(i.reshape(8, 8), 0.6), (0, 1)) for i in images])
    return moved.reshape(len(images), 64)


def case(seed: int, planted_shift: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[int]]:
    """Dev's given labels, the file's probabilities, dev's features and the planted flips."""
    digits = load_digits()
    x, y = digits.data / 16, digits.target
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train, dev = order[: len(y) // 2], order[len(y) // 2 :]
    model = LogisticRegression(C=10.0, max_iter=3000).fit(x[train], y[train])
    features = shifted(x[dev]) if planted_shift else x[dev]
    given = y[dev].copy()
    flips = rng.choice(len(dev), size=round(FLIP_SHARE * len(dev)), replace=False)
    for i in flips:
        given[i] = rng.choice([c for c in range(10) if c != given[i]])
    return given, model.predict_proba(features), features, {int(i) for i in flips}


def scores(flagged: list[int], planted: set[int]) -> tuple[int, int, int]:
    """(true flags, flags, planted)."""
    return len(set(flagged) & planted), len(flagged), len(planted)


def main() -> None:
    """Print precision and recall of what the desk offers, and of the anchor, per case."""
    from cleanlab.filter import find_label_issues

    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"Likely mislabeled on digits dev (5% planted flips), {seeds} seeds summed")
    header = f"{'case':<12}{'method':<46}{'precision':>10}{'recall':>8}{'share':>8}"
    print(header)
    for planted_shift in (False, True):
        ours, anchor, shares, offered_any = np.zeros(3), np.zeros(3), [], False
        for seed in range(seeds):
            given, probabilities, features, planted = case(seed, planted_shift)
            found = estimate_label_noise(
                "dev", given, probabilities, features=features, shift=planted_shift, seed=seed
            )
            assert found is not None
            shares.append(found.share)
            offered_any |= found.offered
            ours += scores(found.flagged if found.offered else [], planted)
            local, sub = present_classes(given, probabilities)
            before = find_label_issues(local, sub, n_jobs=1)
            anchor += scores([int(i) for i in np.flatnonzero(before)], planted)
        if planted_shift:  # the same without the features: unreliable, nothing offered
            blind = estimate_label_noise("dev", given, probabilities, shift=True, seed=seed)
            assert blind is not None and not blind.offered and not blind.reliable
            print(
                f"{'shift':<12}{'file probs, no features: nothing offered':<46}{'—':>10}{'0%':>8}"
            )
        label = "shift" if planted_shift else "no shift"
        method = found.probabilities if offered_any else "nothing offered"
        for name, (hits, flags, total) in (
            (method, ours),
            ("anchor: cleanlab, file's probs", anchor),
        ):
            precision = f"{hits / flags:.0%}" if flags else "—"
            print(
                f"{label:<12}{name[:45]:<46}{precision:>10}{hits / total:>8.0%}"
                + (f"{np.mean(shares):>8.1%}" if name == method else "")
            )


if __name__ == "__main__":
    main()
