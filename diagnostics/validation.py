"""User-facing input errors and the small checks that raise them."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from pathlib import Path


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


def shown(text: object, limit: int = 80) -> str:
    """``text`` from a file, safe to print in one line of a message.

    Control characters (terminal escape sequences, line breaks) become ``\\x1b``-style escapes
    and text over ``limit`` characters is cut with ``…``, so a hostile header can neither
    repaint the terminal nor flood the message.
    """
    text = str(text)
    return terminal_safe(text[:limit], keep="") + ("…" if len(text) > limit else "")


def terminal_safe(text: str, keep: str = "\n\t") -> str:
    """``text`` with every control character but those in ``keep`` (line breaks and tabs by default)
    written as a ``\\x1b``-style escape: what a name, a label or a file's value holds cannot
    repaint the terminal or fake another line of output."""
    return "".join(
        c if c.isprintable() or c == " " or c in keep else c.encode("unicode_escape").decode()
        for c in text
    )


def shown_columns(columns: Iterable[object], *, limit: int = 12) -> str:
    """Column names for a message: at most ``limit`` of them, each :func:`shown`, then a count."""
    listed = list(columns)
    names = ", ".join(shown(c, 40) for c in listed[:limit]) or "(none)"
    return names + (f", … ({len(listed)} columns)" if len(listed) > limit else "")


def refuse_cr_only_lines(head: bytes, name: str) -> None:
    """Refuse text whose first line ends in a lone carriage return (classic Mac line endings)."""
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if b"\r" in first_line:
        raise InputError(
            f"{name} ends its lines with a lone carriage return (CR, old Mac style); save it "
            "with LF or CRLF line endings and upload it again"
        )


def refuse_not_a_file(path: Path, what: str) -> None:
    """Refuse a path that is missing, a folder, or not a regular file (a pipe, a device)."""
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; give the path of a file in it")
    if not path.exists():
        raise InputError(f"{what} not found: {path}")
    if not path.is_file():
        raise InputError(
            f"{what} {path} is not a regular file (a pipe or a device); save the data to a file"
        )


def one_line(text: object, limit: int = 300) -> str:
    """A library's multi-line error text (Parquet thrift, database drivers) as one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    joined = " — ".join(lines)
    return joined[:limit] + ("…" if len(joined) > limit else "")


# A URL's password, as SQLAlchemy's URL parser delimits it: ``scheme://user:PASSWORD@host``
# (the user may be empty; the password runs to the next ``@``).
_URL_PASSWORD = re.compile(r"\b([A-Za-z][\w+.-]*://[^:/\s]*):[^@\s]*@")


def redact_url(spec: str) -> str:
    """A URL (or a text holding URLs) with every password shown as ``***``.

    The same as SQLAlchemy's ``make_url(spec).render_as_string(hide_password=True)`` for a
    database URL (tested against it), without importing the database layer; a journal file
    path comes back unchanged.
    """
    return _URL_PASSWORD.sub(r"\1:***@", str(spec))


def check_port(port: int, flag: str = "--port") -> int:
    """A TCP port to listen on: 1–65535."""
    if not 1 <= port <= 65535:
        raise InputError(f"{flag}: {port} is not a port; use a number from 1 to 65535 (e.g. 8501)")
    return port


def check_ip_address(address: str, flag: str = "--address") -> str:
    """An address to bind to: an IPv4 or IPv6 address, or ``localhost``."""
    try:
        return address if address == "localhost" else str(ipaddress.ip_address(address))
    except ValueError:
        raise InputError(
            f"{flag}: '{shown(address, 60)}' is not an IP address; use e.g. 127.0.0.1 (this "
            "machine only) or 0.0.0.0 (every network interface)"
        ) from None


def check_seed(seed: int, flag: str = "--seed") -> int:
    """A random seed: a whole number from 0 to 2³² − 1."""
    if not 0 <= seed < 2**32:
        raise InputError(f"{flag}: {seed} is not a seed; use a whole number from 0 to 4294967295")
    return seed


def check_output_file(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """A file to write: not a folder, in a folder that exists."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{flag}: {path} is a folder; give a file name, e.g. {path / 'out'}")
    if not path.parent.is_dir():
        raise InputError(f"{flag}: folder {path.parent} does not exist")
    return path


def check_journal_file(path: str | os.PathLike[str]) -> Path:
    """A search storage path: a new file, or an existing Optuna journal (JSON lines)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(
            f"--storage: {path} is a folder; give a journal file path (e.g. {path / 'search.log'})"
            " or a database URL"
        )
    if path.is_file():
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()
        if head and not head.startswith(b"{"):
            raise InputError(
                f"--storage: {path} is not an Optuna journal file (it does not hold JSON lines); "
                "give a new file name or the journal of an earlier search"
            )
    return path
