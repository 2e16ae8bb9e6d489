"""A real browser starts a search, reloads the page mid-run and still sees it finish."""

import pytest

from tests import app_server
from tests.objectives.models import LR_OBJECTIVES
from tests.test_layout_browser import MEASURE, MIN_CHART_PX

pytestmark = pytest.mark.browser


def search_page(playwright, served_app: str, project: str):
    """A browser at 1400 px on the Search page of a new project ``project``."""
    from playwright.sync_api import expect

    app_server.ARTIFACTS.mkdir(exist_ok=True)
    browser = app_server.launch(playwright)
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    page.set_default_timeout(60_000)
    page.goto(served_app)
    page.get_by_label("Name").fill(project)
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text(project).first).to_be_visible()
    page.goto(f"{served_app}/search")
    return browser, page


def test_search_survives_a_reload_and_finishes(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)  # a busy 2-core machine trains slowly
    with sync_playwright() as playwright:
        browser, page = search_page(playwright, served_app, "search project")
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
        # the built-in MLP's trials table shows every trial's waterfall, as any objective's
        # does; nothing on the page scrolls sideways or is cut, at either width
        for width in (1400, 1024):
            page.set_viewport_size({"width": width, "height": 1300})
            table = page.locator('[data-testid="stDataFrame"]').nth(1)
            table.scroll_into_view_if_needed()
            page.wait_for_timeout(800)
            assert page.evaluate(MEASURE, MIN_CHART_PX) == []
            page.screenshot(path=str(app_server.ARTIFACTS / f"search-mlp-trials-{width}.png"))
        browser.close()


OBJECTIVES = """
[objectives.linear]
objective = "tests.objectives.models:logistic"
[objectives.linear.space]
C = {type = "log_uniform", low = 0.01, high = 10.0}
"""


def test_a_configured_model_is_searched_and_a_trial_kept_at_two_widths(served_app, tmp_path):
    """An admin's model searched from the page: each trial's waterfall in the table, a trial
    beside the current version, then made a version (screenshots at 1400 and 1024 px)."""
    from playwright.sync_api import expect, sync_playwright

    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "objectives.toml").write_text(OBJECTIVES)
    expect.set_options(timeout=180_000)
    with sync_playwright() as playwright:
        browser, page = search_page(playwright, served_app, "my model")
        _search_linear(page, tmp_path, trials=3)
        page.get_by_text("Best: trial").scroll_into_view_if_needed()
        page.screenshot(path=str(app_server.ARTIFACTS / "search-objective-1400.png"))
        page.get_by_role("button", name="Compare with the current version").click()
        expect(page.get_by_text("The project has no version yet.")).to_be_visible()
        page.get_by_role("button", name="Make it the current version").click()
        expect(page.get_by_text("as the project's new version")).to_be_visible()
        page.set_viewport_size({"width": 1024, "height": 1300})
        page.get_by_text("as the project's new version").scroll_into_view_if_needed()
        page.screenshot(path=str(app_server.ARTIFACTS / "search-objective-1024.png"))
        browser.close()


def _search_linear(page, tmp_path, trials: int, goal: str | None = None) -> None:
    """Pick the configured model, one round of ``trials`` trials (minimising ``goal``, a
    Minimise option), start it and wait for its result."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Search space")).to_be_visible()
    caviar = page.get_by_role("tabpanel", name="Caviar: many models")  # the LR tab has a Model box
    caviar.get_by_label("Model", exact=True).click()
    page.get_by_role("option", name="linear").click()
    expect(page.get_by_text("tests.objectives.models:logistic").first).to_be_visible()
    if goal:
        page.get_by_label("Minimise", exact=True).click()
        page.get_by_role("option", name=goal).click()
    for label, value in (("Coarse-to-fine rounds", "1"), ("Trials per round", str(trials))):
        field = page.get_by_role("spinbutton", name=label)
        field.fill(value)
        field.press("Enter")
        expect(field).to_have_value(value)
    page.get_by_role("button", name="Start search").click()
    try:
        expect(page.get_by_text("Best: trial")).to_be_visible()
    except AssertionError as exc:
        raise AssertionError(app_server.what_the_app_showed(page, tmp_path)) from exc


def test_a_two_objective_search_draws_its_pareto_front_inside_its_column(served_app, tmp_path):
    """dev error and training time: the Pareto front's chart fits the page's column at 1400 and
    1024 px (screenshots search-pareto-1400.png, -1024.png)."""
    from playwright.sync_api import expect, sync_playwright

    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "objectives.toml").write_text(OBJECTIVES)
    expect.set_options(timeout=180_000)
    with sync_playwright() as playwright:
        browser, page = search_page(playwright, served_app, "pareto")
        _search_linear(page, tmp_path, trials=5, goal="dev error and training time (Pareto front)")
        for width in (1400, 1024):
            page.set_viewport_size({"width": width, "height": 1300})
            chart = page.locator('[data-testid="stVegaLiteChart"]').last
            expect(chart).to_be_visible()
            chart.scroll_into_view_if_needed()
            page.wait_for_timeout(800)  # vega lays the chart out to the new width
            main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
            box = chart.bounding_box()
            assert main and box and box["width"] > 200
            assert (
                box["x"] >= main["x"] - 1
                and box["x"] + box["width"] <= main["x"] + main["width"] + 1
            )
            page.screenshot(path=str(app_server.ARTIFACTS / f"search-pareto-{width}.png"))
        browser.close()


def test_the_lr_tab_tests_a_configured_model_and_names_one_without_the_hook(served_app, tmp_path):
    """The learning-rate finder on an admin's torch model (its lr_range hook), then on one
    without the hook (one line); nothing scrolls sideways or is cut at 1400 and 1024 px
    (screenshots search-lr-objective-1400.png, -1024.png)."""
    from playwright.sync_api import expect, sync_playwright

    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "objectives.toml").write_text(LR_OBJECTIVES)
    expect.set_options(timeout=180_000)
    with sync_playwright() as playwright:
        browser, page = search_page(playwright, served_app, "lr objective")
        page.get_by_role("tab", name="Learning-rate finder").click()
        panel = page.get_by_role("tabpanel", name="Learning-rate finder")
        panel.get_by_label("Model", exact=True).click()
        page.get_by_role("option", name="torch").click()
        params = panel.get_by_role("textbox", name="Parameters (JSON)")
        params.fill('{"channels": 4}')
        params.press("Enter")
        panel.get_by_role("button", name="Run the range test").click()
        try:
            expect(page.get_by_text("for torch")).to_be_visible()
        except AssertionError as exc:
            raise AssertionError(app_server.what_the_app_showed(page, tmp_path)) from exc
        expect(panel.get_by_text("in torch's space")).to_be_visible()
        for width in (1400, 1024):
            page.set_viewport_size({"width": width, "height": 1300})
            page.get_by_text("for torch").scroll_into_view_if_needed()
            page.wait_for_timeout(800)
            assert page.evaluate(MEASURE, MIN_CHART_PX) == []
            page.screenshot(path=str(app_server.ARTIFACTS / f"search-lr-objective-{width}.png"))
        panel.get_by_label("Model", exact=True).click()
        page.get_by_role("option", name="linear").click()
        expect(panel.get_by_text("offers no LR range test")).to_be_visible()
        expect(panel.get_by_role("button", name="Run the range test")).to_have_count(0)
        browser.close()
