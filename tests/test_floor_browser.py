"""Diagnose with annotators' labels, in a real browser at 1400 and 1024 px: the measured human
levels in the waterfall, the gap table's note and the annotators' table, with nothing
overflowing. Screenshots go to ``test-artifacts/floor/``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_app.auth import LOCAL_USER
from strategy_app.diagnose.service import accept_annotations
from strategy_app.shell.sample import ensure_sample_project, sample_predictions_path
from strategy_app.store import open_store
from tests import app_server
from tests.test_layout_browser import WIDTHS, check, settle

pytestmark = pytest.mark.browser


def sample_annotations() -> bytes:
    """Three annotators (2%, 5% and 25% wrong) on 300 dev/test examples each of the sample."""
    frame = pd.read_csv(sample_predictions_path())
    held = frame[frame["split"].isin(["dev", "test"])].reset_index(drop=True)
    rng = np.random.default_rng(0)
    rows = []
    for name, share in {"ana": 0.02, "ben": 0.05, "cleo": 0.25}.items():
        for i in rng.choice(len(held), 300, replace=False):
            truth = int(held.loc[i, "y_true"])
            label = truth if rng.random() > share else (truth + int(rng.integers(1, 10))) % 10
            rows.append((held.loc[i, "id"], name, label))
    table = pd.DataFrame(rows, columns=["id", "annotator", "label"])
    return table.to_csv(index=False).encode()


@pytest.fixture
def served(tmp_path):
    store = open_store(folder=tmp_path / "data")
    pid = ensure_sample_project(store, sample_predictions_path())
    accept_annotations(store, pid, "annotations.csv", sample_annotations(), LOCAL_USER)
    store.close()
    yield from app_server.serve(tmp_path, sample_predictions_path())


def test_diagnose_with_annotations_fits_at_1400_and_1024_px(served, tmp_path):
    from playwright.sync_api import sync_playwright

    folder = app_server.ARTIFACTS / "floor"
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 2600})
            page.set_default_timeout(180_000)
            page.goto(served)  # the app opens on Diagnose once a project exists
            settle(page)
            page.get_by_text("Human levels from annotators").wait_for()
            settle(page)
            page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
            settle(page)
            problems += check(page, "diagnose-annotations", width, folder)
            page.get_by_text("Human levels from annotators").scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            problems += check(page, "diagnose-annotators-table", width, folder)
            page.close()
        browser.close()
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert not problems, "\n".join(problems)
