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


def _flag(command: list[str], name: str) -> str | None:
    """The value after ``--name`` in a command line (None when the flag is absent)."""
    return command[command.index(f"--{name}") + 1] if f"--{name}" in command else None


def test_serve_passes_the_packaged_settings_and_hides_tracebacks_beyond_loopback(
    monkeypatch, capsys
):
    from strategy_app.shell import command as serve

    from strategy_app.cli import main

    calls = []
    monkeypatch.setattr(serve.os, "execve", lambda path, cmd, env: calls.append((cmd, env)))
    for address in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        with pytest.raises(SystemExit):
            main(["serve", "--address", address])
        command, _ = calls.pop()
        assert _flag(command, "client.showErrorDetails") is None
        assert _flag(command, "server.address") == address
        assert command.count("--server.address") == 1
        assert "NO LOGIN" not in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--address", "0.0.0.0", "--port", "8999"])
    command, env = calls.pop()
    assert _flag(command, "client.showErrorDetails") == "none"
    assert _flag(command, "server.port") == "8999"
    # what .streamlit/config.toml said, now independent of the current folder
    assert _flag(command, "client.toolbarMode") == "viewer"
    assert _flag(command, "browser.gatherUsageStats") == "false"
    assert _flag(command, "server.fileWatcherType") == "none"
    assert env["STRATEGY_DATA_DIR"].startswith("/")
    err = capsys.readouterr().err
    assert "NO LOGIN" in err and "client.showErrorDetails = none" in err
