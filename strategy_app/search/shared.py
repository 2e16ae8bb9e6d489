"""A search's outputs in the team's object storage (``STRATEGY_STORAGE_URL``).

A run started from the page writes its folder (log, settings, each kept trial's predictions,
the best model and its predictions, the trials table) on the server that started it. When it
ends, its process copies that folder to the shared storage under the folder's place in the data
folder (``search/project-N/RUN/…``), its result last, so that its presence says the rest is
there. Another server of the team reads a file of the run where it was written when that is
here, else a copy fetched from the shared storage into its own data folder (a file written
again, as the result after a resume, is fetched again).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from diagnostics.validation import InputError
from strategy_app.store import SearchRun, data_dir
from strategy_app.store.engine import StoreUnwritable, storage_url
from strategy_app.store.objects import ObjectStorage

RESULT_FILE = "result.json"


def run_folder_name(project_id: int, name: str) -> str:
    """A page-started run's folder, relative to the data folder (and its key prefix in the
    shared storage)."""
    return f"search/project-{project_id}/{name}"


def started_elsewhere(run: SearchRun) -> bool:
    """Whether the run was started by another server of the team: its folder is not on this
    server, so this one cannot see its process (it may run there still, or have ended there
    without a result)."""
    return storage_url() is not None and not Path(run.out_dir).is_dir()


def share_run_folder(out_dir: str | Path, folder: str | Path, result: dict) -> bool:
    """Copy a finished run's folder ``out_dir`` (inside the data folder ``folder``) and its
    ``result`` to the shared storage, when there is one; True when copied. A failure is one
    line on stderr (the run's log): the run's outputs stay on this server."""
    url = storage_url()
    out_dir, folder = Path(out_dir).resolve(), Path(folder).resolve()
    if url is None or not out_dir.is_relative_to(folder):
        return False
    prefix = out_dir.relative_to(folder).as_posix()
    try:
        shared = ObjectStorage(url)
        for path in sorted(out_dir.rglob("*")):
            if path.is_file() and path != out_dir / RESULT_FILE and not path.name.startswith("."):
                shared.put_file(f"{prefix}/{path.relative_to(out_dir).as_posix()}", path)
        shared.put(f"{prefix}/{RESULT_FILE}", json.dumps(result, ensure_ascii=False).encode())
    except (InputError, StoreUnwritable) as exc:
        print(f"the run's outputs were not shared with the team's servers: {exc}", file=sys.stderr)
        return False
    return True


def run_file(run: SearchRun, path: str | Path) -> Path:
    """Where a file of the run's folder is on this server (``path``: absolute as the run's
    process wrote it, or relative to the run's folder): there when it is here, else the copy
    fetched from the shared storage (the path where it was written when there is none)."""
    written = Path(path) if Path(path).is_absolute() else Path(run.out_dir) / path
    url = storage_url()
    if written.is_file() or url is None or not written.is_relative_to(run.out_dir):
        return written
    relative = written.relative_to(run.out_dir).as_posix()
    prefix = run_folder_name(run.project_id, run.name)
    copy = data_dir() / prefix / relative
    return copy if ObjectStorage(url).fetch_newer(f"{prefix}/{relative}", copy) else written
