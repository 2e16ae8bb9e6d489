"""The app served for browser tests: one way to start it, wait for it and stop it.

Every browser test (and the installed-package test) starts ``serve`` through
:func:`running_app` on a free port of 127.0.0.1 and drives Debian's Chromium through Playwright.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the app did not answer its health check")


def what_the_app_showed(page, tmp_path: Path) -> str:
    """For a failed wait: the page's text, the server's log and each search run's log (tails)."""
    parts = [f"page text: {page.inner_text('body')[-1500:]!r}"]
    for log in [tmp_path / "server.log", *sorted(tmp_path.glob("data/search/*/*/log.txt"))]:
        if log.is_file():
            parts.append(f"{log.name}: {log.read_text(errors='replace')[-1500:]}")
    return "\n".join(parts)


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, started through Playwright for a browser test."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)


def require_chromium() -> None:
    """Skip the test where Debian's Chromium is missing (CI installs it)."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (run `make system-deps`)")


@contextmanager
def running_app(
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    command: Sequence[str] = (sys.executable, "-m", "strategy_app"),
    cwd: Path = ROOT,
    port: int | None = None,
) -> Iterator[str]:
    """``COMMAND serve`` on ``port`` (default: a free one; output into ``log``), its URL once
    it answers its health check; stopped afterwards."""
    require_chromium()
    port = port or free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "serve", "--port", str(port)],
            cwd=cwd,
            env=dict(os.environ if env is None else env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def serve(tmp_path: Path, sample: Path) -> Iterator[str]:
    """Serve the app with a fresh data folder and ``sample`` as the sample project's
    predictions; yields its URL and stops it afterwards."""
    env = dict(os.environ)
    env["STRATEGY_DATA_DIR"] = str(tmp_path / "data")
    env["STRATEGY_SAMPLE_PREDICTIONS"] = str(sample)
    env.pop("STRATEGY_DB_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine: imports write __pycache__
    with running_app(tmp_path / "server.log", env) as url:
        yield url


NO_SIDEWAYS_SCROLL = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return [main.scrollWidth, main.clientWidth, document.documentElement.scrollWidth,
          document.documentElement.clientWidth];
}"""


def chart_fits_its_column(page: Any, chart: Any, name: str) -> None:
    """At 1400 and 1024 px: ``chart`` lies inside its column, the page does not scroll
    sideways, and a screenshot ``name-WIDTH.png`` goes to the artifacts to look at."""
    for width in (1400, 1024):
        page.set_viewport_size({"width": width, "height": 1400})
        page.wait_for_timeout(1500)
        chart.scroll_into_view_if_needed()
        column = chart.locator("xpath=ancestor::div[@data-testid='stColumn'][1]")
        box, outer = chart.bounding_box(), column.bounding_box()
        assert box and outer, width
        assert box["x"] >= outer["x"] - 1, width
        assert box["x"] + box["width"] <= outer["x"] + outer["width"] + 1, width
        main_scroll, main_width, doc_scroll, doc_width = page.evaluate(NO_SIDEWAYS_SCROLL)
        assert main_scroll <= main_width + 1 and doc_scroll <= doc_width + 1, width
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"))
