"""`python -m strategy_app serve`: local by default, a loud warning elsewhere."""

import pytest


def test_serve_binds_locally_and_warns_elsewhere(monkeypatch, capsys):
    from strategy_app.cli import main
    from strategy_app.commands import serve

    calls = []
    monkeypatch.setattr(serve.os, "execve", lambda path, cmd, env: calls.append(cmd))
    monkeypatch.setattr(serve.os, "chdir", lambda path: None)
    with pytest.raises(SystemExit):
        main(["serve", "--port", "8999"])
    assert calls[0][calls[0].index("--server.address") + 1] == "127.0.0.1"
    assert "NO LOGIN" not in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--address", "0.0.0.0"])
    assert "NO LOGIN" in capsys.readouterr().err


def test_serve_never_prints_the_database_password(monkeypatch, capsys):
    from strategy_app.cli import main
    from strategy_app.commands import serve

    monkeypatch.setattr(serve.os, "execve", lambda path, cmd, env: None)
    monkeypatch.setattr(serve.os, "chdir", lambda path: None)
    monkeypatch.setenv("STRATEGY_DB_URL", "postgresql://strategy:s3cret@127.0.0.1:5432/desk")
    with pytest.raises(SystemExit):
        main(["serve"])
    err = capsys.readouterr().err
    assert "s3cret" not in err and "postgresql://strategy:***@127.0.0.1:5432/desk" in err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://strategy:strategy@127.0.0.1:5432/desk",
        "postgresql+psycopg://u:p%40ss@db.example:5432/x",
        "postgresql://:only-a-password@host/db",  # the old regex missed an empty user
        "postgresql://a@b:pw@host/db",  # a user with an @: SQLAlchemy's split, not ours
        "mysql+pymysql://root:pa:ss@h/db?charset=utf8",
        "sqlite:///data/optuna.db",
        "postgresql://nopassword@host/db",
    ],
)
def test_url_redaction_is_sqlalchemys(url):
    """The password SQLAlchemy's parser finds is the one hidden, every other part kept."""
    from sqlalchemy import make_url

    from diagnostics.validation import redact_url

    original, shown = make_url(url), make_url(redact_url(url))
    assert shown.password == ("***" if original.password else None)  # as SQLAlchemy splits it
    assert shown.set(password="x") == original.set(password="x")
    if original.password is None:
        assert redact_url(url) == url
    else:
        assert f":{original.password}@" not in redact_url(url)
    assert redact_url(f"cannot open {url}: refused") == f"cannot open {redact_url(url)}: refused"
