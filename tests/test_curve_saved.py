"""Train sizes and learning curves kept with a project's versions (issue 28): the 0012 columns,
the audited edits, the fit on saved sizes in a new session, a measured curve kept with one
version (``learning-curve --project``) and its report; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from diagnostics.report import report_data
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.cli import main
from strategy_app.curve import saved
from strategy_app.diagnose.service import accept_upload
from strategy_app.report.service import project_inputs
from strategy_app.store import database_url, open_store
from strategy_app.store.engine import make_engine
from strategy_app.store.migrate import current_revision, upgrade
from strategy_app.versions.service import delete_version
from tests.objectives import models

SIZES = {1 / 8: 112, 1 / 4: 224, 1 / 2: 449, 1.0: 898}  # ridge_curve's train rows per fraction


def upload_versions(store, project_id: int, folder: Path, fractions=tuple(SIZES)) -> list:
    """One version per fraction (ridge_curve's predictions, seed 0), oldest first; the last one
    is current."""
    for fraction in fractions:
        path = folder / f"v{fraction:g}.csv"
        models.ridge_curve({"C": 1.0}, SimpleNamespace(train_fraction=fraction, seed=0)).to_csv(
            path, index=False
        )
        accept_upload(
            store, project_id, path.name, path.read_bytes(), LOCAL_USER, label=f"{fraction:g}"
        )
    return sorted(store.versions.list(project_id), key=lambda v: v.number)


def fraction_of(version) -> float:
    return float(version.name.split(" · ")[1])


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def old_database(data_dir: Path, revision: str, columns: str = "", values: str = "") -> None:
    """A database at ``revision`` with project 1 ('old') and its typed-levels version v1 (id 1;
    ``columns``/``values``: more of v1's columns, each with a leading comma)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(data_dir))
    upgrade(engine, revision)
    stamp = "'2024-01-01 00:00:00'"
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO projects (id, name, created_at, updated_at, opened_at) VALUES "
                f"(1, 'old', {stamp}, {stamp}, {stamp})"
            )
        )
        connection.execute(
            text(
                "INSERT INTO model_versions (id, project_id, number, name, source, typed_levels, "
                f"human_levels, unit, origin, created_at, updated_at{columns}) VALUES (1, 1, 1, "
                f"'v1 · typed levels', 'typed', '{{}}', '[]', '', '{{}}', {stamp}, {stamp}{values})"
            )
        )
    engine.dispose()


def test_0012_adds_empty_train_size_and_curve_to_existing_versions(any_db, data_dir):
    old_database(data_dir, "0011")
    store = open_store()
    assert current_revision(store.engine) == "0013"
    (v1,) = store.versions.list(1)
    assert (v1.name, v1.train_size, v1.learning_curve) == ("v1 · typed levels", None, None)
    store.versions.set_train_size(v1.id, 4000)
    assert store.versions.get(v1.id).train_size == 4000


def test_sizes_are_saved_audited_and_fitted_again_in_a_new_session(any_db, data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("sizes")
    versions = upload_versions(store, project.id, tmp_path, (*SIZES, 0.75))
    *sized, unsized = versions
    changed = saved.save_train_sizes(
        store, project.id, {v.id: SIZES[fraction_of(v)] for v in sized}, LOCAL_USER
    )
    assert changed == [v.name for v in sized]
    entries = [c for c in store.audit.history(project.id) if c.action == "train size"]
    assert [(c.target, c.detail) for c in entries] == [
        (v.name, {"train_size": [None, SIZES[fraction_of(v)]]}) for v in sized
    ]
    assert saved.save_train_sizes(store, project.id, {sized[0].id: "112"}, LOCAL_USER) == []
    store.close()

    again = open_store()  # a new session: nothing typed, the sizes are saved
    curve = saved.sizes_curve(again, project.id)
    assert curve is not None and curve["problem"] is None and curve["fit"] is not None
    assert [p["n"] for p in curve["points"]] == list(SIZES.values())
    assert curve["left_out"] == f"left out (no train size): {unsized.name}"
    assert curve["source"] == "fitted on the train sizes of 4 versions"
    expected = saved.curve_from_runs(
        [(again.uploads.path(v.state.upload_sha256), SIZES[fraction_of(v)]) for v in sized]
    )
    assert curve["points"] == expected["points"] and curve["forecasts"] == expected["forecasts"]
    # the report of any version of the project carries the fit, and its plan line
    data = report_data(project_inputs(again, again.projects.get(project.id)), ["curve"])
    assert data["learning_curve"]["points"] == curve["points"]
    again.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-5, "train size -5 must be at least 1 row"),
        (0, "train size 0 must be at least 1 row"),
        (2.5, "train size '2.5' is not a whole number of rows"),
        ("many", "train size 'many' is not a whole number of rows"),
        (True, "train size 'True' is not a whole number of rows"),
    ],
)
def test_a_bad_train_size_is_one_line_and_nothing_is_saved(
    any_db, data_dir, tmp_path, value, message
):
    store = open_store()
    project = store.projects.create("bad")
    first, second = upload_versions(store, project.id, tmp_path, (0.5, 1.0))
    saved.save_train_sizes(store, project.id, {first.id: 449}, LOCAL_USER)
    before = store.versions.list(project.id)
    with pytest.raises(InputError, match=message) as refused:
        saved.save_train_sizes(store, project.id, {first.id: 10, second.id: value}, LOCAL_USER)
    assert str(refused.value).startswith(second.name)
    assert "\n" not in str(refused.value)
    assert store.versions.list(project.id) == before  # not even the good size of v1
    assert [c.action for c in store.audit.history(project.id)].count("train size") == 1
    with pytest.raises(InputError, match="at least 1"):
        store.versions.set_train_size(first.id, -1)


def test_a_measured_curve_belongs_to_its_version_only(any_db, data_dir, tmp_path, capsys):
    store = open_store()
    project = store.projects.create("measured")
    v1, v2 = upload_versions(store, project.id, tmp_path, (0.5, 1.0))
    store.close()
    code, out, err = run_cli(
        capsys, "learning-curve", "--objective", "tests.objectives.models:ridge_curve",
        "--params", '{"C": 1.0}', "--fractions", "1/8,1/4,1/2,1", "--seeds", "2",
        "--data-dir", str(tmp_path / "runs"), "--study", "kept", "--project", "measured",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["saved"] == {"project": "measured", "version": v2.name}
    store = open_store()
    kept = store.versions.get(v2.id)
    assert kept.learning_curve["points"] == result["points"]
    assert store.versions.get(v1.id).learning_curve is None
    (entry,) = [c for c in store.audit.history(project.id) if c.action == "learning curve"]
    assert (entry.user, entry.target, entry.detail["study"]) == ("local", v2.name, "kept")
    shown = saved.shown_curve(store, kept)
    assert shown["source"] == f"measured for {v2.name}" and shown["forecasts"]
    # the report of v2 has its curve and the plan line carries the forecast
    data = report_data(project_inputs(store, store.projects.get(project.id)), ["curve"])
    assert data["learning_curve"]["forecasts"] == result["forecasts"]
    # v1 shows no curve of v2's (and no sizes are saved): no section
    assert saved.shown_curve(store, store.versions.get(v1.id)) is None
    assert project_inputs(store, store.projects.get(project.id), v1).learning_curve is None

    # deleting v2 deletes its curve; --version 2 is then refused before any training
    delete_version(store, v2, LOCAL_USER)
    store.close()
    code, out, err = run_cli(
        capsys, "learning-curve", "--objective", "tests.objectives.models:ridge_curve",
        "--params", '{"C": 1.0}', "--data-dir", str(tmp_path / "runs"), "--study", "gone",
        "--project", "measured", "--version", "2",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: --version 2: the project has no such version (versions: v1); it may have "
        "been deleted"
    )
    assert not (tmp_path / "runs" / "learning-curve" / "gone").exists()


def test_keeping_a_curve_for_a_deleted_version_keeps_nothing(any_db, data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("deleted")
    (v1,) = upload_versions(store, project.id, tmp_path, (1.0,))
    curve = saved.curve_from_runs([(store.uploads.path(v1.state.upload_sha256), 898)])
    delete_version(store, v1, LOCAL_USER)
    with pytest.raises(InputError, match="that version no longer exists"):
        saved.save_version_curve(store, v1, curve, LOCAL_USER)
    assert [c.action for c in store.audit.history(project.id)].count("learning curve") == 0


def test_a_malformed_curve_file_is_one_line_and_the_saved_curve_stays(
    any_db, data_dir, tmp_path, capsys
):
    store = open_store()
    project = store.projects.create("files")
    (v1,) = upload_versions(store, project.id, tmp_path, (1.0,))
    good = saved.curve_from_runs([(store.uploads.path(v1.state.upload_sha256), 898)] * 4)
    saved.save_version_curve(store, v1, good, LOCAL_USER)
    store.close()
    bad = {
        "broken.json": ('{"points": [', "broken.json: not JSON"),
        "list.json": ("[1, 2]", "list.json: not a learning curve (no points/runs/fit/forecasts)"),
        "points.json": (
            json.dumps({**good, "points": [{"n": "many", "dev_error": 0.1}]}),
            "points.json: points[0] has no numeric n and dev_error",
        ),
        "fit.json": (
            json.dumps({**good, "fit": {"a": 1}}),
            "fit.json: 'fit' has no numbers a, b, c",
        ),
    }
    for name, (content, message) in bad.items():
        path = tmp_path / name
        path.write_text(content)
        code, out, err = run_cli(
            capsys, "learning-curve", "--curve", str(path), "--project", "files"
        )
        assert code == 2 and out == "", name
        assert err.strip().startswith(f"error: {tmp_path / message}"), err
        assert len(err.strip().splitlines()) == 1
    store = open_store()
    assert store.versions.get(v1.id).learning_curve == good
    # a curve file of learning-curve --json is kept as it is
    path = tmp_path / "good.json"
    path.write_text(json.dumps(good))
    code, out, err = run_cli(capsys, "learning-curve", "--curve", str(path), "--project", "files")
    assert code == 0 and f"Kept with {v1.name} of project files." in out


def test_the_cli_saves_sizes_and_fits_them(any_db, data_dir, tmp_path, capsys):
    store = open_store()
    project = store.projects.create("cli")
    versions = upload_versions(store, project.id, tmp_path)
    store.close()
    flags = [f"--train-size=v{v.number}={SIZES[fraction_of(v)]:,}" for v in versions[:3]]
    code, out, err = run_cli(capsys, "learning-curve", "--project", "cli", *flags)
    assert code == 0, err
    assert out.strip().endswith(f"left out (no train size): {versions[3].name}")
    code, out, err = run_cli(
        capsys, "learning-curve", "--project", "cli", "--train-size", "4=898", "--json"
    )
    assert code == 0, err
    assert [p["n"] for p in json.loads(out)["points"]] == list(SIZES.values())
    for flag, message in [
        ("v2=-5", "--train-size v2=-5: train size -5 must be at least 1 row"),
        ("v2=2.5", "--train-size v2=2.5: train size '2.5' is not a whole number of rows"),
        ("v2", "--train-size v2: write vN=ROWS, e.g. v2=4000"),
        ("v9=10", "--version v9: the project has no such version (versions: v1, v2, v3, v4)"),
    ]:
        code, out, err = run_cli(capsys, "learning-curve", "--project", "cli", "--train-size", flag)
        assert code == 2 and err.strip().startswith(f"error: {message}"), err
    store = open_store()
    assert [
        v.train_size for v in sorted(store.versions.list(project.id), key=lambda v: v.number)
    ] == [
        112,
        224,
        449,
        898,
    ]
    code, out, err = run_cli(capsys, "learning-curve", "--project", "nope")
    assert code == 2 and err.strip().startswith("error: --project: no project named 'nope'")
    code, out, err = run_cli(capsys, "learning-curve", "--train-size", "v1=5")
    assert code == 2 and "go with --project" in err


def test_report_project_has_the_curve_section_and_the_forecast_line(data_dir, tmp_path, capsys):
    store = open_store()
    project = store.projects.create("report")
    versions = upload_versions(store, project.id, tmp_path)
    saved.save_train_sizes(
        store, project.id, {v.id: SIZES[fraction_of(v)] for v in versions}, LOCAL_USER
    )
    store.close()
    out = tmp_path / "report.json"
    code, _, err = run_cli(
        capsys, "report", "--project", "report", "--format", "json", "--out", str(out)
    )
    assert code == 0, err
    data = json.loads(out.read_text())
    assert data["learning_curve"]["source"] == "fitted on the train sizes of 4 versions"
    assert data["learning_curve"]["fit"]["form"] == "err(n) = a + b * n^(-c)"


def test_an_unreadable_saved_curve_is_one_line_in_the_report(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("unreadable")
    (v1,) = upload_versions(store, project.id, tmp_path, (1.0,))
    store.versions.save_curve(v1.id, {"points": "junk"})  # as an older or damaged row
    inputs = project_inputs(store, store.projects.get(project.id))
    assert inputs.learning_curve["problem"] == (
        f"the saved learning curve of {v1.name}: not a learning curve (no points/runs/fit/"
        "forecasts); give the output of learning-curve --json"
    )
    assert inputs.diagnosis is not None  # the rest of the report is unchanged
    assert replace(v1, learning_curve=None) == v1  # the curve is not part of a version's identity
