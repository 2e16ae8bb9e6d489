"""Diagnose's learning curve in a real browser, at 1400 and 1024 px: the chart stays inside
the action plan's column (screenshots in test-artifacts/learning-curve-*.png)."""

from types import SimpleNamespace

import pytest

from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_upload
from strategy_app.store import open_store
from tests import app_server
from tests.objectives import models

pytestmark = pytest.mark.browser
SIZES = {1.0: 898, 1 / 2: 449, 1 / 4: 224, 1 / 8: 112}


def test_the_curve_is_drawn_inside_its_column_at_two_widths(served_app, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    store = open_store(folder=tmp_path / "data")
    project = store.projects.create("curve")
    for fraction, size in SIZES.items():
        for seed in (0, 1) if fraction < 1 else (0,):
            path = tmp_path / f"v{size}-{seed}.csv"
            context = SimpleNamespace(train_fraction=fraction, seed=seed)
            models.ridge_curve({"C": 1.0}, context).to_csv(path, index=False)
            accept_upload(
                store, project.id, path.name, path.read_bytes(), LOCAL_USER, label=str(size)
            )
    versions = store.versions.list(project.id)
    store.close()
    expect.set_options(timeout=90_000)
    app_server.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(90_000)
        try:
            page.goto(f"{served_app}/diagnose")
            page.get_by_text("Learning curve: what more data is worth").click()
            for version in versions:
                field = page.get_by_role("spinbutton", name=f"Train rows of {version.name}")
                field.fill(version.name.split(" · ")[1])
                field.press("Enter")
            page.get_by_role("button", name="Fit the learning curve").click()
            expect(page.get_by_text("Get more training data — about 2× the data")).to_be_visible()
            chart = page.locator(".stVegaLiteChart").last
            expect(chart).to_be_visible()
            app_server.chart_fits_its_column(page, chart, "learning-curve")
        finally:
            browser.close()
