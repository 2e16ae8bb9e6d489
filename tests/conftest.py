"""Shared fixtures: a tmp data folder (STRATEGY_DATA_DIR) and a small predictions CSV."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

ERRORS = {"train": 0.08, "train_dev": 0.09, "dev": 0.12, "test": 0.13}


def write_predictions(path: Path, rows_per_split: int = 200, seed: int = 0) -> Path:
    """A predictions CSV in the sample's columns, with about the seed's error rates."""
    rng = random.Random(seed)
    lines = ["id,split,y_true,y_pred,score,input,device"]
    row = 0
    for split, error in ERRORS.items():
        for _ in range(rows_per_split):
            row += 1
            label = rng.randint(0, 9)
            predicted = (label + 1) % 10 if rng.random() < error else label
            device = rng.choice(["web", "phone"])
            lines.append(
                f"{row},{split},{label},{predicted},{rng.random():.3f},"
                f"images/{split}_{row:05d}.png,{device}"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh data folder (STRATEGY_DATA_DIR) with no sample file configured."""
    folder = tmp_path / "data"
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(folder))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(tmp_path / "no-sample.csv"))
    return folder


@pytest.fixture
def predictions_csv(tmp_path) -> Path:
    """A small valid predictions file."""
    return write_predictions(tmp_path / "predictions.csv")


POSTGRES_ADMIN_URL = os.environ.get(
    "STRATEGY_TEST_PG_URL", "postgresql+psycopg://strategy:strategy@127.0.0.1:5432/postgres"
)


def _postgres_available() -> bool:
    try:
        engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sqlalchemy.exc.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the local PostgreSQL server (`.ci/system-deps` starts it).

    Skipped where none runs, except in CI, where a missing server is a failure.
    """
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} in CI")
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432 (run `make system-deps`)")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"strategy_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, data_dir, monkeypatch) -> str:
    """Run a test once on the embedded SQLite file and once on PostgreSQL (STRATEGY_DB_URL)."""
    if request.param == "sqlite":
        return "sqlite"
    monkeypatch.setenv("STRATEGY_DB_URL", request.getfixturevalue("postgres_url"))
    return "postgresql"


def project_id(data_dir: Path) -> int:
    """The id of the project a page works on in ``data_dir`` (set as STRATEGY_DATA_DIR): the
    first one, created if none exists."""
    from strategy_app.store import open_store

    store = open_store()
    projects = store.projects.list() or [store.projects.create("model")]
    store.close()
    return projects[0].id


@pytest.fixture
def served_app(tmp_path) -> Iterator[str]:
    """The app served on a free port of 127.0.0.1 with a fresh data folder and no sample
    project (see :mod:`tests.app_server`); its URL."""
    from tests import app_server

    yield from app_server.serve(tmp_path, tmp_path / "no-sample.csv")
