"""Search: not built yet; says honestly what it will do."""

from strategy_app.ui import coming_soon, page_setup

page_setup("search")
coming_soon(
    "Run hyperparameter searches (random, TPE, grid) and a learning-rate range test, and feed the"
    " best model back into the diagnosis.",
    [
        "Search the learning rate first, on log scales, coarse to fine.",
        "Show progress, stop and resume searches.",
        "Send the best model's predictions to Diagnose.",
    ],
)
