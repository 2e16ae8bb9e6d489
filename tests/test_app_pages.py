"""AppTest tests: the shell, every page on its own, and the Diagnose page's behaviour."""

import pytest
from streamlit.testing.v1 import AppTest

from strategy_app.shell.navigation import PAGES, PAGES_DIR
from strategy_app.store import open_store
from tests.conftest import write_predictions

TIMEOUT = 60


def run_page(name: str) -> AppTest:
    """Run one page script on its own, as a fresh browser session would."""
    return AppTest.from_file(str(PAGES_DIR / name), default_timeout=TIMEOUT).run()


def texts(at: AppTest) -> str:
    """All markdown, captions and alerts on the page, joined."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for kind in (at.error, at.warning, at.info, at.success) for e in kind]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.key)
def test_every_page_runs_on_an_empty_database(data_dir, page):
    at = run_page(page.file)
    assert not at.exception
    assert at.title[0].value == page.title


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.key)
def test_every_page_runs_with_the_sample_project(data_dir, tmp_path, monkeypatch, page):
    sample = write_predictions(tmp_path / "sample.csv")
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(sample))
    at = run_page(page.file)
    assert not at.exception
    assert at.sidebar.selectbox[0].value is not None
    assert "What to do next" in texts(at)


def test_router_runs_home_by_default(data_dir):
    at = AppTest.from_file(
        str(PAGES_DIR.parent / "strategy_app" / "app.py"), default_timeout=TIMEOUT
    ).run()
    assert not at.exception
    assert at.title[0].value == "Home"


def test_sample_project_shows_a_full_diagnosis_at_once(data_dir, tmp_path, monkeypatch):
    sample = write_predictions(tmp_path / "sample.csv")
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(sample))
    at = run_page("diagnose.py")
    assert not at.exception
    assert "Action plan" in [h.value.split(": ")[-1].split(":")[-1].strip() for h in at.subheader]
    assert any("By device" in h.value for h in at.subheader)
    assert len(at.tabs) == 2
    home = run_page("home.py")
    assert "strategy.db" in texts(home)


def test_home_creates_renames_and_deletes_with_confirmation(data_dir):
    at = run_page("home.py")
    assert "No project yet" in texts(at)
    at.text_input[0].set_value("cat detector")
    at.button[0].click().run()
    store = open_store()
    (project,) = store.projects.list()
    assert project.name == "cat detector"
    at.text_input(key=f"rename_{project.id}").set_value("cat detector v2")
    at.button(key="rename_button").click().run()
    assert store.projects.get(project.id).name == "cat detector v2"
    delete = next(b for b in at.button if b.label == "Delete project")
    assert delete.disabled
    at.checkbox(key=f"confirm_delete_{project.id}").check().run()
    next(b for b in at.button if b.label == "Delete project").click().run()
    assert store.projects.list() == []
    assert not at.exception


def test_home_switches_project(data_dir):
    store = open_store()
    first = store.projects.create("first")
    store.projects.create("second")
    at = run_page("home.py")
    assert at.sidebar.selectbox[0].value != first.id
    at.button(key=f"open_{first.id}").click().run()
    assert at.sidebar.selectbox[0].value == first.id
    assert store.projects.list()[0].id == first.id


def type_seed_levels(at: AppTest, pid: int) -> AppTest:
    at.segmented_control(key=f"source_{pid}").set_value("typed").run()
    for split, value in {"train": 8, "train_dev": 9, "dev": 12, "test": 13}.items():
        at.number_input(key=f"typed_{split}_error_{pid}").set_value(value)
    at.run()
    at.text_input(key=f"human_name_{pid}").set_value("expert")
    at.number_input(key=f"human_value_{pid}").set_value(1)
    return at.button(key=f"add_human_{pid}").click().run()


def test_typing_the_seed_levels_shows_gaps_and_plan_and_is_restored(data_dir):
    store = open_store()
    project = store.projects.create("seed")
    at = type_seed_levels(run_page("diagnose.py"), project.id)
    assert not at.exception
    gaps = at.dataframe[0].value
    assert list(gaps["size"]) == ["+7.0%", "+1.0%", "+3.0%", "+1.0%"]
    assert list(gaps["status"]) == ["1st", "3rd", "2nd", "4th"]  # the full words are its help
    plan = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert plan[0] == "#### 1. Avoidable bias · 7.0%"
    assert [p.split(". ")[1].split(" ·")[0] for p in plan] == [
        "Avoidable bias",
        "Data mismatch",
        "Variance",
        "Dev overfitting",
    ]
    saved = store.diagnose_state.load(project.id)
    assert saved.typed_levels == {"train": 0.08, "train_dev": 0.09, "dev": 0.12, "test": 0.13}
    again = run_page("diagnose.py")  # a new session: everything comes back from the database
    assert again.number_input(key=f"typed_train_error_{project.id}").value == 8.0
    assert list(again.dataframe[0].value["size"]) == ["+7.0%", "+1.0%", "+3.0%", "+1.0%"]
    assert "Largest gap is **avoidable bias** (7.0%)" in texts(again)


def test_several_human_levels_best_is_the_proxy(data_dir):
    store = open_store()
    project = store.projects.create("humans")
    at = type_seed_levels(run_page("diagnose.py"), project.id)
    pid = project.id
    for name, value in (("student", 5), ("team of experts", 0.7)):
        at.text_input(key=f"human_name_{pid}").set_value(name)
        at.number_input(key=f"human_value_{pid}").set_value(value)
        at.button(key=f"add_human_{pid}").click().run()
    assert "team of experts  :green-badge[proxy]" in texts(at)
    assert at.dataframe[0].value["size"].iloc[0] == "+7.3%"
    at.button(key=f"remove_human_2_{pid}").click().run()
    names = [h.name for h in store.diagnose_state.load(pid).human_levels]
    assert names == ["expert", "student"]


def test_bad_upload_shows_error_and_keeps_saved_state(data_dir, predictions_csv):
    store = open_store()
    project = store.projects.create("uploads")
    pid = project.id
    at = run_page("diagnose.py")
    at.file_uploader(key=f"upload_{pid}").set_value(
        ("predictions.csv", predictions_csv.read_bytes(), "text/csv")
    ).run()
    assert not at.exception
    saved = store.diagnose_state.load(pid)
    assert saved.upload_name == "predictions.csv"
    assert not at.error
    at.file_uploader(key=f"upload_{pid}").set_value(
        ("broken.csv", b"split,y_true\ntrain,1\n", "text/csv")
    ).run()
    assert "broken.csv has no column 'y_pred'" in at.error[0].value
    assert "Nothing was changed" in at.error[0].value
    assert store.diagnose_state.load(pid) == saved
    assert at.dataframe[0].value["gap"].iloc[0] == "variance"  # the saved file's waterfall


def test_slice_column_choice_is_saved(data_dir, predictions_csv):
    store = open_store()
    project = store.projects.create("slices")
    at = run_page("diagnose.py")
    at.file_uploader(key=f"upload_{project.id}").set_value(
        ("p.csv", predictions_csv.read_bytes(), "text/csv")
    ).run()
    at.selectbox(key=f"slice_{project.id}").set_value("device").run()
    assert store.diagnose_state.load(project.id).slice_column == "device"
    assert len(run_page("diagnose.py").tabs) == 2


def test_the_human_form_clears_after_add_and_refuses_a_duplicate_name(data_dir):
    store = open_store()
    project = store.projects.create("human form")
    pid = project.id
    at = type_seed_levels(run_page("diagnose.py"), pid)
    assert not at.exception
    assert at.text_input(key=f"human_name_{pid}").value == ""  # ready for the next one
    assert at.number_input(key=f"human_value_{pid}").value is None
    at.button(key=f"add_human_{pid}").click().run()  # Add again on the cleared form
    assert any("Give the human level's error" in e.value for e in at.error)
    at.text_input(key=f"human_name_{pid}").set_value("Expert")
    at.number_input(key=f"human_value_{pid}").set_value(2)
    at.button(key=f"add_human_{pid}").click().run()
    assert any("'Expert' is already a human level" in e.value for e in at.error)
    assert [h.name for h in store.diagnose_state.load(pid).human_levels] == ["expert"]
    assert at.text_input(key=f"human_name_{pid}").value == "Expert"  # kept, to correct it


def test_the_inputs_panel_stays_open_after_a_change(data_dir):
    """The browser keeps a panel open while its label and first state stay the same; a change
    of either (an upload, an added human level) made a new panel, closed again."""
    store = open_store()
    project = store.projects.create("open inputs")
    pid = project.id
    at = run_page("diagnose.py")
    before = next(e for e in at.expander if e.label.startswith(":material/input:"))
    assert before.proto.expanded  # nothing to diagnose yet: open
    at = type_seed_levels(at, pid)
    at.text_input(key=f"human_name_{pid}").set_value("student")
    at.number_input(key=f"human_value_{pid}").set_value(5)
    at.button(key=f"add_human_{pid}").click().run()
    after = next(e for e in at.expander if e.label.startswith(":material/input:"))
    assert (after.label, after.proto.expanded) == (before.label, before.proto.expanded)
    assert "typed levels · 2 human levels" in texts(at)  # the summary, beside the panel
