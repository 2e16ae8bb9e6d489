"""The app's pages: one registry used by the router, the sidebar and every page's set-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
# installed from the wheel, the pages live in strategy_app/pages; in a checkout, at its root
PAGES_DIR = _PACKAGE / "pages" if (_PACKAGE / "pages").is_dir() else _PACKAGE.parent / "pages"
# The browser tab's icon, shipped: a ``:material/…:`` page icon would make the browser fetch the
# favicon from Google's font servers (the sidebar's Material icons come with Streamlit).
APP_ICON = Path(__file__).resolve().parents[1] / "assets" / "icon.png"


@dataclass(frozen=True)
class PageInfo:
    """A page: its key, file in ``pages/``, title, Material icon and URL path; ``versioned``:
    the page shows one model version, named under its title by the shell (Error analysis names
    it in its own caption, with its dev error)."""

    key: str
    file: str
    title: str
    icon: str
    url_path: str
    versioned: bool = False

    @property
    def path(self) -> Path:
        """The page's script."""
        return PAGES_DIR / self.file


PAGES = (
    PageInfo("home", "home.py", "Home", ":material/home:", "home"),
    PageInfo("diagnose", "diagnose.py", "Diagnose", ":material/waterfall_chart:", "diagnose", True),
    PageInfo("splits", "splits.py", "Splits", ":material/call_split:", "splits"),
    PageInfo(
        "error_analysis",
        "error_analysis.py",
        "Error analysis",
        ":material/fact_check:",
        "errors",
    ),
    PageInfo("search", "search.py", "Search", ":material/tune:", "search"),
    PageInfo("report", "report.py", "Report", ":material/description:", "report", True),
)
PAGES_BY_KEY = {page.key: page for page in PAGES}

# Where each gap's knobs are worked on (the sidebar's "what to do next").
NEXT_PAGE_FOR_GAP = {
    "avoidable_bias": ("search", "a bigger model or a learning-rate search"),
    "variance": ("search", "regularization (L2, dropout) and more data"),
    "data_mismatch": ("error_analysis", "error analysis of how dev differs from training"),
    "dev_overfitting": ("splits", "a bigger dev set"),
}
