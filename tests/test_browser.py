"""A real browser (Debian's Chromium, headless, via Playwright) against ``serve``."""

import pytest

from tests import app_server
from tests.app_server import ARTIFACTS
from tests.conftest import write_predictions

pytestmark = pytest.mark.browser


def test_upload_predictions_shows_waterfall_and_plan(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a busy 2-core CI machine renders slowly
    predictions = write_predictions(tmp_path / "my_predictions.csv", rows_per_split=2000)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(60_000)
        page.goto(served_app)
        expect(page.get_by_role("heading", name="Home")).to_be_visible()
        page.get_by_label("Name").fill("browser project")
        page.get_by_role("button", name="Create project").click()
        expect(page.get_by_text("browser project").first).to_be_visible()
        page.goto(f"{served_app}/diagnose")
        expect(page.get_by_text("Nothing to diagnose yet")).to_be_visible()
        page.locator("input[type=file]").set_input_files(str(predictions))
        expect(page.get_by_role("heading", name="Action plan")).to_be_visible()
        expect(page.locator("[data-testid=stVegaLiteChart]").first).to_be_visible()
        expect(page.get_by_text("Inputs · my_predictions.csv")).to_be_visible()
        page.wait_for_timeout(1500)  # let the chart finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "diagnose.png"), full_page=True)
        page.goto(f"{served_app}/diagnose")  # a new session finds the saved upload again
        expect(page.get_by_role("heading", name="Action plan")).to_be_visible()
        browser.close()


def test_no_request_leaves_the_machine_on_any_page(served_app):
    """No call home: every request of every page (favicon included) goes to the app itself.

    The project's name carries a markdown image; escaped, it is text and fetches nothing.
    """
    from playwright.sync_api import expect, sync_playwright

    from strategy_app.shell.navigation import PAGES

    expect.set_options(timeout=60_000)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(served_app)
        expect(page.get_by_role("heading", name="Home")).to_be_visible()
        page.get_by_label("Name").fill("MD ![t](http://127.0.0.1:9/track.png)")
        page.get_by_role("button", name="Create project").click()
        expect(page.get_by_text("![t](http://127.0.0.1:9/track.png)").first).to_be_visible()
        icons = []
        for info in PAGES:
            page.goto(f"{served_app}/{info.url_path}")
            expect(page.get_by_role("heading", name=info.title).first).to_be_visible()
            page.wait_for_timeout(1000)  # late requests: fonts, icons
            icons.append(page.locator("link[rel='shortcut icon']").get_attribute("href"))
        browser.close()
    outside = [u for u in requested if not u.startswith((served_app, "data:", "blob:"))]
    assert outside == [], outside
    assert all(not icon.startswith("http") or icon.startswith(served_app) for icon in icons), icons
