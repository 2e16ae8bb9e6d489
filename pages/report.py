"""Report: preview the project's report, download it, and manage read-only share links."""

from strategy_app.report.ui import report_page
from strategy_app.shell.page import get_store, page_setup, require_project

project = require_project(page_setup("report"))
report_page(get_store(), project)
