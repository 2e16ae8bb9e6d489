"""Evidence beside the tagging sheet, without the UI: suggestions a person confirms.

Three searches look at a version's dev errors: where they concentrate (significant slices,
:func:`strategy_app.diagnose.service.error_slices`), which labels are likely wrong
(:func:`diagnostics.label_issues.find_label_issues`, from ``prob_<class>`` columns) and which
images are blurry, dark, nearly blank or near-duplicates (:mod:`diagnostics.image_flags`). What
they say about the sampled examples becomes *suggestions*, saved apart from the tags
(:mod:`strategy_app.store.suggestions`): only a person's *accept* turns one into a tag, so the
ceiling counts confirmed tags only. Per kind, the share people confirmed is the suggestion's
precision on the project.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
import pandas as pd

from diagnostics.errors import example_ids
from diagnostics.formats import file_columns
from diagnostics.image_flags import ImageFlags, flag_images
from diagnostics.label_issues import LabelIssues, find_label_issues, probability_columns
from diagnostics.slices import SliceSearch
from diagnostics.suggestions import (
    KIND_LABELS,
    Suggestion,
    confirmation_rates,
    example_suggestions,
    suggestion_column,
)
from diagnostics.validation import InputError
from strategy_app.auth import User
from strategy_app.diagnose.service import error_slices, slice_columns
from strategy_app.errors.service import (
    ID,
    INPUT,
    check_tagger_as,
    images_here,
    is_image_path,
    project_of,
)
from strategy_app.store import ModelVersion, Store, one_transaction
from strategy_app.store.audit import SUGGESTION_DECISION, TAG_EDIT, audit_row
from strategy_app.store.diagnose_state import DiagnoseState
from strategy_app.store.labels import LabelEdit, LabelSnapshot, Review, Sample
from strategy_app.store.suggestions import ACCEPTED, DISMISSED, StoredSuggestion
from strategy_app.versions.service import VersionFile, file_of, read_file, read_version

ALL_EXAMPLES, ANY_SUGGESTION, CARRIED_OVER = "all examples", "with a suggestion", "carried over"
UNREADABLE_NAMED = 5  # unreadable images named one by one; the rest are counted


@dataclass(frozen=True)
class Evidence:
    """What the three searches found for a version (None: that search had nothing to look at);
    ``problems`` are one-line reasons a search could not run (a bad ``prob_`` column, say)."""

    slices: SliceSearch | None = None
    label_issues: LabelIssues | None = None
    image_flags: ImageFlags | None = None
    problems: tuple[str, ...] = ()

    def unreadable_images(self) -> str | None:
        """One line naming the sample's images image-flags could not read (so they have no
        flags), or None when every image was read."""
        found = list(self.image_flags.unreadable.values()) if self.image_flags else []
        if not found:
            return None
        named = "; ".join(found[:UNREADABLE_NAMED])
        more = (
            f"; and {len(found) - UNREADABLE_NAMED} more" if len(found) > UNREADABLE_NAMED else ""
        )
        return (
            f"{len(found)} image(s) of the sample could not be read, so they have no image "
            f"flags: {named}{more} — upload an images zip holding them as PNG or JPEG"
        )


def label_issues_of(store: Store, state: DiagnoseState) -> LabelIssues | None:
    """Likely label errors among a version's dev rows; None without ``prob_`` columns (or for
    typed levels). Raises InputError when the probabilities are refused."""
    file = file_of(store, state)
    return None if file is None else _label_issues(file)


@lru_cache(maxsize=8)
def _label_issues(file: VersionFile) -> LabelIssues | None:
    columns = probability_columns(file_columns(file.path))
    if not columns:
        return None
    predictions = read_file(file, tuple(columns))
    if predictions.metric != "error" or not (predictions.frame["split"] == "dev").any():
        return None
    return find_label_issues(predictions, split="dev")


def image_flags_of(root: str | None, sample: Sample) -> ImageFlags | None:
    """Image flags of the sample's images under ``root`` (None when the inputs are no images or
    there is no images folder); images that cannot be read are left out, one by one (listed in
    the result's ``unreadable``), and the others still flagged."""
    paths = tuple(p for p in sample.examples[INPUT].tolist() if is_image_path(p))
    return None if root is None or not paths else _image_flags(root, paths)


@lru_cache(maxsize=16)
def _image_flags(root: str, paths: tuple[str, ...]) -> ImageFlags:
    """Flags of images under ``root`` (once per folder and paths: image folders never change)."""
    return flag_images(root, list(paths), skip_unreadable=True)


def sample_frame(
    store: Store,
    state: DiagnoseState,
    sample: Sample,
) -> pd.DataFrame:
    """The sample's examples with the version's :func:`slice_columns` (for the slices' masks),
    in order; read as :func:`error_slices` reads them (once per file and columns).

    Examples are matched to the version's dev rows by id (the ``id`` column, else the data
    row number, as the sample was drawn)."""
    examples = sample.examples.copy()
    columns = slice_columns(store, state)
    predictions = read_version(store, state, columns) if columns else None
    if predictions is None:
        return examples
    dev = np.flatnonzero((predictions.frame["split"] == "dev").to_numpy())
    rows = predictions.frame.iloc[dev][columns].set_axis(example_ids(predictions, dev))
    rows = rows[~rows.index.duplicated()]
    wanted = examples[ID].astype(str)
    for column in columns:
        examples[column] = rows[column].reindex(wanted).to_numpy()
    return examples


def offer_suggestions(
    store: Store,
    version: ModelVersion,
    labels: LabelSnapshot,
    evidence: Evidence,
) -> list[StoredSuggestion]:
    """Save what ``evidence`` suggests for the version's sampled examples (decisions kept) and
    return every saved suggestion."""
    sample = labels.sample
    if sample is None:
        return []
    slices = evidence.slices.slices if evidence.slices else []
    frame = sample_frame(store, version.state, sample)
    found = example_suggestions(
        frame,
        label_issues=evidence.label_issues,
        image_flags=evidence.image_flags,
        slices=slices,
    )
    return store.suggestions.offer(version.id, [s for group in found.values() for s in group])


def suggested_texts(stored: Sequence[StoredSuggestion]) -> dict[str, str]:
    """The sheet's *suggested* cell per example id: its open and accepted suggestions
    (accepted ones ``✓ …``; dismissed ones are gone)."""
    found: dict[str, list[Suggestion]] = {}
    for entry in stored:
        if entry.status != DISMISSED:
            found.setdefault(entry.suggestion.id, []).append(entry.suggestion)
    accepted = {(s.suggestion.id, s.suggestion.kind) for s in stored if s.status == ACCEPTED}
    return dict(zip(found, suggestion_column(found, found, accepted), strict=True))


def sheet_filters(
    sample: Sample, stored: Sequence[StoredSuggestion], keep: str | None = None
) -> dict[str, list[str]]:
    """The sheet's *Show* choices and the ids each keeps, in the sample's order: every
    example, those with an open suggestion, each kind of open suggestion (in
    :data:`~diagnostics.suggestions.KIND_LABELS` order), and the carried-over examples.

    ``keep`` (the chosen filter) stays a choice when its last suggestion was decided, empty,
    so the queue stays filtered instead of falling back to every example."""
    open_ = [s.suggestion for s in stored if s.pending]

    def kept(wanted: Collection[str]) -> list[str]:
        return [i for i in sample.ids if i in wanted]

    filters = {ALL_EXAMPLES: sample.ids}
    if open_:
        filters[ANY_SUGGESTION] = kept({s.id for s in open_})
    for kind, label in KIND_LABELS.items():
        ids = {s.id for s in open_ if s.kind == kind}
        if ids:
            filters[label] = kept(ids)
    if sample.carried:
        filters[CARRIED_OVER] = kept(sample.carried)
    if keep is not None and keep not in filters and keep in (ANY_SUGGESTION, *KIND_LABELS.values()):
        filters[keep] = []
    return filters


@one_transaction
def accept(
    store: Store,
    version: ModelVersion,
    example_id: str,
    kind: str,
    annotator: str,
    user: User,
    category: str | None = None,
) -> Review:
    """Turn a suggestion into a tag of ``annotator`` on the example and record it accepted;
    returns the saved review.

    The tag is ``category`` when given (the person's choice), else the suggested category:
    the version's category of that name (ignoring case), added when it has none. ``user`` must
    be an annotator tagging as themself (a signed-in user); the tag edit is audited, with the
    suggested category when another was chosen. Raises
    :class:`~strategy_app.store.labels.Conflict` when the review changed since it was read,
    and InputError when the suggestion is gone or a new category's name is refused.
    """
    check_tagger_as(user, annotator)
    suggested = store.suggestions.get(version.id, example_id, kind).suggestion.category
    name = suggested if category is None else category
    categories = {c.name.lower(): c for c in store.labels.categories(version.id)}
    chosen = categories.get(name.strip().lower()) or store.labels.add_category(version.id, name)
    review = store.labels.review(version.id, example_id, annotator)
    edit = LabelEdit(example_id=example_id, annotator=annotator, add=frozenset({chosen.id}))
    detail = {"annotator": annotator, "added": [chosen.name], "suggestion": kind}
    if chosen.name.lower() != suggested.lower():
        detail["suggested"] = suggested
    project = project_of(store, version.id)
    audit = partial(audit_row, user.identity, TAG_EDIT, project, example_id, detail)
    saved = store.labels.save_edit(version.id, edit, review.version, audit)
    store.suggestions.decide(version.id, example_id, kind, ACCEPTED, annotator or user.identity)
    return saved


def category_choices(
    categories: Sequence[str], suggestions: Sequence[StoredSuggestion]
) -> tuple[list[str], list[str]]:
    """What an accepted suggestion may become: the version's categories and the suggested
    ones it has not yet (each name once, ignoring case), and per suggestion the default, its
    own category (spelled as the version's category of that name, when there is one)."""
    known = {name.lower(): name for name in categories}
    defaults = [
        known.get(s.suggestion.category.lower(), s.suggestion.category) for s in suggestions
    ]
    options = list(categories)
    for name in defaults:
        if name.lower() not in {o.lower() for o in options}:
            options.append(name)
    return options, defaults


@one_transaction
def dismiss(
    store: Store, version: ModelVersion, example_id: str, kind: str, annotator: str, user: User
) -> None:
    """Record that a person judged a suggestion wrong (it leaves the sheet; it counts against
    the kind's precision). ``user`` must be an annotator tagging as themself; audited."""
    check_tagger_as(user, annotator)
    store.suggestions.decide(version.id, example_id, kind, DISMISSED, annotator or user.identity)
    detail = {"annotator": annotator, "dismissed": kind}
    store.audit.record(user.identity, SUGGESTION_DECISION, version.project_id, example_id, detail)


def precision_rows(store: Store, project_id: int) -> list[dict]:
    """Per suggestion kind, over every version of the project: shown, accepted, dismissed and
    the precision people measured (accepted / judged), for display."""
    stored = store.suggestions.of_project(project_id)

    def key(entry: StoredSuggestion) -> tuple[str, str]:
        return f"{entry.version_id}/{entry.suggestion.id}", entry.suggestion.kind

    shown = [
        Suggestion(key(s)[0], s.suggestion.kind, s.suggestion.text, s.suggestion.category)
        for s in stored
    ]
    rates = confirmation_rates(
        shown,
        [key(s) for s in stored if s.status == ACCEPTED],
        [key(s) for s in stored if s.status == DISMISSED],
    )
    return [
        {
            "suggestion": KIND_LABELS.get(kind, kind),
            "shown": entry["shown"],
            "accepted": entry["accepted"],
            "dismissed": entry["rejected"],
            "precision": None if entry["precision"] is None else f"{entry['precision']:.0%}",
        }
        for kind, entry in sorted(rates.items())
    ]


def version_evidence(
    store: Store,
    version: ModelVersion,
    labels: LabelSnapshot,
) -> Evidence:
    """Run the three searches on a version (each once per file, or per images folder); a
    search that cannot run gives its reason in ``problems`` and nothing else."""
    sample = labels.sample
    searches: dict[str, Callable[[], object]] = {
        "slices": lambda: error_slices(store, version.state),
        "label_issues": lambda: label_issues_of(store, version.state),
        "image_flags": lambda: (
            None
            if sample is None
            else image_flags_of(images_here(store, labels.images_root), sample)
        ),
    }
    problems = []
    found: dict = {}
    for name, search in searches.items():
        try:
            found[name] = search()
        except InputError as exc:
            problems.append(str(exc))
    return Evidence(**found, problems=tuple(problems))
