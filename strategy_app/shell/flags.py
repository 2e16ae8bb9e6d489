"""Flags every command shares (argparse only: registering a command stays cheap).

The command modules import these, never :mod:`strategy_app.cli`, which sits on top: it
registers the commands and runs them.
"""

from __future__ import annotations

import argparse


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--json`` flag."""
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")


def project_named(store, name: str):
    """The saved project ``--project NAME`` names; refused in one line listing the projects."""
    from diagnostics.validation import InputError

    project = store.projects.get_by_name(name)
    if project is None:
        names = ", ".join(f"'{p.name}'" for p in store.projects.list()) or "none yet"
        raise InputError(f"--project: no project named '{name}' (projects: {names})")
    return project
