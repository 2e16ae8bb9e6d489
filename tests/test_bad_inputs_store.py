"""The bad-input catalogue, third part (issue 31, items 1-6 and 18-21): storage and writers.

Each case names what a user made or did and the exact outcome: what is refused (one line,
exit code 2 on the CLI), what is kept value for value, what the audit log holds. Storage cases run
on the embedded SQLite file and on PostgreSQL (the ``any_db`` fixture).
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import optuna
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, inspect, text

from diagnostics.ingest import read_predictions
from diagnostics.output_files import write_output
from diagnostics.search.space import SearchSpace
from diagnostics.search.storage import open_storage
from diagnostics.search.tracking import OPEN_STORE
from diagnostics.suggestions import Suggestion
from diagnostics.validation import InputError
from strategy_app import cli
from strategy_app.auth import LOCAL_USER, Role, User, parse_roles, role_for, user_from_claims
from strategy_app.diagnose.service import accept_upload, save_inputs
from strategy_app.errors import evidence
from strategy_app.errors import service as labeling
from strategy_app.search import service as search_jobs
from strategy_app.search.service import LOG_FILE, log_tail, tracking_uri
from strategy_app.store import database_url, open_store
from strategy_app.store import engine as engine_module
from strategy_app.store.audit import SEARCH_START
from strategy_app.store.engine import (
    StoreDamaged,
    StoreUnreadable,
    StoreUnwritable,
    check_sqlite_file,
    make_engine,
    read,
)
from strategy_app.store.labels import LabelEdit
from strategy_app.store.migrate import (
    LEGACY_VERSION_TABLE,
    VERSION_TABLE,
    current_revision,
    head_revision,
)
from strategy_app.store.uploads import STALE_AFTER_S, TEMPORARY_PREFIX
from tests.conftest import write_predictions


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """The CLI's exit code, stdout and stderr for ``argv``."""
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def refused(argv: list[str], capsys, *needles: str) -> str:
    """Assert the CLI refuses ``argv`` with exit 2 and one stderr line holding ``needles``."""
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


# -- 1: no command writes over one of its inputs; outputs are renamed into place --------------

SAME_FILE = "is the input"


def _link(kind: str, source: Path, link: Path) -> Path:
    if kind == "hard link":
        os.link(source, link)
    elif kind == "symlink":
        link.symlink_to(source)
    else:
        return source
    return link


@pytest.mark.parametrize("kind", ["same path", "hard link", "symlink"])
@pytest.mark.parametrize("command", ["report", "errors", "split assign"])
def test_an_output_naming_an_input_is_refused(tmp_path, capsys, kind, command):
    predictions = write_predictions(tmp_path / "predictions.csv", rows_per_split=20)
    before = predictions.read_bytes()
    out = _link(kind, predictions, tmp_path / "out.csv")
    argv = {
        "report": ["report", str(predictions), "--out", str(out)],
        "errors": ["errors", str(predictions), "--out", str(out)],
        "split assign": ["split", "assign", str(predictions), "--out", str(out)],
    }[command]
    refused(argv, capsys, f"--out {out} {SAME_FILE} {predictions}", "never overwritten")
    assert predictions.read_bytes() == before


def test_a_report_over_the_app_database_is_refused(data_dir, tmp_path, capsys):
    store = open_store()
    store.projects.create("p")
    store.close()
    database = data_dir / "strategy.db"
    before = database.stat().st_size
    refused(["report", "--project", "p", "--out", str(database)], capsys, SAME_FILE)
    assert database.stat().st_size == before
    assert [p.name for p in open_store().projects.list()] == ["p"]


def test_a_failed_write_leaves_the_old_output_and_no_partial_file(tmp_path):
    out = tmp_path / "report.html"
    out.write_bytes(b"the earlier report")

    def dies_midway(stream) -> None:
        stream.write(b"half a rep")
        raise InputError("stopped midway")

    with pytest.raises(InputError, match="stopped midway"):
        write_output(out, dies_midway)
    assert out.read_bytes() == b"the earlier report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    write_output(out, b"the new report")
    assert out.read_bytes() == b"the new report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_an_output_in_an_unwritable_folder_is_one_line(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    predictions = write_predictions(tmp_path / "predictions.csv", rows_per_split=20)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        refused(
            ["report", str(predictions), "--out", str(locked / "r.html")],
            capsys,
            f"--out {locked / 'r.html'}: cannot write (Permission denied)",
        )
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def _search_table(path: Path) -> Path:
    rows = [f"{i},{i % 7 / 7:.3f},{(i * 3) % 5},{i % 2}" for i in range(80)]
    path.write_text("id,a,b,label\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("same path", "predictions.csv"),
        ("hard link", "trials.json"),
        ("symlink", "best_model.json"),
        ("same path", "space-round-2.json"),
    ],
)
def test_a_search_whose_out_folder_holds_its_dataset_is_refused(tmp_path, capsys, kind, name):
    out = tmp_path / "out"
    out.mkdir()
    source = _search_table(tmp_path / "table.csv" if kind != "same path" else out / name)
    before = source.read_bytes()
    _link(kind, source, out / name)
    argv = ["search", "--dataset", f"csv:{source}", "--label", "label", "--rounds", "2"]
    argv += ["--trials", "2", "--epochs", "1", "--out", str(out)]
    argv += ["--storage", str(tmp_path / "journal.log")]
    refused(argv, capsys, f"--out {out / name} {SAME_FILE} {source}", "never overwritten")
    assert source.read_bytes() == before
    assert not (tmp_path / "journal.log").exists()  # refused before any study was made


def test_a_search_over_its_own_journal_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    journal = out / "trials.json"
    argv = ["search", "--trials", "2", "--epochs", "1", "--out", str(out)]
    refused([*argv, "--storage", str(journal)], capsys, f"--out {journal} {SAME_FILE} {journal}")


def test_a_search_writes_its_outputs_whole_with_no_temporary_left(tmp_path, capsys):
    out = tmp_path / "out"
    table = _search_table(tmp_path / "table.csv")
    argv = ["search", "--dataset", f"csv:{table}", "--label", "label", "--trials", "2"]
    argv += ["--epochs", "1", "--out", str(out), "--storage", str(tmp_path / "j.log")]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "best_model.json",
        "best_model.pt",
        "predictions.csv",
        "space-round-1.json",
        "trials.json",
    ]
    assert oct(os.stat(out / "predictions.csv").st_mode & 0o777) == oct(0o644)
    assert sum(1 for _ in (out / "predictions.csv").open()) == 81  # header and every row


# -- 2: split assign copies every value exactly and adds one column ---------------------------

EXACT_ROWS = [
    ["id", "score", "zero", "code", "at", "label"],
    *[
        [
            str(2**64 - 1 - i),  # ids above 2⁶³: distinct as written, never 1.8e19
            "0.10",
            "0.0000",
            f"{i:05d}",
            f"2024-01-0{1 + i % 9}T10:00:00",
            "cat" if i % 2 else "dog",
        ]
        for i in range(60)
    ],
]


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_split_assign_copies_csv_values_as_written(tmp_path, capsys):
    data = tmp_path / "data.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(EXACT_ROWS)
    out = tmp_path / "out.csv"
    argv = ["split", "assign", str(data), "--out", str(out), "--group", "id", "--label", "label"]
    code, _, err = run_cli(argv, capsys)
    assert (code, err) == (0, "")
    rows = _csv_rows(out)
    assert [row[:-1] for row in rows] == EXACT_ROWS
    assert rows[0][-1] == "split"
    assert {row[-1] for row in rows[1:]} <= {"train", "train_dev", "dev", "test"}
    assert len({row[-1] for row in rows[1:]}) > 1  # 60 groups, not one id read as 1.8e19


def test_split_assign_passes_parquet_columns_through(tmp_path, capsys):
    table = pa.table(
        {
            "id": pa.array([2**64 - 1 - i for i in range(40)], pa.uint64()),
            "meta": pa.array([{"a": i, "b": f"x{i}"} for i in range(40)]),
            "tags": pa.array([[i, i + 1] for i in range(40)]),
            "score": pa.array([0.1] * 40, pa.float32()),
        }
    )
    data, out = tmp_path / "data.parquet", tmp_path / "out.parquet"
    pq.write_table(table, data)
    code, _, err = run_cli(["split", "assign", str(data), "--out", str(out)], capsys)
    assert (code, err) == (0, "")
    written = pq.read_table(out)
    assert written.drop_columns(["split"]).equals(table)
    assert written.schema.field("split").type == pa.string()


def test_the_splits_page_download_copies_values_as_written(tmp_path):
    from diagnostics.split_assign import read_dataset
    from strategy_app.splits.service import AssignRequest, assign, assigned_file, plan_options

    data = tmp_path / "data.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(EXACT_ROWS)
    frame = read_dataset(data)
    result = assign(frame, AssignRequest(group="id"), plan_options(), name="data.csv")
    rows = list(csv.reader(io.StringIO(assigned_file(data, result).decode())))
    assert [row[:-1] for row in rows] == EXACT_ROWS


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


# -- 4: a change and its audit entry are one transaction; messages tell the truth -------------


@pytest.fixture
def tagged(any_db, data_dir, tmp_path):
    """A store with a project, a version with a drawn sample, one saved tag and its reader."""
    store = open_store()
    project = store.projects.create("p")
    path = write_predictions(tmp_path / "p.csv", rows_per_split=100)
    accept_upload(store, project.id, "p.csv", path.read_bytes(), LOCAL_USER)
    version = store.versions.current(project.id)
    predictions = read_predictions(path, metric="error")
    sample = labeling.draw_sample(store, version.id, predictions, 5, seed=0, user=LOCAL_USER)
    store.labels.save_edit(version.id, LabelEdit(sample.ids[0], "", notes="kept"), 0)
    yield store, version, predictions, path
    store.close()


def fail_audit_writes(store, table: str = "audit_log", change: str = "INSERT") -> None:
    """Make every ``change`` of ``table`` (by default every audit insert) fail as a full disk
    does (a real trigger in the database)."""
    trigger = f"{table}_full"
    with store.engine.begin() as connection:
        if store.engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE {change} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            )
        else:
            connection.execute(
                text(
                    f"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file: No space left on device' "
                    "USING ERRCODE = '53100'; END $$"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE {change} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
                )
            )


FULL = "not saved: the disk holding the database is full"


def test_a_redraw_whose_audit_fails_keeps_the_old_sample_and_tags(tagged):
    store, version, predictions, _ = tagged
    before = store.labels.sample(version.id).ids
    audited = len(store.audit.history(version.project_id))
    fail_audit_writes(store)
    with pytest.raises(StoreUnwritable, match=FULL) as refused:
        labeling.draw_sample(store, version.id, predictions, 8, seed=1, user=LOCAL_USER)
    assert "everything saved before is intact" in str(refused.value)
    assert store.labels.sample(version.id).ids == before  # the message is true
    assert store.labels.review(version.id, before[0], "").notes == "kept"
    assert len(store.audit.history(version.project_id)) == audited


def test_an_upload_import_and_dismissal_whose_audit_fails_leave_nothing(tagged, tmp_path):
    store, version, _, _ = tagged
    versions = len(store.versions.list(version.project_id))
    fail_audit_writes(store)
    other = write_predictions(tmp_path / "q.csv", rows_per_split=50, seed=4).read_bytes()
    with pytest.raises(StoreUnwritable, match=FULL):
        accept_upload(store, version.project_id, "q.csv", other, LOCAL_USER)
    assert len(store.versions.list(version.project_id)) == versions
    sample = store.labels.sample(version.id)
    tags = f"id,annotator,notes\n{sample.ids[1]},,imported\n".encode()
    with pytest.raises(StoreUnwritable, match=FULL):
        labeling.import_csv(store, version.id, tags, "tags.csv", LOCAL_USER)
    assert store.labels.review(version.id, sample.ids[1], "").version == 0  # never saved
    suggestion = Suggestion(sample.ids[0], "label_issue", "maybe mislabeled", "mislabeled")
    store.suggestions.offer(version.id, [suggestion])
    with pytest.raises(StoreUnwritable, match=FULL):
        evidence.dismiss(store, version, sample.ids[0], "label_issue", "", LOCAL_USER)
    assert store.suggestions.get(version.id, sample.ids[0], "label_issue").pending


def test_files_left_by_a_killed_upload_are_removed_by_the_next_prune_or_open(data_dir):
    store = open_store()
    store.uploads.folder.mkdir(parents=True, exist_ok=True)
    temporary = store.uploads.folder / f"{TEMPORARY_PREFIX}abc"
    unrecorded = store.uploads.folder / ("0" * 64)
    fresh = store.uploads.folder / ("1" * 64)
    for path in (temporary, unrecorded, fresh):
        path.write_bytes(b"half an upload")
    old = time.time() - STALE_AFTER_S - 60
    for path in (temporary, unrecorded):
        os.utime(path, (old, old))
    kept = store.uploads.add("kept.csv", b"kept")
    os.utime(store.uploads.path(kept.sha256), (old, old))
    store.uploads.prune()  # the upload is unreferenced too, so it goes with its row
    assert sorted(p.name for p in store.uploads.folder.iterdir()) == [fresh.name]
    store.close()
    os.utime(fresh, (old, old))
    open_store().close()  # opening the store removes what a killed upload left
    assert list(store.uploads.folder.iterdir()) == []


def test_the_database_header_is_not_reread_while_the_process_holds_the_file(data_dir):
    store = open_store()
    with store.engine.connect() as connection:  # an open connection: its locks must survive
        connection.execute(text("SELECT 1"))
        database = data_dir / "strategy.db"
        before = os.listdir(f"/proc/{os.getpid()}/fd")
        check_sqlite_file(f"sqlite:///{database}")  # returns without opening the file
        assert len(os.listdir(f"/proc/{os.getpid()}/fd")) == len(before)
    store.close()
    empty = data_dir / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(StoreDamaged, match="is empty"):
        check_sqlite_file(f"sqlite:///{empty}")  # no connection: the header is read


def _caviar() -> search_jobs.CaviarRequest:
    return search_jobs.CaviarRequest(
        dataset="digits",
        sampler="random",
        pruner="none",
        trials=1,
        epochs=1,
        rounds=None,
        workers=1,
        space=SearchSpace.default(),
    )


STARTS = {
    "search": lambda store, pid: search_jobs.start_search(
        store, pid, _caviar(), "s", user=LOCAL_USER
    ),
    "panda": lambda store, pid: search_jobs.start_panda(
        store, pid, "digits", {}, 1, "s", user=LOCAL_USER
    ),
}


@pytest.mark.parametrize("kind", list(STARTS))
def test_a_start_whose_audit_fails_saves_no_run_and_launches_nothing(tagged, monkeypatch, kind):
    store, version, *_ = tagged
    launched: list = []
    monkeypatch.setattr(search_jobs, "_launch", lambda *args: launched.append(args) or 1)
    fail_audit_writes(store)
    with pytest.raises(StoreUnwritable, match=FULL) as refused:
        STARTS[kind](store, version.project_id)
    assert "everything saved before is intact" in str(refused.value)
    assert store.search_runs.list(version.project_id) == []  # the message is true
    assert launched == []


@pytest.mark.parametrize("kind", list(STARTS))
def test_a_start_whose_process_id_cannot_be_saved_stops_its_process(tagged, monkeypatch, kind):
    store, version, *_ = tagged
    started: list[int] = []
    real_launch = search_jobs._launch

    def launch(command, out_dir):  # the real launch of a stand-in that would run a minute
        started.append(real_launch([sys.executable, "-c", "import time; time.sleep(60)"], out_dir))
        return started[-1]

    monkeypatch.setattr(search_jobs, "_launch", launch)
    fail_audit_writes(store, "search_runs", "UPDATE")
    with pytest.raises(InputError) as refused:
        STARTS[kind](store, version.project_id)
    message = str(refused.value)
    assert message.startswith("run 's' is saved but not running: its process was stopped")
    assert message.endswith("press Resume to start it") and "\n" not in message
    with pytest.raises(ProcessLookupError):
        os.kill(started[0], 0)  # killed and reaped: nothing runs unseen
    [run] = store.search_runs.list(version.project_id)
    assert run.pid is None and not search_jobs.is_running(run)
    started_by = [c.action for c in store.audit.history(version.project_id, "s")]
    assert started_by == [SEARCH_START]  # the run and its audit entry were saved together


@pytest.mark.parametrize("kind", list(STARTS))
def test_a_start_whose_process_cannot_start_says_the_run_is_saved(tagged, monkeypatch, kind):
    store, version, *_ = tagged
    monkeypatch.setattr(sys, "executable", str(Path(store.folder) / "no-such-python"))
    with pytest.raises(InputError) as refused:
        STARTS[kind](store, version.project_id)
    assert str(refused.value) == (
        "run 's' is saved but did not start: No such file or directory; press Resume to start it"
    )
    [run] = store.search_runs.list(version.project_id)
    assert run.pid is None
    assert [c.action for c in store.audit.history(version.project_id, "s")] == [SEARCH_START]


# -- 3: concurrent writers succeed or refuse in one line, the database consistent -----------


def in_threads(work, count: int = 2) -> list:
    """Run ``work(i)`` in ``count`` threads released at once; each result or exception."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # the test asserts what each thread got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_uploads_at_once_get_two_version_numbers(any_db, data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("p")
    files = [
        write_predictions(tmp_path / f"{i}.csv", rows_per_split=30, seed=i).read_bytes()
        for i in range(3)
    ]
    results = in_threads(
        lambda i: accept_upload(store, project.id, f"{i}.csv", files[i], LOCAL_USER), 3
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = sorted(v.number for v in store.versions.list(project.id))
    assert numbers == [1, 2, 3]
    uploads = [c for c in store.audit.history(project.id) if c.action == "upload"]
    assert len(uploads) == 3
    store.close()


def test_two_sessions_offer_the_same_suggestions_at_once(tagged):
    store, version, _, _ = tagged
    ids = store.labels.sample(version.id).ids
    offered = [Suggestion(i, "label_issue", "maybe mislabeled", "mislabeled") for i in ids]
    results = in_threads(lambda _: store.suggestions.offer(version.id, offered), 3)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(store.suggestions.of_version(version.id)) == len(ids)


def test_dismissing_an_accepted_suggestion_is_refused_and_the_tag_stays(tagged):
    store, version, _, _ = tagged
    example = store.labels.sample(version.id).ids[2]
    store.suggestions.offer(version.id, [Suggestion(example, "label_issue", "t", "mislabeled")])
    evidence.accept(store, version, example, "label_issue", "", LOCAL_USER)
    with pytest.raises(InputError, match="was already accepted by local and its tag saved"):
        evidence.dismiss(store, version, example, "label_issue", "", LOCAL_USER)
    saved = store.suggestions.get(version.id, example, "label_issue")
    assert saved.status == "accepted"
    assert store.labels.review(version.id, example, "").tags


def test_pruning_while_uploading_the_same_file_keeps_every_version_whole(tagged, tmp_path):
    store, version, *_ = tagged
    data = write_predictions(tmp_path / "again.csv", rows_per_split=30, seed=9).read_bytes()
    for _ in range(3):
        results = in_threads(
            lambda i: (
                accept_upload(store, version.project_id, "again.csv", data, LOCAL_USER)
                if i == 0
                else store.uploads.prune()
            )
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        for kept in store.versions.list(version.project_id):
            digest = kept.state.upload_sha256
            assert store.uploads.get(digest) is not None
            assert store.uploads.path(digest).is_file()


# -- 5: both stores refuse NUL and over-long texts alike; locks and lost connections ---------


@pytest.mark.parametrize(
    "save, message",
    [
        (lambda s, v: s.projects.create("a\x00b"), "the project name 'a\\x00b' holds a NUL"),
        (
            lambda s, v: s.labels.save_edit(v.id, LabelEdit(v.sample[0], "", notes="x\x00"), 0),
            "the notes 'x\\x00' holds a NUL",
        ),
        (
            lambda s, v: s.labels.save_edit(v.id, LabelEdit(v.sample[0], "ann\x00"), 0),
            "the annotator 'ann\\x00' holds a NUL",
        ),
        (
            lambda s, v: s.labels.save_edit(v.id, LabelEdit(v.sample[0], "a" * 101), 0),
            "the annotator 'aaaa",
        ),
        (lambda s, v: s.uploads.add("n" * 300 + ".csv", b"x"), "the file name 'nnn"),
        (lambda s, v: s.projects.create("p" * 101), "a project name has at most 100 characters"),
    ],
    ids=["project NUL", "notes NUL", "annotator NUL", "annotator long", "upload name", "name"],
)
def test_nul_and_overlong_texts_are_refused_alike_on_both_stores(tagged, save, message):
    store, version, _, _ = tagged
    target = SimpleNamespace(id=version.id, sample=store.labels.sample(version.id).ids)
    with pytest.raises(InputError, match=re.escape(message)) as refused:
        save(store, target)
    assert "\n" not in str(refused.value)
    assert [p.name for p in store.projects.list()] == ["p"]


def test_a_database_locked_too_long_is_one_line_and_nothing_half_saved(
    data_dir, monkeypatch, capsys
):
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(engine_module, "WRITE_ATTEMPTS", 2)
    store = open_store()
    holder = sqlite3.connect(data_dir / "strategy.db")
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(StoreUnwritable, match="another program kept the database locked"):
            store.projects.create("late")
    finally:
        holder.rollback()
        holder.close()
    assert store.projects.list() == []
    store.projects.create("now")  # free again
    store.close()


def test_a_postgres_connection_dropped_mid_transaction_is_retried_whole(
    postgres_url, data_dir, monkeypatch
):
    monkeypatch.setenv("STRATEGY_DB_URL", postgres_url)
    store = open_store()
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    tries = []

    def change() -> None:
        tries.append(1)
        store.projects.create("once")
        if len(tries) == 1:
            backend = read(
                store.engine, lambda s: s.execute(text("SELECT pg_backend_pid()")).scalar()
            )
            with admin.begin() as connection:
                connection.execute(text(f"SELECT pg_terminate_backend({backend})"))
        store.settings.set("after", "the drop")

    store.atomic(change)
    assert len(tries) == 2
    assert [p.name for p in store.projects.list()] == ["once"]
    admin.dispose()
    store.close()


def _kill_own_connection(admin, session) -> None:
    """Terminate the PostgreSQL backend serving ``session`` (as a server restart would)."""
    backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
    with admin.begin() as connection:
        connection.execute(text(f"SELECT pg_terminate_backend({backend})"))


def test_a_postgres_read_whose_connection_drops_mid_query_is_retried(
    postgres_url, data_dir, monkeypatch
):
    monkeypatch.setenv("STRATEGY_DB_URL", postgres_url)
    store = open_store()
    store.projects.create("kept")
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    tries = []

    def names(session) -> list[str]:
        tries.append(1)
        if len(tries) == 1:
            _kill_own_connection(admin, session)
        return list(session.execute(text("SELECT name FROM projects")).scalars())

    assert read(store.engine, names) == ["kept"]
    assert len(tries) == 2
    assert [p.name for p in store.projects.list()] == ["kept"]  # the pool recovered
    admin.dispose()
    store.close()


def test_a_postgres_read_that_keeps_losing_its_connection_is_one_line(
    postgres_url, data_dir, monkeypatch
):
    monkeypatch.setenv("STRATEGY_DB_URL", postgres_url)
    monkeypatch.setattr(engine_module, "READ_ATTEMPTS", 2)
    store = open_store()
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))

    def names(session) -> list[str]:
        _kill_own_connection(admin, session)
        return list(session.execute(text("SELECT name FROM projects")).scalars())

    with pytest.raises(StoreUnreadable) as refused:
        read(store.engine, names)
    message = str(refused.value)
    assert message.startswith("not read: the connection to the database was lost (")
    assert message.endswith("try again in a moment — nothing was changed")
    assert "\n" not in message
    store.projects.create("after")  # the store works again
    assert [p.name for p in store.projects.list()] == ["after"]
    admin.dispose()
    store.close()


def test_a_sqlite_read_locked_out_too_long_is_one_line(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(engine_module, "READ_ATTEMPTS", 2)
    store = open_store()
    store.projects.create("p")
    store.engine.dispose()  # this process lets go of the file, as another process would not
    holder = sqlite3.connect(data_dir / "strategy.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the file, readers too
    try:
        with pytest.raises(StoreUnreadable) as caught:
            store.projects.list()
        assert str(caught.value).startswith(
            "not read: another program kept the database locked for too long ("
        )
        assert str(caught.value).endswith("try again in a moment — nothing was changed")
        out = str(data_dir / "r.html")
        refused(["report", "--project", "p", "--out", out], capsys, "kept the database locked")
    finally:
        holder.rollback()
        holder.close()
    assert [p.name for p in store.projects.list()] == ["p"]
    store.close()


# -- 19: only addresses the provider verified map to roles ------------------------------------

SIGN_IN_ROLES = parse_roles(
    {
        "default": "none",
        "admin": {"emails": ["ana@example.com"]},
        "editor": {"domains": ["corp.io"]},
    }
)


@pytest.mark.parametrize("verified", [False, "false", "False", 0, "no", None, "0"])
@pytest.mark.parametrize("email", ["ana@example.com", "bob@corp.io"])
def test_an_unverified_address_matches_no_email_or_domain_rule(email, verified):
    claims = {"email": email, "email_verified": verified}
    assert role_for(claims, SIGN_IN_ROLES) is None
    assert user_from_claims(claims, SIGN_IN_ROLES) is None


@pytest.mark.parametrize("verified", [True, "true", "TRUE"])
def test_a_verified_address_matches_its_rules(verified):
    ana = {"email": "ana@example.com", "email_verified": verified}
    assert role_for(ana, SIGN_IN_ROLES) is Role.ADMIN
    assert role_for({"email": "bob@corp.io", "email_verified": verified}, SIGN_IN_ROLES) is (
        Role.EDITOR
    )


# -- 20: search --mlflow: one line each, a short timeout, no password shown -------------------

SEARCH = ["search", "--sampler", "random", "--pruner", "none", "--epochs", "1", "--trials", "1"]


@pytest.mark.slow  # each check starts an interpreter that imports MLflow
@pytest.mark.parametrize(
    "uri, says",
    [
        ("ftp://files.example/mlruns", "MLflow cannot open it"),
        ("::garbage::", "MLflow cannot open it"),
        ("http://127.0.0.1:9", "MLflow cannot open it"),
        ("postgresql://ana:s3cret@127.0.0.1:9/mlflow", "postgresql://ana:***@127.0.0.1:9/mlflow"),
        ("sqlite:///a\x00b.db", "holds control characters"),
    ],
    ids=["ftp", "garbage", "nothing listening", "password", "NUL"],
)
def test_search_refuses_a_tracking_uri_mlflow_cannot_open(data_dir, capsys, uri, says):
    pytest.importorskip("mlflow")
    err = refused([*SEARCH, "--mlflow", uri], capsys, says)
    assert "s3cret" not in err and "Traceback" not in err
    assert not (data_dir / "search").exists()  # nothing started


@pytest.mark.slow  # starts an interpreter that imports MLflow
def test_the_tracking_check_tries_a_database_that_does_not_answer_once():
    # MLflow itself retries a database 10 times with growing pauses (101 s before the refusal)
    pytest.importorskip("mlflow")
    done = subprocess.run(
        [sys.executable, "-c", OPEN_STORE, "postgresql://ana:s3cret@127.0.0.1:9/mlflow"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0 and "will be retried" not in done.stderr


def test_a_failed_runs_log_tail_shows_no_password(tmp_path):
    run = SimpleNamespace(out_dir=str(tmp_path))
    (tmp_path / LOG_FILE).write_text(
        "Traceback …\nsqlalchemy.exc.OperationalError: cannot reach "
        "postgresql+psycopg://ana:s3cret@db:5432/app and http://u:pw@mlflow:5000\n"
    )
    tail = log_tail(run)
    assert "s3cret" not in tail and ":pw@" not in tail
    assert "postgresql+psycopg://ana:***@db:5432/app" in tail


def test_the_page_refuses_a_nul_in_the_tracking_field_in_one_line():
    with pytest.raises(InputError, match=r"holds control characters") as refused_uri:
        tracking_uri("postgresql://ana:s3cret@db/m\x00lflow")
    assert "s3cret" not in str(refused_uri.value) and "\\x00" in str(refused_uri.value)


# -- 21: names with ESC, NUL or line breaks are printed escaped -------------------------------


def test_a_name_with_escape_sequences_is_printed_escaped(data_dir, capsys):
    store = open_store()
    store.projects.create("evil\x1b[2J\x1b]0;owned\x07")
    store.close()
    err = refused(["report", "--project", "nope", "--out", "r.html"], capsys, "evil\\x1b[2J")
    assert "\x1b" not in err and "\x07" not in err
    with pytest.raises(InputError, match="holds a NUL"):
        open_store().projects.create("a\x00b")


def test_cli_text_output_escapes_control_characters(tmp_path, capsys):
    data = tmp_path / "p.csv"
    data.write_text(
        "id,split,y_true,y_pred\n"
        + "".join(f"{i},{s},cat\x1b[31m,dog\x1b[0m\n" for i, s in enumerate(["dev"] * 6))
        + "".join(f"{i + 6},{s},cat,cat\n" for i, s in enumerate(["train", "train_dev", "test"]))
    )
    code, out, err = run_cli(["errors", str(data), "--n", "3"], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\\x1b[31m" in out


# -- 18: every change a person makes is audited with who and what; version switches: editors -


EDITOR_USER = User("eve@example.com", "Eve", Role.EDITOR)
ANNOTATOR_USER = User("ann@example.com", "Ann", Role.ANNOTATOR)


def actions(store, project_id: int) -> list[tuple[str, str, str | None]]:
    """The project's audit entries as (user, action, target), oldest first."""
    return [(c.user, c.action, c.target) for c in store.audit.history(project_id)]


def test_choosing_a_version_changes_only_what_this_session_shows(data_dir, tmp_path):
    """18: the sidebar's version box is the session's choice (strategy_app.versions): any role
    may look at another version, and nothing saved changes for anyone, so there is nothing to
    audit; what every new session opens stays the project's current version."""
    from streamlit.testing.v1 import AppTest

    from strategy_app.shell.navigation import PAGES_DIR

    store = open_store()
    project = store.projects.create("p")
    for seed in (1, 2):
        data = write_predictions(tmp_path / f"{seed}.csv", rows_per_split=20, seed=seed)
        accept_upload(store, project.id, f"{seed}.csv", data.read_bytes(), LOCAL_USER)
    first, second = sorted(store.versions.list(project.id), key=lambda v: v.number)
    before = actions(store, project.id)
    at = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    at.sidebar.selectbox(key=f"sidebar_version_{project.id}").set_value(first.id).run()
    assert not at.exception
    assert any(f"Model version **{first.name}**" in c.value for c in at.caption)
    assert store.versions.current(project.id).id == second.id
    assert actions(store, project.id) == before
    fresh = AppTest.from_file(str(PAGES_DIR / "diagnose.py"), default_timeout=120).run()
    assert any(f"Model version **{second.name}**" in c.value for c in fresh.caption)
    store.close()


def test_inputs_split_choices_space_and_stops_are_audited(any_db, data_dir):
    from diagnostics.search.space import SearchSpace
    from strategy_app.search import service as search_jobs
    from strategy_app.splits.service import save_choices
    from strategy_app.store import DiagnoseState

    store = open_store()
    project = store.projects.create("p")
    typed = DiagnoseState(source="typed", typed_levels={"train": 0.1, "dev": 0.2})
    save_inputs(store, project.id, typed, EDITOR_USER)
    save_inputs(store, project.id, typed, EDITOR_USER)  # unchanged: no second entry
    state = replace(store.split_plans.load(project.id), size="10000")
    assert save_choices(store, project.id, state, EDITOR_USER)
    space = SearchSpace.default()
    assert search_jobs.save_space(store, project.id, space, EDITOR_USER)
    run = store.search_runs.add(project.id, "panda", "r", "", {}, str(data_dir / "r"))
    (data_dir / "r").mkdir(parents=True)
    search_jobs.stop_panda(store, run, EDITOR_USER)
    entries = store.audit.history(project.id)
    assert [(c.user, c.action) for c in entries] == [
        ("eve@example.com", "diagnose inputs"),
        ("eve@example.com", "split choices"),
        ("eve@example.com", "search space"),
        ("eve@example.com", "search stop"),
    ]
    assert entries[0].detail["typed_levels"][1] == str({"train": 0.1, "dev": 0.2})
    assert entries[1].detail["size"] == ["", "10000"]
    assert entries[3].target == "r"
    store.close()


def test_a_tags_import_leaves_a_trace_on_each_example_under_the_annotators_name(tagged):
    store, version, _, _ = tagged
    ids = store.labels.sample(version.id).ids
    csv_text = (
        "id,annotator,mislabeled,notes\n"
        f"{ids[1]},zoe@example.com,1,\n"
        f"{ids[2]},max@example.com,0,looked\n"
    )
    labeling.import_csv(store, version.id, csv_text.encode(), "team.csv", EDITOR_USER)
    for example, annotator in ((ids[1], "zoe@example.com"), (ids[2], "max@example.com")):
        (entry,) = store.audit.history(version.project_id, example)
        assert (entry.user, entry.action) == ("eve@example.com", "tag import")
        assert entry.detail["annotator"] == annotator
        assert entry.detail["imported from"] == "team.csv"
