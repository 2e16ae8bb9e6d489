"""Predictions logged to MLflow: ``mlflow:runs:/RUN_ID/path/predictions.parquet``.

The run is looked up through MLflow's client (at the tracking URI MLflow itself finds:
``MLFLOW_TRACKING_URI``, or the one given), and the artifact is read where the run keeps it: in
place when its artifact location is a local folder or a location :mod:`diagnostics.remote`
reads (``s3://…``: range reads, nothing copied), else downloaded once per process through the
client (``mlflow-artifacts:`` behind a tracking server). A run that does not exist, or has no
such artifact, is one :class:`~diagnostics.validation.InputError` line naming both.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from diagnostics.remote import SCHEMES, shown_location, url_scheme
from diagnostics.validation import InputError

PREFIX = "mlflow:"
RUNS = "mlflow:runs:/"
_downloads: dict[tuple[str, str, str], Path] = {}


def is_mlflow(location: object) -> bool:
    """True for an ``mlflow:…`` location."""
    return isinstance(location, str) and location.lower().startswith(PREFIX)


@dataclass(frozen=True)
class RunArtifact:
    """An artifact of an MLflow run: the run, the artifact's path and where it is read."""

    run_id: str
    path: str
    source: str  # a local path or a remote location

    @property
    def name(self) -> str:
        """The artifact's file name."""
        return self.path.rsplit("/", 1)[-1]


def parse_runs_uri(location: str) -> tuple[str, str]:
    """(run id, artifact path) of ``mlflow:runs:/RUN_ID/PATH`` (InputError for another form)."""
    rest = location[len(RUNS) :] if location.lower().startswith(RUNS) else ""
    run_id, _, path = rest.strip("/").partition("/")
    if not run_id or not path:
        raise InputError(
            f"{location}: an MLflow location is mlflow:runs:/RUN_ID/PATH (the run's id, then "
            "the artifact's path, e.g. mlflow:runs:/0a1b2c/predictions.parquet)"
        )
    return run_id, path.strip("/")


def _client(location: str, tracking_uri: str | None) -> Any:
    """An MLflow client of ``tracking_uri`` (MLflow's default when None); it opens the store."""
    try:
        import mlflow
    except ImportError:
        raise InputError(
            "an mlflow: location needs MLflow, which is not installed: "
            "pip install 'strategy-desk[tracking]'"
        ) from None
    try:
        return mlflow.MlflowClient(tracking_uri)
    except Exception as exc:  # the store's own backend (a database driver, a folder) failed
        raise _unopened(location, exc) from None


def _unopened(location: str, exc: Exception) -> InputError:
    """The one line for a tracking store that could not be opened (no traceback, no URI)."""
    return InputError(
        f"{location}: the MLflow tracking store could not be opened ({type(exc).__name__}); "
        "check MLFLOW_TRACKING_URI and that its server or database runs"
    )


def resolve_run_artifact(location: str, tracking_uri: str | None = None) -> RunArtifact:
    """Where the artifact named by ``location`` is read (see the module's docstring)."""
    run_id, path = parse_runs_uri(location)
    client = _client(location, tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        listed = {item.path: item for item in client.list_artifacts(run_id, parent)}
    except MlflowException as exc:
        missing = "RESOURCE_DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")) or (
            "not found" in str(exc).lower()
        )
        if missing:
            raise InputError(
                f"{location}: no MLflow run '{run_id}' at the tracking server "
                "(MLFLOW_TRACKING_URI); check the run's id and the tracking URI"
            ) from None
        raise InputError(
            f"{location}: the MLflow tracking server could not be read "
            f"({type(exc).__name__}); check MLFLOW_TRACKING_URI and your access to it"
        ) from None
    except Exception as exc:  # the store's own backend failed past MLflow's own errors
        raise _unopened(location, exc) from None
    found = listed.get(path)
    if found is None or found.is_dir:
        shown = ", ".join(sorted(listed)[:10]) or "none"
        raise InputError(
            f"{location}: run '{run_id}' has no artifact file '{path}'; its artifacts there: "
            f"{shown}"
        )
    root = str(run.info.artifact_uri).rstrip("/")
    scheme = url_scheme(root) if "://" in root else (None if root.startswith("/") else "")
    if scheme in (None, "file"):
        folder = unquote(urlsplit(root).path) if scheme == "file" else root
        return RunArtifact(run_id, path, str(Path(folder) / path))
    if scheme in SCHEMES:
        return RunArtifact(run_id, path, f"{root}/{path}")
    key = (str(tracking_uri), run_id, path)
    if key not in _downloads or not _downloads[key].is_file():
        folder = tempfile.mkdtemp(prefix="mlflow-artifact-")
        atexit.register(shutil.rmtree, folder, True)
        try:
            _downloads[key] = Path(client.download_artifacts(run_id, path, folder))
        except (MlflowException, OSError) as exc:
            raise InputError(
                f"{location}: the artifact could not be downloaded from "
                f"{shown_location(root)} ({type(exc).__name__}); check your access to it"
            ) from None
    return RunArtifact(run_id, path, str(_downloads[key]))
