"""The sample project's loop in a real browser: v1 logistic regression with tagged errors → a
search on the project's dataset → v2, compared paired with v1, tags carried over."""

import pytest

from strategy_app.store import open_store
from strategy_app.store.labels import LabelEdit
from tests import app_server

pytestmark = pytest.mark.browser
SAMPLE = app_server.ROOT / "sample_data" / "predictions.csv"


@pytest.fixture
def served_sample(tmp_path):
    yield from app_server.serve(tmp_path, SAMPLE)


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
    app_server.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
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
            page.screenshot(path=str(app_server.ARTIFACTS / "versions-compare.png"))

            page.goto(f"{served_sample}/errors")
            expect(page.get_by_text("v2 · search", exact=False).first).to_be_visible()
            page.get_by_role("button", name="Start from the still-wrong examples").click()
            expect(
                page.get_by_role("heading", name="What the new model fixed", exact=False)
            ).to_be_visible()
            page.screenshot(path=str(app_server.ARTIFACTS / "versions-fixed.png"))
        except AssertionError as exc:
            raise AssertionError(app_server.what_the_app_showed(page, tmp_path)) from exc
        finally:
            browser.close()


NAV = ("Diagnose", "Splits", "Error analysis", "Search", "Report", "Home", "Diagnose")


@pytest.fixture
def two_versions_served(tmp_path, monkeypatch):
    """The sample project (v1) and a v2 that gets 40 more dev examples right, served."""
    import pandas as pd

    from strategy_app.auth import LOCAL_USER
    from strategy_app.diagnose.service import accept_upload
    from strategy_app.shell.sample import ensure_sample_project

    monkeypatch.setenv("STRATEGY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(SAMPLE))
    store = open_store()
    ensure_sample_project(store)
    (project,) = store.projects.list()
    frame = pd.read_csv(SAMPLE)
    wrong = frame.index[(frame["split"] == "dev") & (frame["y_true"] != frame["y_pred"])][:40]
    frame.loc[wrong, "y_pred"] = frame.loc[wrong, "y_true"]
    v2 = frame.to_csv(index=False).encode()
    accept_upload(store, project.id, "v2.csv", v2, LOCAL_USER, label="augmented")
    names = [v.name for v in store.versions.list(project.id)]
    with app_server.running_app(tmp_path / "server.log") as url:
        yield url, store, project, names


def version_box(page):
    """The sidebar's "Model version" box."""
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model version")


def test_a_chosen_version_is_the_one_every_page_and_the_delete_popover_name(
    two_versions_served, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    url, store, project, (v2_name, v1_name) = two_versions_served
    expect.set_options(timeout=90_000)
    app_server.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        for width in (1400, 1024):
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.set_default_timeout(90_000)
            try:
                page.goto(f"{url}/diagnose")
                expect(page.get_by_text(f"Model version {v2_name}")).to_be_visible()
                sidebar = page.get_by_test_id("stSidebar")
                version_box(page).click()
                page.get_by_role("option", name=v1_name).click()
                expect(page.get_by_text(f"Model version {v1_name}")).to_be_visible()
                for title in NAV:  # within the session: the sidebar's links, not new sessions
                    sidebar.get_by_test_id("stSidebarNavItems").get_by_role(
                        "link", name=title
                    ).click()
                    expect(page.get_by_role("heading", name=title).first).to_be_visible()
                    expect(version_box(page)).to_have_value(v1_name)
                    if title in ("Diagnose", "Report"):
                        expect(page.get_by_text(f"Model version {v1_name}")).to_be_visible()
                    if title == "Error analysis":
                        expect(page.get_by_text(v1_name).first).to_be_visible()
                    sidebar.get_by_role("button", name="Delete this version").click()
                    expect(
                        page.get_by_text(f"Delete {v1_name}, its error-analysis")
                    ).to_be_visible()
                    page.keyboard.press("Escape")
                page.screenshot(path=str(app_server.ARTIFACTS / f"versions-chosen-{width}.png"))
            except AssertionError as exc:
                raise AssertionError(app_server.what_the_app_showed(page, tmp_path)) from exc
            finally:
                page.close()

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(90_000)
        try:  # delete v1 from a session showing it: v2 and its file stay
            page.goto(f"{url}/diagnose")
            sidebar = page.get_by_test_id("stSidebar")
            version_box(page).click()
            page.get_by_role("option", name=v1_name).click()
            expect(page.get_by_text(f"Model version {v1_name}")).to_be_visible()
            sidebar.get_by_role("button", name="Delete this version").click()
            page.get_by_text(f"Delete {v1_name}, its error-analysis").click()
            page.get_by_role("button", name="Delete", exact=True).click()
            expect(page.get_by_text(f"Model version {v2_name}")).to_be_visible()
            expect(version_box(page)).to_have_value(v2_name)
        except AssertionError as exc:
            raise AssertionError(app_server.what_the_app_showed(page, tmp_path)) from exc
        finally:
            browser.close()
    assert [v.name for v in store.versions.list(project.id)] == [v2_name]
    assert store.versions.current(project.id).name == v2_name
