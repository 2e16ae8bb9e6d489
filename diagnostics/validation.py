"""User-facing input errors and the small checks that raise them."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """Bad user input, with a message meant for the user.

    The message names what is wrong (the file, the column, the row or the flag) and how to fix
    it. The CLI prints it as one line and exits with code 2; pages show it with ``st.error``.
    """


def format_rows(rows: Iterable[int], *, limit: int = 5) -> str:
    """Format 1-based row numbers as ``"4, 9, 12"`` (at most ``limit``, then ``"…"``)."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (", …" if len(rows) > limit else "")


def refuse_non_csv_text(head: bytes, name: str) -> None:
    """Refuse a file whose first bytes show UTF-16 text or an HTML/XML document (not CSV)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name} is UTF-16 text; save it as UTF-8 CSV and upload it again")
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        raise InputError(f"{name} is an HTML/XML document, not a CSV or Parquet file")
