"""Share links (store, router view) and the Report page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from strategy_app.shell.navigation import PAGES_DIR
from strategy_app.shell.share_view import NOT_VALID, share_url
from strategy_app.store import open_store
from strategy_app.store.migrate import current_revision, head_revision
from tests.conftest import write_predictions

TIMEOUT = 60
APP = PAGES_DIR.parent / "strategy_app" / "app.py"


def everything(at: AppTest) -> str:
    """The text of every element the app sent (main area and sidebar, all kinds)."""
    return "\n".join(str(node.proto) for node in _walk(at._tree) if hasattr(node, "proto"))


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def open_share(token: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["report"] = token
    return at.run()


def test_shares_create_list_revoke_get(data_dir):
    store = open_store()
    assert current_revision(store.engine) == head_revision()
    project = store.projects.create("digits")
    share = store.shares.create(project.id, "Q3 report", "<html>snapshot</html>", {"a": 1})
    assert len(share.token) >= 43  # 32 random bytes, URL-safe
    assert store.shares.get(share.token).html == "<html>snapshot</html>"
    assert store.shares.get(share.token).data == {"a": 1}
    other = store.shares.create(project.id, "second", "<html></html>", {})
    assert other.token != share.token
    assert [s.title for s in store.shares.list(project.id)] == ["second", "Q3 report"]
    assert store.shares.revoke(share.token)
    assert not store.shares.revoke(share.token)
    assert store.shares.get(share.token) is None
    assert store.shares.list(project.id)[1].revoked
    for token in (None, "", "nope", "x" * 500):
        assert store.shares.get(token) is None
    store.projects.delete(project.id)
    assert store.shares.get(other.token) is None


@pytest.fixture
def shared(data_dir):
    store = open_store()
    secret = store.projects.create("alpha secret project")
    shown = store.projects.create("beta")
    store.shares.create(secret.id, "alpha", "<p>alpha secret report</p>", {})
    share = store.shares.create(shown.id, "beta report", "<p>the beta snapshot</p>", {})
    return store, share


def test_share_link_shows_the_snapshot_only(shared):
    _, share = shared
    at = open_share(share.token)
    assert not at.exception
    text = everything(at)
    assert "the beta snapshot" in text
    assert "alpha secret" not in text
    assert len(at.sidebar.children) == 0
    assert not at.selectbox and not at.button and not at.title


@pytest.mark.parametrize("kind", ["wrong", "revoked", "empty"])
def test_wrong_or_revoked_token_shows_nothing(shared, kind):
    store, share = shared
    token = {"wrong": share.token[:-2] + "xx", "revoked": share.token, "empty": ""}[kind]
    if kind == "revoked":
        store.shares.revoke(share.token)
    at = open_share(token)
    assert not at.exception
    assert [m.value for m in at.markdown] == [NOT_VALID]
    text = everything(at)
    assert "snapshot" not in text and "beta" not in text and "alpha" not in text
    assert len(at.sidebar.children) == 0


@pytest.mark.parametrize(
    ("page_url", "expected"),
    [
        ("http://host:8501/report?x=1", "http://host:8501/?report=T"),
        ("http://host:8501/", "http://host:8501/?report=T"),
        ("https://team.example/desk/report", "https://team.example/desk/?report=T"),
        ("", "/?report=T"),
    ],
)
def test_share_url_points_at_the_app_root(page_url, expected):
    assert share_url("T", page_url) == expected


def test_router_without_token_shows_the_app(data_dir):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception and at.title[0].value == "Home"


def test_report_page_previews_downloads_and_shares(data_dir, tmp_path, monkeypatch):
    sample = write_predictions(tmp_path / "sample.csv")
    monkeypatch.setenv("STRATEGY_SAMPLE_PREDICTIONS", str(sample))
    at = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    labels = {c.label: c for c in at.checkbox}
    assert labels["Error waterfall and gap table"].value
    assert labels["Per-slice waterfalls"].value
    assert labels["Hyperparameter search"].disabled
    downloads = at.get("download_button")
    assert len(downloads) == 3
    preview = everything(at)
    assert "srcdoc" in preview and "Error waterfall" in preview

    labels["Action plan"].uncheck()
    at.text_input[0].set_value("Board <b>update</b>")
    at.run()
    at.button(key="create_share").click().run()
    assert not at.exception
    url = at.code[0].value
    assert "?report=" in url
    token = url.split("?report=")[1]
    store = open_store()
    share = store.shares.get(token)
    assert "Board &lt;b&gt;update&lt;/b&gt;" in share.html
    assert '<section id="plan">' not in share.html
    assert share.data["title"] == "Board <b>update</b>"

    at.button(key=f"revoke_{token}").click().run()
    assert not at.exception
    assert store.shares.get(token) is None
    assert open_share(token).markdown[0].value == NOT_VALID


def test_report_page_without_results_says_what_to_do(data_dir):
    store = open_store()
    store.projects.create("empty")
    at = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("Nothing to report yet" in i.value for i in at.info)
