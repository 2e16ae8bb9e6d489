"""Issue 31 in a real browser, at 1400 and 1024 px (screenshots in ``test-artifacts/screen/``):

- 7: the filtered review queue keeps its filter after *Dismiss*; the next example is the next
  one of the filter (a changed count in the option's text used to drop the filter);
- 9: the sample's ``contrast`` column (301 values) makes a few quantile-bin tabs on Diagnose;
- 10: the report's ceiling chart keeps every text inside its drawing, and a section box that
  gained content is ticked;
- 16: the app opens on the sample's diagnosis.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from strategy_app.auth import LOCAL_USER
from strategy_app.errors import evidence
from strategy_app.errors import service as labeling
from strategy_app.shell.sample import ensure_sample_project, sample_predictions_path
from strategy_app.store import open_store
from strategy_app.store.labels import LabelEdit
from strategy_app.versions.service import read_version
from tests import app_server
from tests.test_layout_browser import settle

pytestmark = pytest.mark.browser

WIDTHS = (1400, 1024)
LANDING_HEIGHT = 1000  # the README picture: the top of the page

# Every text of every SVG chart lies inside its SVG's box (a clipped label does not).
TEXTS_OUTSIDE = """
() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (!text.textContent.trim() || r.width === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
          r.bottom > box.bottom + 1) out.push(text.textContent);
    }
  }
  return out;
}
"""


def prepare(data_dir) -> int:
    """The sample project, sliced by ``contrast``, with a drawn sample and one tag."""
    store = open_store(folder=data_dir)
    pid = ensure_sample_project(store)
    assert pid is not None
    store.diagnose_state.save(pid, replace(store.diagnose_state.load(pid), slice_column="contrast"))
    version = store.versions.current(pid)
    predictions = read_version(store, version.state)
    sample = labeling.draw_sample(store, version.id, predictions, 100, seed=0, user=LOCAL_USER)
    blurry = store.labels.categories(version.id)[0]
    store.labels.save_edit(version.id, LabelEdit(sample.ids[0], "", add={blurry.id}), 0)
    store.close()
    return pid


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The app on the prepared sample project (its data in ``tmp_path/data``)."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(data_dir))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    monkeypatch.delenv("STRATEGY_SAMPLE_PREDICTIONS", raising=False)
    prepare(data_dir)
    for url in app_server.serve(tmp_path, sample_predictions_path()):
        yield url, data_dir


def mislabeled_queue(data_dir) -> list[str]:
    """The ids the 'likely mislabeled' filter holds now, in the sample's order."""
    store = open_store(folder=data_dir)
    pid = store.projects.list()[0].id
    version = store.versions.current(pid)
    sample = store.labels.sample(version.id)
    stored = store.suggestions.of_version(version.id)
    store.close()
    return evidence.sheet_filters(sample, stored).get("likely mislabeled", [])


def test_queue_slices_and_report_at_1400_and_1024_px(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, data_dir = served
    expect.set_options(timeout=120_000)
    folder = app_server.ARTIFACTS / "screen"
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 2200})
            page.set_default_timeout(120_000)
            # 9: the contrast column in quantile bins
            # 16: the app opens on the sample's diagnosis (the README's picture, at 1400 px)
            page.goto(url)
            settle(page)
            expect(page.get_by_role("heading", name="Action plan")).to_be_visible()
            expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
            settle(page)  # the switch to Diagnose is a second run: let it finish drawing
            page.screenshot(
                path=str(folder / f"landing-{width}.png"),
                clip={"x": 0, "y": 0, "width": width, "height": LANDING_HEIGHT},
            )
            page.goto(f"{url}/diagnose")
            settle(page)
            heading = page.get_by_role("heading", name="By contrast")
            heading.scroll_into_view_if_needed()
            tabs = page.get_by_role("tab").filter(has_text="contrast =")
            assert 2 <= tabs.count() <= 6, tabs.all_inner_texts()
            page.screenshot(path=str(folder / f"diagnose-contrast-{width}.png"))
            # 7: the filtered queue after Dismiss
            page.goto(f"{url}/errors")
            settle(page)
            page.locator("button", has_text="Detail view").first.click()
            settle(page)
            show = page.locator('[data-testid="stSelectbox"]').filter(has_text="Show")
            show.click()
            page.get_by_role("option", name="likely mislabeled", exact=True).click()
            settle(page)
            queue = mislabeled_queue(data_dir)
            expect(page.get_by_text(f"id {queue[0]} ·")).to_be_visible()
            page.get_by_role("button", name="Dismiss").first.click()
            settle(page)
            expect(page.get_by_role("combobox", name="Show")).to_have_value("likely mislabeled")
            expect(page.get_by_text(f"1 of {len(queue) - 1}", exact=True)).to_be_visible()
            expect(page.get_by_text(f"id {queue[1]} ·")).to_be_visible()
            page.screenshot(path=str(folder / f"errors-queue-{width}.png"))
            # 10: the report's charts keep their texts; the ceiling section is ticked
            page.goto(f"{url}/report")
            settle(page)
            ceiling_box = page.get_by_role("checkbox", name="Error analysis")
            expect(ceiling_box).to_be_checked()
            frame = page.frame_locator("iframe").first
            expect(frame.locator("section#ceiling svg")).to_be_visible()
            frame.locator("section#ceiling svg").scroll_into_view_if_needed()
            outside = frame.locator("body").evaluate(f"(body) => ({TEXTS_OUTSIDE})()")
            assert outside == [], outside
            page.screenshot(path=str(folder / f"report-{width}.png"))
            page.close()
        browser.close()
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
