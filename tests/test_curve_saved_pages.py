"""AppTest: Diagnose and Report show the learning curve kept with the project (issue 28): the
fit on the versions' saved train sizes in a new session, a version's own measured curve (never
another version's), and one line for a saved curve that cannot be read."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from diagnostics.learning_curve import forecast_line
from strategy_app.auth import LOCAL_USER
from strategy_app.curve import saved
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.test_curve_saved import SIZES, fraction_of, upload_versions

TIMEOUT = 120


def diagnose_page() -> AppTest:
    return AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=TIMEOUT).run()


def report_section(project_id: int, section: str):
    """The Report page in a new session: the ``section``'s checkbox and the report's HTML."""
    at = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    box = at.checkbox(key=f"report_section_{project_id}_{section}")
    return box, next(e.proto.srcdoc for e in at.get("iframe"))


def plan_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_saved_sizes_show_the_curve_in_a_new_session_without_typing(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("sizes")
    # the current version (the last uploaded) is the smallest: its plan says "more data"
    versions = upload_versions(store, project.id, tmp_path, (0.75, *reversed(SIZES)))
    unsized, *sized = versions
    sizes = {v.id: SIZES[fraction_of(v)] for v in sized}
    saved.save_train_sizes(store, project.id, sizes, LOCAL_USER)
    curve = saved.sizes_curve(store, project.id)
    assert curve is not None

    at = diagnose_page()
    assert not at.exception and not at.error
    assert f"Get more training data — {forecast_line(curve)}" in plan_text(at)
    captions = [c.value for c in at.caption]
    note = f"fitted on the train sizes of 4 versions · left out (no train size): {unsized.name}"
    assert escape_markdown(note) in captions
    for version in sized:  # the fields show the saved sizes
        field = at.number_input(key=f"curve_size_{project.id}_{version.id}")
        assert field.value == sizes[version.id]
    assert at.number_input(key=f"curve_size_{project.id}_{unsized.id}").value is None


def test_a_measured_curve_is_shown_with_its_version_only(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("measured")
    versions = upload_versions(store, project.id, tmp_path, tuple(reversed(SIZES)))
    runs = [(store.uploads.path(v.state.upload_sha256), SIZES[fraction_of(v)]) for v in versions]
    curve = saved.curve_from_runs([*runs, *runs[:2]])  # other points than any sizes' fit
    current = versions[-1]
    saved.save_version_curve(store, current, curve, LOCAL_USER)

    at = diagnose_page()
    assert not at.exception and not at.error
    assert f"Get more training data — {forecast_line(curve)}" in plan_text(at)
    assert any(c.value == f"measured for {current.name}" for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 2  # the waterfall and the curve
    assert any("has a learning curve measured by" in i.value for i in at.info)

    store.versions.set_current(project.id, versions[1].id)  # another version: not its curve
    at = diagnose_page()
    assert not at.exception and not at.error
    assert "Get more training data" in plan_text(at)  # its plan says more data, no forecast
    assert "about 2× the data" not in plan_text(at)
    assert not any("measured for" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1  # the waterfall only


def test_an_unreadable_saved_curve_is_one_line_on_diagnose(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("unreadable")
    (v1,) = upload_versions(store, project.id, tmp_path, (1.0,))
    store.versions.save_curve(v1.id, {"points": [], "runs": [], "fit": None, "forecasts": "x"})
    at = diagnose_page()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"the saved learning curve of {v1.name}: 'forecasts' is not a list of objects; give the "
        "output of learning-curve --json"
    ]
    assert len(at.get("vega_lite_chart")) == 1  # the waterfall stays
    assert store.versions.get(v1.id).learning_curve["forecasts"] == "x"  # nothing saved changed


def test_the_report_page_offers_the_saved_curve(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("report")
    versions = upload_versions(store, project.id, tmp_path)
    runs = [(store.uploads.path(v.state.upload_sha256), SIZES[fraction_of(v)]) for v in versions]
    saved.save_version_curve(store, versions[-1], saved.curve_from_runs(runs), LOCAL_USER)
    store.close()
    box, html = report_section(project.id, "curve")
    assert not box.disabled and box.value
    assert "Learning curve: what more data is worth" in html
    assert f"measured for {versions[-1].name}" in html
