"""Diagnose with a learning curve kept with the version (``learning-curve --project``), in a
real browser at 1400 and 1024 px: shown without typing anything, the chart inside the action
plan's column, no sideways scroll (screenshots in test-artifacts/saved-curve-*.png)."""

from types import SimpleNamespace

import pytest

from diagnostics.learning_curve import forecast_line
from strategy_app.auth import LOCAL_USER
from strategy_app.curve import saved
from strategy_app.diagnose.service import accept_upload
from strategy_app.store import open_store
from tests import app_server
from tests.objectives import models

pytestmark = pytest.mark.browser
SIZES = {1.0: 898, 1 / 2: 449, 1 / 4: 224, 1 / 8: 112}  # the smallest is current: more data


def test_a_saved_curve_is_drawn_inside_its_column_at_two_widths(served_app, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    store = open_store(folder=tmp_path / "data")
    project = store.projects.create("saved curve")
    runs = []
    for fraction, size in SIZES.items():
        path = tmp_path / f"v{size}.csv"
        context = SimpleNamespace(train_fraction=fraction, seed=0)
        models.ridge_curve({"C": 1.0}, context).to_csv(path, index=False)
        accept_upload(store, project.id, path.name, path.read_bytes(), LOCAL_USER, label=str(size))
        runs.append((path, size))
    curve = saved.curve_from_runs([*runs, *runs[1:]])
    saved.save_version_curve(store, store.versions.current(project.id), curve, LOCAL_USER)
    store.close()
    expect.set_options(timeout=90_000)
    app_server.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(90_000)
        try:
            page.goto(f"{served_app}/diagnose")
            line = f"Get more training data — {forecast_line(curve)}"
            expect(page.get_by_text(line)).to_be_visible()
            chart = page.locator(".stVegaLiteChart").last
            expect(chart).to_be_visible()
            app_server.chart_fits_its_column(page, chart, "saved-curve")
        finally:
            browser.close()
