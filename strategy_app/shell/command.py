"""``serve``: start the Streamlit app (``strategy_app/app.py``) with the project's config.

The settings come from the packaged ``strategy_app/streamlit_config.toml`` as ``streamlit run``
flags (``.streamlit/config.toml`` in a clone links to it), so an installed ``strategy-desk serve``
behaves the same from any folder. Sign-in is on when the secrets (``.streamlit/secrets.toml`` of
the folder serve starts in, or ``~/.streamlit/secrets.toml``) hold an ``[auth]`` section.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tomllib
from pathlib import Path

from diagnostics.validation import InputError, check_ip_address, check_port, redact_url
from strategy_app.shell.auth_secrets import prepare_secrets

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "strategy_app" / "app.py"
CONFIG = ROOT / "strategy_app" / "streamlit_config.toml"
# Beyond loopback, an uncaught exception shows only a generic message in the browser, not its
# type, message or traceback (those go to the console): "false" would still show the traceback.
NETWORK_ERROR_DETAILS = "none"


def register(subparsers) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser(
        "serve",
        help="start the app in the browser",
        description="Start the Streamlit app. It binds to 127.0.0.1 unless --address says "
        "otherwise. With an [auth] section in .streamlit/secrets.toml everyone signs in through "
        "the identity provider (roles from roles.toml in the data folder); on any other address "
        "than loopback it refuses to start without one, unless --no-auth.",
    )
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="serve a non-loopback address without sign-in (anyone who reaches it is admin)",
    )
    parser.set_defaults(handler=run)


def is_loopback(address: str) -> bool:
    """Whether ``address`` serves this machine only (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def config_options(path: Path = CONFIG) -> dict[str, str]:
    """The settings in Streamlit's ``config.toml`` at ``path``, as ``{"section.option": value}``."""
    options = {}
    for section, values in tomllib.loads(path.read_text(encoding="utf-8")).items():
        for option, value in values.items():
            options[f"{section}.{option}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return options


def streamlit_command(port: int, address: str, secrets: Path | None = None) -> list[str]:
    """The ``streamlit run`` command line for the app: the packaged settings as flags (and the
    generated ``secrets`` file when sign-in is configured)."""
    options = config_options() | {
        "server.port": str(port),
        "server.address": address,
        "server.headless": "true",
    }
    if not is_loopback(address):
        options["client.showErrorDetails"] = NETWORK_ERROR_DETAILS
    if secrets is not None:
        options["secrets.files"] = str(secrets)
    flags = [part for option, value in options.items() for part in (f"--{option}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(APP), *flags]


def run(args) -> tuple[dict, str]:
    """Run the app in this process (replaced by Streamlit) until it stops.

    Refuses (InputError, exit 2) a non-loopback address without sign-in configured, unless
    ``--no-auth``; then it warns, as before sign-in existed.
    """
    from strategy_app.store import data_dir, database_url  # the database loads when run

    check_port(args.port)
    check_ip_address(args.address)
    secrets = prepare_secrets(Path.cwd(), data_dir())
    local = is_loopback(args.address)
    if secrets is None and not local and not args.no_auth:
        raise InputError(
            f"serve --address {args.address}: no sign-in is configured, so anyone who reaches "
            "it could change every project; add an [auth] section to .streamlit/secrets.toml "
            "(see README, Run it for a team) or pass --no-auth on a trusted network"
        )
    if secrets is None and not local:
        print(
            f"WARNING: serving on {args.address} with NO LOGIN: anyone who can reach this "
            "address can read and change every project. Use 127.0.0.1 unless the network is "
            "trusted.",
            file=sys.stderr,
        )
    if not local:
        print(
            "Errors show viewers a generic message, not a traceback "
            f"(client.showErrorDetails = {NETWORK_ERROR_DETAILS}); details go to this console.",
            file=sys.stderr,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["STRATEGY_DATA_DIR"] = str(data_dir())  # ./data of the folder serve was started in
    print(f"data: {redact_url(database_url(data_dir()))}", file=sys.stderr)
    print(f"sign-in: {'on' if secrets else 'off'}", file=sys.stderr)
    print(f"open http://{args.address}:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    # Streamlit replaces this process, so stopping this PID stops the app (no orphan server)
    os.execve(sys.executable, streamlit_command(args.port, args.address, secrets), env)
    raise SystemExit(0)  # only reached where execve is stubbed out (tests)
