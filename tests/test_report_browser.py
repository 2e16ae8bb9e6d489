"""The downloaded report in a real browser: opened from disk offline, screenshot, PDF print."""

import io
import shutil

import pytest
from pypdf import PdfReader

from diagnostics.report import render_html
from strategy_app.store import open_store
from tests import app_server
from tests.app_server import ARTIFACTS, CHROMIUM
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
        browser = app_server.launch(playwright)
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
        first_heading = page.locator("section h2").first.inner_text()
        pdf = page.pdf(format="A4", print_background=True)
        (ARTIFACTS / "report.pdf").write_bytes(pdf)
        browser.close()
    assert requested == [report.as_uri()]
    assert aborted == []
    assert errors == []
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1
    # the printed report starts with its first section, not a page left mostly empty
    first_page = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert first_heading in first_page, first_page[:400]
    assert "Error waterfall" in first_page, first_page[:400]  # the long chart section too


def test_share_link_in_the_served_app(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    store = open_store(folder=tmp_path / "data")
    hidden = store.projects.create("hidden project")
    project = store.projects.create("shared project")
    store.shares.create(hidden.id, "hidden", "<p>hidden</p>", {})
    inputs = full_inputs()
    share = store.shares.create(project.id, inputs.title, render_html(inputs), {})
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1200, "height": 1200})
        page.set_default_timeout(60_000)
        page.goto(f"{served_app}/?report={share.token}")
        frame = page.frame_locator("iframe").first
        expect(frame.get_by_role("heading", name="Error waterfall")).to_be_visible()
        assert page.locator("iframe").first.bounding_box()["height"] > 900  # fills the window
        expect(page.locator("[data-testid=stSidebar]")).to_have_count(0)
        assert "hidden project" not in page.content()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "share.png"))
        page.goto(f"{served_app}/?report=not-a-token")
        expect(page.get_by_text("This link is not valid.")).to_be_visible()
        expect(page.locator("iframe")).to_have_count(0)
        browser.close()
