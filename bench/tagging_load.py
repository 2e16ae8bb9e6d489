"""Load: concurrent tagging sessions, each its own process and ``open_store()``.

Every session (annotator ``s0``…``s4``) walks the same 200-example sample and saves
``--edits`` edits through ``store.labels.save_edit`` (alternately adding and removing a tag,
notes = the step), as people tagging at once would. Afterwards every (example, annotator)
review must be at exactly the version its session acknowledged, with that session's last
notes: anything below is a lost edit, anything above a duplicated one. Exceptions are counted
by kind ("database is locked" must never reach a user: the store retries with backoff).

The anchor is one session saving the same number of edits alone, in the same run on the
same database kind: the ratio is concurrent throughput / single-session throughput.

Run: ``python bench/tagging_load.py [--sessions 5] [--edits 2000] [--backend sqlite|postgresql]``.
PostgreSQL: the admin URL from ``STRATEGY_TEST_PG_URL`` (default: the local test server); a
fresh database is created for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/...`

import pandas as pd
import sqlalchemy

from strategy_app.store import DiagnoseState, open_store
from strategy_app.store.labels import Conflict, LabelEdit

EXAMPLES = 200
PG_ADMIN_URL = os.environ.get(
    "STRATEGY_TEST_PG_URL", "postgresql+psycopg://strategy:strategy@127.0.0.1:5432/postgres"
)


def prepare(url: str, folder: Path) -> int:
    """A project's version 1 with a drawn sample and one category; returns the category id."""
    store = open_store(url, folder)
    project = store.projects.create("load")
    version = store.versions.add(project.id, DiagnoseState(source="typed"), label="load")
    ids = [f"ex{i:04d}" for i in range(EXAMPLES)]
    store.labels.save_sample(
        version.id,
        pd.DataFrame({"id": ids, "y_true": "1", "y_pred": "2"}),
        seed=0,
        stratified=False,
    )
    category = store.labels.add_category(version.id, "load-tag").id
    store.close()
    return category


def session(url: str, folder: str, annotator: str, edits: int, category: int, start, results):
    """One tagging session: ``edits`` saves; reports acknowledged versions and exceptions."""
    store = open_store(url, Path(folder))
    versions: dict[str, int] = {}
    last_notes: dict[str, str] = {}
    errors: Counter[str] = Counter()
    start.wait()
    began = time.perf_counter()
    for step in range(edits):
        example = f"ex{step % EXAMPLES:04d}"
        tag = frozenset({category})
        adding = (step // EXAMPLES) % 2 == 0
        edit = LabelEdit(
            example,
            annotator,
            add=tag if adding else frozenset(),
            remove=frozenset() if adding else tag,
            notes=str(step),
        )
        try:
            saved = store.labels.save_edit(1, edit, versions.get(example, 0))
        except Conflict:
            errors["conflict"] += 1
            continue
        except Exception as exc:  # counted, never hidden: the load test asserts none
            errors["database is locked" if "locked" in str(exc) else type(exc).__name__] += 1
            continue
        versions[example], last_notes[example] = saved.version, str(step)
    seconds = time.perf_counter() - began
    store.close()
    results.put((annotator, versions, last_notes, dict(errors), seconds))


def run_load(url: str, folder: Path, sessions: int = 5, edits: int = 2000) -> dict:
    """Run ``sessions`` concurrent processes of ``edits`` edits; returns the tallies."""
    category = prepare(url, folder)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(
            target=session,
            args=(url, str(folder), f"s{n}", edits, category, start, results),
        )
        for n in range(sessions)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    began = time.perf_counter()
    start.set()
    reports = [results.get(timeout=1800) for _ in workers]
    wall = time.perf_counter() - began
    for worker in workers:
        worker.join()
    store = open_store(url, folder)
    saved = {(r.example_id, r.annotator): r for r in store.labels.reviews(1)}
    store.close()
    lost = duplicated = acknowledged = 0
    errors: Counter[str] = Counter()
    for annotator, versions, last_notes, session_errors, _seconds in reports:
        errors.update(session_errors)
        for example, version in versions.items():
            acknowledged += version
            review = saved.get((example, annotator))
            have = 0 if review is None else review.version
            lost += max(version - have, 0)
            duplicated += max(have - version, 0)
            if review is not None and review.notes != last_notes[example]:
                lost += 1
    return {
        "sessions": sessions,
        "edits": sessions * edits,
        "acknowledged": acknowledged,
        "lost": lost,
        "duplicated": duplicated,
        "locked": errors.pop("database is locked", 0),
        "errors": dict(errors),
        "seconds": wall,
        "edits_per_second": acknowledged / wall,
        "worker_exit_codes": [w.exitcode for w in workers],
    }


@contextmanager
def fresh_database(backend: str):
    """A URL and data folder for one run: a new SQLite file, or a new PostgreSQL database."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if backend == "sqlite":
            yield f"sqlite:///{folder / 'strategy.db'}", folder
            return
        name = f"strategy_load_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", folder
        finally:
            with admin.connect() as connection:
                connection.execute(
                    sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
            admin.dispose()


def server_version(url: str) -> str:
    """The database engine's name and version (the anchor's version)."""
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            version = (
                "SQLite " + connection.execute(sqlalchemy.text("select sqlite_version()")).scalar()
            )
        else:
            version = connection.execute(sqlalchemy.text("show server_version")).scalar()
            version = f"PostgreSQL {version}"
    engine.dispose()
    return version


def main() -> None:
    """Run the load on each backend and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--edits", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    for backend in args.backend or ["sqlite", "postgresql"]:
        with fresh_database(backend) as (url, folder):
            concurrent = run_load(url, folder, args.sessions, args.edits)
            version = server_version(url)
        with fresh_database(backend) as (url, folder):
            alone = run_load(url, folder, 1, args.edits)
        ratio = concurrent["edits_per_second"] / alone["edits_per_second"]
        mode = ", WAL" if backend == "sqlite" else ""
        print(
            f"{backend} ({version}{mode}): {concurrent['sessions']} sessions x "
            f"{args.edits} edits: {concurrent['edits_per_second']:.0f} edits/s "
            f"({concurrent['seconds']:.1f} s); anchor 1 session: "
            f"{alone['edits_per_second']:.0f} edits/s; ratio {ratio:.2f}; "
            f"lost {concurrent['lost']}, duplicated {concurrent['duplicated']}, "
            f"'database is locked' surfaced {concurrent['locked']}, other errors "
            f"{concurrent['errors'] or 0}"
        )


if __name__ == "__main__":
    main()
