"""``serve``: start the Streamlit app (``strategy_app/app.py``) with the project's config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from diagnostics.validation import InputError
from strategy_app.shell.auth_secrets import prepare_secrets
from strategy_app.store import data_dir, database_url

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "strategy_app" / "app.py"
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")


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


def streamlit_command(port: int, address: str, secrets: Path | None = None) -> list[str]:
    """The ``streamlit run`` command line for the app (reading ``secrets`` when given)."""
    extra = [] if secrets is None else ["--secrets.files", str(secrets)]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        *extra,
    ]


def run(args) -> tuple[dict, str]:
    """Run the app in this process (replaced by Streamlit) until it stops.

    Refuses (InputError, exit 2) a non-loopback address without sign-in configured, unless
    ``--no-auth``; then it warns, as before sign-in existed.
    """
    secrets = prepare_secrets(ROOT, data_dir())
    if secrets is None and args.address not in LOCAL_ADDRESSES and not args.no_auth:
        raise InputError(
            f"serve --address {args.address}: no sign-in is configured, so anyone who reaches "
            "it could change every project; add an [auth] section to .streamlit/secrets.toml "
            "(see README, Run it for a team) or pass --no-auth on a trusted network"
        )
    if secrets is None and args.address not in LOCAL_ADDRESSES:
        print(
            f"WARNING: serving on {args.address} with NO LOGIN: anyone who can reach this "
            f"address can read and change every project. Use 127.0.0.1 unless the network is "
            "trusted.",
            file=sys.stderr,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"data: {database_url(data_dir())}", file=sys.stderr)
    print(f"sign-in: {'on' if secrets else 'off'}", file=sys.stderr)
    print(f"open http://{args.address}:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    os.chdir(ROOT)
    # Streamlit replaces this process, so stopping this PID stops the app (no orphan server)
    os.execve(sys.executable, streamlit_command(args.port, args.address, secrets), env)
    raise SystemExit(0)  # only reached where execve is stubbed out (tests)
