"""Report: preview the project's report, download it, and manage read-only share links."""

from strategy_app.report.ui import report_page
from strategy_app.shell.page import open_page, require_project

context = open_page("report")
report_page(context.store, require_project(context.project), context.version)
