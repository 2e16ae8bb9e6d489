"""AppTest: Diagnose takes a target-data curve (the JSON of ``learning-curve --target-pool``) and
keeps it with the version shown (audited); the curve is drawn beside the plan and the plan's
target-data line carries its forecast, for that version only."""

from __future__ import annotations

import json
from types import SimpleNamespace

from streamlit.testing.v1 import AppTest

from diagnostics.target_curve import fit_target_curve, target_forecast_line
from strategy_app.auth import LOCAL_USER
from strategy_app.curve import saved
from strategy_app.curve.service import TARGET
from strategy_app.diagnose.service import accept_upload
from strategy_app.shell.markdown import escape_markdown
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.objectives.target import knn_target, mismatched_frame
from tests.test_target_curve import curve_points

ACTION = "Put some target-distribution data into training"


def mismatched_project(tmp_path, steps=(0,)):
    """A project whose versions are the runs of the mismatched set at these ``steps`` (k pool
    rows added; each has a data-mismatch gap); the last is current."""
    data = tmp_path / "mismatched.csv"
    mismatched_frame().to_csv(data, index=False)
    store = open_store()
    project = store.projects.create("mismatch")
    for k in steps:
        context = SimpleNamespace(
            dataset=f"csv:{data}", target_pool="domain=phone", target_k=k, seed=0
        )
        path = tmp_path / f"k{k}.csv"
        knn_target({}, context).to_csv(path, index=False)
        accept_upload(store, project.id, path.name, path.read_bytes(), LOCAL_USER, label=f"k{k}")
    return store, project


def upload(at: AppTest, project, version, name: str, content: bytes) -> AppTest:
    key = f"target_upload_{project.id}_{version.id}"
    return at.file_uploader(key=key).set_value((name, content, "application/json")).run()


def plan_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_a_target_curve_is_kept_with_its_version_and_the_plan_carries_its_forecast(
    data_dir, tmp_path
) -> None:
    store, project = mismatched_project(tmp_path, steps=(0, 50))
    first, second = sorted(store.versions.list(project.id), key=lambda v: v.number)
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert not at.exception
    assert f"- {ACTION}\n" in plan_text(at) + "\n"  # no forecast yet
    curve = fit_target_curve(curve_points()).to_dict()
    at = upload(at, project, second, "target.json", json.dumps(curve).encode())
    assert not at.exception and not at.error
    line = target_forecast_line(curve)
    assert f"{ACTION} — {line}" in plan_text(at).replace("\\", "")
    assert any("target examples close half the" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 2  # the waterfall and the target curve
    # kept with the version shown (v2), audited; v1 has none
    assert store.versions.get(second.id).target_curve == curve
    assert store.versions.get(first.id).target_curve is None
    (entry,) = [c for c in store.audit.history(project.id) if c.action == "target curve"]
    assert (entry.user, entry.target) == ("local", second.name)

    # a new session (nothing uploaded) shows it with v2 ...
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert not at.exception and not at.error
    assert f"{ACTION} — {line}" in plan_text(at).replace("\\", "")
    assert any(c.value == f"measured for {second.name}" for c in at.caption)
    assert any("has a target-data curve" in i.value for i in at.info)
    # ... and never beside another version: v1's plan has the action without the forecast
    store.versions.set_current(project.id, first.id)
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert not at.exception and not at.error
    assert f"- {ACTION}\n" in plan_text(at) + "\n"
    assert "target examples (" not in plan_text(at)
    assert not any("measured for" in c.value for c in at.caption)
    assert not any("has a target-data curve" in i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) == 1  # the waterfall only


def test_a_file_that_is_not_a_target_curve_is_one_line_and_nothing_changes(
    data_dir, tmp_path
) -> None:
    from tests.test_report import learning_curve_dict

    store, project = mismatched_project(tmp_path)
    (version,) = store.versions.list(project.id)
    before = store.versions.list(project.id)
    refused = {
        "curve.json": (
            json.dumps({"points": [], "fit": None}),
            "curve.json: not a target-data curve (no kind 'target_data' with points, fit and "
            "forecasts); give the output of learning-curve --target-pool … --json",
        ),
        "learning.json": (
            json.dumps(learning_curve_dict()),
            "learning.json: a learning curve (learning-curve without --target-pool), not a "
            "target-data curve; give the output of learning-curve --target-pool … --json",
        ),
        "broken.json": (
            '{"kind": "target_data", "points": [',
            "broken.json: not JSON; give the output of learning-curve --target-pool … --json",
        ),
    }
    for name, (content, message) in refused.items():
        at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
        at = upload(at, project, version, name, content.encode())
        assert not at.exception
        assert [e.value for e in at.error] == [message]
    assert store.versions.list(project.id) == before
    assert store.versions.get(version.id).target_curve is None
    assert not [c for c in store.audit.history(project.id) if c.action == "target curve"]


def test_an_unreadable_saved_target_curve_is_one_line_on_diagnose(data_dir, tmp_path) -> None:
    store, project = mismatched_project(tmp_path)
    (version,) = store.versions.list(project.id)
    damaged = {"kind": "target_data", "points": [], "runs": [], "fit": None, "forecasts": "x"}
    store.versions.save_curve(version.id, damaged, "target_curve")
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        escape_markdown(
            f"the saved target-data curve of {version.name}: 'forecasts' is not a list of "
            "objects; give the output of learning-curve --target-pool … --json"
        )
    ]
    assert f"- {ACTION}\n" in plan_text(at) + "\n"  # the plan stays, without a forecast
    assert len(at.get("vega_lite_chart")) == 1  # the waterfall stays
    assert store.versions.get(version.id).target_curve == damaged  # nothing saved changed


def test_the_report_page_offers_the_shown_versions_target_curve(data_dir, tmp_path) -> None:
    from tests.test_curve_saved_pages import report_section

    store, project = mismatched_project(tmp_path, steps=(0, 50))
    first, second = sorted(store.versions.list(project.id), key=lambda v: v.number)
    curve = fit_target_curve(curve_points()).to_dict()
    saved.save_version_curve(store, second, curve, LOCAL_USER, TARGET)
    box, html = report_section(project.id, "target")
    assert not box.disabled and box.value
    assert "Target data: what moving target examples in is worth" in html
    assert f"measured for {second.name}" in html
    assert f"into training — {target_forecast_line(curve)}" in html

    store.versions.set_current(project.id, first.id)  # v1 has no target curve: no section
    box, html = report_section(project.id, "target")
    assert box.disabled and not box.value
    assert "Target data: what moving target examples in is worth" not in html
    assert "into training — about" not in html
