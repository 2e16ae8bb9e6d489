"""Suggestions for the tagging sheet: likely mislabeled, image flags, the slice an example is in.

Each sampled example may get suggestions from the three searches (label issues, image flags,
slices). A suggestion names the tag category it would become if a person accepts it; it is
never a tag by itself, so ceilings count only what people confirmed. Per kind, the share of
judged suggestions (accepted or dismissed) that people accepted is its precision.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from diagnostics.image_flags import ImageFlags
from diagnostics.label_issues import LabelIssues
from diagnostics.slices import Slice
from diagnostics.tags import MAX_CATEGORY_NAME

IMAGE_FLAG_TEXT = {
    "blurry": ("blurry", "blurry image"),
    "dark": ("dark", "image too dark"),
    "light": ("too light", "image too light"),
    "low_information": ("low information", "nearly blank image"),
    "near_duplicate": ("near duplicate", "near-duplicate of another image"),
}
MISLABELED_CATEGORY = "mislabeled"
# Each kind of suggestion in words (a filter's and a precision table's), in display order.
KIND_LABELS = {
    "mislabeled": "likely mislabeled",
    **{flag: category for flag, (category, _) in IMAGE_FLAG_TEXT.items()},
    "slice": "in a slice",
}


@dataclass(frozen=True)
class Suggestion:
    """One suggestion for one example: its kind, what to show, the category if accepted."""

    id: str
    kind: str
    text: str
    category: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {"id": self.id, "kind": self.kind, "text": self.text, "category": self.category}


def example_suggestions(
    examples: pd.DataFrame,
    *,
    label_issues: LabelIssues | None = None,
    image_flags: ImageFlags | None = None,
    slices: Sequence[Slice] = (),
) -> dict[str, list[Suggestion]]:
    """The suggestions per example id for a sample (columns ``id``, ``input`` and slice columns).

    ``examples`` is the sampled rows as :func:`diagnostics.errors.error_examples` gives them,
    plus the columns the slices use; image flags match the ``input`` paths.
    """
    ids = examples["id"].astype(str).tolist()
    found: dict[str, list[Suggestion]] = {i: [] for i in ids}
    if label_issues is not None:
        for issue in label_issues.issues:
            if issue.id in found:
                text = f"likely mislabeled → {issue.suggested} (quality {issue.quality:.2f})"
                found[issue.id].append(
                    Suggestion(issue.id, "mislabeled", text, MISLABELED_CATEGORY)
                )
    if image_flags is not None and "input" in examples:
        by_path = {report.path: report for report in image_flags.images}
        for example, path in zip(ids, examples["input"].astype(str), strict=True):
            report = by_path.get(path)
            for flag in report.flags if report else ():
                category, text = IMAGE_FLAG_TEXT[flag]
                found[example].append(Suggestion(example, flag, text, category))
    in_slice: set[str] = set()
    for found_slice in slices:  # best-ranked first: an example gets the first slice it is in
        if not all(p.column in examples for p in found_slice.predicates):
            continue
        inside = found_slice.mask(examples)
        for example, is_in in zip(ids, inside, strict=True):
            if is_in and example not in in_slice:
                in_slice.add(example)
                text = f"in slice {found_slice.label} ({found_slice.lift:.1f}× the rest's rate)"
                found[example].append(
                    Suggestion(example, "slice", text, slice_category(found_slice))
                )
    return found


def slice_category(found: Slice) -> str:
    """The tag category a slice suggestion becomes: ``slice: <label>``, shortened to fit a
    category name."""
    name = f"slice: {found.label}"
    return name if len(name) <= MAX_CATEGORY_NAME else name[: MAX_CATEGORY_NAME - 1] + "…"


def confirmation_rates(
    shown: Iterable[Suggestion],
    accepted: Iterable[tuple[str, str]],
    rejected: Iterable[tuple[str, str]] = (),
) -> dict[str, dict[str, Any]]:
    """Per kind: suggestions shown, accepted and rejected (``(id, kind)`` pairs) and the
    precision people measured, accepted / (accepted + rejected) (None before any judgement)."""
    accepted, rejected = set(accepted), set(rejected)
    rates: dict[str, dict[str, Any]] = {}
    for suggestion in shown:
        entry = rates.setdefault(suggestion.kind, {"shown": 0, "accepted": 0, "rejected": 0})
        key = (suggestion.id, suggestion.kind)
        entry["shown"] += 1
        entry["accepted"] += key in accepted
        entry["rejected"] += key in rejected and key not in accepted
    for entry in rates.values():
        judged = entry["accepted"] + entry["rejected"]
        entry["precision"] = entry["accepted"] / judged if judged else None
    return rates


def suggestion_column(
    found: Mapping[str, list[Suggestion]],
    ids: Iterable[str],
    accepted: Collection[tuple[str, str]] = (),
) -> list[str]:
    """The text of each id's suggestions joined by ``; `` (empty when none): a table column.

    ``accepted`` suggestions (``(id, kind)`` pairs) show as ``✓ …``."""
    return [
        "; ".join(
            f"✓ {s.text}" if (s.id, s.kind) in accepted else s.text for s in found.get(str(i), [])
        )
        for i in ids
    ]
