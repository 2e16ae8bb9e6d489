"""Error analysis: versioned tags in the store, the editor's delta, the page, a killed writer."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from diagnostics.tags import PRESET_CATEGORIES, read_tags_csv
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.errors import ui as labeling_ui
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import DiagnoseState, open_store
from strategy_app.store.labels import Conflict, LabelEdit
from tests.conftest import write_predictions
from tests.test_images import png_bytes

EXAMPLES = pd.DataFrame(
    {
        "id": ["a", "b", "c"],
        "y_true": ["cat", "cat", "dog"],
        "y_pred": ["dog", "dog", "cat"],
        "score": [0.9, 0.6, None],
        "input": ["=1+1", "a photo", None],
    }
)


@pytest.fixture
def store(any_db):
    """A project's model version with a drawn sample, on SQLite and on PostgreSQL."""
    store = open_store()
    project = store.projects.create("p")
    version = store.versions.add(project.id, DiagnoseState(source="typed"), label="model")
    store.labels.save_sample(version.id, EXAMPLES, seed=1, stratified=False)
    store.version_id = version.id
    return store


def category(store, name):
    return next(c.id for c in store.labels.categories(store.version_id) if c.name == name)


def test_versions_and_a_stale_edit_from_a_second_session(store):
    pid, other = store.version_id, open_store()
    blurry = category(store, "blurry/low quality")
    first = store.labels.save_edit(pid, LabelEdit("a", "", add=frozenset({blurry})), 0)
    assert first.version == 1 and first.tags == {blurry}
    newer = other.labels.save_edit(pid, LabelEdit("a", "", notes="theirs"), 1)
    assert newer.version == 2
    with pytest.raises(Conflict) as caught:
        store.labels.save_edit(pid, LabelEdit("a", "", remove=frozenset({blurry})), 1)
    assert caught.value.current.version == 2
    saved = store.labels.review(pid, "a", "")
    assert saved.tags == {blurry} and saved.notes == "theirs" and saved.version == 2
    with pytest.raises(Conflict):  # two sessions creating the same review
        other.labels.save_edit(pid, LabelEdit("b", "", reviewed=True), 0)
        store.labels.save_edit(pid, LabelEdit("b", "", reviewed=False), 0)
    with pytest.raises(InputError, match="not in the project's sample"):
        store.labels.save_edit(pid, LabelEdit("zz", "", reviewed=True), 0)


def test_rename_merge_and_remove_keep_or_move_tags_in_one_step(store):
    pid = store.version_id
    blurry, angle, rare = (
        category(store, n) for n in ("blurry/low quality", "unusual angle", "rare class")
    )
    store.labels.save_edit(pid, LabelEdit("a", "ann", add=frozenset({blurry, angle})), 0)
    store.labels.save_edit(pid, LabelEdit("b", "ann", add=frozenset({angle, rare})), 0)
    store.labels.rename_category(pid, blurry, "blurry")
    assert store.labels.review(pid, "a", "ann").tags == {blurry} | {angle}
    with pytest.raises(InputError, match="exists already"):
        store.labels.rename_category(pid, blurry, "Unusual Angle")
    assert store.labels.merge_categories(pid, [blurry], angle) == 1
    table = store.labels.tag_table(pid)
    assert {r.id: set(r.tags) for r in table.rows} == {
        "a": {"unusual angle"},
        "b": {"unusual angle", "rare class"},
    }
    assert store.labels.review(pid, "a", "ann").version == 2
    store.labels.remove_category(pid, rare)
    assert store.labels.review(pid, "b", "ann").tags == {angle}
    assert "rare class" not in store.labels.tag_table(pid).categories


def test_editor_delta_is_saved_by_example_id_and_conflicts_are_reported(store):
    pid = store.version_id
    view = labeling.build_view(store, pid, "", thumbnail=lambda root, path: None)
    assert view.ids == ["a", "b", "c"] and not view.images
    assert view.frame.loc[0, "input"] == "=1+1"  # text stays text
    state = {"edited_rows": {1: {"mislabeled": True, "notes": "check"}}}
    assert labeling.apply_editor_state(store, view, state, LOCAL_USER).saved == 1
    again = labeling.apply_editor_state(store, view, state, LOCAL_USER)
    assert again.saved == 0  # cumulative state
    mislabeled = category(store, "mislabeled")
    assert store.labels.review(pid, "b", "").tags == {mislabeled}
    open_store().labels.save_edit(pid, LabelEdit("b", "", notes="other"), 1)
    state = {"edited_rows": {1: {"mislabeled": False, "notes": "check"}}}
    result = labeling.apply_editor_state(store, view, state, LOCAL_USER)
    assert len(result.conflicts) == 1 and view.stale
    assert "Example 'b'" in view.conflicts[0] and "mislabeled off" in view.conflicts[0]
    assert "mislabeled on" in view.conflicts[0]
    assert store.labels.review(pid, "b", "").tags == {mislabeled}
    assert labeling.progress_of(store.labels.snapshot(pid), "") == (1, 3)


def test_csv_export_neutralizes_and_import_is_all_or_nothing(store):
    pid = store.version_id
    store.labels.save_edit(pid, LabelEdit("a", "", notes="-2 bad", reviewed=True), 0)
    text = labeling.export_csv(store, pid)
    assert "'=1+1" in text and "'-2 bad" in text
    table = read_tags_csv(text.encode(), sample_ids=["a", "b", "c"])
    assert {r.id for r in table.rows} == {"a", "b", "c"}
    bad = b"id,mislabeled\na,1\nzz,1\n"
    with pytest.raises(InputError, match="not in the sample"):
        labeling.import_csv(store, pid, bad, "tags.csv", LOCAL_USER)
    assert store.labels.review(pid, "a", "").tags == frozenset()
    count = labeling.import_csv(
        store, pid, b"id,mislabeled,new kind\na,1,1\n", "tags.csv", LOCAL_USER
    )
    assert count == 1
    names = {c.id: c.name for c in store.labels.categories(pid)}
    assert {names[t] for t in store.labels.review(pid, "a", "").tags} == {"mislabeled", "new kind"}


def test_exported_tags_say_reviewed_name_the_annotator_and_import_back(store):
    pid = store.version_id
    blurry = category(store, "blurry/low quality")
    store.labels.save_edit(pid, LabelEdit("a", "ana", add=frozenset({blurry})), 0)
    store.labels.save_edit(pid, LabelEdit("b", "", reviewed=True), 0)
    text = labeling.export_csv(store, pid)
    rows = {(r["id"], r["annotator"]): r for r in csv.DictReader(io.StringIO(text))}
    assert rows[("a", "ana")]["reviewed"] == "1"  # tagged, so reviewed (as the bar counts)
    assert rows[("b", "")]["reviewed"] == "1" and rows[("c", "")]["reviewed"] == "0"
    before = {a: labeling.progress_of(store.labels.snapshot(pid), a) for a in ("ana", "")}
    assert labeling.import_csv(store, pid, text.encode(), "tags.csv", LOCAL_USER) == 3
    after = {a: labeling.progress_of(store.labels.snapshot(pid), a) for a in ("ana", "")}
    assert after == before
    assert store.labels.review(pid, "a", "ana").tags == {blurry}
    assert labeling.export_csv(store, pid) == text  # the round trip changes nothing


# -- the page ----------------------------------------------------------------------------------


def open_page(tmp_path, monkeypatch) -> AppTest:
    sample = write_predictions(tmp_path / "sample.csv")
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(sample))
    return AppTest.from_file(str(PAGES_DIR / "error_analysis.py"), default_timeout=60).run()


def edit(at: AppTest, rows: dict) -> AppTest:
    view = at.session_state["label_view_1"]
    at.session_state[view.key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def ceiling_rows(at: AppTest) -> dict:
    table = next(d.value for d in at.dataframe if "best dev error after fix" in d.value)
    return dict(zip(table["category"], table["count"], strict=True))


def test_page_tags_examples_and_the_ceiling_follows(data_dir, tmp_path, monkeypatch):
    at = open_page(tmp_path, monkeypatch)
    assert not at.exception
    at.button(key="draw_1").click().run()
    assert "0 of 20 reviewed" in at.get("progress")[0].proto.text
    view = at.session_state["label_view_1"]
    at = edit(at, {0: {"mislabeled": True}, 2: {"mislabeled": True, "blurry/low quality": True}})
    assert not at.exception
    assert ceiling_rows(at)["mislabeled"] == 2
    assert "2 of 20 reviewed" in at.get("progress")[0].proto.text
    at = edit(at, {0: {"mislabeled": True}, 2: {"mislabeled": False, "blurry/low quality": True}})
    assert ceiling_rows(at) == {**ceiling_rows(at), "mislabeled": 1, "blurry/low quality": 1}
    store = open_store()
    saved = {r.example_id: r for r in store.labels.reviews(1)}
    assert set(saved) == {view.ids[0], view.ids[2]}
    # a fresh session (reload) sees the saved tags in its table
    again = AppTest.from_file(str(PAGES_DIR / "error_analysis.py"), default_timeout=60).run()
    frame = again.session_state["label_view_1"].frame
    assert frame.loc[0, "mislabeled"] and frame.loc[2, "blurry/low quality"]
    # another session changes row 0; the stale edit is refused and shown
    mislabeled = category_of(store, "mislabeled")
    store.labels.save_edit(
        1, LabelEdit(view.ids[0], "", notes="theirs"), saved[view.ids[0]].version
    )
    at = edit(at, {0: {"mislabeled": False}, 2: {"mislabeled": False, "blurry/low quality": True}})
    assert any(view.ids[0] in w.value and "not saved" in w.value for w in at.warning)
    assert mislabeled in store.labels.review(1, view.ids[0], "").tags
    open_panel(at, "Import / export")
    export = at.get("download_button")[0]
    assert export is not None


def open_panel(at: AppTest, name: str) -> AppTest:
    """Open one of the page's panels from its tool bar (they are built only while open)."""
    return at.segmented_control(key="label_panel_1").set_value(name).run()


def category_of(store, name):
    return next(c.id for c in store.labels.categories(1) if c.name == name)


def test_page_redraw_asks_first_and_categories_are_managed(data_dir, tmp_path, monkeypatch):
    at = open_page(tmp_path, monkeypatch)
    at.button(key="draw_1").click().run()
    edit(at, {0: {"rare class": True}}).run()  # AppTest saves in the run, the browser before it
    open_panel(at, "Redraw sample")
    assert at.button(key="draw_1").disabled
    open_panel(at, "Categories")
    at.text_input(key="cat_new_1").set_value("occluded")
    at.button(key="cat_add_1").click().run()
    assert "occluded" in at.session_state["label_view_1"].frame.columns
    rare = category_of(open_store(), "rare class")
    at.selectbox(key="cat_rn_1").set_value(rare)
    at.text_input(key="cat_rn_name_1").set_value("rare digit")
    at.button(key="cat_rn_go_1").click().run()
    assert ceiling_rows(at)["rare digit"] == 1
    open_panel(at, "Redraw sample")
    at.checkbox(key="confirm_redraw_1").check().run()
    at.number_input(key="sample_seed_1").set_value(5)
    at.button(key="draw_1").click().run()
    assert not open_store().labels.has_reviews(1)
    assert not at.exception


def test_page_panels_annotator_and_confusion_pairs(data_dir, tmp_path, monkeypatch):
    at = open_page(tmp_path, monkeypatch)
    at.button(key="draw_1").click().run()
    open_panel(at, "Annotator")
    at.text_input(key="annotator_1").set_value("ann").run()
    open_panel(at, "Confusion pairs")  # the name field is gone; the name stays
    assert any("true" in d.value.columns for d in at.dataframe)
    view = at.session_state["label_view_1"]
    at = edit(at, {1: {"unusual angle": True}})
    assert "1 of 20 reviewed by ann" in at.get("progress")[0].proto.text
    assert open_store().labels.review(1, view.ids[1], "ann").version == 1
    open_panel(at, "Detail view")
    assert any("1 of 20" in m.value for m in at.markdown)


def sheet_without_images(predictions_csv) -> AppTest:
    """Error analysis with a drawn sample of a new project's upload whose inputs are image
    paths, and no images."""
    pid = open_store().projects.create("images").id
    diagnose = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=60).run()
    diagnose.file_uploader(key=f"upload_{pid}").set_value(
        ("predictions.csv", predictions_csv.read_bytes(), "text/csv")
    ).run()
    at = AppTest.from_file(str(PAGES_DIR / "error_analysis.py"), default_timeout=60).run()
    at.button(key=f"draw_{pid}").click().run()
    return at


def test_thumbnails_show_in_the_run_that_accepts_an_images_zip(data_dir, predictions_csv):
    at = sheet_without_images(predictions_csv)
    view = at.session_state["label_view_1"]
    assert view.images and view.images_root is None
    assert view.frame["input"].isna().all()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in open_store().labels.snapshot(1).sample.examples["input"]:
            zipped.writestr(path, png_bytes())
    at.file_uploader(key="images_zip_1").set_value(
        ("images.zip", archive.getvalue(), "application/zip")
    ).run()  # one upload, no other interaction
    assert not at.exception and not at.error
    frame = at.session_state["label_view_1"].frame
    thumbnails = [str(url).startswith("data:image/png;base64,") for url in frame["input"]]
    assert len(thumbnails) == 20 and all(thumbnails)  # at once, with no other interaction
    assert [t.proto.body for t in at.toast] == ["Extracted 20 images"]
    assert not at.get("file_uploader")  # the upload box is gone with the images there
    at.run()  # a later run accepts nothing again (no rerun loop, one audit row)
    assert at.session_state["label_view_1"].frame["input"].equals(frame["input"])
    uploads = [c for c in open_store().audit.history(1) if c.target == "images.zip"]
    assert len(uploads) == 1


def test_page_without_predictions_says_what_to_do(data_dir):
    open_store().projects.create("typed only")
    at = AppTest.from_file(str(PAGES_DIR / "error_analysis.py"), default_timeout=60).run()
    assert not at.exception
    assert any("Diagnose" in i.value for i in at.info)


# -- a killed writer loses nothing acknowledged ------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from strategy_app.store import DiagnoseState, open_store
    from strategy_app.store.labels import LabelEdit
    store = open_store()
    category = store.labels.categories(1)[0].id
    for i, example in enumerate(store.labels.sample(1).ids * 50):
        review = store.labels.review(1, example, "w")
        tags = frozenset() if review.tags else frozenset({category})
        edit = LabelEdit(example, "w", add=tags, remove=frozenset({category}) - tags, notes=str(i))
        saved = store.labels.save_edit(1, edit, review.version)
        print(example, saved.version, i, flush=True)
    """
)


@pytest.mark.slow
def test_sigkilled_writer_keeps_every_acknowledged_tag(any_db):
    store = open_store()
    project = store.projects.create("p")
    version = store.versions.add(project.id, DiagnoseState(source="typed"), label="model")
    assert version.id == 1  # the writer below tags version 1
    many = pd.DataFrame({"id": [str(i) for i in range(40)], "y_true": 1, "y_pred": 2})
    store.labels.save_sample(version.id, many, seed=0, stratified=False)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER], stdout=subprocess.PIPE, text=True, env=env
    )
    acknowledged = {}
    for line in child.stdout:
        example, version, step = line.split()
        acknowledged[example] = (int(version), step)
        if len(acknowledged) == 40 and int(step) > 150:
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    after = open_store()
    for example, (version, step) in acknowledged.items():
        review = after.labels.review(1, example, "w")
        assert review.version >= version
        if review.version == version:
            assert review.notes == step


def test_the_tagging_sheet_pins_id_and_input_puts_reviewed_left_and_shortens_headers(
    data_dir, tmp_path, monkeypatch
):
    at = open_page(tmp_path, monkeypatch)
    at.button(key="draw_1").click().run()
    sheet = next(d for d in at.dataframe if d.editing_mode == "fixed")
    assert list(sheet.proto.column_order)[:3] == ["id", "input", "reviewed"]
    columns = json.loads(sheet.proto.columns)
    assert columns["id"]["pinned"] and columns["input"]["pinned"]
    headers = {name: columns[name]["label"] for name in PRESET_CATEGORIES}
    assert headers["blurry/low quality"] == "blurry" and headers["multiple objects"] == "multiple"
    assert len(set(headers.values())) == len(headers)  # short, and still distinct
    for name, label in headers.items():
        assert columns[name]["help"] == name  # the full name on hover
        assert columns[name]["width"] >= labelling_width(label)


def labelling_width(label: str) -> int:
    """About the pixels a header of this many characters takes, with the checkbox padding."""
    return 7 * len(label) + 20


def test_short_labels_fall_back_to_the_full_name_when_two_would_clash():
    labels = labeling_ui.short_labels(["blurry/low quality", "blurry/motion", "a very long name"])
    assert labels == {
        "blurry/low quality": "blurry/low quality",
        "blurry/motion": "blurry/motion",
        "a very long name": "a very long",
    }


def test_next_in_the_detail_view_moves_the_sheet_below(data_dir, tmp_path, monkeypatch):
    at = open_page(tmp_path, monkeypatch)
    at.button(key="draw_1").click().run()
    ids = at.session_state["label_view_1"].ids
    open_panel(at, "Detail view")
    at.button(key="next_1").click().run()
    assert not at.exception
    assert any("first row of the table below" in c.value for c in at.caption)
    assert at.session_state["label_view_1"].ids[0] == ids[1]  # the example heads the sheet


def test_a_saved_edit_is_announced_by_the_run_not_by_the_callback(data_dir, tmp_path, monkeypatch):
    at = open_page(tmp_path, monkeypatch)
    at.button(key="draw_1").click().run()
    at.session_state[labeling_ui.SAVED_KEY] = 1  # as the on_change callback leaves it
    at = edit(at, {0: {"mislabeled": True}})
    assert [t.value for t in at.toast] == ["Saved (2 rows)"]  # the callback's and this run's
    assert labeling_ui.SAVED_KEY not in at.session_state
