"""Every page of the sample project, in a real browser at 1400 and 1024 px: nothing overflows.

The project is prepared through the store (a finished small search, a drawn and partly tagged
sample, a designed split) before the app is served; the LR finder runs in the browser (its
result lives in the session). On each page and width: the main block does not scroll sideways,
every Vega chart lies inside its container and is at least 150 px tall, no text is cut by its
column, and no exception is shown. Screenshots go to ``test-artifacts/layout/``.
"""

from __future__ import annotations

import time

import pytest

from diagnostics.search.space import DEFAULT_SPACE, SearchSpace
from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.errors import ui as labeling_ui
from strategy_app.search import service as search_jobs
from strategy_app.shell.sample import ensure_sample_project
from strategy_app.store import open_store
from strategy_app.store.labels import LabelEdit
from strategy_app.store.split_plans import SplitPageState
from strategy_app.versions.service import read_version
from tests import app_server

pytestmark = pytest.mark.browser

WIDTHS = (1400, 1024)
PAGES = ("home", "diagnose", "splits", "errors", "search", "report")
SEARCH_TABS = ("Panda: one model", "Learning-rate finder")
MIN_CHART_PX = 150
GRID_ROWS = 20
TAGGED = 6
FIRST_TICKED_ROW = 8  # untagged rows of the sample (rows 0-5 carry tags), one per width
IMAGE_ROW_PX = 56
SMALL_COLUMN_PX = 75
HEADER_PX = 37
SEARCH_DEADLINE_S = 300
SMALL_SPACE = SearchSpace.from_dict(
    {
        **DEFAULT_SPACE,
        "hidden_units": {"type": "int", "low": 16, "high": 128, "log": True, "tier": 2},
    }
)

# Measures the page in the browser: overflow of the main block, charts outside their container
# or too flat, elements whose text is wider than their box while the box hides the overflow,
# and exception boxes. Returns a list of problems (empty: the page is laid out well).
MEASURE = """
(minChart) => {
  const problems = [];
  const main = document.querySelector('[data-testid="stMain"]');
  if (main.scrollWidth > main.clientWidth + 1) {
    problems.push(`main block scrolls sideways: ${main.scrollWidth} > ${main.clientWidth}`);
  }
  // shown: it has a box, and no closed panel (an expander folding away) holds it
  const visible = (el) => el.getClientRects().length > 0 && el.offsetParent !== null &&
    !el.closest('details:not([open])') && el.getBoundingClientRect().height > 0;
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (!visible(chart)) continue;
    const box = chart.getBoundingClientRect();
    const svg = chart.querySelector('svg, canvas');
    const drawn = svg ? svg.getBoundingClientRect() : box;
    const column = chart.closest('[data-testid="stColumn"], [data-testid="stMainBlockContainer"]');
    const outer = column.getBoundingClientRect();
    const name = (chart.innerText || '').slice(0, 40).replace(/\\s+/g, ' ');
    if (drawn.right > outer.right + 1 || drawn.left < outer.left - 1) {
      problems.push(`chart "${name}" (${Math.round(drawn.width)} px) leaves its column ` +
                    `(${Math.round(outer.width)} px)`);
    }
    if (drawn.height < minChart) {
      problems.push(`chart "${name}" is ${Math.round(drawn.height)} px tall`);
    }
  }
  // a box that hides what does not fit (overflow hidden or an ellipsis) and whose own text
  // is wider than it: the text is cut. Scrolling boxes (tables, code) are not cuts.
  for (const el of main.querySelectorAll('*')) {
    const skip = '[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"]';
    if (!visible(el) || el.closest(skip)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    let cut = false;
    for (let box = el; box && box !== main; box = box.parentElement) {
      const boxStyle = box === el ? style : getComputedStyle(box);
      const hides = ['hidden', 'clip'].includes(boxStyle.overflowX) ||
                    boxStyle.textOverflow === 'ellipsis';
      if (hides && box.scrollWidth > box.clientWidth + 1) { cut = true; break; }
      if (['auto', 'scroll'].includes(boxStyle.overflowX)) break;
      if (box.getBoundingClientRect().width > el.getBoundingClientRect().width + 40) break;
    }
    if (cut) {
      problems.push(`text cut: "${el.textContent.trim().slice(0, 60)}"`);
    }
  }
  for (const box of document.querySelectorAll('[data-testid="stException"]')) {
    problems.push(`exception: ${box.innerText.slice(0, 300)}`);
  }
  return problems;
}
"""


def prepare_project(data_dir) -> int:
    """The sample project with a finished search, a partly tagged sample and a split design."""
    store = open_store(folder=data_dir)
    pid = ensure_sample_project(store)
    predictions = read_version(store, store.diagnose_state.load(pid))
    sample = labeling.draw_sample(store, pid, predictions, 100, seed=0, user=LOCAL_USER)
    categories = store.labels.categories(pid)
    for number, example in enumerate(sample.ids[:TAGGED]):
        tags = frozenset({categories[number % len(categories)].id})
        store.labels.save_edit(pid, LabelEdit(str(example), "", add=tags), 0)
    store.split_plans.save(
        pid,
        SplitPageState(
            mode="mismatched",
            source="200,000",
            target="10,000",
            source_name="web",
            target_name="phone",
        ),
    )
    request = search_jobs.CaviarRequest(
        dataset="digits",
        sampler="random",
        pruner="none",
        trials=6,
        epochs=1,
        rounds=2,
        workers=1,
        space=SMALL_SPACE,
    )
    run = search_jobs.start_search(store, pid, request, "layout", user=LOCAL_USER)
    deadline = time.monotonic() + SEARCH_DEADLINE_S
    while search_jobs.search_status(store.search_runs.get(run.id))["result"] is None:
        assert time.monotonic() < deadline, search_jobs.log_tail(store.search_runs.get(run.id))
        time.sleep(1)
    store.close()
    return pid


@pytest.fixture
def served_sample(tmp_path, monkeypatch):
    app_server.require_chromium()
    data_dir = tmp_path / "data"
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(data_dir))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    monkeypatch.delenv("STRATEGY_SAMPLE_PREDICTIONS", raising=False)
    prepare_project(data_dir)
    with app_server.running_app(tmp_path / "server.log") as url:
        yield url


def sheet_problems(page, row: int) -> list[str]:
    """The tagging sheet shows about GRID_ROWS rows; ticking *reviewed* in it saves the edit."""
    sheet = page.locator('[data-testid="stDataFrame"]').first
    box = sheet.bounding_box()
    problems = []
    if box["height"] < GRID_ROWS * labeling_ui.ROW_PX:
        problems.append(f"the tagging sheet is {box['height']:.0f} px tall")
    # the row's reviewed cell: the third column, after the pinned id and image ("small": 75 px)
    x = box["x"] + 2 * SMALL_COLUMN_PX + labeling_ui.header_width("reviewed") / 2
    y = box["y"] + HEADER_PX + (row + 0.5) * IMAGE_ROW_PX
    page.mouse.click(x, y)
    page.wait_for_timeout(3000)
    settle(page)
    return problems


def settle(page) -> None:
    """Wait until the script run is over and the charts are drawn."""
    page.wait_for_selector('[data-testid="stMain"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
    )
    page.wait_for_timeout(2500)  # Vega draws after the script run


def check(page, name: str, width: int, folder) -> list[str]:
    """Screenshot the page, then measure it; returns the problems found, named."""
    page.screenshot(path=str(folder / f"{name}-{width}.png"))
    return [f"{name} at {width} px: {p}" for p in page.evaluate(MEASURE, MIN_CHART_PX)]


@pytest.mark.timeout(900)  # 12 pages, 4 tabs and a range test on a shared 2-core machine
def test_every_page_fits_at_1400_and_1024_px(served_sample, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    folder = app_server.ARTIFACTS / "layout"
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        for width in WIDTHS:
            # tall enough for the whole page in one screenshot (Streamlit scrolls inside)
            page = browser.new_page(viewport={"width": width, "height": 2600})
            page.set_default_timeout(120_000)
            for name in PAGES:
                # Home is the root page (no /home URL); a session opened there lands on
                # Diagnose once a project exists, so Home is opened from the sidebar
                page.goto(served_sample if name == "home" else f"{served_sample}/{name}")
                settle(page)
                if name == "home":
                    page.locator('[data-testid="stSidebarNav"] a', has_text="Home").click()
                    settle(page)
                problems += check(page, name, width, folder)
                if name == "diagnose":
                    page.get_by_text("Where errors concentrate").scroll_into_view_if_needed()
                    problems += check(page, "diagnose-slices", width, folder)
                if name == "errors":
                    row = FIRST_TICKED_ROW + WIDTHS.index(width)
                    problems += [f"errors at {width} px: {p}" for p in sheet_problems(page, row)]
                    page.locator("button", has_text="Suggestions").first.click()
                    settle(page)
                    problems += check(page, "errors-suggestions", width, folder)
            page.goto(f"{served_sample}/search")
            settle(page)
            for tab in SEARCH_TABS:
                page.get_by_role("tab", name=tab).click()
                settle(page)
                if tab == "Learning-rate finder":
                    page.get_by_role("button", name="Run the range test").click()
                    expect(page.get_by_text("Suggested learning rate")).to_be_visible()
                    settle(page)
                slug = tab.split(":")[0].lower().replace(" ", "-")
                problems += check(page, f"search-{slug}", width, folder)
            page.close()
        browser.close()
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert "callback that displays" not in log, log[-3000:]  # an edit toasts from its rerun
    assert not problems, "\n".join(problems)
    store = open_store(folder=tmp_path / "data")
    pid = store.projects.list()[0].id
    reviewed = {r.example_id for r in store.labels.reviews(pid) if r.reviewed}
    store.close()
    assert len(reviewed) == len(WIDTHS)  # the click in the sheet was saved, once per width


# The gap table's scroll area: wider content than box means a sideways scroll and a cut column.
GAP_TABLE_SCROLL = """
() => {
  const grid = [...document.querySelectorAll('[data-testid="stDataFrame"]')][0];
  const scroller = grid.querySelector('.dvn-scroller');
  return [scroller.scrollWidth, scroller.clientWidth];
}
"""


def test_the_gap_table_fits_its_column_at_1400_and_1024_px(tmp_path):
    """The Diagnose page's gap table (beside the action plan) shows every column whole: its
    grid does not scroll sideways. Screenshots: ``test-artifacts/layout/gaps-<width>.png``."""
    from playwright.sync_api import sync_playwright

    folder = app_server.ARTIFACTS / "layout"
    folder.mkdir(parents=True, exist_ok=True)
    sample = app_server.ROOT / "sample_data" / "predictions.csv"
    served = app_server.serve(tmp_path, sample)
    url = next(served)
    widths = {}
    try:
        with sync_playwright() as playwright:
            browser = app_server.launch(playwright)
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 1600})
                page.set_default_timeout(120_000)
                page.goto(f"{url}/diagnose")
                settle(page)
                table = page.locator('[data-testid="stDataFrame"]').first
                table.scroll_into_view_if_needed()
                table.screenshot(path=str(folder / f"gaps-{width}.png"))
                widths[width] = page.evaluate(GAP_TABLE_SCROLL)
                page.close()
            browser.close()
    finally:
        served.close()
    assert all(content <= box for content, box in widths.values()), widths
    assert widths[1024][1] < widths[1400][1]  # the narrow page's table is narrower, and whole
