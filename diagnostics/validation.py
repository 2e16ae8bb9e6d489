"""User-facing input errors and the small checks that raise them."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input, with a message meant for the user.

    The message names what is wrong (the file, the column, the row or the flag) and how to fix
    it. The CLI prints it as one line and exits with code 2; pages show it with ``st.error``.
    """


def format_rows(rows, *, limit: int = 5) -> str:
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


def shown(text: object, limit: int = 80) -> str:
    """``text`` from a file, safe to print in one line of a message.

    Control characters (terminal escape sequences, line breaks) become ``\\x1b``-style escapes
    and text over ``limit`` characters is cut with ``…``, so a hostile header can neither
    repaint the terminal nor flood the message.
    """
    text = str(text)
    cut = text[:limit]
    safe = "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode() for c in cut
    )
    return safe + ("…" if len(text) > limit else "")


def shown_columns(columns, *, limit: int = 12) -> str:
    """Column names for a message: at most ``limit`` of them, each :func:`shown`, then a count."""
    columns = list(columns)
    names = ", ".join(shown(c, 40) for c in columns[:limit]) or "(none)"
    return names + (f", … ({len(columns)} columns)" if len(columns) > limit else "")


def refuse_cr_only_lines(head: bytes, name: str) -> None:
    """Refuse text whose first line ends in a lone carriage return (classic Mac line endings)."""
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if b"\r" in first_line:
        raise InputError(
            f"{name} ends its lines with a lone carriage return (CR, old Mac style); save it "
            "with LF or CRLF line endings and upload it again"
        )


def refuse_not_a_file(path, what: str) -> None:
    """Refuse a path that is missing, a folder, or not a regular file (a pipe, a device)."""
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; give the path of a file in it")
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if not path.is_file():
        raise InputError(
            f"{what} {path} is not a regular file (a pipe or a device); save the data to a file"
        )
