"""Command-line entry point: each feature's ``command`` module adds its sub-commands.

Each module in :data:`COMMAND_MODULES` defines ``register(subparsers)``, which adds its parsers
and sets their ``handler`` (argument parsing only: the work is in the feature's service). A
handler returns ``(data, text)``: with ``--json`` exactly one JSON object (``data``) is printed
on stdout, otherwise the human-readable ``text``. Bad input
(:class:`~diagnostics.validation.InputError`) prints one line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import os
import sys
from typing import NoReturn

from diagnostics.validation import InputError, one_line, terminal_safe

EXIT_BAD_INPUT = 2
COMMAND_MODULES = (
    "strategy_app.diagnose.command",
    "strategy_app.diagnose.compare_command",
    "strategy_app.errors.command",
    "strategy_app.errors.ceiling_command",
    "strategy_app.errors.slices_command",
    "strategy_app.errors.label_issues_command",
    "strategy_app.errors.image_flags_command",
    "strategy_app.errors.similar_command",
    "strategy_app.splits.command",
    "strategy_app.search.command",
    "strategy_app.search.lr_command",
    "strategy_app.curve.command",
    "strategy_app.report.command",
    "strategy_app.shell.command",
)
# Failures of the machine, not of the program (a full disk, a read-only folder): one line, exit 2.
USER_FIXABLE_ERRNOS = {
    errno.ENOSPC: "free some disk space (or write elsewhere) and run it again",
    errno.EDQUOT: "free some of your disk quota and run it again",
    errno.EROFS: "the file system is read-only; write to another folder",
    errno.EACCES: "make the folder writable or write elsewhere",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one clear line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every command module registered."""
    parser = _Parser(prog="python -m strategy_app", description="The ML-strategy desk.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        data, text = args.handler(args)
    except InputError as exc:
        print(f"error: {terminal_safe(one_line(exc, limit=2000), keep='')}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        if exc.errno not in USER_FIXABLE_ERRNOS:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror}{where}; {USER_FIXABLE_ERRNOS[exc.errno]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    try:
        if getattr(args, "json", False):
            print(json.dumps(data, ensure_ascii=False), flush=True)
        elif text:
            print(terminal_safe(text), flush=True)
    except BrokenPipeError:  # the reader closed the pipe (e.g. `| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
