"""AppTest: Diagnose takes a target-data curve (the JSON of ``learning-curve --target-pool``);
the curve is drawn beside the plan and the plan's target-data line carries its forecast."""

from __future__ import annotations

import json
from types import SimpleNamespace

from streamlit.testing.v1 import AppTest

from diagnostics.target_curve import fit_target_curve, target_forecast_line
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from tests.objectives.target import knn_target, mismatched_frame
from tests.test_target_curve import curve_points

ACTION = "Put some target-distribution data into training"


def mismatched_project(tmp_path):
    """A project whose version is the k = 0 run of the mismatched set (a data-mismatch gap)."""
    data = tmp_path / "mismatched.csv"
    mismatched_frame().to_csv(data, index=False)
    context = SimpleNamespace(dataset=f"csv:{data}", target_pool="domain=phone", target_k=0, seed=0)
    path = tmp_path / "k0.csv"
    knn_target({}, context).to_csv(path, index=False)
    store = open_store()
    project = store.projects.create("mismatch")
    accept_upload(store, project.id, "k0.csv", path.read_bytes(), LOCAL_USER, label="k0")
    return store, project


def test_a_target_curve_is_drawn_and_the_plan_carries_its_forecast(data_dir, tmp_path) -> None:
    _, project = mismatched_project(tmp_path)
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert not at.exception
    plan = "\n".join(m.value for m in at.markdown)
    assert f"- {ACTION}\n" in plan + "\n"  # no forecast yet
    curve = fit_target_curve(curve_points()).to_dict()
    at.file_uploader(key=f"target_upload_{project.id}").set_value(
        ("target.json", json.dumps(curve).encode(), "application/json")
    ).run()
    assert not at.exception and not at.error
    plan = "\n".join(m.value for m in at.markdown)
    line = target_forecast_line(curve)
    assert f"{ACTION} — {line}" in plan.replace("\\", "")
    assert any("target examples close half the" in c.value for c in at.caption)
    assert at.session_state[f"_target_curve_{project.id}"]["kind"] == "target_data"


def test_a_file_that_is_not_a_target_curve_is_one_line_and_nothing_changes(
    data_dir, tmp_path
) -> None:
    store, project = mismatched_project(tmp_path)
    before = store.versions.list(project.id)
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    at.file_uploader(key=f"target_upload_{project.id}").set_value(
        ("curve.json", json.dumps({"points": [], "fit": None}).encode(), "application/json")
    ).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "curve.json: not a target-data curve (no kind 'target_data' with points, fit and "
        "forecasts); give the output of learning-curve --target-pool … --json"
    ]
    assert f"_target_curve_{project.id}" not in at.session_state
    assert store.versions.list(project.id) == before
