"""AppTest tests of model versions on the pages: the sidebar switches versions, error analysis
shows each version's own sample and ceiling, tags carry over, Diagnose compares two versions."""

from types import SimpleNamespace

import pandas as pd
from streamlit.testing.v1 import AppTest

from diagnostics.ingest import read_predictions
from diagnostics.report import render_html
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.errors import service as labeling
from strategy_app.report.service import project_inputs
from strategy_app.search.service import load_search_dataset
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import SplitPageState, open_store
from strategy_app.store.labels import LabelEdit
from tests.conftest import write_predictions


def two_versions(tmp_path):
    """A project whose v1 has a tagged sample of 10 dev errors and whose v2 (current) fixes
    every other dev error of v1, on the same ids."""
    first = write_predictions(tmp_path / "v1.csv", rows_per_split=100)
    frame = pd.read_csv(first)
    dev_errors = frame.index[(frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])]
    fixed = dev_errors[::2]
    frame.loc[fixed, "y_pred"] = frame.loc[fixed, "y_true"]
    second = tmp_path / "v2.csv"
    frame.to_csv(second, index=False)
    store = open_store()
    project = store.projects.create("p")
    accept_upload(store, project.id, "v1.csv", first.read_bytes(), LOCAL_USER, label="logistic")
    v1 = store.versions.current(project.id)
    sample = labeling.draw_sample(
        store, v1.id, read_predictions(first), 10, seed=0, user=LOCAL_USER
    )
    mislabeled = next(c.id for c in store.labels.categories(v1.id) if c.name == "mislabeled")
    for example in sample.ids[:4]:
        store.labels.save_edit(v1.id, LabelEdit(example, "", add=frozenset({mislabeled})), 0)
    accept_upload(
        store, project.id, "v2.csv", second.read_bytes(), LOCAL_USER, label="search s1 best"
    )
    v2 = store.versions.current(project.id)
    still_wrong = {str(i) for i in frame.loc[dev_errors.difference(fixed), "id"]}
    return SimpleNamespace(
        store=store, project=project, v1=v1, v2=v2, sample=sample, still_wrong=still_wrong
    )


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES_DIR / name), default_timeout=60).run()


def captions(at: AppTest) -> str:
    return "\n".join(e.value for e in [*at.caption, *at.markdown])


def test_error_analysis_shows_each_versions_own_sample_and_ceiling(data_dir, tmp_path):
    made = two_versions(tmp_path)
    store, project, v1, v2, sample = made.store, made.project, made.v1, made.v2, made.sample
    at = page("error_analysis.py")
    assert not at.exception
    assert "v2 · search s1 best" in captions(at)
    assert [h.value for h in at.subheader][:2] == ["Carry tags over", "Draw a sample"]
    assert (
        f"label_view_{v2.id}" not in at.session_state
        or at.session_state[f"label_view_{v2.id}"] is None
    )
    assert not any("best dev error after fix" in d.value for d in at.dataframe)

    at.sidebar.selectbox(key=f"sidebar_version_{project.id}").set_value(v1.id).run()
    assert not at.exception
    # the choice is this session's: what is saved as the project's current stays v2
    assert store.versions.current(project.id).id == v2.id
    assert "v1 · logistic" in captions(at)
    view = at.session_state[f"label_view_{v1.id}"]
    assert view.ids == sample.ids
    table = next(d.value for d in at.dataframe if "best dev error after fix" in d.value)
    assert dict(zip(table["category"], table["count"], strict=True))["mislabeled"] == 4
    summary = labeling.dev_error_summary_of(store, v1.state)
    assert f"dev error {summary['dev_error']:.1%}" in captions(at)

    at.sidebar.selectbox(key=f"sidebar_version_{project.id}").set_value(v2.id).run()
    at.button(key=f"carry_go_{v2.id}").click().run()
    assert not at.exception
    carried = store.labels.sample(v2.id)
    assert carried.carried == {i for i in sample.ids[:4] if i in made.still_wrong}
    assert carried.carried <= set(carried.ids) <= made.still_wrong
    fixed_text = captions(at)
    assert "What the new model fixed" in "\n".join(h.value for h in at.subheader)
    fixed_now = 4 - len(carried.carried)
    assert f"mislabeled: {fixed_now} of 4 fixed" in fixed_text
    assert len(store.labels.reviews(v1.id)) == 4  # v1 keeps its own tags
    sheet = at.session_state[f"label_view_{v2.id}"].frame  # carried rows are marked
    assert set(sheet.loc[sheet["carried"], "id"]) == carried.carried
    assert carried.carried
    show = next(s for s in at.selectbox if s.label == "Show")
    show.select("carried over").run()
    kept = at.session_state[f"label_view_{v2.id}"].frame
    assert set(kept["id"]) == carried.carried


def test_diagnose_compares_the_current_version_with_the_one_before(data_dir, tmp_path):
    two_versions(tmp_path)
    at = page("diagnose.py")
    assert not at.exception
    assert any("Compare versions" in h.value for h in at.subheader)
    text = captions(at)
    assert "**v1 · logistic → v2 · search s1 best**" in text
    assert "dev paired on 100 shared examples" in text
    levels = next(d.value for d in at.dataframe if "test" in d.value.columns)
    dev = levels[levels["level"] == "dev"].iloc[0]
    assert dev["real?"] in ("real", "within noise") and dev["test"].startswith("paired on 100")
    assert "mislabeled: " in text and "the ceiling promised" in text


def test_deleting_a_version_asks_first_and_keeps_the_other(data_dir, tmp_path):
    made = two_versions(tmp_path)
    store, project, v1, v2 = made.store, made.project, made.v1, made.v2
    at = page("diagnose.py")
    assert at.sidebar.button(key=f"delete_version_{v2.id}").disabled
    at.sidebar.checkbox(key=f"confirm_delete_version_{v2.id}").check().run()
    at.sidebar.button(key=f"delete_version_{v2.id}").click().run()
    assert not at.exception
    assert [v.id for v in store.versions.list(project.id)] == [v1.id]
    assert store.versions.current(project.id).id == v1.id
    assert len(store.labels.reviews(v1.id)) == 4


def test_splits_writes_the_projects_dataset_that_search_trains_on(data_dir):
    store = open_store()
    project = store.projects.create("p")
    rows = 2_000
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(rows)],
            "x1": [i % 17 for i in range(rows)],
            "x2": [(i * 7) % 13 for i in range(rows)],
            "digit": [i % 3 for i in range(rows)],
        }
    )
    upload = store.uploads.add("rows.csv", frame.to_csv(index=False).encode())
    store.split_plans.save(project.id, SplitPageState(upload_sha256=upload.sha256))
    at = page("splits.py")
    assert at.button(key=f"split_to_project_{project.id}").disabled  # no label chosen yet
    at.selectbox(key=f"split_label_{project.id}").set_value("digit").run()
    at.button(key=f"split_to_project_{project.id}").click().run()
    assert not at.exception
    assert any("as the project's dataset" in s.value for s in at.success)
    spec = store.projects.dataset_spec(project.id)
    data = load_search_dataset(spec)
    assert sum(data.sizes().values()) == rows and data.n_features == 2
    written = pd.read_csv(spec.removeprefix("csv:"))
    assert list(written.columns) == ["id", "x1", "x2", "label", "split"]
    ids = {str(i) for split in data.ids.values() for i in split}
    assert ids == set(frame["id"])


def test_report_says_what_changed_and_uses_the_current_versions_ceiling(data_dir, tmp_path):
    made = two_versions(tmp_path)
    inputs = project_inputs(made.store, made.project)
    assert inputs.ceiling is None  # v2 has no tagged sample yet; v1's is not shown against v2
    assert inputs.comparison["before"] == "v1 · logistic"
    assert inputs.comparison["levels"]["dev"]["paired"]
    html = render_html(inputs)
    assert '<section id="changed">' in html and "What the new model fixed · mislabeled" in html
    made.store.versions.set_current(made.project.id, made.v1.id)
    inputs = project_inputs(made.store, made.project)
    assert inputs.comparison is None and inputs.ceiling.reviewed == 4
