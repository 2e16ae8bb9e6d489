"""The bad-input catalogue, third part (issue 31, items 1-6 and 18-21): storage and writers.

Each case names what a user made or did and the exact outcome: what is refused (one line,
exit code 2 on the CLI), what is kept value for value, what the audit log holds. Storage cases run
on the embedded SQLite file and on PostgreSQL (the ``any_db`` fixture).
"""

from __future__ import annotations

import optuna
import pytest
from sqlalchemy import inspect, text

from diagnostics.search.storage import open_storage
from strategy_app.store import database_url, open_store
from strategy_app.store.engine import make_engine
from strategy_app.store.migrate import (
    LEGACY_VERSION_TABLE,
    VERSION_TABLE,
    current_revision,
    head_revision,
)

# -- 6: the app's database and Optuna's studies share one database ----------------------------


def _run_study(url: str, name: str) -> int:
    """Create (or load) study ``name`` in the RDB storage at ``url``, run one trial, count them."""
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    count = len(study.trials)
    storage.remove_session()
    storage.engine.dispose()
    return count


@pytest.mark.parametrize("first", ["app", "study"])
def test_searches_share_the_app_database_in_either_order(any_db, data_dir, first):
    url = database_url(data_dir)
    data_dir.mkdir(parents=True)
    if first == "study":
        assert _run_study(url, "caviar") == 1
    store = open_store()
    project = store.projects.create("shared database")
    store.close()
    assert _run_study(url, "caviar") == (2 if first == "study" else 1)
    store = open_store()  # reopening after Optuna wrote its version keeps the app's
    assert [p.name for p in store.projects.list()] == [project.name]
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as connection:
        optuna_version = connection.execute(text(f"SELECT version_num FROM {LEGACY_VERSION_TABLE}"))
        assert optuna_version.scalar_one().startswith("v")  # Optuna's revision, untouched
    store.close()


def test_an_older_app_database_moves_its_revision_out_of_optunas_table(any_db, data_dir):
    store = open_store()
    store.projects.create("before the move")
    with store.engine.begin() as connection:  # the layout before issue 31
        connection.execute(text(f"CREATE TABLE {LEGACY_VERSION_TABLE} (version_num VARCHAR(32))"))
        connection.execute(
            text(f"INSERT INTO {LEGACY_VERSION_TABLE} VALUES (:head)"), {"head": head_revision()}
        )
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    store.close()
    store = open_store()
    assert current_revision(store.engine) == head_revision()
    assert LEGACY_VERSION_TABLE not in inspect(store.engine).get_table_names()
    assert [p.name for p in store.projects.list()] == ["before the move"]
    store.close()
    assert _run_study(database_url(data_dir), "after the move") == 1
    engine = make_engine(database_url(data_dir))
    assert current_revision(engine) == head_revision()
    engine.dispose()
