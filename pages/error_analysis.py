"""Error analysis: tag a sample of misclassified dev examples and see each category's ceiling."""

from strategy_app.labeling_ui import page

page()
