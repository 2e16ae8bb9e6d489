"""Roles and the checks in the services: a refused role changes nothing, an allowed one is audited.

Each service is called directly, as a crafted rerun (a replayed widget change) would reach it.
"""

import pandas as pd
import pytest

from diagnostics.report import ReportInputs
from diagnostics.validation import InputError
from strategy_app.auth import (
    LOCAL_USER,
    PermissionDenied,
    Role,
    User,
    load_roles,
    parse_roles,
    require,
    role_for,
    user_from_claims,
)
from strategy_app.diagnose.service import accept_upload, save_inputs
from strategy_app.errors import service as labeling
from strategy_app.report.service import create_share, revoke_share
from strategy_app.search import service as search_jobs
from strategy_app.shell.projects import create_project, delete_project, rename_project
from strategy_app.store import DiagnoseState, open_store
from strategy_app.store.audit import (
    PROJECT_DELETE,
    SHARE_CREATE,
    SHARE_REVOKE,
    TAG_EDIT,
    UPLOAD,
    VERSION_DELETE,
)
from strategy_app.store.migrate import current_revision, head_revision, upgrade
from strategy_app.versions.service import delete_version

VIEWER = User("vera@example.com", "Vera", Role.VIEWER)
ANNOTATOR = User("bob@example.com", "Bob", Role.ANNOTATOR)
EDITOR = User("eve@example.com", "Eve", Role.EDITOR)
ADMIN = User("ana@example.com", "Ana", Role.ADMIN)

ROLES = parse_roles(
    {
        "default": "viewer",
        "group_claim": "groups",
        "admin": {"emails": ["Ana@Example.com"]},
        "editor": {"groups": ["ml-leads"]},
        "annotator": {"domains": ["@labelers.example"]},
    }
)

EXAMPLES = pd.DataFrame(
    {
        "id": ["a", "b"],
        "y_true": ["cat", "dog"],
        "y_pred": ["dog", "cat"],
        "score": [0.9, 0.6],
        "input": ["x", "y"],
    }
)


def test_roles_from_emails_domains_groups_and_the_default():
    assert role_for({"email": "ana@example.com"}, ROLES) is Role.ADMIN  # case-insensitive
    assert role_for({"email": "x@labelers.example"}, ROLES) is Role.ANNOTATOR
    unverified = {"email": "x@labelers.example", "email_verified": False}
    assert role_for(unverified, ROLES) is Role.VIEWER  # a domain needs a verified address
    leads = {"email": "x@labelers.example", "groups": ["ML-Leads"]}
    assert role_for(leads, ROLES) is Role.EDITOR  # the highest matching role wins
    assert role_for({"email": "ana@example.com", "groups": "ml-leads"}, ROLES) is Role.ADMIN
    assert role_for({"email": "stranger@else.org"}, ROLES) is Role.VIEWER
    closed = parse_roles({"default": "none", "editor": {"emails": ["eve@example.com"]}})
    assert role_for({"email": "stranger@else.org"}, closed) is None
    assert user_from_claims({"email": "stranger@else.org"}, closed) is None
    assert user_from_claims({"name": "no email"}, ROLES) is None
    user = user_from_claims({"email": " Ana@Example.com ", "name": "Ana"}, ROLES)
    assert user == User("ana@example.com", "Ana", Role.ADMIN) and user.signed_in


def test_a_broken_roles_file_names_the_key_and_the_fix(tmp_path):
    with pytest.raises(InputError, match="unknown role 'owner'"):
        parse_roles({"default": "owner"})
    with pytest.raises(InputError, match=r"\[editor\] has unknown key 'email'"):
        parse_roles({"editor": {"email": ["eve@example.com"]}})
    with pytest.raises(InputError, match="unknown key 'admins'"):
        parse_roles({"admins": {}})
    with pytest.raises(InputError, match="emails must be a list of strings"):
        parse_roles({"admin": {"emails": [1]}})
    bad = tmp_path / "roles.toml"
    bad.write_text("[admin\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_roles(bad)
    assert load_roles(tmp_path / "missing.toml").default is Role.VIEWER


def test_require_says_who_what_and_which_role_is_needed():
    require(ANNOTATOR, "tag errors")
    require(LOCAL_USER, "delete projects")  # no sign-in: the local operator is admin
    with pytest.raises(PermissionDenied) as refused:
        require(ANNOTATOR, "delete projects")
    assert isinstance(refused.value, InputError)  # pages show it with st.error
    assert str(refused.value).startswith(
        "bob@example.com has the annotator role and may not delete projects: that needs the "
        "admin role"
    )


@pytest.fixture
def store(any_db):
    """A project whose model version has a drawn two-example sample, on SQLite and on
    PostgreSQL."""
    store = open_store()
    project = store.projects.create("p")
    version = store.versions.add(project.id, DiagnoseState(source="typed"), label="model")
    store.labels.save_sample(version.id, EXAMPLES, seed=1, stratified=False)
    store.project_id, store.version_id = project.id, version.id
    return store


def replayed_tag(store, annotator: str) -> tuple:
    """A view of the sample and the editor state of ticking the first category on row 0."""
    view = labeling.build_view(store, store.version_id, annotator, thumbnail=lambda r, p: None)
    first = view.categories[0].name
    return view, {"edited_rows": {0: {first: True}}}


def test_a_viewer_cannot_tag_even_by_replaying_the_widget_change(store):
    view, state = replayed_tag(store, VIEWER.email)
    with pytest.raises(PermissionDenied, match="may not tag errors"):
        labeling.apply_editor_state(store, view, state, VIEWER)
    assert store.labels.reviews(store.version_id) == []
    assert store.audit.history(store.project_id) == []


def test_an_annotator_tags_as_themself_only_and_each_edit_is_audited(store):
    view, state = replayed_tag(store, "someone else")
    with pytest.raises(PermissionDenied, match=r"may tag only as bob@example\.com"):
        labeling.apply_editor_state(store, view, state, ANNOTATOR)
    assert store.labels.reviews(store.version_id) == []
    view, state = replayed_tag(store, ANNOTATOR.email)
    assert labeling.apply_editor_state(store, view, state, ANNOTATOR).saved == 1
    [review] = store.labels.reviews(store.version_id)
    assert review.annotator == ANNOTATOR.email
    [change] = store.audit.history(store.project_id, "a")
    assert change.user == ANNOTATOR.email and change.action == TAG_EDIT
    assert change.detail == {"annotator": ANNOTATOR.email, "added": [view.categories[0].name]}
    assert store.audit.history(store.project_id, "b") == []


def test_an_annotator_cannot_delete_a_project_and_an_admin_deletion_keeps_its_history(store):
    pid = store.project_id
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        delete_project(store, pid, ANNOTATOR)
    with pytest.raises(PermissionDenied):
        delete_project(store, pid, EDITOR)
    assert store.projects.get(pid) is not None
    delete_project(store, pid, ADMIN)
    assert store.projects.get(pid) is None
    [change] = store.audit.history(pid)
    assert (change.user, change.action, change.detail) == (
        ADMIN.email,
        PROJECT_DELETE,
        {"name": "p"},
    )


def test_projects_need_an_editor_to_create_or_rename(store):
    with pytest.raises(PermissionDenied):
        create_project(store, "new", ANNOTATOR)
    with pytest.raises(PermissionDenied):
        rename_project(store, store.project_id, "renamed", VIEWER)
    assert [p.name for p in store.projects.list()] == ["p"]
    created = create_project(store, "new", EDITOR)
    rename_project(store, created.id, "newer", EDITOR)
    assert [c.action for c in store.audit.history(created.id)] == [
        "project create",
        "project rename",
    ]


def test_uploads_and_diagnosis_inputs_need_an_editor(store, predictions_csv):
    pid, data = store.project_id, predictions_csv.read_bytes()
    before = store.diagnose_state.load(pid)
    with pytest.raises(PermissionDenied, match="may not upload files"):
        accept_upload(store, pid, "p.csv", data, ANNOTATOR)
    with pytest.raises(PermissionDenied):
        save_inputs(store, pid, before, VIEWER)
    assert store.diagnose_state.load(pid) == before
    state = accept_upload(store, pid, "p.csv", data, EDITOR)
    assert state.upload_name == "p.csv"
    [change] = store.audit.history(pid, "p.csv")
    assert (change.user, change.action) == (EDITOR.email, UPLOAD)


def test_sample_import_and_category_changes_by_role(store):
    pid, vid = store.project_id, store.version_id
    with pytest.raises(PermissionDenied, match="may not draw a sample"):
        labeling.draw_sample(store, vid, None, 10, seed=0, user=ANNOTATOR)
    with pytest.raises(PermissionDenied, match="may not import tags"):
        labeling.import_csv(store, vid, b"id,annotator\n", "tags.csv", ANNOTATOR)
    categories = store.labels.categories(vid)
    with pytest.raises(PermissionDenied):
        labeling.add_category(store, vid, "glare", VIEWER)
    added = labeling.add_category(store, vid, "glare", ANNOTATOR)
    with pytest.raises(PermissionDenied, match="may not edit categories"):
        labeling.remove_category(store, vid, added.id, ANNOTATOR)
    with pytest.raises(PermissionDenied):
        labeling.merge_categories(store, vid, [categories[0].id], added.id, ANNOTATOR)
    with pytest.raises(PermissionDenied):
        labeling.rename_category(store, vid, added.id, "glare 2", ANNOTATOR)
    assert [c.name for c in store.labels.categories(vid)] == [
        *(c.name for c in categories),
        "glare",
    ]
    labeling.rename_category(store, vid, added.id, "glare 2", EDITOR)
    labeling.remove_category(store, vid, added.id, EDITOR)
    details = [c.detail for c in store.audit.history(pid)]
    assert details == [
        {"added": "glare"},
        {"renamed": "glare", "to": "glare 2"},
        {"removed": "glare 2"},
    ]


def test_deleting_a_model_version_needs_an_editor_and_is_audited(store):
    pid = store.project_id
    newer = store.versions.add(pid, DiagnoseState(source="typed"), label="model 2")
    with pytest.raises(PermissionDenied, match="may not delete model versions"):
        delete_version(store, newer, ANNOTATOR)
    assert len(store.versions.list(pid)) == 2
    delete_version(store, newer, EDITOR)
    assert [v.id for v in store.versions.list(pid)] == [store.version_id]
    [change] = store.audit.history(pid)
    assert (change.user, change.action, change.target) == (EDITOR.email, VERSION_DELETE, newer.name)


def test_share_links_need_an_editor_and_are_audited(store):
    pid = store.project_id
    inputs = ReportInputs(title="Q3 review")
    with pytest.raises(PermissionDenied, match="may not manage share links"):
        create_share(store, pid, inputs, [], "<p>r</p>", ANNOTATOR)
    assert store.shares.list(pid) == []
    share = create_share(store, pid, inputs, [], "<p>r</p>", EDITOR)
    with pytest.raises(PermissionDenied):
        revoke_share(store, pid, share.token, VIEWER)
    assert store.shares.get(share.token) is not None
    assert not revoke_share(store, pid + 1, share.token, EDITOR)  # another project's link
    assert revoke_share(store, pid, share.token, EDITOR)
    assert store.shares.get(share.token) is None
    changes = store.audit.history(pid)
    assert [c.action for c in changes] == [SHARE_CREATE, SHARE_REVOKE]
    assert changes[0].detail == {"title": "Q3 review", "token": share.token[:6]}
    assert share.token not in str([c.detail for c in changes])  # the log never opens a link


def test_searches_need_an_editor_before_anything_starts(store):
    pid = store.project_id
    with pytest.raises(PermissionDenied, match="may not run searches"):
        search_jobs.start_search(store, pid, {}, "s", user=ANNOTATOR)
    with pytest.raises(PermissionDenied):
        search_jobs.start_panda(store, pid, "digits", {}, 1, user=VIEWER)
    run = store.search_runs.add(pid, "panda", "r", "", {"params": {}}, str(store.folder / "r"))
    for stop in (search_jobs.stop_search, search_jobs.stop_panda):
        with pytest.raises(PermissionDenied):
            stop(run, ANNOTATOR)
    with pytest.raises(PermissionDenied):
        search_jobs.resume_search(store, run, VIEWER)
    with pytest.raises(PermissionDenied):
        search_jobs.continue_panda(store, run, {}, 1, VIEWER)
    assert store.search_runs.list(pid) == [run] and store.audit.history(pid) == []


def test_an_older_database_gains_the_audit_table_and_keeps_its_projects(data_dir):
    from strategy_app.store.engine import database_url, make_engine

    engine = make_engine(database_url(data_dir))
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(engine, "0006_search_runs")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO projects (name, created_at, updated_at, opened_at) "
            "VALUES ('old', '2026-01-01', '2026-01-01', '2026-01-01')"
        )
    engine.dispose()
    store = open_store()
    assert current_revision(store.engine) == head_revision()  # 0009's audit log and after
    [old] = store.projects.list()
    store.audit.record("ana@example.com", PROJECT_DELETE, old.id, None, {"name": "old"})
    assert store.audit.history(old.id)[0].user == "ana@example.com"


def test_only_an_admin_saves_the_roles_file(store, tmp_path):
    from strategy_app.shell.team import ROLES_TEMPLATE, roles_text, save_roles

    path = tmp_path / "roles.toml"
    assert roles_text(path) == ROLES_TEMPLATE
    with pytest.raises(PermissionDenied, match="may not manage roles"):
        save_roles(store, path, ROLES_TEMPLATE, EDITOR)
    assert not path.exists()
    config = save_roles(store, path, '[editor]\nemails = ["eve@example.com"]\n', ADMIN)
    assert role_for({"email": "eve@example.com"}, config) is Role.EDITOR
    assert load_roles(path) == config


def test_a_split_dataset_upload_needs_an_editor(store, tmp_path):
    from strategy_app.splits.service import accept_dataset

    dataset = tmp_path / "d.csv"
    dataset.write_text("id,x,label\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(50)))
    before = store.split_plans.load(store.project_id)
    with pytest.raises(PermissionDenied, match="may not upload files"):
        accept_dataset(store, store.project_id, "d.csv", dataset.read_bytes(), ANNOTATOR)
    assert store.split_plans.load(store.project_id) == before
    accept_dataset(store, store.project_id, "d.csv", dataset.read_bytes(), EDITOR)
    assert [c.user for c in store.audit.history(store.project_id, "d.csv")] == [EDITOR.email]


def test_only_an_editor_saves_split_choices_others_try_them_unsaved(store):
    from strategy_app.splits.service import save_choices
    from strategy_app.store import SplitPageState

    pid = store.project_id
    before = store.split_plans.load(pid)
    tried = SplitPageState(size="10000")
    assert not save_choices(store, pid, tried, ANNOTATOR)
    assert store.split_plans.load(pid) == before
    assert save_choices(store, pid, tried, EDITOR)
    assert store.split_plans.load(pid).size == "10000"


def test_only_an_editor_saves_the_search_space_or_runs_the_lr_range_test(store):
    from diagnostics.search.space import SearchSpace

    pid = store.project_id
    space = SearchSpace.default()
    assert not search_jobs.save_space(store, pid, space, VIEWER)
    assert store.search_state.load(pid).space is None
    with pytest.raises(PermissionDenied, match="may not run searches"):
        search_jobs.run_lr_finder(store, pid, "digits", {}, ANNOTATOR)
    assert store.search_state.load(pid).lr_finder is None
    assert search_jobs.save_space(store, pid, space, EDITOR)
    assert store.search_state.load(pid).space == space.to_dict()


def test_a_refused_conflicting_edit_leaves_no_audit_entry(store):
    first, state = replayed_tag(store, ANNOTATOR.email)
    stale, _ = replayed_tag(store, ANNOTATOR.email)  # a second tab on the same rows
    assert labeling.apply_editor_state(store, first, state, ANNOTATOR).saved == 1
    notes = {"edited_rows": {0: {"notes": "from the stale tab"}}}
    result = labeling.apply_editor_state(store, stale, notes, ANNOTATOR)
    assert result.saved == 0 and len(result.conflicts) == 1
    assert [c.detail.get("notes") for c in store.audit.history(store.project_id, "a")] == [None]
