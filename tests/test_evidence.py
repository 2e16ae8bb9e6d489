"""Evidence beside the tagging sheet, through the services and a real SQLite store: slices of a
version's dev errors, a slice column made of one, suggestions that are never tags until a
person accepts them, and their precision."""

from pathlib import Path

import pandas as pd
import pytest

from diagnostics.ingest import read_predictions
from diagnostics.suggestions import Suggestion
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER, PermissionDenied, Role, User
from strategy_app.diagnose import service as diagnosing
from strategy_app.errors import evidence
from strategy_app.errors import service as labeling
from strategy_app.report.service import project_inputs
from strategy_app.shell.sample import ensure_sample_project
from strategy_app.store import open_store
from strategy_app.store.labels import LabelEdit
from strategy_app.store.suggestions import ACCEPTED, DISMISSED, PENDING
from strategy_app.versions.service import read_version

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
VIEWER = User(email="v@example.org", name="V", role=Role.VIEWER)


@pytest.fixture
def sampled(data_dir):
    """The sample project with a drawn sample of 100 dev errors, and its evidence."""
    store = open_store()
    pid = ensure_sample_project(store, SAMPLE / "predictions.csv")
    version = store.versions.current(pid)
    predictions = read_version(store, version.state)
    labeling.draw_sample(store, version.id, predictions, 100, seed=0, user=LOCAL_USER)
    labels = store.labels.snapshot(version.id)
    found = evidence.version_evidence(store, version, labels)
    stored = evidence.offer_suggestions(store, version, labels, found)
    yield store, version, found, stored
    store.close()


def test_a_versions_slices_match_the_cli_search(sampled):
    store, version, found, _ = sampled
    search = found.slices
    assert search is not None and search.slices and not found.problems
    path = store.uploads.path(version.state.upload_sha256)
    from diagnostics.slices import find_slices_in_file

    expected = find_slices_in_file(path, columns=search.columns)
    assert [s.to_dict() for s in search.slices] == [s.to_dict() for s in expected.slices]
    assert search.slices[0].error_share > 0.2  # the planted off-centre/contrast slice


def test_suggestions_never_change_tags_or_the_ceiling_until_accepted(sampled):
    store, version, found, stored = sampled
    kinds = {s.suggestion.kind for s in stored}
    assert {"mislabeled", "slice"} <= kinds
    assert all(s.status == PENDING for s in stored)
    labels = store.labels.snapshot(version.id)
    assert not labels.reviews  # nothing tagged by offering suggestions
    summary = labeling.dev_error_summary_of(store, version.state)
    assert labeling.ceiling_for(labels.tag_table(), summary) == (None, [])
    # offering again keeps them (and their decisions) and adds no tags
    again = evidence.offer_suggestions(store, version, labels, found)
    assert [s.suggestion for s in again] == [s.suggestion for s in stored]

    target = next(s for s in stored if s.suggestion.kind == "mislabeled")
    review = evidence.accept(store, version, target.suggestion.id, "mislabeled", "", LOCAL_USER)
    names = {c.id: c.name for c in store.labels.categories(version.id)}
    assert [names[c] for c in review.tags] == ["mislabeled"]
    saved = {
        (s.suggestion.id, s.suggestion.kind): s for s in store.suggestions.of_version(version.id)
    }
    assert saved[(target.suggestion.id, "mislabeled")].status == ACCEPTED
    ceiling, _ = labeling.ceiling_for(store.labels.tag_table(version.id), summary)
    row = next(c for c in ceiling.categories if c.name == "mislabeled")
    assert row.count == 1  # the accepted suggestion, and only it, is a tag
    history = store.audit.history(version.project_id, target.suggestion.id)
    assert history[-1].detail["suggestion"] == "mislabeled"


def test_a_slice_suggestion_adds_its_category(sampled):
    store, version, _, stored = sampled
    target = next(s for s in stored if s.suggestion.kind == "slice")
    before = {c.name for c in store.labels.categories(version.id)}
    assert target.suggestion.category not in before
    evidence.accept(store, version, target.suggestion.id, "slice", "ann", LOCAL_USER)
    after = {c.name for c in store.labels.categories(version.id)}
    assert after == before | {target.suggestion.category}
    table = store.labels.tag_table(version.id)
    assert table.consensus_tags()[target.suggestion.id] == {target.suggestion.category}


def test_precision_per_kind_counts_what_people_judged(sampled):
    store, version, _, stored = sampled
    mislabeled = [s.suggestion.id for s in stored if s.suggestion.kind == "mislabeled"]
    assert len(mislabeled) >= 2
    evidence.accept(store, version, mislabeled[0], "mislabeled", "", LOCAL_USER)
    evidence.dismiss(store, version, mislabeled[1], "mislabeled", "", LOCAL_USER)
    rows = {r["suggestion"]: r for r in evidence.precision_rows(store, version.project_id)}
    assert rows["likely mislabeled"] == {
        "suggestion": "likely mislabeled",
        "shown": len(mislabeled),
        "accepted": 1,
        "dismissed": 1,
        "precision": "50%",
    }
    assert rows["in a slice"]["precision"] is None  # nobody judged one yet
    statuses = {s.suggestion.id: s.status for s in store.suggestions.of_version(version.id)}
    assert statuses[mislabeled[1]] == DISMISSED


def test_a_viewer_can_neither_accept_nor_dismiss(sampled):
    store, version, _, stored = sampled
    target = stored[0].suggestion
    with pytest.raises(PermissionDenied):
        evidence.accept(store, version, target.id, target.kind, VIEWER.email, VIEWER)
    with pytest.raises(PermissionDenied):
        evidence.dismiss(store, version, target.id, target.kind, VIEWER.email, VIEWER)
    annotator = User(email="a@example.org", name="A", role=Role.ANNOTATOR)
    with pytest.raises(PermissionDenied):  # a signed-in annotator tags as themself only
        evidence.accept(store, version, target.id, target.kind, "someone else", annotator)
    assert not store.labels.reviews(version.id)
    assert all(s.pending for s in store.suggestions.of_version(version.id))


def test_a_redraw_drops_the_samples_suggestions(sampled):
    store, version, _, _ = sampled
    predictions = read_version(store, version.state)
    labeling.draw_sample(store, version.id, predictions, 10, seed=3, user=LOCAL_USER)
    assert store.suggestions.of_version(version.id) == []


def test_draw_the_sample_from_one_slice(sampled):
    store, version, found, _ = sampled
    top = found.slices.slices[0]
    sample = labeling.draw_sample(
        store,
        version.id,
        read_version(store, version.state),
        20,
        seed=1,
        user=LOCAL_USER,
        within=top.predicates,
    )
    path = store.uploads.path(version.state.upload_sha256)
    columns = tuple(p.column for p in top.predicates)
    frame = read_predictions(path, extra_columns=columns).frame
    inside = set(frame["id"].astype(str)[top.mask(frame)])
    assert sample.size == 20 and set(sample.ids) <= inside


def test_make_a_slice_column_keeps_the_version_and_its_tags(sampled):
    store, version, found, _ = sampled
    example = store.labels.sample(version.id).ids[0]
    store.labels.save_edit(version.id, LabelEdit(example, "", reviewed=True), 0)
    top = found.slices.slices[0]
    column = diagnosing.add_slice_column(store, version, top, LOCAL_USER)
    assert column == f"in slice: {top.label}"
    after = store.versions.get(version.id)
    assert after.state.slice_column == column and after.number == version.number
    assert after.state.upload_sha256 != version.state.upload_sha256
    assert len(store.versions.list(version.project_id)) == 1
    assert store.labels.reviews(version.id)[0].reviewed  # the tags stay
    path = store.uploads.path(after.state.upload_sha256)
    frame = read_predictions(path, extra_columns=(column, *{p.column for p in top.predicates}))
    original = pd.read_csv(SAMPLE / "predictions.csv", dtype=str, keep_default_na=False)
    copied = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(copied.drop(columns=[column]), original)  # nothing else moved
    assert (frame.frame[column] == "yes").sum() == top.mask(frame.frame).sum()
    result = diagnosing.compute(store, after.state)
    assert {name for name, _ in result.slices} == {"no", "yes"}
    # the new column is not searched again, and a second one gets another name
    again = diagnosing.error_slices(store, after.state)
    assert column not in again.columns
    # a second press for the same slice chooses the column it made, and adds no copy
    assert diagnosing.add_slice_column(store, after, top, LOCAL_USER) == column
    again_path = store.uploads.path(store.versions.get(version.id).state.upload_sha256)
    assert list(pd.read_csv(again_path, nrows=0).columns).count(column) == 1
    with pytest.raises(PermissionDenied):
        diagnosing.add_slice_column(store, store.versions.get(version.id), top, VIEWER)


def test_the_report_offers_where_errors_concentrate(sampled):
    store, version, found, _ = sampled
    project = store.projects.get(version.project_id)
    inputs = project_inputs(store, project)
    assert inputs.error_slices is not None
    assert inputs.error_slices.slices[0].label == found.slices.slices[0].label


def test_typed_levels_have_no_evidence(data_dir):
    from strategy_app.store import DiagnoseState

    store = open_store()
    project = store.projects.create("typed")
    state = store.diagnose_state.save(
        project.id, DiagnoseState(source="typed", typed_levels={"train": 0.1, "dev": 0.2})
    )
    assert diagnosing.error_slices(store, state) is None
    assert evidence.label_issues_of(store, state) is None
    with pytest.raises(InputError, match="typed levels only"):
        diagnosing.add_slice_column(store, store.versions.current(project.id), object(), LOCAL_USER)
    store.close()


def test_suggestions_of_a_file_without_ids_match_rows_by_their_number(data_dir, tmp_path):
    frame = pd.read_csv(SAMPLE / "predictions.csv").drop(columns=["id"])
    path = tmp_path / "no-ids.csv"
    frame.to_csv(path, index=False)
    store = open_store()
    project = store.projects.create("no ids")
    from strategy_app.diagnose.service import accept_upload

    accept_upload(store, project.id, path.name, path.read_bytes(), LOCAL_USER)
    version = store.versions.current(project.id)
    predictions = read_version(store, version.state)
    labeling.draw_sample(store, version.id, predictions, 101, seed=0, user=LOCAL_USER)
    labels = store.labels.snapshot(version.id)
    found = evidence.version_evidence(store, version, labels)
    stored = evidence.offer_suggestions(store, version, labels, found)
    top = found.slices.slices[0]
    in_slice = {s.suggestion.id for s in stored if s.suggestion.kind == "slice"}
    inside = top.mask(frame)  # data row numbers, 1-based, are the ids
    dev_errors = (frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])
    assert {str(i + 1) for i in frame.index[inside & dev_errors]} <= in_slice
    store.close()


def test_image_too_dark_can_be_accepted_into_an_existing_category(sampled):
    store, version, _, stored = sampled
    example = stored[0].suggestion.id
    offered = [
        *(s.suggestion for s in stored),
        Suggestion(example, "dark", "image too dark", "dark"),
    ]
    dark = next(
        s for s in store.suggestions.offer(version.id, offered) if s.suggestion.kind == "dark"
    )
    before = store.labels.categories(version.id)
    options, defaults = evidence.category_choices([c.name for c in before], [dark])
    assert defaults == ["dark"] and options == [*(c.name for c in before), "dark"]
    review = evidence.accept(
        store, version, example, "dark", "ann", LOCAL_USER, "Blurry/Low quality"
    )
    assert store.labels.categories(version.id) == before  # no "dark" category made
    names = {c.id: c.name for c in before}
    assert [names[t] for t in review.tags] == ["blurry/low quality"]
    saved = {
        (s.suggestion.id, s.suggestion.kind): s for s in store.suggestions.of_version(version.id)
    }
    assert saved[(example, "dark")].status == ACCEPTED
    change = store.audit.history(version.project_id, example)[-1]
    assert change.action == "tag edit" and change.user == LOCAL_USER.identity
    assert change.detail == {
        "annotator": "ann",
        "added": ["blurry/low quality"],
        "suggestion": "dark",
        "suggested": "dark",
    }
    other = next(s for s in stored if s.suggestion.kind == "slice").suggestion
    with pytest.raises(InputError, match="name"):  # a new category's name is checked as any
        evidence.accept(store, version, other.id, "slice", "", LOCAL_USER, " ")
    assert store.suggestions.get(version.id, other.id, "slice").pending  # nothing decided


def test_the_suggested_category_is_the_default_and_spelled_as_the_versions(sampled):
    _, _, _, stored = sampled
    mislabeled = next(s for s in stored if s.suggestion.kind == "mislabeled")
    slice_ = next(s for s in stored if s.suggestion.kind == "slice")
    options, defaults = evidence.category_choices(
        ["Mislabeled", "rare class"], [mislabeled, slice_]
    )
    assert defaults == ["Mislabeled", slice_.suggestion.category]
    assert options == ["Mislabeled", "rare class", slice_.suggestion.category]
