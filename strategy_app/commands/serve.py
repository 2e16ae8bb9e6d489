"""``serve``: start the Streamlit app (``strategy_app/app.py``) with the project's config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from diagnostics.validation import check_ip_address, check_port, redact_url
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
        "otherwise; the app has no login, so bind to other addresses only on a trusted network.",
    )
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.set_defaults(handler=run)


def streamlit_command(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line for the app."""
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
    ]


def run(args) -> tuple[dict, str]:
    """Run the app in this process (replaced by Streamlit) until it stops."""
    check_port(args.port)
    check_ip_address(args.address)
    if args.address not in LOCAL_ADDRESSES:
        print(
            f"WARNING: serving on {args.address} with NO LOGIN: anyone who can reach this "
            f"address can read and change every project. Use 127.0.0.1 unless the network is "
            "trusted.",
            file=sys.stderr,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"data: {redact_url(database_url(data_dir()))}", file=sys.stderr)
    print(f"open http://{args.address}:{args.port}", file=sys.stderr)
    sys.stderr.flush()
    os.chdir(ROOT)
    # Streamlit replaces this process, so stopping this PID stops the app (no orphan server)
    os.execve(sys.executable, streamlit_command(args.port, args.address), env)
    raise SystemExit(0)  # only reached where execve is stubbed out (tests)
