"""Suggestions for sampled dev errors of the sample file: label issues, image flags, slices."""

from pathlib import Path

import numpy as np

from diagnostics.errors import error_examples, error_positions, sample_errors
from diagnostics.image_flags import flag_images
from diagnostics.ingest import read_predictions
from diagnostics.label_issues import find_label_issues
from diagnostics.slices import find_slices
from diagnostics.suggestions import confirmation_rates, example_suggestions, suggestion_column

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
PROBABILITIES = tuple(f"prob_{k}" for k in range(10))
CONDITIONS = ("off_centre", "contrast", "blur")


def test_suggestions_for_every_dev_error_of_the_sample():
    predictions = read_predictions(
        SAMPLE / "predictions.csv", extra_columns=(*CONDITIONS, *PROBABILITIES)
    )
    positions = error_positions(predictions)
    examples = error_examples(predictions, positions)
    for column in CONDITIONS:
        examples[column] = predictions.frame[column].iloc[positions].to_numpy()
    issues = find_label_issues(predictions)
    flags = flag_images(SAMPLE, examples["input"].tolist())
    slices = find_slices(predictions, columns=list(CONDITIONS)).slices
    found = example_suggestions(examples, label_issues=issues, image_flags=flags, slices=slices)
    assert set(found) == set(examples["id"])
    kinds = {s.kind for suggestions in found.values() for s in suggestions}
    assert {"mislabeled", "slice"} <= kinds
    flagged_errors = {i.id for i in issues.issues} & set(examples["id"])
    assert {i for i, s in found.items() if any(x.kind == "mislabeled" for x in s)} == (
        flagged_errors
    )
    top = slices[0]
    in_top = set(examples["id"][top.mask(examples)])
    assert in_top == {
        i for i, s in found.items() if any(x.category == f"slice: {top.label}" for x in s)
    }
    assert len(in_top) == top.errors  # every error of the slice is in dev's error list
    column = suggestion_column(found, examples["id"])
    assert len(column) == len(examples) and any("likely mislabeled → " in c for c in column)


def test_confirmation_rates_per_kind():
    predictions = read_predictions(SAMPLE / "predictions.csv", extra_columns=PROBABILITIES)
    examples = sample_errors(predictions, 50, seed=1)
    found = example_suggestions(examples, label_issues=find_label_issues(predictions))
    shown = [s for suggestions in found.values() for s in suggestions]
    accepted = [(shown[0].id, "mislabeled")]
    rejected = [(s.id, s.kind) for s in shown[1:3]]
    rates = confirmation_rates(shown, accepted, rejected)
    assert rates["mislabeled"] == {
        "shown": len(shown), "accepted": 1, "rejected": 2, "precision": 1 / 3
    }  # fmt: skip
    assert confirmation_rates(shown, [])["mislabeled"]["precision"] is None


def test_an_example_gets_only_its_best_slice():
    predictions = read_predictions(SAMPLE / "predictions.csv", extra_columns=CONDITIONS)
    positions = error_positions(predictions)
    examples = error_examples(predictions, positions)
    for column in CONDITIONS:
        examples[column] = predictions.frame[column].iloc[positions].to_numpy()
    slices = find_slices(predictions, columns=list(CONDITIONS)).slices
    found = example_suggestions(examples, slices=slices)
    for example, suggestions in found.items():
        kinds = [s.kind for s in suggestions]
        assert kinds.count("slice") <= 1
        inside = [k for k, s in enumerate(slices) if s.mask(examples[examples["id"] == example])[0]]
        if inside:
            assert suggestions[0].category.startswith(f"slice: {slices[inside[0]].label}"[:59])


def test_a_sample_drawn_from_one_slice():
    predictions = read_predictions(SAMPLE / "predictions.csv", extra_columns=CONDITIONS)
    top = find_slices(predictions).slices[0]
    inside = top.mask(predictions.frame)
    examples = sample_errors(predictions, 10, seed=0, within=inside)
    ids = predictions.frame["id"].astype(str)
    assert len(examples) == 10
    assert set(examples["id"]) <= set(ids[inside])
    everything = sample_errors(predictions, 1000, within=inside)
    assert len(everything) == top.errors
    none = sample_errors(predictions, 10, within=np.zeros(len(inside), bool))
    assert none.empty
