"""The secrets ``serve`` hands Streamlit: the team's ``[auth]`` settings plus a cookie secret.

A team writes its OIDC settings where Streamlit documents them (``.streamlit/secrets.toml``
beside the app, or ``~/.streamlit/secrets.toml``; ``STRATEGY_SECRETS_FILE`` adds one more that
wins). Streamlit needs ``[auth].cookie_secret`` too; when the team did not set one, a random one
is made on the first start and kept in the data folder (``cookie_secret``, readable by its owner
only), so sessions survive restarts and no secret ever lands in the repository. ``serve`` then
points Streamlit (``secrets.files``) at one generated file in the data folder that holds the
merged secrets, also readable by its owner only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from pathlib import Path

from diagnostics.validation import InputError

COOKIE_FILE = "cookie_secret"
GENERATED_FILE = "secrets.generated.toml"
SECRETS_ENV = "STRATEGY_SECRETS_FILE"
COOKIE_BYTES = 32
CALLBACK = "/oauth2callback"
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def secrets_files(app_root: Path) -> list[Path]:
    """Where the secrets are read, lowest precedence first (Streamlit's two, then ours)."""
    files = [Path.home() / ".streamlit" / "secrets.toml", app_root / ".streamlit" / "secrets.toml"]
    if os.environ.get(SECRETS_ENV):
        files.append(Path(os.environ[SECRETS_ENV]))
    return files


def load_secrets(files: list[Path]) -> dict:
    """The secrets of every existing file, merged by top-level key as Streamlit merges them."""
    merged: dict = {}
    for path in files:
        if not path.is_file():
            continue
        try:
            merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not valid TOML ({exc}); fix the secrets file") from None
    return merged


def check_auth(auth: dict, where: str) -> None:
    """Refuse an ``[auth]`` section Streamlit could not sign in with, naming the missing key."""
    redirect = auth.get("redirect_uri")
    if not isinstance(redirect, str) or not redirect.endswith(CALLBACK):
        raise InputError(
            f"{where}: [auth] redirect_uri must be the app's address ending in {CALLBACK}, "
            'e.g. "https://desk.example.com/oauth2callback"'
        )
    providers = [auth] + [v for v in auth.values() if isinstance(v, dict)]
    if not any(all(key in p for key in PROVIDER_KEYS) for p in providers):
        raise InputError(
            f"{where}: [auth] needs client_id, client_secret and server_metadata_url (in [auth] "
            "or in a provider table such as [auth.company]) from your identity provider"
        )


def cookie_secret(folder: Path) -> str:
    """The cookie secret kept in ``folder``, made (random, owner-only) on the first call."""
    path = Path(folder) / COOKIE_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(COOKIE_BYTES)
    _write_private(path, value + "\n")
    return value


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _key(name: str) -> str:
    return name if BARE_KEY.match(name) else json.dumps(name)


def _value(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are TOML's too
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    raise InputError(f"secrets: {where} holds a {type(value).__name__}; use text or numbers")


def to_toml(data: dict, prefix: str = "") -> str:
    """``data`` (from TOML: text, numbers, booleans, lists, tables) written as TOML."""
    lines = [
        f"{_key(k)} = {_value(v, prefix + k)}" for k, v in data.items() if not isinstance(v, dict)
    ]
    for name, table in data.items():
        if isinstance(table, dict):
            path = f"{prefix}{_key(name)}"
            lines += ["", f"[{path}]", to_toml(table, path + ".").rstrip("\n")]
    return "\n".join(lines).lstrip("\n") + "\n"


def prepare_secrets(app_root: Path, folder: Path) -> Path | None:
    """The secrets file for Streamlit when sign-in is configured (None when it is not).

    Checks the ``[auth]`` section, adds the kept cookie secret when it has none, and writes the
    merged secrets to ``folder``/secrets.generated.toml (owner-only).
    """
    files = secrets_files(app_root)
    merged = load_secrets(files)
    auth = merged.get("auth")
    if auth is None:
        return None
    where = ", ".join(str(p) for p in files if p.is_file())
    if not isinstance(auth, dict):
        raise InputError(f"{where}: auth must be a table ([auth])")
    check_auth(auth, where)
    if not auth.get("cookie_secret"):
        merged["auth"] = {**auth, "cookie_secret": cookie_secret(folder)}
    path = Path(folder) / GENERATED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(
        path,
        "# written by `serve` on each start; edit your secrets.toml instead\n" + to_toml(merged),
    )
    return path
