"""A real browser starts a search, reloads the page mid-run and still sees it finish."""

import pytest

from tests import app_server

pytestmark = pytest.mark.browser


def test_search_survives_a_reload_and_finishes(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)  # a busy 2-core machine trains slowly
    app_server.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=app_server.CHROMIUM, headless=True, args=app_server.LAUNCH_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(60_000)
        page.goto(served_app)
        page.get_by_label("Name").fill("search project")
        page.get_by_role("button", name="Create project").click()
        expect(page.get_by_text("search project").first).to_be_visible()
        page.goto(f"{served_app}/search")
        expect(page.get_by_role("heading", name="Search space")).to_be_visible()
        for label, value in (
            ("Coarse-to-fine rounds", "1"),
            ("Trials per round", "8"),
            ("Epochs per trial (round 1)", "3"),
        ):
            field = page.get_by_role("spinbutton", name=label)
            field.fill(value)
            field.press("Enter")
            expect(field).to_have_value(value)
        page.get_by_role("button", name="Start search").click()
        expect(page.get_by_text("trials finished", exact=False).first).to_be_visible()
        page.reload()  # a new session: the run is found again and still progresses
        try:
            expect(page.get_by_text("Best: trial")).to_be_visible()
        except AssertionError as exc:
            raise AssertionError(app_server.what_the_app_showed(page, tmp_path)) from exc
        expect(page.get_by_text("finished", exact=False).first).to_be_visible()
        page.get_by_text("Best: trial").scroll_into_view_if_needed()  # the app scrolls inside
        page.screenshot(path=str(app_server.ARTIFACTS / "search.png"))
        browser.close()
