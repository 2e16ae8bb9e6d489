"""The downloaded report in a real browser: opened from disk offline, screenshot, PDF print."""

import shutil

import pytest

from diagnostics.report import render_html
from tests.test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
from tests.test_report import full_inputs

pytestmark = pytest.mark.browser


def test_report_opens_offline_and_prints_to_pdf(tmp_path):
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (run `make system-deps`)")
    from playwright.sync_api import expect, sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render_html(full_inputs()), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    requested, aborted = [], []

    def only_files(route) -> None:
        requested.append(route.request.url)
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        context = browser.new_context(viewport={"width": 1100, "height": 1400}, offline=True)
        context.route("**/*", only_files)
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(report.as_uri())
        expect(page.get_by_role("heading", name="Error waterfall")).to_be_visible()
        expect(page.locator("section#waterfall svg")).to_be_visible()
        expect(page.locator("section#search svg")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        pdf = page.pdf(format="A4", print_background=True)
        (ARTIFACTS / "report.pdf").write_bytes(pdf)
        browser.close()
    assert requested == [report.as_uri()]
    assert aborted == []
    assert errors == []
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1
