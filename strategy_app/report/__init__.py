"""Report: every section the project has content for, as HTML, JSON or CSV, and share links."""
