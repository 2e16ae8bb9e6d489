"""Sign-in for real: Streamlit's OIDC against a real provider on 127.0.0.1, in Chromium.

The provider is ``oidc-provider-mock`` (a real OpenID provider: discovery, authorization form,
tokens, end-session), started in this process; the app is ``serve`` with the team's secrets in
``STRATEGY_SECRETS_FILE`` and a roles file in the data folder. Nothing of Streamlit's sign-in is
mocked: the browser follows the provider's redirects and Streamlit sets its own cookie.
"""

import os
import threading
import time

import oidc_provider_mock
import pytest
import werkzeug.serving

from strategy_app.auth import LOCAL_USER
from strategy_app.errors import service as labeling
from strategy_app.shell.auth_secrets import to_toml
from strategy_app.shell.sample import ensure_sample_project
from strategy_app.store import open_store
from strategy_app.versions.service import read_version
from tests import app_server
from tests.app_server import (
    ARTIFACTS,
    free_port,
    require_chromium,
    running_app,
)
from tests.conftest import write_predictions

pytestmark = pytest.mark.browser

ROLES = """
default = "viewer"
[admin]
emails = ["ana@example.com"]
[annotator]
emails = ["bob@example.com"]
"""
PEOPLE = {"ana@example.com": "Ana", "bob@example.com": "Bob", "vera@example.com": "Vera"}
# The first category's checkbox of the first row in the tagging table, x and y inside the grid:
# five "small" (75 px) columns before it (id, true, predicted, confidence, the image input), a
# 35 px header, 56 px image rows.
FIRST_TAG_CELL = (5 * 75 + 37, 35 + 28)


@pytest.fixture
def provider():
    """A real OpenID provider on 127.0.0.1 that knows Ana, Bob and Vera."""
    users = [
        oidc_provider_mock.User(sub=email, claims={"email": email, "name": name})
        for email, name in PEOPLE.items()
    ]
    server = werkzeug.serving.make_server(
        "127.0.0.1", 0, oidc_provider_mock.app(user_claims=users), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def team_app(provider, tmp_path, monkeypatch):
    """``serve`` on 127.0.0.1 with sign-in through ``provider``, roles, and a drawn sample."""
    require_chromium()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = tmp_path / "team-secrets.toml"
    auth = {
        "redirect_uri": f"{url}/oauth2callback",
        "client_id": "strategy-desk",
        "client_secret": "desk-secret",
        "server_metadata_url": f"{provider}/.well-known/openid-configuration",
    }
    secrets.write_text(to_toml({"auth": auth}))
    data = tmp_path / "data"
    data.mkdir()
    (data / "roles.toml").write_text(ROLES)
    sample = write_predictions(tmp_path / "sample.csv")
    monkeypatch.setenv("STRATEGY_DATA_DIR", str(data))
    monkeypatch.delenv("STRATEGY_DB_URL", raising=False)
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(sample))
    store = open_store()
    ensure_sample_project(store)
    [project] = store.projects.list()
    predictions = read_version(store, store.diagnose_state.load(project.id))
    labeling.draw_sample(store, project.id, predictions, 5, seed=0, user=LOCAL_USER)
    env = dict(os.environ)
    env.update(HOME=str(tmp_path / "home"), STRATEGY_SECRETS_FILE=str(secrets))
    with running_app(tmp_path / "server.log", env, port=port) as served:
        assert served == url
        yield url, store, project


def sign_in(page, url: str, email: str) -> None:
    """Open the app, press Sign in, pick the account on the provider's page, come back."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=email).click()  # the provider's authorization form
    expect(page.get_by_text(f"Signed in as {PEOPLE[email]}")).to_be_visible()


def tick_first_tag(page) -> None:
    """Select the first category's cell of the first row in the tagging table, and tick it
    with the space bar (as a keyboard user does)."""
    grid = page.locator("[data-testid=stDataFrameResizable]").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + FIRST_TAG_CELL[0], box["y"] + FIRST_TAG_CELL[1])
    page.wait_for_timeout(500)
    page.keyboard.press("Space")


def wait_for(condition, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_sign_in_roles_annotator_and_audit_in_the_browser(team_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, store, project = team_app
    expect.set_options(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    share = store.shares.create(project.id, "For the board", "<h1>Board report</h1>", {})
    with sync_playwright() as playwright:
        browser = app_server.launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        try:
            page.goto(url)  # signed out: the sign-in screen only
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            expect(page.get_by_role("heading", name="Home")).to_have_count(0)

            page.goto(f"{url}/?report={share.token}")  # a share link needs no sign-in
            expect(page.frame_locator("iframe").first.get_by_text("Board report")).to_be_visible()
            expect(page.get_by_role("button", name="Sign in")).to_have_count(0)

            sign_in(page, url, "bob@example.com")  # an annotator
            expect(page.get_by_text("Bob · annotator")).to_be_visible()
            # the app opens on Diagnose once a project exists (issue 31): Home is in the sidebar
            page.get_by_role("link", name="Home").click()
            page.get_by_text(f"Yes, delete '{project.name}'").click()
            page.get_by_role("button", name="Delete project").click()
            expect(page.get_by_text("may not delete projects")).to_be_visible()
            assert store.projects.get(project.id) is not None

            page.goto(f"{url}/errors")
            expect(page.locator("[data-testid=stDataFrameResizable]")).to_be_visible()
            page.wait_for_timeout(1000)
            tick_first_tag(page)
            tagged = wait_for(lambda: store.labels.reviews(project.id, "bob@example.com"))
            page.screenshot(path=str(ARTIFACTS / "signin-annotator.png"), full_page=True)
            assert tagged, "the annotator's click saved no tag"
            [review] = store.labels.reviews(project.id)
            assert review.annotator == "bob@example.com"  # the account, never a typed name
            [change] = store.audit.history(project.id, review.example_id)
            assert (change.user, change.action) == ("bob@example.com", "tag edit")
            page.get_by_text("Detail view").first.click()
            page.get_by_text("History of this example").click()
            expect(page.get_by_text("bob@example.com").first).to_be_visible()

            page.get_by_role("button", name="Sign out").click()  # and the provider's end session
            page.get_by_role("button", name="End session").click()
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()

            sign_in(page, url, "vera@example.com")  # a viewer: reads, cannot tag
            page.goto(f"{url}/errors")
            expect(
                page.get_by_text("Your role can read the tags but not change them")
            ).to_be_visible()
            tick_first_tag(page)
            page.wait_for_timeout(3000)
            assert store.labels.reviews(project.id, "vera@example.com") == []
            assert [c.user for c in store.audit.history(project.id, review.example_id)] == [
                "bob@example.com"
            ]
        except Exception as exc:
            page.screenshot(path=str(ARTIFACTS / "signin-failure.png"), full_page=True)
            log = (tmp_path / "server.log").read_text(errors="replace")[-3000:]
            shown = page.inner_text("body")[-1500:]
            raise AssertionError(f"{exc}\npage: {shown!r}\nlog: {log}") from exc
        finally:
            browser.close()
