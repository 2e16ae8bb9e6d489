"""Target-data curves kept with a project's versions (issue 28 item 2): the 0013 column, the
CLI's ``learning-curve --target-pool … --project`` and ``--curve FILE --project``, the audit,
the report of the version (never another version's), and bad input (a malformed file, a curve
of the other kind, a deleted version) refused in one line with nothing saved changed; on
SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from diagnostics.report import report_data
from diagnostics.target_curve import fit_target_curve, target_forecast_line
from diagnostics.validation import InputError
from strategy_app.auth import LOCAL_USER
from strategy_app.curve import saved
from strategy_app.curve.service import LEARNING, TARGET
from strategy_app.report.service import project_inputs
from strategy_app.store import open_store
from strategy_app.store.migrate import current_revision
from strategy_app.versions.service import delete_version
from tests.test_curve_saved import old_database, run_cli
from tests.test_report import learning_curve_dict
from tests.test_target_curve import curve_points
from tests.test_target_curve_page import mismatched_project

KNN = "tests.objectives.target:knn_target"


def measure(capsys, tmp_path, *extra: str) -> tuple[int, str, str]:
    """``learning-curve --target-pool domain=phone`` with the k-NN objective on the project's
    mismatched set (seeds 2), with ``extra`` flags."""
    return run_cli(
        capsys, "learning-curve", "--dataset", f"csv:{tmp_path / 'mismatched.csv'}",
        "--label", "label", "--target-pool", "domain=phone", "--objective", KNN,
        "--seeds", "2", "--data-dir", str(tmp_path / "runs"), *extra,
    )  # fmt: skip


def target_actions(store, project_id: int) -> list:
    return [c for c in store.audit.history(project_id) if c.action == "target curve"]


def test_0013_adds_an_empty_target_curve_and_keeps_the_learning_curve(any_db, data_dir):
    old_database(data_dir, "0012", ", train_size, learning_curve", ", 898, '{\"points\": []}'")
    store = open_store()
    assert current_revision(store.engine) == "0013"
    (v1,) = store.versions.list(1)
    assert (v1.train_size, v1.learning_curve, v1.target_curve) == (898, {"points": []}, None)
    with pytest.raises(ValueError, match="column must be one of"):
        store.versions.save_curve(v1.id, {}, "origin")


def test_the_cli_keeps_the_curve_with_its_version_and_the_report_shows_it(
    any_db, data_dir, tmp_path, capsys
):
    store, project = mismatched_project(tmp_path, steps=(0, 50))
    v1, v2 = sorted(store.versions.list(project.id), key=lambda v: v.number)
    store.close()
    code, out, err = measure(capsys, tmp_path, "--study", "kept", "--project", "mismatch", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["saved"] == {"project": "mismatch", "version": v2.name}
    store = open_store()
    kept = store.versions.get(v2.id)
    assert {k: v for k, v in kept.target_curve.items()} == {
        k: v for k, v in result.items() if k != "saved"
    }
    assert kept.learning_curve is None  # the other kind of curve is untouched
    assert store.versions.get(v1.id).target_curve is None
    (entry,) = target_actions(store, project.id)
    assert (entry.user, entry.target) == ("local", v2.name)
    assert entry.detail == {"study": "kept", "objective": KNN, "pool": "domain=phone"}

    # the report of v2 has the section and the plan's mismatch line carries the forecast
    inputs = project_inputs(store, store.projects.get(project.id))
    assert "target" in inputs.available_sections()
    data = report_data(inputs, ["plan", "target"])
    assert data["target_curve"]["source"] == f"measured for {v2.name}"
    assert data["target_curve"]["forecasts"] == result["forecasts"]
    html_out = tmp_path / "report.html"
    code, _, err = run_cli(capsys, "report", "--project", "mismatch", "--out", str(html_out))
    assert code == 0, err
    html = html_out.read_text()
    assert "Target data: what moving target examples in is worth" in html
    assert f"target-distribution data into training — {target_forecast_line(result)}" in html
    # v1's report has no target section
    assert project_inputs(store, store.projects.get(project.id), v1).target_curve is None

    # --version 1 keeps another curve with v1; v2's stays as it was
    store.close()
    code, out, err = measure(capsys, tmp_path, "--study", "v1", "--project", "mismatch",
                             "--version", "1")  # fmt: skip
    assert code == 0, err
    assert f"Kept with {v1.name} of project mismatch." in out
    store = open_store()
    assert store.versions.get(v1.id).target_curve["study"] == "v1"
    assert store.versions.get(v2.id).target_curve["study"] == "kept"

    # a deleted version is refused before any training, nothing kept
    delete_version(store, store.versions.get(v1.id), LOCAL_USER)
    store.close()
    code, out, err = measure(capsys, tmp_path, "--study", "gone", "--project", "mismatch",
                             "--version", "1")  # fmt: skip
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: --version 1: the project has no such version (versions: v2); it may have "
        "been deleted"
    )
    assert not any((tmp_path / "runs").rglob("*gone*"))  # no study folder


def test_a_curve_file_is_kept_by_its_kind_and_bad_files_change_nothing(
    any_db, data_dir, tmp_path, capsys
):
    store, project = mismatched_project(tmp_path)
    (v1,) = store.versions.list(project.id)
    learning = learning_curve_dict()
    saved.save_version_curve(store, v1, learning, LOCAL_USER)
    store.close()
    target = fit_target_curve(curve_points(), rounds=50).to_dict()
    good = tmp_path / "target.json"
    good.write_text(json.dumps(target))
    code, out, err = run_cli(capsys, "learning-curve", "--curve", str(good), "--project",
                             "mismatch", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["saved"] == {"project": "mismatch", "version": v1.name}
    store = open_store()
    assert store.versions.get(v1.id).target_curve == target
    assert store.versions.get(v1.id).learning_curve == learning  # each kind in its own column
    code, out, err = run_cli(capsys, "learning-curve", "--curve", str(good), "--project",
                             "mismatch")  # fmt: skip
    assert code == 0 and "target pool" in out and f"Kept with {v1.name}" in out
    assert len(target_actions(store, project.id)) == 2

    bad = {
        "broken.json": ('{"kind": "target_data", "points": [', "broken.json: not JSON"),
        "points.json": (
            json.dumps({**target, "points": [{"k": "many", "dev_error": 0.1}]}),
            "points.json: points[0] has no numeric k and dev_error",
        ),
        "fit.json": (
            json.dumps({**target, "fit": {"a": 1, "b": 1, "c": 1}}),
            "fit.json: 'fit' has no numbers a, b, c, m",
        ),
        "half.json": (
            json.dumps({**target, "half_gap": {"k": "x"}}),
            "half.json: 'half_gap' has no numeric dev_error, k and interval [low, high]",
        ),
        "closed.json": (
            json.dumps({**target, "forecasts": [{**target["forecasts"][0], "gap_closed": "x"}]}),
            "closed.json: forecasts[0] has a gap_closed that is not a number",
        ),
    }
    for name, (content, message) in bad.items():
        path = tmp_path / name
        path.write_text(content)
        code, out, err = run_cli(capsys, "learning-curve", "--curve", str(path), "--project",
                                 "mismatch")  # fmt: skip
        assert code == 2 and out == "", name
        assert err.strip().startswith(f"error: {tmp_path / message}"), err
        assert len(err.strip().splitlines()) == 1
    assert store.versions.get(v1.id).target_curve == target
    assert store.versions.get(v1.id).learning_curve == learning
    assert len(target_actions(store, project.id)) == 2

    # flags that do not go together: one line each
    for flags, message in [
        (["--target-pool", "domain=phone", "--curve", str(good), "--project", "mismatch"],
         "to keep a target-data curve's JSON give --curve FILE --project NAME"),
        (["--target-pool", "domain=phone", "--dataset", "csv:x.csv", "--version", "1"],
         "--version, --train-size and --curve go with --project"),
    ]:  # fmt: skip
        code, out, err = run_cli(capsys, "learning-curve", *flags)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_curve_of_the_other_kind_or_a_deleted_version_is_refused(any_db, data_dir, tmp_path):
    store, project = mismatched_project(tmp_path)
    (v1,) = store.versions.list(project.id)
    target = fit_target_curve(curve_points(), rounds=50).to_dict()
    learning = learning_curve_dict()
    with pytest.raises(InputError) as refused:
        saved.save_version_curve(store, v1, learning, LOCAL_USER, TARGET)
    assert str(refused.value) == (
        f"the target-data curve for {v1.name}: a learning curve (learning-curve without "
        "--target-pool), not a target-data curve; give the output of learning-curve "
        "--target-pool … --json"
    )
    with pytest.raises(InputError) as refused:
        saved.save_version_curve(store, v1, target, LOCAL_USER, LEARNING)
    assert str(refused.value) == (
        f"the learning curve for {v1.name}: a target-data curve (learning-curve --target-pool), "
        "not a learning curve; give the output of learning-curve --json"
    )
    got = store.versions.get(v1.id)
    assert (got.learning_curve, got.target_curve) == (None, None)
    delete_version(store, v1, LOCAL_USER)
    with pytest.raises(InputError, match="that version no longer exists"):
        saved.save_version_curve(store, v1, target, LOCAL_USER, TARGET)
    assert target_actions(store, project.id) == []
    actions = [c.action for c in store.audit.history(project.id)]
    assert "learning curve" not in actions


def test_an_unreadable_saved_target_curve_is_one_line_in_the_report(data_dir, tmp_path):
    store, project = mismatched_project(tmp_path)
    (v1,) = store.versions.list(project.id)
    store.versions.save_curve(v1.id, {"kind": "target_data", "points": "junk"}, "target_curve")
    inputs = project_inputs(store, store.projects.get(project.id))
    assert inputs.target_curve["problem"] == (
        f"the saved target-data curve of {v1.name}: not a target-data curve (no kind "
        "'target_data' with points, fit and forecasts); give the output of learning-curve "
        "--target-pool … --json"
    )
    assert inputs.diagnosis is not None and inputs.learning_curve is None
    assert saved.readable_curve(store, None, TARGET) is None


def test_report_target_curve_file_adds_the_section_and_the_other_kind_is_refused(tmp_path, capsys):
    target = fit_target_curve(curve_points(), rounds=50).to_dict()
    files = {"target.json": target, "learning.json": learning_curve_dict()}
    for name, curve in files.items():
        (tmp_path / name).write_text(json.dumps(curve))
    levels = ["--train", "0.08", "--train-dev", "0.09", "--dev", "0.30"]  # a mismatch gap
    out = tmp_path / "report.html"
    code, _, err = run_cli(capsys, "report", *levels, "--target-curve",
                           str(tmp_path / "target.json"), "--out", str(out))  # fmt: skip
    assert code == 0, err
    html = out.read_text()
    assert "Target data: what moving target examples in is worth" in html
    assert f"into training — {target_forecast_line(target)}" in html
    for flag, name, message in [
        ("--target-curve", "learning.json", "a learning curve (learning-curve without "
         "--target-pool), not a target-data curve"),
        ("--learning-curve", "target.json", "a target-data curve (learning-curve "
         "--target-pool), not a learning curve"),
    ]:  # fmt: skip
        code, _, err = run_cli(capsys, "report", *levels, flag, str(tmp_path / name),
                               "--out", str(tmp_path / "r2.html"))  # fmt: skip
        assert code == 2 and err.strip() == f"error: {tmp_path / name}: {message}; give the " + (
            "output of learning-curve --target-pool … --json"
            if flag == "--target-curve"
            else "output of learning-curve --json"
        )
    assert not (tmp_path / "r2.html").exists()
