"""Diagnose's target-data curve in a real browser, at 1400 and 1024 px: uploaded as the JSON of
``learning-curve --target-pool``, it is kept with the version (a reload, a new session, still
shows it), the chart stays inside the action plan's column and the plan's target-data line
carries the forecast (screenshots in test-artifacts/target-curve-*.png)."""

import json
from types import SimpleNamespace

import pytest

from diagnostics.search.target import run_target_curve
from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.store import open_store
from tests import app_server
from tests.objectives.target import knn_target, mismatched_frame

pytestmark = pytest.mark.browser


def test_the_target_curve_is_drawn_inside_its_column_at_two_widths(
    served_app, tmp_path, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "mismatched.csv"
    mismatched_frame().to_csv(data, index=False)
    curve = run_target_curve(
        "tests.objectives.target:knn_target", dataset=f"csv:{data}", pool="domain=phone",
        label="label", seeds=2, data_dir=str(tmp_path / "runs"), study="browser",
    )  # fmt: skip
    curve_file = tmp_path / "target.json"
    curve_file.write_text(json.dumps(curve))
    context = SimpleNamespace(dataset=f"csv:{data}", target_pool="domain=phone", target_k=0, seed=0)
    predictions = tmp_path / "k0.csv"
    knn_target({}, context).to_csv(predictions, index=False)
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    store = open_store(folder=tmp_path / "data")
    project = store.projects.create("mismatch")
    accept_upload(store, project.id, "k0.csv", predictions.read_bytes(), LOCAL_USER, label="k0")
    store.close()
    expect.set_options(timeout=90_000)
    app_server.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(90_000)
        try:
            page.goto(f"{served_app}/diagnose")
            page.get_by_text("Target data: what moving target examples in is worth").click()
            page.locator("input[type=file]").last.set_input_files(str(curve_file))
            forecast = page.get_by_text("Put some target-distribution data into training — about")
            expect(forecast).to_be_visible()
            page.reload()  # a new session: the curve is the version's, not the session's
            expect(forecast).to_be_visible()
            expect(page.get_by_text("measured for v1 · k0")).to_be_visible()
            chart = page.locator(".stVegaLiteChart").last
            expect(chart).to_be_visible()
            app_server.chart_fits_its_column(page, chart, "target-curve")
        finally:
            browser.close()
