"""A local HTTP server for the tests: files of a folder, with range requests, and faults.

:func:`serve` answers ``GET`` and ``HEAD`` for the folder's files with ``Range`` support (as
object stores and CDNs do), counts the bytes it sends, and can drop the connection after a
number of requests (a network error midway through a read).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class Served:
    """The running server's base URL, the bytes sent and how many GETs to answer (None: all)."""

    url: str
    bytes_sent: int = 0
    answer_gets: int | None = None
    gets: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args, folder: Path, served: Served, **kwargs) -> None:
        self.folder, self.served = folder, served
        super().__init__(*args, **kwargs)

    def log_message(self, *args) -> None:  # quiet
        """Log nothing."""

    def _file(self) -> Path | None:
        path = self.folder / self.path.split("?", 1)[0].lstrip("/")
        return path if path.is_file() else None

    def do_HEAD(self) -> None:
        """The file's size, or 404."""
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(path.stat().st_size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        """The file or the asked range; the connection dropped past ``answer_gets``."""
        path = self._file()
        if path is None:
            self.send_error(404)
            return
        with self.served.lock:
            self.served.gets += 1
            if self.served.answer_gets is not None and self.served.gets > self.served.answer_gets:
                self.close_connection = True
                self.connection.close()
                return
        data = path.read_bytes()
        match = _RANGE.fullmatch(self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) + 1 if match.group(2) else len(data)
            body = data[start:end]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
        else:
            body = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.served.lock:
            self.served.bytes_sent += len(body)


@contextmanager
def serve(folder: Path) -> Iterator[Served]:
    """Serve ``folder`` on 127.0.0.1 until the block ends."""
    served = Served("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, folder=folder, served=served))
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
