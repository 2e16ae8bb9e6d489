"""The sample project's loop in a real browser: v1 logistic regression with tagged errors → a
search on the project's dataset → v2, compared paired with v1, tags carried over."""

import pytest

from strategy_app.store import open_store
from strategy_app.store.labels import LabelEdit
from tests import test_browser

pytestmark = pytest.mark.browser
SAMPLE = test_browser.ROOT / "sample_data" / "predictions.csv"


@pytest.fixture
def served_sample(tmp_path):
    yield from test_browser.serve(tmp_path, SAMPLE)


def tag_v1(data_dir, wanted: int = 12) -> None:
    """Tag the first examples of the sample v1's error-analysis page drew (as a reviewer
    would in the table: every edit goes through the store the page uses)."""
    store = open_store(folder=data_dir)
    (project,) = store.projects.list()
    (v1,) = store.versions.list(project.id)
    blurry = next(c.id for c in store.labels.categories(v1.id) if c.name.startswith("blurry"))
    for example in store.labels.sample(v1.id).ids[:wanted]:
        store.labels.save_edit(v1.id, LabelEdit(example, "", add=frozenset({blurry})), 0)
    store.close()


def test_sample_loop_search_new_version_comparison_and_carried_tags(
    served_sample, tmp_path, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    expect.set_options(timeout=90_000)  # a busy 2-core machine renders slowly
    test_browser.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=test_browser.CHROMIUM, headless=True, args=test_browser.LAUNCH_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(90_000)
        try:
            page.goto(f"{served_sample}/errors")
            expect(page.get_by_text("v1 · logistic regression").first).to_be_visible()
            page.get_by_role("button", name="Draw sample").click()
            expect(page.get_by_text("reviewed", exact=False).first).to_be_visible()
            tag_v1(tmp_path / "data")

            page.goto(f"{served_sample}/search")
            expect(page.get_by_text("This project's dataset:", exact=False)).to_be_visible()
            for label, value in (
                ("Coarse-to-fine rounds", "1"),
                ("Trials per round", "2"),
                ("Epochs per trial (round 1)", "3"),
            ):
                field = page.get_by_role("spinbutton", name=label)
                field.fill(value)
                field.press("Enter")
                expect(field).to_have_value(value)
            page.get_by_role("button", name="Start search").click()
            expect(page.get_by_text("Best: trial")).to_be_visible(timeout=300_000)  # training
            page.get_by_role("button", name="Diagnose the best model").click()

            expect(page.get_by_role("heading", name="Compare versions")).to_be_visible()
            expect(page.get_by_text("v1 · logistic regression → v2 · search").first).to_be_visible()
            expect(
                page.get_by_text("dev paired on 800 shared examples", exact=False)
            ).to_be_visible()
            expect(page.get_by_text("data mismatch", exact=False).first).to_be_visible()
            expect(page.get_by_text("the ceiling promised", exact=False).first).to_be_visible()
            page.get_by_role("heading", name="Compare versions").scroll_into_view_if_needed()
            page.screenshot(path=str(test_browser.ARTIFACTS / "versions-compare.png"))

            page.goto(f"{served_sample}/errors")
            expect(page.get_by_text("v2 · search", exact=False).first).to_be_visible()
            page.get_by_role("button", name="Start from the still-wrong examples").click()
            expect(
                page.get_by_role("heading", name="What the new model fixed", exact=False)
            ).to_be_visible()
            page.screenshot(path=str(test_browser.ARTIFACTS / "versions-fixed.png"))
        except AssertionError as exc:
            raise AssertionError(test_browser.what_the_app_showed(page, tmp_path)) from exc
        finally:
            browser.close()
