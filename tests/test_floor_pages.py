"""AppTest tests of the floor on Diagnose: annotations kept with a version, the measured human
levels in the waterfall and the gap table, refusals that change nothing, and the eyeball check
with its fresh sample."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.ingest import read_predictions
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_annotations, accept_upload, compute
from strategy_app.errors import service as labeling
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.test_annotators import write_annotations
from tests.test_annotators import write_predictions as write_labelled


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES_DIR / name), default_timeout=90).run()


def texts(at: AppTest) -> str:
    return "\n".join(e.value for e in [*at.caption, *at.markdown, *at.subheader, *at.warning])


@pytest.fixture
def project_with_annotations(data_dir, tmp_path):
    predictions = write_labelled(tmp_path / "preds.csv")
    annotations = write_annotations(predictions, tmp_path / "annotations.csv")
    store = open_store()
    project = store.projects.create("p")
    accept_upload(store, project.id, "preds.csv", predictions.read_bytes(), LOCAL_USER)
    accept_annotations(store, project.id, "annotations.csv", annotations.read_bytes(), LOCAL_USER)
    return store, project


def test_diagnose_shows_measured_human_levels_in_the_chart_and_gap_table(
    project_with_annotations,
):
    store, project = project_with_annotations
    state = store.diagnose_state.load(project.id)
    assert state.annotations_name == "annotations.csv"
    result = compute(store, state)
    assert result.floor is not None and result.floor_error is None
    proxy = result.diagnosis.human_levels[0]
    assert proxy.estimate is not None and "human" in result.diagnosis.intervals
    at = page("diagnose.py")
    assert not at.exception
    shown = texts(at)
    assert "Human levels from annotators" in shown
    assert "Human levels measured from **annotations.csv**" in shown
    table = next(d.value for d in at.dataframe if "kappa" in d.value.columns)
    assert set(table["who"]) == {"alice", "bob", "carol", "team (majority vote)"}
    assert dict(zip(table["who"], table["role"], strict=True))["alice"] == "best"
    assert f"avoidable bias: human is {proxy.name}, measured on" in shown
    assert "purple ticks on the human bar" in shown
    assert "Measured floor" in shown


def test_bad_annotations_change_nothing_saved(project_with_annotations, tmp_path):
    store, project = project_with_annotations
    before = store.diagnose_state.load(project.id)
    with pytest.raises(InputError, match="only one annotator"):
        accept_annotations(
            store, project.id, "bad.csv", b"id,annotator,label\nd0,a,cat\n", LOCAL_USER
        )
    assert store.diagnose_state.load(project.id) == before
    empty = store.projects.create("q")
    with pytest.raises(InputError, match="upload the predictions first"):
        accept_annotations(store, empty.id, "a.csv", b"id,annotator,label\n", LOCAL_USER)


def test_annotations_that_no_longer_match_keep_the_waterfall(project_with_annotations, tmp_path):
    store, project = project_with_annotations
    other = tmp_path / "other.csv"
    frame = pd.read_csv(write_labelled(tmp_path / "x.csv", seed=3))
    frame["id"] = "z" + frame["id"]
    frame.to_csv(other, index=False)
    accept_upload(store, project.id, "other.csv", other.read_bytes(), LOCAL_USER)
    result = compute(store, store.diagnose_state.load(project.id))
    assert result.diagnosis is not None and result.floor is None
    assert "is not a dev or test example of other.csv" in result.floor_error
    at = page("diagnose.py")
    assert not at.exception
    assert any("The waterfall goes on without them" in e.value for e in at.error)


def two_versions_tuned_to_the_sample(tmp_path):
    """v1 with a drawn sample of 10 dev errors; v2 fixes exactly those and nothing else."""
    first = write_labelled(tmp_path / "v1.csv", dev=300)
    store = open_store()
    project = store.projects.create("p")
    accept_upload(store, project.id, "v1.csv", first.read_bytes(), LOCAL_USER, label="one")
    v1 = store.versions.current(project.id)
    sample = labeling.draw_sample(
        store, v1.id, read_predictions(first), 10, seed=0, user=LOCAL_USER
    )
    frame = pd.read_csv(first)
    fixed = frame["id"].isin(sample.ids)
    frame.loc[fixed, "y_pred"] = frame.loc[fixed, "y_true"]
    second = tmp_path / "v2.csv"
    frame.to_csv(second, index=False)
    accept_upload(store, project.id, "v2.csv", second.read_bytes(), LOCAL_USER, label="two")
    return store, project, v1, store.versions.current(project.id), sample


def test_eyeball_warning_and_a_fresh_sample_from_the_rest(data_dir, tmp_path):
    store, _, _, v2, sample = two_versions_tuned_to_the_sample(tmp_path)
    at = page("diagnose.py")
    assert not at.exception
    shown = texts(at)
    assert "Eyeball vs blackbox" in shown
    assert "10 of the 10 people examined are fixed (100%)" in shown
    assert any("improved significantly more" in w.value for w in at.warning)
    at.button(key=f"fresh_sample_{v2.id}").click().run()
    assert not at.exception
    fresh = store.labels.sample(v2.id)
    assert fresh is not None and fresh.size == 10
    assert not set(fresh.ids) & set(sample.ids)


def test_no_eyeball_warning_when_the_fix_is_spread_evenly(data_dir, tmp_path):
    first = write_labelled(tmp_path / "v1.csv", dev=300)
    store = open_store()
    project = store.projects.create("p")
    accept_upload(store, project.id, "v1.csv", first.read_bytes(), LOCAL_USER)
    v1 = store.versions.current(project.id)
    labeling.draw_sample(store, v1.id, read_predictions(first), 10, seed=0, user=LOCAL_USER)
    frame = pd.read_csv(first)
    dev = frame["split"] == "dev"
    wrong = dev & (frame["y_true"] != frame["y_pred"])
    every_other = frame.index[wrong][::2]  # half of v1's dev errors, sampled or not
    frame.loc[every_other, "y_pred"] = frame.loc[every_other, "y_true"]
    second = tmp_path / "v2.csv"
    frame.to_csv(second, index=False)
    accept_upload(store, project.id, "v2.csv", second.read_bytes(), LOCAL_USER)
    at = page("diagnose.py")
    assert not at.exception
    assert "Eyeball vs blackbox" in texts(at)
    assert not any("improved significantly more" in w.value for w in at.warning)


def test_project_report_has_the_floor(project_with_annotations):
    from diagnostics.report import render_html
    from strategy_app.report.service import project_inputs

    store, project = project_with_annotations
    inputs = project_inputs(store, project)
    assert "floor" in inputs.available_sections()
    html = render_html(inputs)
    assert "Human levels, the floor and label noise" in html and "alice" in html
