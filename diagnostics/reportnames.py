"""The report's section and format names and its default title (names only: cheap to import,
so the CLI can list them without loading the report's charts)."""

from __future__ import annotations

SECTIONS = (
    "summary",
    "waterfall",
    "plan",
    "warnings",
    "curve",
    "target",
    "slices",
    "floor",
    "concentration",
    "changed",
    "splits",
    "ceiling",
    "search",
)
FORMATS = ("html", "json", "csv")
DEFAULT_TITLE = "What to fix next"
