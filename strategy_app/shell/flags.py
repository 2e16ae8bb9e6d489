"""Flags every command shares (argparse only: registering a command stays cheap).

The command modules import these, never :mod:`strategy_app.cli`, which sits on top: it
registers the commands and runs them.
"""

from __future__ import annotations

import argparse


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--json`` flag."""
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
