"""AppTest: the pages with sign-in on (``st.user`` as AppTest seeds it; the browser test signs in
for real): the sign-in screen, share links without it, roles refused on the page, the annotator."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.store import open_store
from strategy_app.store.schema import AuditEntry
from strategy_app.versions.service import read_version
from tests.conftest import write_predictions

TIMEOUT = 60
APP = PAGES_DIR.parent / "strategy_app" / "app.py"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "desk",
    "client_secret": "s",
    "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
}
ROLES = """
default = "viewer"
[admin]
emails = ["ana@example.com"]
[annotator]
emails = ["bob@example.com"]
"""


@pytest.fixture
def team(data_dir):
    """A data folder with a roles file (sign-in itself is configured per AppTest)."""
    data_dir.mkdir(parents=True)
    (data_dir / "roles.toml").write_text(ROLES)
    return data_dir


def signed(script, email: str | None, **query) -> AppTest:
    """Run ``script`` with sign-in on, as ``email`` (None: signed out)."""
    at = AppTest.from_file(str(script), default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email}
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_signed_out_sees_only_the_sign_in_screen(team):
    at = signed(APP, None)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert [t.value for t in at.title] == ["ML-strategy desk"]
    assert not at.sidebar.selectbox  # no project, no navigation before sign-in


def test_a_share_link_opens_without_sign_in(team):
    store = open_store()
    project = store.projects.create("shared")
    share = store.shares.create(project.id, "Q3", "<p>the report</p>", {})
    at = signed(APP, None, report=share.token)
    assert not at.exception
    assert not at.button  # no sign-in asked
    assert "Sign in" not in str(at.main)


def test_an_account_without_a_role_is_turned_away(team):
    (team / "roles.toml").write_text('default = "none"\n')
    at = signed(PAGES_DIR / "home.py", "stranger@else.org")
    assert "stranger@else.org has no role on this desk" in at.warning[0].value
    assert [b.label for b in at.button] == ["Sign out"]


def test_a_broken_roles_file_lets_nobody_in(team):
    (team / "roles.toml").write_text('default = "owner"\n')
    at = signed(PAGES_DIR / "home.py", "ana@example.com")
    assert "unknown role 'owner'" in at.error[0].value
    assert not at.title or at.title[0].value != "Home"


def test_the_sidebar_names_the_account_and_a_viewer_cannot_delete_on_the_page(team):
    store = open_store()
    project = store.projects.create("kept")
    at = signed(PAGES_DIR / "home.py", "vera@example.com")
    assert not at.exception
    assert "Signed in as vera@example.com · viewer" in [t.value for t in at.sidebar.text]
    assert "Sign out" in [b.label for b in at.sidebar.button]
    at.checkbox(key=f"confirm_delete_{project.id}").check().run()
    next(b for b in at.button if b.label == "Delete project").click().run()
    assert "may not delete projects" in at.error[0].value
    assert store.projects.get(project.id) is not None
    admin = signed(PAGES_DIR / "home.py", "ana@example.com")
    admin.checkbox(key=f"confirm_delete_{project.id}").check().run()
    next(b for b in admin.button if b.label == "Delete project").click().run()
    assert not admin.exception and store.projects.get(project.id) is None
    assert store.audit.history(project.id)[0].user == "ana@example.com"


def test_the_annotator_is_the_signed_in_account(team, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(write_predictions(tmp_path / "s.csv")))
    first = signed(PAGES_DIR / "error_analysis.py", "bob@example.com")  # seeds the sample project
    next(b for b in first.button if b.label == "Draw sample").click().run()
    assert "may not draw a sample" in first.error[0].value  # an annotator does not redraw
    store = open_store()
    [project] = store.projects.list()
    predictions = read_version(store, store.diagnose_state.load(project.id))
    labeling.draw_sample(store, project.id, predictions, 5, seed=0, user=LOCAL_USER)
    at = signed(PAGES_DIR / "error_analysis.py", "bob@example.com")
    at.segmented_control(key=f"label_panel_{project.id}").set_value("Annotator").run()
    assert not at.exception
    assert not at.text_input  # nothing to type: the account is the annotator
    assert "You tag as bob@example.com" in " ".join(t.value for t in at.text)
    viewer = signed(PAGES_DIR / "error_analysis.py", "vera@example.com")
    assert any("Your role can read the tags but not change them" in c.value for c in viewer.caption)


def test_an_admin_edits_the_roles_on_home_and_a_broken_file_is_refused(team):
    at = signed(PAGES_DIR / "home.py", "ana@example.com")
    assert at.text_area[0].value == ROLES
    at.text_area[0].set_value('default = "owner"\n')
    next(b for b in at.button if b.label == "Save roles").click().run()
    assert "unknown role 'owner'" in at.error[0].value
    assert (team / "roles.toml").read_text() == ROLES  # the old file stays
    changed = ROLES.replace('"bob@example.com"', '"bob@example.com", "carl@example.com"')
    at.text_area[0].set_value(changed)
    next(b for b in at.button if b.label == "Save roles").click().run()
    assert (team / "roles.toml").read_text() == changed
    carl = signed(PAGES_DIR / "home.py", "carl@example.com")
    assert "Signed in as carl@example.com · annotator" in [t.value for t in carl.sidebar.text]
    assert not carl.text_area  # only admins see the roles
    with Session(open_store().engine) as session:  # roles are app-wide: no project
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "roles change"))
    assert entry.user == "ana@example.com" and "carl@example.com" in entry.detail["annotator"]
