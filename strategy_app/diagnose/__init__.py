"""Diagnose: the error waterfall and the action plan of a project's predictions or typed levels."""
