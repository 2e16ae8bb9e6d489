"""Report: not built yet; says honestly what it will do."""

from strategy_app.ui import coming_soon, page_setup

page_setup("report")
coming_soon(
    "Share the project's diagnosis, error analysis and searches as one self-contained HTML file.",
    [
        "Render the waterfall, gap table and action plan as static charts.",
        "Include the ceiling table and the search results.",
        "Download one HTML file that works offline.",
    ],
)
