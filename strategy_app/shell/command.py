"""``serve``: start the Streamlit app (``strategy_app/app.py``) with the project's config.

The settings come from the packaged ``strategy_app/streamlit_config.toml`` as ``streamlit run``
flags (``.streamlit/config.toml`` in a clone links to it), so an installed ``strategy-desk serve``
behaves the same from any folder.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tomllib
from pathlib import Path

from strategy_app.store import data_dir, database_url

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
        "otherwise; the app has no login, so bind to other addresses only on a trusted network.",
    )
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="address (default 127.0.0.1)")
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


def streamlit_command(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line for the app: the packaged settings as flags."""
    options = config_options() | {
        "server.port": str(port),
        "server.address": address,
        "server.headless": "true",
    }
    if not is_loopback(address):
        options["client.showErrorDetails"] = NETWORK_ERROR_DETAILS
    flags = [part for option, value in options.items() for part in (f"--{option}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(APP), *flags]


def run(args) -> tuple[dict, str]:
    """Run the app in this process (replaced by Streamlit) until it stops."""
    if not is_loopback(args.address):
        print(
            f"WARNING: serving on {args.address} with NO LOGIN: anyone who can reach this "
            f"address can read and change every project. Use 127.0.0.1 unless the network is "
            f"trusted. Errors show viewers a generic message, not a traceback "
            f"(client.showErrorDetails = {NETWORK_ERROR_DETAILS}); details go to this console.",
            file=sys.stderr,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["STRATEGY_DATA_DIR"] = str(data_dir())  # ./data of the folder serve was started in
    print(f"data: {database_url(data_dir())}", file=sys.stderr)
    print(f"open http://{args.address}:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    # Streamlit replaces this process, so stopping this PID stops the app (no orphan server)
    os.execve(sys.executable, streamlit_command(args.port, args.address), env)
    raise SystemExit(0)  # only reached where execve is stubbed out (tests)
