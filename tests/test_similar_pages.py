"""AppTest: the Error analysis page's Similar panel (map, find similar, tag in one action and
undo, each edit audited), the spread column of the ceiling, and a text project's sheet."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from strategy_app.auth import LOCAL_USER
from strategy_app.errors import similar
from strategy_app.store.audit import TAG_EDIT
from strategy_app.store.labels import LabelEdit
from tests.test_app_pages import run_page, texts
from tests.test_evidence_pages import _sampled
from tests.text_project import text_frame

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "predictions.csv"


def _open(data_dir, monkeypatch, predictions: Path, size: int = 100):
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(predictions))
    return _sampled(data_dir, size)


def _panel(at: AppTest, version, name: str) -> AppTest:
    return at.segmented_control(key=f"label_panel_{version.id}").set_value(name).run()


@pytest.fixture
def text_csv(tmp_path) -> Path:
    frame = text_frame(1600, seed=5)
    frame.loc[frame.index[:40], "text"] = frame["text"].iloc[:40] + " <b>bold</b> \x07"
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    return path


def test_similar_panel_maps_finds_and_tags_in_one_action_with_undo(data_dir, monkeypatch):
    store, version = _open(data_dir, monkeypatch, SAMPLE, size=60)
    at = _panel(run_page("error_analysis.py"), version, "Similar")
    assert not at.exception
    shown = texts(at)
    assert "800 dev examples (101 errors), 800 drawn" in shown
    assert "images' pixels" in shown
    assert at.get("vega_lite_chart")
    tiles = [
        c.value for c in at.caption if " · in the sample" in c.value or "not in the" in c.value
    ]
    assert len(tiles) == 8
    button = next(b for b in at.button if b.label.startswith("Tag the "))
    count = int(button.label.split()[2])
    assert count == sum(" · in the sample" in t for t in tiles) > 0
    button.click().run()
    assert not at.exception
    done = at.session_state[f"_similar_bulk_{version.id}"]
    assert len(done.added) == count
    for example in done.added:
        review = store.labels.review(version.id, example, "")
        assert done.category_id in review.tags
        history = store.audit.history(version.project_id, example)
        assert [c.action for c in history] == [TAG_EDIT]
        assert history[-1].detail["added"] == [done.category]
    sheet = at.session_state[f"label_view_{version.id}"].frame
    tagged = sheet[sheet["id"].isin(done.added)]
    assert tagged[done.category].all()  # the sheet shows the new tags
    undo = next(b for b in at.button if b.label.startswith("Undo"))
    undo.click().run()
    assert not at.exception
    for example in done.added:
        assert done.category_id not in store.labels.review(version.id, example, "").tags
        history = store.audit.history(version.project_id, example)
        assert history[-1].detail["removed"] == [done.category]


def test_bulk_tagging_skips_what_is_tagged_and_names_ids_outside_the_sample(data_dir, monkeypatch):
    store, version = _open(data_dir, monkeypatch, SAMPLE, size=20)
    ids = store.labels.sample(version.id).ids[:3]
    category = store.labels.categories(version.id)[0]
    store.labels.save_edit(version.id, LabelEdit(ids[1], "", notes="theirs"), 0)
    done, problems = similar.tag_examples(
        store, version.id, ids, category.id, annotator="", user=LOCAL_USER
    )
    assert done.added == tuple(ids) and not problems
    assert store.labels.review(version.id, ids[1], "").notes == "theirs"  # kept
    again, _ = similar.tag_examples(
        store, version.id, ids, category.id, annotator="", user=LOCAL_USER
    )
    assert again.added == ()  # already tagged: nothing to do, nothing audited twice
    assert len(store.audit.history(version.project_id, ids[0])) == 1
    _, problems = similar.tag_examples(
        store, version.id, ["not-in-sample"], category.id, annotator="", user=LOCAL_USER
    )
    assert problems == ["example 'not-in-sample' is not in the project's sample"]


def test_spread_column_beside_the_sample_extrapolation(data_dir, monkeypatch, text_csv):
    store, version = _open(data_dir, monkeypatch, text_csv, size=100)
    truth = pd.read_csv(text_csv).set_index("id")["planted"].fillna("")
    for name in ("sarcasm", "negation"):
        store.labels.add_category(version.id, name)
    by_name = {c.name: c.id for c in store.labels.categories(version.id)}
    for example in store.labels.sample(version.id).ids:
        kind = truth[example]
        add = frozenset({by_name[kind]}) if kind in by_name else frozenset()
        store.labels.save_edit(version.id, LabelEdit(example, "", add=add, reviewed=True), 0)
    at = run_page("error_analysis.py")
    assert not at.exception
    at.toggle(key=f"spread_{version.id}").set_value(True).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "best dev error after fix" in d.value)
    assert "spread to all dev errors" in table and "more precise" in table
    rows = table.set_index("category")
    assert rows.loc["sarcasm", "spread to all dev errors"] != "—"
    assert "Spread to all dev errors: a logistic regression" in texts(at)


def test_a_text_project_shows_its_text_escaped_in_the_sheet_and_the_detail(
    data_dir, monkeypatch, text_csv
):
    _, version = _open(data_dir, monkeypatch, text_csv, size=100)
    at = run_page("error_analysis.py")
    assert not at.exception
    sheet = at.session_state[f"label_view_{version.id}"].frame
    assert "text" in sheet
    marked = sheet[sheet["text"].str.contains("<b>bold</b>", regex=False)]
    for value in marked["text"]:
        assert "\x07" not in value and "\ufffd" in value  # control character replaced
    at = _panel(at, version, "Detail view")
    assert not at.exception
    assert at.text and at.text[0].value == sheet["text"].iloc[0]
    at = _panel(at, version, "Similar")
    assert not at.exception
    assert "TF-IDF" in texts(at)
    assert any(t.value for t in at.text)  # the gallery shows text tiles, as plain text


def test_the_project_report_carries_the_spread_estimate(data_dir, monkeypatch, text_csv):
    from strategy_app.report.service import project_inputs

    store, version = _open(data_dir, monkeypatch, text_csv, size=100)
    truth = pd.read_csv(text_csv).set_index("id")["planted"].fillna("")
    store.labels.add_category(version.id, "sarcasm")
    sarcasm = next(c.id for c in store.labels.categories(version.id) if c.name == "sarcasm")
    for example in store.labels.sample(version.id).ids:
        add = frozenset({sarcasm}) if truth[example] == "sarcasm" else frozenset()
        store.labels.save_edit(version.id, LabelEdit(example, "", add=add, reviewed=True), 0)
    (project,) = store.projects.list()
    ceiling = project_inputs(store, project).ceiling
    row = next(r for r in ceiling.categories if r.name == "sarcasm")
    assert row.spread is not None and row.spread.value is not None
    assert row.more_precise in ("spread", "sample")


def test_without_embeddings_the_panel_and_the_spread_say_why(data_dir, tmp_path, monkeypatch):
    from tests.conftest import write_predictions

    predictions = write_predictions(tmp_path / "no-images.csv")  # image paths, no images
    store, version = _open(data_dir, monkeypatch, predictions, size=20)
    example = store.labels.sample(version.id).ids[0]
    category = store.labels.categories(version.id)[0].id
    store.labels.save_edit(version.id, LabelEdit(example, "", add=frozenset({category})), 0)
    at = _panel(run_page("error_analysis.py"), version, "Similar")
    assert not at.exception
    assert "No map or find-similar:" in texts(at) and "not found" in texts(at)
    at.toggle(key=f"spread_{version.id}").set_value(True).run()
    assert not at.exception
    assert "No spread estimate:" in texts(at)
    table = next(d.value for d in at.dataframe if "best dev error after fix" in d.value)
    assert "spread to all dev errors" not in table  # the ceiling stands without it


def test_the_map_shows_train_on_request_and_a_click_opens_the_detail(
    data_dir, monkeypatch, text_csv
):
    store, version = _open(data_dir, monkeypatch, text_csv, size=60)
    frame = pd.read_csv(text_csv)
    dev = frame[frame["split"] == "dev"]
    train = int((frame["split"] == "train").sum())
    at = _panel(run_page("error_analysis.py"), version, "Similar")
    caption = f"{len(dev):,} dev examples ({int((dev.y_true != dev.y_pred).sum()):,} errors)"
    assert caption + ", " in texts(at) and "train examples" not in texts(at)
    at.toggle(key=f"similar_train_{version.id}").set_value(True).run()
    at.segmented_control(key=f"similar_colour_{version.id}").set_value("split").run()
    assert not at.exception
    assert f"{caption} and {train:,} train examples, {len(dev) + train:,} drawn" in texts(at)
    assert "Dev and train examples (PCA)" in str(at.get("vega_lite_chart")[0].proto.spec)
    example = store.labels.snapshot(version.id).sample.ids[7]
    at.session_state[f"_similar_open_{version.id}"] = example  # what a click on its point sets
    at.run()
    assert at.segmented_control(key=f"label_panel_{version.id}").value == "Detail view"
    assert f"id {example}" in " ".join(m.value for m in at.markdown)


def test_train_points_need_embeddings_too(data_dir, monkeypatch):
    _, version = _open(data_dir, monkeypatch, SAMPLE, size=60)
    at = _panel(run_page("error_analysis.py"), version, "Similar")
    at.toggle(key=f"similar_train_{version.id}").set_value(True).run()
    assert not at.exception
    assert "No train examples on the map:" in texts(at)  # the sample's train rows have no image
    assert "800 dev examples (101 errors), 800 drawn" in texts(at)
