"""`python -m strategy_app serve`: local by default, a loud warning elsewhere."""

import pytest


def test_serve_binds_locally_and_warns_elsewhere(monkeypatch, capsys):
    from strategy_app.cli import main
    from strategy_app.shell import command as serve

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
