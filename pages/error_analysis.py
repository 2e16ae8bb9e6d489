"""Error analysis: not built yet; says honestly what it will do."""

from strategy_app.ui import coming_soon, page_setup

page_setup("error_analysis")
coming_soon(
    "Tag about 100 misclassified dev examples by category and see which category is worth fixing.",
    [
        "Sample misclassified dev examples from the project's predictions (seeded).",
        "Tag each example in a spreadsheet view",
        " every edit is saved.",
        "Show the ceiling table: the best dev error after fixing each category, with intervals.",
    ],
)
