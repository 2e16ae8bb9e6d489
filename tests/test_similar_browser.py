"""The Similar panel in a real browser (Chromium via Playwright) at 1400 and 1024 px, on the
sample project (images) and on a generated text project: the map and the gallery stay inside
their column, tagging the neighbours in one action saves audited edits and *Undo* removes them,
and the ceiling table gains the spread column. Screenshots go to ``test-artifacts/similar/``.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.shell.sample import ensure_sample_project
from strategy_app.store import open_store
from strategy_app.store.audit import TAG_EDIT
from strategy_app.store.labels import LabelEdit
from strategy_app.versions.service import read_version
from tests import app_server
from tests.test_layout_browser import MEASURE, MIN_CHART_PX, settle
from tests.text_project import text_frame

pytestmark = pytest.mark.browser

WIDTHS = (1400, 1024)
# the rows the Error analysis tool bar (its first button group) takes
TOOLBAR_ROWS = """() => {
  const similar = [...document.querySelectorAll('button')].find(
    (b) => b.textContent.includes('Similar'));
  let group = similar.parentElement;
  while (group.querySelectorAll('button').length < 9) group = group.parentElement;
  const top = (button) => Math.round(button.getBoundingClientRect().top);
  return new Set([...group.querySelectorAll('button')].map(top)).size;
}"""


def prepare(data_dir, predictions) -> int:
    """A project from ``predictions`` with a drawn sample, its planted kind tagged where the
    file has one (text) or a few tags (images)."""
    store = open_store(folder=data_dir)
    pid = ensure_sample_project(store, predictions)
    assert pid is not None
    frame = read_version(store, store.diagnose_state.load(pid))
    sample = labeling.draw_sample(store, pid, frame, 100, seed=0, user=LOCAL_USER)
    categories = store.labels.categories(pid)
    planted = {}
    if "planted" in pd.read_csv(predictions, nrows=1):
        kinds = pd.read_csv(predictions).set_index("id")["planted"].fillna("")
        for name in ("sarcasm", "negation"):
            store.labels.add_category(pid, name)
        by_name = {c.name: c.id for c in store.labels.categories(pid)}
        planted = {i: kinds[i] for i in sample.ids}
        for example, kind in planted.items():
            add = frozenset({by_name[kind]}) if kind in by_name else frozenset()
            store.labels.save_edit(pid, LabelEdit(example, "", add=add, reviewed=True), 0)
    else:
        for number, example in enumerate(sample.ids[:30]):
            add = frozenset({categories[number % 2].id})
            store.labels.save_edit(pid, LabelEdit(example, "", add=add, reviewed=True), 0)
    store.close()
    return pid


@pytest.fixture(params=["sample", "text"])
def served(request, tmp_path, monkeypatch):
    if request.param == "sample":
        predictions = app_server.ROOT / "sample_data" / "predictions.csv"
    else:
        frame = text_frame(3000, seed=6)
        frame.loc[frame.index[:60], "text"] = frame["text"].iloc[:60] + " <script>x</script>"
        predictions = tmp_path / "reviews.csv"
        frame.to_csv(predictions, index=False)
    if not shutil.which(app_server.CHROMIUM):
        pytest.skip("Debian's chromium is not installed (run `make system-deps`)")
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    pid = prepare(tmp_path / "data", predictions)  # the folder app_server.serve serves
    for url in app_server.serve(tmp_path, predictions):
        yield request.param, url, pid


def check(page, name: str, width: int, folder) -> list[str]:
    page.screenshot(path=str(folder / f"{name}-{width}.png"))
    return [f"{name} at {width} px: {p}" for p in page.evaluate(MEASURE, MIN_CHART_PX)]


def test_similar_panel_at_1400_and_1024_px(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    kind, url, pid = served
    expect.set_options(timeout=120_000)
    folder = app_server.ARTIFACTS / "similar"
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 2600})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/errors")
            settle(page)
            page.locator("button", has_text="Similar").first.click()
            settle(page)
            expect(page.get_by_text("Find dev errors like")).to_be_visible()
            rows = page.evaluate(TOOLBAR_ROWS)
            if rows > 2:
                problems.append(f"the tool bar wraps to {rows} rows at {width} px")
            expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
            problems += check(page, f"{kind}-similar", width, folder)
            chart = page.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
            page.mouse.move(chart["x"] + chart["width"] * 0.3, chart["y"] + chart["height"] * 0.3)
            page.mouse.down()
            page.mouse.move(
                chart["x"] + chart["width"] * 0.6, chart["y"] + chart["height"] * 0.7, steps=12
            )
            page.mouse.up()
            page.wait_for_timeout(1500)  # the selection is sent after the drag settles
            settle(page)
            expect(page.get_by_text("In the box:")).to_be_visible()
            problems += check(page, f"{kind}-box", width, folder)
            if kind == "text":  # the sample project's train rows have no image
                page.get_by_text("Train examples too").click()
                settle(page)
                expect(page.get_by_text(" train examples, ").first).to_be_visible()
                problems += check(page, f"{kind}-train", width, folder)
                page.get_by_text("Train examples too").click()
                settle(page)
            tag = page.locator("button", has_text="in the sample as").first
            if tag.is_enabled():
                tag.click()
                settle(page)
                undo = page.locator("button", has_text="Undo: untag")
                expect(undo).to_be_visible()
                problems += check(page, f"{kind}-tagged", width, folder)
                undo.click()
                settle(page)
                expect(page.locator("button", has_text="Undo: untag")).to_have_count(0)
            page.locator("button", has_text="Similar").first.click()  # close the panel
            settle(page)
            page.get_by_text("Spread to the rest of dev").click()
            settle(page)
            expect(page.get_by_text("Spread to all dev errors").first).to_be_visible()
            page.get_by_text("Ceiling per category").scroll_into_view_if_needed()
            problems += check(page, f"{kind}-spread", width, folder)
            page.close()
        browser.close()
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert not problems, "\n".join(problems)
    store = open_store(folder=tmp_path / "data")
    edits = [c for c in store.audit.history(pid) if c.action == TAG_EDIT]
    added = sum(1 for c in edits if "added" in c.detail)
    removed = sum(1 for c in edits if "removed" in c.detail)
    store.close()
    assert added == removed  # every tag of the bulk action was undone, each audited
