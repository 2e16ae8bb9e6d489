"""Ceilings (STRATEGY_NOTES §3's worked example), intervals, notes, advice and kappa."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from diagnostics.ceiling import (
    category_agreement,
    ceiling_from_counts,
    ceiling_from_tags,
    cohen_kappa,
    consensus,
    fleiss_kappa,
    reviewed_needed,
)
from diagnostics.metrics import wilson_interval
from diagnostics.validation import InputError

SEED_EXAMPLE = {
    "blurry": 190,
    "multiple objects": 125,
    "unusual angle": 90,
    "mislabeled": 60,
    "rare class": 35,
}


def test_seed_example_error_after_fix():
    ceiling = ceiling_from_counts(SEED_EXAMPLE, 500, 0.10)
    rows = ceiling.categories
    assert [r.name for r in rows] == list(SEED_EXAMPLE)
    assert [round(r.error_after_fix, 4) for r in rows] == [0.062, 0.075, 0.082, 0.088, 0.093]
    assert [round(r.reduction, 4) for r in rows] == [0.038, 0.025, 0.018, 0.012, 0.007]
    assert rows[0].share == pytest.approx(0.38)
    data = ceiling.to_dict()
    assert data["dev_error"] == 0.1 and data["reviewed"] == 500
    assert set(data["categories"][0]) >= {
        "name",
        "count",
        "share",
        "reduction",
        "error_after_fix",
        "interval",
    }


def test_intervals_are_wilson_and_extrapolated():
    ceiling = ceiling_from_counts({"blurry": 38}, 100, 0.10, dev_errors=2000)
    row = ceiling.categories[0]
    low, high = wilson_interval(0.38, 100)
    assert row.interval == pytest.approx((low, high))
    assert 0.28 < low < 0.38 < high < 0.48
    assert row.estimated_dev_errors == pytest.approx((760, low * 2000, high * 2000))
    assert row.error_after_fix_interval == pytest.approx((0.1 * (1 - high), 0.1 * (1 - low)))


def test_ranking_notes():
    ceiling = ceiling_from_counts(SEED_EXAMPLE, 500, 0.10)
    first, second = ceiling.rankings[:2]
    assert first.separated and first.reviewed_needed is None
    assert not second.separated and second.reviewed_needed > 500
    assert any("cannot be ranked" in note for note in ceiling.notes)
    # the estimate is right: at that size the intervals separate, one fewer they do not
    n = second.reviewed_needed
    assert wilson_interval(0.25, n)[0] > wilson_interval(0.18, n)[1]
    assert wilson_interval(0.25, n - 1)[0] <= wilson_interval(0.18, n - 1)[1]
    assert reviewed_needed(0.2, 0.2) is None


def test_mislabeled_advice_only_when_large():
    large = ceiling_from_counts({"mislabeled": 30, "blurry": 40}, 100, 0.05)
    assert any("fix the dev and test labels together" in a for a in large.advice)
    small = ceiling_from_counts({"label noise": 3, "blurry": 40}, 100, 0.05)
    assert not any("labels together" in a for a in small.advice)


def test_multi_label_counts_from_tags():
    tags = {
        "a": {"blurry", "mislabeled"},
        "b": {"blurry"},
        "c": set(),
        "d": {"rare class"},
    }
    ceiling = ceiling_from_tags(tags, 0.2, categories=["blurry", "mislabeled", "unusual angle"])
    counts = {r.name: r.count for r in ceiling.categories}
    assert counts == {"blurry": 2, "mislabeled": 1, "rare class": 1, "unusual angle": 0}
    assert ceiling.reviewed == 4 and ceiling.untagged == 1
    assert sum(r.share for r in ceiling.categories) > 1 - ceiling.untagged / 4


def test_reviewed_ids_and_tagging_counts_as_review():
    tags = {"a": {"blurry"}, "b": set(), "c": set()}
    ceiling = ceiling_from_tags(tags, 0.1, reviewed_ids=["b"])
    assert ceiling.reviewed == 2 and ceiling.untagged == 1


@pytest.mark.parametrize(
    ("counts", "reviewed", "dev_error", "message"),
    [
        ({"a": 5}, 0, 0.1, "at least 1"),
        ({"a": 11}, 10, 0.1, "between 0 and"),
        ({"a": -1}, 10, 0.1, "between 0 and"),
        ({"a": 1}, 10, 1.5, "between 0% and 100%"),
    ],
)
def test_bad_counts_are_refused(counts, reviewed, dev_error, message):
    with pytest.raises(InputError, match=message):
        ceiling_from_counts(counts, reviewed, dev_error)


def test_cohen_kappa_textbook():
    # Wikipedia's example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15 → κ = 0.4
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, 200).tolist(), rng.integers(0, 3, 200).tolist()
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([1, 1], [1, 1]) is None


def test_fleiss_kappa_textbook():
    # Fleiss (1971) as given by Wikipedia: 10 subjects, 14 raters, 5 categories → κ ≈ 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(np.array(table)) == pytest.approx(0.20993, abs=1e-4)
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa(np.array([[1, 1], [3, 0]]))


def test_category_agreement_two_and_three_annotators():
    ann = {
        "ana": {"1": {"blurry"}, "2": set(), "3": {"blurry"}, "4": set()},
        "ben": {"1": {"blurry"}, "2": {"blurry"}, "3": {"blurry"}, "4": set(), "5": set()},
    }
    (blurry,) = category_agreement(ann, ["blurry"])
    assert blurry.method == "cohen" and blurry.items == 4
    assert blurry.kappa == pytest.approx(cohen_kappa([1, 0, 1, 0], [1, 1, 1, 0]))
    assert blurry.observed == pytest.approx(0.75)
    ann["cem"] = {"1": {"blurry"}, "2": set(), "3": set(), "4": set()}
    (blurry,) = category_agreement(ann, ["blurry"])
    assert blurry.method == "fleiss" and blurry.annotators == 3
    votes = np.array([[3, 0], [1, 2], [2, 1], [0, 3]])
    assert blurry.kappa == pytest.approx(fleiss_kappa(votes))
    assert consensus(ann) == {"1": {"blurry"}, "2": set(), "3": {"blurry"}, "4": set(), "5": set()}
