"""Uploaded files: bytes in the data folder under their SHA-256, a row in ``uploads``.

Writing the bytes happens outside any database transaction (into a temporary file, then an
atomic rename), so a large upload never holds the database's write lock. With PostgreSQL and
several app servers, the files go to object storage (``STRATEGY_STORAGE_URL``:
:mod:`strategy_app.store.objects`) before they are recorded, and the data folder is each
server's cache of them (fetched on first use), so every server sees every upload.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select

from strategy_app.store.engine import StoreUnwritable, after_commit, read, write
from strategy_app.store.objects import ObjectStorage
from strategy_app.store.schema import ModelVersionRow, Project, SplitPlanRow, Upload

TEMPORARY_PREFIX = ".upload-"
STALE_AFTER_S = 3600  # an unrecorded file this old is left over from an upload that died


class UploadRepository:
    """Content-addressed storage of uploaded files."""

    def __init__(self, engine: Engine, folder: Path, shared: ObjectStorage | None = None) -> None:
        self._engine = engine
        self.folder = folder
        self.shared = shared

    def add(self, name: str, data: bytes, check: Callable[[Path], object] | None = None) -> Upload:
        """Keep ``data`` (named ``name`` by the user); the same bytes are stored once.

        ``check`` is called with the stored file before it is recorded (one copy on disk, read
        where it will stay); when it raises, a file written here is removed and nothing is
        recorded.
        """
        digest = hashlib.sha256(data).hexdigest()
        target = self.folder / digest
        fresh = not target.is_file()
        if fresh:
            self._write_bytes(data, target)
        try:
            if check is not None:
                check(target)
            if self.shared is not None and not self.shared.exists(_key(digest)):
                self.shared.put(_key(digest), data)
        except BaseException:
            if fresh:
                target.unlink(missing_ok=True)
            raise

        def record(session) -> Upload:
            row = session.get(Upload, digest)
            if not target.is_file():  # pruned since it was written: an unused copy went
                self._write_bytes(data, target)
            if row is None:
                row = Upload(sha256=digest, name=name, size=len(data))
                session.add(row)
            return row

        return write(self._engine, record)

    def _write_bytes(self, data: bytes, target: Path) -> None:
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=TEMPORARY_PREFIX)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except OSError as exc:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            raise StoreUnwritable(
                f"not saved: the upload could not be written to {self.folder} "
                f"({exc.strerror or exc}); make the data folder writable (or free space) "
                "and try again"
            ) from exc

    def get(self, sha256: str) -> Upload | None:
        """The upload's record, or None."""
        return read(self._engine, lambda s: s.get(Upload, sha256))

    def path(self, sha256: str) -> Path:
        """Where the upload's bytes lie (fetched from the shared storage first when this
        server has no copy yet)."""
        target = self.folder / sha256
        if self.shared is not None and not target.is_file():
            self.shared.fetch(_key(sha256), target)
        return target

    def prune(self) -> int:
        """Delete uploads no saved state refers to; returns how many were removed.

        The files go once the rows are deleted for good (after the surrounding transaction
        commits), and so do files left by uploads killed midway: temporary files and files no
        row records, older than :data:`STALE_AFTER_S` (a younger one may be an upload that is
        about to record its row).
        """

        def unreferenced(session) -> list[str]:
            used = [
                select(column).where(column.is_not(None))
                for column in (
                    ModelVersionRow.upload_sha256,
                    ModelVersionRow.annotations_sha256,
                    SplitPlanRow.upload_sha256,
                    Project.dataset_sha256,
                )
            ]
            rows = session.scalars(
                select(Upload).where(*(Upload.sha256.not_in(u) for u in used))
            ).all()
            for row in rows:
                session.delete(row)
            return [row.sha256 for row in rows]

        removed = write(self._engine, unreferenced)

        def delete_files() -> None:
            again = set(read(self._engine, lambda s: s.scalars(select(Upload.sha256)).all()))
            for digest in removed:
                if digest not in again:  # not uploaded anew since the rows went
                    (self.folder / digest).unlink(missing_ok=True)
                    if self.shared is not None:
                        self.shared.delete(_key(digest))
            self.remove_leftovers()

        after_commit(self._engine, delete_files)
        return len(removed)

    def remove_leftovers(self) -> None:
        """Remove what uploads killed midway left: stale temporary files and stale files no
        upload row records (see :data:`STALE_AFTER_S`)."""
        if not self.folder.is_dir():
            return
        cutoff = time.time() - STALE_AFTER_S
        stale = {}
        for path in self.folder.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    stale[path.name] = path
            except OSError:
                continue
        if not stale:
            return
        recorded = set(
            read(
                self._engine,
                lambda s: s.scalars(select(Upload.sha256).where(Upload.sha256.in_(stale))).all(),
            )
        )
        for name, path in stale.items():
            if name not in recorded and (name.startswith(TEMPORARY_PREFIX) or _is_digest(name)):
                path.unlink(missing_ok=True)


def _is_digest(name: str) -> bool:
    """True for a file name that is a SHA-256 in hex, as the stored uploads are named."""
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _key(sha256: str) -> str:
    """The upload's key in the shared storage."""
    return f"uploads/{sha256}"
