"""The bad-input catalogue, third part (issue 31, items 1-6 and 18-21): storage and writers.

Each case names what a user made or did and the exact outcome: what is refused (one line,
exit code 2 on the CLI), what is kept value for value, what the audit log holds. Storage cases run
on the embedded SQLite file and on PostgreSQL (the ``any_db`` fixture).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import optuna
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect, text

from diagnostics.output_files import write_output
from diagnostics.search.storage import open_storage
from diagnostics.validation import InputError
from strategy_app import cli
from strategy_app.store import database_url, open_store
from strategy_app.store.engine import make_engine
from strategy_app.store.migrate import (
    LEGACY_VERSION_TABLE,
    VERSION_TABLE,
    current_revision,
    head_revision,
)
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
