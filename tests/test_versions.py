"""Model versions: the 0008 migration from today's schema with data, uploads that add versions,
tags that belong to one version, deleting a version, carrying tags over."""

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
from alembic import command
from sqlalchemy import text

from diagnostics.compare_rows import category_lines
from diagnostics.ingest import read_predictions
from diagnostics.waterfall import HumanLevel
from strategy_app.auth import LOCAL_USER
from strategy_app.cli import main
from strategy_app.diagnose.service import accept_upload
from strategy_app.errors import service as labeling
from strategy_app.shell.sample import SAMPLE_NAME, ensure_sample_project
from strategy_app.store import DiagnoseState, database_url, open_store
from strategy_app.store.engine import make_engine
from strategy_app.store.labels import LabelEdit
from strategy_app.store.migrate import alembic_config, current_revision, head_revision, upgrade

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


def _old_database(data_dir):
    """A database at revision 0007 (today's schema) with two projects' state and tags."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(data_dir))
    upgrade(engine, "0007_search_state")
    stamp = "'2024-01-01 00:00:00'"
    statements = [
        f"INSERT INTO projects (id, name, created_at, updated_at, opened_at) VALUES "
        f"(1, 'uploaded', {stamp}, {stamp}, {stamp}), (2, 'typed', {stamp}, {stamp}, {stamp}), "
        f"(3, 'empty', {stamp}, {stamp}, {stamp})",
        f"INSERT INTO uploads (sha256, name, size, created_at) VALUES "
        f"('{'a' * 64}', 'preds.csv', 10, {stamp})",
        "INSERT INTO diagnose_state (project_id, source, upload_sha256, typed_levels, "
        "human_levels, metric, unit, slice_column, updated_at) VALUES "
        f"(1, 'upload', '{'a' * 64}', '{{}}', '{json.dumps([{'name': 'expert', 'value': 0.01}])}',"
        f" 'error', '', 'device', {stamp}), "
        f"(2, 'typed', NULL, '{json.dumps({'train': 0.05, 'dev': 0.1})}', '[]', NULL, '', NULL, "
        f"{stamp})",
        f"INSERT INTO label_samples (project_id, seed, size, stratified, drawn_at) VALUES "
        f"(1, 7, 2, false, {stamp})",
        "INSERT INTO label_examples (project_id, example_id, position, y_true, y_pred, score, "
        "input) VALUES (1, 'x1', 0, 'cat', 'dog', 0.9, 'a.png'), "
        "(1, 'x2', 1, 'dog', 'cat', NULL, NULL)",
        "INSERT INTO label_categories (id, project_id, name, position) VALUES "
        "(10, 1, 'blurry', 0), (11, 1, 'dark', 1)",
        "INSERT INTO label_rows (project_id, example_id, annotator, reviewed, notes, version, "
        f"updated_at) VALUES (1, 'x1', '', true, 'note', 3, {stamp}), "
        f"(1, 'x2', 'ann', false, '', 1, {stamp})",
        "INSERT INTO label_tags (project_id, example_id, annotator, category_id) VALUES "
        "(1, 'x1', '', 10), (1, 'x1', '', 11), (1, 'x2', 'ann', 11)",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def test_migration_turns_saved_state_and_tags_into_version_1(any_db, data_dir):
    _old_database(data_dir)
    store = open_store()
    assert current_revision(store.engine) == head_revision() == "0013"
    (v1,) = store.versions.list(1)
    assert v1.number == 1 and v1.name == "v1 · preds.csv" and v1.origin == {"kind": "migrated"}
    assert store.versions.current(1) == v1
    state = store.diagnose_state.load(1)
    assert (state.source, state.upload_sha256, state.upload_name) == (
        "upload",
        "a" * 64,
        "preds.csv",
    )
    assert state.human_levels == [HumanLevel("expert", 0.01)]
    assert (state.metric, state.slice_column, state.version_id) == ("error", "device", v1.id)
    typed = store.diagnose_state.load(2)
    assert typed.source == "typed" and typed.typed_levels == {"train": 0.05, "dev": 0.1}
    assert store.versions.list(2)[0].name == "v1 · typed levels"
    assert store.versions.list(3) == [] and store.diagnose_state.load(3) == DiagnoseState()

    snapshot = store.labels.snapshot(v1.id)
    assert (snapshot.sample.seed, snapshot.sample.size, snapshot.sample.ids) == (7, 2, ["x1", "x2"])
    assert snapshot.sample.examples["input"].tolist()[0] == "a.png"
    assert [(c.id, c.name) for c in snapshot.categories] == [(10, "blurry"), (11, "dark")]
    reviews = {(r.example_id, r.annotator): r for r in snapshot.reviews}
    assert reviews["x1", ""].tags == {10, 11} and reviews["x1", ""].notes == "note"
    assert reviews["x1", ""].version == 3 and reviews["x1", ""].reviewed
    assert reviews["x2", "ann"].tags == {11}
    added = store.labels.add_category(v1.id, "new")  # ids go on after the kept ones
    assert added.id > 11


def test_new_upload_adds_a_version_and_never_touches_older_tags(any_db, data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("p")
    first = _predictions(tmp_path / "v1.csv", wrong={"d0", "d1", "d2"})
    second = _predictions(tmp_path / "v2.csv", wrong={"d1", "d5"})
    v1_state = accept_upload(
        store, project.id, "v1.csv", first.read_bytes(), LOCAL_USER, label="logistic"
    )
    store.diagnose_state.save(project.id, _with_human(v1_state))
    v1 = store.versions.current(project.id)
    labeling.draw_sample(store, v1.id, read_predictions(first), 10, seed=0, user=LOCAL_USER)
    blurry = next(c.id for c in store.labels.categories(v1.id) if c.name.startswith("blurry"))
    for example in ("d0", "d1"):
        store.labels.save_edit(v1.id, LabelEdit(example, "", add=frozenset({blurry})), 0)
    before = store.labels.snapshot(v1.id)

    v2_state = accept_upload(store, project.id, "v2.csv", second.read_bytes(), LOCAL_USER)
    v2 = store.versions.current(project.id)
    assert v2.id != v1.id and v2.number == 2 and v2.name == "v2 · v2.csv"
    assert v2_state.version_id == v2.id and v2_state.human_levels == [HumanLevel("expert", 0.0)]
    assert [v.number for v in store.versions.list(project.id)] == [2, 1]
    assert store.labels.snapshot(v2.id).sample is None  # the new version has its own analysis
    after = store.labels.snapshot(v1.id)
    assert after.reviews == before.reviews and after.sample.ids == before.sample.ids
    assert store.versions.get(v1.id).state.upload_name == "v1.csv"

    accept_upload(
        store, project.id, "again.csv", first.read_bytes(), LOCAL_USER
    )  # same bytes: its version
    assert store.versions.current(project.id).id == v1.id
    assert len(store.versions.list(project.id)) == 2

    store.versions.set_current(project.id, v2.id)
    assert store.diagnose_state.load(project.id).upload_name == "v2.csv"
    assert store.versions.delete(v1.id) == v2.id  # only what belongs to v1 goes
    assert store.versions.get(v1.id) is None and store.labels.snapshot(v1.id).sample is None
    assert store.versions.current(project.id).id == v2.id
    store.uploads.prune()
    assert store.uploads.path(v2.state.upload_sha256).is_file()
    assert not store.uploads.path(v1.state.upload_sha256).is_file()


def test_carry_over_keeps_only_examples_still_wrong_and_says_what_was_fixed(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("p")
    first = _predictions(tmp_path / "v1.csv", wrong={"d0", "d1", "d2", "d3"})
    second = _predictions(tmp_path / "v2.csv", wrong={"d1", "d3", "d7"})
    accept_upload(store, project.id, "v1.csv", first.read_bytes(), LOCAL_USER)
    v1 = store.versions.current(project.id)
    labeling.draw_sample(store, v1.id, read_predictions(first), 10, seed=0, user=LOCAL_USER)
    names = {c.name: c.id for c in store.labels.categories(v1.id)}
    blurry, angle = names["blurry/low quality"], names["unusual angle"]
    tags = {"d0": blurry, "d1": blurry, "d2": angle, "d3": angle}
    for example, tag in tags.items():
        store.labels.save_edit(v1.id, LabelEdit(example, "", add=frozenset({tag})), 0)
    accept_upload(store, project.id, "v2.csv", second.read_bytes(), LOCAL_USER)
    v2 = store.versions.current(project.id)
    assert [v.id for v in labeling.carry_candidates(store, v2)] == [v1.id]

    after = read_predictions(second)
    sample = labeling.carry_from(store, v2.id, v1.id, after, 10, seed=0, user=LOCAL_USER)
    assert sample.carried == {"d1", "d3"} and set(sample.ids) == {"d1", "d3", "d7"}
    carried = {r.example_id: r for r in store.labels.reviews(v2.id)}
    v2_names = {c.id: c.name for c in store.labels.categories(v2.id)}
    assert {i: {v2_names[t] for t in r.tags} for i, r in carried.items()} == {
        "d1": {"blurry/low quality"},
        "d3": {"unusual angle"},
    }
    view = labeling.build_view(store, v2.id, "")  # the sheet marks what was carried over
    marked = dict(zip(view.frame["id"], view.frame[labeling.CARRIED], strict=True))
    assert marked == {"d1": True, "d3": True, "d7": False}
    store.labels.save_edit(v2.id, LabelEdit("d1", "", remove=frozenset(carried["d1"].tags)), 1)
    assert store.labels.review(v1.id, "d1", "").tags == {blurry}  # v1's tags stay

    fixes = {f.name: f for f in labeling.fixed_by(store, v1, after)}
    assert (fixes["blurry/low quality"].tagged, fixes["blurry/low quality"].fixed) == (2, 1)
    assert (fixes["unusual angle"].tagged, fixes["unusual angle"].fixed) == (2, 1)
    lines = category_lines({"categories": [fix.to_dict() for fix in fixes.values()]})
    assert any(line.startswith("blurry/low quality: 1 of 2 fixed, 50%") for line in lines)
    assert all("the ceiling promised up to 50% of errors" in line for line in lines[:2])


def _with_human(state: DiagnoseState) -> DiagnoseState:
    return replace(state, human_levels=[HumanLevel("expert", 0.0)])


def _predictions(path, wrong: set[str]):
    """A predictions file: 20 train rows all right, 10 dev rows with ``wrong`` ids wrong."""
    rows = [{"id": f"t{i}", "split": "train", "y_true": "a", "y_pred": "a"} for i in range(20)]
    rows += [
        {"id": f"d{i}", "split": "dev", "y_true": "a", "y_pred": "b" if f"d{i}" in wrong else "a"}
        for i in range(10)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_downgrade_keeps_the_current_versions_state_and_tags(any_db, data_dir):
    _old_database(data_dir)
    store = open_store()
    engine = store.engine
    command.downgrade(alembic_config(engine), "0007_search_state")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM label_tags")).scalar() == 3
        sources = connection.execute(text("SELECT source FROM diagnose_state ORDER BY project_id"))
        assert sources.scalars().all() == ["upload", "typed"]
    upgrade(engine)
    assert store.labels.snapshot(store.versions.current(1).id).sample.size == 2


def test_search_on_the_project_dataset_keeps_its_splits_and_ids(data_dir, capsys):
    store = open_store()
    sample = ensure_sample_project(store, SAMPLE_DATA / "predictions.csv")
    assert store.versions.current(sample).name == "v1 · logistic regression"
    code = main(["search", "--dataset", "project", "--project", "nope", "--json"])
    assert code == 2 and "no project named 'nope'" in capsys.readouterr().err
    # the project is named: no command falls back on whichever project was opened last
    assert main(["search", "--dataset", "project", "--json"]) == 2
    assert "--dataset project needs --project NAME" in capsys.readouterr().err
    named = ["--dataset", "project", "--project", SAMPLE_NAME]
    argv = ["search", *named, "--trials", "1", "--epochs", "1", "--json"]
    code = main([*argv, "--sampler", "random", "--study", "on-project"])
    out, err = capsys.readouterr()
    assert code == 0, err
    predictions = pd.read_csv(json.loads(out)["predictions"], dtype={"id": str})
    dataset = pd.read_csv(SAMPLE_DATA / "dataset.csv", usecols=["id", "split"], dtype=str)
    assert sorted(zip(predictions["id"], predictions["split"], strict=True)) == sorted(
        zip(dataset["id"], dataset["split"], strict=True)
    )
    code = main(["lr-find", *named, "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["suggested_lr"] > 0


def test_search_on_a_project_without_dataset_is_refused(data_dir, capsys):
    store = open_store()
    store.projects.create("no data")
    assert main(["search", "--dataset", "project", "--project", "no data", "--json"]) == 2
    assert "this project holds no dataset" in capsys.readouterr().err
    assert main(["search", "--project", "no data", "--json"]) == 2
    assert "--project goes with --dataset project" in capsys.readouterr().err


def test_switching_between_typed_levels_and_uploads_adds_no_empty_versions(data_dir, tmp_path):
    store = open_store()
    project = store.projects.create("p")
    typed = store.diagnose_state.save(
        project.id, DiagnoseState(source="typed", typed_levels={"train": 0.1, "dev": 0.2})
    )
    upload = store.diagnose_state.save(project.id, replace(typed, source="upload"))
    assert upload.source == "upload" and store.diagnose_state.load(project.id).source == "upload"
    back = store.diagnose_state.save(project.id, replace(typed, typed_levels={"dev": 0.3}))
    again = store.diagnose_state.save(project.id, replace(back, source="upload"))
    names = [v.name for v in store.versions.list(project.id)]
    assert names == ["v2 · no predictions yet", "v1 · typed levels"]
    assert store.versions.get(typed.version_id).state.typed_levels == {"dev": 0.3}
    path = _predictions(tmp_path / "first.csv", wrong={"d1"})
    accept_upload(
        store, project.id, "first.csv", path.read_bytes(), LOCAL_USER
    )  # fills the empty one
    assert [v.name for v in store.versions.list(project.id)] == ["v2 · first.csv", names[1]]
    assert store.diagnose_state.load(project.id).version_id == again.version_id
