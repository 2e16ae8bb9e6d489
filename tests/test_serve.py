"""`python -m strategy_app serve`: local by default; elsewhere only with sign-in or --no-auth."""

import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from diagnostics.validation import InputError
from strategy_app.shell.auth_secrets import GENERATED_FILE, prepare_secrets, to_toml

ROOT = Path(__file__).resolve().parent.parent
AUTH = {
    "redirect_uri": "https://desk.example.com/oauth2callback",
    "client_id": "desk",
    "client_secret": "s3cret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}


@pytest.fixture
def no_secrets(tmp_path, monkeypatch, data_dir):
    """No secrets anywhere Streamlit or serve looks (HOME and the app folder are empty)."""
    from strategy_app.shell import command as serve

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("STRATEGY_SECRETS_FILE", raising=False)
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path / "app")  # serve reads the secrets of the folder it starts in
    calls = []
    monkeypatch.setattr(serve.os, "execve", lambda path, cmd, env: calls.append(cmd))
    return calls


def option(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def test_serve_binds_locally_and_refuses_elsewhere_without_sign_in(no_secrets, capsys):
    from strategy_app.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--port", "8999"])
    assert option(no_secrets[0], "--server.address") == "127.0.0.1"
    assert option(no_secrets[0], "--secrets.files") is None
    assert "NO LOGIN" not in capsys.readouterr().err
    assert main(["serve", "--address", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert len(no_secrets) == 1 and err.count("\n") == 1
    assert "no sign-in is configured" in err and "--no-auth" in err
    with pytest.raises(SystemExit):
        main(["serve", "--address", "0.0.0.0", "--no-auth"])
    assert "NO LOGIN" in capsys.readouterr().err


def test_serve_with_sign_in_makes_and_keeps_a_private_cookie_secret(
    no_secrets, tmp_path, data_dir, monkeypatch, capsys
):
    from strategy_app.cli import main

    team = tmp_path / "team-secrets.toml"
    team.write_text(to_toml({"auth": AUTH, "other": {"key": "kept"}}))
    monkeypatch.setenv("STRATEGY_SECRETS_FILE", str(team))
    with pytest.raises(SystemExit):
        main(["serve", "--address", "0.0.0.0"])
    err = capsys.readouterr().err
    assert "NO LOGIN" not in err and "sign-in: on" in err
    generated = Path(option(no_secrets[0], "--secrets.files"))
    assert generated == data_dir / GENERATED_FILE
    secrets = tomllib.loads(generated.read_text())
    cookie = secrets["auth"].pop("cookie_secret")
    assert len(cookie) >= 40 and secrets == {"auth": AUTH, "other": {"key": "kept"}}
    for path in (generated, data_dir / "cookie_secret"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    prepare_secrets(tmp_path / "app", data_dir)  # a restart keeps the secret (and sessions)
    assert tomllib.loads(generated.read_text())["auth"]["cookie_secret"] == cookie
    assert "cookie_secret" not in team.read_text()  # the team's file is never written


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({**AUTH, "redirect_uri": "https://desk.example.com/"}, "must be the app's address"),
        ({k: v for k, v in AUTH.items() if k != "client_secret"}, "needs client_id"),
    ],
)
def test_serve_refuses_auth_settings_streamlit_could_not_sign_in_with(
    no_secrets, tmp_path, data_dir, auth, message
):
    team = tmp_path / "app" / ".streamlit" / "secrets.toml"
    team.parent.mkdir(parents=True)
    team.write_text(to_toml({"auth": auth}))
    with pytest.raises(InputError, match=message):
        prepare_secrets(tmp_path / "app", data_dir)


def test_a_provider_table_and_an_own_cookie_secret_are_kept(no_secrets, tmp_path, data_dir):
    provider = {k: v for k, v in AUTH.items() if k != "redirect_uri"}
    auth = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "ours", "company": provider}
    team = tmp_path / "home" / ".streamlit" / "secrets.toml"
    team.parent.mkdir(parents=True)
    team.write_text(to_toml({"auth": auth}))
    generated = prepare_secrets(tmp_path / "app", data_dir)
    assert tomllib.loads(generated.read_text()) == {"auth": auth}
    assert not (data_dir / "cookie_secret").exists()


def test_serve_on_all_addresses_without_sign_in_refuses_to_start(tmp_path):
    """The real command, in its own process: one line on stderr, exit code 2, no server."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STRATEGY_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    if (ROOT / ".streamlit" / "secrets.toml").is_file():
        pytest.skip("this checkout has its own .streamlit/secrets.toml (sign-in configured)")
    done = subprocess.run(
        [sys.executable, "-m", "strategy_app", "serve", "--address", "0.0.0.0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: serve --address 0.0.0.0: no sign-in is configured")
    assert done.stderr.count("\n") == 1


def test_serve_passes_the_packaged_settings_and_hides_tracebacks_beyond_loopback(
    no_secrets, capsys
):
    from strategy_app.cli import main

    for address in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        with pytest.raises(SystemExit):
            main(["serve", "--address", address])
        command = no_secrets.pop()
        assert option(command, "--client.showErrorDetails") is None
        assert option(command, "--server.address") == address
        assert command.count("--server.address") == 1
        assert "NO LOGIN" not in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--address", "0.0.0.0", "--port", "8999", "--no-auth"])
    command = no_secrets.pop()
    assert option(command, "--client.showErrorDetails") == "none"
    assert option(command, "--server.port") == "8999"
    # what .streamlit/config.toml said, now independent of the current folder
    assert option(command, "--client.toolbarMode") == "viewer"
    assert option(command, "--browser.gatherUsageStats") == "false"
    assert option(command, "--server.fileWatcherType") == "none"
    err = capsys.readouterr().err
    assert "NO LOGIN" in err and "client.showErrorDetails = none" in err


def test_serve_never_prints_the_database_password(no_secrets, monkeypatch, capsys):
    from strategy_app.cli import main

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
