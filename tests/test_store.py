"""The store on a real SQLite file: projects, saved Diagnose state, migrations, processes."""

import subprocess
import sys
import textwrap
import threading

import pytest
from sqlalchemy import text

from diagnostics.validation import InputError
from diagnostics.waterfall import HumanLevel
from strategy_app.store import DiagnoseState, database_url, open_store
from strategy_app.store.engine import make_engine
from strategy_app.store.migrate import current_revision, head_revision, upgrade


def test_sqlite_file_in_data_dir_with_wal(data_dir):
    store = open_store()
    assert store.location == str(data_dir / "strategy.db")
    assert (data_dir / "strategy.db").is_file()
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert current_revision(store.engine) == head_revision()


def test_create_rename_switch_delete(any_db, data_dir):
    store = open_store()
    first = store.projects.create("  cat   detector ")
    second = store.projects.create("speech")
    assert first.name == "cat detector"
    with pytest.raises(InputError, match="already exists"):
        store.projects.create("Cat Detector")
    with pytest.raises(InputError, match="needs a name"):
        store.projects.create("  ")
    store.projects.rename(first.id, "cat detector v2")
    with pytest.raises(InputError, match="already exists"):
        store.projects.rename(first.id, "speech")
    store.projects.mark_opened(first.id)
    assert [p.name for p in store.projects.list()] == ["cat detector v2", "speech"]
    store.projects.mark_opened(second.id)
    assert store.projects.list()[0].id == second.id
    store.projects.delete(second.id)
    assert [p.id for p in store.projects.list()] == [first.id]
    assert store.projects.get(second.id) is None


def test_diagnose_state_roundtrip_and_delete_cascade(any_db, data_dir):
    store = open_store()
    project = store.projects.create("p")
    assert store.diagnose_state.load(project.id) == DiagnoseState()
    upload = store.uploads.add("preds.csv", b"split,y_true,y_pred\ntrain,1,1\n")
    state = DiagnoseState(
        source="upload",
        upload_sha256=upload.sha256,
        upload_name="preds.csv",
        typed_levels={"train": 0.08, "dev": 0.1},
        human_levels=[HumanLevel("student", 0.05), HumanLevel("expert", 0.02)],
        metric="error",
        unit="",
        slice_column="device",
    )
    store.diagnose_state.save(project.id, state)
    assert store.diagnose_state.load(project.id) == state
    assert store.uploads.path(upload.sha256).read_bytes().startswith(b"split")
    store.projects.delete(project.id)
    assert store.diagnose_state.load(project.id) == DiagnoseState()
    assert not store.uploads.path(upload.sha256).exists()


def test_persists_across_processes(any_db, data_dir):
    script = textwrap.dedent(
        """
        import sys
        from diagnostics.waterfall import HumanLevel
        from strategy_app.store import DiagnoseState, open_store
        store = open_store()
        if sys.argv[1] == "write":
            p = store.projects.create("from another process")
            store.diagnose_state.save(p.id, DiagnoseState(
                source="typed", typed_levels={"train": 0.08},
                human_levels=[HumanLevel("expert", 0.01)]))
        else:
            (p,) = store.projects.list()
            s = store.diagnose_state.load(p.id)
            print(p.name, s.source, s.typed_levels["train"], s.human_levels[0].name)
        """
    )
    for mode in ("write", "read"):
        done = subprocess.run(
            [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
        )
    assert done.stdout.strip() == "from another process typed 0.08 expert"


def test_upgrade_from_older_revision_keeps_data(any_db, data_dir):
    data_dir.mkdir(parents=True)
    engine = make_engine(database_url(data_dir))
    upgrade(engine, "0001_projects")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO projects (name, created_at, updated_at, opened_at) "
                "VALUES ('old project', '2024-01-01', '2024-01-01', '2024-01-01')"
            )
        )
    assert current_revision(engine) == "0001_projects"
    engine.dispose()
    store = open_store()
    assert current_revision(store.engine) == head_revision()
    (project,) = store.projects.list()
    assert project.name == "old project"
    store.diagnose_state.save(project.id, DiagnoseState(source="typed"))
    assert store.diagnose_state.load(project.id).source == "typed"


def test_concurrent_writers_retry_instead_of_failing(any_db, data_dir):
    store = open_store()
    errors = []

    def create(prefix):
        try:
            for i in range(15):
                store.projects.create(f"{prefix}-{i}")
        except Exception as exc:  # any failure fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.projects.list()) == 60


def test_postgresql_without_psycopg_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in an install without [postgres]
    with pytest.raises(InputError, match=r"strategy-desk\[postgres\]"):
        make_engine("postgresql://strategy:strategy@127.0.0.1:5432/strategy")
