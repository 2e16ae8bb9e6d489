"""AppTest: the Diagnose page lists where errors concentrate and makes a slice column of one;
the Error analysis page shows suggestions beside the sample, accepts them into tags, filters
by them and draws a sample from one slice."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.shell.markdown import escape_markdown
from strategy_app.store import open_store
from strategy_app.versions.service import read_version
from tests.test_app_pages import run_page, texts

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "predictions.csv"


@pytest.fixture
def sample_project(data_dir, monkeypatch):
    """The real sample project (metadata columns, prob_ columns, images)."""
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(SAMPLE))
    return data_dir


def test_diagnose_lists_significant_slices_and_makes_a_column(sample_project):
    at = run_page("diagnose.py")
    assert not at.exception
    assert any("Where errors concentrate" in h.value for h in at.subheader)
    shown = texts(at)
    assert "errors concentrate in off_centre" in shown
    assert "Benjamini" in shown
    button = next(b for b in at.button if b.label == "Diagnose by this slice")
    button.click().run()
    assert not at.exception
    slice_box = next(s for s in at.selectbox if s.label.startswith("Slice column"))
    assert slice_box.value.startswith("in slice: off_centre")
    assert any("By in slice: off" in h.value for h in at.subheader)
    assert {t.label.split(" = ")[-1] for t in at.tabs} == {"yes", "no"}
    assert "errors concentrate in in slice" not in texts(at)  # not searched again
    store = open_store()
    (project,) = store.projects.list()
    assert [v.number for v in store.versions.list(project.id)] == [1]  # the same version
    store.close()


def _sampled(data_dir, size: int = 100):
    """Open the sample project and draw its sample, as the page's button would."""
    store = open_store()
    run_page("error_analysis.py")  # creates the sample project
    (project,) = store.projects.list()
    version = store.versions.current(project.id)
    predictions = read_version(store, version.state)
    labeling.draw_sample(store, version.id, predictions, size, seed=0, user=LOCAL_USER)
    return store, version


def _sheet(at: AppTest, version) -> pd.DataFrame:
    """The frame the tagging sheet shows (its view in the session)."""
    return at.session_state[f"label_view_{version.id}"].frame


def _panel(at: AppTest, version, name: str) -> AppTest:
    return at.segmented_control(key=f"label_panel_{version.id}").set_value(name).run()


def test_the_sheet_shows_suggestions_that_are_not_tags(sample_project):
    store, version = _sampled(sample_project)
    at = run_page("error_analysis.py")
    assert not at.exception
    frame = _sheet(at, version)
    suggested = frame["suggested"]
    assert suggested.str.contains("likely mislabeled → ").any()
    assert suggested.str.contains("in slice ").any()
    assert not store.labels.reviews(version.id)  # showing suggestions saved no tag
    assert "Tag or mark reviewed at least one example" in texts(at)  # no ceiling yet
    show = next(s for s in at.selectbox if s.label == "Show")
    show.select("likely mislabeled").run()
    kept = _sheet(at, version)
    assert 0 < len(kept) < len(frame)
    assert kept["suggested"].str.contains("likely mislabeled").all()
    store.close()


def test_accept_a_suggestion_with_one_click(sample_project):
    store, version = _sampled(sample_project)
    at = run_page("error_analysis.py")
    _panel(at, version, "Detail view")
    show = next(s for s in at.selectbox if s.label == "Show")
    show.select("likely mislabeled").run()
    first = _sheet(at, version).iloc[0]
    accept = next(b for b in at.button if b.label == "Accept")
    accept.click().run()
    assert not at.exception
    reviews = store.labels.reviews(version.id)
    names = {c.id: c.name for c in store.labels.categories(version.id)}
    assert [(r.example_id, [names[t] for t in r.tags]) for r in reviews] == [
        (first["id"], ["mislabeled"])
    ]
    assert "Ceiling per category" in [h.value for h in at.subheader]
    # the filter keeps open suggestions: the accepted one leaves it, the next one moves up
    assert first["id"] not in set(_sheet(at, version)["id"])
    next(s for s in at.selectbox if s.label == "Show").select("all examples").run()
    row = _sheet(at, version)
    assert bool(row.loc[row["id"] == first["id"], "mislabeled"].iloc[0])  # the sheet shows it
    assert row.loc[row["id"] == first["id"], "suggested"].iloc[0].startswith("✓ ")
    store.close()


def test_next_moves_the_sheet_with_the_detail_view(sample_project):
    store, version = _sampled(sample_project)
    at = run_page("error_analysis.py")
    _panel(at, version, "Detail view")
    ids = store.labels.sample(version.id).ids
    assert _sheet(at, version)["id"].iloc[0] == ids[0]
    next(b for b in at.button if b.label == "Next").click().run()
    next(b for b in at.button if b.label == "Next").click().run()
    sheet = _sheet(at, version)
    assert sheet["id"].iloc[0] == ids[2] and len(sheet) == 20  # the example is row 1
    store.close()


def test_a_viewer_sees_suggestions_but_cannot_accept(sample_project, monkeypatch):
    from strategy_app.auth import Role, User
    from strategy_app.shell import signin

    store, version = _sampled(sample_project)
    viewer = User(email="v@example.org", name="V", role=Role.VIEWER)
    monkeypatch.setattr(signin, "current_user", lambda: viewer)
    monkeypatch.setattr("strategy_app.errors.suggestions_ui.current_user", lambda: viewer)
    monkeypatch.setattr("strategy_app.errors.ui.current_user", lambda: viewer)
    at = run_page("error_analysis.py")
    _panel(at, version, "Detail view")
    accept = [b for b in at.button if b.label == "Accept"]
    assert all(b.disabled for b in accept)
    assert not store.labels.reviews(version.id)
    store.close()


def test_the_suggestions_panel_accepts_and_dismisses_and_shows_precision(sample_project):
    store, version = _sampled(sample_project)
    at = run_page("error_analysis.py")
    _panel(at, version, "Suggestions")
    stored = store.suggestions.of_version(version.id)
    pending = [s.suggestion for s in stored if s.pending]  # the panel's rows, in order
    key = f"label_decisions_{version.id}_0"
    assert key in at.session_state
    # tick accept on row 0 and dismiss on row 1, as two clicks give it
    at.session_state[key] = {
        "edited_rows": {0: {"accept": True}, 1: {"dismiss": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    saved = {
        (s.suggestion.id, s.suggestion.kind): s.status
        for s in store.suggestions.of_version(version.id)
    }
    assert saved[(pending[0].id, pending[0].kind)] == "accepted"
    assert saved[(pending[1].id, pending[1].kind)] == "dismissed"
    assert list(saved.values()).count("pending") == len(pending) - 2
    tagged = store.labels.review(version.id, pending[0].id, "")
    names = {c.id: c.name for c in store.labels.categories(version.id)}
    assert pending[0].category in {names[t] for t in tagged.tags}
    precision = next(d.value for d in at.dataframe if "precision" in d.value)
    assert set(precision["dismissed"]) <= {0, 1} and precision["accepted"].sum() == 1
    store.close()


def test_a_person_picks_the_category_an_accepted_suggestion_becomes(sample_project):
    store, version = _sampled(sample_project)
    at = run_page("error_analysis.py")
    _panel(at, version, "Suggestions")
    pending = [s.suggestion for s in store.suggestions.of_version(version.id) if s.pending]
    key = f"label_decisions_{version.id}_0"
    # row 0 picked into an existing category, row 1 left at its suggested one
    at.session_state[key] = {
        "edited_rows": {0: {"tag if accepted": "rare class", "accept": True}, 1: {"accept": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    names = {c.id: c.name for c in store.labels.categories(version.id)}
    tags = {
        p.id: {names[t] for t in store.labels.review(version.id, p.id, "").tags}
        for p in pending[:2]
    }
    assert tags[pending[0].id] == {"rare class"}
    assert tags[pending[1].id] == {pending[1].category}
    accepted = f"Accepted: {pending[1].id} tagged '{pending[1].category}'"
    assert [t.proto.body for t in at.toast] == [escape_markdown(accepted)]  # the last one
    change = store.audit.history(version.project_id, pending[0].id)[-1]
    assert change.detail["added"] == ["rare class"]
    assert change.detail["suggested"] == pending[0].category
    # the detail view: a box beside *Accept* (the suggested category first)
    _panel(at, version, "Detail view")
    next(s for s in at.selectbox if s.label == "Show").select("likely mislabeled").run()
    first = _sheet(at, version).iloc[0]["id"]
    box = next(s for s in at.selectbox if s.key.startswith(f"accept_as_{version.id}_"))
    assert box.value == "mislabeled"
    box.select("unusual angle").run()
    next(b for b in at.button if b.label == "Accept").click().run()
    assert not at.exception
    review = store.labels.review(version.id, first, "")
    assert {names[t] for t in review.tags} == {"unusual angle"}
    store.close()


def test_draw_the_sample_from_one_slice_on_the_page(sample_project):
    store = open_store()
    at = run_page("error_analysis.py")
    source = next(s for s in at.selectbox if s.label == "Draw from")
    top = source.options[1]
    source.select(source.options[1]).run()
    next(b for b in at.button if b.label == "Draw sample").click().run()
    assert not at.exception
    (project,) = store.projects.list()
    version = store.versions.current(project.id)
    assert store.labels.sample(version.id) is not None
    (change,) = [c for c in store.audit.history(project.id) if c.action == "sample draw"]
    assert change.detail["slice"] in top
    store.close()
