"""The Search page's work without the UI: start, watch, stop and resume runs in the background.

A caviar run is ``python -m strategy_app search ... --study NAME --storage SPEC --json`` started
as a detached process (its own session), so neither a browser refresh nor an app restart stops
it; its JSON result lands in ``result.json`` in the run's folder and its progress is read from
the Optuna study. A panda run is ``python -m strategy_app.search.service panda DIR``: one model
trained epoch by epoch (:mod:`diagnostics.search.panda`), stopped by a ``stop`` file and
continued from its checkpoint. Runs are recorded per project in the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from diagnostics.fastcompare import compare_files
from diagnostics.lr_finder import LRFinderResult, find_lr, lr_hook, objective_lr_test
from diagnostics.search import study as studies
from diagnostics.search.cnn import CNN, CNN_SPACE
from diagnostics.search.datasets import load_dataset
from diagnostics.search.objective import Goal
from diagnostics.search.panda import HISTORY_FILE, load_history, train_panda
from diagnostics.search.scored import trial_row
from diagnostics.search.script import CommandObjective
from diagnostics.search.settings import SearchSettings, write_settings
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import resolve_storage
from diagnostics.search.tracking import require_mlflow
from diagnostics.search.training import TrainConfig
from diagnostics.validation import InputError, redact_url
from diagnostics.validation import shown as safe_text
from strategy_app.auth import User, require
from strategy_app.diagnose.service import accept_upload
from strategy_app.search.shared import (
    RESULT_FILE,
    run_file,
    run_folder_name,
    share_run_folder,
    started_elsewhere,
)
from strategy_app.store import SearchRun, Store, data_dir, database_url, one_transaction
from strategy_app.store.audit import (
    SEARCH_SPACE,
    SEARCH_START,
    SEARCH_STOP,
    UPLOAD,
    changed_fields,
)
from strategy_app.store.projects import DATASET_LABEL, PARQUET_SUFFIXES, PROJECT_DATASET

ROOT = Path(__file__).resolve().parents[2]
LOG_FILE = "log.txt"
SETTINGS_FILE = "settings.json"
PANDA_FILE = "panda.json"
STOP_FILE = "stop"
ELSEWHERE = "on another server"  # a run whose process this server cannot see (team storage)
CHILDREN: dict[int, subprocess.Popen] = {}  # processes this app started (polled, so reaped)


# ---------------------------------------------------------------- processes


def _launch(command: list[str], out_dir: Path) -> int:
    """Start ``command`` detached from the app (own session), output into the run folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with (out_dir / RESULT_FILE).open("wb") as out, (out_dir / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log,
            start_new_session=True,
        )
    CHILDREN[process.pid] = process
    return process.pid


def is_running(run: SearchRun) -> bool:
    """Whether the run's process is alive (a pid reused by another program does not count)."""
    if run.pid is None:
        return False
    child = CHILDREN.get(run.pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{run.pid}/cmdline")
    return not cmdline.exists() or run.out_dir in cmdline.read_bytes().decode(errors="replace")


def log_tail(run: SearchRun, lines: int = 8) -> str:
    """The last lines the run's process wrote to stderr, every URL's password masked (viewers
    read them)."""
    path = run_file(run, LOG_FILE)
    if not path.is_file():
        return ""
    return redact_url("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))


def _run_name(given: str | None, kind: str) -> str:
    name = (given or "").strip() or time.strftime(f"{kind}-%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def _out_dir(store: Store, project_id: int, name: str) -> Path:
    return (store.folder / run_folder_name(project_id, name)).resolve()


# ---------------------------------------------------------------- MLflow tracking

TRACKING_FIELD = "MLflow tracking URI"
TRACKING_SCHEMES = ("sqlite", "http", "https", "postgresql")
FILE_STORE_FLAG = "MLFLOW_ALLOW_FILE_STORE"  # MLflow 3 refuses folder stores without it
URI_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def _file_store_allowed() -> bool:
    return os.environ.get(FILE_STORE_FLAG, "").strip().lower() in ("true", "1")


def tracking_uri(given: str | None) -> str | None:
    """The Search page's MLflow tracking URI as the search logs to it; None when empty (no
    tracking). It takes ``sqlite:``, ``http(s):`` and ``postgresql:`` URIs, and a folder (a
    path, or ``file:``) where MLflow allows folder stores; a relative path or SQLite file is
    made absolute from the folder searches run in (the app's). Anything else, or MLflow not
    installed, is refused in one line naming the field (a password in the URI masked)."""
    uri = (given or "").strip()
    if not uri:
        return None
    if not uri.isprintable():
        raise InputError(
            f"{TRACKING_FIELD}: '{safe_text(redact_url(uri), 80)}' holds control characters (a "
            "NUL, a line break); type the URI again"
        )
    shown = shown_uri(uri)
    found = URI_SCHEME.match(uri)
    scheme = found.group(1).lower() if found else "file"
    if scheme == "file" and not _file_store_allowed():
        raise InputError(
            f"{TRACKING_FIELD}: MLflow keeps no trials in a folder ({shown}) unless "
            f"{FILE_STORE_FLAG}=true is set for the app; use sqlite:///PATH/mlflow.db"
        )
    if scheme != "file" and not (scheme in TRACKING_SCHEMES or scheme.startswith("postgresql+")):
        raise InputError(
            f"{TRACKING_FIELD}: '{shown}' is not one the page takes; use sqlite:///PATH/mlflow.db, "
            "http(s)://HOST:PORT, postgresql://… or a folder, or leave it empty"
        )
    parts = urlsplit(uri)
    if scheme == "sqlite" and len(parts.path) < 2:
        raise InputError(f"{TRACKING_FIELD}: '{shown}' names no database file")
    if scheme not in ("sqlite", "file") and not parts.hostname:
        raise InputError(f"{TRACKING_FIELD}: '{shown}' names no server (e.g. http://mlflow:5000)")
    require_mlflow(f"{TRACKING_FIELD}: logging trials")
    if found is None:
        return str((ROOT / Path(uri).expanduser()).resolve())
    if scheme == "sqlite" and not parts.path.startswith("//"):  # relative: where searches run
        query = f"?{parts.query}" if parts.query else ""
        return f"sqlite:///{(ROOT / parts.path[1:]).resolve()}{query}"
    return uri


def shown_uri(uri: str) -> str:
    """``uri`` as the page shows it: a password in it masked."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def mlflow_target(run: SearchRun) -> tuple[str, list[str]] | None:
    """Where a caviar run logs its trials: the MLflow URI as shown (:func:`shown_uri`) and the
    experiments, one per study (each round's); None when it logs none."""
    uri = run.settings.get("mlflow")
    return (shown_uri(uri), _study_names(run)) if uri else None


# ---------------------------------------------------------------- caviar: a search

# The page's words for each setting, so a refusal names the field the user sees.
PAGE_WORDS = {
    "sampler": "Sampler",
    "pruner": "Pruning",
    "trials": "Trials per round",
    "epochs": "Epochs per trial",
    "rounds": "Coarse-to-fine rounds",
    "workers": "Workers",
}


@dataclass(frozen=True)
class CaviarRequest:
    """A caviar run as the Search page asks for it (the space already parsed)."""

    dataset: str
    sampler: str
    pruner: str
    trials: int
    epochs: int
    rounds: int | None
    workers: int
    space: SearchSpace
    seed: int = 0
    mlflow: str | None = None  # MLflow tracking URI (see tracking_uri); None: no tracking
    objective: str | None = None  # an admin-configured objective's name; None: built-in MLP
    optimize: str = "dev_error"  # what a configured objective minimises (--optimize)

    def settings(self) -> SearchSettings:
        """The run's search settings (checked in the page's words)."""
        settings = SearchSettings(
            dataset=self.dataset,
            sampler=self.sampler,
            pruner=self.pruner,
            trials=self.trials,
            epochs=self.epochs,
            rounds=self.rounds,
            workers=self.workers,
            seed=self.seed,
            space=self.space,
        )
        settings.check(PAGE_WORDS)
        return settings

    def check_objective(self) -> None:
        """Refuse an objective the admin did not configure, or an unknown goal."""
        if self.objective is not None:
            configured_objective(self.objective)
            Goal.parse(self.optimize)
        elif self.optimize != "dev_error":
            raise InputError("the built-in MLP minimises dev error; pick a configured model")

    def to_record(self) -> dict:
        """The run's settings as saved with the run (JSON)."""
        return {**asdict(self), "space": self.space.to_dict()}


def resolve_dataset(store: Store, project_id: int, dataset: str) -> str:
    """A dataset choice as the runner reads it: ``project`` becomes the project's file."""
    return store.projects.dataset_spec(project_id) if dataset == PROJECT_DATASET else dataset


def load_search_dataset(spec: str, seed: int = 0):
    """Load a resolved dataset spec; a features file's label column is ``label``."""
    is_file = spec.startswith(("csv:", "parquet:"))
    return load_dataset(spec, label=DATASET_LABEL if is_file else None, seed=seed)


@one_transaction
def accept_dataset(store: Store, project_id: int, name: str, data: bytes, user: User) -> str:
    """Check an uploaded features file (as the search will read it) and keep it as the
    project's dataset; returns a one-line summary. Bad input raises InputError naming it.

    ``user`` must be an editor (it is an upload); the upload is audited."""
    require(user, "upload files")
    suffix = ".parquet" if name.lower().endswith(PARQUET_SUFFIXES) else ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"dataset{suffix}"
        path.write_bytes(data)
        try:
            loaded = load_search_dataset(f"{suffix[1:]}:{path}")
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), name)) from None
    store.projects.set_dataset(project_id, name, data)
    store.audit.record(user.identity, UPLOAD, project_id, name, {"dataset": True})
    sizes = ", ".join(f"{split} {n:,}" for split, n in loaded.sizes().items())
    return f"{name}: {loaded.n_features} features, {loaded.n_classes} classes ({sizes})"


def start_search(
    store: Store, project_id: int, request: CaviarRequest, name: str | None = None, *, user: User
):
    """Record and launch a caviar run in the background; refuses bad settings (page words).

    ``request.dataset`` ``project`` trains on the project's dataset, on exactly its splits and
    ids, so the best model's predictions compare paired with the project's earlier versions.
    ``user`` must be an editor; the start is audited."""
    require(user, "run searches")
    request.settings()
    request.check_objective()
    request = replace(request, mlflow=tracking_uri(request.mlflow))
    name = _run_name(name, "search")
    storage = resolve_storage(None, store.folder, database_url())
    out_dir = _out_dir(store, project_id, name)
    record = request.to_record()

    def save() -> SearchRun:
        if any(r.name == name for r in store.search_runs.list(project_id)):
            raise InputError(f"a run named '{name}' exists in this project; pick another name")
        run = store.search_runs.add(project_id, "caviar", name, storage, record, str(out_dir))
        store.audit.record(user.identity, SEARCH_START, project_id, name, {"kind": "caviar"})
        return run

    return _launch_search(store, store.atomic(save))  # saved with its audit entry, then launched


def run_settings(store: Store, run: SearchRun) -> SearchSettings:
    """The run's whole description for its worker: the saved request, the dataset resolved to
    this run's own project's file (never another project's), its study, storage and folder."""
    saved = run.settings
    dataset = resolve_dataset(store, run.project_id, saved["dataset"])
    is_file = dataset.startswith(("csv:", "parquet:"))
    user: dict = {}
    if saved.get("objective"):
        entry = configured_objective(saved["objective"])
        user = {
            "objective": entry.objective,
            "space": entry.space,
            "goal": Goal.parse(saved.get("optimize", "dev_error")),
            "metric": entry.metric,
        }
    return SearchSettings(
        dataset=dataset,
        label=DATASET_LABEL if is_file else None,
        sampler=saved["sampler"],
        pruner=saved["pruner"],
        trials=saved["trials"],
        epochs=saved["epochs"],
        rounds=saved.get("rounds"),
        workers=saved["workers"],
        seed=saved.get("seed", 0),
        space=user.pop("space", None) or SearchSpace.from_dict(saved["space"]),
        device="cpu",
        storage=run.storage,
        study=run.name,
        data_dir=str(store.folder),
        out_dir=run.out_dir,
        mlflow=saved.get("mlflow"),
        **user,
    )


def _launch_search(store: Store, run: SearchRun) -> SearchRun:
    """Start (or resume) the run's ``search`` process from one settings file
    (``search --settings FILE``); a resumed study finishes its plan."""
    out_dir = Path(run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = write_settings(run_settings(store, run), out_dir / SETTINGS_FILE)
    command = [sys.executable, "-m", "strategy_app", "search", "--settings", str(settings)]
    return _started(store, run, [*command, "--json"])


def _started(store: Store, run: SearchRun, command: list[str]) -> SearchRun:
    """Launch the saved run's process (after its record and audit entry committed, so a retried
    transaction never launches twice) and save its process id.

    A process that cannot start, or whose id cannot be saved, leaves the run saved and not
    running (a process the app cannot see would run twice after a Resume): the message says so.
    """
    try:
        pid = _launch(command, Path(run.out_dir))
    except OSError as exc:
        raise InputError(
            f"run '{run.name}' is saved but did not start: {exc.strerror or exc}; press Resume "
            "to start it"
        ) from None
    try:
        store.search_runs.update(run.id, pid=pid)
    except InputError as exc:
        _end(pid)
        raise InputError(
            f"run '{run.name}' is saved but not running: its process was stopped because {exc}; "
            "press Resume to start it"
        ) from None
    return replace(run, pid=pid)


def _end(pid: int) -> None:
    """Kill a process this app just started (its whole session) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    child = CHILDREN.pop(pid, None)
    if child is not None:
        child.wait()


def _study_names(run: SearchRun) -> list[str]:
    return studies.round_names(run.name, run.settings.get("rounds"))


def _studies(run: SearchRun) -> list:
    """The run's opened rounds; a round whose attributes are still being written is left out
    (the runner sets them one by one after creating the study, and a poll may fall between)."""
    found = studies.load_studies(run.storage, _study_names(run))
    return [study for study in found if "space" in study.user_attrs]


def read_result(run: SearchRun) -> dict | None:
    """The finished run's ``search --json`` result, if it is complete (from the shared
    storage when another server of the team ran it)."""
    path = run_file(run, RESULT_FILE)
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


def search_status(run: SearchRun) -> dict:
    """Where a caviar run stands: state (running, stopping, finished, stopped, failed, or
    :data:`ELSEWHERE`), round, trials done/planned, best so far, result."""
    found = _studies(run)
    running = is_running(run)
    result = None if running else read_result(run)
    rounds = run.settings.get("rounds") or 1
    progress = studies.plan_progress(found, run.settings["trials"] * rounds)
    if running:
        state = "stopping" if progress["stop"] else "running"
    elif result is not None:
        state = "stopped" if result.get("stopped") else "finished"
    elif started_elsewhere(run):
        state = ELSEWHERE
    else:
        state = "stopped" if progress["stop"] else "failed"
    return {
        "state": state,
        "round": progress["round"],
        "rounds": rounds,
        "done": progress["done"],
        "planned": progress["planned"],
        "best_value": progress["best_value"],
        "result": result,
    }


def trial_points(rows: list[dict]) -> list[dict]:
    """The trials of :func:`scored_trials` as the history and parameter charts read them: one
    flat row each (``number`` is the order run, ``trial`` its number in its round)."""
    return [
        {
            "round": r["round"],
            "trial": r["number"],
            "number": order,
            "state": r["state"],
            "value": r["value"],
            **r["params"],
        }
        for order, r in enumerate(rows)
    ]


def round_spaces(run: SearchRun) -> list[dict]:
    """Each started round's search space (round 2 on: narrowed around the best of the last)."""
    return [studies.space_of(s).to_dict() for s in _studies(run)]


def run_importances(run: SearchRun) -> dict:
    """Parameter importances over the last started round (empty below 4 completed trials)."""
    found = _studies(run)
    return studies.importances(found[-1]) if found else {}


def stop_search(store: Store, run: SearchRun, user: User) -> None:
    """Ask the run's workers to stop after their current epoch (the running trial is queued
    again, so a resume retries it). ``user`` must be an editor; audited."""
    require(user, "run searches")
    studies.request_stop(run.storage, _study_names(run))
    store.audit.record(user.identity, SEARCH_STOP, run.project_id, run.name)


def resume_search(store: Store, run: SearchRun, user: User) -> SearchRun:
    """Start a stopped or failed run again on the same study; it finishes its planned trials
    (``user`` must be an editor; audited)."""
    require(user, "run searches")
    if is_running(run):
        raise InputError(f"run '{run.name}' is still running")
    store.audit.record(user.identity, SEARCH_START, run.project_id, run.name, {"resumed": True})
    return _launch_search(store, run)


def latest_result(store: Store, project_id: int) -> tuple[SearchRun, dict] | None:
    """The project's newest caviar run with a finished result, and that result."""
    for run in store.search_runs.list(project_id):
        if run.kind == "caviar" and not is_running(run):
            result = read_result(run)
            if result is not None:
                return run, result
    return None


def search_summary(store: Store, project_id: int) -> dict | None:
    """The report's summary of the project's newest finished search (None without one)."""
    latest = latest_result(store, project_id)
    if latest is None:
        return None
    run, result = latest
    summary = studies.summary(run.storage, run.name)
    summary["best"] = {**(summary["best"] or {}), **result["best"]}
    return summary


# ---------------------------------------------------------------- configured objectives

OBJECTIVES_FILE = "objectives.toml"
OBJECTIVES_ENV = "STRATEGY_OBJECTIVES"


@dataclass(frozen=True)
class ConfiguredObjective:
    """A model an admin allows the server to search: a ``package.module:function`` or a
    command, with its space (and optionally its metric and per-trial timeout)."""

    name: str
    objective: str | CommandObjective
    space: SearchSpace
    metric: str | None = None


def objectives_file() -> Path:
    """The admin's objectives file: ``$STRATEGY_OBJECTIVES``, else ``objectives.toml`` in the
    data folder. Nothing uploaded through the browser is ever run: only what it names."""
    return Path(os.environ.get(OBJECTIVES_ENV) or data_dir() / OBJECTIVES_FILE)


def configured_objectives() -> dict[str, ConfiguredObjective]:
    """The objectives of the admin's file by name (none without a file).

    ``[objectives.NAME]`` holds ``objective = "pkg.module:function"`` or ``command = "python
    train.py --lr {lr} --out {predictions}"`` (with ``trial_timeout`` in seconds), a
    ``[objectives.NAME.space]`` table in the search-space format, and optionally ``metric``.
    """
    import tomllib

    path = objectives_file()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from exc
    found: dict[str, ConfiguredObjective] = {}
    for name, entry in (data.get("objectives") or {}).items():
        where = f"{path} [objectives.{name}]"
        if not isinstance(entry, dict) or ("objective" in entry) == ("command" in entry):
            raise InputError(f"{where}: give exactly one of objective = ... or command = ...")
        space = SearchSpace.from_dict(entry.get("space"), source=where)
        objective: str | CommandObjective = entry.get("objective") or CommandObjective.parse(
            entry["command"], entry.get("trial_timeout"), [p.name for p in space.params]
        )
        found[name] = ConfiguredObjective(name, objective, space, entry.get("metric"))
    return found


def builtin_cnn() -> ConfiguredObjective:
    """The built-in small CNN for image datasets (``builtin:cnn``), offered like a configured
    model: the desk's own code, with its own space."""
    return ConfiguredObjective(CNN, CNN, SearchSpace.from_dict(CNN_SPACE))


def model_objectives() -> dict[str, ConfiguredObjective]:
    """The models the Search page offers besides the built-in MLP: the built-in CNN, then the
    admin's configured ones."""
    return {CNN: builtin_cnn(), **configured_objectives()}


def objective_label(entry: ConfiguredObjective) -> str:
    """What a configured objective runs, in words (the function, or the command)."""
    if isinstance(entry.objective, CommandObjective):
        return entry.objective.name
    return entry.objective


def configured_objective(name: str) -> ConfiguredObjective:
    """One configured objective (or the built-in CNN), or a refusal naming those there are."""
    if name == CNN:
        return builtin_cnn()
    found = configured_objectives()
    if name not in found:
        names = ", ".join(found) or f"none: an admin lists them in {objectives_file()}"
        raise InputError(f"no configured model '{name}' (configured: {names})")
    return found[name]


# ---------------------------------------------------------------- trials as versions


def scored_trials(run: SearchRun) -> list[dict]:
    """Every trial of the run's rounds, in the order run, as ``search --json`` gives it (its
    parameters, value, waterfall levels and gaps, error, kept predictions) plus its ``round``:
    the built-in MLP's trials and every other objective's alike."""
    rows = []
    for number, study in enumerate(_studies(run), start=1):
        space = studies.space_of(study)
        rows += [
            {**trial_row(t, space, study.study_name), "round": number}
            for t in studies.own_trials(study)
        ]
    return rows


def _trial_file(run: SearchRun, trial: int) -> Path:
    for row in scored_trials(run):
        if row["number"] == trial and row["study"] == _study_names(run)[-1]:
            path = run_file(run, row["predictions"]) if row["predictions"] else None
            if path is None or not path.is_file():
                raise InputError(
                    f"trial {trial} of '{run.name}' kept no predictions (only the best few "
                    "trials keep theirs)"
                )
            return path
    raise InputError(f"run '{run.name}' has no trial {trial}")


def trial_beside_current(store: Store, project_id: int, run: SearchRun, trial: int) -> dict:
    """Trial ``trial`` beside the project's current version (paired on shared ids, the
    compare service's own test): ``current``, ``levels`` before/after, ``verdict``,
    ``worse`` (dev got worse beyond the noise) and ``summary`` (one plain sentence)."""
    current = store.versions.current(project_id)
    if current is None or not current.state.upload_sha256:
        return {"current": None, "worse": False, "summary": "The project has no version yet."}
    comparison = compare_files(
        store.uploads.path(current.state.upload_sha256),
        _trial_file(run, trial),
        current.state.human_levels,
        display_names=(current.name, f"trial {trial}"),
    )
    dev = comparison.levels.get("dev")
    worse = bool(dev and dev.test and dev.test.low > 0)  # dev error up, beyond the noise
    change = comparison.to_dict()
    summary = (
        f"Trial {trial} is WORSE than {current.name} on dev: {comparison.verdict}"
        if worse
        else f"Trial {trial} against {current.name}: {comparison.verdict}"
    )
    return {"current": current.name, "comparison": change, "worse": worse, "summary": summary}


def trial_to_version(store: Store, project_id: int, run: SearchRun, trial: int, user: User) -> str:
    """Make trial ``trial``'s predictions the project's current version ("vN · search RUN
    trial N"), joined by id with the current version's other columns (metadata, image
    paths), so every page works on it as on an upload. Returns the file's name."""
    require(user, "upload files")
    frame = _read_any(_trial_file(run, trial))
    current = store.versions.current(project_id)
    if current is not None and current.state.upload_sha256 and "id" in frame:
        before = _read_any(store.uploads.path(current.state.upload_sha256))
        own = {"id", "split", "y_true", "y_pred", "score"} | {
            c for c in before if c.startswith("prob_")
        }
        extra = [c for c in before if c not in own and c not in frame]
        if "id" in before and extra:
            key = before["id"].astype(str) + "\0" + before["split"].astype(str)
            joined = before[extra].set_axis(key)
            frame_key = frame["id"].astype(str) + "\0" + frame["split"].astype(str)
            frame = pd.concat([frame, joined.reindex(frame_key).reset_index(drop=True)], axis=1)
    name = f"{run.name}-trial-{trial}-predictions.csv"
    origin = {"kind": "search", "run": run.name, "trial": trial, "study": _study_names(run)[-1]}
    data = frame.to_csv(index=False).encode()
    accept_upload(
        store, project_id, name, data, user, label=f"search {run.name} trial {trial}", origin=origin
    )
    return name


def _read_any(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)


def send_best_to_diagnose(store: Store, project_id: int, run: SearchRun, user: User) -> str:
    """Add the best model's predictions as the project's new current version ("vN · search
    RUN best", its origin the run and trial); returns the file's name. Earlier versions and
    their tags stay as they were. ``user`` must be an editor: it is an upload."""
    require(user, "upload files")
    result = read_result(run)
    if result is None or not result.get("predictions"):
        raise InputError(f"run '{run.name}' has no best model yet; let it finish first")
    path = run_file(run, result["predictions"])
    if not path.is_file():
        raise InputError(f"the predictions file {path} is missing; run the search again")
    name = f"{run.name}-best-predictions.csv"
    best = result.get("best") or {}
    origin = {
        "kind": "search",
        "run": run.name,
        "trial": best.get("trial"),
        "study": best.get("study"),
    }
    label = f"search {run.name} best"
    accept_upload(store, project_id, name, path.read_bytes(), user, label=label, origin=origin)
    return name


# ---------------------------------------------------------------- panda: one model


def start_panda(
    store: Store,
    project_id: int,
    dataset: str,
    params: dict,
    epochs: int,
    name=None,
    *,
    user: User,
) -> SearchRun:
    """Record and launch a panda run: one model, ``epochs`` epochs, checkpoint every epoch
    (``user`` must be an editor; audited)."""
    require(user, "run searches")
    TrainConfig.from_params(params)
    dataset = resolve_dataset(store, project_id, dataset)
    name = _run_name(name, "panda")
    out_dir = _out_dir(store, project_id, name)
    settings = {"dataset": dataset, "params": params, "epochs": epochs, "seed": 0}

    def save() -> SearchRun:
        run = store.search_runs.add(project_id, "panda", name, "", settings, str(out_dir))
        store.audit.record(user.identity, SEARCH_START, project_id, name, {"kind": "panda"})
        return run

    return _launch_panda(store, store.atomic(save))  # saved with its audit entry, then launched


def continue_panda(
    store: Store, run: SearchRun, params: dict, epochs: int, user: User
) -> SearchRun:
    """Continue a stopped panda run from its checkpoint with changed settings (``user`` must be
    an editor; audited)."""
    require(user, "run searches")
    if is_running(run):
        raise InputError(f"run '{run.name}' is still training; stop it first")
    if started_elsewhere(run):
        raise InputError(
            f"run '{run.name}' was trained on another server of the team, which keeps its "
            "checkpoint; continue it there"
        )
    TrainConfig.from_params(params)
    settings = {**run.settings, "params": params, "epochs": epochs}

    def save() -> None:
        store.search_runs.update(run.id, pid=run.pid, settings=settings)
        store.audit.record(user.identity, SEARCH_START, run.project_id, run.name, {"resumed": True})

    store.atomic(save)  # the new settings with their audit entry, then launched
    return _launch_panda(store, replace(run, settings=settings))


def _launch_panda(store: Store, run: SearchRun) -> SearchRun:
    out_dir = Path(run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STOP_FILE).unlink(missing_ok=True)
    (out_dir / PANDA_FILE).write_text(json.dumps(run.settings))
    command = [sys.executable, "-m", "strategy_app.search.service", "panda", str(out_dir)]
    return _started(store, run, command)


def stop_panda(store: Store, run: SearchRun, user: User) -> None:
    """Ask the panda run to stop after its current epoch (``user`` must be an editor;
    audited)."""
    require(user, "run searches")
    (Path(run.out_dir) / STOP_FILE).touch()
    store.audit.record(user.identity, SEARCH_STOP, run.project_id, run.name)


def panda_status(run: SearchRun) -> dict:
    """A panda run's state (running/stopping/stopped/finished/failed, or :data:`ELSEWHERE`)
    and history."""
    history = load_history(run_file(run, HISTORY_FILE).parent)  # the shared copy elsewhere
    running = is_running(run)
    stop = (Path(run.out_dir) / STOP_FILE).exists()
    target = (history.get("config") or {}).get("epochs")
    if running:
        state = "stopping" if stop else "running"
    elif target and len(history["epochs"]) >= target:
        state = "finished"
    elif started_elsewhere(run):
        state = ELSEWHERE
    elif stop:
        state = "stopped"
    else:
        state = "failed" if log_tail(run) else "stopped"
    return {"state": state, "history": history}


def run_panda_folder(out_dir: str | Path) -> None:
    """The panda process: train from the folder's settings until done or the stop file appears,
    then share the folder with the team's other servers (when there is a shared storage)."""
    import torch

    torch.set_num_threads(1)
    out_dir = Path(out_dir)
    settings = json.loads((out_dir / PANDA_FILE).read_text())
    data = load_search_dataset(settings["dataset"], seed=settings.get("seed", 0))
    config = TrainConfig.from_params(settings["params"], seed=settings.get("seed", 0))
    train_panda(
        out_dir,
        data,
        config,
        settings["epochs"],
        should_stop=(out_dir / STOP_FILE).exists,
    )
    folder = out_dir.resolve().parents[2]  # the data folder: out_dir is search/project-N/RUN in it
    share_run_folder(out_dir, folder, load_history(out_dir))  # for the team's other servers


# ---------------------------------------------------------------- LR range test


def lr_find(dataset: str, params: dict, seed: int = 0) -> LRFinderResult:
    """The LR range test on the dataset (a resolved spec, see :func:`resolve_dataset`) with the
    model and optimizer ``params`` (about a second on digits; runs inline)."""
    import torch

    torch.set_num_threads(1)
    data = load_search_dataset(dataset, seed=seed)
    config = TrainConfig.from_params(params, seed=seed)
    return find_lr(data, config, device="cpu")


def parse_params(text: str, field: str) -> dict:
    """A model's parameters written as a JSON object (``field`` names where: a flag or the
    page's box), or one line saying why not."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f'{field}: not JSON ({exc.msg}); write e.g. {{"lr": 0.01}}') from exc
    if not isinstance(params, dict):
        raise InputError(f"{field}: give a JSON object of parameter names and values")
    return params


def lr_test_refusal(model: str) -> str | None:
    """Why the LR range test cannot run on a configured model (or the built-in CNN): it has no
    ``lr_range`` hook, or it cannot be loaded (one line); None when it can."""
    try:
        lr_hook(configured_objective(model).objective)
    except InputError as exc:
        return str(exc)
    return None


def run_lr_finder(
    store: Store,
    project_id: int,
    dataset: str,
    params: dict,
    user: User,
    model: str | None = None,
) -> dict:
    """Run the LR range test (``project``: on the project's dataset) and save its result with
    the project (an editor may). ``model`` names a configured model (or the built-in CNN)
    whose ``lr_range`` hook gives the model and data, with ``params`` its parameters; None:
    the built-in MLP that ``params`` describe. The result names its ``objective``."""
    require(user, "run searches")
    spec = resolve_dataset(store, project_id, dataset)
    if model is None:
        found = {**lr_find(spec, params).to_dict(), "objective": None}
    else:
        import torch

        torch.set_num_threads(1)
        objective = configured_objective(model).objective
        result = objective_lr_test(objective, params, dataset=spec, device="cpu")
        found = {**result.to_dict(), "objective": model}
    store.search_state.save_lr_finder(project_id, found)
    return found


@one_transaction
def save_space(store: Store, project_id: int, space: SearchSpace, user: User) -> bool:
    """Save the Search page's space when ``user`` may run searches (an editor); other roles
    try spaces without saving them. Returns whether it saved."""
    if not user.can("run searches"):
        return False
    before = store.search_state.load(project_id).space or {}
    after = space.to_dict()
    if before != after:
        store.search_state.save_space(project_id, after)
        detail = changed_fields(before, after)
        store.audit.record(user.identity, SEARCH_SPACE, project_id, None, detail)
    return True


if __name__ == "__main__":  # python -m strategy_app.search.service panda DIR
    if len(sys.argv) != 3 or sys.argv[1] != "panda":
        sys.exit("usage: python -m strategy_app.search.service panda RUN_DIR")
    run_panda_folder(sys.argv[2])
