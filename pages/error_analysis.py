"""Error analysis: tag a sample of misclassified dev examples and see each category's ceiling."""

from strategy_app.errors.ui import page

page()
